#include "pop3/protocol/transcript_text.hpp"

#include <catch2/catch.hpp>
#include <string>

using pop3::transcript_escape;
using pop3::transcript_escape_status;
using pop3::transcript_unescape;
using pop3::transcript_unescape_at;

namespace {

// Printable ASCII only, and no '{' '}' or lone '\' that a transcript would read as syntax.
bool reads_literally(const std::string& text, bool pattern) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x7f || c == '{' || c == '}') return false;
        if (pattern && (c == '*' || c == '|')) return false;
        if (c == '\\') {
            if (transcript_unescape_at(text, i).status != transcript_escape_status::ok)
                return false;
            i += transcript_unescape_at(text, i).length - 1;
        }
    }
    return true;
}

} // namespace

TEST_CASE("transcript text: every octet encodes and decodes back, alone and in a line") {
    std::string all;
    for (int b = 0; b < 256; ++b) {
        const std::string one(1, static_cast<char>(b));
        all += one;
        for (const bool pattern : {false, true}) {
            INFO("octet " << b << (pattern ? " in a pattern" : " in a sent line"));
            const auto text = transcript_escape(one, pattern);
            CHECK(reads_literally(text, pattern));
            CHECK(transcript_unescape(text) == one);
            if (text.size() > 1) {
                const auto e = transcript_unescape_at(text, 0);
                CHECK(e.status == transcript_escape_status::ok);
                CHECK(e.byte == one[0]);
                CHECK(e.length == text.size());
            }
        }
    }
    for (const bool pattern : {false, true}) {
        const auto text = transcript_escape(all + all, pattern);
        CHECK(reads_literally(text, pattern));
        CHECK(transcript_unescape(text) == all + all);
    }
}

TEST_CASE("transcript text: the alphabet") {
    CHECK(transcript_escape(std::string("a\\b{c}d\r\n\0\t", 11), false) ==
          std::string("a\\\\b\\{c\\}d\\r\\n\\0\\t"));
    CHECK(transcript_escape(std::string("\x1b[2J\x7f\xff", 6), false) == "\\x1B[2J\\x7F\\xFF");
    // '*' and '|' are pattern syntax in S: lines only; a C: line keeps "****" masks readable.
    CHECK(transcript_escape("PASS ****|x", false) == "PASS ****|x");
    CHECK(transcript_escape("+OK *|x", true) == "+OK \\*\\|x");
    // Hex digits of either case are read.
    CHECK(transcript_unescape("\\x1b\\x1B\\xfF") == "\x1b\x1b\xff");
}

TEST_CASE("transcript text: malformed escapes are told apart, and read leniently") {
    auto e = transcript_unescape_at("ab\\", 2);
    CHECK(e.status == transcript_escape_status::at_end);
    CHECK(e.length == 1);
    e = transcript_unescape_at("\\x4", 0);
    CHECK(e.status == transcript_escape_status::bad_hex);
    e = transcript_unescape_at("\\xg0", 0);
    CHECK(e.status == transcript_escape_status::bad_hex);
    e = transcript_unescape_at("\\q", 0);
    CHECK(e.status == transcript_escape_status::unknown);
    CHECK(e.byte == 'q');
    CHECK(e.length == 2);
    for (const char c : pop3::transcript_escape_letters)
        CHECK(transcript_unescape_at(std::string("\\") + c, 0).status ==
              transcript_escape_status::ok);
    CHECK(transcript_unescape("x\\qy\\") == "xqy\\");
}
