#include "report.hpp"

#include <cstdio>
#include <pop3/conformance/json_text.hpp>
#include <pop3/load/svg.hpp>

namespace pop3::fuzz_tool {
namespace {

using conformance::json_escape;
using load::svg::escape;

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string rate(const fuzzer::campaign_stats& s) {
    return fixed(s.seconds > 0 ? static_cast<double>(s.sessions) / s.seconds : 0.0, 1);
}

// Sessions per second between consecutive samples, as steps.
std::string sessions_chart(const fuzzer::campaign_result& r) {
    load::svg::chart c("sessions per second");
    std::vector<load::svg::point> pts;
    double top = 1;
    for (std::size_t i = 1; i < r.history.size(); ++i) {
        const auto& a = r.history[i - 1];
        const auto& b = r.history[i];
        const double dt = b.seconds - a.seconds;
        if (dt <= 0) continue;
        const double v = static_cast<double>(b.sessions - a.sessions) / dt;
        pts.push_back({a.seconds, v});
        top = std::max(top, v);
    }
    const double end = r.history.empty() ? 1 : std::max(1.0, r.history.back().seconds);
    c.x_axis({0, end, false, "seconds", {}});
    c.y_axis({0, top * 1.1, false, "sessions/s", {}});
    if (pts.empty())
        c.note("no data");
    else
        c.line(pts, "sessions/s", "#2e8b57", true);
    return c.render("chart sessions");
}

// Corpus size and transitions over time, each finding a marker at the moment it was first seen
// (at most the first 12 labelled, so that labels stay readable).
std::string growth_chart(const fuzzer::campaign_result& r) {
    load::svg::chart c("corpus and transitions; findings as markers");
    std::vector<load::svg::point> corpus, transitions;
    double top = 1;
    for (const auto& s : r.history) {
        corpus.push_back({s.seconds, static_cast<double>(s.corpus)});
        transitions.push_back({s.seconds, static_cast<double>(s.transitions)});
        top = std::max({top, static_cast<double>(s.corpus), static_cast<double>(s.transitions)});
    }
    const double end = r.history.empty() ? 1 : std::max(1.0, r.history.back().seconds);
    c.x_axis({0, end, false, "seconds", {}});
    c.y_axis({0, top * 1.1, false, "count", {}});
    if (r.history.empty()) {
        c.note("no data");
    } else {
        c.line(transitions, "transitions", "#4a7ab5", true);
        c.line(corpus, "corpus", "#2e8b57", true);
    }
    for (std::size_t i = 0; i < r.findings.size() && i < 12; ++i) {
        const auto& f = r.findings[i].what;
        c.x_marker(r.findings[i].seconds, std::string(to_string(f.kind)) + "/" + f.keyword,
                   "#c0392b", static_cast<int>(i % 4) + 1);
    }
    return c.render("chart growth");
}

std::string row(std::string_view key, const std::string& value_html) {
    return "<tr><th>" + escape(key) + "</th><td>" + value_html + "</td></tr>\n";
}

} // namespace

std::string format_json(const run_info& run, const fuzzer::campaign_result& r) {
    const auto& s = r.stats;
    std::string o = "{\n";
    o += "  \"direction\": " + json_escape(run.direction) + ",\n";
    o += "  \"target\": " + json_escape(run.target) + ",\n";
    o += "  \"jobs\": " + std::to_string(run.jobs) + ",\n";
    o += "  \"seconds\": " + fixed(s.seconds, 3) + ",\n";
    o += "  \"sessions\": " + std::to_string(s.sessions) + ",\n";
    o += "  \"sessions_per_second\": " + rate(s) + ",\n";
    o += "  \"corpus\": " + std::to_string(s.corpus) + ",\n";
    o += "  \"transitions\": " + std::to_string(s.transitions) + ",\n";
    o += "  \"restarts\": " + std::to_string(s.restarts) + ",\n";
    o += "  \"imported\": " + std::to_string(s.imported) + ",\n";
    o += "  \"stls_injection\": {\"checked\": " + std::to_string(s.injection_checked) +
         ", \"skipped\": " + std::to_string(s.injection_skipped) + "},\n";
    o += "  \"findings\": [";
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
        const auto& f = r.findings[i];
        o += i ? ",\n" : "\n";
        o += "    {\"kind\": " + json_escape(to_string(f.what.kind)) +
             ", \"command\": " + json_escape(f.what.keyword) +
             ", \"detail\": " + json_escape(f.what.detail) +
             ", \"seconds\": " + fixed(f.seconds, 3) +
             ", \"session\": " + std::to_string(f.session) +
             ", \"commands\": " + std::to_string(f.minimal.commands.size()) +
             ", \"octets\": " + std::to_string(f.minimal.octets()) +
             ", \"reproducer\": " + json_escape(f.file.string()) + "}";
    }
    o += r.findings.empty() ? "],\n" : "\n  ],\n";
    o += "  \"history\": [";
    for (std::size_t i = 0; i < r.history.size(); ++i) {
        const auto& h = r.history[i];
        o += i ? ",\n" : "\n";
        o += "    {\"seconds\": " + fixed(h.seconds, 3) +
             ", \"sessions\": " + std::to_string(h.sessions) +
             ", \"corpus\": " + std::to_string(h.corpus) +
             ", \"transitions\": " + std::to_string(h.transitions) +
             ", \"findings\": " + std::to_string(h.findings) + "}";
    }
    o += r.history.empty() ? "]\n" : "\n  ]\n";
    return o + "}\n";
}

