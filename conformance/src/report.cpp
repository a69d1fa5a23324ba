#include "pop3/conformance/report.hpp"

#include "pop3/conformance/json_text.hpp"

#include <cstdio>
#include <map>
#include <ostream>
#include <pop3/protocol/error.hpp>
#include <sstream>

namespace pop3::conformance {
namespace {

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n')
                out += '?';
            else
                out += c;
        }
    }
    return out;
}

std::string where(const case_result& r) {
    return r.tc->file.string() + ":" + std::to_string(r.line ? r.line : r.tc->line);
}

} // namespace

std::string_view to_string(verdict v) noexcept {
    switch (v) {
    case verdict::pass: return "passed";
    case verdict::fail: return "failed";
    case verdict::skip: return "skipped";
    case verdict::error: return "error";
    }
    return "?";
}

void write_console(std::ostream& out, const std::string& title,
                   const std::vector<case_result>& results, bool color,
                   std::string_view before_counts) {
    const char* green = color ? "\033[32m" : "";
    const char* red = color ? "\033[31m" : "";
    const char* gray = color ? "\033[90m" : "";
    const char* yellow = color ? "\033[33m" : "";
    const char* reset = color ? "\033[0m" : "";
    out << title << "\n";
    std::string section;
    for (const auto& r : results) {
        if (r.tc->rfc != section) {
            section = r.tc->rfc;
            out << "\n  RFC " << section << "\n";
        }
        const char* mark = r.v == verdict::pass    ? "\u2714"
                           : r.v == verdict::fail  ? "\u2718"
                           : r.v == verdict::error ? "!"
                                                   : "-";
        const char* c = r.v == verdict::pass    ? green
                        : r.v == verdict::fail  ? red
                        : r.v == verdict::error ? yellow
                                                : gray;
        // Client cases have finer outcomes than verdicts (non-strict, info, n/a, ...).
        const bool finer = !r.outcome.empty() && r.outcome != to_string(r.v);
        out << "    " << c << mark << " " << r.tc->id << reset << " [" << to_string(r.tc->lvl)
            << "] " << r.tc->title << (r.retried ? " (retried once)" : "")
            << (finer ? " (" + r.outcome + ")" : std::string()) << "\n";
        if (r.v == verdict::skip)
            out << "        " << gray << (finer ? r.outcome : std::string("skipped")) << ": "
                << r.reason << reset << "\n";
        if (r.v == verdict::pass && !r.reason.empty())
            out << "        " << gray << r.reason << reset << "\n";
        if (r.v == verdict::fail || r.v == verdict::error) {
            out << "        " << (r.v == verdict::fail ? red : yellow)
                << (r.v == verdict::error ? "error (not judged): " : "") << r.reason << reset
                << " at " << where(r) << "\n";
            if (!r.expected.empty()) out << "        expected: " << r.expected << "\n";
            if (!r.actual.empty()) out << "          actual: " << r.actual << "\n";
            // The evidence a maintainer reads: the dialogue, the exit, the delivered bytes.
            if (r.v == verdict::fail && !r.evidence.empty()) {
                std::istringstream lines(r.evidence);
                for (std::string line; std::getline(lines, line);)
                    out << "        | " << line << "\n";
            }
        }
    }
    // A skipped MUST case is never silent: each is named with its reason above the counts (the
    // last line stays the counts: scripts read it). Those the run could not reach come first;
    // those about what the server does not offer (n/a) apart, since they are no gap of the run.
    for (const bool not_applicable : {false, true}) {
        bool listed = false;
        for (const auto& r : results) {
            if (r.v != verdict::skip || r.tc->lvl != level::must ||
                (r.outcome == outcome_not_applicable) != not_applicable)
                continue;
            if (!listed)
                out << (not_applicable ? "\nn/a MUST cases (the server does not offer what they "
                                         "test):\n"
                                       : "\nskipped MUST cases:\n");
            listed = true;
            out << "  " << r.tc->id << ": " << r.reason << "\n";
        }
    }
    if (!before_counts.empty()) out << "\n" << before_counts;
    const auto s = summarize(results);
    out << (before_counts.empty() ? "\n" : "") << s.passed << " passed, " << s.failed << " failed, "
        << s.skipped << " skipped";
    if (s.errors) out << ", " << s.errors << (s.errors == 1 ? " error" : " errors");
    out << "\n";
}

