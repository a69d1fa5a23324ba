#include "pop3/protocol/error.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace pop3;

TEST_CASE("pop3::error has its own category and starts at 1") {
    std::error_code ec = error::need_more;
    CHECK(ec.value() == 1);
    CHECK(ec.category() == error_category());
    CHECK(std::string(ec.category().name()) == "pop3");
    CHECK(std::error_code{} != error::need_more);
    CHECK(ec.message() == "more input is needed");
    // Every enumerator has its own message.
    std::set<std::string> messages;
    for (int v = 1; v <= static_cast<int>(error::last_error); ++v) {
        auto m = make_error_code(static_cast<error>(v)).message();
        CHECK(m != "unknown pop3 error");
        messages.insert(m);
    }
    CHECK(messages.size() == static_cast<std::size_t>(error::last_error));
}

TEST_CASE("escape_for_display escapes and truncates") {
    CHECK(escape_for_display("a\r\n\\") == "a\\r\\n\\\\");
    CHECK(escape_for_display(std::string_view("\0\x7f\xff", 3)) == "\\0\\x7F\\xFF");
    CHECK(escape_for_display(std::string(200, 'x'), 10) == std::string(10, 'x') + "...");
}

TEST_CASE("diagnostics::to_string names the problem, the line and the offset") {
    diagnostics d;
    d.set("bad thing", "+ERR\r", 42);
    CHECK(d.to_string() == "bad thing: '+ERR\\r' at offset 42");
    d.clear();
    CHECK(d.to_string().empty());
}
