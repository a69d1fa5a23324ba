#include "pop3/net/tls_client.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <optional>
#include <pop3/net/tls.hpp>
#include <string>

// The one TLS client policy, tested once for every client that uses it (the client library,
// pop3-load, the conformance runner, the test helpers): a TLS server on 127.0.0.1 (ephemeral
// port) in the test's own io_context, each handshake bounded in time.

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using pop3::net::pem_identity;
using pop3::net::tls_client_options;

struct handshake_result {
    std::optional<boost::system::error_code> client; // the client's handshake, when it ended
    std::optional<boost::system::error_code> server; // the server's
    long verify_result = X509_V_OK;                  // the client's certificate check
    bool hello_seen = false;                         // the server read a ClientHello
    std::optional<std::string> sni;                  // the server name it carried, if any

    bool connected() const { return client && !*client && server && !*server; }
};

int record_sni(SSL* ssl, int*, void* arg) {
    auto& r = *static_cast<handshake_result*>(arg);
    r.hello_seen = true;
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r.sni = name;
    return SSL_TLSEXT_ERR_OK;
}

// One TLS handshake: a server with `id` (its context adjusted by `adjust`), a client made by
// the policy from `options` for `host`. Both sides run in one io_context for at most 10 s.
handshake_result handshake(const pem_identity& id, const tls_client_options& options,
                           const std::string& host,
                           const std::function<void(ssl::context&)>& adjust = {}) {
    handshake_result r;
    asio::io_context ioc;
    auto server_ctx = pop3::net::make_server_context(id);
    SSL_CTX_set_tlsext_servername_callback(server_ctx.native_handle(), record_sni);
    SSL_CTX_set_tlsext_servername_arg(server_ctx.native_handle(), &r);
    if (adjust) adjust(server_ctx);
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    ssl::stream<tcp::socket> server(ioc, server_ctx);
    acceptor.async_accept(server.next_layer(), [&](boost::system::error_code ec) {
        if (ec) {
            r.server = ec;
            return;
        }
        server.async_handshake(ssl::stream_base::server,
                               [&](boost::system::error_code hec) { r.server = hec; });
    });

    auto client_ctx = pop3::net::make_client_context(options);
    ssl::stream<tcp::socket> client(ioc, client_ctx);
    const auto prepared = pop3::net::prepare_client_ssl(client.native_handle(), options, host);
    REQUIRE_FALSE(prepared);
    client.next_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
        if (ec) {
            r.client = ec;
            return;
        }
        client.async_handshake(ssl::stream_base::client, [&](boost::system::error_code hec) {
            r.client = hec;
            r.verify_result = SSL_get_verify_result(client.native_handle());
            boost::system::error_code ignored;
            if (hec) client.next_layer().close(ignored); // the server's handshake ends too
        });
    });
    ioc.run_for(10s);
    REQUIRE(r.client); // never hangs: the handshake ended within the bound
    return r;
}

pem_identity localhost_identity() {
    return pop3::net::make_self_signed(); // CN and DNS:localhost, IP:127.0.0.1
}

tls_client_options trusting(const pem_identity& id) {
    tls_client_options o;
    o.ca_pem = id.certificate;
    return o;
}

tls_client_options insecure() {
    tls_client_options o;
    o.verify = false;
    return o;
}

pem_identity named(const std::string& name) {
    pop3::net::self_signed_options o;
    o.localhost_names = false;
    return pop3::net::make_self_signed(name, o);
}

pem_identity expired() {
    pop3::net::self_signed_options o;
    o.not_before_seconds = -2 * 24 * 3600;
    o.not_after_seconds = -24 * 3600;
    return pop3::net::make_self_signed("localhost", o);
}

} // namespace

TEST_CASE("net tls client: the right DNS name verifies and is sent as SNI") {
    const auto id = localhost_identity();
    const auto r = handshake(id, trusting(id), "localhost");
    CHECK(r.connected());
    CHECK(r.verify_result == X509_V_OK);
    CHECK(r.sni == "localhost");
}

