#include "pop3/net/tls_client.hpp"

#include <arpa/inet.h>
#include <boost/asio/ssl/error.hpp>
#include <boost/system/system_error.hpp>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <string>

namespace pop3::net {

boost::asio::ssl::context make_client_context(const tls_client_options& options) {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        throw boost::system::system_error(
            boost::system::error_code(static_cast<int>(ERR_get_error()),
                                      boost::asio::error::get_ssl_category()),
            "SSL_CTX_set_min_proto_version");
    if (options.verify) {
        ctx.set_verify_mode(ssl::verify_peer);
        if (!options.ca_pem.empty())
            ctx.add_certificate_authority(boost::asio::buffer(options.ca_pem));
        if (!options.ca_file.empty()) ctx.load_verify_file(options.ca_file);
        if (!options.ca_dir.empty()) ctx.add_verify_path(options.ca_dir);
        if (options.ca_pem.empty() && options.ca_file.empty() && options.ca_dir.empty())
            ctx.set_default_verify_paths();
    } else {
        ctx.set_verify_mode(ssl::verify_none);
    }
    if (!options.cert_file.empty()) ctx.use_certificate_chain_file(options.cert_file);
    if (!options.key_file.empty()) ctx.use_private_key_file(options.key_file, ssl::context::pem);
    return ctx;
}

bool is_ip_literal(std::string_view host) {
    if (host.empty() || host.size() >= INET6_ADDRSTRLEN || host.find('\0') != host.npos)
        return false;
    const std::string text(host);
    unsigned char address[sizeof(in6_addr)];
    return inet_pton(AF_INET, text.c_str(), address) == 1 ||
           inet_pton(AF_INET6, text.c_str(), address) == 1;
}

std::error_code prepare_client_ssl(SSL* ssl, const tls_client_options& options,
                                   std::string_view host) {
    const auto refused = std::make_error_code(std::errc::invalid_argument);
    const std::string name(options.server_name.empty() ? host : options.server_name);
    if (name.find('\0') != name.npos) return refused;
    const bool ip = is_ip_literal(name);
    // SNI names a host (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted").
    if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return refused;
    if (!options.verify) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return {};
    }
    // An empty name would turn the name check off: never verify a chain without a name.
    if (name.empty()) return refused;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) return refused;
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, name.data(), name.size()) != 1) return refused;
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    return {};
}

} // namespace pop3::net
