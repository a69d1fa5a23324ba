#include "pop3/protocol/line.hpp"
#include "support/splits.hpp"

#include <catch2/catch.hpp>

using namespace pop3;
using namespace std::string_literals;

namespace {

struct framed {
    std::vector<std::string> lines;
    std::vector<int> deviations;
    std::error_code ec;
    bool operator==(const framed&) const = default;
};

// Frames every line of a stream fed in chunks, as a session would, then handles EOF.
framed frame_all(const std::vector<std::string_view>& chunks, std::size_t limit,
                 line_policy policy = line_policy::strict()) {
    framed out;
    test::receive_buffer buf;
    for (auto chunk : chunks) {
        buf.append(chunk);
        while (true) {
            auto line = frame_line(buf.view(), limit, policy, out.ec);
            if (out.ec == error::need_more) break;
            if (out.ec) return out;
            out.lines.emplace_back(line.text);
            out.deviations.push_back(line.deviations);
            buf.consume(line.consumed);
        }
    }
    out.ec.clear();
    if (!buf.rest().empty()) {
        auto line = frame_final_line(buf.view(), limit, policy, out.ec);
        if (!out.ec) {
            out.lines.emplace_back(line.text);
            out.deviations.push_back(line.deviations);
        }
    }
    return out;
}

framed frame_at_every_split(std::string_view input, std::size_t limit,
                            line_policy policy = line_policy::strict()) {
    const auto expected = frame_all({input}, limit, policy);
    for (const auto& s : test::splits(input)) {
        INFO(s.name);
        REQUIRE(frame_all(s.chunks, limit, policy) == expected);
    }
    return expected;
}

} // namespace

TEST_CASE("frame_line: CRLF lines at every split") {
    auto r = frame_at_every_split("+OK POP3 server ready\r\n+OK 2 320\r\n\r\n", 512);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.lines == std::vector<std::string>{"+OK POP3 server ready", "+OK 2 320", ""});
    REQUIRE(r.deviations == std::vector<int>{0, 0, 0});
}

TEST_CASE("frame_line: need_more until the LF arrives") {
    std::error_code ec;
    frame_line("+OK partial\r", 512, {}, ec);
    REQUIRE(ec == error::need_more);
    frame_line("", 512, {}, ec);
    REQUIRE(ec == error::need_more);
}

TEST_CASE("frame_line: each deviation is its own error when strict") {
    CHECK(frame_at_every_split("+OK bare\n", 512).ec == error::bare_lf);
    CHECK(frame_at_every_split("+OK b\rare\r\n", 512).ec == error::bare_cr);
    CHECK(frame_at_every_split(std::string_view("+OK n\0l\r\n", 9), 512).ec == error::nul_in_line);
    CHECK(frame_at_every_split("+OK no end", 512).ec == error::missing_crlf_at_eof);
    CHECK(frame_at_every_split("+OK no end\r", 512).ec == error::missing_crlf_at_eof);
}

TEST_CASE("frame_line: the limit counts the CRLF") {
    const std::string fits = std::string(510, 'a') + "\r\n"; // 512 octets
    const std::string over = std::string(511, 'a') + "\r\n"; // 513 octets
    std::error_code ec;
    auto line = frame_line(fits, 512, {}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(line.consumed == 512);
    frame_line(over, 512, {}, ec);
    REQUIRE(ec == error::line_too_long);
    // Detected as soon as the limit is reached without a line end, not when the LF arrives.
    frame_line(std::string(512, 'a'), 512, {}, ec);
    REQUIRE(ec == error::line_too_long);
    frame_line(std::string(511, 'a'), 512, {}, ec);
    REQUIRE(ec == error::need_more);
    REQUIRE(frame_at_every_split(over, 512).ec == error::line_too_long);
}

TEST_CASE("frame_line: lenient policy records deviations and goes on") {
    const auto lenient = line_policy::lenient(1024);
    const std::string input = "a\nb\rc\r\nd\0e\r\n"s + std::string(600, 'x') + "\r\nlast";
    auto r = frame_at_every_split(input, 512, lenient);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.lines.size() == 5);
    CHECK(r.lines[0] == "a");
    CHECK(r.deviations[0] == deviation_bare_lf);
    CHECK(r.lines[1] == "b\rc");
    CHECK(r.deviations[1] == deviation_bare_cr);
    CHECK(r.lines[2] == std::string("d\0e", 3));
    CHECK(r.deviations[2] == deviation_nul);
    CHECK(r.lines[3].size() == 600);
    CHECK(r.deviations[3] == deviation_too_long);
    CHECK(r.lines[4] == "last");
    CHECK(r.deviations[4] == deviation_missing_crlf);
}

TEST_CASE("frame_line: tolerated length still has a hard limit") {
    std::error_code ec;
    frame_line(std::string(2000, 'x') + "\r\n", 512, line_policy::lenient(1024), ec);
    REQUIRE(ec == error::line_too_long);
}

TEST_CASE("frame_line: diagnostics show the offending line, escaped") {
    std::error_code ec;
    diagnostics diag;
    frame_line("+OK bare\n", 512, {}, ec, &diag);
    REQUIRE(ec == error::bare_lf);
    CHECK(diag.offending == "+OK bare");
    CHECK(diag.message == "line ends in LF without CR");
    frame_line(std::string_view("+OK \0x\r\n", 8), 512, {}, ec, &diag);
    CHECK(diag.offending == "+OK \\0x");
}

TEST_CASE("deviation_of maps errors to deviation bits") {
    CHECK(deviation_of(error::bare_lf) == deviation_bare_lf);
    CHECK(deviation_of(error::nul_in_line) == deviation_nul);
    CHECK(deviation_of(error::bad_stat_reply) == deviation_none);
    CHECK(deviation_of(std::make_error_code(std::errc::io_error)) == deviation_none);
}
