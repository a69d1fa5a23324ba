#include "pop3/mockserver/deviation.hpp"

#include "pop3/mockserver/scenario.hpp"

#include <array>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/text.hpp>
#include <utility>

namespace pop3::mock {
namespace {

constexpr std::array<std::pair<reply_role, std::string_view>, 17> role_names = {{
    {reply_role::greeting, "greeting"},
    {reply_role::capa, "capa"},
    {reply_role::stls, "stls"},
    {reply_role::login_first, "login-first"},
    {reply_role::login, "login"},
    {reply_role::auth_challenge, "auth-challenge"},
    {reply_role::stat, "stat"},
    {reply_role::list, "list"},
    {reply_role::uidl, "uidl"},
    {reply_role::retr, "retr"},
    {reply_role::top, "top"},
    {reply_role::dele, "dele"},
    {reply_role::noop, "noop"},
    {reply_role::rset, "rset"},
    {reply_role::quit, "quit"},
    {reply_role::utf8, "utf8"},
    {reply_role::lang, "lang"},
}};

// "*" matches every command but not the greeting, which only "greeting" matches: a rule for
// "any command" must not fire before the client has said anything.
bool command_matches(std::string_view pattern, std::string_view command) noexcept {
    if (pattern == "*") return !iequals(command, "greeting");
    return iequals(pattern, command);
}

bool role_matches(reply_role wanted, const reply_context& reply) noexcept {
    return wanted == reply.role || (wanted == reply_role::login_first && reply.login_first);
}

} // namespace

std::optional<reply_role> parse_reply_role(std::string_view name) noexcept {
    for (auto [role, n] : role_names)
        if (iequals(n, name)) return role;
    return std::nullopt;
}

std::string_view reply_role_name(reply_role role) noexcept {
    for (auto [r, n] : role_names)
        if (r == role) return n;
    return "other";
}

bool multi_line_role(reply_role role) noexcept {
    // The roles named after a command ("capa", "retr", ...) take its shapes from the command
    // table; the login roles and the greeting are single-line.
    switch (role) {
    case reply_role::greeting:
    case reply_role::login_first:
    case reply_role::login:
    case reply_role::auth_challenge:
    case reply_role::other: return false;
    default: break;
    }
    const command_info* c = find_command(reply_role_name(role));
    return c && c->can_be_multi_line();
}

reply_role role_of_command(std::string_view keyword) noexcept {
    if (iequals(keyword, "USER")) return reply_role::login_first;
    if (iequals(keyword, "PASS") || iequals(keyword, "APOP")) return reply_role::login;
    if (iequals(keyword, "AUTH")) return reply_role::auth_challenge;
    const auto role = parse_reply_role(keyword);
    return role && *role != reply_role::login_first && *role != reply_role::login &&
                   *role != reply_role::auth_challenge
               ? *role
               : reply_role::other;
}

const rule* scenario::match(const reply_context& reply) const noexcept {
    for (const rule& r : rules) {
        if (r.role) {
            if (!role_matches(*r.role, reply)) continue;
            // login-first counts the first replies of login attempts, whatever their role.
            const auto nth = *r.role == reply_role::login_first ? reply.login_first_occurrence
                                                                : reply.role_occurrence;
            if (r.occurrence && *r.occurrence != nth) continue;
        } else {
            if (!command_matches(r.command, reply.command)) continue;
            if (r.occurrence && *r.occurrence != reply.occurrence) continue;
        }
        if (r.state && *r.state != reply.state) continue;
        // A listing (LIST, UIDL without argument) is about every message.
        if (r.message && reply.message && *r.message != *reply.message) continue;
        if (r.tls && *r.tls != reply.tls_active) continue;
        if (r.with_argument && *r.with_argument != reply.has_argument) continue;
        if (r.once && r.served->load() > 0) continue;
        return &r;
    }
    return nullptr;
}

const rule* scenario::match(std::string_view command, session_state state,
                            std::size_t occurrence) const noexcept {
    reply_context c;
    c.command = command;
    c.state = state;
    c.occurrence = c.role_occurrence = occurrence;
    c.role = iequals(command, "greeting") ? reply_role::greeting : role_of_command(command);
    return match(c);
}

} // namespace pop3::mock
