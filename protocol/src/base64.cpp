#include "pop3/protocol/base64.hpp"

#include "pop3/protocol/error.hpp"

#include <array>
#include <cstdint>

namespace pop3 {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::int8_t invalid = -1;

constexpr std::array<std::int8_t, 256> decode_table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(invalid);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}();

// Sextet value of `c`, or invalid ('=' included: the caller handles padding).
constexpr int sextet(char c) noexcept {
    return decode_table[static_cast<unsigned char>(c)];
}

} // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[v >> 18 & 0x3f];
        out += alphabet[v >> 12 & 0x3f];
        out += alphabet[v >> 6 & 0x3f];
        out += alphabet[v & 0x3f];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = byte(i) << 16;
        out += alphabet[v >> 18 & 0x3f];
        out += alphabet[v >> 12 & 0x3f];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
        out += alphabet[v >> 18 & 0x3f];
        out += alphabet[v >> 12 & 0x3f];
        out += alphabet[v >> 6 & 0x3f];
        out += '=';
    }
    return out;
}

bool base64_decode(std::string_view in, std::string& out, std::error_code& ec) {
    out.clear();
    ec.clear();
    auto fail = [&] {
        out.clear();
        ec = error::bad_base64;
        return false;
    };
    if (in.size() % 4 != 0) return fail();
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const int a = sextet(in[i]);
        const int b = sextet(in[i + 1]);
        if (a == invalid || b == invalid) return fail();
        // Padding is allowed only in the final quantum, as "xx==" or "xxx=".
        if (last && in[i + 2] == '=') {
            if (in[i + 3] != '=') return fail();
            if ((b & 0x0f) != 0) return fail(); // non-zero pad bits
            out += static_cast<char>(a << 2 | b >> 4);
            break;
        }
        const int c = sextet(in[i + 2]);
        if (c == invalid) return fail();
        if (last && in[i + 3] == '=') {
            if ((c & 0x03) != 0) return fail(); // non-zero pad bits
            out += static_cast<char>(a << 2 | b >> 4);
            out += static_cast<char>((b & 0x0f) << 4 | c >> 2);
            break;
        }
        const int d = sextet(in[i + 3]);
        if (d == invalid) return fail();
        out += static_cast<char>(a << 2 | b >> 4);
        out += static_cast<char>((b & 0x0f) << 4 | c >> 2);
        out += static_cast<char>((c & 0x03) << 6 | d);
    }
    return true;
}

} // namespace pop3
