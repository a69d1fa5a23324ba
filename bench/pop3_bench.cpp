// pop3-bench: load and throughput measurements against a POP3 server on 127.0.0.1.
//   pop3-bench idle PORT N                 hold N idle connections (each got its greeting)
//   pop3-bench sessions PORT SECONDS CONC USERPREFIX PASS
//                                          login+STAT+LIST+UIDL+QUIT sessions per second;
//                                          worker i logs in as USERPREFIX<i+1> (a maildrop
//                                          serves one session at a time, RFC 1939 §8)
//   pop3-bench retr PORT USER PASS N       RETR message N once, discarding the data: MB/s
// Replies are read through the protocol core. Figures and commands: bench/README.md.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <pop3/protocol/reply_reader.hpp>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // GCC 12 false positive on coroutines
#endif

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// Reads one reply, discarding body data; throws on error.
asio::awaitable<void> read_reply(tcp::socket& s, std::string& buf, pop3::reply_shape shape,
                                 std::uint64_t* body_octets = nullptr) {
    pop3::reply_reader reader;
    reader.start(shape);
    while (true) {
        std::error_code ec;
        std::size_t used = 0;
        while (!reader.complete()) {
            const auto step = reader.read(std::string_view(buf).substr(used), ec);
            used += step.consumed;
            if (body_octets) *body_octets += step.data.size();
            if (ec) break;
        }
        buf.erase(0, used);
        if (reader.complete()) {
            if (reader.status().status != pop3::reply_status::ok)
                throw std::runtime_error("server said: " + std::string(reader.status().full_text));
            co_return;
        }
        if (ec != pop3::error::need_more) throw std::runtime_error("bad reply: " + ec.message());
        char chunk[256 * 1024];
        const auto n = co_await s.async_read_some(asio::buffer(chunk), asio::use_awaitable);
        buf.append(chunk, n);
    }
}

tcp::endpoint target(unsigned short port) {
    return {asio::ip::make_address("127.0.0.1"), port};
}

void raise_fd_limit() {
    rlimit r{};
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

int idle(unsigned short port, int count) {
    raise_fd_limit();
    asio::io_context ioc;
    std::vector<std::unique_ptr<tcp::socket>> sockets;
    std::atomic<int> greeted{0}, failed{0};
    for (int i = 0; i < count; ++i) {
        sockets.push_back(std::make_unique<tcp::socket>(ioc));
        asio::co_spawn(
            ioc,
            [&, s = sockets.back().get()]() -> asio::awaitable<void> {
                try {
                    co_await s->async_connect(target(port), asio::use_awaitable);
                    std::string buf;
                    co_await read_reply(*s, buf, pop3::reply_shape::single_line);
                    ++greeted;
                } catch (const std::exception&) {
                    ++failed;
                }
            },
            asio::detached);
    }
    const auto t0 = clock_type::now();
    ioc.run();
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    // With all of them open, the server must still serve a whole session.
    bool responsive = false;
    {
        asio::io_context probe;
        asio::co_spawn(
            probe,
            [&]() -> asio::awaitable<void> {
                tcp::socket s(probe);
                co_await s.async_connect(target(port), asio::use_awaitable);
                std::string buf;
                co_await read_reply(s, buf, pop3::reply_shape::single_line);
                co_await asio::async_write(s, asio::buffer(std::string("NOOP\r\nQUIT\r\n")),
                                           asio::use_awaitable);
                try {
                    co_await read_reply(s, buf, pop3::reply_shape::single_line);
                } catch (const std::exception&) { // -ERR: NOOP is not valid before login; fine
                }
                co_await read_reply(s, buf, pop3::reply_shape::single_line);
                responsive = true;
            },
            asio::detached);
        probe.run();
    }
    std::printf("idle: %d connections held (%d failed) in %.2f s; server responsive: %s\n",
                greeted.load(), failed.load(), secs, responsive ? "yes" : "no");
    return failed == 0 && responsive ? 0 : 1;
}

int sessions(unsigned short port, double seconds, int concurrency, std::string prefix,
             std::string pass) {
    raise_fd_limit();
    asio::io_context ioc;
    std::atomic<long> done{0}, errors{0};
    const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                  std::chrono::duration<double>(seconds));
    for (int i = 0; i < concurrency; ++i) {
        asio::co_spawn(
            ioc,
            [&, user = prefix + std::to_string(i + 1)]() -> asio::awaitable<void> {
                while (clock_type::now() < deadline) {
                    try {
                        tcp::socket s(ioc);
                        co_await s.async_connect(target(port), asio::use_awaitable);
                        s.set_option(tcp::no_delay(true));
                        std::string buf;
                        co_await read_reply(s, buf, pop3::reply_shape::single_line);
                        // Lock-step, as a typical client does: one command, one reply.
                        const std::pair<const char*, pop3::reply_shape> steps[] = {
                            {"USER", pop3::reply_shape::single_line},
                            {"PASS", pop3::reply_shape::single_line},
                            {"STAT", pop3::reply_shape::single_line},
                            {"LIST", pop3::reply_shape::multi_line},
                            {"UIDL", pop3::reply_shape::multi_line},
                            {"QUIT", pop3::reply_shape::single_line}};
                        for (const auto& [kw, shape] : steps) {
                            std::string line = kw;
                            if (line == "USER") line += " " + user;
                            if (line == "PASS") line += " " + pass;
                            line += "\r\n";
                            co_await asio::async_write(s, asio::buffer(line), asio::use_awaitable);
                            co_await read_reply(s, buf, shape);
                        }
                        ++done;
                    } catch (const std::exception&) {
                        ++errors;
                    }
                }
            },
            asio::detached);
    }
    const auto t0 = clock_type::now();
    ioc.run();
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::printf("sessions: %ld in %.2f s = %.0f sessions/s (%d concurrent, %ld errors)\n",
                done.load(), secs, double(done) / secs, concurrency, errors.load());
    return errors == 0 ? 0 : 1;
}

