// POP3 commands: the one table of keywords, arities, reply shapes and valid states; the
// client-side formatter (the command-injection defence) and the server-side parser.
#pragma once

#include "pop3/protocol/error.hpp"
#include "pop3/protocol/limits.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

enum class command_id : std::uint8_t {
    user,
    pass,
    apop,
    auth,
    rpop, // AUTHORIZATION
    stat,
    list,
    retr,
    dele,
    noop,
    rset,
    top,
    uidl, // TRANSACTION
    quit,
    capa,
    stls,
    utf8,
    lang, // any state / extensions
    unknown,
};

// How a reply to a command is framed.
enum class reply_shape : std::uint8_t {
    single_line, // status line only
    multi_line,  // status line, then on +OK a dot-terminated body
    sasl,        // "+ " continuations until a final +OK or -ERR (AUTH with a mechanism)
};

// The session states of RFC 1939 §3. UPDATE, entered by QUIT from TRANSACTION, takes no
// further commands.
enum class session_state : std::uint8_t { authorization, transaction, update };

// The states a command is valid in: a bit per session_state (UPDATE has none).
enum class valid_states : std::uint8_t {
    none = 0,
    authorization = 1 << static_cast<unsigned>(session_state::authorization),
    transaction = 1 << static_cast<unsigned>(session_state::transaction),
    both = authorization | transaction,
};

struct command_info {
    command_id id;
    std::string_view keyword;
    std::uint8_t min_args;
    std::uint8_t max_args;
    // The last argument runs to the end of the line, spaces included (PASS: RFC 1939 §7
    // allows spaces in passwords).
    bool last_arg_is_rest;
    // Argument positions that hold a message number (bit i set for argument i).
    std::uint8_t message_number_args;
    // How the reply is framed when the command has no argument, and when it has one or more:
    // LIST, UIDL and LANG are multi-line without and single-line with an argument; AUTH lists
    // mechanisms (multi-line) without one and runs a SASL exchange with one.
    reply_shape reply_without_args;
    reply_shape reply_with_args;
    // A multi-line body that is a message (RETR, TOP) rather than a listing.
    bool body_is_message;
    // Where the command is valid (RFC 1939 §3-7, RFC 2449 §5 for CAPA, RFC 2595 §4 for STLS,
    // RFC 5034 §4 for AUTH, RFC 6856 §2-3 for UTF8 and LANG).
    valid_states states;

    constexpr reply_shape reply(std::size_t arg_count) const noexcept {
        return arg_count == 0 ? reply_without_args : reply_with_args;
    }
    // Whether some form of the command has a multi-line reply.
    constexpr bool can_be_multi_line() const noexcept {
        return reply_without_args == reply_shape::multi_line ||
               reply_with_args == reply_shape::multi_line;
    }
    constexpr bool valid_in(session_state s) const noexcept {
        return (static_cast<unsigned>(states) >> static_cast<unsigned>(s)) & 1u;
    }
};

// Every command pop3kit knows, in RFC order: the one table of keywords, arities, reply shapes
// and valid states. Entry i has id command_id(i).
std::span<const command_info> command_table() noexcept;
// Case-insensitive keyword lookup; nullptr when unknown.
const command_info* find_command(std::string_view keyword) noexcept;
// The entry of `id`; for command_id::unknown, an entry with an empty keyword, valid in no
// state, with a single-line reply.
const command_info& info(command_id id) noexcept;

// The shape of the reply to `id` sent with `arg_count` arguments: info(id).reply(arg_count).
reply_shape expected_reply(command_id id, std::size_t arg_count) noexcept;
// Whether the multi-line reply to `id` with `arg_count` arguments is a listing (LIST, UIDL,
// LANG and AUTH without arguments, CAPA), bounded by limits::max_listing_octets, rather than a
// message (RETR, TOP: body_is_message). False for every single-line or SASL reply.
bool carries_listing(command_id id, std::size_t arg_count) noexcept;

// Client side. Formats "KEYWORD arg1 arg2\r\n" into `out` (replacing its contents). Refuses CR,
// LF and NUL in any argument, empty arguments, spaces in arguments other than a rest argument,
// and lines over limits.max_command_line — before anything can reach the wire.
void format_command(std::string_view keyword, std::span<const std::string_view> args,
                    std::string& out, std::error_code& ec, const limits& lim = {},
                    diagnostics* diag = nullptr);
void format_command(command_id id, std::span<const std::string_view> args, std::string& out,
                    std::error_code& ec, const limits& lim = {}, diagnostics* diag = nullptr);

// Server side: one command line, without its CRLF.
struct parsed_command {
    const command_info* info = nullptr; // nullptr for a well-formed but unknown keyword
    command_id id = command_id::unknown;
    std::string_view keyword; // as sent
    std::array<std::string_view, 2> args{};
    std::size_t arg_count = 0;

    std::span<const std::string_view> arguments() const noexcept {
        return {args.data(), arg_count};
    }
};

// Keywords are 3 or 4 letters, case-insensitive; arguments are separated by one space each
// (RFC 1939 §3). Errors, each with a reason in diag: empty_command, bad_keyword, unknown_command
// (id = unknown, keyword set), wrong_argument_count, forbidden_char_in_argument,
// bad_message_number (not 1..2^64-1 in decimal), bad_number (TOP's line count).
parsed_command parse_command(std::string_view line, std::error_code& ec,
                             diagnostics* diag = nullptr);

// A message number argument: decimal, no sign, at least 1.
std::optional<std::uint64_t> parse_message_number(std::string_view s) noexcept;

} // namespace pop3
