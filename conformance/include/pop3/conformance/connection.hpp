// What a transcript replay talks to: a server under test, over a socket (plain or TLS) or in
// memory (pop3kit's mock-server session through its memory_driver).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <pop3/client/client.hpp>
#include <pop3/mockserver/memory_driver.hpp>
#include <string>
#include <string_view>

namespace pop3::conformance {

struct received {
    enum class kind : std::uint8_t { line, eof, timeout, bad_line };
    kind what = kind::line;
    std::string line;            // without its CRLF
    std::uint8_t deviations = 0; // line_deviation bits (bare LF, NUL, ...)
};

// Why the last start_tls() failed. plaintext_pending: the peer sent bytes before the handshake
// (its doing); certificate: the runner could not verify the peer's certificate (the run's
// --ca or --insecure); handshake: the handshake itself failed.
enum class tls_failure : std::uint8_t { none, plaintext_pending, certificate, handshake };

struct tls_problem {
    tls_failure kind = tls_failure::none;
    std::string detail; // OpenSSL's words, when it gave any
};

class connection {
public:
    virtual ~connection() = default;
    virtual void send(std::string_view bytes) = 0;
    virtual received read_line(std::chrono::milliseconds timeout) = 0;
    // TLS client handshake (verifying unless the target said --insecure). False on failure.
    virtual bool start_tls() = 0;
    // Why the last start_tls() returned false.
    virtual tls_problem last_tls_problem() const { return {tls_failure::handshake, {}}; }
    // True when no byte arrives within `quiet`.
    virtual bool silent_for(std::chrono::milliseconds quiet) = 0;
    // Hangs up now (the runner's side closes).
    virtual void close_now() = 0;
    // Whether the connection ended by a reset (ECONNRESET) rather than an orderly close. A peer
    // that closes with bytes of ours unread resets the connection, and the reset makes this
    // side's kernel drop what the peer had sent and this side had not read yet: what came
    // before it may be cut short without the peer having cut it.
    virtual bool was_reset() const { return false; }
};

struct tls_settings {
    bool verify = true;
    std::string ca_file;           // PEM file of trusted CAs; empty: the system store
    std::string ca_pem;            // trusted CA in memory (the embedded server's certificate)
    std::string server_name;       // to verify; default: the host
    std::string cert_pem, key_pem; // the runner's identity when it plays the server
};

// The client direction without sockets: the client under test's transport and the runner's
// connection, joined in memory. What the runner sends reaches the client in pieces of `chunk`
// octets (0: each send whole), so every split of the server's bytes can be replayed.
std::pair<std::unique_ptr<client_transport>, std::unique_ptr<connection>>
memory_pipe(std::size_t chunk);

// The client direction: the runner listens on 127.0.0.1 (ephemeral port) for the client under
// test, and plays the server on the accepted connection.
class listener {
public:
    listener();
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;
    std::uint16_t port() const noexcept { return port_; }
    // nullptr when no client connects within `timeout`.
    std::unique_ptr<connection> accept(const tls_settings& tls, std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A TCP connection to host:port; `implicit_tls` starts with a handshake. Throws
// std::runtime_error when it cannot connect.
std::unique_ptr<connection> connect_socket(const std::string& host, std::uint16_t port,
                                           bool implicit_tls, const tls_settings& tls,
                                           std::chrono::milliseconds timeout);

// The mock server's session in memory. `chunk` > 0 splits every write into pieces of that
// size (the split-point replay); 0 sends each write whole.
// `implicit_tls` starts the session as if on the POP3S port.
std::unique_ptr<connection> connect_memory(const mock::server_config& config, std::size_t chunk = 0,
                                           bool implicit_tls = false);

} // namespace pop3::conformance
