#include "pop3/protocol/digest.hpp"

#include <climits>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdexcept>

namespace pop3 {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("pop3: OpenSSL ") + what + " failed");
}

const unsigned char* bytes_of(std::string_view s) noexcept {
    // OpenSSL may treat a null pointer as "no key"; an empty view can carry one.
    static const unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string digest(const EVP_MD* md, std::string_view data, const char* name) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (md == nullptr || EVP_Digest(bytes_of(data), data.size(), out, &len, md, nullptr) != 1)
        fail(name);
    return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data, const char* name) {
    if (key.size() > INT_MAX) throw std::invalid_argument("pop3: HMAC key too long");
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (md == nullptr || HMAC(md, bytes_of(key), static_cast<int>(key.size()), bytes_of(data),
                              data.size(), out, &len) == nullptr)
        fail(name);
    return std::string(reinterpret_cast<const char*>(out), len);
}

} // namespace

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out += digits[c >> 4];
        out += digits[c & 0x0f];
    }
    return out;
}

std::string md5(std::string_view data) {
    return digest(EVP_md5(), data, "MD5");
}
std::string md5_hex(std::string_view data) {
    return to_hex(md5(data));
}

std::string hmac_md5(std::string_view key, std::string_view data) {
    return hmac(EVP_md5(), key, data, "HMAC-MD5");
}
std::string hmac_md5_hex(std::string_view key, std::string_view data) {
    return to_hex(hmac_md5(key, data));
}

std::string sha256(std::string_view data) {
    return digest(EVP_sha256(), data, "SHA-256");
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    return hmac(EVP_sha256(), key, data, "HMAC-SHA-256");
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt,
                          std::uint32_t iterations, std::size_t length) {
    if (iterations == 0 || iterations > INT_MAX)
        throw std::invalid_argument("pop3: PBKDF2 iteration count out of range");
    if (password.size() > INT_MAX || salt.size() > INT_MAX || length == 0 || length > INT_MAX)
        throw std::invalid_argument("pop3: PBKDF2 argument too long");
    std::string out(length, '\0');
    if (PKCS5_PBKDF2_HMAC(password.empty() ? "" : password.data(),
                          static_cast<int>(password.size()), bytes_of(salt),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                          static_cast<int>(length),
                          reinterpret_cast<unsigned char*>(out.data())) != 1)
        fail("PBKDF2-HMAC-SHA-256");
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace pop3
