#include "pop3/load/load.hpp"

#include <algorithm>
#include <cstdio>

namespace pop3::load {
namespace {

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

double ms(std::uint64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string right(const std::string& s, std::size_t width) {
    return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : std::string(sep)) + w;
    return out;
}

std::string sent_commands(const options& opt) {
    std::vector<std::string> words;
    if (opt.tls == tls_choice::starttls) words.emplace_back("STLS");
    for (step s : opt.plan)
        words.emplace_back(step_name(s));
    return join(words, " ");
}

} // namespace

std::string_view tls_word(tls_choice t) noexcept {
    switch (t) {
    case tls_choice::none: return "plain";
    case tls_choice::implicit: return "tls";
    case tls_choice::starttls: return "starttls";
    }
    return "plain";
}

std::vector<step> latency_rows(const options& opt) {
    std::vector<step> out{step::connect};
    if (opt.tls == tls_choice::starttls) out.push_back(step::stls);
    if (opt.tls != tls_choice::none) out.push_back(step::tls);
    for (step s : opt.plan)
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    out.push_back(step::session);
    return out;
}

int exit_code(const results& r) {
    return r.sessions_completed == 0 && r.sessions_failed > 0 ? 1 : 0;
}

std::string format_report(const options& opt, const results& r) {
    std::string o;
    auto line = [&](std::string_view key, const std::string& value) {
        o += pad(std::string(key), 13) + value + "\n";
    };
    line("target", display_target(opt) + " (" + std::string(tls_word(opt.tls)) + ")");
    line("connections", std::to_string(opt.connections) + " on " + std::to_string(opt.threads) +
                            (opt.threads == 1 ? " thread" : " threads"));
    std::string how = r.interrupted ? "interrupted" : "";
    if (r.aborted) how += std::string(how.empty() ? "" : "; ") + "commands in flight aborted";
    line("duration", fixed(r.elapsed, 2) + " s" + (how.empty() ? "" : " (" + how + ")"));
    line("mix", join(opt.mix, ",") + " (sent: " + sent_commands(opt) +
                    (opt.auto_rset ? "; RSET added" : "") + ")");
    line("sessions", std::to_string(r.sessions_completed) + " completed, " +
                         std::to_string(r.sessions_failed) + " failed, " +
                         std::to_string(r.sessions_unfinished) + " unfinished");
    line("sessions/s", fixed(per_second(r.sessions_completed, r.elapsed), 1));
    line("commands", std::to_string(r.commands));
    line("commands/s", fixed(per_second(r.commands, r.elapsed), 1));
    line("body", fixed(static_cast<double>(r.body_octets) / 1e6, 3) + " MB (" +
                     std::to_string(r.body_octets) + " octets)");
    line("MB/s", fixed(per_second(r.body_octets, r.elapsed) / 1e6, 3));
    o += pad("latency (ms)", 13) + right("count", 9) + right("p50", 10) + right("p90", 10) +
         right("p99", 10) + right("max", 10) + "\n";
    for (step s : latency_rows(opt)) {
        const auto& h = r.latency[static_cast<std::size_t>(s)];
        o += "  " + pad(std::string(step_name(s)), 11) + right(std::to_string(h.count()), 9);
        for (double p : {50.0, 90.0, 99.0})
            o += right(h.count() ? fixed(ms(h.percentile(p)), 3) : "-", 10);
        o += right(h.count() ? fixed(ms(h.max()), 3) : "-", 10) + "\n";
    }
    auto kinds = [&](const std::map<std::string, std::uint64_t>& m) {
        for (const auto& [k, v] : m) {
            o += "  " + pad(k, 26) + right(std::to_string(v), 9);
            if (auto t = r.first_text.find(k); t != r.first_text.end() && !t->second.empty())
                o += "  first: " + t->second;
            o += "\n";
        }
    };
    line("errors", std::to_string(r.error_count()));
    kinds(r.errors);
    line("-ERR replies", std::to_string(r.err_reply_count()));
    kinds(r.err_replies);
    return o;
}

std::string format_json(const options& opt, const results& r) {
    std::string o = "{\n";
    auto field = [&](std::string_view key, const std::string& value, bool last = false) {
        o += "  " + json_string(key) + ": " + value + (last ? "\n" : ",\n");
    };
    auto counts = [](const std::map<std::string, std::uint64_t>& m) {
        std::string s = "{";
        for (const auto& [k, v] : m)
            s += (s.size() > 1 ? ", " : "") + json_string(k) + ": " + std::to_string(v);
        return s + "}";
    };
    field("target", json_string(display_target(opt)));
    field("tls", json_string(tls_word(opt.tls)));
    field("connections", std::to_string(opt.connections));
    field("threads", std::to_string(opt.threads));
    field("duration_s", fixed(opt.duration, 3));
    field("elapsed_s", fixed(r.elapsed, 3));
    field("interrupted", r.interrupted ? "true" : "false");
    field("aborted", r.aborted ? "true" : "false");
    std::string mix = "[";
    for (const auto& w : opt.mix)
        mix += (mix.size() > 1 ? ", " : "") + json_string(w);
    field("mix", mix + "]");
    std::string sent = "[";
    if (opt.tls == tls_choice::starttls) sent += json_string("STLS");
    for (step s : opt.plan)
        sent += (sent.size() > 1 ? ", " : "") + json_string(step_name(s));
    field("commands_sent", sent + "]");
    field("sessions", "{\"completed\": " + std::to_string(r.sessions_completed) +
                          ", \"failed\": " + std::to_string(r.sessions_failed) +
                          ", \"unfinished\": " + std::to_string(r.sessions_unfinished) + "}");
    field("sessions_per_s", fixed(per_second(r.sessions_completed, r.elapsed), 3));
    field("commands", std::to_string(r.commands));
    field("commands_per_s", fixed(per_second(r.commands, r.elapsed), 3));
    field("body_octets", std::to_string(r.body_octets));
    field("received_octets", std::to_string(r.received_octets));
    field("mb_per_s", fixed(per_second(r.body_octets, r.elapsed) / 1e6, 6));
    std::string lat = "{";
    for (step s : latency_rows(opt)) {
        const auto& h = r.latency[static_cast<std::size_t>(s)];
        lat += std::string(lat.size() > 1 ? "," : "") + "\n    " + json_string(step_name(s)) +
               ": {\"count\": " + std::to_string(h.count()) +
               ", \"p50\": " + fixed(ms(h.percentile(50)), 6) +
               ", \"p90\": " + fixed(ms(h.percentile(90)), 6) +
               ", \"p99\": " + fixed(ms(h.percentile(99)), 6) +
               ", \"max\": " + fixed(ms(h.max()), 6) + "}";
    }
    field("latency_ms", lat + "\n  }");
    field("errors", counts(r.errors));
    field("err_replies", counts(r.err_replies));
    std::string first = "{";
    for (const auto& [k, v] : r.first_text)
        first += (first.size() > 1 ? ", " : "") + json_string(k) + ": " + json_string(v);
    field("first_text", first + "}");
    field("exit_code", std::to_string(exit_code(r)), true);
    return o + "}\n";
}

} // namespace pop3::load
