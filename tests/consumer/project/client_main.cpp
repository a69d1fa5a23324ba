// Builds against the installed static libraries: the client library fetches from the mock
// server library in the same process. Exits non-zero if anything is off.
#include <cstdio>
#include <exception>
#include <pop3/client/client.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/server.hpp>

int main() {
    try {
        pop3::mock::server_options so;
        so.threads = 1;
        pop3::mock::server srv(pop3::mock::default_config(), so);
        srv.start();
        pop3::client_options o;
        o.port = srv.port();
        pop3::client c(o);
        c.user("user");
        c.pass_("pass");
        const auto count = c.stat().count;
        c.quit();
        srv.stop();
        std::printf("consumer client: %llu messages\n", static_cast<unsigned long long>(count));
        return count > 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer client: FAILED: %s\n", e.what());
        return 1;
    }
}
