// Runs one session input against a live target over a socket: sends its writes, frames each
// reply with the command table, keeps the oracle's session model, and reports the transitions
// seen and the first finding.
#pragma once

#include "pop3/fuzzer/feedback.hpp"
#include "pop3/fuzzer/oracle.hpp"
#include "pop3/fuzzer/session_input.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <pop3/conformance/connection.hpp>
#include <set>
#include <string>
#include <vector>

namespace pop3::fuzzer {

class launched_target;

struct target {
    // A new connection (implicit TLS already done when the target is pop3s); throws
    // std::runtime_error when the target cannot be reached.
    std::function<std::unique_ptr<conformance::connection>()> connect;
    bool starttls = false; // send STLS after the greeting and start TLS, before the input
    // With --launch: the target's process, watched after each session and restarted after it
    // died (connect then reaches the port it listens on now).
    launched_target* process = nullptr;
};

struct exec_options {
    // A reply that does not begin within reply_timeout ends the session; it is a hang only
    // when a certain line's reply still has not come after hang_timeout.
    std::chrono::milliseconds reply_timeout{2000};
    std::chrono::milliseconds hang_timeout{15000};
    // Keys of hangs already reported (finding::key(), "hang/RETR"): a line that would show one
    // again is not waited for past reply_timeout, and the session ends there unjudged. A slow
    // server that hangs on a common command would otherwise spend its campaign waiting.
    std::set<std::string> known_hangs;
    // A multi-line body longer than this is unterminated (bodies are counted, not kept).
    std::size_t max_reply_octets = 64u << 20;
    // LIST and UIDL listings are kept for the model up to this many octets (a longer one is
    // only framed).
    std::size_t max_listing_octets = 4u << 20;
    // After STLS with commands pipelined behind it, how long the session waits inside TLS for
    // replies to them (a correct server discards them and sends nothing). 0: not checked, the
    // session ends after the handshake (the campaign bounds the time these waits take).
    std::chrono::milliseconds injection_quiet{200};
    // Whether the target advertises PIPELINING (advertises_pipelining): only then is a line
    // sent before the reply to the line before it certain to be answered.
    bool pipelining = false;
};

// One line as the server framed it, and what came back.
struct exchange {
    std::string wire;        // terminator included
    bool same_write = false; // sent in the same write as the line before
    bool answered = false;   // a status line came
    reply_status status = reply_status::err;
    bool body = false;       // a multi-line body followed
    bool sasl = false;       // the line answered a "+ " challenge
    bool starts_tls = false; // STLS answered +OK: TLS started after it
    bool injected = false;   // sent after STLS in its write: a correct server discards it
};

struct session_result {
    bool connected = false;
    std::vector<transition> transitions;
    std::optional<finding> found;    // found->line indexes `exchanges`
    std::vector<exchange> exchanges; // up to the last one answered, judged or closed on
    bool closed_unanswered = false;  // the target closed instead of answering a certain line
    // Lines were pipelined behind an accepted STLS. Checked: it waited injection_quiet for
    // replies inside TLS, or the handshake failed (no_tls: the server took the lines for
    // handshake bytes, or closed; nothing can be answered inside TLS then, and nothing waited).
    // Skipped: injection_quiet was 0.
    bool injection_checked = false;
    bool injection_no_tls = false;
    bool injection_skipped = false;
    bool closed = false; // the target closed the connection (EOF seen)
    // The lines sent after the finding's line in its write (or, the target having closed, after
    // the last line in `exchanges`), unanswered and not in `exchanges`: the reproducer sends
    // them as that write's last lines.
    std::vector<std::string> rest_of_write;
};

// The writes the input becomes on the wire: RSET is inserted before every line whose keyword is
// QUIT, so that a session never makes a target delete mail (docs/fuzzing.md).
std::vector<std::string> wire_writes(const session_input& in);

session_result run_session(const session_input& in, const target& t, const exec_options& o);

// Whether a new connection's CAPA (after STLS when the target says so) lists PIPELINING; false
// when it cannot tell.
bool advertises_pipelining(const target& t, std::chrono::milliseconds timeout);

// The canary: a new connection gets a +OK greeting within `timeout`.
bool target_greets(const target& t, std::chrono::milliseconds timeout);

} // namespace pop3::fuzzer
