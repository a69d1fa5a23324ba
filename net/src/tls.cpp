#include "pop3/net/tls.hpp"

#include <fstream>
#include <memory>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sstream>
#include <stdexcept>

namespace pop3::net {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("TLS: ") + what + " failed");
}

std::string bio_string(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error(p.string() + ": cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

} // namespace

pem_identity make_self_signed(const std::string& common_name) {
    return make_self_signed(common_name, self_signed_options{});
}

pem_identity make_self_signed(const std::string& common_name, const self_signed_options& options) {
    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "EVP_EC_gen");
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), options.not_before_seconds);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), options.not_after_seconds);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("pop3kit test"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    const std::string own = common_name == "localhost" ? "" : "DNS:" + common_name;
    const std::string local = options.localhost_names ? "DNS:localhost,IP:127.0.0.1" : "";
    add_extension(cert.get(), NID_subject_alt_name,
                  (own + (own.empty() || local.empty() ? "" : ",") + local).c_str());
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");

    pem_identity id;
    bio_ptr cert_bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
    id.certificate = bio_string(cert_bio.get());
    bio_ptr key_bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                   nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    id.private_key = bio_string(key_bio.get());
    return id;
}

boost::asio::ssl::context make_server_context(const pem_identity& id) {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain(boost::asio::buffer(id.certificate));
    ctx.use_private_key(boost::asio::buffer(id.private_key), ssl::context::pem);
    return ctx;
}

pem_identity load_identity(const std::filesystem::path& cert, const std::filesystem::path& key) {
    return {read_file(cert), read_file(key)};
}

} // namespace pop3::net
