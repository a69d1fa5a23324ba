// pop3-async-fetch: fetches every message of 100 maildrops at once, on one thread, with
// pop3::async_client (C++20 coroutines). With no arguments it starts pop3kit's mock server in
// the process with 100 users (user0 .. user99, password "pass", 20 messages each); otherwise
//   pop3-async-fetch HOST PORT USER_PREFIX PASSWORD [SESSIONS]
// logs in as USER_PREFIX0 .. USER_PREFIX<SESSIONS-1> on HOST:PORT (plain, no TLS).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <pop3/client/async_client.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <vector>

namespace asio = boost::asio;

namespace {

struct totals {
    int sessions_ok = 0;
    int sessions_failed = 0;
    std::uint64_t messages = 0;
    std::uint64_t octets = 0;
};

// One maildrop: log in, list, fetch everything pipelined, log out.
asio::awaitable<void> fetch(pop3::client_options options, pop3::credentials who, totals& t) {
    pop3::async_client c(co_await asio::this_coro::executor, std::move(options));
    co_await c.async_connect(asio::use_awaitable);
    co_await c.async_login(who, asio::use_awaitable);
    const auto listing = co_await c.async_list(asio::use_awaitable);
    std::vector<pop3::message_number> all;
    for (const auto& entry : listing.entries)
        all.emplace_back(entry.message);
    const auto messages = co_await c.async_retr_many(all, false, asio::use_awaitable);
    co_await c.async_quit(asio::use_awaitable);
    for (const auto& m : messages) {
        ++t.messages;
        t.octets += m.octets;
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 1 && argc != 5 && argc != 6) {
        std::fprintf(stderr,
                     "usage: pop3-async-fetch [HOST PORT USER_PREFIX PASSWORD [SESSIONS]]\n");
        return 2;
    }
    std::optional<pop3::mock::server> server;
    pop3::client_options options;
    std::string prefix = "user", password = "pass";
    int sessions = 100;
    if (argc == 1) {
        auto config = pop3::mock::default_config();
        config.users.clear();
        for (int i = 0; i < sessions; ++i)
            config.users.push_back(
                {"user" + std::to_string(i), "pass", pop3::mock::maildrop::generate(20, 4096)});
        pop3::mock::server_options so;
        so.threads = 1;
        server.emplace(std::move(config), so);
        server->start();
        options.port = server->port();
    } else {
        options.host = argv[1];
        options.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
        prefix = argv[3];
        password = argv[4];
        if (argc == 6) sessions = std::stoi(argv[5]);
    }

    asio::io_context io(1); // one thread: this one
    totals t;
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < sessions; ++i) {
        const pop3::credentials who{prefix + std::to_string(i), password};
        asio::co_spawn(io, fetch(options, who, t), [&t, i](std::exception_ptr e) {
            if (!e) {
                ++t.sessions_ok;
                return;
            }
            ++t.sessions_failed;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::fprintf(stderr, "session %d: %s\n", i, x.what());
            }
        });
    }
    io.run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("%d sessions (%d failed), %llu messages, %llu octets in %.3f s on one thread\n",
                t.sessions_ok + t.sessions_failed, t.sessions_failed,
                static_cast<unsigned long long>(t.messages),
                static_cast<unsigned long long>(t.octets), seconds);
    return t.sessions_failed == 0 ? 0 : 1;
}
