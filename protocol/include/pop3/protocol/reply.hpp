// Reply status lines: +OK / -ERR, the RFC 2449 extended response code, the text, and SASL
// continuations ("+ " base64) during AUTH.
#pragma once

#include "pop3/protocol/error.hpp"

#include <string_view>
#include <system_error>

namespace pop3 {

enum class reply_status { ok, err, continuation };

// RFC 2449 §8 and RFC 3206 response codes, by their top level. Codes are hierarchical
// ("SYS/TEMP"); any code not listed here is `other` and kept verbatim in response_code::text.
enum class response_code_kind {
    none,
    in_use,      // IN-USE (RFC 2449 §8.1.1): maildrop locked, retry later
    login_delay, // LOGIN-DELAY (RFC 2449 §8.1.2): logged in too recently
    sys_temp,    // SYS/TEMP (RFC 3206 §4): transient system failure, retry
    sys_perm,    // SYS/PERM (RFC 3206 §4): permanent system failure, do not retry
    sys_other,   // SYS/<anything else>
    auth,        // AUTH (RFC 3206 §5): credentials refused
    utf8,        // UTF8 (RFC 6856 §2): the mailbox needs UTF-8 mode
    other,
};

struct response_code {
    std::string_view text; // between the brackets, verbatim, e.g. "SYS/TEMP"
    response_code_kind kind = response_code_kind::none;

    bool present() const noexcept { return kind != response_code_kind::none; }
    // Worth retrying later: IN-USE, LOGIN-DELAY and SYS/TEMP.
    bool is_transient() const noexcept {
        return kind == response_code_kind::in_use || kind == response_code_kind::login_delay ||
               kind == response_code_kind::sys_temp;
    }
};

// Classifies a code text ("IN-USE", "sys/temp", "AUTH/XYZ"), case-insensitively.
response_code_kind classify_response_code(std::string_view code) noexcept;

struct status_line {
    reply_status status = reply_status::err;
    response_code code;
    // Everything after the indicator and its single space, code included ("" when absent).
    std::string_view full_text;
    // full_text without the response code and the space after it.
    std::string_view text;
    // For continuations: the base64 payload after "+ " (may be empty).
    std::string_view challenge;
};

// Parses a status line without its CRLF. `+OK` and `-ERR` are case-sensitive (RFC 1939 §3)
// and must be followed by the end of the line or a space. A continuation ("+ " payload, or a
// lone "+") is accepted only when `continuation_allowed` (inside AUTH); anything else, such as
// "+ERR", "+ok", "OK" or an empty line, is bad_status_indicator, never a success.
status_line parse_status_line(std::string_view line, bool continuation_allowed, std::error_code& ec,
                              diagnostics* diag = nullptr);

} // namespace pop3
