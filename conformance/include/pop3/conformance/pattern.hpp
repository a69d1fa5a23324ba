// Resolving transcript text: escapes, variables and helper functions in C: lines, and the
// S: line patterns (wildcards, regular expressions with named captures, alternatives).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pop3::conformance {

using variables = std::map<std::string, std::string>;

// A problem found while running a case (unknown variable, bad regex): the case fails with it.
class run_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The length of the regex repetition count ({m}, {m,} or {m,n}, at most 4 digits each) that
// starts at `pos`, or 0 when none does.
std::size_t repetition_count_length(std::string_view text, std::size_t pos) noexcept;

// The '}' that closes the '{' at `open`, skipping backslash-escaped characters and repetition
// counts inside; npos if none.
std::size_t find_closing_brace(std::string_view text, std::size_t open) noexcept;

// Resolves \r \n \0 \t \xHH \\ \* \{ \} \| and {…}: {name} is a variable; {apop(ts)} the APOP
// digest of variable ts with {pass}; {plain} base64 SASL PLAIN of {user} and {pass};
// {b64user}, {b64pass}; {cram(ch)} the CRAM-MD5 response to base64 challenge variable ch;
// {b64(text)} base64 of literal text.
std::string expand(std::string_view text, const variables& vars);

// Matches one received line against an S: pattern. `*` is any text, {name} a variable's value,
// {name=REGEX} a capture stored into `vars` on success, {=REGEX} a match without capture, and
// " || " separates alternatives. The whole line must match.
// Lines over 16 KiB (and regexes too costly for backtracking) go to a linear-time matcher (a
// Thompson NFA: no lookaround, no backreferences, no captures); what it cannot take throws
// run_error ("cannot judge"), which the runner reports as an error, never as a failure.
bool match_line(std::string_view pattern, std::string_view line, variables& vars);

// The linear matcher alone, on any line: whether it matches, or nullopt when an alternative
// is outside its subset (a capture {name=…}, lookaround, a backreference, \b, ...). For tests.
std::optional<bool> match_line_linear(std::string_view pattern, std::string_view line,
                                      const variables& vars);

// Why REGEX (the text after '=' in {name=REGEX}) cannot be used, or "" when it can: the
// transcript parser calls this so that a bad expression is reported with its file and line.
std::string regex_problem(std::string_view regex);

} // namespace pop3::conformance
