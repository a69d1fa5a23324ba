#include "pop3/protocol/listings.hpp"

#include <catch2/catch.hpp>

using namespace pop3;

TEST_CASE("STAT: RFC 1939 example and trailing text") {
    std::error_code ec;
    auto s = parse_stat("2 320", ec);
    REQUIRE_FALSE(ec);
    CHECK(s.count == 2);
    CHECK(s.octets == 320);
    s = parse_stat("0 0 extra information", ec);
    REQUIRE_FALSE(ec);
    CHECK(s.count == 0);
    CHECK(parse_stat("18446744073709551615 1", ec).count == UINT64_MAX);
}

TEST_CASE("STAT: malformed values are errors") {
    for (auto bad : {"", "2", "2 ", " 2 320", "2  320", "-2 320", "2 -320", "two 320", "2 32o",
                     "18446744073709551616 1", "2\t320"}) {
        INFO(bad);
        std::error_code ec;
        diagnostics diag;
        parse_stat(bad, ec, &diag);
        CHECK(ec == error::bad_stat_reply);
        CHECK_FALSE(diag.message.empty());
    }
}

TEST_CASE("scan listing: RFC 1939 examples") {
    std::error_code ec;
    auto e = parse_scan_listing("1 120", ec);
    REQUIRE_FALSE(ec);
    CHECK(e.message == 1);
    CHECK(e.octets == 120);
    e = parse_scan_listing("2 200 more info", ec);
    REQUIRE_FALSE(ec);
    CHECK(e.octets == 200);
    for (auto bad : {"0 120", "1", "1 x", "x 1", "", "1 120x"}) {
        INFO(bad);
        parse_scan_listing(bad, ec);
        CHECK(ec == error::bad_scan_listing);
    }
}

TEST_CASE("unique-id listing: RFC 1939 examples and limits") {
    std::error_code ec;
    auto e = parse_uid_listing("1 whqtswO00WBw418f9t5JxYwZ", ec);
    REQUIRE_FALSE(ec);
    CHECK(e.message == 1);
    CHECK(e.uid == "whqtswO00WBw418f9t5JxYwZ");
    CHECK(parse_uid_listing("2 QhdPYR:00WBw1Ph7x7", ec).uid == "QhdPYR:00WBw1Ph7x7");
    CHECK(parse_uid_listing("3 " + std::string(70, '~'), ec).uid.size() == 70);
    CHECK_FALSE(ec);
    const std::vector<std::string> bads = {
        "1", "1 ", "0 abc", "x abc", "1 " + std::string(71, 'a'), "1 a b", "1 a\x7f", "1 a\x01"};
    for (const auto& bad : bads) {
        INFO(bad);
        parse_uid_listing(bad, ec);
        CHECK(ec == error::bad_uid_listing);
    }
    limits lim;
    lim.max_uid_length = 100;
    parse_uid_listing("1 " + std::string(71, 'a'), ec, lim);
    CHECK_FALSE(ec);
}

TEST_CASE("CAPA: RFC 2449 example, ordered, case-insensitive") {
    capabilities caps;
    std::error_code ec;
    for (auto line : {"TOP", "USER", "SASL CRAM-MD5 KERBEROS_V4", "RESP-CODES", "LOGIN-DELAY 900",
                      "PIPELINING", "EXPIRE 60", "UIDL", "IMPLEMENTATION Shlemazle-Plotz-v302"}) {
        caps.add_line(line, ec);
        REQUIRE_FALSE(ec);
    }
    REQUIRE(caps.entries().size() == 9);
    CHECK(caps.entries()[0].first == "TOP");
    CHECK(caps.entries()[2].second == std::vector<std::string>{"CRAM-MD5", "KERBEROS_V4"});
    CHECK(caps.has("pipelining"));
    CHECK_FALSE(caps.has("STLS"));
    CHECK(caps.has_argument("sasl", "cram-md5"));
    CHECK_FALSE(caps.has_argument("SASL", "PLAIN"));
    CHECK(caps.find("EXPIRE")->at(0) == "60");
    CHECK(caps.find("TOP")->empty());

    caps.add_line("top x", ec);
    CHECK(caps.entries().size() == 9);
    CHECK(caps.find("TOP")->at(0) == "x");
}

TEST_CASE("CAPA: malformed lines are errors") {
    capabilities caps;
    for (auto bad : {"", " TOP", "T\x01P"}) {
        INFO(bad);
        std::error_code ec;
        caps.add_line(bad, ec);
        CHECK(ec == error::bad_capa_line);
    }
    CHECK(caps.empty());
}