std::string format_client_json(const run_info& run, const fuzzer::client_campaign_result& r) {
    const auto& s = r.stats;
    std::string o = "{\n";
    o += "  \"direction\": \"client\",\n";
    o += "  \"command\": " + json_escape(run.target) + ",\n";
    o += "  \"seconds\": " + fixed(s.seconds, 3) + ",\n";
    o += "  \"sessions\": " + std::to_string(s.sessions) + ",\n";
    o += "  \"sessions_per_second\": " +
         fixed(s.seconds > 0 ? static_cast<double>(s.sessions) / s.seconds : 0.0, 2) + ",\n";
    o += "  \"extra_runs\": " + std::to_string(s.extra_runs) + ",\n";
    o += "  \"corpus\": " + std::to_string(s.corpus) + ",\n";
    o += "  \"signatures\": " + std::to_string(s.signatures) + ",\n";
    o += "  \"not_fuzzed\": [";
    for (std::size_t i = 0; i < r.skipped.size(); ++i)
        o += (i ? ", " : "") + json_escape(r.skipped[i]);
    o += "],\n  \"findings\": [";
    for (std::size_t i = 0; i < r.findings.size(); ++i) {
        const auto& f = r.findings[i];
        o += i ? ",\n" : "\n";
        o += "    {\"kind\": " + json_escape(f.kind) + ", \"family\": " + json_escape(f.family) +
             ", \"detail\": " + json_escape(f.detail) + ", \"case\": " + json_escape(f.case_id) +
             ", \"seconds\": " + fixed(f.seconds, 3) +
             ", \"session\": " + std::to_string(f.session) +
             ", \"deviation_keys\": " + std::to_string(f.minimal.deviation.size()) +
             ", \"file\": " + json_escape(f.file.string()) + "}";
    }
    o += r.findings.empty() ? "]\n" : "\n  ]\n";
    return o + "}\n";
}

std::string format_html(const run_info& run, const fuzzer::campaign_result& r) {
    const auto& s = r.stats;
    std::string o = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>pop3-fuzz: )" +
                    escape(run.target) +
                    R"(</title>
<style>
body { font-family: sans-serif; margin: 1.5em; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 2px 10px 2px 0; text-align: left; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
td.n, th.n { text-align: right; }
svg.chart { display: block; margin: 0.5em 0 1.5em; max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>pop3-fuzz report</h1>
<h2>Run</h2>
<table class="params">
)";
    o += row("direction", escape(run.direction));
    o += row("target", "<code>" + escape(run.target) + "</code>");
    if (!run.options.empty()) o += row("options", "<code>" + escape(run.options) + "</code>");
    o += row("jobs", std::to_string(run.jobs));
    o += "</table>\n<h2>Figures</h2>\n<table class=\"summary\">\n";
    o += row("time", fixed(s.seconds, 1) + " s");
    o += row("sessions", std::to_string(s.sessions) + " (" + rate(s) + "/s)");
    o += row("corpus", std::to_string(s.corpus));
    o += row("transitions", std::to_string(s.transitions));
    if (s.restarts) o += row("restarts of the target", std::to_string(s.restarts));
    if (s.injection_checked || s.injection_skipped)
        o += row("STARTTLS injection",
                 std::to_string(s.injection_checked) + " sessions checked, " +
                     std::to_string(s.injection_skipped) +
                     " not (the checks' waits may take a tenth of the campaign)");
    o += row("findings", std::to_string(r.findings.size()));
    o += "</table>\n<h2>Findings</h2>\n";
    if (r.findings.empty()) {
        o += "<p>none</p>\n";
    } else {
        o += "<table class=\"findings\">\n<tr><th>kind</th><th>command</th><th>what</th><th "
             "class=\"n\">commands</th><th>reproducer</th></tr>\n";
        for (const auto& f : r.findings)
            o += "<tr><td>" + escape(to_string(f.what.kind)) + "</td><td><code>" +
                 escape(f.what.keyword) + "</code></td><td>" + escape(f.what.detail) +
                 "</td><td class=\"n\">" + std::to_string(f.minimal.commands.size()) +
                 "</td><td><code>" + escape(f.file.string()) + "</code></td></tr>\n";
        o += "</table>\n";
    }
    o += "<h2>Over time</h2>\n" + sessions_chart(r) + growth_chart(r);
    return o + "</body>\n</html>\n";
}

} // namespace pop3::fuzz_tool
