// A port of 127.0.0.1 that answers no SYN, for tests of connect timeouts without firewall rules
// or unroutable addresses: it listens with a backlog of 0 and its accept queue is filled with
// connections that are never accepted, so the kernel drops further SYNs and a connect to it
// hangs in SYN-SENT until the connecting side gives up.
#pragma once

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cstdint>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace pop3::test {

class unanswered_port {
public:
    unanswered_port() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in a = loopback(0);
        socklen_t len = sizeof a;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener_, 0) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        // Fill the queue until a connect stays unanswered for 200 ms.
        for (int i = 0; i < 16; ++i) {
            const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            REQUIRE(fd >= 0);
            fillers_.push_back(fd);
            const sockaddr_in to = loopback(port_);
            ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 200) == 0) return;
        }
        FAIL("could not fill the accept queue of 127.0.0.1:" << port_);
    }
    ~unanswered_port() {
        for (int fd : fillers_)
            ::close(fd);
        ::close(listener_);
    }
    unanswered_port(const unanswered_port&) = delete;
    unanswered_port& operator=(const unanswered_port&) = delete;

    std::uint16_t port() const noexcept { return port_; }

private:
    static sockaddr_in loopback(std::uint16_t port) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        return a;
    }

    int listener_ = -1;
    std::vector<int> fillers_;
    std::uint16_t port_ = 0;
};

} // namespace pop3::test
