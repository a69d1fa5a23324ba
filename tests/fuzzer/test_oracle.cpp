#include "pop3/fuzzer/oracle.hpp"

#include <catch2/catch.hpp>
#include <pop3/fuzzer/executor.hpp>

using namespace pop3::fuzzer;
using pop3::reply_status;
using pop3::session_state;

namespace {

pop3::status_line status(std::string_view line) {
    std::error_code ec;
    auto s = pop3::parse_status_line(line, true, ec);
    REQUIRE(!ec);
    return s;
}

std::optional<finding> judge(const session_model& m, std::string_view wire) {
    return judge_reply(m, classify_line(wire, false), status("+OK"));
}

} // namespace

TEST_CASE("a line is certain only when every server reads it as one command") {
    CHECK(classify_line("LIST 1\r\n", false).certain);
    CHECK(classify_line("list 1\r\n", false).certain);
    CHECK(classify_line("PASS a b c\r\n", false).certain); // the rest of the line
    CHECK(classify_line("TOP 1 0\r\n", false).certain);
    for (std::string_view w :
         {"LIST 1\n", "LIST 1\r", "LIST  1\r\n", " LIST\r\n", "LIST \r\n", "LIST 1 2\r\n",
          "XYZZ\r\n", "\r\n", "RETR\r\n", "AUTH\r\n", "RPOP x\r\n"})
        CHECK_FALSE(classify_line(w, false).certain);
    CHECK_FALSE(classify_line(std::string("LIST 1\0\r\n", 9), false).certain);
    CHECK_FALSE(classify_line("LIST " + std::string(300, '9') + "\r\n", false).certain);
    CHECK(classify_line("AHVzZXIAcGFzcw==\r\n", true).certain);
    CHECK(classify_line("LIST 1\r\n", false).keyword() == "LIST");
    CHECK(classify_line("LIST 1\n", false).keyword() == "UNKNOWN");
}

TEST_CASE("the oracle: +OK where RFC 1939 requires -ERR") {
    session_model m;
    for (auto w : {"STAT\r\n", "LIST\r\n", "RETR 1\r\n", "DELE 1\r\n", "TOP 1 0\r\n", "UIDL\r\n"})
        CHECK(judge(m, w)->kind == finding_kind::wrong_state);
    for (auto w : {"USER a\r\n", "PASS a\r\n", "NOOP\r\n", "RSET\r\n", "CAPA\r\n", "QUIT\r\n"})
        CHECK_FALSE(judge(m, w));
    CHECK_FALSE(judge_reply(m, classify_line("STAT\r\n", false), status("-ERR no")));
    CHECK_FALSE(judge(m, "STAT\n")); // not certain: not judged

    m.state = session_state::transaction;
    CHECK(judge(m, "PASS x\r\n")->kind == finding_kind::wrong_state);
    CHECK(judge(m, "RETR 0\r\n")->kind == finding_kind::bad_message_number);
    CHECK(judge(m, "RETR -1\r\n")->kind == finding_kind::bad_message_number);
    CHECK(judge(m, "LIST 1a\r\n")->kind == finding_kind::bad_message_number);
    CHECK_FALSE(judge(m, "LIST 4294967297\r\n")); // the size is not known without STAT
    CHECK_FALSE(judge(m, "RETR 1\r\n"));
    CHECK_FALSE(judge(m, "NOOP\r\n"));

    // STAT before any deletion tells the maildrop's size.
    apply_reply(m, classify_line("STAT\r\n", false), status("+OK 3 312"));
    REQUIRE(m.count == 3u);
    CHECK_FALSE(judge(m, "LIST 3\r\n"));
    CHECK(judge(m, "LIST 4\r\n")->kind == finding_kind::bad_message_number);
    CHECK(judge(m, "LIST 4294967297\r\n")->kind == finding_kind::bad_message_number);
    // "+1" names message 1 (popa3d and Mailutils read it so; RFC 1939 has no grammar against
    // it); "+4" is still past the maildrop.
    CHECK_FALSE(judge(m, "LIST +1\r\n"));
    CHECK(judge(m, "LIST +4\r\n")->kind == finding_kind::bad_message_number);
    CHECK(judge(m, "LIST +\r\n")->kind == finding_kind::bad_message_number);
    CHECK(judge(m, "DELE 99999999999999999999999\r\n")->kind == finding_kind::bad_message_number);

    apply_reply(m, classify_line("DELE 2\r\n", false), status("+OK"));
    CHECK(judge(m, "RETR 2\r\n")->kind == finding_kind::deleted_message);
    CHECK(judge(m, "DELE 2\r\n")->kind == finding_kind::deleted_message);
    CHECK_FALSE(judge(m, "RETR 1\r\n"));
    apply_reply(m, classify_line("RSET\r\n", false), status("+OK"));
    CHECK_FALSE(judge(m, "RETR 2\r\n"));
}