int retr(unsigned short port, std::string user, std::string pass, int which) {
    asio::io_context ioc;
    std::uint64_t octets = 0;
    double secs = 0;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            tcp::socket s(ioc);
            co_await s.async_connect(target(port), asio::use_awaitable);
            std::string buf;
            co_await read_reply(s, buf, pop3::reply_shape::single_line);
            const std::string login = "USER " + user + "\r\nPASS " + pass + "\r\n";
            co_await asio::async_write(s, asio::buffer(login), asio::use_awaitable);
            co_await read_reply(s, buf, pop3::reply_shape::single_line);
            co_await read_reply(s, buf, pop3::reply_shape::single_line);
            const std::string cmd = "RETR " + std::to_string(which) + "\r\n";
            const auto t0 = clock_type::now();
            co_await asio::async_write(s, asio::buffer(cmd), asio::use_awaitable);
            co_await read_reply(s, buf, pop3::reply_shape::multi_line, &octets);
            secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            co_await asio::async_write(s, asio::buffer(std::string("QUIT\r\n")),
                                       asio::use_awaitable);
        },
        asio::detached);
    ioc.run();
    std::printf("retr: %llu octets in %.3f s = %.0f MB/s\n",
                static_cast<unsigned long long>(octets), secs, double(octets) / secs / 1e6);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const std::string usage =
        "usage: pop3-bench idle PORT N | sessions PORT SECONDS CONCURRENCY USERPREFIX PASS | "
        "retr PORT USER PASS N\n(see bench/README.md)\n";
    try {
        if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
            std::fputs(usage.c_str(), stdout);
            return 0;
        }
        if (argc == 4 && std::strcmp(argv[1], "idle") == 0)
            return idle(static_cast<unsigned short>(std::stoi(argv[2])), std::stoi(argv[3]));
        if (argc == 7 && std::strcmp(argv[1], "sessions") == 0)
            return sessions(static_cast<unsigned short>(std::stoi(argv[2])), std::stod(argv[3]),
                            std::stoi(argv[4]), argv[5], argv[6]);
        if (argc == 6 && std::strcmp(argv[1], "retr") == 0)
            return retr(static_cast<unsigned short>(std::stoi(argv[2])), argv[3], argv[4],
                        std::stoi(argv[5]));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-bench: %s\n", e.what());
        return 1;
    }
    std::fputs(usage.c_str(), stderr);
    return 2;
}
