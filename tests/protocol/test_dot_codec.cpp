#include "pop3/protocol/dot_codec.hpp"
#include "support/splits.hpp"

#include <catch2/catch.hpp>

using namespace pop3;
using namespace std::string_literals;

namespace {

struct decoded {
    std::string body;
    std::error_code ec;
    std::size_t leftover = 0; // bytes after the terminator, not consumed
    std::uint64_t octets = 0;
    std::uint64_t lines = 0;
    std::uint8_t deviations = 0;
    bool operator==(const decoded&) const = default;
};

// Feeds chunks straight to the decoder, zero-copy, as a streaming client does. Each chunk is an
// exactly sized heap copy so that over-reads are caught.
decoded decode_chunks(const std::vector<std::string_view>& chunks,
                      line_policy policy = line_policy::strict(), std::size_t max_line = 1000) {
    decoded out;
    body_decoder dec(max_line, policy);
    for (auto chunk : chunks) {
        test::exact_buffer copy(chunk);
        auto in = copy.view();
        if (dec.done()) {
            out.leftover += in.size();
            continue;
        }
        while (true) {
            auto step = dec.decode(in, out.ec);
            out.body.append(step.data);
            in.remove_prefix(step.consumed);
            if (out.ec == error::need_more) break;
            if (out.ec) return {{}, out.ec}; // what came before an error depends on the split
            if (dec.done()) {
                out.leftover += in.size();
                break;
            }
        }
    }
    if (!dec.done()) dec.finish(out.ec);
    out.octets = dec.octets();
    out.lines = dec.lines();
    out.deviations = dec.deviations();
    return out;
}

decoded decode_at_every_split(std::string_view wire, line_policy policy = line_policy::strict(),
                              std::size_t max_line = 1000) {
    const auto expected = decode_chunks({wire}, policy, max_line);
    for (const auto& s : test::splits(wire)) {
        INFO(s.name);
        REQUIRE(decode_chunks(s.chunks, policy, max_line) == expected);
    }
    return expected;
}

} // namespace

TEST_CASE("body decoder: RFC 1939 RETR example") {
    const auto wire =
        "From: me\r\nSubject: x\r\n\r\n<the POP3 server sends the entire message here>\r\n.\r\n";
    auto r = decode_at_every_split(wire);
    REQUIRE_FALSE(r.ec);
    CHECK(r.body ==
          "From: me\r\nSubject: x\r\n\r\n<the POP3 server sends the entire message here>\r\n");
    CHECK(r.octets == r.body.size());
    CHECK(r.lines == 4);
}

TEST_CASE("body decoder: the empty body") {
    auto r = decode_at_every_split(".\r\n");
    REQUIRE_FALSE(r.ec);
    CHECK(r.body.empty());
    CHECK(r.octets == 0);
    CHECK(r.lines == 0);
}

TEST_CASE("body decoder: removes exactly one leading dot, only at line start") {
    auto r = decode_at_every_split("..\r\n...x\r\na.b\r\n..\r\n.x.\r\n.\r\n");
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == ".\r\n..x\r\na.b\r\n.\r\nx.\r\n");
    // The first line is stuffed too.
    CHECK(decode_at_every_split("..first\r\n.\r\n").body == ".first\r\n");
}

TEST_CASE("body decoder: text that looks like a terminator is not one") {
    auto r = decode_at_every_split("a\r\n. \r\n.\r.\r\n..\r\n.\r\n", line_policy::lenient());
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == "a\r\n \r\n\r.\r\n.\r\n");
    CHECK((r.deviations & deviation_bare_cr));
}

TEST_CASE("body decoder: leaves the next reply's bytes alone") {
    auto r = decode_at_every_split("x\r\n.\r\n+OK next\r\n");
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == "x\r\n");
    CHECK(r.leftover == "+OK next\r\n"s.size());
}

TEST_CASE("body decoder: EOF before the terminator") {
    for (auto wire : {"", "abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\r\n..\r\n"}) {
        INFO(wire);
        CHECK(decode_at_every_split(wire).ec == error::eof_in_reply);
    }
}

TEST_CASE("body decoder: strict mode refuses each deviation distinctly") {
    CHECK(decode_at_every_split("a\nb\r\n.\r\n").ec == error::bare_lf);
    CHECK(decode_at_every_split("a\rb\r\n.\r\n").ec == error::bare_cr);
    CHECK(decode_at_every_split("a\r\n.\rx\r\n.\r\n").ec == error::bare_cr);
    CHECK(decode_at_every_split("a\r\n.\n").ec == error::bare_lf);
    CHECK(decode_at_every_split("a\0b\r\n.\r\n"s).ec == error::nul_in_line);
}

