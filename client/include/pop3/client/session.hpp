// The client's sans-I/O session: writes queued requests (pipelined within a window, or in
// lock-step), reads their replies in order through the protocol core, and tells its driver what
// to do next — write, read, TLS handshake, or done. No sockets, no clock.
#pragma once

#include "pop3/client/error.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/limits.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/reply.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pop3::sansio {

// One complete reply, owned.
struct reply {
    reply_status status = reply_status::err;
    std::string line; // the status line without CRLF
    std::string text; // after the indicator and the response code
    std::string code; // the response code text, "" when none
    response_code_kind code_kind = response_code_kind::none;
    std::string challenge; // SASL continuation payload (base64)
    std::string body;      // multi-line body, dot-unstuffed (unless streamed to a sink)
    std::uint64_t body_octets = 0;
    bool ok() const noexcept { return status == reply_status::ok; }
};

// Called with each run of body octets as it arrives (streaming RETR/TOP).
using body_sink = std::function<void(std::string_view)>;

struct request {
    std::string line; // "RETR 1\r\n"; empty for the greeting (nothing is sent)
    reply_shape shape = reply_shape::single_line;
    body_sink sink; // when set, body octets go here instead of reply::body
    std::function<void(const reply&)> on_status; // called once the status line is in
    std::function<void(reply&)> on_complete;     // called once the whole reply is in
    bool starts_tls = false;                     // STLS: a +OK is followed by the TLS handshake
    bool secret = false; // the whole line is a credential (a SASL response): never shown
    // The body is a listing (carries_listing(): LIST, UIDL, CAPA, ...): besides
    // max_buffered_body it may not grow past protocol_limits.max_listing_octets.
    bool listing = false;
    reply result;
};

struct session_options {
    limits protocol_limits;
    line_policy policy = line_policy::strict();
    // Commands in flight at once when the server advertises PIPELINING (RFC 2449 §6.6).
    std::size_t pipeline_window = 1;
    // A multi-line body kept in memory (no sink) may not grow past this: an endless or huge
    // reply ends in reply_too_large instead of exhausting memory. Streaming has no limit. A
    // listing is bounded by protocol_limits.max_listing_octets too, whichever is smaller.
    std::size_t max_buffered_body = std::size_t{1} << 30;
};

struct action {
    enum class type : std::uint8_t { write, read, tls_handshake, done };
    type what = type::done;
    std::string_view write_data; // for write: send all of it, then resume(ec, n)
    std::span<char> read_into;   // for read: read some bytes into it, then resume(ec, n)
    std::error_code ec;          // for done
};

class client_session {
public:
    explicit client_session(session_options options = {});

    // Starts running a batch of requests (the caller keeps them alive until done). Their
    // replies arrive in order into request::result.
    action start(std::span<request> batch);
    // The outcome of the last action: bytes written or read, or the handshake's error. The
    // driver reports end of stream as no error and 0 bytes.
    action resume(std::error_code ec, std::size_t bytes);

    // After any error the connection is out of step: every later start fails fast.
    bool usable() const noexcept { return !broken_; }
    void mark_unusable() noexcept { broken_ = true; }
    const diagnostics& diag() const noexcept { return diag_; }
    void set_pipeline_window(std::size_t w) noexcept { options_.pipeline_window = w ? w : 1; }
    std::size_t pipeline_window() const noexcept { return options_.pipeline_window; }
    const limits& protocol_limits() const noexcept { return options_.protocol_limits; }
    // Bytes received but not yet consumed (must be none after the STLS +OK).
    std::size_t buffered() const noexcept { return end_ - begin_; }

private:
    enum class phase : std::uint8_t { idle, writing, reading, tls, done };

    action next();
    std::optional<action> write_more();
    action fail(std::error_code ec);
    // Parses what is buffered for the reply in progress; true when it completed.
    bool parse_buffered(std::error_code& ec);
    std::span<char> read_area();

    session_options options_;
    std::span<request> batch_;
    std::size_t next_write_ = 0;
    std::size_t next_reply_ = 0;
    std::size_t writing_count_ = 0; // requests covered by the write in progress
    std::string out_;
    std::vector<char> in_;
    std::size_t begin_ = 0, end_ = 0; // pending bytes in in_
    std::size_t last_area_ = 0;       // room offered to the last read
    bool last_read_filled_ = false;   // ... and it was all used: grow the buffer
    reply_reader reader_;
    bool reply_started_ = false;
    phase phase_ = phase::idle;
    bool broken_ = false;
    diagnostics diag_;
};

#if POP3_PLANTED_BUGS
// The bug bench (test builds only; docs/fuzzing.md, "pop3-fuzz client"): while on, sessions do
// not refuse the bytes a server sent after its STLS +OK but read them as replies inside TLS (the
// STARTTLS response-injection flaw, CVE-2021-22947). `pop3-conformance library-client` turns it
// on for POP3KIT_PLANTED_BUG=stls-plaintext-accepted. Off by default; absent from releases.
void plant_stls_plaintext_bug(bool on) noexcept;
#endif

} // namespace pop3::sansio
