// The one TLS client policy: the context every client of pop3kit makes from
// tls_client_options, and the one function that decides, for each connection, which name is
// verified and whether it is sent as SNI. Certificate checking lives here and nowhere else.
#pragma once

#include "pop3/net/tls_client_options.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <string_view>
#include <system_error>

namespace pop3::net {

// A client context: TLS 1.2 or later. With `verify`, the peer's chain is verified against
// ca_pem, ca_file and ca_dir (each one given), or against the system's default paths when none
// is given; without it, nothing is verified and no CA is loaded. cert_file and key_file, when
// given, are the client's identity. Throws boost::system::system_error on a CA, certificate or
// key that cannot be loaded.
boost::asio::ssl::context make_client_context(const tls_client_options& options);

// True when `host` is an IPv4 or IPv6 address literal ("127.0.0.1", "::1"), not a DNS name.
// A scoped IPv6 address ("fe80::1%eth0") is not one.
bool is_ip_literal(std::string_view host);

// Prepares a client connection (an SSL handle from a make_client_context context, before its
// handshake; for an Asio stream, its native_handle()) to `host`, or to options.server_name
// when that is set. A DNS name is sent as SNI; an IP literal is not. With options.verify, the
// certificate must match the name (no partial wildcards) or, for an IP literal, carry it as an
// IP address in its subjectAltName, and the handle verifies the peer. Fails closed:
// invalid_argument, and the handle must not be used, for a name that cannot be checked or sent
// (empty while verifying, holding NUL, or longer than SNI allows).
std::error_code prepare_client_ssl(SSL* ssl, const tls_client_options& options,
                                   std::string_view host);

} // namespace pop3::net
