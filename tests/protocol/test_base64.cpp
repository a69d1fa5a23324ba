#include "pop3/protocol/base64.hpp"
#include "pop3/protocol/error.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

namespace {

std::string decode_ok(std::string_view in) {
    std::string out = "stale";
    std::error_code ec = pop3::error::need_more;
    INFO("input: " << in);
    REQUIRE(pop3::base64_decode(in, out, ec));
    REQUIRE(!ec);
    return out;
}

void decode_bad(std::string_view in) {
    std::string out = "stale";
    std::error_code ec;
    INFO("input: " << in);
    CHECK_FALSE(pop3::base64_decode(in, out, ec));
    CHECK(ec == pop3::error::bad_base64);
    CHECK(out.empty());
}

} // namespace

TEST_CASE("base64 RFC 4648 section 10 test vectors", "[base64]") {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(pop3::base64_encode(plain) == encoded);
        CHECK(decode_ok(encoded) == plain);
    }
}

TEST_CASE("base64 uses the standard alphabet, not the URL-safe one", "[base64]") {
    CHECK(pop3::base64_encode("\xfb\xff\xbf") == "+/+/");
    CHECK(decode_ok("+/+/") == "\xfb\xff\xbf");
    decode_bad("-_-_");
}

TEST_CASE("base64 round-trips every byte value", "[base64]") {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    // Every length modulo 3, and every byte in every position of a quantum.
    for (std::size_t shift = 0; shift < 3; ++shift) {
        const std::string input = all.substr(shift);
        const std::string enc = pop3::base64_encode(input);
        CHECK(enc.size() % 4 == 0);
        CHECK(decode_ok(enc) == input);
    }
    for (int i = 0; i < 256; ++i) {
        const std::string one(1, static_cast<char>(i));
        CHECK(decode_ok(pop3::base64_encode(one)) == one);
    }
}

TEST_CASE("base64 refuses lengths that are not a multiple of 4", "[base64]") {
    decode_bad("Z");
    decode_bad("Zg");
    decode_bad("Zg=");
    decode_bad("Zm9");
    decode_bad("Zm9vY");
    decode_bad("Zm9vYmFy=");
    decode_bad("=");
}

TEST_CASE("base64 refuses characters outside the alphabet", "[base64]") {
    decode_bad("Zm9*");
    decode_bad("Zm9v\x80mFy");
    decode_bad(std::string_view("Zm9\0", 4));
    decode_bad("Zm.v");
    decode_bad("!!!!");
}

TEST_CASE("base64 refuses whitespace anywhere", "[base64]") {
    decode_bad(" Zm9v");
    decode_bad("Zm9v ");
    decode_bad("Zm9 v");
    decode_bad("Zm9v\r\nYmFy");
    decode_bad("Zm9vYmFy\r\n");
    decode_bad("Zm\t9vYmFy");
    decode_bad("    ");
}

TEST_CASE("base64 refuses misplaced padding", "[base64]") {
    decode_bad("====");
    decode_bad("Z===");
    decode_bad("=g==");
    decode_bad("Zg=A");     // '=' then data in the last quantum
    decode_bad("Zg==Zm9v"); // padding before the last quantum
    decode_bad("Zm8=Zm9v"); // padding before the last quantum
    decode_bad("Zm=v");     // '=' in third place with data after
    decode_bad("Zm9vZ===");
}

TEST_CASE("base64 refuses non-zero pad bits", "[base64]") {
    // "Zg==" is 'f'; "Zh==" has the same byte but a non-zero low nibble in 'h'.
    decode_ok("Zg==");
    decode_bad("Zh==");
    decode_bad("Zv==");
    // "Zm8=" is "fo"; "Zm9=" sets one of the two pad bits.
    decode_ok("Zm8=");
    decode_bad("Zm9=");
    decode_bad("Zm/=");
}

TEST_CASE("base64 empty input decodes to empty and clears the output", "[base64]") {
    std::string out = "stale";
    std::error_code ec = pop3::error::bad_base64;
    CHECK(pop3::base64_decode("", out, ec));
    CHECK(!ec);
    CHECK(out.empty());
}
