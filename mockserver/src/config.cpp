#include "pop3/mockserver/config.hpp"

namespace pop3::mock {

server_config default_config() {
    server_config c;
    c.users.push_back({"user", "pass", default_maildrop()});
    return c;
}

} // namespace pop3::mock
