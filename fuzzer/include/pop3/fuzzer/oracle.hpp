// The oracle: what a target did that no RFC allows. Conservative, because a finding is a claim
// about someone else's server: the session is judged only while every earlier line was certain
// to get exactly one reply, and only for rules the RFCs state (docs/fuzzing.md lists them).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/reply.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::fuzzer {

enum class finding_kind : std::uint8_t {
    closed_mid_reply,   // EOF (or a reset) inside a reply: a partial line, a body without "."
    hang,               // no reply within the hang timeout, the connection still open
    pipelined_hang,     // the same for a pipelined line, the server advertising PIPELINING
    bad_status_line,    // a reply line that is not +OK, -ERR (or "+ " inside AUTH)
    unterminated_body,  // a multi-line reply past the reply bound without its "."
    wrong_state,        // +OK to a command RFC 1939 §3 requires refused in that state
    bad_message_number, // +OK to a message number that is 0, not a number, or past the maildrop
    deleted_message,    // +OK to a reference to a message deleted in this session
    stopped_accepting,  // after the session, the target no longer greets a new connection
    // Framing (RFC 1939 §3, RFC 2449 §4).
    long_status_line,      // a status line (greeting included) over 512 octets with its CRLF
    bare_lf,               // a reply line ended by LF alone
    unstuffed_line,        // a body line that starts with "." but is neither "." nor ".."...
    data_after_terminator, // a line after a multi-line reply's ".", before the next command
    stls_injection,        // commands pipelined after STLS answered inside TLS (RFC 2595 §4)
    // What the replies say, against what the session has already been told (the model).
    inconsistent_listing, // a size or unique-id changed, or a message past the maildrop listed
    wrong_listing,        // LIST n / UIDL n answered with another message's listing
    listed_deleted,       // a multi-line LIST or UIDL lists a message deleted in the session
    wrong_count,          // STAT after deletions counts them
    // The target's process, with --launch.
    process_died,     // it exited or got a signal
    sanitizer_report, // it wrote a sanitizer's report ("ERROR: AddressSanitizer", ...)
    resource_growth,  // its resident memory or open descriptors grew past the bound
};
std::string_view to_string(finding_kind k) noexcept;

// What folds findings together: the oracle and the command ("hang/RETR").
inline std::string finding_key(finding_kind k, std::string_view keyword) {
    return std::string(to_string(k)) + "/" + std::string(keyword);
}
// The RFC text the finding rests on, for reports and reproducers: {"1939 §3", "…"}.
std::pair<std::string_view, std::string_view> rfc_of(finding_kind k) noexcept;

struct finding {
    finding_kind kind = finding_kind::hang;
    std::string keyword;  // the command it is about ("greeting" for the greeting)
    std::string detail;   // one sentence, the server's line escaped
    std::size_t line = 0; // index of the server line (lines as the server frames them)
    // What the reproducer expects at that line instead of the kind's default: transcript lines
    // ("S: +OK 1 4711 || +OK 1 4711 *", "!no-reply 500"), built from what the session learned.
    std::vector<std::string> expect;
    // Deduplication: same kind, same command.
    std::string key() const { return finding_key(kind, keyword); }
};

// One line as the server frames it: the bytes up to and including a LF.
struct line_view {
    std::string wire;      // as sent, terminator included
    std::string text;      // without CRLF / LF
    bool complete = false; // ends with LF: the server answers it
    // Certain to be read as exactly one command: a known keyword, 0x21-0x7E tokens separated by
    // single spaces, the table's argument count, CRLF, at most 255 octets (RFC 2449 §4); not
    // RPOP, nor AUTH without a mechanism.
    bool certain = false;
    const command_info* cmd = nullptr; // the command, when certain
    std::vector<std::string> args;
    std::string keyword() const; // upper case, or "UNKNOWN" when not certain
};
// `sasl`: the line answers a "+ " challenge (certain when it ends with CRLF and holds no CR,
// LF or NUL before it, 12,288 octets at most).
line_view classify_line(std::string_view wire, bool sasl);

// What the oracle knows of the session.
struct session_model {
    session_state state = session_state::authorization;
    bool tls = false;
    bool sasl = false;                  // the next line answers a "+ " challenge
    std::optional<std::uint64_t> count; // from a STAT +OK with no deletion before it
    std::set<std::uint64_t> deleted;    // by DELE +OK in this session (RSET clears)
    // What LIST and UIDL said of each message (the maildrop is locked: they cannot change).
    std::map<std::uint64_t, std::uint64_t> sizes;
    std::map<std::uint64_t, std::string> uids;
    std::string state_name() const;
};

// A line as a finding's detail shows it: escaped (escape_for_display: at most 120 octets, "..."
// when cut) and in single quotes.
std::string in_quotes(std::string_view text);

// Judges one certain line's status line (before any body is read). A finding when the target
// said +OK where an RFC requires -ERR.
std::optional<finding> judge_reply(const session_model& m, const line_view& l,
                                   const status_line& s);
// Judges what a reply says against the model: STAT after deletions, LIST and UIDL (one message
// from the status line, or the multi-line listing's `body` lines, dot-unstuffed). Call after
// judge_reply found nothing.
std::optional<finding> judge_contents(const session_model& m, const line_view& l,
                                      const status_line& s, const std::vector<std::string>& body);
// Updates the model after the reply to `l` (status `s`; `body`: a listing's lines, if any).
void apply_reply(session_model& m, const line_view& l, const status_line& s,
                 const std::vector<std::string>& body = {});
// The size LIST gave in this session for the message RETR or TOP `l` asks for, if any.
std::optional<std::uint64_t> announced_size(const session_model& m, const line_view& l);
// Whether the body of the reply to `l` is kept for judge_contents (a LIST or UIDL listing).
bool keeps_body(const line_view& l);

// Framing of one line the server sent (without its terminator): a status line (or the
// greeting) over 512 octets with CRLF, unless a "+ " continuation (RFC 5034 has no limit for
// challenges); a line ended by bare LF; a body line that starts with a single "." (the server
// did not dot-stuff it). `keyword` names the command for the finding.
enum class line_role : std::uint8_t { status, continuation, body };
std::optional<finding> judge_framing(std::string_view keyword, std::string_view line,
                                     std::uint8_t deviations, line_role role,
                                     std::string_view command_text);
// Whether +OK to `l` is followed by a body (the command table's reply shape).
bool has_body(const line_view& l, const status_line& s);

} // namespace pop3::fuzzer
