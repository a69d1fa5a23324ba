#include "pop3/protocol/command.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace pop3;
using namespace std::string_literals;

namespace {
std::string format(std::string_view keyword, std::vector<std::string_view> args,
                   std::error_code& ec, const limits& lim = {}) {
    std::string out = "stale";
    format_command(keyword, args, out, ec, lim);
    if (ec) CHECK(out.empty()); // nothing half-formatted can reach the wire
    return out;
}
std::string format_ok(std::string_view keyword, std::vector<std::string_view> args) {
    std::error_code ec;
    auto out = format(keyword, std::move(args), ec);
    REQUIRE_FALSE(ec);
    return out;
}
parsed_command parse_ok(std::string_view line) {
    std::error_code ec;
    auto cmd = parse_command(line, ec);
    INFO(line);
    REQUIRE_FALSE(ec);
    return cmd;
}
std::error_code parse_error(std::string_view line) {
    std::error_code ec;
    diagnostics diag;
    parse_command(line, ec, &diag);
    if (ec) CHECK_FALSE(diag.message.empty());
    return ec;
}
} // namespace

TEST_CASE("command table: one entry per command, looked up case-insensitively") {
    CHECK(command_table().size() == 18);
    CHECK(find_command("retr")->id == command_id::retr);
    CHECK(find_command("Uidl")->id == command_id::uidl);
    CHECK(find_command("XTND") == nullptr);
    CHECK(info(command_id::top).keyword == "TOP");
    CHECK(info(command_id::unknown).keyword.empty());
}

TEST_CASE("command table: entry i is command_id i, and the size is the number of ids") {
    const auto table = command_table();
    CHECK(table.size() == static_cast<std::size_t>(command_id::unknown));
    for (std::size_t i = 0; i < table.size(); ++i) {
        INFO(table[i].keyword);
        CHECK(static_cast<std::size_t>(table[i].id) == i);
        CHECK(&info(table[i].id) == &table[i]);
        CHECK(find_command(table[i].keyword) == &table[i]);
    }
    const auto& unknown = info(command_id::unknown);
    CHECK_FALSE(unknown.valid_in(session_state::authorization));
    CHECK_FALSE(unknown.valid_in(session_state::transaction));
    CHECK(expected_reply(command_id::unknown, 0) == reply_shape::single_line);
}

// Written out from the RFCs, apart from the table, so that a wrong entry in either fails.
TEST_CASE("command table: every command's reply shapes and valid states") {
    constexpr auto single = reply_shape::single_line;
    constexpr auto multi = reply_shape::multi_line;
    constexpr auto sasl = reply_shape::sasl;
    constexpr bool yes = true, no = false;
    struct row {
        std::string_view keyword;
        reply_shape without_args, with_args;
        bool listing_without_args, listing_with_args; // carries_listing()
        bool authorization, transaction;
    };
    const row rows[] = {
        // RFC 1939 §7, §4
        {"USER", single, single, no, no, yes, no},
        {"PASS", single, single, no, no, yes, no},
        {"APOP", single, single, no, no, yes, no},
        // RFC 5034 §4: AUTH alone lists mechanisms; with one it runs a SASL exchange
        {"AUTH", multi, sasl, yes, no, yes, no},
        {"RPOP", single, single, no, no, yes, no}, // RFC 1081
        // RFC 1939 §5: LIST and UIDL without an argument are listings, with one a line
        {"STAT", single, single, no, no, no, yes},
        {"LIST", multi, single, yes, no, no, yes},
        {"RETR", multi, multi, no, no, no, yes},
        {"DELE", single, single, no, no, no, yes},
        {"NOOP", single, single, no, no, no, yes},
        {"RSET", single, single, no, no, no, yes},
        {"TOP", multi, multi, no, no, no, yes},
        {"UIDL", multi, single, yes, no, no, yes},
        {"QUIT", single, single, no, no, yes, yes}, // RFC 1939 §6 and §4
        {"CAPA", multi, multi, yes, yes, yes, yes}, // RFC 2449 §5: both states
        {"STLS", single, single, no, no, yes, no},  // RFC 2595 §4: only before login
        {"UTF8", single, single, no, no, yes, no},  // RFC 6856 §2: AUTHORIZATION only
        {"LANG", multi, single, yes, no, yes, yes}, // RFC 6856 §3: both states
    };
    REQUIRE(std::size(rows) == command_table().size());
    for (const auto& r : rows) {
        INFO(r.keyword);
        const command_info* c = find_command(r.keyword);
        REQUIRE(c != nullptr);
        CHECK(c->reply_without_args == r.without_args);
        CHECK(c->reply_with_args == r.with_args);
        CHECK(expected_reply(c->id, 0) == r.without_args);
        for (std::size_t n : {1, 2})
            CHECK(expected_reply(c->id, n) == r.with_args);
        CHECK(carries_listing(c->id, 0) == r.listing_without_args);
        CHECK(carries_listing(c->id, 1) == r.listing_with_args);
        CHECK(c->can_be_multi_line() == (r.without_args == multi || r.with_args == multi));
        CHECK(c->valid_in(session_state::authorization) == r.authorization);
        CHECK(c->valid_in(session_state::transaction) == r.transaction);
        CHECK_FALSE(c->valid_in(session_state::update)); // RFC 1939 §6: no command after QUIT
    }
    // The two that a hand-kept list of multi-line commands once missed.
    CHECK(find_command("AUTH")->can_be_multi_line());
    CHECK(find_command("LANG")->can_be_multi_line());
    CHECK_FALSE(find_command("STAT")->can_be_multi_line());
}

