// pop3-load --html: the report as one page that opens anywhere, offline: the run's parameters
// and figures as tables, and inline SVG charts (svg.hpp) — sessions/s and errors per second from
// the run's timeline, and a latency histogram per row on logarithmic buckets, merged from the
// fine buckets of pop3::load::histogram. No script, no external asset; every text escaped.
#include "pop3/load/load.hpp"
#include "pop3/load/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace pop3::load {
namespace {

using svg::escape;

constexpr std::string_view bar_colour = "#4a7ab5";
constexpr std::string_view session_colour = "#2e8b57";
constexpr std::string_view error_colour = "#c0392b";
constexpr std::string_view err_reply_colour = "#e08e0b";
constexpr std::string_view marker_colour = "#555";
constexpr std::size_t max_histogram_bars = 64;

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string ms_text(std::uint64_t ns) {
    return fixed(static_cast<double>(ns) / 1e6, 3);
}

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

std::string row(std::string_view key, const std::string& value_html) {
    return "<tr><th>" + escape(key) + "</th><td>" + value_html + "</td></tr>\n";
}

// The histogram's fine buckets merged into `per_doubling` bars per power of two: bar j covers
// [2^(j/k), 2^((j+1)/k)) ns. Fewer bars per doubling when the values span many of them.
struct coarse {
    int per_doubling = 4;
    std::map<int, std::uint64_t> bars;
};

coarse merge_buckets(const histogram& h) {
    coarse c;
    for (int k : {4, 2, 1}) {
        c.per_doubling = k;
        c.bars.clear();
        for (std::size_t i = 0; i < h.buckets(); ++i) {
            const auto n = h.bucket_count(i);
            if (n == 0) continue;
            const double mid = static_cast<double>(histogram::bucket_low(i)) +
                               static_cast<double>(histogram::bucket_width(i)) / 2;
            c.bars[static_cast<int>(std::floor(std::log2(mid) * k))] += n;
        }
        if (c.bars.empty() ||
            static_cast<std::size_t>(c.bars.rbegin()->first - c.bars.begin()->first + 1) <=
                max_histogram_bars)
            break;
    }
    return c;
}

double bound_ms(int j, int k) {
    return std::exp2(static_cast<double>(j) / k) / 1e6;
}

std::string latency_chart(step s, const histogram& h) {
    const std::string name(step_name(s));
    svg::chart c(name + ": latency histogram (" + std::to_string(h.count()) +
                 (s == step::session ? " sessions" : " replies") + ")");
    const coarse bins = merge_buckets(h);
    if (bins.bars.empty()) {
        c.x_axis({0.1, 10, true, "milliseconds (log scale)", {}});
        c.y_axis({0, 1, false, "count", {}});
        c.note("no data");
        return c.render("chart latency");
    }
    const int k = bins.per_doubling;
    std::uint64_t top = 0;
    for (const auto& [j, n] : bins.bars)
        top = std::max(top, n);
    c.x_axis({bound_ms(bins.bars.begin()->first, k),
              bound_ms(bins.bars.rbegin()->first + 1, k),
              true,
              "milliseconds (log scale)",
              {}});
    c.y_axis({0, static_cast<double>(top) * 1.1, false, "count", {}});
    for (const auto& [j, n] : bins.bars) {
        const double lo = bound_ms(j, k), hi = bound_ms(j + 1, k);
        c.bar(lo, hi, static_cast<double>(n),
              svg::short_number(lo) + " to " + svg::short_number(hi) + " ms: " + std::to_string(n),
              bar_colour);
    }
    int label_row = 0;
    for (double p : {50.0, 90.0, 99.0}) {
        const auto v = h.percentile(p);
        c.x_marker(static_cast<double>(v) / 1e6, "p" + fixed(p, 0) + " " + ms_text(v) + " ms",
                   marker_colour, label_row++);
    }
    return c.render("chart latency");
}

// Per-interval rates between the timeline's samples, as a step line from each sample to the
// next; `count` picks the counter.
template <class Count>
std::vector<svg::point> rates(const std::vector<sample>& tl, Count count, double& top) {
    std::vector<svg::point> out;
    for (std::size_t i = 1; i < tl.size(); ++i) {
        const double dt = tl[i].t - tl[i - 1].t;
        const double rate =
            dt > 0 ? static_cast<double>(count(tl[i]) - count(tl[i - 1])) / dt : 0.0;
        out.push_back({tl[i - 1].t, rate});
        top = std::max(top, rate);
    }
    if (!out.empty()) out.push_back({tl.back().t, out.back().y});
    return out;
}

svg::axis time_axis(const results& r) {
    return {0, std::max(r.elapsed, 1e-3), false, "seconds since the start", {}};
}

std::string sessions_chart(const results& r) {
    svg::chart c("Completed sessions per second");
    c.x_axis(time_axis(r));
    double top = 0;
    const auto pts = rates(
        r.timeline, [](const sample& s) { return s.sessions; }, top);
    const double mean = per_second(r.sessions_completed, r.elapsed);
    c.y_axis({0, std::max(top, mean) > 0 ? std::max(top, mean) * 1.1 : 1, false, "sessions/s", {}});
    if (pts.empty()) c.note("no data");
    c.line(pts, "sessions/s", session_colour, true);
    c.line({{0, mean}, {time_axis(r).hi, mean}}, "mean " + fixed(mean, 1) + "/s", marker_colour);
    return c.render("chart sessions-rate");
}

std::string errors_chart(const results& r) {
    svg::chart c("Errors per second");
    c.x_axis(time_axis(r));
    double top = 0;
    const auto errors = rates(
        r.timeline, [](const sample& s) { return s.errors; }, top);
    const auto replies = rates(
        r.timeline, [](const sample& s) { return s.err_replies; }, top);
    c.y_axis({0, top > 0 ? top * 1.1 : 1, false, "per second", {}});
    if (r.error_count() + r.err_reply_count() == 0) c.note("no errors");
    c.line(errors, "errors/s", error_colour, true);
    c.line(replies, "-ERR replies/s", err_reply_colour, true);
    return c.render("chart errors-rate");
}

std::string kinds_table(const results& r, const std::map<std::string, std::uint64_t>& m) {
    if (m.empty()) return "<p>none</p>\n";
    std::string o = "<table class=\"kinds\">\n<tr><th>kind</th><th>count</th><th>first</th></tr>\n";
    for (const auto& [k, v] : m) {
        const auto t = r.first_text.find(k);
        o += "<tr><td><code>" + escape(k) + "</code></td><td class=\"n\">" + std::to_string(v) +
             "</td><td>" + (t == r.first_text.end() ? "" : escape(t->second)) + "</td></tr>\n";
    }
    return o + "</table>\n";
}

} // namespace

