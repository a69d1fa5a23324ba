#include "pop3/mockserver/listing.hpp"

#include <catch2/catch.hpp>
#include <pop3/protocol/dot_codec.hpp>
#include <string>
#include <string_view>
#include <vector>

using namespace pop3;
using namespace pop3::mock;

namespace {

// The lines a client reads back from a listing body: unstuffed, without the terminator.
std::vector<std::string> read_back(std::string_view wire) {
    body_decoder dec;
    std::string data;
    std::error_code ec;
    std::size_t used = 0;
    while (!dec.done()) {
        const auto step = dec.decode(wire.substr(used), ec);
        REQUIRE((!ec || ec == error::need_more));
        REQUIRE((step.consumed > 0 || dec.done()));
        used += step.consumed;
        data.append(step.data);
    }
    CHECK(used == wire.size()); // nothing after the terminator
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < data.size();) {
        const auto eol = data.find("\r\n", at);
        REQUIRE(eol != std::string::npos);
        lines.push_back(data.substr(at, eol - at));
        at = eol + 2;
    }
    return lines;
}

} // namespace

TEST_CASE("listing: lines with CRLF, then the terminator") {
    CHECK(listing_body(std::vector<std::string>{}) == ".\r\n");
    const std::vector<std::string> caps = {"TOP", "USER", "SASL PLAIN"};
    CHECK(listing_body(caps) == "TOP\r\nUSER\r\nSASL PLAIN\r\n.\r\n");
    const std::vector<std::string_view> views = {"PLAIN", "LOGIN"};
    CHECK(listing_body(views) == "PLAIN\r\nLOGIN\r\n.\r\n");
    listing_builder b;
    b.line("a").line("b");
    CHECK(b.lines() == 2);
    CHECK(b.finish() == "a\r\nb\r\n.\r\n");
    CHECK(b.lines() == 0);
    CHECK(b.finish() == ".\r\n"); // empty again after finish
}

TEST_CASE("listing: a line that starts with a dot is stuffed, so it cannot end the listing") {
    const std::vector<std::string> lines = {".", ".hidden", "X-.", "..two"};
    const auto wire = listing_body(lines);
    CHECK(wire == "..\r\n..hidden\r\nX-.\r\n...two\r\n.\r\n");
    CHECK(read_back(wire) == lines);
}

TEST_CASE("listing: LIST and UIDL listings skip deleted messages and keep their numbers") {
    const std::vector<message_ptr> messages = {
        make_message("uid-1", "Subject: one\r\n\r\nfirst\r\n"),
        make_message("uid-2", "Subject: two\r\n\r\nsecond body\r\n"),
        make_message(".uid-3", "Subject: three\r\n\r\n.\r\n"),
    };
    const std::vector<bool> none(3, false), second(std::vector<bool>{false, true, false});
    const auto octets = [&](std::size_t i) { return std::to_string(messages[i]->octets()); };

    std::size_t listed = 99;
    CHECK(scan_listing(messages, none, 0, &listed) ==
          "1 " + octets(0) + "\r\n2 " + octets(1) + "\r\n3 " + octets(2) + "\r\n.\r\n");
    CHECK(listed == 3);
    CHECK(scan_listing(messages, second, 0, &listed) ==
          "1 " + octets(0) + "\r\n3 " + octets(2) + "\r\n.\r\n");
    CHECK(listed == 2);
    // A scenario's octet_delta shifts every announced size.
    CHECK(scan_listing(messages, second, -3) ==
          "1 " + announced_octets(messages[0]->octets(), -3) + "\r\n3 " +
              announced_octets(messages[2]->octets(), -3) + "\r\n.\r\n");
    CHECK(announced_octets(100, -3) == "97");
    CHECK(announced_octets(100, 5) == "105");

    CHECK(uid_listing(messages, none) == "1 uid-1\r\n2 uid-2\r\n3 .uid-3\r\n.\r\n");
    CHECK(uid_listing(messages, second) == "1 uid-1\r\n3 .uid-3\r\n.\r\n");
    CHECK(uid_listing(messages, std::vector<bool>(3, true)) == ".\r\n");
    CHECK(scan_listing({}, {}) == ".\r\n");
}
