// TLS set-up for servers (the mock server, the conformance runner playing the server, tests):
// contexts from files, and an ephemeral self-signed certificate for servers that were given
// none. The client side is tls_client.hpp.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <string>

namespace pop3::net {

// A certificate and its private key, PEM-encoded.
struct pem_identity {
    std::string certificate;
    std::string private_key;
};

// Generates a self-signed P-256 certificate for `common_name`, valid for a day, with
// subjectAltName DNS:localhost and IP:127.0.0.1, so clients can verify it when given it as CA.
pem_identity make_self_signed(const std::string& common_name = "localhost");

// Certificates that clients must refuse, for testing them (client conformance).
struct self_signed_options {
    bool localhost_names = true;        // subjectAltName DNS:localhost and IP:127.0.0.1
    long not_before_seconds = -3600;    // from now
    long not_after_seconds = 24 * 3600; // from now: negative for an expired certificate
};
pem_identity make_self_signed(const std::string& common_name, const self_signed_options& options);

// A server context (TLS 1.2 and later) using the identity. Throws on bad PEM.
boost::asio::ssl::context make_server_context(const pem_identity& id);
// Reads the certificate and key files; throws std::runtime_error naming the file on failure.
pem_identity load_identity(const std::filesystem::path& cert, const std::filesystem::path& key);

} // namespace pop3::net