TEST_CASE("net tls client: a wrong name fails") {
    const auto id = localhost_identity();
    SECTION("the host") {
        const auto r = handshake(id, trusting(id), "wrong.example");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
        CHECK(r.sni == "wrong.example");
    }
    SECTION("server_name overrides the host, for the check and for SNI") {
        auto o = trusting(id);
        o.server_name = "wrong.example";
        auto r = handshake(id, o, "localhost");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
        CHECK(r.sni == "wrong.example");
        o.server_name = "localhost";
        r = handshake(id, o, "wrong.example");
        CHECK(r.connected());
        CHECK(r.sni == "localhost");
    }
    SECTION("no partial wildcards") {
        const auto partial = named("f*.example.com");
        CHECK(handshake(partial, trusting(partial), "foo.example.com").verify_result ==
              X509_V_ERR_HOSTNAME_MISMATCH);
        const auto whole = named("*.example.com");
        CHECK(handshake(whole, trusting(whole), "foo.example.com").connected());
    }
}

TEST_CASE("net tls client: an IP address is verified against the IP in subjectAltName") {
    const auto id = localhost_identity();
    SECTION("127.0.0.1 is in the SAN: verified, and no SNI (RFC 6066)") {
        const auto r = handshake(id, trusting(id), "127.0.0.1");
        CHECK(r.connected());
        CHECK(r.verify_result == X509_V_OK);
        CHECK(r.hello_seen);
        CHECK_FALSE(r.sni);
    }
    SECTION("another address fails") {
        const auto r = handshake(id, trusting(id), "::1");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH);
        CHECK_FALSE(r.sni);
    }
    SECTION("the address as a DNS name does not count: it is checked as an IP") {
        const auto as_name = named("127.0.0.1"); // CN and DNS:127.0.0.1, no IP entry
        const auto r = handshake(as_name, trusting(as_name), "127.0.0.1");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_IP_ADDRESS_MISMATCH);
    }
}

