#include "pop3/conformance/connection.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <optional>
#include <poll.h>
#include <pop3/client/error.hpp>
#include <pop3/net/tls.hpp>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/line.hpp>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

namespace pop3::conformance {
namespace {

using clock_type = std::chrono::steady_clock;

// The longest line the runner reads (body lines have no limit in RFC 1939): past it the line
// is a bad_line, which the runner reports as its own limit (verdict error), not the peer's.
constexpr std::size_t max_line_octets = 8 * 1024 * 1024;

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE once the peer has gone. TLS
// records are written through this BIO instead, with send(MSG_NOSIGNAL), as the plaintext path
// is: the library never changes the process's signal dispositions.
int nosignal_write(BIO* bio, const char* data, int size) {
    const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
    BIO_clear_retry_flags(bio);
    const auto n = ::send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(bio);
    return static_cast<int>(n);
}
long nosignal_ctrl(BIO*, int command, long, void*) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}
const BIO_METHOD* nosignal_write_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                     "socket write with MSG_NOSIGNAL");
        BIO_meth_set_write(m, nosignal_write);
        BIO_meth_set_ctrl(m, nosignal_ctrl);
        return m;
    }();
    return method;
}
// Connects `ssl` to the socket `fd`: reads through OpenSSL's socket BIO, writes through
// nosignal_write. The socket stays open when the SSL object is freed.
void attach_socket(SSL* ssl, int fd) {
    BIO* const rbio = BIO_new_socket(fd, BIO_NOCLOSE);
    BIO* const wbio = BIO_new(nosignal_write_method());
    BIO_set_data(wbio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    BIO_set_init(wbio, 1);
    SSL_set_bio(ssl, rbio, wbio);
    // A read that meets only post-handshake records (TLS 1.3 session tickets) returns
    // WANT_READ instead of blocking on the socket for application data: the caller's deadline
    // (poll) bounds every wait, not the socket's receive timeout.
    SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
}

// Splits buffered bytes into lines leniently, so that a deviating server is reported, not
// misread: each line carries its deviations.
struct line_buffer {
    std::string pending;
    bool eof = false;

    std::optional<received> next() {
        std::error_code ec;
        const auto line =
            frame_line(pending, max_line_octets, line_policy::lenient(max_line_octets), ec);
        if (!ec) {
            received r{received::kind::line, std::string(line.text), line.deviations};
            pending.erase(0, line.consumed);
            return r;
        }
        if (ec == error::need_more && !eof) return std::nullopt;
        if (ec == error::need_more && !pending.empty()) { // the last line had no CRLF
            received r{received::kind::line, pending, deviation_missing_crlf};
            pending.clear();
            return r;
        }
        if (ec == error::need_more) return received{received::kind::eof, {}, 0};
        pending.clear();
        return received{received::kind::bad_line, ec.message(), 0};
    }
};

// Connects `fd` to `addr` unless `deadline` passes first: a non-blocking connect, waited for
// with poll, then the socket is made blocking again. 0, or the errno (ETIMEDOUT at the deadline).
int connect_before(int fd, const sockaddr* addr, socklen_t len, clock_type::time_point deadline) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
    int err = ::connect(fd, addr, len) == 0 ? 0 : errno;
    while (err == EINPROGRESS || err == EINTR) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) {
            err = ETIMEDOUT;
            break;
        }
        pollfd p{fd, POLLOUT, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), INT_MAX)));
        if (n < 0) {
            err = errno == EINTR ? EINPROGRESS : errno;
        } else if (n > 0) {
            socklen_t size = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = errno;
        }
    }
    if (err == 0 && ::fcntl(fd, F_SETFL, flags) != 0) err = errno;
    return err;
}