TEST_CASE("reply shape depends on the command and its arguments") {
    CHECK(expected_reply(command_id::list, 0) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::list, 1) == reply_shape::single_line);
    CHECK(expected_reply(command_id::uidl, 0) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::uidl, 1) == reply_shape::single_line);
    CHECK(expected_reply(command_id::retr, 1) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::top, 2) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::capa, 0) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::auth, 1) == reply_shape::sasl);
    CHECK(expected_reply(command_id::auth, 2) == reply_shape::sasl);
    CHECK(expected_reply(command_id::auth, 0) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::lang, 0) == reply_shape::multi_line);
    CHECK(expected_reply(command_id::lang, 1) == reply_shape::single_line);
    for (auto id : {command_id::user, command_id::pass, command_id::apop, command_id::stat,
                    command_id::dele, command_id::noop, command_id::rset, command_id::quit,
                    command_id::stls, command_id::utf8, command_id::rpop})
        CHECK(expected_reply(id, 0) == reply_shape::single_line);
}

TEST_CASE("listings are the multi-line replies that are not a message") {
    CHECK(carries_listing(command_id::list, 0));
    CHECK(carries_listing(command_id::uidl, 0));
    CHECK(carries_listing(command_id::lang, 0));
    CHECK(carries_listing(command_id::capa, 0));
    CHECK(carries_listing(command_id::auth, 0));
    CHECK_FALSE(carries_listing(command_id::list, 1));
    CHECK_FALSE(carries_listing(command_id::uidl, 1));
    CHECK_FALSE(carries_listing(command_id::auth, 1)); // a SASL exchange
    CHECK_FALSE(carries_listing(command_id::retr, 1)); // a message: max_buffered_body
    CHECK_FALSE(carries_listing(command_id::top, 2));
    CHECK_FALSE(carries_listing(command_id::stat, 0));
    CHECK(limits{}.max_listing_octets == std::size_t{64} << 20);
}