std::string format_html(const options& opt, const results& r) {
    std::string o = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>pop3-load: )" +
                    escape(display_target(opt)) +
                    R"(</title>
<style>
body { font-family: sans-serif; margin: 1.5em; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 2px 10px 2px 0; text-align: left; border-bottom: 1px solid #e4e4e4; }
td.n, th.n { text-align: right; }
svg.chart { display: block; margin: 0.5em 0 1.5em; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>pop3-load report</h1>
)";
    std::string how = r.interrupted ? "interrupted" : "";
    if (r.aborted) how += std::string(how.empty() ? "" : "; ") + "commands in flight aborted";
    std::string sent;
    if (opt.tls == tls_choice::starttls) sent = "STLS";
    for (step s : opt.plan)
        sent += (sent.empty() ? "" : " ") + std::string(step_name(s));
    std::string mix;
    for (const auto& w : opt.mix)
        mix += (mix.empty() ? "" : ",") + w;

    o += "<h2>Run</h2>\n<table class=\"params\">\n";
    o += row("target", "<code>" + escape(display_target(opt)) + "</code> (" +
                           escape(tls_word(opt.tls)) + ")");
    o += row("connections", std::to_string(opt.connections) + " on " + std::to_string(opt.threads) +
                                (opt.threads == 1 ? " thread" : " threads"));
    o += row("duration", escape(fixed(opt.duration, 3)) + " s asked, " + fixed(r.elapsed, 2) +
                             " s run" + (how.empty() ? "" : " (" + escape(how) + ")"));
    o += row("mix", "<code>" + escape(mix) + "</code> (sent: " + escape(sent) +
                        (opt.auto_rset ? "; RSET added" : "") + ")");
    o += row("timeout", fixed(opt.timeout, 3) + " s");
    o += "</table>\n";

    o += "<h2>Figures</h2>\n<table class=\"summary\">\n";
    o += row("sessions", std::to_string(r.sessions_completed) + " completed, " +
                             std::to_string(r.sessions_failed) + " failed, " +
                             std::to_string(r.sessions_unfinished) + " unfinished");
    o += row("sessions/s", fixed(per_second(r.sessions_completed, r.elapsed), 1));
    o += row("commands", std::to_string(r.commands));
    o += row("commands/s", fixed(per_second(r.commands, r.elapsed), 1));
    o += row("body", fixed(static_cast<double>(r.body_octets) / 1e6, 3) + " MB (" +
                         std::to_string(r.body_octets) + " octets)");
    o += row("MB/s", fixed(per_second(r.body_octets, r.elapsed) / 1e6, 3));
    o += row("errors", std::to_string(r.error_count()));
    o += row("-ERR replies", std::to_string(r.err_reply_count()));
    o += row("exit status", std::to_string(exit_code(r)));
    o += "</table>\n";

    o += "<h2>Over time</h2>\n" + sessions_chart(r) + errors_chart(r);

    o += "<h2>Latency</h2>\n<table class=\"latency\">\n<tr><th>row</th><th "
         "class=\"n\">count</th><th class=\"n\">p50 ms</th><th class=\"n\">p90 ms</th><th "
         "class=\"n\">p99 ms</th><th class=\"n\">max ms</th></tr>\n";
    const auto steps = latency_rows(opt);
    for (step s : steps) {
        const auto& h = r.latency[static_cast<std::size_t>(s)];
        o += "<tr><td>" + escape(step_name(s)) + "</td><td class=\"n\">" +
             std::to_string(h.count()) + "</td>";
        for (double p : {50.0, 90.0, 99.0})
            o += "<td class=\"n\">" + (h.count() ? ms_text(h.percentile(p)) : "-") + "</td>";
        o += "<td class=\"n\">" + (h.count() ? ms_text(h.max()) : "-") + "</td></tr>\n";
    }
    o += "</table>\n<p>Each histogram merges the measuring histogram's buckets (0.8% wide) into "
         "logarithmic bars; hover a bar for its range and count. The dashed lines are p50, p90 "
         "and p99.</p>\n";
    for (step s : steps)
        o += latency_chart(s, r.latency[static_cast<std::size_t>(s)]);

    o += "<h2>Errors</h2>\n<h3>Connection and protocol errors</h3>\n" + kinds_table(r, r.errors);
    o += "<h3>-ERR replies</h3>\n" + kinds_table(r, r.err_replies);
    return o + "</body>\n</html>\n";
}

} // namespace pop3::load