TEST_CASE("body decoder: lenient mode keeps the bytes and records deviations") {
    auto r = decode_at_every_split("a\nb\rc\r\nd\0e\r\n.\n"s, line_policy::lenient());
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == "a\nb\rc\r\nd\0e\r\n"s);
    CHECK(r.deviations == (deviation_bare_lf | deviation_bare_cr | deviation_nul));
}

TEST_CASE("body decoder: line limit counts the CRLF and holds across chunks") {
    const std::string fits = std::string(998, 'x') + "\r\n.\r\n"; // 1000 octets with CRLF
    const std::string over = std::string(999, 'x') + "\r\n.\r\n";
    CHECK_FALSE(decode_at_every_split(fits).ec);
    CHECK(decode_at_every_split(over).ec == error::line_too_long);
    // A line that never ends fails at the limit, not at EOF.
    CHECK(decode_chunks({std::string(5000, 'x')}).ec == error::line_too_long);
    // Stuffing dots count towards the wire line.
    CHECK(decode_at_every_split("." + std::string(998, 'x') + "\r\n.\r\n").ec ==
          error::line_too_long);
    CHECK(decode_at_every_split(over, line_policy::lenient(2000)).deviations == deviation_too_long);
}

TEST_CASE("body decoder: long body crosses the SIMD scan at every alignment") {
    std::string body;
    for (int i = 0; i < 40; ++i)
        body += std::string(static_cast<std::size_t>(i), static_cast<char>('a' + i % 26)) + "\r\n";
    std::string wire;
    dot_stuff(body, wire);
    auto r = decode_at_every_split(wire);
    REQUIRE_FALSE(r.ec);
    CHECK(r.body == body);
}

TEST_CASE("body decoder: a CR at the end of a 16-byte block") {
    const std::string wire =
        std::string(15, 'y') + "\r" + "\n" + std::string(31, 'z') + "\r\n.\r\n";
    auto r = decode_at_every_split(wire);
    REQUIRE_FALSE(r.ec);
    CHECK(r.body.size() == wire.size() - 3);
}

TEST_CASE("dot_stuff: stuffs every dot line, the first included, and terminates") {
    std::string out;
    dot_stuff(".a\r\nb\r\n.\r\n..\r\n", out);
    CHECK(out == "..a\r\nb\r\n..\r\n...\r\n.\r\n");
    out.clear();
    dot_stuff("", out);
    CHECK(out == ".\r\n");
    out.clear();
    dot_stuff("no final line end", out);
    CHECK(out == "no final line end\r\n.\r\n");
    out.clear();
    dot_stuff("ends in CR\r", out);
    CHECK(out == "ends in CR\r\n.\r\n");
}

TEST_CASE("dot_stuff: optionally turns lone LF into CRLF") {
    std::string out;
    dot_stuff("a\n.b\r\nc\n", out, {.normalize_bare_lf = true});
    CHECK(out == "a\r\n..b\r\nc\r\n.\r\n");
    out.clear();
    dot_stuff("a\n.b\n", out);
    CHECK(out == "a\n..b\n.\r\n");
}

TEST_CASE("dot_stuffer: streaming gives the same bytes as one-shot at every split") {
    const std::string body = ".x\r\n.\r\nline\r\n\r\n..\r\nlast";
    std::string expected;
    dot_stuff(body, expected);
    for (const auto& s : test::splits(body)) {
        INFO(s.name);
        dot_stuffer st;
        std::string out;
        for (auto c : s.chunks)
            st.encode(c, out);
        st.finish(out);
        CHECK(out == expected);
    }
}

TEST_CASE("encode then decode gives back the original") {
    const std::vector<std::string> bodies = {
        "",
        "\r\n",
        ".\r\n",
        "..\r\n",
        "a\r\n.\r\nb\r\n",
        ".\r\n.\r\n.\r\n",
        "x\r\n\r\n\r\n",
        std::string(3000, '.') + "\r\n",
    };
    for (const auto& body : bodies) {
        INFO(body);
        std::string wire;
        dot_stuff(body, wire);
        auto r = decode_chunks({wire}, line_policy::strict(), 1 << 20);
        REQUIRE_FALSE(r.ec);
        CHECK(r.body == body);
        CHECK(r.leftover == 0);
    }
}
