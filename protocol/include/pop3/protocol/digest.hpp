// Digests and MACs for APOP, CRAM-MD5 and SCRAM (OpenSSL 3 libcrypto), on raw byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pop3 {

// Results are raw bytes in a std::string so that they chain directly into further HMACs,
// XORs and base64 (as SCRAM needs). These are not parse paths: if libcrypto refuses an
// algorithm (e.g. MD5 under a FIPS-only provider) they throw std::runtime_error rather than
// return a digest that could be mistaken for a real one.

// Lowercase hexadecimal rendering of `bytes`.
std::string to_hex(std::string_view bytes);

std::string md5(std::string_view data);     // 16 raw bytes
std::string md5_hex(std::string_view data); // 32 lowercase hex digits
std::string hmac_md5(std::string_view key, std::string_view data);
std::string hmac_md5_hex(std::string_view key, std::string_view data);

std::string sha256(std::string_view data); // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);
// PBKDF2-HMAC-SHA-256 (RFC 8018), `length` bytes of output. Throws std::invalid_argument if
// `iterations` is 0 or exceeds INT_MAX; callers must cap server-chosen counts themselves.
std::string pbkdf2_sha256(std::string_view password, std::string_view salt,
                          std::uint32_t iterations, std::size_t length = 32);

// Compares in time independent of where the contents differ (only the lengths leak).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace pop3
