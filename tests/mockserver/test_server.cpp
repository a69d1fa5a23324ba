#include "pop3/mockserver/server.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <pop3/conformance/transcript.hpp>
#include <thread>
#include <vector>

using namespace pop3;
using namespace pop3::mock;
using test::raw_client;

namespace {

server_options quiet_options() {
    server_options o;
    o.threads = 2;
    return o;
}

// A server with one rule for `command`.
server_config with_rule(std::string command, reply_change change, fault delivery = {}) {
    server_config c = default_config();
    rule r;
    r.command = std::move(command);
    r.change = std::move(change);
    r.delivery = std::move(delivery);
    c.faults.rules.push_back(std::move(r));
    return c;
}

void login(raw_client& c) {
    c.reply(); // greeting
    c.send("USER user\r\nPASS pass\r\n");
    REQUIRE(c.reply() == "+OK send PASS\r\n");
    REQUIRE(c.reply().starts_with("+OK maildrop has 3 messages"));
}

} // namespace

TEST_CASE("server: the embedded default serves a whole session on an ephemeral port") {
    server srv(default_config(), quiet_options());
    srv.start();
    REQUIRE(srv.port() != 0);
    raw_client c(srv.port());
    CHECK(c.reply().starts_with("+OK pop3kit mock server ready <"));
    c.send("USER user\r\nPASS pass\r\nSTAT\r\nRETR 2\r\nQUIT\r\n");
    CHECK(c.reply() == "+OK send PASS\r\n");
    CHECK(c.reply().starts_with("+OK maildrop has 3 messages"));
    CHECK(c.reply().starts_with("+OK 3 "));
    const auto retr = c.multi();
    CHECK(retr.find("\r\n..\r\n...\r\n..hidden\r\n") != std::string::npos); // stuffed on the wire
    CHECK(retr.ends_with("end\r\n.\r\n"));
    CHECK(c.reply().starts_with("+OK pop3kit signing off"));
    CHECK(c.closed());
}

TEST_CASE("server: several servers in one process, each stops its own") {
    server a(default_config(), quiet_options()), b(default_config(), quiet_options());
    a.start();
    b.start();
    CHECK(a.port() != b.port());
    raw_client ca(a.port()), cb(b.port());
    CHECK(ca.reply().starts_with("+OK"));
    CHECK(cb.reply().starts_with("+OK"));
    a.stop();
    CHECK(ca.closed());
    cb.send("NOOP\r\n");
    CHECK(cb.reply().starts_with("-ERR"));
}

TEST_CASE("server: a second concurrent login gets IN-USE until the first leaves") {
    server srv(default_config(), quiet_options());
    srv.start();
    raw_client first(srv.port());
    login(first);
    raw_client second(srv.port());
    second.reply();
    second.send("USER user\r\nPASS pass\r\n");
    second.reply();
    CHECK(second.reply() == "-ERR [IN-USE] maildrop already locked by another session\r\n");
    first.send("QUIT\r\n");
    first.reply();
    CHECK(first.closed());
    second.send("USER user\r\nPASS pass\r\n");
    second.reply();
    CHECK(second.reply().starts_with("+OK maildrop has 3 messages"));
}

TEST_CASE("server: a dropped connection deletes nothing; QUIT does") {
    server srv(default_config(), quiet_options());
    srv.start();
    {
        raw_client c(srv.port());
        login(c);
        c.send("DELE 1\r\n");
        CHECK(c.reply() == "+OK message 1 deleted\r\n");
    } // dropped
    {
        raw_client c(srv.port());
        c.set_timeout(std::chrono::seconds(5));
        // The lock is released when the server notices the drop; retry briefly.
        std::string status;
        for (int i = 0; i < 50; ++i) {
            raw_client again(srv.port());
            again.reply();
            again.send("USER user\r\nPASS pass\r\n");
            again.reply();
            status = again.reply();
            if (status.find("IN-USE") == std::string::npos) break;
            ::usleep(20000);
        }
        CHECK(status.starts_with("+OK maildrop has 3 messages"));
    }
}

TEST_CASE("server: STLS then TLS; plaintext injected after STLS is never answered") {
    server srv(default_config(), quiet_options());
    srv.start();
    raw_client c(srv.port());
    c.reply();
    c.send("STLS\r\nCAPA\r\n"); // one segment: the CAPA must be discarded
    CHECK(c.reply() == "+OK begin TLS negotiation\r\n");
    REQUIRE(c.start_tls(srv.identity().certificate));
    c.send("NOOP\r\n");
    CHECK(c.reply() == "-ERR command not valid in the AUTHORIZATION state\r\n");
    c.send("STLS\r\n");
    CHECK(c.reply() == "-ERR command not permitted when TLS active\r\n");
    c.send("CAPA\r\n");
    CHECK(c.multi().find("STLS") == std::string::npos);
}

