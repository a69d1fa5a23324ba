// What a TLS client trusts and shows: the options every client of pop3kit (the client library,
// pop3-load, the conformance runner, the test helpers) gives pop3::net's one client policy
// (tls_client.hpp). Plain data, no Asio or OpenSSL, so that public headers can hold it.
#pragma once

#include <string>

namespace pop3::net {

struct tls_client_options {
    bool verify = true;      // certificate chain and host name: on unless turned off
    std::string ca_file;     // PEM file of trusted CAs (default: the system store)
    std::string ca_dir;      // hashed CA directory
    std::string ca_pem;      // trusted CA certificate(s) in memory
    std::string cert_file;   // client certificate chain (PEM)
    std::string key_file;    // client private key (PEM)
    std::string server_name; // name to verify and send as SNI; default: the host connected to
};

} // namespace pop3::net
