#include "pop3/mockserver/recorder.hpp"
#include "support/temp_dir.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <pop3/conformance/pattern.hpp>
#include <pop3/conformance/transcript.hpp>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using pop3::mock::recorder;

namespace {

using pop3::test::temp_dir;

// Records what `play` feeds the recorder, and returns the file once the recorder is gone.
template <class Play>
std::string record(Play play, bool mask = true) {
    temp_dir d;
    {
        recorder rec(d.path / "session-1.pop3", mask);
        play(rec);
    }
    return d.read("session-1.pop3");
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("recorder: complete lines are masked") {
    const auto text = record([](recorder& r) {
        r.server_bytes("+OK ready\r\n");
        r.client_bytes("USER a\r\nPASS s3cretpw\r\n");
        r.server_bytes("+OK\r\n+OK\r\n");
    });
    CHECK(has_line(text, "C: USER a"));
    CHECK(has_line(text, "C: PASS ****"));
    CHECK(text.find("s3cretpw") == std::string::npos);
    CHECK(text.ends_with("# end of session\n"));
}

TEST_CASE("recorder: an incomplete last client line is masked as a C: line is") {
    SECTION("PASS without CRLF") {
        const auto text = record([](recorder& r) {
            r.server_bytes("+OK ready\r\n");
            r.client_bytes("USER a\r\n");
            r.server_bytes("+OK\r\n");
            r.client_bytes("PASS s3cretpw");
        });
        CHECK(text.find("s3cretpw") == std::string::npos);
        CHECK(has_line(text, "# incomplete client line: PASS ****"));
    }
    SECTION("APOP without CRLF") {
        const auto text =
            record([](recorder& r) { r.client_bytes("APOP a c4c9334bac560ecc979e"); });
        CHECK(text.find("c4c9334b") == std::string::npos);
        CHECK(has_line(text, "# incomplete client line: APOP a ****"));
    }
    SECTION("an unfinished AUTH PLAIN response") {
        const auto text = record([](recorder& r) {
            r.client_bytes("AUTH PLAIN\r\n");
            r.server_bytes("+ \r\n");
            r.client_bytes("AGEAczNjcmV0cHc"); // base64 of "\0a\0s3cretpw", cut short
        });
        CHECK(text.find("AGEAczNjcmV0cHc") == std::string::npos);
        CHECK(has_line(text, "# incomplete client line: ****"));
    }
    SECTION("an unfinished AUTH line with an initial response") {
        const auto text = record([](recorder& r) { r.client_bytes("AUTH PLAIN AGEAczNjcmV0cHc"); });
        CHECK(text.find("AGEAczNjcmV0cHc") == std::string::npos);
        CHECK(has_line(text, "# incomplete client line: AUTH PLAIN ****"));
    }
    SECTION("other commands and server lines are kept, escaped") {
        const auto text = record([](recorder& r) {
            r.client_bytes("STAT\r\nNOOP \x1b");
            r.server_bytes("+OK 1 2\r\n+OK cut sh\x07");
        });
        CHECK(has_line(text, "# incomplete client line: NOOP \\x1B"));
        CHECK(has_line(text, "# incomplete server line: +OK cut sh\\x07"));
    }
    SECTION("--no-mask keeps everything") {
        const auto text = record([](recorder& r) { r.client_bytes("PASS s3cretpw"); }, false);
        CHECK(has_line(text, "# incomplete client line: PASS s3cretpw"));
    }
}

TEST_CASE("recorder: a client line over 64 KiB is cut with its start masked, its rest skipped") {
    const std::string secret(70 * 1024, 's');
    SECTION("PASS") {
        const auto text = record([&](recorder& r) {
            r.client_bytes("USER a\r\n");
            r.client_bytes("PASS " + secret.substr(0, 40000));
            r.client_bytes(secret.substr(40000)); // 64 KiB and still no LF: cut here
            r.client_bytes("tail-of-secret\r\nSTAT\r\n");
            r.server_bytes("+OK\r\n-ERR line too long\r\n+OK 1 2\r\n");
        });
        CHECK(text.find("sss") == std::string::npos);
        CHECK(text.find("tail-of-secret") == std::string::npos);
        CHECK(text.find("# client line over 65536 octets without LF, cut (the rest of it is "
                        "skipped): PASS ****\n") != std::string::npos);
        CHECK(has_line(text, "C: STAT")); // recording goes on after the line's LF
        CHECK(has_line(text, "S: +OK 1 2"));
    }
    SECTION("a SASL response") {
        const auto text = record([&](recorder& r) {
            r.client_bytes("AUTH PLAIN\r\n");
            r.server_bytes("+ \r\n");
            r.client_bytes(secret);
            r.client_bytes("tail-of-secret\r\n");
            r.server_bytes("-ERR line too long\r\n");
            r.client_bytes("PASS x\r\n");
        });
        CHECK(text.find("sss") == std::string::npos);
        CHECK(text.find("tail-of-secret") == std::string::npos);
        CHECK(text.find("cut (the rest of it is skipped): ****\n") != std::string::npos);
        CHECK(has_line(text, "C: PASS ****"));
    }
    SECTION("a server line: its start is kept") {
        const auto text =
            record([&](recorder& r) { r.server_bytes("+OK " + secret, "tail\r\n+OK next\r\n"); });
        CHECK(text.find("# server line over 65536 octets without LF, cut (the rest of it is "
                        "skipped): +OK sss") != std::string::npos);
        CHECK(text.find("tail") == std::string::npos);
        CHECK(has_line(text, "S: +OK next"));
    }
}

TEST_CASE("recorder: a recording reads back as a transcript, every octet as it was") {
    // Every octet but LF in a line (a CR before the LF ends the line), as the client's and the
    // server's; then lines that end in a bare LF, and a '*' and '|' that must stay literal.
    std::string every;
    for (int b = 0; b < 256; ++b)
        if (b != '\n') every += static_cast<char>(b);
    const std::vector<std::string> client_lines = {every, "PASS ****|{x}", "NOOP"};
    const std::vector<std::string> server_lines = {every, "+OK *|{x} \\x41", "+OK"};
    const auto text = record(
        [&](recorder& r) {
            r.server_bytes(server_lines[0] + "\r\n");
            r.client_bytes(client_lines[0] + "\r\n");
            r.server_bytes(server_lines[1] + "\n"); // bare LF
            r.client_bytes(client_lines[1] + "\n"); // bare LF: sent raw (C=:)
            r.server_bytes(server_lines[2] + "\r\n");
            r.client_bytes(client_lines[2] + "\r\n");
        },
        false);
    const auto cases = pop3::conformance::parse_transcript(text, "session-1.pop3");
    REQUIRE(cases.size() == 1);
    const auto& steps = cases[0].steps;
    using kind = pop3::conformance::step::kind;
    std::vector<std::string> sent, expected;
    for (const auto& st : steps) {
        pop3::conformance::variables vars;
        if (st.what == kind::send)
            sent.push_back(pop3::conformance::expand(st.text, vars) + (st.crlf ? "\r\n" : ""));
        else if (st.what == kind::expect)
            expected.push_back(st.text);
    }
    REQUIRE(sent.size() == 3);
    CHECK(sent[0] == client_lines[0] + "\r\n");
    CHECK(sent[1] == client_lines[1] + "\n");
    CHECK(sent[2] == client_lines[2] + "\r\n");
    REQUIRE(expected.size() == 3);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        pop3::conformance::variables vars;
        INFO("S: " << expected[i]);
        CHECK(pop3::conformance::match_line(expected[i], server_lines[i], vars));
    }
    // The pattern is the line and nothing else: '*' and '|' were recorded as literals.
    pop3::conformance::variables vars;
    CHECK_FALSE(pop3::conformance::match_line(expected[1], "+OK anything", vars));
    CHECK_FALSE(pop3::conformance::match_line(expected[0], every + "x", vars));
}
