// Multi-line bodies (RFC 1939 §3): an incremental decoder that removes dot-stuffing and finds
// the CRLF.CRLF terminator across any split of its input, and the server-side encoder.
#pragma once

#include "pop3/protocol/error.hpp"
#include "pop3/protocol/limits.hpp"
#include "pop3/protocol/line.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

// Decodes one multi-line body, starting after the status line. Output is handed out as views
// into the caller's input (no copy): one run per call, broken only where a stuffing dot is
// removed. The body's line ends stay in the output (CRLF), the terminator does not.
class body_decoder {
public:
    explicit body_decoder(std::size_t max_line = limits{}.max_body_line,
                          line_policy policy = line_policy::strict()) noexcept
        : max_line_(max_line), policy_(policy) {}

    struct step {
        std::size_t consumed = 0; // input octets used; drop them before the next call
        std::string_view data;    // message octets, a view into the input (or a static "\r")
    };

    // Consumes from `input` until it has a run of data to return, the body ends, or the input
    // runs out. Bytes after the terminator are never consumed (they belong to the next reply).
    // ec is need_more when the input is used up before the end, and clear when done().
    step decode(std::string_view input, std::error_code& ec, diagnostics* diag = nullptr);

    // End of stream: eof_in_reply unless the terminator was seen.
    void finish(std::error_code& ec, diagnostics* diag = nullptr) const;

    void reset() noexcept;

    bool done() const noexcept { return state_ == state::done; }
    std::uint64_t octets() const noexcept { return octets_; }           // message octets
    std::uint64_t wire_octets() const noexcept { return wire_octets_; } // stuffed, with terminator
    std::uint64_t lines() const noexcept { return lines_; }             // message lines
    std::uint8_t deviations() const noexcept { return deviations_; }    // tolerated deviations

private:
    enum class state : std::uint8_t { line_start, after_dot, after_dot_cr, in_line, done };

    bool deviate(std::uint8_t what, std::error_code& ec, diagnostics* diag, std::string_view near);

    std::size_t max_line_;
    line_policy policy_;
    state state_ = state::line_start;
    bool prev_cr_ = false;     // last octet of the current line was CR
    std::size_t line_len_ = 0; // wire octets of the current line so far
    std::uint64_t octets_ = 0;
    std::uint64_t wire_octets_ = 0;
    std::uint64_t lines_ = 0;
    std::uint8_t deviations_ = 0;
};

struct stuffing_options {
    // Turn LF not preceded by CR into CRLF (mail stored with Unix line ends).
    bool normalize_bare_lf = false;
};

// Server side, streaming: dot-stuffs every line that starts with '.', the first line included,
// and on finish() completes an unterminated last line and appends ".\r\n".
class dot_stuffer {
public:
    explicit dot_stuffer(stuffing_options options = {}) noexcept : options_(options) {}

    void encode(std::string_view chunk, std::string& out);
    void finish(std::string& out);
    void reset() noexcept { at_line_start_ = true, prev_cr_ = false, empty_ = true; }

private:
    stuffing_options options_;
    bool at_line_start_ = true;
    bool prev_cr_ = false;
    bool empty_ = true;
};

// One-shot form: appends the stuffed body and the terminator to `out`.
void dot_stuff(std::string_view body, std::string& out, stuffing_options options = {});

} // namespace pop3
