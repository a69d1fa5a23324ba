// Fuzzes APOP: apop_timestamp, is_well_formed_timestamp and apop_digest. Byte 0 picks the mode:
// the greeting as given, or (when bit 0 is set) the input repeated into a greeting of up to
// 256 KiB, which makes any super-linear scan run into libFuzzer's timeout. Invariants: the
// timestamp is a substring of the line starting with '<' at index 4 or later and ending with
// '>'; it is exactly what the backtracking regex of Python's poplib, r'\+OK.[^<]*(<.*>)', matches
// (checked against a direct, slow backtracking matcher on short lines); a well-formed timestamp
// is '<' ... '@' ... '>'; the digest is 32 lowercase hex digits.
#include "fuzz_check.hpp"

#include <cstdint>
#include <optional>
#include <pop3/protocol/apop.hpp>
#include <string>

namespace {

// re.match(r'\+OK.[^<]*(<.*>)', line) by plain backtracking, greedy quantifiers longest first.
// Cubic in the worst case: used only on short lines.
std::optional<std::string_view> reference(std::string_view line) {
    if (line.size() < 4 || line.substr(0, 3) != "+OK" || line[3] == '\n') return std::nullopt;
    const std::size_t n = line.size();
    for (std::size_t j = n; j + 1 > 4; --j) { // [^<]* covers line[4, j)
        bool ok = true;
        for (std::size_t i = 4; i < j; ++i)
            ok = ok && line[i] != '<';
        if (!ok || j >= n || line[j] != '<') continue;
        for (std::size_t k = n; k-- > j + 1;) { // .* covers line[j+1, k), then '>' at k
            bool dot = true;
            for (std::size_t i = j + 1; i < k; ++i)
                dot = dot && line[i] != '\n';
            if (dot && line[k] == '>') return line.substr(j, k - j + 1);
        }
    }
    return std::nullopt;
}

void check_timestamp(std::string_view line, bool compare) {
    const auto ts = pop3::apop_timestamp(line);
    if (compare) {
        const auto ref = reference(line);
        FUZZ_CHECK(ts.has_value() == ref.has_value());
        if (ts) FUZZ_CHECK(ts->data() == ref->data() && ts->size() == ref->size());
    }
    if (!ts) return;
    FUZZ_CHECK(line.starts_with("+OK"));
    FUZZ_CHECK(ts->data() >= line.data() + 4);
    FUZZ_CHECK(ts->data() + ts->size() <= line.data() + line.size());
    FUZZ_CHECK(ts->size() >= 2 && ts->front() == '<' && ts->back() == '>');
    FUZZ_CHECK(ts->find('\n') == std::string_view::npos);
    // The first '<' after the indicator's octet.
    FUZZ_CHECK(line.find('<', 4) == static_cast<std::size_t>(ts->data() - line.data()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    check_timestamp(input, input.size() <= 200);

    if ((mode & 1) && !input.empty()) {
        // Linear time: a long greeting made of the input. A quadratic scan of 256 KiB takes
        // minutes; the fuzzer's -timeout catches it.
        std::string big = "+OK ";
        while (big.size() < (std::size_t{256} << 10))
            big.append(input);
        check_timestamp(big, false);
    }

    const bool well_formed = pop3::is_well_formed_timestamp(input);
    if (well_formed) {
        FUZZ_CHECK(input.size() >= 3 && input.front() == '<' && input.back() == '>');
        FUZZ_CHECK(input.find('@') != std::string_view::npos);
        FUZZ_CHECK(input.find_first_of(" \r\n\t<>", 1) == input.size() - 1);
    }
    if (mode & 2) {
        const auto split = input.size() / 2;
        const auto digest = pop3::apop_digest(input.substr(0, split), input.substr(split));
        FUZZ_CHECK(digest.size() == 32);
        FUZZ_CHECK(digest.find_first_not_of("0123456789abcdef") == std::string::npos);
        // Only the concatenation counts.
        FUZZ_CHECK(digest == pop3::apop_digest(input, {}));
    }
    return 0;
}
