// Reading the conformance runner's own text files (transcripts, baselines): one rule for the
// blanks around a line and its value, so both formats treat a line alike.
#pragma once

#include <string_view>

namespace pop3::conformance {

// `s` without leading blanks, trailing blanks and a trailing CR (a file written with CRLF).
inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

} // namespace pop3::conformance
