#include "pop3/protocol/reply.hpp"

#include <catch2/catch.hpp>

using namespace pop3;

namespace {
status_line parse(std::string_view line, bool continuation = false) {
    std::error_code ec;
    auto s = parse_status_line(line, continuation, ec);
    REQUIRE_FALSE(ec);
    return s;
}
std::error_code parse_error(std::string_view line, bool continuation = false) {
    std::error_code ec;
    diagnostics diag;
    parse_status_line(line, continuation, ec, &diag);
    if (ec) CHECK(diag.offending == escape_for_display(line));
    return ec;
}
} // namespace

TEST_CASE("status line: RFC 1939 examples") {
    auto s = parse("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
    CHECK(s.status == reply_status::ok);
    CHECK(s.text == "POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
    CHECK_FALSE(s.code.present());

    s = parse("-ERR no such message");
    CHECK(s.status == reply_status::err);
    CHECK(s.text == "no such message");
}

TEST_CASE("status line: no text is valid") {
    CHECK(parse("+OK").status == reply_status::ok);
    CHECK(parse("+OK").text.empty());
    CHECK(parse("-ERR").status == reply_status::err);
    CHECK(parse("+OK ").text.empty());
}

TEST_CASE("status line: anything else is a protocol error, never a success") {
    for (auto bad : {"+ERR", "+ok", "-err", "OK", "", "+OKAY", "-ERROR x", " +OK", "+OK\tx", "+",
                     "+ xyz", "* OK", "ERR"}) {
        INFO(bad);
        CHECK(parse_error(bad));
    }
    CHECK(parse_error("+ERR") == error::bad_status_indicator);
    CHECK(parse_error("+ abc") == error::unexpected_continuation);
}

TEST_CASE("status line: SASL continuation only when allowed") {
    auto s = parse("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", true);
    CHECK(s.status == reply_status::continuation);
    CHECK(s.challenge == "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
    CHECK(parse("+ ", true).challenge.empty());
    CHECK(parse("+", true).status == reply_status::continuation);
    CHECK(parse("+OK done", true).status == reply_status::ok);
    CHECK(parse_error("+ abc", false) == error::unexpected_continuation);
}

TEST_CASE("status line: RFC 2449/3206 response codes") {
    struct example {
        const char* line;
        response_code_kind kind;
        const char* code;
        const char* text;
    };
    const example examples[] = {
        {"-ERR [IN-USE] Do you have another POP session running?", response_code_kind::in_use,
         "IN-USE", "Do you have another POP session running?"},
        {"-ERR [LOGIN-DELAY] wait 15 minutes", response_code_kind::login_delay, "LOGIN-DELAY",
         "wait 15 minutes"},
        {"-ERR [SYS/TEMP] Unable to lock maildrop", response_code_kind::sys_temp, "SYS/TEMP",
         "Unable to lock maildrop"},
        {"-ERR [SYS/PERM] disk failure", response_code_kind::sys_perm, "SYS/PERM", "disk failure"},
        {"-ERR [SYS/OTHER] x", response_code_kind::sys_other, "SYS/OTHER", "x"},
        {"-ERR [SYS] x", response_code_kind::sys_other, "SYS", "x"},
        {"-ERR [AUTH] Invalid password", response_code_kind::auth, "AUTH", "Invalid password"},
        {"-ERR [UTF8] UTF-8 mode needed", response_code_kind::utf8, "UTF8", "UTF-8 mode needed"},
        {"-ERR [in-use] lower case", response_code_kind::in_use, "in-use", "lower case"},
        {"-ERR [X-VENDOR/SUB] vendor", response_code_kind::other, "X-VENDOR/SUB", "vendor"},
        {"+OK [IN-USE]", response_code_kind::in_use, "IN-USE", ""},
        {"-ERR [AUTH]no space", response_code_kind::auth, "AUTH", "no space"},
    };
    for (const auto& e : examples) {
        INFO(e.line);
        auto s = parse(e.line);
        CHECK(s.code.kind == e.kind);
        CHECK(s.code.text == e.code);
        CHECK(s.text == e.text);
        CHECK(s.full_text ==
              std::string_view(e.line).substr(std::string_view(e.line).find(' ') + 1));
    }
    CHECK(parse("-ERR [SYS/TEMP] x").code.is_transient());
    CHECK(parse("-ERR [IN-USE] x").code.is_transient());
    CHECK_FALSE(parse("-ERR [SYS/PERM] x").code.is_transient());
    CHECK_FALSE(parse("-ERR [AUTH] x").code.is_transient());
}

TEST_CASE("status line: brackets that are not a response code stay text") {
    for (auto line : {"-ERR [unterminated", "-ERR []", "-ERR [A B] x", "-ERR [/X] x", "-ERR [X/] x",
                      "-ERR [A//B] x", "-ERR x [IN-USE]"}) {
        INFO(line);
        auto s = parse(line);
        CHECK_FALSE(s.code.present());
        CHECK(s.text == s.full_text);
    }
}
