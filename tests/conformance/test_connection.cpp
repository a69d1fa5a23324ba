// The runner's socket connection: its TCP connect is bounded by the step timeout (issue #14,
// defect 22), and a refused connect says why.
#include "pop3/conformance/connection.hpp"
#include "support/unanswered_port.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <future>
#include <memory>
#include <pop3/net/tls.hpp>
#include <string>
#include <thread>

using namespace pop3::conformance;
using namespace std::chrono_literals;

namespace {

// connect_socket on a thread of its own, so that a connect that hangs (as it did) fails the test
// in seconds instead of blocking it for the kernel's two minutes of SYN retries. The thread
// keeps nothing of the test's: it ends when the port closes.
std::future<std::string> connect_in_background(std::uint16_t port,
                                               std::chrono::milliseconds timeout) {
    auto result = std::make_shared<std::promise<std::string>>();
    auto f = result->get_future();
    std::thread([result, port, timeout] {
        try {
            (void)connect_socket("127.0.0.1", port, false, {}, timeout);
            result->set_value("(connected)");
        } catch (const std::exception& e) {
            result->set_value(e.what());
        }
    }).detach();
    return f;
}

} // namespace

TEST_CASE("connection: the TCP connect is bounded by the step timeout") {
    const pop3::test::unanswered_port port;
    const auto start = std::chrono::steady_clock::now();
    auto outcome = connect_in_background(port.port(), 300ms);
    REQUIRE(outcome.wait_for(10s) == std::future_status::ready);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(outcome.get() == "timed out connecting to 127.0.0.1:" + std::to_string(port.port()) +
                               " after 300 ms (the step timeout)");
    CHECK(took >= 300ms);
    CHECK(took < 3s);
}

TEST_CASE("connection: a refused connect says so, an accepted one works") {
    std::uint16_t closed_port = 0;
    {
        listener l; // a port that was free a moment ago, closed again
        closed_port = l.port();
    }
    auto refused = connect_in_background(closed_port, 2000ms);
    REQUIRE(refused.wait_for(10s) == std::future_status::ready);
    CHECK(refused.get() ==
          "cannot connect to 127.0.0.1:" + std::to_string(closed_port) + ": Connection refused");

    listener l;
    auto conn = connect_socket("127.0.0.1", l.port(), false, {}, 2000ms);
    auto server_side = l.accept({}, 2000ms);
    REQUIRE(server_side);
    server_side->send("+OK hello\r\n");
    const auto r = conn->read_line(2000ms);
    CHECK(r.what == received::kind::line);
    CHECK(r.line == "+OK hello");
}

namespace {

// Both ends of a connection inside TLS: the runner's client side (its step timeout `timeout`,
// which is also the socket's receive timeout) and a server side, handshake done.
struct tls_pair {
    listener l;
    std::unique_ptr<connection> client, server;
};
std::unique_ptr<tls_pair> connected_in_tls(std::chrono::milliseconds timeout) {
    const auto identity = pop3::net::make_self_signed("localhost");
    tls_settings server_tls;
    server_tls.cert_pem = identity.certificate;
    server_tls.key_pem = identity.private_key;
    tls_settings client_tls;
    client_tls.ca_pem = identity.certificate;
    client_tls.server_name = "localhost";
    auto p = std::make_unique<tls_pair>();
    p->client = connect_socket("127.0.0.1", p->l.port(), false, client_tls, timeout);
    p->server = p->l.accept(server_tls, 2000ms);
    REQUIRE(p->server);
    auto server_handshake = std::async(std::launch::async, [&] { return p->server->start_tls(); });
    REQUIRE(p->client->start_tls());
    REQUIRE(server_handshake.get());
    return p;
}

} // namespace

TEST_CASE("connection: writing TLS records to a peer that has gone raises no SIGPIPE") {
    // The library leaves signal dispositions alone: with SIGPIPE at its default, a TLS write to
    // a closed peer must fail, not kill the process (the records go out with MSG_NOSIGNAL).
    struct default_sigpipe {
        void (*before)(int) = std::signal(SIGPIPE, SIG_DFL);
        ~default_sigpipe() { std::signal(SIGPIPE, before); }
    } guard;
    auto p = connected_in_tls(2000ms);
    p->server->send("+OK inside TLS\r\n");
    CHECK(p->client->read_line(2000ms).line == "+OK inside TLS");

    p->server.reset(); // the peer closes its socket
    const std::string record(16 * 1024, 'x');
    for (int i = 0; i < 64; ++i) // the first writes may still succeed; later ones get EPIPE
        p->client->send(record);
    SUCCEED("still alive");
}

TEST_CASE("connection: inside TLS, records without data (session tickets) are not a reply") {
    // A TLS 1.3 server sends its session tickets after the handshake. Reading them once blocked
    // until the socket's receive timeout (the connection's step timeout, 10 s here) instead of
    // the caller's deadline: pop3-fuzz's STARTTLS-injection check waited 2 s a session.
    auto p = connected_in_tls(10000ms);
    const auto before = std::chrono::steady_clock::now();
    CHECK(p->client->silent_for(300ms));
    CHECK(std::chrono::steady_clock::now() - before < 5s); // not the socket's 10 s
    p->server->send("+OK still here\r\n");
    CHECK(p->client->read_line(2000ms).line == "+OK still here");
}