TEST_CASE("server: implicit TLS listener") {
    auto o = quiet_options();
    o.tls_listen = "127.0.0.1:0";
    server srv(default_config(), o);
    srv.start();
    REQUIRE(srv.tls_port());
    raw_client c(*srv.tls_port());
    REQUIRE(c.start_tls(srv.identity().certificate));
    CHECK(c.reply().starts_with("+OK pop3kit mock server ready"));
    c.send("STLS\r\n");
    CHECK(c.reply() == "-ERR command not permitted when TLS active\r\n");
}

TEST_CASE("server: faults") {
    SECTION("raw bytes instead of the reply") {
        server srv(with_rule("NOOP", {.replace = "+OK\x01 garbage\r\n"}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("NOOP\r\n");
        CHECK(c.receive() == "+OK\x01 garbage\r\n");
    }
    SECTION("response injection: extra lines after the STLS +OK in the same write") {
        server srv(with_rule("STLS", {.append = "+OK injected\r\n"}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        c.reply();
        c.send("STLS\r\n");
        // Both arrive in one segment, while the server waits for the client's TLS handshake.
        CHECK(c.receive() == "+OK begin TLS negotiation\r\n+OK injected\r\n");
    }
    SECTION("delay, drip and split writes deliver the same bytes") {
        fault f;
        f.delay = std::chrono::milliseconds(50);
        f.drip_bytes = 3;
        f.drip_pause = std::chrono::milliseconds(1);
        f.split_at = {1, 7};
        server srv(with_rule("STAT", {}, f), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("STAT\r\n");
        CHECK(c.reply().starts_with("+OK 3 "));
    }
    SECTION("disconnect in the middle of a reply") {
        fault f;
        f.disconnect_at = 20;
        server srv(with_rule("RETR", {}, f), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("RETR 1\r\n");
        const auto got = c.until_closed();
        CHECK(got.size() == 20);
        CHECK(got.starts_with("+OK "));
    }
    SECTION("bare LF line ends") {
        server srv(with_rule("LIST", {.bare_lf = true}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("LIST\r\nQUIT\r\n");
        const auto got = c.until_closed();
        CHECK(got.starts_with("+OK 3 messages\n1 "));
        CHECK(got.find("\r\n.\r\n") == std::string::npos);
    }
    SECTION("wrong octet counts") {
        server srv(with_rule("LIST", {.octet_delta = 1000}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("LIST 1\r\nLIST 1\r\n");
        const auto wrong = c.reply();
        const auto right = c.reply(); // the rule has no occurrence: it applies every time
        CHECK(wrong == right);
        CHECK(std::stoul(wrong.substr(6)) > 1000);
    }
    SECTION("missing terminator") {
        fault f;
        f.disconnect_at = std::numeric_limits<std::size_t>::max();
        server srv(with_rule("RETR", {.drop_terminator = true}, f), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("RETR 1\r\n");
        const auto got = c.until_closed();
        CHECK(got.ends_with("default maildrop.\r\n"));
    }
    SECTION("a body that never ends") {
        server srv(with_rule("RETR", {.endless_body = true}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("RETR 1\r\n");
        const auto got = c.until_closed(1 << 20);
        CHECK(got.size() >= (1u << 20));
        CHECK(got.find("\r\n.\r\n") == std::string::npos);
    }
    SECTION("a huge line") {
        server srv(with_rule("RETR", {.huge_line = 100000}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("RETR 1\r\n");
        const auto got = c.multi();
        CHECK(got.find(std::string(100000, 'x') + "\r\n") != std::string::npos);
    }
    SECTION("TLS handshake failure after STLS") {
        server srv(with_rule("STLS", {.tls_failure = true}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        c.reply();
        c.send("STLS\r\n");
        CHECK(c.reply() == "+OK begin TLS negotiation\r\n");
        CHECK_FALSE(c.start_tls());
    }
    SECTION("never replying") {
        fault f;
        f.hang = true;
        server srv(with_rule("STAT", {}, f), quiet_options());
        srv.start();
        raw_client c(srv.port(), std::chrono::milliseconds(300));
        c.set_timeout(std::chrono::seconds(5));
        login(c);
        c.set_timeout(std::chrono::milliseconds(300));
        c.send("STAT\r\n");
        CHECK_THROWS_WITH(c.receive(), "receive timed out");
    }
    SECTION("the greeting replaced") {
        server srv(with_rule("greeting", {.replace = "+ERR not ready\r\n"}), quiet_options());
        srv.start();
        raw_client c(srv.port());
        CHECK(c.receive() == "+ERR not ready\r\n");
    }
}

TEST_CASE("server: the idle timer closes a silent connection without UPDATE") {
    server_config cfg = default_config();
    cfg.idle_timeout = std::chrono::seconds(1);
    server srv(cfg, quiet_options());
    srv.start();
    raw_client c(srv.port());
    login(c);
    c.send("DELE 1\r\n");
    c.reply();
    c.set_timeout(std::chrono::seconds(5));
    CHECK(c.closed());
}

TEST_CASE("server: --record writes S:/C: transcripts with credentials masked") {
    const pop3::test::temp_dir scratch;
    const auto& dir = scratch.path;
    {
        auto o = quiet_options();
        o.record_dir = dir;
        server srv(default_config(), o);
        srv.start();
        raw_client c(srv.port());
        login(c);
        c.send("QUIT\r\n");
        c.reply();
        CHECK(c.closed());
        srv.stop();
    }
    const auto text = scratch.read("session-1.pop3");
    CHECK(text.find("C: USER user\n") != std::string::npos);
    CHECK(text.find("C: PASS ****\n") != std::string::npos);
    CHECK(text.find("pass\n") == std::string::npos);
    CHECK(text.find("S: +OK pop3kit signing off") != std::string::npos);
    // A recording is a conformance transcript: it parses, with one case.
    const auto cases = pop3::conformance::parse_transcript(text, "session-1.pop3");
    REQUIRE(cases.size() == 1);
    CHECK(cases[0].id == "recorded/session-1");
    CHECK(cases[0].steps.size() >= 6);
}

TEST_CASE("server: every connection gets a different APOP timestamp (RFC 1939 §7)") {
    server srv(default_config(), quiet_options());
    srv.start();
    raw_client a(srv.port()), b(srv.port());
    const auto ga = a.reply(), gb = b.reply();
    CHECK(ga.find('<') != std::string::npos);
    CHECK(ga != gb);
}

TEST_CASE("server: the idle timer also bounds a TLS handshake that never comes") {
    server_config cfg = default_config();
    cfg.idle_timeout = std::chrono::seconds(1);
    auto o = quiet_options();
    o.tls_listen = "127.0.0.1:0";
    server srv(cfg, o);
    srv.start();
    raw_client c(*srv.tls_port()); // connects, never starts TLS
    c.set_timeout(std::chrono::seconds(5));
    CHECK(c.closed());
}

// ---- reliability (issue #14) ---------------------------------------------------------------

namespace {

std::size_t resident_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
    return 0;
}

// The server's session log, kept for the test to read.
struct captured_log {
    std::mutex mutex;
    std::string text;
    std::function<void(std::string_view)> sink() {
        return [this](std::string_view line) {
            std::lock_guard g(mutex);
            text.append(line).append("\n");
        };
    }
    std::string all() {
        std::lock_guard g(mutex);
        return text;
    }
};

// A plain socket with a small receive buffer, read at a steady pace by the test.
struct slow_reader {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    explicit slow_reader(std::uint16_t port) {
        const int size = 32 * 1024;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~slow_reader() { ::close(fd); }
    void send(std::string_view s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) > 0); }
    // Reads until `total` octets or EOF, at most `chunk` octets per `pause`.
    std::size_t read(std::size_t total, std::size_t chunk, std::chrono::milliseconds pause) {
        std::vector<char> buf(chunk);
        std::size_t got = 0;
        while (got < total) {
            const auto n = ::recv(fd, buf.data(), std::min(chunk, total - got), 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
            std::this_thread::sleep_for(pause);
        }
        return got;
    }
};

} // namespace

TEST_CASE("server: connections closing as their idle timer fires (use-after-free)") {
    // The watchdog's handler captured the connection; a timer that had already fired when the
    // connection ended still ran it, on freed memory (ASan: heap-use-after-free in 3 runs of 3).
    server_config cfg = default_config();
    cfg.idle_timeout = std::chrono::seconds(1);
    auto o = quiet_options();
    o.threads = 1;
    server srv(cfg, o);
    srv.start();
    using clock = std::chrono::steady_clock;
    for (int wave = 0; wave < 4; ++wave) {
        std::vector<std::pair<std::unique_ptr<raw_client>, clock::time_point>> clients;
        for (int i = 0; i < 100; ++i) {
            auto c = std::make_unique<raw_client>(srv.port());
            c->reply();
            clients.emplace_back(std::move(c), clock::now());
        }
        // Each closes right as its idle timer fires (one second after its greeting), give or
        // take a few hundred microseconds.
        for (std::size_t i = 0; i < clients.size(); ++i) {
            const auto jitter = std::chrono::microseconds((static_cast<int>(i % 9) - 4) * 150);
            std::this_thread::sleep_until(clients[i].second + std::chrono::seconds(1) + jitter);
            clients[i].first.reset();
        }
    }
    // Still serving.
    raw_client c(srv.port());
    CHECK(c.reply().starts_with("+OK"));
    srv.stop();
}

TEST_CASE("server: a slow reader that keeps reading is not idle (write progress is activity)") {
    captured_log log;
    server_config cfg;
    // 2 s, not less: the server sees write progress only when a write completes, and with the
    // kernel's send buffer grown to a few MB a write may wait most of a second for the reader
    // to drain it (a 1 s timer cut this reader on a loaded machine).
    cfg.idle_timeout = std::chrono::seconds(2);
    cfg.users.push_back({"u", "p", maildrop::generate(1, 12 << 20)}); // one 12 MiB message
    auto o = quiet_options();
    o.log = log.sink();
    server srv(cfg, o);
    srv.start();
    slow_reader r(srv.port());
    r.send("USER u\r\nPASS p\r\nRETR 1\r\n");
    // About 2.5 MB/s: the RETR takes over two idle periods, with bytes flowing all the time.
    const auto total = (12u << 20) + 200;
    const auto got = r.read(total, 16 * 1024, std::chrono::milliseconds(6));
    CHECK(got >= (12u << 20));
    srv.stop();
    CHECK(log.all().find("disconnected by scenario") == std::string::npos);
}

TEST_CASE("server: the log names the real reason a connection ended") {
    captured_log log;
    server_config cfg = default_config();
    cfg.idle_timeout = std::chrono::seconds(1);
    auto o = quiet_options();
    o.log = log.sink();
    server srv(cfg, o);
    srv.start();
    {
        raw_client idle(srv.port());
        idle.reply();
        idle.set_timeout(std::chrono::seconds(5));
        CHECK(idle.closed());
    }
    {
        raw_client gone(srv.port());
        gone.reply();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    srv.stop();
    const auto all = log.all();
    INFO(all);
    CHECK(all.find("idle timeout (1 s)") != std::string::npos);
    CHECK(all.find("peer closed") != std::string::npos);
    CHECK(all.find("disconnected by scenario") == std::string::npos);
}

TEST_CASE("server: pipelined commands from a client that never reads take bounded memory") {
    // Every command of a read used to be answered and queued before anything was written, and
    // each TOP copied the message: 40 TOPs of a 100 MB message took 3.5 GB.
    server_config cfg;
    cfg.users.push_back({"u", "p", maildrop::generate(1, 16 << 20)});
    server srv(cfg, quiet_options());
    srv.start();
    raw_client c(srv.port());
    c.reply();
    c.send("USER u\r\nPASS p\r\n");
    c.reply();
    c.reply();
    const auto before = resident_kib();
    std::string tops;
    for (int i = 0; i < 40; ++i)
        tops += "TOP 1 99999999\r\n";
    c.send(tops); // and never read
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const auto grown_mib = (resident_kib() - std::min(before, resident_kib())) / 1024;
    INFO("resident memory grew by " << grown_mib << " MiB");
    CHECK(grown_mib < 64); // 40 copies would be 640 MiB
    srv.stop();
}

TEST_CASE("server: QUIT after 100,000 DELEs is quick and does not hold up other connections") {
    // The commit used to search the deletion list once per message (quadratic: 25.8 s), on the
    // worker thread that other connections needed too.
    server_config cfg;
    cfg.users.push_back({"u", "p", maildrop::generate(100000, 10)});
    auto o = quiet_options();
    o.threads = 1;
    server srv(cfg, o);
    srv.start();
    raw_client c(srv.port(), std::chrono::seconds(20));
    c.reply();
    std::string commands = "USER u\r\nPASS p\r\n";
    for (int i = 1; i <= 100000; ++i)
        commands += "DELE " + std::to_string(i) + "\r\n";
    commands += "QUIT\r\n";
    std::thread sender([&] { c.send(commands); });
    const auto start = std::chrono::steady_clock::now();
    std::string all;
    while (all.find("signing off") == std::string::npos) {
        const auto more = c.receive();
        if (more.empty()) break;
        all += more;
    }
    sender.join();
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(all.find("+OK pop3kit signing off (0 messages left)") != std::string::npos);
    CHECK(took < std::chrono::seconds(10));
    raw_client other(srv.port(), std::chrono::seconds(2));
    CHECK(other.reply().starts_with("+OK"));
    srv.stop();
}
