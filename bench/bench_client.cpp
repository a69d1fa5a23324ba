// pop3-bench-client: RETR through pop3kit's client library, for bench/README.md.
//   pop3-bench-client PORT USER PASS N [stream]   RETR message N (buffered, or streamed into a
//                                                 sink that discards it), prints MB/s
//   pop3-bench-client many PORT USER PASS COUNT WINDOW [stream]   RETR messages 1..COUNT with
//                                                 retr_many (WINDOW 1 = lock-step, `default` =
//                                                 the library's default), each message
//                                                 kept (or handed to a callback that counts its
//                                                 octets: the streaming form), messages/s
//   pop3-bench-client async PORT USER_PREFIX PASS SESSIONS COUNT   SESSIONS pop3::async_client
//                                                 sessions at once on one thread, each logging
//                                                 in as USER_PREFIX<i> and fetching messages
//                                                 1..COUNT (retr_many, pipelined); messages/s
//                                                 from the first connect to the last QUIT
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <pop3/client/async_client.hpp>
#include <pop3/client/client.hpp>
#include <string>

namespace {

namespace asio = boost::asio;

asio::awaitable<void> fetch_all(pop3::client_options o, pop3::credentials who,
                                const std::vector<pop3::message_number>& which,
                                std::size_t& messages) {
    pop3::async_client c(co_await asio::this_coro::executor, std::move(o));
    co_await c.async_connect(asio::use_awaitable);
    co_await c.async_login(who, asio::use_awaitable);
    const auto got = co_await c.async_retr_many(which, false, asio::use_awaitable);
    co_await c.async_quit(asio::use_awaitable);
    messages += got.size();
}

} // namespace

int main(int argc, char** argv) {
    using clock_type = std::chrono::steady_clock;
    try {
        if (argc >= 7 && std::strcmp(argv[1], "async") == 0) {
            pop3::client_options o;
            o.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
            const int sessions = std::stoi(argv[5]);
            const int count = std::stoi(argv[6]);
            std::vector<pop3::message_number> which;
            for (int i = 1; i <= count; ++i)
                which.emplace_back(i);
            asio::io_context io(1);
            std::size_t messages = 0;
            int failed = 0;
            const auto t0 = clock_type::now();
            for (int i = 0; i < sessions; ++i) {
                const pop3::credentials who{argv[3] + std::to_string(i), argv[4]};
                asio::co_spawn(io, fetch_all(o, who, which, messages), [&](std::exception_ptr e) {
                    if (!e) return;
                    ++failed;
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        std::fprintf(stderr, "pop3-bench-client: %s\n", x.what());
                    }
                });
            }
            io.run();
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf("async: %d sessions, %zu messages in %.3f s = %.0f messages/s (one "
                        "thread)\n",
                        sessions, messages, secs, double(messages) / secs);
            return failed == 0 ? 0 : 1;
        }
        if (argc >= 7 && std::strcmp(argv[1], "many") == 0) {
            pop3::client_options o;
            o.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
            if (std::strcmp(argv[6], "default") != 0)
                o.pipeline_window = static_cast<std::size_t>(std::stoi(argv[6]));
            pop3::client c(o);
            c.user(argv[3]);
            c.pass_(argv[4]);
            const int count = std::stoi(argv[5]);
            std::vector<pop3::message_number> which;
            for (int i = 1; i <= count; ++i)
                which.emplace_back(i);
            const bool stream = argc >= 8 && std::strcmp(argv[7], "stream") == 0;
            std::size_t messages = 0;
            std::uint64_t octets = 0;
            const auto t0 = clock_type::now();
            if (stream) {
                c.retr_many(which, [&](pop3::message_number, const pop3::message_result& m) {
                    ++messages;
                    octets += m.content.size();
                });
            } else {
                for (const auto& m : c.retr_many(which)) {
                    ++messages;
                    octets += m.content.size();
                }
            }
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf("retr_many%s: %zu messages (%llu octets) in %.3f s = %.0f messages/s "
                        "(window %s)\n",
                        stream ? " (streamed)" : "", messages,
                        static_cast<unsigned long long>(octets), secs, double(messages) / secs,
                        argv[6]);
            c.quit();
            return 0;
        }
        if (argc >= 5) {
            pop3::client_options o;
            o.port = static_cast<std::uint16_t>(std::stoi(argv[1]));
            pop3::client c(o);
            c.user(argv[2]);
            c.pass_(argv[3]);
            const bool stream = argc >= 6 && std::strcmp(argv[5], "stream") == 0;
            std::uint64_t octets = 0;
            const auto t0 = clock_type::now();
            if (stream) {
                c.retr(argv[4], [&](std::string_view d) { octets += d.size(); });
            } else {
                octets = c.retr(argv[4]).content.size();
            }
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf("retr%s: %llu octets in %.3f s = %.0f MB/s\n", stream ? " (streamed)" : "",
                        static_cast<unsigned long long>(octets), secs, double(octets) / secs / 1e6);
            c.quit();
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-bench-client: %s\n", e.what());
        return 1;
    }
    std::fputs(
        "usage: pop3-bench-client PORT USER PASS N [stream] | many PORT USER PASS COUNT WINDOW "
        "[stream] | async PORT USER_PREFIX PASS SESSIONS COUNT\n",
        stderr);
    return 2;
}