void write_junit(std::ostream& out, const std::string& title,
                 const std::vector<case_result>& results) {
    std::map<std::string, std::vector<const case_result*>> suites;
    for (const auto& r : results)
        suites["RFC " + r.tc->rfc].push_back(&r);
    const auto s = summarize(results);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<testsuites name=\"" << xml_escape(title) << "\" tests=\"" << results.size()
        << "\" failures=\"" << s.failed << "\" errors=\"" << s.errors << "\" skipped=\""
        << s.skipped << "\">\n";
    for (const auto& [name, rs] : suites) {
        std::size_t failures = 0, errors = 0, skipped = 0;
        double time = 0;
        for (const auto* r : rs) {
            failures += r->v == verdict::fail;
            errors += r->v == verdict::error;
            skipped += r->v == verdict::skip;
            time += r->seconds;
        }
        out << "  <testsuite name=\"" << xml_escape(name) << "\" tests=\"" << rs.size()
            << "\" failures=\"" << failures << "\" errors=\"" << errors << "\" skipped=\""
            << skipped << "\" time=\"" << time << "\">\n";
        for (const auto* r : rs) {
            out << "    <testcase classname=\"" << xml_escape(name) << "\" name=\""
                << xml_escape(r->tc->id) << " [" << to_string(r->tc->lvl) << "] "
                << xml_escape(r->tc->title) << "\" time=\"" << r->seconds << "\"";
            if (r->v == verdict::pass) {
                out << "/>\n";
                continue;
            }
            out << ">\n";
            if (r->v == verdict::skip) {
                const bool finer = !r->outcome.empty() && r->outcome != to_string(r->v);
                out << "      <skipped message=\""
                    << xml_escape(finer ? r->outcome + ": " + r->reason : r->reason) << "\"/>\n";
            } else {
                const char* tag = r->v == verdict::error ? "error" : "failure";
                out << "      <" << tag << " message=\"" << xml_escape(r->reason) << "\">"
                    << xml_escape(where(*r)) << "\nexpected: " << xml_escape(r->expected)
                    << "\nactual: " << xml_escape(r->actual) << "</" << tag << ">\n";
            }
            if (!r->evidence.empty())
                out << "      <system-out>" << xml_escape(r->evidence) << "</system-out>\n";
            out << "    </testcase>\n";
        }
        out << "  </testsuite>\n";
    }
    out << "</testsuites>\n";
}

void write_json(std::ostream& out, const std::string& title,
                const std::vector<case_result>& results) {
    const auto s = summarize(results);
    out << "{\n  \"title\": " << json_escape(title) << ",\n  \"passed\": " << s.passed
        << ",\n  \"failed\": " << s.failed << ",\n  \"skipped\": " << s.skipped
        << ",\n  \"not_applicable\": " << s.not_applicable << ",\n  \"errors\": " << s.errors
        << ",\n  \"must_failed\": " << s.must_failed
        << ",\n  \"should_failed\": " << s.should_failed << ",\n  \"cases\": [";
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        out << (i ? "," : "") << "\n    {\"id\": " << json_escape(r.tc->id)
            << ", \"title\": " << json_escape(r.tc->title)
            << ", \"rfc\": " << json_escape(r.tc->rfc)
            << ", \"level\": " << json_escape(to_string(r.tc->lvl))
            << ", \"result\": " << json_escape(to_string(r.v))
            << ", \"reason\": " << json_escape(r.reason)
            << ", \"expected\": " << json_escape(r.expected)
            << ", \"actual\": " << json_escape(r.actual)
            << ", \"file\": " << json_escape(r.tc->file.string())
            << ", \"line\": " << (r.line ? r.line : r.tc->line) << ", \"seconds\": " << r.seconds
            << ", \"retried\": " << (r.retried ? "true" : "false")
            << ", \"outcome\": " << json_escape(r.outcome.empty() ? to_string(r.v) : r.outcome)
            << ", \"evidence\": " << json_escape(r.evidence) << "}";
    }
    out << "\n  ]\n}\n";
}

} // namespace pop3::conformance