TEST_CASE("a DELE answered +OK before login marks nothing deleted") {
    // The wrong-state finding is the DELE's; the later RETR of that message is no second one.
    session_model m;
    CHECK(judge(m, "DELE 1\r\n")->kind == finding_kind::wrong_state);
    apply_reply(m, classify_line("DELE 1\r\n", false), status("+OK"));
    apply_reply(m, classify_line("PASS p\r\n", false), status("+OK"));
    REQUIRE(m.state == session_state::transaction);
    CHECK_FALSE(judge(m, "RETR 1\r\n"));
}

TEST_CASE("a STAT after a deletion does not set the size") {
    session_model m;
    m.state = session_state::transaction;
    apply_reply(m, classify_line("DELE 1\r\n", false), status("+OK"));
    apply_reply(m, classify_line("STAT\r\n", false), status("+OK 2 200"));
    CHECK_FALSE(m.count);
    CHECK_FALSE(judge(m, "LIST 3\r\n"));
}

TEST_CASE("the model follows logins, SASL and QUIT") {
    session_model m;
    apply_reply(m, classify_line("USER u\r\n", false), status("+OK"));
    CHECK(m.state == session_state::authorization);
    apply_reply(m, classify_line("AUTH PLAIN\r\n", false), status("+ "));
    CHECK(m.sasl);
    CHECK(m.state_name() == "SASL");
    apply_reply(m, classify_line("AHVzZXIAcGFzcw==\r\n", true), status("+OK"));
    CHECK_FALSE(m.sasl);
    CHECK(m.state == session_state::transaction);
    apply_reply(m, classify_line("QUIT\r\n", false), status("+OK"));
    CHECK(m.state == session_state::update);
}

TEST_CASE("RSET goes before every QUIT on the wire") {
    session_input in;
    in.commands = {{"USER u\r\n", false},
                   {"QUIT\r\n", true},
                   {"quit now\r\n", false},
                   {"NOQUIT\r\n", false},
                   {"QUIT\t\r\n", false}};
    const auto w = wire_writes(in);
    REQUIRE(w.size() == 4);
    CHECK(w[0] == "USER u\r\nRSET\r\nQUIT\r\n");
    CHECK(w[1] == "RSET\r\nquit now\r\n");
    CHECK(w[2] == "NOQUIT\r\n");
    CHECK(w[3] == "RSET\r\nQUIT\t\r\n"); // a server may split at the tab
}

namespace {

std::optional<finding> contents(const session_model& m, std::string_view wire,
                                std::string_view reply, std::vector<std::string> body = {}) {
    return judge_contents(m, classify_line(wire, false), status(reply), body);
}

void learn(session_model& m, std::string_view wire, std::string_view reply,
           std::vector<std::string> body = {}) {
    apply_reply(m, classify_line(wire, false), status(reply), body);
}

} // namespace

TEST_CASE("framing: long status lines, bare LF, lines that were not dot-stuffed") {
    using pop3::deviation_bare_lf;
    const std::string at_limit = "+OK " + std::string(506, 'x'); // 510 + CRLF = 512
    CHECK_FALSE(judge_framing("NOOP", at_limit, 0, line_role::status, "NOOP"));
    const auto longer = judge_framing("NOOP", at_limit + "x", 0, line_role::status, "NOOP");
    REQUIRE(longer);
    CHECK(longer->kind == finding_kind::long_status_line);
    CHECK(longer->detail.find("513 octets") != std::string::npos);
    // AUTH challenges have no such limit; body lines neither.
    CHECK_FALSE(judge_framing("AUTH", "+ " + std::string(2000, 'A'), 0, line_role::continuation,
                              "AUTH PLAIN"));
    CHECK_FALSE(judge_framing("RETR", std::string(2000, 'A'), 0, line_role::body, "RETR 1"));

    CHECK(judge_framing("greeting", "+OK hi", deviation_bare_lf, line_role::status, "")->kind ==
          finding_kind::bare_lf);
    CHECK(judge_framing("RETR", "x", deviation_bare_lf, line_role::body, "RETR 1")->kind ==
          finding_kind::bare_lf);

    CHECK(judge_framing("RETR", ".hidden", 0, line_role::body, "RETR 2")->kind ==
          finding_kind::unstuffed_line);
    for (auto ok : {"..hidden", "..", "hidden.", ""})
        CHECK_FALSE(judge_framing("RETR", ok, 0, line_role::body, "RETR 2"));
}

