// Deviations: which reply a scenario rule changes. A rule names its reply either by command
// keyword, state and occurrence (`command = "RETR"` in a scenario file), or by the reply's role
// in the dialogue (`role = "retr"`, `message = 2`): the client-conformance cases
// (docs/client-conformance.md) attach their one deviation to a role because clients choose
// their own path — CAPA first or not, USER/PASS, APOP or AUTH — and a line position would miss.
// Matching and the count of served deviations live here, in one place (scenario::match).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pop3::mock {

enum class reply_role : std::uint8_t {
    greeting,
    capa,
    stls,
    login_first,    // the first reply of a login attempt: to USER, to APOP, AUTH's first reply
    login,          // the reply that ends a login: to PASS, to APOP, AUTH's outcome
    auth_challenge, // a "+ " continuation of AUTH
    stat,
    list,
    uidl,
    retr,
    top,
    dele,
    noop,
    rset,
    quit,
    utf8,
    lang,
    other, // any other reply (unknown commands, RPOP, errors of malformed lines)
};

// "login-first", "retr", ...: the names of docs/client-conformance.md; nullopt for others
// (including "other", which no rule can name).
std::optional<reply_role> parse_reply_role(std::string_view name) noexcept;
std::string_view reply_role_name(reply_role role) noexcept;
// Roles whose replies can be multi-line: those named after a command the command table says
// can have a multi-line reply (CAPA, LIST, UIDL, RETR, TOP, LANG).
bool multi_line_role(reply_role role) noexcept;
// The role of a command's reply by its upper-case keyword; AUTH is auth_challenge here (its
// outcome is `login`, which only the session knows).
reply_role role_of_command(std::string_view keyword) noexcept;

} // namespace pop3::mock
