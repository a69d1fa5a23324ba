// pop3::client_error — how a client operation fails beyond what the protocol core finds in the
// bytes: a -ERR, a refused STLS, a timeout, a closed or unusable connection. Its own category
// ("pop3.client"), beside the protocol core's pop3::error, as Beast keeps stream errors apart
// from parser errors. I/O failures keep their Asio, OpenSSL or system codes.
#pragma once

#include <system_error>

namespace pop3 {

// Starts at 1 so that a default-constructed error_code always means success.
enum class client_error {
    server_error = 1,     // the server answered -ERR (poplib's error_proto)
    connection_unusable,  // an earlier error left the connection out of step: reconnect
    stls_unavailable,     // STLS not advertised or refused: never goes on in plaintext
    tls_already_active,   // STLS on a connection that already runs TLS
    plaintext_after_stls, // bytes after the STLS +OK before the handshake (CVE-2021-22947)
    connection_closed,    // the server closed the connection
    timeout,              // an operation ran out of time
    reply_too_large,      // a reply kept in memory grew past its configured limit

    last = reply_too_large, // keep equal to the last enumerator
};

const std::error_category& client_error_category() noexcept;

inline std::error_code make_error_code(client_error e) noexcept {
    return {static_cast<int>(e), client_error_category()};
}

} // namespace pop3

template <>
struct std::is_error_code_enum<pop3::client_error> : std::true_type {};