TEST_CASE("net tls client: an expired certificate fails") {
    const auto id = expired();
    const auto r = handshake(id, trusting(id), "localhost");
    CHECK_FALSE(r.connected());
    CHECK(r.verify_result == X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("net tls client: a self-signed certificate not given as CA fails") {
    const auto id = localhost_identity();
    SECTION("the system store (no CA given)") {
        const auto r = handshake(id, tls_client_options{}, "localhost");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    }
    SECTION("another CA given") {
        const auto r = handshake(id, trusting(localhost_identity()), "localhost");
        CHECK_FALSE(r.connected());
        CHECK(r.verify_result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    }
}

TEST_CASE("net tls client: insecure (verify off) connects to all, still sending SNI") {
    const auto plain = localhost_identity();
    const auto no_names = named("elsewhere.example");
    const auto old = expired();
    for (const auto* id : {&plain, &no_names, &old}) {
        for (const std::string host : {"localhost", "wrong.example", "127.0.0.1", "::1"}) {
            INFO("host " << host);
            const auto r = handshake(*id, insecure(), host);
            CHECK(r.connected());
            if (host.find('.') != std::string::npos && host != "127.0.0.1") CHECK(r.sni == host);
        }
    }
    // An untrusted CA given alongside verify = false is not even loaded.
    auto o = insecure();
    o.ca_file = "/nonexistent/ca.pem";
    o.ca_pem = "not PEM";
    CHECK(handshake(old, o, "localhost").connected());
}

TEST_CASE("net tls client: the context: TLS 1.2 or later, CA from a file or a directory") {
    const auto id = localhost_identity();
    pop3::test::temp_dir d;
    SECTION("TLS 1.2 is the least version") {
        auto ctx = pop3::net::make_client_context(tls_client_options{});
        CHECK(SSL_CTX_get_min_proto_version(ctx.native_handle()) == TLS1_2_VERSION);
        CHECK((SSL_CTX_get_options(ctx.native_handle()) & SSL_OP_NO_TLSv1_1) != 0);
    }
    SECTION("ca_file") {
        tls_client_options o;
        o.ca_file = d.write("ca.pem", id.certificate).string();
        CHECK(handshake(id, o, "localhost").connected());
    }
    SECTION("ca_dir, hashed") {
        BIO* bio = BIO_new_mem_buf(id.certificate.data(), static_cast<int>(id.certificate.size()));
        X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        REQUIRE(cert);
        char hashed[32];
        std::snprintf(hashed, sizeof hashed, "%08lx.0", X509_subject_name_hash(cert));
        X509_free(cert);
        d.write(std::string("certs/") + hashed, id.certificate);
        tls_client_options o;
        o.ca_dir = (d.path / "certs").string();
        CHECK(handshake(id, o, "localhost").connected());
    }
    SECTION("a CA that cannot be loaded throws") {
        tls_client_options o;
        o.ca_file = (d.path / "missing.pem").string();
        CHECK_THROWS_AS(pop3::net::make_client_context(o), boost::system::system_error);
        o.ca_file.clear();
        o.ca_pem = "not PEM";
        CHECK_THROWS_AS(pop3::net::make_client_context(o), boost::system::system_error);
    }
    SECTION("a client certificate and key") {
        const auto client_id = pop3::net::make_self_signed("client.example");
        auto require_client_cert = [&](ssl::context& ctx) {
            ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
            ctx.add_certificate_authority(asio::buffer(client_id.certificate));
        };
        auto o = trusting(id);
        CHECK_FALSE(handshake(id, o, "localhost", require_client_cert).connected());
        o.cert_file = d.write("client.pem", client_id.certificate).string();
        o.key_file = d.write("client.key", client_id.private_key).string();
        CHECK(handshake(id, o, "localhost", require_client_cert).connected());
        o.key_file = (d.path / "missing.key").string();
        CHECK_THROWS_AS(pop3::net::make_client_context(o), boost::system::system_error);
    }
}

TEST_CASE("net tls client: a name that cannot be checked or sent is refused") {
    auto ctx = pop3::net::make_client_context(insecure());
    auto check = [&](const tls_client_options& o, std::string_view host) {
        SSL* ssl = SSL_new(ctx.native_handle());
        const auto ec = pop3::net::prepare_client_ssl(ssl, o, host);
        SSL_free(ssl);
        return ec;
    };
    const tls_client_options verify;
    const auto refused = std::make_error_code(std::errc::invalid_argument);
    CHECK(check(verify, "") == refused); // no name would mean no name check
    CHECK(check(verify, std::string_view("localhost\0.evil.example", 23)) == refused);
    CHECK(check(verify, std::string(300, 'a')) == refused); // longer than SNI allows
    CHECK_FALSE(check(verify, "localhost"));
    CHECK_FALSE(check(verify, "::1"));
    CHECK_FALSE(check(insecure(), "")); // nothing to check, nothing to send
    auto named_elsewhere = verify;
    named_elsewhere.server_name = "localhost";
    CHECK_FALSE(check(named_elsewhere, "")); // server_name stands for the host
}

TEST_CASE("net tls client: IP literals") {
    using pop3::net::is_ip_literal;
    CHECK(is_ip_literal("127.0.0.1"));
    CHECK(is_ip_literal("::1"));
    CHECK(is_ip_literal("2001:db8::1"));
    CHECK(is_ip_literal("::ffff:127.0.0.1"));
    CHECK_FALSE(is_ip_literal("localhost"));
    CHECK_FALSE(is_ip_literal(""));
    CHECK_FALSE(is_ip_literal("127.1")); // a resolver's shorthand, not an address literal
    CHECK_FALSE(is_ip_literal("[::1]"));
    CHECK_FALSE(is_ip_literal("fe80::1%eth0"));
    CHECK_FALSE(is_ip_literal(std::string_view("127.0.0.1\0x", 11)));
    CHECK_FALSE(is_ip_literal("1.2.3.4.example"));
}
