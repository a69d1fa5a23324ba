// The mock server over sockets: Asio listeners (plain with STLS, and implicit TLS) that run one
// sans-I/O session per connection, carrying out its actions and the scenario's delivery faults.
// Embeddable: start on port 0, read the port, stop; several servers may run in one process.
#pragma once

#include "pop3/mockserver/config.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <pop3/net/tls.hpp>
#include <string>
#include <string_view>

namespace pop3::mock {

// Watches every connection of a server (the client-conformance runner, tests): what each side
// sent, when, and whether inside TLS. Called on the connection's I/O thread (from several at
// once when the server runs several threads); `session` numbers the connections from 1.
class connection_observer {
public:
    virtual ~connection_observer() = default;
    virtual void opened(std::uint64_t session, bool implicit_tls) = 0;
    virtual void client_bytes(std::uint64_t session, std::string_view bytes, bool tls) = 0;
    // Bytes written; `replies_ended` replies ended with them (0: a reply goes on), followed by
    // `unsolicited` octets that answer nothing (a scenario's response injection).
    virtual void server_bytes(std::uint64_t session, std::string_view bytes, bool tls,
                              std::size_t replies_ended, std::size_t unsolicited) = 0;
    virtual void tls_started(std::uint64_t session, bool ok) = 0;
    // With hold_reply_end: the client sent bytes while the last octet of a reply was held back,
    // i.e. before the reply ended.
    virtual void early_bytes(std::uint64_t session) = 0;
    virtual void closed(std::uint64_t session, std::string_view reason) = 0;
};

struct server_options {
    std::string listen = "127.0.0.1:0";        // plain listener, HOST:PORT (0 = ephemeral)
    std::optional<std::string> tls_listen;     // implicit-TLS listener (POP3S)
    bool starttls = true;                      // offer STLS on the plain listener
    std::optional<net::pem_identity> identity; // certificate and key; ephemeral when unset
    unsigned threads = 0;                      // 0: one per core
    // One line per session event (connect, TLS, hang, close and why); nullptr: silent.
    std::function<void(std::string_view)> log;
    // Write each session as a transcript file into this folder.
    std::optional<std::filesystem::path> record_dir;
    bool mask_credentials = true; // in recordings and logs
    std::shared_ptr<connection_observer> observer;
    // Lock-step checking: hold back the last octet of every reply this long, so that a client
    // command sent before the reply ended is seen as such (connection_observer::early_bytes).
    std::chrono::milliseconds hold_reply_end{0};
};

class server {
public:
    explicit server(server_config config, server_options options = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds the listeners and starts serving on background threads. Throws std::runtime_error
    // when an address cannot be parsed or bound.
    void start();
    // Closes the listeners and every connection, and joins the threads. Idempotent.
    void stop();

    std::uint16_t port() const;
    std::optional<std::uint16_t> tls_port() const;
    // The certificate clients must trust (PEM), e.g. the ephemeral one.
    const net::pem_identity& identity() const;
    const server_config& config() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// "127.0.0.1:110", "[::1]:0" -> host and port; throws std::invalid_argument with the reason.
std::pair<std::string, std::uint16_t> parse_host_port(std::string_view text);

} // namespace pop3::mock
