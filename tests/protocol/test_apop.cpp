#include "pop3/protocol/apop.hpp"
#include "pop3/protocol/digest.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

using pop3::apop_timestamp;

TEST_CASE("APOP digest matches the RFC 1939 example", "[apop]") {
    CHECK(pop3::apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf") ==
          "c4c9334bac560ecc979e58001b3e22fb");
    CHECK(pop3::apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaag") !=
          "c4c9334bac560ecc979e58001b3e22fb");
}

TEST_CASE("APOP timestamp from the RFC 1939 greeting", "[apop]") {
    const std::string line = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
    const auto ts = apop_timestamp(line);
    REQUIRE(ts);
    CHECK(*ts == "<1896.697170952@dbc.mtview.ca.us>");
    // A view into the line, not a copy.
    CHECK(ts->data() == line.data() + line.find('<'));
    CHECK(pop3::apop_digest(*ts, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb");
}

TEST_CASE("APOP timestamp absent", "[apop]") {
    CHECK_FALSE(apop_timestamp("+OK POP3 server ready"));
    CHECK_FALSE(apop_timestamp("+OK POP3 server ready <1896.697170952@dbc"));   // '<' without '>'
    CHECK_FALSE(apop_timestamp("+OK POP3 server ready >x@y<"));                 // '>' before '<'
    CHECK_FALSE(apop_timestamp("-ERR busy <1896.697170952@dbc.mtview.ca.us>")); // not +OK
    CHECK_FALSE(apop_timestamp("+ok <a@b>"));                                   // case-sensitive
    CHECK_FALSE(apop_timestamp("+OK"));                                         // no octet after
    CHECK_FALSE(apop_timestamp(""));
    CHECK_FALSE(apop_timestamp("<a@b> +OK <c@d>")); // must start with +OK
    CHECK_FALSE(apop_timestamp(" +OK <a@b>"));
}

TEST_CASE("APOP timestamp runs from the first '<' to the last '>'", "[apop]") {
    CHECK(apop_timestamp("+OK <a@b> and <c@d>") == "<a@b> and <c@d>");
    CHECK(apop_timestamp("+OK <a@b> trailing > text") == "<a@b> trailing >");
    CHECK(apop_timestamp("+OK <<a@b>>") == "<<a@b>>");
    CHECK(apop_timestamp("+OK x<>") == "<>"); // syntax is checked separately
    // The first '<' wins even if only a later one would close properly.
    CHECK(apop_timestamp("+OK <a@b <c@d>") == "<a@b <c@d>");
}

TEST_CASE("APOP timestamp: the octet after +OK is skipped, even if it is '<'", "[apop]") {
    // Python's '\+OK.' consumes index 3 whatever it is.
    CHECK(apop_timestamp("+OK<a@b>") == std::nullopt);
    CHECK(apop_timestamp("+OK<a@b> <c@d>") == "<c@d>");
    CHECK(apop_timestamp("+OK <a@b>") == "<a@b>");
    CHECK(apop_timestamp("+OKx<a@b>") == "<a@b>");
}

TEST_CASE("APOP timestamp scan stops at LF like Python's '.'", "[apop]") {
    CHECK(apop_timestamp("+OK <a@b\n>") == std::nullopt);
    CHECK(apop_timestamp("+OK <a@b>\n>") == "<a@b>");
    CHECK(apop_timestamp("+OK\n<a@b>") == std::nullopt);
}

TEST_CASE("APOP timestamp is linear on a 100 KB line of '<'", "[apop]") {
    std::string line = "+OK ";
    line.append(100 * 1024, '<');
    CHECK_FALSE(apop_timestamp(line));
    line += '>';
    const auto ts = apop_timestamp(line);
    REQUIRE(ts);
    CHECK(ts->size() == 100 * 1024 + 1);
}

TEST_CASE("APOP well-formed timestamps", "[apop]") {
    CHECK(pop3::is_well_formed_timestamp("<1896.697170952@dbc.mtview.ca.us>"));
    CHECK(pop3::is_well_formed_timestamp("<a@b>"));
    CHECK(pop3::is_well_formed_timestamp("<@>"));
    CHECK(pop3::is_well_formed_timestamp("<a-b_c+d/e.f@G9>"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("<>"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("<ab>"));        // no '@'
    CHECK_FALSE(pop3::is_well_formed_timestamp("<a b@c>"));     // space
    CHECK_FALSE(pop3::is_well_formed_timestamp("<a@b> <c@d>")); // two of them
    CHECK_FALSE(pop3::is_well_formed_timestamp("<a<b@c>"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("a@b"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("<a@b"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("a@b>"));
    CHECK_FALSE(pop3::is_well_formed_timestamp("<a@b\xc3\xa9>"));
    CHECK_FALSE(pop3::is_well_formed_timestamp(""));
}

TEST_CASE("digest known answers", "[apop][digest]") {
    CHECK(pop3::md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(pop3::md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(pop3::md5("abc").size() == 16);
    // RFC 2104 / RFC 2202 test case 2.
    CHECK(pop3::hmac_md5_hex("Jefe", "what do ya want for nothing?") ==
          "750c783e6ab0b503eaa86e310a5db738");
    CHECK(pop3::hmac_md5_hex("", "") == "74e6f7298a9c2d168935f58c001bad88");
    CHECK(pop3::to_hex(pop3::sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // RFC 4231 test case 2.
    CHECK(pop3::to_hex(pop3::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(pop3::to_hex(pop3::hmac_sha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    // RFC 7914 section 11.
    CHECK(pop3::to_hex(pop3::pbkdf2_sha256("passwd", "salt", 1, 64)) ==
          "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
          "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    CHECK_THROWS_AS(pop3::pbkdf2_sha256("p", "s", 0), std::invalid_argument);
}

TEST_CASE("digest helpers compose into SCRAM-SHA-256 (RFC 7677 example)", "[digest]") {
    // Salt "W22ZaJ0SNY7soEsUEjb6gQ==" decoded.
    const std::string salt = "\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14\x12\x36\xfa\x81";
    const std::string auth_message =
        "n=user,r=rOprNGfwEbeRWgbNEkqO,"
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const std::string salted = pop3::pbkdf2_sha256("pencil", salt, 4096);
    const std::string client_key = pop3::hmac_sha256(salted, "Client Key");
    const std::string signature = pop3::hmac_sha256(pop3::sha256(client_key), auth_message);
    std::string proof = client_key;
    for (std::size_t i = 0; i < proof.size(); ++i)
        proof[i] = static_cast<char>(proof[i] ^ signature[i]);
    const std::string server_sig =
        pop3::hmac_sha256(pop3::hmac_sha256(salted, "Server Key"), auth_message);
    // Expected values are the base64 in RFC 7677, rendered here in hex.
    CHECK(pop3::to_hex(proof) ==
          "747cdb65aa56224e2352137e52d7bdcad6a0f738df30782caa69a2cfb0277554");
    CHECK(pop3::to_hex(server_sig) ==
          "eabae24d1062db75a9451ff0b6ea7e98c8546549ff741e672d3251b2397de46e");
}

TEST_CASE("constant_time_equal", "[digest]") {
    CHECK(pop3::constant_time_equal("", ""));
    CHECK(pop3::constant_time_equal("abc", "abc"));
    CHECK_FALSE(pop3::constant_time_equal("abc", "abd"));
    CHECK_FALSE(pop3::constant_time_equal("abc", "ab"));
}
