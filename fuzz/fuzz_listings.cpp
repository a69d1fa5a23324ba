// Fuzzes the typed reply values: parse_stat, parse_scan_listing and parse_uid_listing. Byte 0
// picks the parser (or all three) and the unique-id length limit. Invariants: each parser
// agrees with a direct reading of its grammar (numbers are decimal and fit 64 bits, a message
// number is at least 1), a parsed uid satisfies is_valid_uid and is exactly the rest of the line,
// and every error is the parser's own pop3::error.
#include "fuzz_check.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <pop3/protocol/listings.hpp>
#include <string>

namespace {

// A run of decimal digits that fits in 64 bits, computed differently from the library.
std::optional<std::uint64_t> decimal(std::string_view s) {
    if (s.empty()) return std::nullopt;
    for (char c : s)
        if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t v = 0;
    const auto [ptr, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (err != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

// "n m" then nothing or a space and anything.
bool two_numbers(std::string_view s, std::uint64_t& a, std::uint64_t& b) {
    const auto sp = s.find(' ');
    if (sp == std::string_view::npos) return false;
    const auto first = decimal(s.substr(0, sp));
    const auto rest = s.substr(sp + 1);
    const auto sp2 = rest.find(' ');
    const auto second = decimal(rest.substr(0, sp2));
    if (!first || !second) return false;
    a = *first;
    b = *second;
    return true;
}

void check_stat(std::string_view text) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto r = pop3::parse_stat(text, ec, &diag);
    std::uint64_t a = 0, b = 0;
    const bool expected = two_numbers(text, a, b);
    FUZZ_CHECK(expected == !ec);
    if (ec) {
        FUZZ_CHECK(ec == pop3::error::bad_stat_reply && !diag.message.empty());
        return;
    }
    FUZZ_CHECK(r.count == a && r.octets == b);
}

void check_scan(std::string_view line) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto r = pop3::parse_scan_listing(line, ec, &diag);
    std::uint64_t a = 0, b = 0;
    const bool expected = two_numbers(line, a, b) && a != 0;
    FUZZ_CHECK(expected == !ec);
    if (ec) {
        FUZZ_CHECK(ec == pop3::error::bad_scan_listing && !diag.message.empty());
        return;
    }
    FUZZ_CHECK(r.message == a && r.octets == b && r.message >= 1);
}

void check_uid(std::string_view line, const pop3::limits& lim) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto r = pop3::parse_uid_listing(line, ec, lim, &diag);
    if (ec) {
        FUZZ_CHECK(ec == pop3::error::bad_uid_listing && !diag.message.empty());
        // Refused only when the grammar says so.
        const auto sp = line.find(' ');
        const auto n = decimal(line.substr(0, sp));
        const bool ok = sp != std::string_view::npos && n && *n != 0 &&
                        pop3::is_valid_uid(line.substr(sp + 1), lim);
        FUZZ_CHECK(!ok);
        return;
    }
    FUZZ_CHECK(r.message >= 1);
    FUZZ_CHECK(pop3::is_valid_uid(r.uid, lim));
    FUZZ_CHECK(!r.uid.empty() && r.uid.size() <= lim.max_uid_length);
    for (char ch : r.uid) {
        const auto c = static_cast<unsigned char>(ch);
        FUZZ_CHECK(c >= 0x21 && c <= 0x7e);
    }
    // The uid is the whole rest of the line, after "n ".
    FUZZ_CHECK(r.uid.data() + r.uid.size() == line.data() + line.size());
    const auto prefix = line.substr(0, line.size() - r.uid.size());
    FUZZ_CHECK(prefix.size() >= 2 && prefix.back() == ' ');
    FUZZ_CHECK(decimal(prefix.substr(0, prefix.size() - 1)) == r.message);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = data[0];
    pop3::limits lim;
    if (mode & 4) lim.max_uid_length = 1 + (mode >> 3); // 1..32
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (mode & 3) {
    case 0: check_stat(input); break;
    case 1: check_scan(input); break;
    case 2: check_uid(input, lim); break;
    default:
        // A multi-line listing body: every line through every parser.
        std::string_view rest = input;
        while (!rest.empty()) {
            const auto end = rest.find("\r\n");
            const auto line = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
            check_stat(line);
            check_scan(line);
            check_uid(line, lim);
        }
    }
    return 0;
}