class socket_connection final : public connection {
public:
    socket_connection(const std::string& host, std::uint16_t port, bool implicit_tls,
                      tls_settings tls, std::chrono::milliseconds timeout)
        : host_(host), tls_(std::move(tls)), timeout_(timeout) {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
            throw std::runtime_error("cannot resolve " + host);
        // The step timeout bounds the whole connect, over every address the name gave.
        const auto deadline = clock_type::now() + timeout;
        int err = 0;
        for (auto* ai = res; ai; ai = ai->ai_next) {
            fd_ = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
            if (fd_ < 0) {
                err = errno;
                continue;
            }
            err = connect_before(fd_, ai->ai_addr, ai->ai_addrlen, deadline);
            if (err == 0) break;
            ::close(fd_);
            fd_ = -1;
            if (err == ETIMEDOUT) break;
        }
        freeaddrinfo(res);
        const std::string where = host + ":" + std::to_string(port);
        if (fd_ < 0 && err == ETIMEDOUT)
            throw std::runtime_error("timed out connecting to " + where + " after " +
                                     std::to_string(timeout.count()) + " ms (the step timeout)");
        if (fd_ < 0)
            throw std::runtime_error("cannot connect to " + where + ": " +
                                     std::generic_category().message(err));
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_timeouts();
        if (implicit_tls && !start_tls()) {
            release(); // no destructor runs after a constructor throws
            throw std::runtime_error("TLS handshake with " + host + " failed");
        }
    }
    // The server side of an accepted connection (the client direction): start_tls() accepts a
    // handshake with `tls.cert_pem` / `tls.key_pem`.
    socket_connection(int accepted_fd, tls_settings tls, std::chrono::milliseconds timeout)
        : tls_(std::move(tls)), timeout_(timeout), fd_(accepted_fd), server_role_(true) {
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_timeouts();
    }
    ~socket_connection() override { release(); }

