#include "pop3/fuzzer/executor.hpp"

#include <pop3/protocol/command.hpp>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/text.hpp>

namespace pop3::fuzzer {
namespace {

using conformance::received;
using conformance::tls_failure;

// Whether the line starting at `p` is a QUIT (leading blanks skipped, any case).
bool quit_at(std::string_view s, std::size_t p) {
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t'))
        ++p;
    if (s.size() - p < 4 || !iequals(s.substr(p, 4), "QUIT")) return false;
    // Any blank or line end after the keyword: a server that splits at tabs reads "QUIT\t" too.
    return p + 4 == s.size() || s[p + 4] == ' ' || s[p + 4] == '\t' || s[p + 4] == '\r' ||
           s[p + 4] == '\n';
}

struct server_line {
    std::string wire;
    std::size_t end_write = 0; // the write holding its LF (or its last byte)
    bool same_write = false;   // starts in the write where the line before it ended
    bool last_in_write = true; // nothing follows it in its write
};

std::vector<server_line> frame(const std::vector<std::string>& ws) {
    std::vector<server_line> lines;
    std::string current;
    std::size_t started_in = 0;
    for (std::size_t w = 0; w < ws.size(); ++w) {
        for (std::size_t i = 0; i < ws[w].size(); ++i) {
            if (current.empty()) started_in = w;
            current += ws[w][i];
            if (ws[w][i] == '\n') {
                const bool same = !lines.empty() && started_in == lines.back().end_write;
                lines.push_back({std::move(current), w, same, i + 1 == ws[w].size()});
                current.clear();
            }
        }
    }
    if (!current.empty()) lines.push_back({std::move(current), ws.size() - 1, false, true});
    return lines;
}

// A line's keyword as a finding names it: the command's, even when the line is not certain
// (a 300-octet "LIST 000…" is about LIST), else UNKNOWN.
std::string keyword_of_line(std::string_view wire) {
    wire = wire.substr(0, wire.find_first_of("\r\n"));
    const auto* info = find_command(next_token(wire));
    return info ? std::string(info->keyword) : "UNKNOWN";
}

std::string reply_class(const status_line& s, bool body) {
    std::string c = s.status == reply_status::ok    ? "+OK"
                    : s.status == reply_status::err ? "-ERR"
                                                    : "+ ";
    if (s.code.present()) {
        c += " [";
        for (char ch : s.code.text)
            c += ascii_upper(ch);
        c += "]";
    }
    if (body) c += " multi-line";
    return c;
}

} // namespace

std::vector<std::string> wire_writes(const session_input& in) {
    const auto ws = writes(in);
    std::string stream;
    std::vector<std::size_t> ends;
    for (const auto& w : ws) {
        stream += w;
        ends.push_back(stream.size());
    }
    std::vector<std::string> out(ws.size());
    std::size_t w = 0;
    bool line_start = true;
    for (std::size_t p = 0; p < stream.size(); ++p) {
        while (p >= ends[w])
            ++w;
        if (line_start && quit_at(stream, p)) out[w] += "RSET\r\n";
        out[w] += stream[p];
        line_start = stream[p] == '\n';
    }
    return out;
}

namespace {

session_result run_session_once(const session_input& in, const target& t, const exec_options& o) {
    session_result r;
    std::unique_ptr<conformance::connection> conn;
    try {
        conn = t.connect();
    } catch (const std::exception&) {
        return r;
    }
    r.connected = true;
    const auto patient_read = [&](bool patient) {
        auto x = conn->read_line(o.reply_timeout);
        if (x.what == received::kind::timeout && patient && o.hang_timeout > o.reply_timeout)
            x = conn->read_line(o.hang_timeout - o.reply_timeout);
        return x;
    };

    // The greeting.
    {
        const auto g = conn->read_line(o.reply_timeout);
        if (g.what != received::kind::line) {
            r.closed = g.what == received::kind::eof;
            return r;
        }
        std::error_code ec;
        const auto st = parse_status_line(g.line, false, ec);
        if (ec) {
            r.found = finding{finding_kind::bad_status_line, "greeting",
                              "the greeting " + in_quotes(g.line) + " is not a status line", 0};
            return r;
        }
        if (auto f = judge_framing("greeting", g.line, g.deviations, line_role::status, "")) {
            r.found = std::move(f);
            return r;
        }
        r.transitions.push_back({"GREETING", "greeting", reply_class(st, false)});
        if (st.status != reply_status::ok) return r;
    }
    session_model m;
    if (t.starttls) {
        conn->send("STLS\r\n");
        const auto x = conn->read_line(o.reply_timeout);
        if (x.what != received::kind::line || !x.line.starts_with("+OK") || !conn->start_tls())
            return r;
        m.tls = true;
    }

    const auto ws = wire_writes(in);
    const auto lines = frame(ws);
    std::size_t next = 0;
    // A reset while bytes sent after line `at` (the rest of its write, all sent) are unread:
    // the server closed with them unread (as a server may after STLS, or on a line it refuses),
    // and the reset may have made this side's kernel drop what it had sent before (Mailutils'
    // CAPA reply, cut so): not judged.
    const auto reset_with_unread = [&](std::size_t at) {
        return conn->was_reset() && !lines[at].last_in_write;
    };
    for (std::size_t w = 0; w < ws.size(); ++w) {
        conn->send(ws[w]);
        for (; next < lines.size() && lines[next].end_write == w; ++next) {
            const auto& sl = lines[next];
            auto lv = classify_line(sl.wire, m.sasl);
            if (!lv.complete) return r; // the server waits for the rest of it
            exchange ex{sl.wire, sl.same_write};
            ex.sasl = m.sasl;
            const auto index = r.exchanges.size();
            const auto keyword = m.sasl ? std::string("SASL-RESPONSE") : keyword_of_line(sl.wire);
            auto end_with = [&](finding_kind k, std::string detail) {
                r.exchanges.push_back(ex);
                r.found = finding{k, keyword, std::move(detail), index};
                return r;
            };

            // The status line.
            // Waited for past reply_timeout only when its silence could be judged: a certain
            // line, pipelined only to a server that advertises PIPELINING, its hang not known.
            const auto hang_key = finding_key(
                sl.same_write ? finding_kind::pipelined_hang : finding_kind::hang, keyword);
            const bool patient =
                lv.certain && (!sl.same_write || o.pipelining) && !o.known_hangs.contains(hang_key);
            const auto x = patient_read(patient);
            if (x.what == received::kind::timeout) {
                if (!patient) return r;
                const auto silence = "no reply to " + in_quotes(lv.text) + " within " +
                                     std::to_string(o.hang_timeout.count()) +
                                     " ms, the connection open";
                if (!sl.same_write) return end_with(finding_kind::hang, silence);
                // Sent before the reply to the line before it: only a server that advertises
                // PIPELINING must read it (RFC 2449 §6.6); `patient` says it does.
                return end_with(finding_kind::pipelined_hang,
                                silence + " (it was pipelined; the server advertises PIPELINING)");
            }
            if (x.what == received::kind::eof) {
                // Kept, unanswered: the line the target closed on (a crash's suspect).
                r.exchanges.push_back(ex);
                r.closed = true;
                r.closed_unanswered = lv.certain && keyword != "QUIT";
                return r;
            }
            if (x.what == received::kind::bad_line) return r;
            if (x.deviations & deviation_missing_crlf) {
                r.closed = true;
                if (reset_with_unread(next)) return r;
                return end_with(finding_kind::closed_mid_reply,
                                "the connection closed inside the status line " +
                                    in_quotes(x.line) + " answering " + in_quotes(lv.text));
            }
            // A line over RFC 2449's 255 octets breaks the client's side of the rule that
            // bounds replies: what comes back is not judged.
            if (!lv.certain && sl.wire.size() > 255) return r;
            // A "+ " continuation answers AUTH with a mechanism, a SASL line, or a line that
            // is not certain (it may have been read as AUTH).
            const bool sasl_reply = m.sasl || !lv.certain ||
                                    (lv.cmd && lv.cmd->id == command_id::auth && !lv.args.empty());
            std::error_code ec;
            const auto st = parse_status_line(x.line, sasl_reply, ec);
            if (ec && x.line.starts_with('.') && !r.exchanges.empty() && r.exchanges.back().body) {
                // The rest of the body before: its "." line was not stuffed. The finding is the
                // command whose reply that was, not this one's.
                const auto before = r.exchanges.size() - 1;
                const auto& prev = r.exchanges.back();
                r.found = finding{finding_kind::data_after_terminator,
                                  classify_line(prev.wire, false).keyword(),
                                  "after the end of the multi-line reply to " +
                                      in_quotes(classify_line(prev.wire, false).text) +
                                      " the server sent " + in_quotes(x.line) +
                                      ": a \".\" line inside the body that was not dot-stuffed?",
                                  before};
                return r;
            }
            if (ec)
                return end_with(finding_kind::bad_status_line, "the reply " + in_quotes(x.line) +
                                                                   " to " + in_quotes(lv.text) +
                                                                   " is not a status line");
            if (!lv.certain && st.status != reply_status::continuation && x.line.size() + 2 > 512) {
                // Whatever line it answers, a status line is at most 512 octets.
                auto f = judge_framing(keyword, x.line, 0, line_role::status, lv.text);
                r.exchanges.push_back(ex);
                f->line = index;
                r.found = std::move(f);
                return r;
            }
            ex.answered = true;
            ex.status = st.status;
            if (lv.certain) {
                const auto role = st.status == reply_status::continuation ? line_role::continuation
                                                                          : line_role::status;
                if (auto f = judge_framing(keyword, x.line, x.deviations, role, lv.text)) {
                    r.exchanges.push_back(ex);
                    f->line = index;
                    r.found = std::move(f);
                    return r;
                }
            }
            if (!lv.certain) {
                // Not sure the server read exactly this line: stop before anything is misread.
                r.transitions.push_back({m.state_name(), keyword, reply_class(st, false)});
                r.exchanges.push_back(ex);
                return r;
            }
            if (auto f = judge_reply(m, lv, st)) {
                r.exchanges.push_back(ex);
                f->line = index;
                r.found = std::move(f);
                return r;
            }

            // The body, counted and not kept (a listing is kept for the model).
            const bool body = has_body(lv, st);
            std::vector<std::string> listing;
            bool keep = keeps_body(lv);
            if (body) {
                ex.body = true;
                std::size_t octets = 0;
                const bool patient_body =
                    !o.known_hangs.contains(finding_key(finding_kind::hang, keyword));
                while (true) {
                    const auto b = patient_read(patient_body);
                    if (b.what == received::kind::timeout && !patient_body) return r;
                    if (b.what == received::kind::timeout)
                        return end_with(finding_kind::hang,
                                        "the multi-line reply to " + in_quotes(lv.text) + " (" +
                                            in_quotes(x.line) + ", " + std::to_string(octets) +
                                            " octets of body) stopped before its end for " +
                                            std::to_string(o.hang_timeout.count()) +
                                            " ms, the connection open");
                    if (b.what == received::kind::eof || (b.deviations & deviation_missing_crlf)) {
                        r.closed = true;
                        if (reset_with_unread(next)) return r;
                        return end_with(finding_kind::closed_mid_reply,
                                        "the connection closed inside the multi-line reply to " +
                                            in_quotes(lv.text) + " after " +
                                            std::to_string(octets) + " octets of body");
                    }
                    if (b.what == received::kind::bad_line) return r;
                    if (auto f = judge_framing(keyword, b.line, b.deviations, line_role::body,
                                               lv.text)) {
                        r.exchanges.push_back(ex);
                        f->line = index;
                        r.found = std::move(f);
                        return r;
                    }
                    if (b.line == ".") break;
                    octets += b.line.size() + 2;
                    if (keep && octets <= o.max_listing_octets)
                        listing.push_back(b.line.starts_with('.') ? b.line.substr(1) : b.line);
                    else
                        keep = false;
                    // A message's body may be large: RETR and TOP are judged against the size
                    // LIST gave for it (twice that and 64 KiB more, for stuffing), and when no
                    // size is known, a body past the bound only ends the session.
                    const auto announced = announced_size(m, lv);
                    const bool message =
                        lv.cmd->id == command_id::retr || lv.cmd->id == command_id::top;
                    const auto bound = announced ? std::min<std::uint64_t>(o.max_reply_octets,
                                                                           2 * *announced + 65536)
                                                 : o.max_reply_octets;
                    if (octets > bound) {
                        if (message && !announced) return r;
                        return end_with(
                            finding_kind::unterminated_body,
                            "the multi-line reply to " + in_quotes(lv.text) + " has no end after " +
                                std::to_string(octets) + " octets" +
                                (announced
                                     ? " (LIST gave the message " + std::to_string(*announced) + ")"
                                     : ""));
                    }
                }
            }
            // Bytes after a body's "." before the next command was sent: the rest of a body
            // whose "." line was not stuffed, most likely.
            if (body && sl.last_in_write && !conn->silent_for(std::chrono::milliseconds(0))) {
                const auto extra = conn->read_line(o.reply_timeout);
                if (extra.what == received::kind::line)
                    return end_with(finding_kind::data_after_terminator,
                                    "after the end of the multi-line reply to " +
                                        in_quotes(lv.text) + " the server sent " +
                                        in_quotes(extra.line) +
                                        " before the next command: a \".\" line inside the "
                                        "body that was not dot-stuffed?");
            }
            if (!body || keep) {
                if (auto f = judge_contents(m, lv, st, listing)) {
                    r.exchanges.push_back(ex);
                    f->line = index;
                    r.found = std::move(f);
                    return r;
                }
            }
            r.transitions.push_back({m.state_name(), keyword, reply_class(st, body)});
            // STLS refused with lines pipelined behind it: a server may discard them (the client
            // must not send them, RFC 2595 §4), so their replies cannot be counted on.
            if (lv.cmd && lv.cmd->id == command_id::stls && !m.sasl &&
                st.status != reply_status::ok && !sl.last_in_write) {
                r.exchanges.push_back(ex);
                return r;
            }
            const bool sasl_line = m.sasl;
            apply_reply(m, lv, st, keep ? listing : std::vector<std::string>{});
            if (!sasl_line && lv.cmd && st.status == reply_status::ok) {
                if (lv.cmd->id == command_id::quit) {
                    r.exchanges.push_back(ex);
                    return r;
                }
                if (lv.cmd->id == command_id::stls) {
                    ex.starts_tls = true;
                    r.exchanges.push_back(ex);
                    if (sl.last_in_write) {
                        if (!conn->start_tls()) return r;
                        m.tls = true;
                        continue;
                    }
                    // Lines sent after STLS in its write must be discarded by the server (RFC
                    // 2595 §4: TLS begins right after the +OK's CRLF). Inside TLS, with nothing
                    // sent, nothing may come; the session ends there.
                    for (auto k = next + 1; k < lines.size() && lines[k].end_write == w; ++k) {
                        exchange inj{lines[k].wire, true};
                        inj.injected = true;
                        r.exchanges.push_back(std::move(inj));
                    }
                    if (o.injection_quiet.count() <= 0) {
                        r.injection_skipped = true;
                        return r;
                    }
                    if (!conn->start_tls()) {
                        // The server did not go on in TLS with the lines (Dovecot): checked,
                        // unless this side refused the certificate or plaintext came first
                        // (perhaps a reply to them: not this check's to judge).
                        const auto why = conn->last_tls_problem().kind;
                        r.injection_checked = r.injection_no_tls =
                            why != tls_failure::certificate &&
                            why != tls_failure::plaintext_pending;
                        return r;
                    }
                    r.injection_checked = true;
                    if (conn->silent_for(o.injection_quiet)) return r;
                    const auto extra = conn->read_line(o.reply_timeout);
                    if (extra.what != received::kind::line) return r;
                    r.found = finding{finding_kind::stls_injection, "STLS",
                                      "the commands sent after " + in_quotes(lv.text) +
                                          " in its write were answered inside TLS: " +
                                          in_quotes(extra.line) + " came with nothing sent",
                                      index};
                    return r;
                }
            }
            r.exchanges.push_back(ex);
        }
    }
    return r;
}

} // namespace

session_result run_session(const session_input& in, const target& t, const exec_options& o) {
    auto r = run_session_once(in, t, o);
    // The lines sent after the finding's line in its write (exchanges[i] is line i), or after
    // the line the target closed on (a crash's suspect): a replay must send them too, since they
    // can change what the server does.
    std::optional<std::size_t> at;
    if (r.found && r.found->keyword != "greeting")
        at = r.found->line;
    else if (!r.found && r.closed && !r.exchanges.empty())
        at = r.exchanges.size() - 1;
    const auto lines = frame(wire_writes(in));
    if (at && *at < r.exchanges.size() && *at < lines.size()) {
        const auto w = lines[*at].end_write;
        for (auto k = r.exchanges.size(); k < lines.size() && lines[k].end_write == w; ++k)
            r.rest_of_write.push_back(lines[k].wire);
    }
    return r;
}

bool advertises_pipelining(const target& t, std::chrono::milliseconds timeout) {
    try {
        auto conn = t.connect();
        auto line = conn->read_line(timeout);
        if (line.what != received::kind::line || !line.line.starts_with("+OK")) return false;
        if (t.starttls) {
            conn->send("STLS\r\n");
            line = conn->read_line(timeout);
            if (line.what != received::kind::line || !line.line.starts_with("+OK") ||
                !conn->start_tls())
                return false;
        }
        conn->send("CAPA\r\n");
        line = conn->read_line(timeout);
        if (line.what != received::kind::line || !line.line.starts_with("+OK")) return false;
        bool pipelining = false;
        for (std::size_t i = 0; i < 1000; ++i) { // a capability list, not a body: bounded
            line = conn->read_line(timeout);
            if (line.what != received::kind::line || line.line == ".") break;
            pipelining = pipelining || iequals(line.line, "PIPELINING");
        }
        conn->send("QUIT\r\n");
        return pipelining;
    } catch (const std::exception&) {
        return false;
    }
}

bool target_greets(const target& t, std::chrono::milliseconds timeout) {
    try {
        auto conn = t.connect();
        const auto g = conn->read_line(timeout);
        return g.what == received::kind::line && g.line.starts_with("+OK");
    } catch (const std::exception&) {
        return false;
    }
}

} // namespace pop3::fuzzer
