// A raw POP3 test client on POSIX sockets and OpenSSL: sends exact bytes, reads replies through
// the protocol core, and never waits longer than its timeout — so tests check the mock server
// on the wire, not through pop3kit's own client.
#pragma once

#include <arpa/inet.h>
#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <optional>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <utility>

namespace pop3::test {

class raw_client {
public:
    explicit raw_client(std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        // OpenSSL writes to the descriptor with plain send(): a server that closed first must
        // give an error, not kill the test with SIGPIPE.
        std::signal(SIGPIPE, SIG_IGN);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket() failed");
        set_timeout(timeout);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("connect() to 127.0.0.1:" + std::to_string(port) + " failed");
    }
    ~raw_client() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    void set_timeout(std::chrono::milliseconds t) {
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(t.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    // TLS client handshake on the open connection, through pop3::net's client policy. With a
    // CA (PEM), the certificate and the name "localhost" are verified; without, nothing is.
    // Returns false when the handshake fails.
    bool start_tls(const std::string& ca_pem = {}) {
        net::tls_client_options policy;
        policy.verify = !ca_pem.empty();
        policy.ca_pem = ca_pem;
        try {
            ctx_.emplace(net::make_client_context(policy));
        } catch (const std::exception&) {
            return false;
        }
        ssl_ = SSL_new(ctx_->native_handle());
        SSL_set_fd(ssl_, fd_);
        if (net::prepare_client_ssl(ssl_, policy, "localhost") || SSL_connect(ssl_) != 1) {
            ERR_clear_error();
            return false;
        }
        return true;
    }

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            const long n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Receives some bytes; "" on EOF, throws on timeout.
    std::string receive() {
        char buf[65536];
        const long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
        if (n < 0 && !ssl_ && (errno == EAGAIN || errno == EWOULDBLOCK))
            throw std::runtime_error("receive timed out");
        if (n < 0 && ssl_ && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_SYSCALL &&
            (errno == EAGAIN || errno == EWOULDBLOCK))
            throw std::runtime_error("receive timed out");
        return {};
    }

    // Reads one whole reply of the given shape: the status line with CRLF, then the body as
    // sent (still dot-stuffed, terminator included) — exactly the bytes on the wire.
    std::string reply(reply_shape shape = reply_shape::single_line) {
        reply_reader reader(limits{}, line_policy::lenient(1 << 20));
        reader.start(shape);
        std::size_t used = 0;
        while (true) {
            std::string_view rest = std::string_view(pending_).substr(used);
            std::error_code ec;
            while (!reader.complete()) {
                const auto step = reader.read(rest, ec);
                rest.remove_prefix(step.consumed);
                used += step.consumed;
                if (ec) break;
            }
            if (reader.complete()) {
                std::string out = pending_.substr(0, used);
                pending_.erase(0, used);
                return out;
            }
            if (ec != error::need_more) throw std::runtime_error("bad reply: " + ec.message());
            const auto more = receive();
            if (more.empty())
                throw std::runtime_error("connection closed inside a reply: '" + pending_ + "'");
            pending_ += more;
        }
    }
    std::string multi() { return reply(reply_shape::multi_line); }

    // Everything until the server closes (or the byte limit).
    std::string until_closed(std::size_t limit = 1 << 26) {
        std::string out = std::exchange(pending_, {});
        while (out.size() < limit) {
            auto more = receive();
            if (more.empty()) break;
            out += more;
        }
        return out;
    }

    // True when the server closed the connection (EOF within the timeout).
    bool closed() {
        try {
            return pending_.empty() && receive().empty();
        } catch (const std::exception&) {
            return false;
        }
    }

private:
    int fd_ = -1;
    std::optional<boost::asio::ssl::context> ctx_;
    SSL* ssl_ = nullptr;
    std::string pending_;
};

} // namespace pop3::test