    void send(std::string_view bytes) override {
        while (!bytes.empty()) {
            const long n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return; // the peer closed: what it said is read next
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    received read_line(std::chrono::milliseconds timeout) override {
        const auto deadline = clock_type::now() + timeout;
        while (true) {
            if (auto r = buffer_.next()) return *r;
            if (!fill(deadline)) return {received::kind::timeout, {}, 0};
        }
    }

    bool silent_for(std::chrono::milliseconds quiet) override {
        const auto deadline = clock_type::now() + quiet;
        // Records without application data (session tickets) are not a reply: wait on.
        while (buffer_.pending.empty() && !buffer_.eof)
            if (!fill(deadline)) return true;
        return false;
    }

    tls_problem last_tls_problem() const override { return tls_problem_; }

    bool start_tls() override {
        // Bytes that came before the handshake are plaintext: reading them later as if they
        // came inside TLS is the STARTTLS injection flaw (RFC 2595 §4). Refuse.
        tls_problem_ = {tls_failure::plaintext_pending, {}};
        if (!buffer_.pending.empty()) return false;
        tls_problem_ = {};
        if (server_role_) return accept_tls();
        // pop3::net's client policy decides what is trusted, what name is checked and whether
        // it goes out as SNI; the handshake itself stays on this blocking socket.
        net::tls_client_options policy;
        policy.verify = tls_.verify;
        if (!tls_.ca_pem.empty())
            policy.ca_pem = tls_.ca_pem; // the embedded server's certificate: --ca is not used
        else
            policy.ca_file = tls_.ca_file;
        policy.server_name = tls_.server_name;
        try {
            ctx_.emplace(net::make_client_context(policy));
        } catch (const std::exception& e) {
            tls_problem_ = {tls_failure::certificate,
                            std::string("cannot load the trusted CAs (--ca): ") + e.what()};
            return false;
        }
        ssl_ = SSL_new(ctx_->native_handle());
        attach_socket(ssl_, fd_);
        if (const auto ec = net::prepare_client_ssl(ssl_, policy, host_)) {
            tls_problem_ = {tls_failure::certificate,
                            "cannot verify or send '" +
                                (tls_.server_name.empty() ? host_ : tls_.server_name) +
                                "' as the server name: " + ec.message()};
            SSL_free(ssl_);
            ssl_ = nullptr;
            return false;
        }
        // Blocking handshake bounded by the socket timeout.
        const bool ok = SSL_connect(ssl_) == 1;
        if (!ok) {
            const long verified = SSL_get_verify_result(ssl_);
            char why[256] = "";
            if (const unsigned long e = ERR_peek_last_error(); e != 0)
                ERR_error_string_n(e, why, sizeof why);
            if (tls_.verify && verified != X509_V_OK)
                tls_problem_ = {tls_failure::certificate,
                                std::string("certificate not verified: ") +
                                    X509_verify_cert_error_string(verified) +
                                    " (give the run --ca FILE, or --insecure)"};
            else
                tls_problem_ = {tls_failure::handshake, why};
            ERR_clear_error();
            SSL_free(ssl_);
            ssl_ = nullptr;
        }
        return ok;
    }

    void close_now() override {
        if (ssl_) SSL_shutdown(ssl_);
        ::shutdown(fd_, SHUT_RDWR);
    }
    bool was_reset() const override { return reset_; }

private:
    void release() noexcept {
        if (ssl_) SSL_free(ssl_);
        ctx_.reset();
        if (fd_ >= 0) ::close(fd_);
        ssl_ = nullptr;
        fd_ = -1;
    }

    // Every blocking call (a TLS record half read after poll, a send to a peer that does not
    // read, a handshake) is bounded by the step timeout.
    void set_timeouts() {
        timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }

    bool accept_tls() {
        try {
            ctx_.emplace(net::make_server_context({tls_.cert_pem, tls_.key_pem}));
        } catch (const std::exception&) {
            return false;
        }
        ssl_ = SSL_new(ctx_->native_handle());
        attach_socket(ssl_, fd_);
        const bool ok = SSL_accept(ssl_) == 1;
        if (!ok) {
            ERR_clear_error();
            SSL_free(ssl_);
            ssl_ = nullptr;
        }
        return ok;
    }

    // Reads more bytes before the deadline; false on timeout.
    bool fill(clock_type::time_point deadline) {
        if (buffer_.eof) return true;
        if (ssl_ && SSL_pending(ssl_) > 0) return read_some();
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        return read_some();
    }

    bool read_some() {
        char buf[65536];
        errno = 0;
        const long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
        const int read_errno = errno; // OpenSSL leaves the failed read's errno
        if (n > 0) {
            buffer_.pending.append(buf, static_cast<std::size_t>(n));
        } else if (ssl_ && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_WANT_READ) {
            return true; // TLS record not complete yet (or a post-handshake message)
        } else {
            reset_ = n < 0 && read_errno == ECONNRESET;
            buffer_.eof = true;
        }
        return true;
    }

    std::string host_;
    tls_settings tls_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    std::optional<boost::asio::ssl::context> ctx_;
    SSL* ssl_ = nullptr;
    line_buffer buffer_;
    bool reset_ = false;
    bool server_role_ = false;
    tls_problem tls_problem_;
};

class memory_connection final : public connection {
public:
    memory_connection(const mock::server_config& config, std::size_t chunk, bool implicit_tls)
        : driver_(config, {implicit_tls, true, "4242.1"}), chunk_(chunk) {
        buffer_.pending = driver_.start();
    }

    void send(std::string_view bytes) override {
        if (chunk_ == 0) {
            buffer_.pending += driver_.send(bytes);
            return;
        }
        for (std::size_t i = 0; i < bytes.size(); i += chunk_)
            buffer_.pending += driver_.send(bytes.substr(i, chunk_));
    }

    received read_line(std::chrono::milliseconds) override {
        buffer_.eof = driver_.closed();
        if (auto r = buffer_.next()) return *r;
        // The session waits for input (or hangs): nothing more will come without sending.
        return {received::kind::timeout, {}, 0};
    }

    bool silent_for(std::chrono::milliseconds) override {
        return buffer_.pending.empty() && !driver_.closed();
    }

    void close_now() override { driver_.disconnect(); }

    bool start_tls() override {
        if (!buffer_.pending.empty()) {
            problem_ = {tls_failure::plaintext_pending, {}};
            return false;
        }
        if (!driver_.tls_requested()) {
            problem_ = {tls_failure::handshake, "the session did not accept STLS"};
            return false;
        }
        problem_ = {};
        buffer_.pending += driver_.complete_tls();
        return true;
    }
    tls_problem last_tls_problem() const override { return problem_; }

private:
    mock::memory_driver driver_;
    std::size_t chunk_;
    line_buffer buffer_;
    tls_problem problem_;
};

// Two byte queues between the client under test's thread and the runner's.
struct pipe_state {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::string> to_client; // pieces, each delivered by one read
    std::string to_runner;
    bool closed = false;
};

class pipe_client_end final : public client_transport {
public:
    explicit pipe_client_end(std::shared_ptr<pipe_state> s) : s_(std::move(s)) {}
    ~pipe_client_end() override { close(); }

    std::error_code write(std::string_view data, std::chrono::milliseconds) override {
        std::lock_guard g(s_->mutex);
        if (s_->closed) return std::make_error_code(std::errc::broken_pipe);
        s_->to_runner.append(data);
        s_->changed.notify_all();
        return {};
    }
    std::error_code read(std::span<char> into, std::size_t& n,
                         std::chrono::milliseconds timeout) override {
        std::unique_lock g(s_->mutex);
        n = 0;
        if (!s_->changed.wait_for(g, timeout, [&] { return !s_->to_client.empty() || s_->closed; }))
            return client_error::timeout;
        if (s_->to_client.empty()) return {}; // closed: end of stream
        auto& piece = s_->to_client.front();
        n = std::min(piece.size(), into.size());
        std::memcpy(into.data(), piece.data(), n);
        piece.erase(0, n);
        if (piece.empty()) s_->to_client.pop_front();
        return {};
    }
    void close() noexcept override {
        std::lock_guard g(s_->mutex);
        s_->closed = true;
        s_->changed.notify_all();
    }

private:
    std::shared_ptr<pipe_state> s_;
};

class pipe_runner_end final : public connection {
public:
    pipe_runner_end(std::shared_ptr<pipe_state> s, std::size_t chunk)
        : s_(std::move(s)), chunk_(chunk) {}
    ~pipe_runner_end() override { close_now(); }

    void send(std::string_view bytes) override {
        std::lock_guard g(s_->mutex);
        if (s_->closed) return;
        const std::size_t step = chunk_ ? chunk_ : std::max<std::size_t>(bytes.size(), 1);
        for (std::size_t i = 0; i < bytes.size(); i += step)
            s_->to_client.emplace_back(bytes.substr(i, step));
        s_->changed.notify_all();
    }
    received read_line(std::chrono::milliseconds timeout) override {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::unique_lock g(s_->mutex);
        while (true) {
            buffer_.pending += std::exchange(s_->to_runner, {});
            buffer_.eof = s_->closed;
            if (auto r = buffer_.next()) return *r;
            if (!s_->changed.wait_until(g, deadline,
                                        [&] { return !s_->to_runner.empty() || s_->closed; }))
                return {received::kind::timeout, {}, 0};
        }
    }
    bool start_tls() override { return false; } // plaintext only: TLS cases run over sockets
    bool silent_for(std::chrono::milliseconds quiet) override {
        std::unique_lock g(s_->mutex);
        if (!buffer_.pending.empty()) return false;
        s_->changed.wait_for(g, quiet, [&] { return !s_->to_runner.empty() || s_->closed; });
        return s_->to_runner.empty() && !s_->closed;
    }
    void close_now() override {
        std::lock_guard g(s_->mutex);
        s_->closed = true;
        s_->changed.notify_all();
    }

private:
    std::shared_ptr<pipe_state> s_;
    std::size_t chunk_;
    line_buffer buffer_;
};

} // namespace

std::pair<std::unique_ptr<client_transport>, std::unique_ptr<connection>>
memory_pipe(std::size_t chunk) {
    auto state = std::make_shared<pipe_state>();
    return {std::make_unique<pipe_client_end>(state),
            std::make_unique<pipe_runner_end>(state, chunk)};
}

std::unique_ptr<connection> connect_socket(const std::string& host, std::uint16_t port,
                                           bool implicit_tls, const tls_settings& tls,
                                           std::chrono::milliseconds timeout) {
    return std::make_unique<socket_connection>(host, port, implicit_tls, tls, timeout);
}

listener::listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0)
        throw std::runtime_error("cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

listener::~listener() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<connection> listener::accept(const tls_settings& tls,
                                             std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return nullptr;
    const int fd = ::accept(fd_, nullptr, nullptr);
    if (fd < 0) return nullptr;
    return std::make_unique<socket_connection>(fd, tls, timeout);
}

std::unique_ptr<connection> connect_memory(const mock::server_config& config, std::size_t chunk,
                                           bool implicit_tls) {
    return std::make_unique<memory_connection>(config, chunk, implicit_tls);
}

} // namespace pop3::conformance
