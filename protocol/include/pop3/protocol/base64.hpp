// Strict RFC 4648 base64 (standard alphabet, padded), as SASL exchanges carry it (RFC 5034).
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

// Encodes with the standard alphabet and '=' padding, no line breaks.
std::string base64_encode(std::string_view bytes);

// Decodes `in` into `out` (replacing its contents). Strict on purpose, unlike OpenSSL's
// EVP_DecodeBlock: any byte outside the alphabet (whitespace and CR/LF included), a length that
// is not a multiple of 4, '=' anywhere but the last one or two positions, and non-zero pad bits
// are all refused with error::bad_base64, so each encoding has exactly one accepted form.
// Empty input decodes to empty. On failure `out` is cleared and false returned.
bool base64_decode(std::string_view in, std::string& out, std::error_code& ec);

} // namespace pop3
