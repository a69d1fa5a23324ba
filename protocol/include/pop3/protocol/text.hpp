// Small ASCII helpers shared by the parsers: case-insensitive compare, decimal numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pop3 {

constexpr char ascii_upper(char c) noexcept {
    return (c >= 'a' && c <= 'z') ? char(c - 32) : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
    return true;
}

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// A non-empty run of decimal digits that fits in 64 bits; anything else (sign, space, empty,
// overflow) is nullopt. Leading zeros are accepted, as RFC 1939 does not forbid them.
constexpr std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

// Splits off the next space-separated token: returns it and advances `s` past one space.
constexpr std::string_view next_token(std::string_view& s) noexcept {
    const auto sp = s.find(' ');
    const auto tok = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return tok;
}

} // namespace pop3
