// Line framing: finds one CRLF-terminated line in a byte buffer, enforcing a length limit and
// reporting each deviation (bare LF, bare CR, NUL, over-long, no CRLF at EOF) distinctly.
#pragma once

#include "pop3/protocol/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace pop3 {

// Deviations a framed line may carry; a bit set because one line can have several.
enum line_deviation : std::uint8_t {
    deviation_none = 0,
    deviation_bare_lf = 1,       // terminated by LF alone
    deviation_bare_cr = 2,       // CR not followed by LF inside the line
    deviation_nul = 4,           // NUL octet inside the line
    deviation_too_long = 8,      // longer than the limit (accepted only when tolerated)
    deviation_missing_crlf = 16, // last line of the stream had no terminator
};

// What a consumer tolerates. The default rejects every deviation (the client's default); the
// conformance runner's lint mode tolerates them, records the deviations, and goes on.
struct line_policy {
    bool allow_bare_lf = false;
    bool allow_bare_cr = false;
    bool allow_nul = false;
    // Lines longer than the limit but at most this long are delivered with deviation_too_long
    // instead of failing; 0 means never.
    std::size_t tolerate_up_to = 0;
    bool allow_missing_crlf = false;

    static constexpr line_policy strict() noexcept { return {}; }
    static constexpr line_policy lenient(std::size_t hard_limit = 64 * 1024) noexcept {
        return {true, true, true, hard_limit, true};
    }
};

struct framed_line {
    std::string_view text;       // the line without its terminator
    std::size_t consumed = 0;    // octets to drop from the input, terminator included
    std::uint8_t deviations = 0; // line_deviation bits
};

// Frames the first line of `input`. `limit` counts the terminator (as RFC 2449 does).
// Sets ec to need_more when no line end is in the input yet and the limit is not reached,
// to line_too_long when it is, or to the first deviation the policy forbids.
// Stateless: calling it again on a longer buffer gives the same result as any earlier split.
framed_line frame_line(std::string_view input, std::size_t limit, const line_policy& policy,
                       std::error_code& ec, diagnostics* diag = nullptr);

// At end of stream, for bytes left after the last line end: missing_crlf_at_eof, or, when the
// policy allows it, the rest delivered as a line with deviation_missing_crlf.
framed_line frame_final_line(std::string_view input, std::size_t limit, const line_policy& policy,
                             std::error_code& ec, diagnostics* diag = nullptr);

// The deviation bit named by an error code (bare_lf -> deviation_bare_lf, ...), 0 if none.
std::uint8_t deviation_of(std::error_code ec) noexcept;

} // namespace pop3