TEST_CASE("the model: sizes and unique-ids do not change within a session") {
    session_model m;
    m.state = session_state::transaction;
    learn(m, "LIST\r\n", "+OK", {"1 120", "2 118", "3 80"});
    learn(m, "UIDL 2\r\n", "+OK 2 uid-two");
    CHECK_FALSE(contents(m, "LIST 2\r\n", "+OK 2 118"));
    CHECK_FALSE(contents(m, "UIDL 2\r\n", "+OK 2 uid-two"));
    CHECK_FALSE(contents(m, "UIDL\r\n", "+OK", {"1 a", "2 uid-two", "3 c"}));

    const auto size = contents(m, "LIST 2\r\n", "+OK 2 119");
    REQUIRE(size);
    CHECK(size->kind == finding_kind::inconsistent_listing);
    CHECK(size->expect == std::vector<std::string>{"S: +OK 2 118 || +OK 2 118 *"});

    const auto other = contents(m, "LIST 4294967297\r\n", "+OK 1 120");
    REQUIRE(other);
    CHECK(other->kind == finding_kind::wrong_listing);
    CHECK(other->expect == std::vector<std::string>{"S: +OK 4294967297 * || -ERR*"});

    // A listing is judged line by line; the reproducer expects the listing as it must be.
    const auto uids = contents(m, "UIDL\r\n", "+OK", {"1 a", "2 uid-two-1", "3 c"});
    REQUIRE(uids);
    CHECK(uids->kind == finding_kind::inconsistent_listing);
    CHECK(uids->expect ==
          std::vector<std::string>{"S: +OK*", "S: 1 a", "S: 2 uid-two", "S: 3 c", "S: ."});
    // A listing that does not parse is not judged.
    CHECK_FALSE(contents(m, "UIDL\r\n", "+OK", {"1 a", "two b"}));
}

TEST_CASE("the model: deleted messages are neither listed nor counted") {
    session_model m;
    m.state = session_state::transaction;
    learn(m, "STAT\r\n", "+OK 3 318");
    learn(m, "LIST\r\n", "+OK", {"1 120", "2 118", "3 80"});
    learn(m, "DELE 2\r\n", "+OK");
    CHECK_FALSE(contents(m, "STAT\r\n", "+OK 2 200"));
    CHECK_FALSE(contents(m, "LIST\r\n", "+OK", {"1 120", "3 80"}));

    const auto stat = contents(m, "STAT\r\n", "+OK 3 318");
    REQUIRE(stat);
    CHECK(stat->kind == finding_kind::wrong_count);
    CHECK(stat->expect == std::vector<std::string>{"S: +OK 2 *"});
    // The octets are not judged: STAT's need not be the sum of LIST's sizes.
    CHECK_FALSE(contents(m, "STAT\r\n", "+OK 2 1"));

    const auto listed = contents(m, "LIST\r\n", "+OK", {"1 120", "2 118", "3 80"});
    REQUIRE(listed);
    CHECK(listed->kind == finding_kind::listed_deleted);
    CHECK(listed->expect == std::vector<std::string>{"S: +OK*", "S: 1 120", "S: 3 80", "S: ."});

    // A DELE of "+1" deletes message 1 (popa3d, Mailutils): a correct STAT after it is no
    // wrong-count.
    session_model plus;
    plus.state = session_state::transaction;
    learn(plus, "STAT\r\n", "+OK 3 300");
    learn(plus, "DELE +1\r\n", "+OK");
    learn(plus, "DELE 2\r\n", "+OK");
    CHECK_FALSE(contents(plus, "STAT\r\n", "+OK 1 100"));
    CHECK(contents(plus, "STAT\r\n", "+OK 2 200"));

    session_model n;
    n.state = session_state::transaction;
    learn(n, "STAT\r\n", "+OK 3 318");
    learn(n, "DELE 1\r\n", "+OK");
    CHECK_FALSE(contents(n, "STAT\r\n", "+OK 2 1"));
    CHECK(contents(n, "STAT\r\n", "+OK 3 318")->expect == std::vector<std::string>{"S: +OK 2 *"});
    // After RSET nothing is deleted.
    learn(m, "RSET\r\n", "+OK");
    CHECK_FALSE(contents(m, "STAT\r\n", "+OK 3 318"));
}
