// pop3::error — every way POP3 input or a caller's arguments can be wrong, as std::error_code,
// plus the diagnostics object that carries the offending bytes and their position. How a client
// operation fails (a -ERR, a timeout, a closed connection) is the client's own
// pop3::client_error (pop3/client/error.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

// Starts at 1 so that a default-constructed error_code always means success.
enum class error {
    // Recoverable: the parser needs more bytes. Feed more, or report EOF.
    need_more = 1,

    // Line framing (each deviation reported distinctly, see line_policy).
    line_too_long,
    bare_lf,
    bare_cr,
    nul_in_line,
    missing_crlf_at_eof,
    eof_in_reply,

    // Reply lines.
    bad_status_indicator,
    unexpected_continuation,

    // Typed reply values.
    bad_stat_reply,
    bad_scan_listing,
    bad_uid_listing,
    bad_capa_line,
    no_apop_timestamp,

    // Multi-line bodies.
    octet_count_mismatch,

    // Commands (client formatting and server parsing).
    forbidden_char_in_argument,
    command_too_long,
    empty_command,
    bad_keyword,
    unknown_command,
    wrong_argument_count,
    bad_message_number,
    bad_number,

    // SASL and base64.
    bad_base64,
    bad_sasl_message,
    sasl_cancelled,

    last_error = sasl_cancelled, // keep equal to the last enumerator
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// Where and why input was refused. `offending` holds the line (truncated, non-printable bytes
// escaped) so that a message can show what the peer actually sent.
struct diagnostics {
    std::string message;    // one sentence, what is wrong
    std::string offending;  // the offending line, escaped and truncated to max_shown
    std::size_t offset = 0; // byte offset of the offending line in the stream (when known)

    static constexpr std::size_t max_shown = 120;

    void clear() noexcept {
        message.clear();
        offending.clear();
        offset = 0;
    }
    void set(std::string_view what, std::string_view line, std::size_t at = 0);
    // "what: 'line' at offset N" — for logs and exception messages.
    std::string to_string() const;
};

// Escapes CR, LF, NUL and other non-printable octets as \r \n \0 \xHH, truncating to `limit`.
std::string escape_for_display(std::string_view bytes, std::size_t limit = diagnostics::max_shown);

} // namespace pop3

template <>
struct std::is_error_code_enum<pop3::error> : std::true_type {};
