#include "pop3/mockserver/config.hpp"

namespace pop3::mock {

const user* find_user(std::span<const user> users, std::string_view name) noexcept {
    for (const auto& u : users)
        if (u.name == name) return &u;
    return nullptr;
}

server_config default_config() {
    server_config c;
    c.users.push_back({"user", "pass", default_maildrop()});
    return c;
}

} // namespace pop3::mock
