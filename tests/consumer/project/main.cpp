// Builds against the installed package and uses the core: exits non-zero if anything is off.
#include <cstdio>
#include <pop3/protocol/reply.hpp>

int main() {
    std::error_code ec;
    const auto s = pop3::parse_status_line("-ERR [IN-USE] locked", false, ec);
    const bool ok = !ec && s.status == pop3::reply_status::err &&
                    s.code.kind == pop3::response_code_kind::in_use && s.text == "locked";
    std::puts(ok ? "consumer: ok" : "consumer: FAILED");
    return ok ? 0 : 1;
}
