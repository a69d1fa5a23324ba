// The escape alphabet of transcript text (docs/transcripts.md): how the bytes of a C: or S:
// line are written and read back. \r \n \0 \t \\ \* \{ \} \| and \xHH for any other control or
// non-ASCII octet. The one encoder and decoder, shared by the mock server's recorder (writes
// recordings) and the conformance transcript parser and pattern matcher (read them).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pop3 {

// The letters that may follow '\' in transcript text, besides 'x' (\xHH).
inline constexpr std::string_view transcript_escape_letters = "rn0t\\*{}|";

// Bytes as transcript text reads them literally: '\', '{' and '}' escaped, CR LF NUL TAB as
// \r \n \0 \t, other control and non-ASCII octets as \xHH (upper-case hex). In a pattern (an
// S: line, which the runner matches) the wildcard '*' and the alternative bar '|' are escaped
// too; in a sent line (C:) they stand as they are, so "****" masks stay readable.
std::string transcript_escape(std::string_view bytes, bool pattern);

enum class transcript_escape_status {
    ok,
    at_end,  // '\' is the last character
    bad_hex, // \x without two hex digits
    unknown, // '\' followed by a letter not in the alphabet
};

struct transcript_escape_result {
    transcript_escape_status status = transcript_escape_status::ok;
    char byte = 0;          // the octet it stands for (when ok)
    std::size_t length = 0; // characters it takes, the '\' included
};

// Reads the escape that starts at text[at] (a '\'). When not ok, `byte` is what a lenient
// reader takes: the character after the '\' (or '\' itself at the end), over `length` 2 (1).
transcript_escape_result transcript_unescape_at(std::string_view text, std::size_t at) noexcept;

// The bytes that transcript text without {…} stands for: every escape resolved, other
// characters as they are (a lenient reader: see transcript_unescape_at).
std::string transcript_unescape(std::string_view text);

} // namespace pop3