TEST_CASE("format_command: RFC 1939 examples") {
    CHECK(format_ok("USER", {"mrose"}) == "USER mrose\r\n");
    CHECK(format_ok("APOP", {"mrose", "c4c9334bac560ecc979e58001b3e22fb"}) ==
          "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    CHECK(format_ok("TOP", {"1", "10"}) == "TOP 1 10\r\n");
    CHECK(format_ok("STAT", {}) == "STAT\r\n");
    CHECK(format_ok("PASS", {"secret with spaces"}) == "PASS secret with spaces\r\n");
    std::error_code ec;
    std::string out;
    const std::string_view args[] = {"2"};
    format_command(command_id::retr, args, out, ec);
    CHECK(out == "RETR 2\r\n");
}

TEST_CASE("format_command: refuses command injection before anything is sent") {
    std::error_code ec;
    for (auto arg : {"x\r\nDELE 1"s, "x\nDELE 1"s, "x\rDELE 1"s, "x\0y"s}) {
        INFO(arg);
        format("USER", {arg}, ec);
        CHECK(ec == error::forbidden_char_in_argument);
        format("PASS", {arg}, ec);
        CHECK(ec == error::forbidden_char_in_argument);
    }
    format("USER", {"two words"}, ec);
    CHECK(ec == error::forbidden_char_in_argument);
    format("USER", {""}, ec);
    CHECK(ec == error::wrong_argument_count);
    format("ST\r\nAT", {}, ec);
    CHECK(ec == error::bad_keyword);
    format("", {}, ec);
    CHECK(ec == error::empty_command);
}

TEST_CASE("format_command: refuses lines over the limit, CRLF included") {
    std::error_code ec;
    const std::string fits(255 - 7, 'p'); // "PASS " + arg + CRLF = 255
    CHECK(format("PASS", {fits}, ec).size() == 255);
    CHECK_FALSE(ec);
    format("PASS", {fits + "p"}, ec);
    CHECK(ec == error::command_too_long);
    limits lim;
    lim.max_command_line = 1000;
    format("PASS", {fits + "p"}, ec, lim);
    CHECK_FALSE(ec);
}

TEST_CASE("parse_command: keywords are case-insensitive, arguments split by one space") {
    auto cmd = parse_ok("retr 1");
    CHECK(cmd.id == command_id::retr);
    CHECK(cmd.keyword == "retr");
    REQUIRE(cmd.arg_count == 1);
    CHECK(cmd.args[0] == "1");

    cmd = parse_ok("TOP 1 10");
    CHECK(cmd.arguments().size() == 2);
    CHECK(cmd.args[1] == "10");

    cmd = parse_ok("PASS my secret  pass ");
    CHECK(cmd.args[0] == "my secret  pass ");
    CHECK(parse_ok("PASS ").args[0].empty());

    cmd = parse_ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb");
    CHECK(cmd.args[1] == "c4c9334bac560ecc979e58001b3e22fb");
    CHECK(parse_ok("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=").arg_count == 2);
    CHECK(parse_ok("AUTH").arg_count == 0);
    CHECK(parse_ok("LIST").arg_count == 0);
    CHECK(parse_ok("UTF8").id == command_id::utf8);
    CHECK(parse_ok("TOP 1 0").args[1] == "0");
}

TEST_CASE("parse_command: syntax errors carry their reason") {
    CHECK(parse_error("") == error::empty_command);
    CHECK(parse_error("ST") == error::bad_keyword);
    CHECK(parse_error("STATS") == error::bad_keyword);
    CHECK(parse_error(" STAT") == error::bad_keyword);
    CHECK(parse_error("ST-T") == error::bad_keyword);
    CHECK(parse_error("XTND") == error::unknown_command);
    CHECK(parse_error("STAT 1") == error::wrong_argument_count);
    CHECK(parse_error("RETR") == error::wrong_argument_count);
    CHECK(parse_error("TOP 1") == error::wrong_argument_count);
    CHECK(parse_error("TOP 1 2 3") == error::wrong_argument_count);
    CHECK(parse_error("LIST ") == error::wrong_argument_count);
    CHECK(parse_error("LIST  1") == error::wrong_argument_count);
    CHECK(parse_error("RETR 0") == error::bad_message_number);
    CHECK(parse_error("RETR -1") == error::bad_message_number);
    CHECK(parse_error("RETR one") == error::bad_message_number);
    CHECK(parse_error("RETR 99999999999999999999999") == error::bad_message_number);
    CHECK(parse_error("DELE 1x") == error::bad_message_number);
    CHECK(parse_error("TOP 1 -5") == error::bad_number);
    CHECK(parse_error("USER a\rb") == error::forbidden_char_in_argument);

    std::error_code ec;
    auto cmd = parse_command("XTND foo", ec);
    CHECK(ec == error::unknown_command);
    CHECK(cmd.keyword == "XTND");
    CHECK(cmd.id == command_id::unknown);
}

TEST_CASE("format then parse round-trips every command") {
    for (const auto& c : command_table()) {
        std::vector<std::string_view> args;
        for (std::size_t i = 0; i < c.min_args; ++i)
            args.push_back(i == 0 ? "1" : "5");
        std::error_code ec;
        auto wire = format(c.keyword, args, ec);
        REQUIRE_FALSE(ec);
        auto cmd = parse_ok(std::string_view(wire).substr(0, wire.size() - 2));
        CHECK(cmd.id == c.id);
        CHECK(cmd.arg_count == args.size());
    }
}
