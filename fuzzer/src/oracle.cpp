#include "pop3/fuzzer/oracle.hpp"

#include <pop3/protocol/error.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/text.hpp>

namespace pop3::fuzzer {
namespace {

bool is_one_of(command_id id, std::initializer_list<command_id> ids) {
    for (auto i : ids)
        if (i == id) return true;
    return false;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

} // namespace

std::string_view to_string(finding_kind k) noexcept {
    switch (k) {
    case finding_kind::closed_mid_reply: return "closed-mid-reply";
    case finding_kind::hang: return "hang";
    case finding_kind::bad_status_line: return "bad-status-line";
    case finding_kind::unterminated_body: return "unterminated-body";
    case finding_kind::wrong_state: return "wrong-state";
    case finding_kind::bad_message_number: return "bad-message-number";
    case finding_kind::deleted_message: return "deleted-message";
    case finding_kind::stopped_accepting: return "stopped-accepting";
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
        return {"1939 §4", "Once the TCP connection has been opened by a POP3 client, the POP3 "
                           "server issues a one line greeting"};
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
    const auto& arg = l.args[0];
    if (!all_digits(arg))
        return finding{finding_kind::bad_message_number, kw, said + ": not a message number", 0};
    const auto n = parse_decimal(arg);
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

void apply_reply(session_model& m, const line_view& l, const status_line& s) {
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
    // Only in TRANSACTION: a DELE wrongly answered +OK before login is its own finding
    // (wrong-state) and marks nothing deleted, so it cannot make a later RETR a second one.
    case dele:
        if (ok && m.state == session_state::transaction && !l.args.empty())
            if (auto n = parse_decimal(l.args[0])) m.deleted.insert(*n);
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

} // namespace pop3::fuzzer
