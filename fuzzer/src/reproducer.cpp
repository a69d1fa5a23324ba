#include "pop3/fuzzer/reproducer.hpp"

#include <pop3/protocol/text.hpp>
#include <pop3/protocol/transcript_text.hpp>

namespace pop3::fuzzer {
namespace {

void expect_observed(std::string& out, const exchange& ex) {
    if (ex.status == reply_status::err) {
        out += "S: -ERR*\n";
    } else if (ex.status == reply_status::continuation) {
        out += "S: +*\n";
    } else {
        out += "S: +OK*\n";
        if (ex.body) out += "S*: *\nS: .\n";
    }
    if (ex.starts_tls) out += "!tls\n";
}

void expect_finding(std::string& out, const finding& f, const exchange& ex) {
    if (!f.expect.empty()) {
        for (const auto& line : f.expect)
            out += line + "\n";
        return;
    }
    switch (f.kind) {
    case finding_kind::stls_injection: out += "S: +OK*\n!tls-or-close\n!no-reply 500\n"; break;
    case finding_kind::data_after_terminator:
        expect_observed(out, ex);
        out += "!no-reply 500\n";
        break;
    case finding_kind::wrong_state:
    case finding_kind::bad_message_number:
    case finding_kind::deleted_message: out += "S: -ERR*\n"; break;
    case finding_kind::unterminated_body: out += "S: +OK*\nS*: *\nS: .\n"; break;
    case finding_kind::closed_mid_reply:
    case finding_kind::hang:
    case finding_kind::pipelined_hang:
    case finding_kind::bare_lf:
    case finding_kind::process_died:
    case finding_kind::sanitizer_report:
    case finding_kind::resource_growth:
        if (ex.answered && ex.body) {
            out += "S: +OK*\nS*: *\nS: .\n";
            break;
        }
        [[fallthrough]];
    default: out += ex.sasl ? "S: +OK* || -ERR* || +*\n" : "S: +OK* || -ERR*\n";
    }
}

} // namespace

std::string reproducer_text(const finding& f, const session_result& r,
                            const reproducer_info& info) {
    const auto [rfc, text] = rfc_of(f.kind);
    std::string out;
    out += "# pop3-fuzz finding: " + std::string(to_string(f.kind)) + " on " + f.keyword + "\n";
    out += "# " + f.detail + "\n";
    out += "# target " + info.target + ", --seed " + std::to_string(info.seed) + ", session " +
           std::to_string(info.session) + "\n";
    out += "# RFC " + std::string(rfc) + ": \"" + std::string(text) + "\"\n";
    if (f.kind == finding_kind::resource_growth)
        out += "# One replay shows nothing: repeat the session to see the growth, e.g. pop3-fuzz "
               "server --target URL --launch COMMAND --replay resource-growth-session.input "
               "--repeat 1000\n";
    else
        out += "# Replay: pop3-conformance server --transcripts DIR --target URL (with the run's "
               "TLS option)\n";
    out += "case: fuzz/" + std::string(to_string(f.kind)) + "/" + f.keyword + "\n";
    out +=
        "title: " + std::string(to_string(f.kind)) + " on " + f.keyword + " (found by pop3-fuzz)\n";
    out += "rfc: " + std::string(rfc) + "\n";
    out += "level: MUST\n";
    if (f.kind == finding_kind::stls_injection) out += "requires: tls\ntls: plain\n";
    if (f.keyword == "greeting") {
        expect_finding(out, f, exchange{});
        return out;
    }
    out += "S: +OK*\n";

    // The finding's line, and the lines it took with it after STLS in its write.
    std::size_t last = std::min(f.line + 1, r.exchanges.size());
    while (last < r.exchanges.size() && r.exchanges[last].injected)
        ++last;
    std::size_t i = 0;
    while (i < last) {
        // One write: its lines, then the replies to them.
        std::size_t end = i + 1;
        while (end < last && r.exchanges[end].same_write)
            ++end;
        bool raw_before = false;
        const auto send = [&](const std::string& wire, bool first_in_write) {
            std::string_view body(wire);
            const bool crlf = body.ends_with("\r\n");
            if (crlf) body.remove_suffix(2);
            if (crlf && body.find_first_of("\r\n") == std::string_view::npos) {
                std::string line;
                // The run's credentials as variables, whatever the keyword's case.
                const auto kw = body.substr(0, 5);
                if (iequals(kw, "USER ") && body.substr(5) == info.creds.user)
                    line = std::string(kw) + "{user}";
                else if (iequals(kw, "PASS ") && body.substr(5) == info.creds.pass)
                    line = std::string(kw) + "{pass}";
                else
                    line = transcript_escape(body, false);
                out += (!first_in_write && !raw_before ? "C+: " : "C: ") + line + "\n";
                raw_before = false;
            } else {
                out += "C=: " + transcript_escape(wire, false) + "\n";
                raw_before = true;
            }
        };
        for (std::size_t k = i; k < end; ++k)
            send(r.exchanges[k].wire, k == i);
        // The finding's write: also the lines after its line, which are not answered here.
        if (end == last)
            for (const auto& wire : r.rest_of_write)
                send(wire, false);
        for (std::size_t k = i; k < end; ++k) {
            if (r.exchanges[k].injected) continue; // its reply is the finding, or none
            if (k == f.line)
                expect_finding(out, f, r.exchanges[k]);
            else
                expect_observed(out, r.exchanges[k]);
        }
        i = end;
    }
    return out;
}

} // namespace pop3::fuzzer
