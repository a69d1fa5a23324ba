#include "pop3/protocol/reply_reader.hpp"
#include "support/splits.hpp"

#include <catch2/catch.hpp>

using namespace pop3;
using namespace std::string_literals;

namespace {

struct reply {
    std::string status; // the status line as parsed: "+OK text" / "-ERR text" / "+ challenge"
    std::string body;
    bool has_body = false;
    bool operator==(const reply&) const = default;
};

struct session_result {
    std::vector<reply> replies;
    std::error_code ec;
    bool operator==(const session_result&) const = default;
};

std::string describe(const status_line& s) {
    switch (s.status) {
    case reply_status::ok: return "+OK " + std::string(s.full_text);
    case reply_status::err: return "-ERR " + std::string(s.full_text);
    case reply_status::continuation: return "+ " + std::string(s.challenge);
    }
    return {};
}

// Reads one reply per shape from a stream fed in chunks (pipelined: all replies may arrive in
// one chunk), as the client session does.
session_result read_replies(const std::vector<std::string_view>& chunks,
                            const std::vector<reply_shape>& shapes) {
    session_result out;
    reply_reader reader;
    test::receive_buffer buf;
    std::size_t next = 0;
    reply current;
    if (!shapes.empty()) reader.start(shapes[0]);
    auto run = [&]() {
        while (next < shapes.size()) {
            auto step = reader.read(buf.view(), out.ec);
            buf.consume(step.consumed);
            if (out.ec == error::need_more) return true;
            if (out.ec) return false;
            if (step.event == reply_event::status) current.status = describe(reader.status());
            if (step.event == reply_event::body) current.body.append(step.data);
            if (reader.in_body()) current.has_body = true;
            if (reader.complete()) {
                out.replies.push_back(std::exchange(current, {}));
                if (++next < shapes.size()) reader.start(shapes[next]);
            }
        }
        return true;
    };
    for (auto c : chunks) {
        buf.append(c);
        if (!run()) return out;
    }
    out.ec.clear();
    if (next < shapes.size()) reader.finish(buf.rest(), out.ec);
    return out;
}

session_result read_at_every_split(std::string_view wire, const std::vector<reply_shape>& shapes) {
    const auto expected = read_replies({wire}, shapes);
    for (const auto& s : test::splits(wire)) {
        INFO(s.name);
        REQUIRE(read_replies(s.chunks, shapes) == expected);
    }
    return expected;
}

constexpr auto single = reply_shape::single_line;
constexpr auto multi = reply_shape::multi_line;

} // namespace

TEST_CASE("reply reader: the RFC 1939 section 10 session, server side, at every split") {
    const std::string wire = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
                             "+OK mrose's maildrop has 2 messages (320 octets)\r\n"
                             "+OK 2 320\r\n"
                             "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
                             "+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n"
                             "+OK message 1 deleted\r\n"
                             "+OK 200 octets\r\n<the POP3 server sends message 2>\r\n.\r\n"
                             "+OK message 2 deleted\r\n"
                             "+OK dewey POP3 server signing off (maildrop empty)\r\n";
    const std::vector<reply_shape> shapes = {single, single, single, multi, multi,
                                             single, multi,  single, single};
    auto r = read_at_every_split(wire, shapes);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.replies.size() == 9);
    CHECK(r.replies[2].status == "+OK 2 320");
    CHECK(r.replies[3].body == "1 120\r\n2 200\r\n");
    CHECK(r.replies[4].body == "<the POP3 server sends message 1>\r\n");
    CHECK(r.replies[8].status == "+OK dewey POP3 server signing off (maildrop empty)");
}

TEST_CASE("reply reader: -ERR to a multi-line command has no body") {
    auto r = read_at_every_split("-ERR no such message\r\n+OK\r\n.\r\n", {multi, multi});
    REQUIRE_FALSE(r.ec);
    CHECK(r.replies[0] == reply{"-ERR no such message", "", false});
    CHECK(r.replies[1] == reply{"+OK ", "", true});
}

TEST_CASE("reply reader: SASL continuations") {
    auto r = read_at_every_split("+ \r\n+OK maildrop locked\r\n",
                                 {reply_shape::sasl, reply_shape::sasl});
    REQUIRE_FALSE(r.ec);
    CHECK(r.replies[0].status == "+ ");
    CHECK(r.replies[1].status == "+OK maildrop locked");
    CHECK(read_at_every_split("+ \r\n", {single}).ec == error::unexpected_continuation);
}

TEST_CASE("reply reader: bad input ends in a clear error at every split") {
    CHECK(read_at_every_split("+ERR x\r\n", {single}).ec == error::bad_status_indicator);
    CHECK(read_at_every_split("+ok\r\n", {single}).ec == error::bad_status_indicator);
    CHECK(read_at_every_split("\r\n", {single}).ec == error::bad_status_indicator);
    CHECK(read_at_every_split("+OK\n", {single}).ec == error::bare_lf);
    CHECK(read_at_every_split("+OK a\0b\r\n"s, {single}).ec == error::nul_in_line);
    CHECK(read_at_every_split("+OK " + std::string(600, 'x') + "\r\n", {single}).ec ==
          error::line_too_long);
    CHECK(read_at_every_split("+OK 1 octets\r\nbody\r\n", {multi}).ec == error::eof_in_reply);
    CHECK(read_at_every_split("+OK 1 octets\r\nbody\r\n.", {multi}).ec == error::eof_in_reply);
    CHECK(read_at_every_split("+OK half", {single}).ec == error::missing_crlf_at_eof);
    CHECK(read_at_every_split("", {single}).ec == error::eof_in_reply);
}

TEST_CASE("reply reader: a status line limit of 512 octets, CRLF included") {
    const std::string fits = "+OK " + std::string(506, 'x') + "\r\n";
    REQUIRE(fits.size() == 512);
    CHECK_FALSE(read_at_every_split(fits, {single}).ec);
    CHECK(read_at_every_split("+OK " + std::string(507, 'x') + "\r\n", {single}).ec ==
          error::line_too_long);
}

TEST_CASE("reply reader: lenient policy records deviations and completes") {
    reply_reader reader(limits{}, line_policy::lenient());
    reader.start(multi);
    std::error_code ec;
    std::string_view wire = "+OK\nline\n.\n";
    std::string body;
    while (!reader.complete()) {
        auto step = reader.read(wire, ec);
        REQUIRE((!ec || ec == error::need_more));
        body.append(step.data);
        wire.remove_prefix(step.consumed);
    }
    CHECK(body == "line\n");
    CHECK(reader.deviations() == deviation_bare_lf);
}

TEST_CASE("reply reader: in AUTH, only continuations get the longer SASL line limit") {
    const std::string long_challenge = "+ " + std::string(4000, 'A') + "\r\n";
    auto r = read_at_every_split(long_challenge, {reply_shape::sasl});
    REQUIRE_FALSE(r.ec);
    CHECK(r.replies[0].status.size() == 4002);
    // A final -ERR is a status line: 512 octets at most.
    CHECK(read_at_every_split("-ERR " + std::string(600, 'x') + "\r\n", {reply_shape::sasl}).ec ==
          error::line_too_long);
}
