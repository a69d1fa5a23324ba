#include "pop3/mockserver/scenario.hpp"

#include <pop3/protocol/text.hpp>

namespace pop3::mock {

namespace {
// "*" matches every command but not the greeting, which only "greeting" matches: a rule for
// "any command" must not fire before the client has said anything.
bool command_matches(std::string_view pattern, std::string_view command) noexcept {
    if (pattern == "*") return !iequals(command, "greeting");
    return iequals(pattern, command);
}
} // namespace

const rule* scenario::match(std::string_view command, session_state state,
                            std::size_t occurrence) const noexcept {
    for (const rule& r : rules) {
        if (!command_matches(r.command, command)) continue;
        if (r.state && *r.state != state) continue;
        if (r.occurrence && *r.occurrence != occurrence) continue;
        return &r;
    }
    return nullptr;
}

} // namespace pop3::mock
