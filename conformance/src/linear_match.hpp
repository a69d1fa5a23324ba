// A matcher for long lines in time linear in the line: a pattern's parts (literal text, '*'
// and the regexes of {=REGEX}) compiled to a Thompson NFA and simulated over the line, with no
// backtracking. It judges only whether the whole line matches (no captures), and knows the
// subset of the regex syntax that needs no backtracking; anything else is left to Boost.Regex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance::detail {

struct pattern_part {
    enum class kind : std::uint8_t { literal, any, regex };
    kind what = kind::literal;
    std::string text; // literal: the bytes; regex: the expression as written in {=…}
};

// Whether `line` as a whole matches the parts in sequence, with the meaning Boost.Regex gives
// them (ECMAScript, no_mod_s, no_mod_m: '.' matches no \n \r \f, '^'/'$' are the line's ends).
// nullopt when a regex uses what the NFA does not know (lookaround, backreferences, word
// boundaries, POSIX classes, possessive repeats, ...) or when states × line length would pass
// `max_work`.
std::optional<bool> linear_match(const std::vector<pattern_part>& parts, std::string_view line,
                                 double max_work);

} // namespace pop3::conformance::detail
