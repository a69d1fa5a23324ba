#include "pop3/fuzzer/oracle.hpp"

#include <pop3/protocol/error.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/protocol/transcript_text.hpp>

namespace pop3::fuzzer {
namespace {

bool is_one_of(command_id id, std::initializer_list<command_id> ids) {
    for (auto i : ids)
        if (i == id) return true;
    return false;
}

// A message-number argument as a server reads it: digits, after one optional '+' ("+1" names
// message 1 by any reading of a number; popa3d and Mailutils take it so, and RFC 1939 gives
// message numbers no grammar to refuse it by). nullopt for anything else ("-1", "1a", "0x1").
std::optional<std::uint64_t> message_number(std::string_view arg) {
    if (arg.size() > 1 && arg.front() == '+') arg.remove_prefix(1);
    return parse_decimal(arg);
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

// At most this many messages are remembered (a listing of a larger maildrop is still judged
// against what was kept).
constexpr std::size_t max_remembered = 100000;

std::string literal(std::string_view text) {
    return transcript_escape(text, true);
}

// "S: +OK TEXT || +OK TEXT *": the line, with or without more after it.
std::string exactly(const std::string& text) {
    return "S: +OK " + literal(text) + " || +OK " + literal(text) + " *";
}

template <class Map, class Value>
void remember(Map& map, std::uint64_t n, Value&& v) {
    if (map.size() < max_remembered) map.emplace(n, std::forward<Value>(v));
}

// The listing's entries as (message, value) with the line they came from; nullopt when a
// line does not parse (then nothing is judged).
struct listed {
    std::uint64_t message = 0;
    std::string value; // the size in decimal, or the unique-id
    std::string line;
};
std::optional<std::vector<listed>> parse_listing(bool uidl, const std::vector<std::string>& body) {
    std::vector<listed> out;
    for (const auto& line : body) {
        std::error_code ec;
        listed e;
        e.line = line;
        if (uidl) {
            const auto u = parse_uid_listing(line, ec);
            if (ec) return std::nullopt;
            e.message = u.message;
            e.value = std::string(u.uid);
        } else {
            const auto sc = parse_scan_listing(line, ec);
            if (ec) return std::nullopt;
            e.message = sc.message;
            e.value = std::to_string(sc.octets);
        }
        out.push_back(std::move(e));
    }
    return out;
}

std::optional<std::string> known(const session_model& m, bool uidl, std::uint64_t n) {
    if (uidl) {
        if (auto it = m.uids.find(n); it != m.uids.end()) return it->second;
    } else if (auto it = m.sizes.find(n); it != m.sizes.end()) {
        return std::to_string(it->second);
    }
    return std::nullopt;
}

} // namespace

std::string_view to_string(finding_kind k) noexcept {
    switch (k) {
    case finding_kind::closed_mid_reply: return "closed-mid-reply";
    case finding_kind::hang: return "hang";
    case finding_kind::pipelined_hang: return "pipelined-hang";
    case finding_kind::wrong_listing: return "wrong-listing";
    case finding_kind::bad_status_line: return "bad-status-line";
    case finding_kind::unterminated_body: return "unterminated-body";
    case finding_kind::wrong_state: return "wrong-state";
    case finding_kind::bad_message_number: return "bad-message-number";
    case finding_kind::deleted_message: return "deleted-message";
    case finding_kind::stopped_accepting: return "stopped-accepting";
    case finding_kind::long_status_line: return "long-status-line";
    case finding_kind::bare_lf: return "bare-lf";
    case finding_kind::unstuffed_line: return "unstuffed-line";
    case finding_kind::data_after_terminator: return "data-after-terminator";
    case finding_kind::stls_injection: return "stls-injection";
    case finding_kind::inconsistent_listing: return "inconsistent-listing";
    case finding_kind::listed_deleted: return "listed-deleted";
    case finding_kind::wrong_count: return "wrong-count";
    case finding_kind::process_died: return "process-died";
    case finding_kind::sanitizer_report: return "sanitizer-report";
    case finding_kind::resource_growth: return "resource-growth";
    }
    return "?";
}

std::pair<std::string_view, std::string_view> rfc_of(finding_kind k) noexcept {
    switch (k) {
    case finding_kind::closed_mid_reply:
    case finding_kind::unterminated_body:
        return {"1939 §3", "a multi-line response is terminated with a line containing a single "
                           "termination octet (\".\") followed by CRLF"};
    case finding_kind::hang:
        return {"1939 §3", "Responses in the POP3 consist of a status indicator and a keyword "
                           "possibly followed by additional information"};
    case finding_kind::bad_status_line:
        return {"1939 §3", "There are currently two status indicators: positive (\"+OK\") and "
                           "negative (\"-ERR\")"};
    case finding_kind::wrong_state:
        return {"1939 §3", "A POP3 server MUST respond to a command issued when the session is "
                           "in an incorrect state by responding with a negative status "
                           "indicator"};
    case finding_kind::bad_message_number:
        return {"1939 §3", "A POP3 server MUST respond to an unrecognized, unimplemented, or "
                           "syntactically invalid command by responding with a negative status "
                           "indicator (a message-number is 1 to the number of messages, §5)"};
    case finding_kind::deleted_message:
        return {"1939 §5", "Any future reference to the message-number associated with the "
                           "message in a POP3 command generates an error"};
    case finding_kind::stopped_accepting:
    case finding_kind::process_died:
    case finding_kind::sanitizer_report:
    case finding_kind::resource_growth:
        return {"1939 §4", "Once the TCP connection has been opened by a POP3 client, the POP3 "
                           "server issues a one line greeting"};
    case finding_kind::long_status_line:
        return {"2449 §4", "The maximum length of the first line of a command response "
                           "(including the initial greeting) is unchanged at 512 octets "
                           "(including the terminating CRLF)"};
    case finding_kind::bare_lf:
        return {"1939 §3", "Responses in the POP3 consist of a status indicator and a keyword "
                           "possibly followed by additional information. All responses are "
                           "terminated by a CRLF pair"};
    case finding_kind::unstuffed_line:
    case finding_kind::data_after_terminator:
        return {"1939 §3", "If any line of the multi-line response begins with the termination "
                           "octet, the line is \"byte-stuffed\" by pre-pending the termination "
                           "octet to that line of the response"};
    case finding_kind::stls_injection:
        return {"2595 §4", "A TLS negotiation begins immediately after the CRLF at the end of "
                           "the +OK response from the server"};
    case finding_kind::inconsistent_listing:
        return {"1939 §4, §7", "the POP3 server then acquires an exclusive-access lock on the "
                               "maildrop, as necessary to prevent messages from being modified "
                               "or removed before the session enters the UPDATE state (§4); the "
                               "unique-id uniquely identifies a message within a maildrop and "
                               "persists across sessions (§7)"};
    case finding_kind::pipelined_hang:
        return {"2449 §6.6", "If a server supports PIPELINING, it MUST process each command in "
                             "turn"};
    case finding_kind::wrong_listing:
        return {"1939 §5", "If an argument was given and the POP3 server issues a positive "
                           "response with a line containing information for that message"};
    case finding_kind::listed_deleted:
        return {"1939 §5", "messages marked as deleted are not listed"};
    case finding_kind::wrong_count:
        return {"1939 §5", "messages marked as deleted are not counted in either total"};
    }
    return {"", ""};
}

std::string line_view::keyword() const {
    if (!cmd) return "UNKNOWN";
    return std::string(cmd->keyword);
}

line_view classify_line(std::string_view wire, bool sasl) {
    line_view l;
    l.wire = std::string(wire);
    l.complete = !wire.empty() && wire.back() == '\n';
    auto text = wire;
    const bool crlf = text.ends_with("\r\n");
    if (crlf)
        text.remove_suffix(2);
    else if (l.complete)
        text.remove_suffix(1);
    l.text = std::string(text);
    if (!crlf) return l;
    if (sasl) {
        l.certain = text.size() <= 12286 &&
                    text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
        return l;
    }
    if (wire.size() > 255 || text.empty()) return l;
    for (char c : text)
        if (c < 0x20 || c > 0x7E) return l;
    if (text.front() == ' ' || text.back() == ' ' || text.find("  ") != std::string_view::npos)
        return l;
    auto rest = text;
    const auto kw = next_token(rest);
    const auto* info = find_command(kw);
    // RPOP logs in on servers that have it, which the model does not follow; AUTH without a
    // mechanism is no RFC's (servers answer a list, a single line or -ERR).
    if (!info || info->id == command_id::rpop || (info->id == command_id::auth && rest.empty()))
        return l;
    std::vector<std::string> args;
    while (!rest.empty()) {
        if (info->last_arg_is_rest && args.size() + 1 == info->max_args) {
            args.emplace_back(rest);
            break;
        }
        args.emplace_back(next_token(rest));
    }
    if (args.size() < info->min_args || args.size() > info->max_args) return l;
    l.cmd = info;
    l.args = std::move(args);
    l.certain = true;
    return l;
}

std::string session_model::state_name() const {
    std::string s = sasl                                    ? "SASL"
                    : state == session_state::authorization ? "AUTHORIZATION"
                    : state == session_state::transaction   ? "TRANSACTION"
                                                            : "UPDATE";
    if (tls) s += "+TLS";
    return s;
}

std::string in_quotes(std::string_view text) {
    // Appended, not `"'" + escape_for_display(text)`: that inserts at the front of the
    // temporary (a memmove of all of it), and GCC 12 at -O3 reports the inlined insert as
    // -Wrestrict (GCC PR 105651).
    std::string out = "'";
    out += escape_for_display(text);
    out += '\'';
    return out;
}

std::optional<finding> judge_reply(const session_model& m, const line_view& l,
                                   const status_line& s) {
    if (!l.certain || !l.cmd || m.sasl || s.status != reply_status::ok) return std::nullopt;
    const auto id = l.cmd->id;
    const auto kw = std::string(l.cmd->keyword);
    const auto said = in_quotes(l.text) + " was answered +OK";
    using enum command_id;
    if (m.state == session_state::authorization &&
        is_one_of(id, {stat, list, retr, dele, top, uidl}))
        return finding{finding_kind::wrong_state, kw, said + " before login (AUTHORIZATION state)",
                       0};
    if (m.state == session_state::transaction && is_one_of(id, {user, pass, apop}))
        return finding{finding_kind::wrong_state, kw, said + " after login (TRANSACTION state)", 0};
    if (m.state != session_state::transaction || !(l.cmd->message_number_args & 1u) ||
        l.args.empty())
        return std::nullopt;
    // "+1" is message 1 (message_number); "-1", "1a", "0x1" name none.
    auto arg = std::string_view(l.args[0]);
    if (arg.size() > 1 && arg.front() == '+') arg.remove_prefix(1);
    if (!all_digits(arg))
        return finding{finding_kind::bad_message_number, kw, said + ": not a message number", 0};
    const auto n = message_number(arg);
    if (n && *n == 0) return finding{finding_kind::bad_message_number, kw, said + ": message 0", 0};
    if (m.count && (!n || *n > *m.count))
        return finding{
            finding_kind::bad_message_number, kw,
            said + ": the maildrop holds " + std::to_string(*m.count) + " messages (STAT)", 0};
    if (n && m.deleted.contains(*n))
        return finding{finding_kind::deleted_message, kw,
                       said + ": message " + std::to_string(*n) + " was deleted (DELE)", 0};
    return std::nullopt;
}

void apply_reply(session_model& m, const line_view& l, const status_line& s,
                 const std::vector<std::string>& body) {
    const bool ok = s.status == reply_status::ok;
    if (m.sasl) {
        if (s.status == reply_status::continuation) return;
        m.sasl = false;
        if (ok) m.state = session_state::transaction;
        return;
    }
    if (!l.cmd) return;
    using enum command_id;
    switch (l.cmd->id) {
    case auth:
        if (s.status == reply_status::continuation && !l.args.empty()) m.sasl = true;
        if (ok && !l.args.empty() && m.state == session_state::authorization)
            m.state = session_state::transaction;
        break;
    case pass:
    case apop:
        if (ok && m.state == session_state::authorization) m.state = session_state::transaction;
        break;
    case stat:
        if (ok && m.state == session_state::transaction && m.deleted.empty() && !m.count) {
            std::error_code ec;
            const auto st = parse_stat(s.full_text, ec);
            if (!ec) m.count = st.count;
        }
        break;
    case list:
    case uidl: {
        if (!ok || m.state != session_state::transaction) break;
        const bool is_uidl = l.cmd->id == uidl;
        const auto entries = l.args.empty() ? parse_listing(is_uidl, body)
                                            : parse_listing(is_uidl, {std::string(s.full_text)});
        if (!entries) break;
        for (const auto& e : *entries) {
            if (!l.args.empty() && message_number(l.args[0]) != e.message) break;
            if (m.deleted.contains(e.message)) continue;
            if (is_uidl)
                remember(m.uids, e.message, e.value);
            else
                remember(m.sizes, e.message, std::stoull(e.value));
        }
        break;
    }
    // Only in TRANSACTION: a DELE wrongly answered +OK before login is its own finding
    // (wrong-state) and marks nothing deleted, so it cannot make a later RETR a second one.
    case dele:
        if (ok && m.state == session_state::transaction && !l.args.empty())
            if (auto n = message_number(l.args[0])) m.deleted.insert(*n);
        break;
    case rset:
        if (ok && m.state == session_state::transaction) m.deleted.clear();
        break;
    case quit:
        if (ok) m.state = session_state::update;
        break;
    default: break;
    }
}

bool has_body(const line_view& l, const status_line& s) {
    return s.status == reply_status::ok && l.cmd &&
           l.cmd->reply(l.args.size()) == reply_shape::multi_line;
}

std::optional<std::uint64_t> announced_size(const session_model& m, const line_view& l) {
    if (!l.cmd || l.args.empty() || (l.cmd->id != command_id::retr && l.cmd->id != command_id::top))
        return std::nullopt;
    const auto n = message_number(l.args[0]);
    if (!n) return std::nullopt;
    const auto it = m.sizes.find(*n);
    if (it == m.sizes.end()) return std::nullopt;
    return it->second;
}

bool keeps_body(const line_view& l) {
    return l.certain && l.cmd && l.args.empty() &&
           (l.cmd->id == command_id::list || l.cmd->id == command_id::uidl);
}

std::optional<finding> judge_contents(const session_model& m, const line_view& l,
                                      const status_line& s, const std::vector<std::string>& body) {
    if (!l.certain || !l.cmd || m.sasl || s.status != reply_status::ok ||
        m.state != session_state::transaction)
        return std::nullopt;
    const auto kw = std::string(l.cmd->keyword);
    const auto said = in_quotes(l.text) + " was answered " + in_quotes(s.full_text);
    const bool uidl = l.cmd->id == command_id::uidl;
    if (l.cmd->id == command_id::stat) {
        if (!m.count || m.deleted.empty()) return std::nullopt;
        std::error_code ec;
        const auto st = parse_stat(s.full_text, ec);
        if (ec) return std::nullopt;
        const auto count = *m.count - m.deleted.size();
        // The count only: STAT's octets need not be the sum of LIST's sizes (servers count
        // differently), so what deleting takes off them is not known.
        if (st.count == count) return std::nullopt;
        const auto want = std::to_string(count);
        finding f{finding_kind::wrong_count, kw,
                  said + ": " + std::to_string(m.deleted.size()) + " of the " +
                      std::to_string(*m.count) + " messages are deleted, so " + want +
                      " (STAT before the deletions)",
                  0};
        f.expect = {"S: +OK " + literal(want) + " *"};
        return f;
    }
    if (l.cmd->id != command_id::list && !uidl) return std::nullopt;

    if (!l.args.empty()) { // one message, in the status line
        const auto n = message_number(l.args[0]);
        if (!n) return std::nullopt;
        std::error_code ec;
        const auto entries = parse_listing(uidl, {std::string(s.full_text)});
        if (!entries) return std::nullopt;
        const auto& e = entries->front();
        const auto number = std::to_string(*n);
        if (e.message != *n) {
            finding f{finding_kind::wrong_listing, kw,
                      said + ": the listing of message " + std::to_string(e.message) +
                          ", not of message " + number,
                      0};
            f.expect = {"S: +OK " + number + " * || -ERR*"};
            return f;
        }
        if (const auto k = known(m, uidl, *n); k && *k != e.value) {
            finding f{finding_kind::inconsistent_listing, kw,
                      said + ": the session was told " + in_quotes(number + " " + *k) +
                          " for that message before",
                      0};
            f.expect = {exactly(number + " " + *k)};
            return f;
        }
        return std::nullopt;
    }

    const auto entries = parse_listing(uidl, body);
    if (!entries) return std::nullopt;
    std::optional<finding> first;
    std::vector<std::string> expected;
    for (const auto& e : *entries) {
        const auto number = std::to_string(e.message);
        std::optional<finding> f;
        const auto k = known(m, uidl, e.message);
        if (m.deleted.contains(e.message)) {
            f = finding{finding_kind::listed_deleted, kw,
                        in_quotes(l.text) + " listed " + in_quotes(e.line) + ": message " + number +
                            " was deleted (DELE)",
                        0};
        } else if (m.count && e.message > *m.count) {
            f = finding{finding_kind::inconsistent_listing, kw,
                        in_quotes(l.text) + " listed " + in_quotes(e.line) +
                            ": the maildrop holds " + std::to_string(*m.count) + " messages (STAT)",
                        0};
        } else if (k && *k != e.value) {
            f = finding{finding_kind::inconsistent_listing, kw,
                        in_quotes(l.text) + " listed " + in_quotes(e.line) +
                            ": the session was told " + in_quotes(number + " " + *k) +
                            " for that message before",
                        0};
            expected.push_back(number + " " + *k);
        } else {
            expected.push_back(e.line);
        }
        if (f && !first) first = std::move(f);
    }
    if (!first) return std::nullopt;
    first->expect.push_back("S: +OK*");
    for (const auto& line : expected)
        first->expect.push_back("S: " + literal(line));
    first->expect.push_back("S: .");
    return first;
}

std::optional<finding> judge_framing(std::string_view keyword, std::string_view line,
                                     std::uint8_t deviations, line_role role,
                                     std::string_view command_text) {
    const auto kw = std::string(keyword);
    const auto answering = keyword == "greeting" ? std::string("the greeting")
                                                 : "the reply to " + in_quotes(command_text);
    if (deviations & deviation_bare_lf)
        return finding{finding_kind::bare_lf, kw,
                       std::string(role == line_role::body ? "a body line" : "the status line") +
                           " of " + answering + ", " + in_quotes(line) + ", ends in a bare LF",
                       0};
    if (role == line_role::status && line.size() + 2 > 512) {
        finding f{finding_kind::long_status_line, kw,
                  "the status line of " + answering + " is " + std::to_string(line.size() + 2) +
                      " octets with its CRLF: " + in_quotes(line),
                  0};
        f.expect = {"S: {=(?:\\+OK|-ERR)(?: .{0,505})?}"};
        return f;
    }
    if (role == line_role::body && line.size() >= 2 && line[0] == '.' && line[1] != '.') {
        finding f{finding_kind::unstuffed_line, kw,
                  "a body line of " + answering + ", " + in_quotes(line) +
                      ", starts with a single \".\": not dot-stuffed",
                  0};
        f.expect = {"S: +OK*", "S*: {=(?:[^.].*)?|\\.\\..*}", "S: ."};
        return f;
    }
    return std::nullopt;
}

} // namespace pop3::fuzzer
