// The fuzzers' bug bench (planted_bug.hpp): each planted bug answers its trigger wrongly in the
// sans-I/O session, and the same input on a server without it is answered correctly. The two
// crashes are checked through planted_crash_due here (the test process must live) and through
// the pop3-mockserver program in test_mockserver_cli.cpp. Every test returns early, with a
// warning, in a build without POP3_PLANTED_BUGS.
#include "pop3/mockserver/config.hpp"
#include "pop3/mockserver/memory_driver.hpp"
#include "pop3/mockserver/planted_bug.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace pop3;
using namespace pop3::mock;

namespace {

// Whether the planted bugs can be tested here; warns when not.
bool compiled() {
    if (planted_bugs_compiled()) return true;
    WARN("built without POP3_PLANTED_BUGS: the planted bugs are not tested");
    return false;
}

server_config bench_config(std::vector<planted_bug> bugs) {
    server_config c;
    c.users.push_back({"user", "pass", default_maildrop()});
    c.planted = std::move(bugs);
    return c;
}

// The mock server with `bugs` planted, serving the default maildrop to user:pass, in memory.
struct server {
    explicit server(std::vector<planted_bug> bugs = {}) : config(bench_config(std::move(bugs))) {}
    server_config config;
    memory_driver drv{config, {false, true, "1.1"}};
    std::string greeting = drv.start();

    std::string login() { return drv.send("USER user\r\nPASS pass\r\n"); }
};

// What a server with `bugs` planted answers to `input` after a login, and whether it still reads.
struct outcome {
    std::string out;
    bool reading = false;
};
outcome after_login(std::vector<planted_bug> bugs, std::string_view input) {
    server s(std::move(bugs));
    REQUIRE(s.login() == "+OK send PASS\r\n+OK maildrop has 3 messages (312 octets)\r\n");
    outcome o;
    o.out = s.drv.send(input);
    o.reading = s.drv.reading();
    return o;
}

// The default maildrop's message 2 (118 octets), as sent without and with dot-stuffing.
constexpr std::string_view message_2_head =
    "From: bob@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Dots\r\n\r\n";
constexpr std::string_view message_2_body = "The next lines start with dots:\r\n.\r\n..\r\n"
                                            ".hidden\r\nend\r\n";
constexpr std::string_view message_2_stuffed_body = "The next lines start with dots:\r\n..\r\n"
                                                    "...\r\n..hidden\r\nend\r\n";

} // namespace

TEST_CASE("planted bugs: the names are the contract, and round-trip") {
    const std::vector<std::string_view> expected = {
        "list-crash-2g",           "rset-hang-3",
        "stls-keeps-plaintext",    "dele-twice-ok",
        "number-wraps-2^32",       "noop-leak",
        "pass-crash-300",          "unstuffed-dot",
        "uidl-changes-after-rset", "long-err-echo",
        "bare-lf-listing",         "list-shows-deleted",
        "stat-counts-deleted",     "capa-unterminated-transaction"};
    const auto all = all_planted_bugs();
    REQUIRE(all.size() == expected.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(to_string(all[i]) == expected[i]);
        CHECK(parse_planted_bug(expected[i]) == all[i]);
    }
    CHECK_FALSE(parse_planted_bug("LIST-CRASH-2G"));
    CHECK_FALSE(parse_planted_bug("number-wraps-2-32"));
    CHECK_FALSE(parse_planted_bug(""));
}

TEST_CASE("planted bugs: none planted, or not compiled in, changes nothing") {
    const std::vector<planted_bug> every(all_planted_bugs().begin(), all_planted_bugs().end());
    // Each trigger below is answered correctly by a server with no bug planted.
    CHECK_FALSE(planted_crash_due({}, session_state::transaction, "LIST 2147483648"));
    CHECK_FALSE(
        planted_crash_due({}, session_state::authorization, "PASS " + std::string(300, 'x')));
    if (!planted_bugs_compiled()) {
        CHECK_FALSE(planted_crash_due(every, session_state::transaction, "LIST 2147483648"));
        CHECK(after_login(every, "DELE 1\r\nDELE 1\r\n").out ==
              "+OK message 1 deleted\r\n-ERR message 1 already deleted\r\n");
        const auto before = planted_noop_leaked_octets();
        CHECK(after_login(every, "NOOP\r\n").out == "+OK\r\n");
        CHECK(planted_noop_leaked_octets() == before);
    }
}

TEST_CASE("planted bugs: every bug planted, commands that trigger none are answered as before") {
    if (!compiled()) return;
    const std::vector<planted_bug> every(all_planted_bugs().begin(), all_planted_bugs().end());
    // Message 1 (122 octets) and 3 (72) are outside unstuffed-dot's range; one RSET, answered
    // before any UIDL; no STAT after a DELE, no malformed line, no multi-line LIST, CAPA before
    // the login only.
    const std::string session = "STAT\r\nLIST 1\r\nLIST 3\r\nUIDL\r\nUIDL 2\r\nRETR 1\r\n"
                                "TOP 1 0\r\nRETR 3\r\nDELE 3\r\nLIST 2\r\nDELE 1\r\n"
                                "RETR 1\r\nRSET\r\nLIST 2147483647\r\nPASS x\r\n";
    const auto buggy = after_login(every, session);
    const auto correct = after_login({}, session);
    CHECK(buggy.out == correct.out);
    CHECK(buggy.reading);
    server a(every), b;
    CHECK(a.greeting == b.greeting);
    CHECK(a.drv.send("CAPA\r\n") == b.drv.send("CAPA\r\n"));
    CHECK(a.login() == b.login());
    CHECK(a.drv.send("QUIT\r\n") == b.drv.send("QUIT\r\n"));
}

TEST_CASE("planted bug list-crash-2g: LIST n with n >= 2^31 crashes the server") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::list_crash_2g};
    const auto due = [&](std::string_view line, session_state s = session_state::transaction) {
        return planted_crash_due(bug, s, line);
    };
    for (std::string_view line :
         {"LIST 2147483648", "list 2147483648", "LIST 4294967296", "LIST 0002147483648",
          "LIST 18446744073709551615", "LIST 18446744073709551616",
          "LIST 99999999999999999999999999999999999999"}) {
        INFO(line);
        CHECK(due(line) == planted_bug::list_crash_2g);
    }
    for (std::string_view line :
         {"LIST 2147483647", "LIST 1", "LIST", "LIST 2147483648 1", "LIST  2147483648",
          "LIST -2147483648", "LISTX 2147483648", "RETR 2147483648", "LIST 2147483648x"}) {
        INFO(line);
        CHECK_FALSE(due(line));
    }
    CHECK_FALSE(due("LIST 2147483648", session_state::authorization));
    CHECK_FALSE(planted_crash_due({}, session_state::transaction, "LIST 2147483648"));
    CHECK_FALSE(planted_crash_due(std::vector{planted_bug::pass_crash_300},
                                  session_state::transaction, "LIST 2147483648"));

    // Just below the trigger, the planted server answers as the correct one.
    CHECK(after_login(bug, "LIST 2147483647\r\n").out == "-ERR no such message\r\n");
    const auto correct = after_login({}, "LIST 2147483648\r\nLIST 99999999999999999999999\r\n");
    CHECK(correct.out == "-ERR no such message\r\n-ERR message number must be a positive decimal "
                         "number\r\n");
    CHECK(correct.reading);
}

TEST_CASE("planted bug pass-crash-300: PASS with 300 octets or more crashes the server") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::pass_crash_300};
    const auto due = [&](std::string_view line, session_state s = session_state::authorization) {
        return planted_crash_due(bug, s, line);
    };
    CHECK(due("PASS " + std::string(300, 'x')) == planted_bug::pass_crash_300);
    CHECK(due("pass " + std::string(299, 'x') + " ") == planted_bug::pass_crash_300);
    CHECK(due("PASS " + std::string(5000, 'x')) == planted_bug::pass_crash_300);
    CHECK_FALSE(due("PASS " + std::string(299, 'x')));
    CHECK_FALSE(due("PASS " + std::string(300, 'x'), session_state::transaction));
    CHECK_FALSE(due("USER " + std::string(300, 'x')));
    CHECK_FALSE(
        planted_crash_due({}, session_state::authorization, "PASS " + std::string(300, 'x')));

    // The line is over the 255-octet command-line limit: the planted server reads a PASS line on
    // until its end or its 300th argument octet. Shorter ones are refused as before.
    for (const std::vector<planted_bug>& bugs : {bug, std::vector<planted_bug>{}}) {
        INFO("planted: " << bugs.size());
        server s(bugs);
        CHECK(s.drv.send("USER user\r\nPASS " + std::string(299, 'x') + "\r\nNOOP\r\n") ==
              "+OK send PASS\r\n-ERR line too long (limit 255 octets including CRLF)\r\n"
              "-ERR command not valid in the AUTHORIZATION state\r\n");
        const std::string split = "PASS " + std::string(298, 'y') + "\r\n";
        std::string out;
        for (char c : split)
            out += s.drv.send(std::string_view(&c, 1));
        CHECK(out == "-ERR line too long (limit 255 octets including CRLF)\r\n");
        CHECK(s.drv.reading());
        CHECK(s.login() == "+OK send PASS\r\n+OK maildrop has 3 messages (312 octets)\r\n");
        // In TRANSACTION a long PASS line is refused at once, whatever follows.
        CHECK(s.drv.send("PASS " + std::string(400, 'z')) ==
              "-ERR line too long (limit 255 octets including CRLF)\r\n");
        CHECK(s.drv.send("\r\nNOOP\r\n") == "+OK\r\n");
    }
}

TEST_CASE("planted bug rset-hang-3: the third RSET gets no reply, the session hangs") {
    if (!compiled()) return;
    const std::string input = "RSET\r\nNOOP\r\nRSET\r\nRSET\r\nNOOP\r\n";
    const std::string two_rsets =
        "+OK maildrop has 3 messages (312 octets)\r\n+OK\r\n+OK maildrop has 3 messages (312 "
        "octets)\r\n";
    server s({planted_bug::rset_hang_3});
    s.login();
    CHECK(s.drv.send(input) == two_rsets);
    CHECK(s.drv.hung());
    CHECK_FALSE(s.drv.closed());

    const auto correct = after_login({}, input);
    CHECK(correct.out == two_rsets + "+OK maildrop has 3 messages (312 octets)\r\n+OK\r\n");
    CHECK(correct.reading);
}

TEST_CASE("planted bug stls-keeps-plaintext: commands pipelined after STLS run inside TLS") {
    if (!compiled()) return;
    for (bool planted : {true, false}) {
        INFO("planted: " << planted);
        server s(planted ? std::vector{planted_bug::stls_keeps_plaintext}
                         : std::vector<planted_bug>{});
        CHECK(s.drv.send("STLS\r\nUSER user\r\nPASS pass\r\n") == "+OK begin TLS negotiation\r\n");
        REQUIRE(s.drv.tls_requested());
        CHECK(s.drv.complete_tls() ==
              (planted ? "+OK send PASS\r\n+OK maildrop has 3 messages (312 octets)\r\n" : ""));
        CHECK(s.drv.reading());
    }
}

TEST_CASE("planted bug dele-twice-ok: DELE of a deleted message answers +OK") {
    if (!compiled()) return;
    const std::string input = "DELE 2\r\nDELE 2\r\nDELE 4\r\nSTAT\r\n";
    CHECK(after_login({planted_bug::dele_twice_ok}, input).out ==
          "+OK message 2 deleted\r\n+OK message 2 deleted\r\n-ERR no such message\r\n"
          "+OK 2 194\r\n");
    CHECK(after_login({}, input).out == "+OK message 2 deleted\r\n-ERR message 2 already "
                                        "deleted\r\n-ERR no such message\r\n+OK 2 194\r\n");
}

TEST_CASE("planted bug number-wraps-2^32: message numbers are taken modulo 2^32") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::number_wraps_2_32};
    CHECK(after_login(bug, "LIST 4294967297\r\n").out == "+OK 1 122\r\n");
    CHECK(after_login({}, "LIST 4294967297\r\n").out == "-ERR no such message\r\n");

    const std::string input = "UIDL 4294967298\r\nTOP 8589934595 0\r\nDELE 4294967297\r\n"
                              "RETR 1\r\nLIST 4294967296\r\nRETR 18446744069414584323\r\n";
    CHECK(after_login(bug, input).out ==
          "+OK 2 default-2\r\n"
          "+OK top of message follows\r\nFrom: carol@pop3kit.test\r\nTo: user@pop3kit.test\r\n"
          "Subject: Empty body\r\n\r\n.\r\n"
          "+OK message 1 deleted\r\n"
          "-ERR message 1 already deleted\r\n"
          "-ERR no such message\r\n"
          "+OK 72 octets\r\nFrom: carol@pop3kit.test\r\nTo: user@pop3kit.test\r\n"
          "Subject: Empty body\r\n\r\n.\r\n");
    CHECK(after_login({}, input).out == "-ERR no such message\r\n-ERR no such message\r\n"
                                        "-ERR no such message\r\n+OK 122 octets\r\n"
                                        "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\n"
                                        "Subject: Welcome\r\n\r\nThis is the pop3kit mock "
                                        "server's default maildrop.\r\n.\r\n"
                                        "-ERR no such message\r\n-ERR no such message\r\n");
    // Numbers below 2^32 are left as typed.
    CHECK(after_login(bug, "LIST 0001\r\n").out == "+OK 1 122\r\n");
}

TEST_CASE("planted bug noop-leak: every NOOP keeps 64 KiB for ever") {
    if (!compiled()) return;
    const auto before = planted_noop_leaked_octets();
    CHECK(after_login({planted_bug::noop_leak}, "NOOP\r\nNOOP\r\nNOOP\r\n").out ==
          "+OK\r\n+OK\r\n+OK\r\n");
    CHECK(planted_noop_leaked_octets() == before + 3 * 64 * 1024);
    CHECK(after_login({}, "NOOP\r\nNOOP\r\n").out == "+OK\r\n+OK\r\n");
    CHECK(planted_noop_leaked_octets() == before + 3 * 64 * 1024);
}

TEST_CASE("planted bug unstuffed-dot: RETR and TOP of a 100-120 octet message are not stuffed") {
    if (!compiled()) return;
    // Of the default maildrop's messages (122, 118 and 72 octets) only message 2 is in range.
    const auto mail = default_maildrop()->snapshot();
    REQUIRE(mail.size() == 3);
    CHECK(mail[0]->octets() == 122);
    CHECK(mail[1]->octets() == 118);
    CHECK(mail[2]->octets() == 72);
    const std::vector bug = {planted_bug::unstuffed_dot};
    const std::string head(message_2_head);
    CHECK(after_login(bug, "RETR 2\r\n").out ==
          "+OK 118 octets\r\n" + head + std::string(message_2_body) + ".\r\n");
    CHECK(after_login({}, "RETR 2\r\n").out ==
          "+OK 118 octets\r\n" + head + std::string(message_2_stuffed_body) + ".\r\n");
    CHECK(after_login(bug, "TOP 2 2\r\n").out == "+OK top of message follows\r\n" + head +
                                                     "The next lines start with dots:\r\n.\r\n"
                                                     ".\r\n");
    CHECK(after_login({}, "TOP 2 2\r\n").out == "+OK top of message follows\r\n" + head +
                                                    "The next lines start with dots:\r\n..\r\n"
                                                    ".\r\n");
    CHECK(after_login(bug, "TOP 2 9\r\n").out ==
          "+OK top of message follows\r\n" + head + std::string(message_2_body) + ".\r\n");
    // Message 1 is outside the range: unchanged.
    CHECK(after_login(bug, "RETR 1\r\nTOP 1 1\r\n").out ==
          after_login({}, "RETR 1\r\nTOP 1 1\r\n").out);
}

TEST_CASE("planted bug uidl-changes-after-rset: after RSET every unique-id changes") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::uidl_changes_after_rset};
    const std::string input = "UIDL\r\nDELE 1\r\nRSET\r\nDELE 3\r\nUIDL\r\nUIDL 2\r\nUIDL 3\r\n";
    CHECK(after_login(bug, input).out ==
          "+OK unique-id listing follows\r\n1 default-1\r\n2 default-2\r\n3 default-3\r\n.\r\n"
          "+OK message 1 deleted\r\n+OK maildrop has 3 messages (312 octets)\r\n"
          "+OK message 3 deleted\r\n"
          "+OK unique-id listing follows\r\n1 default-1-1\r\n2 default-2-1\r\n.\r\n"
          "+OK 2 default-2-1\r\n-ERR message 3 already deleted\r\n");
    CHECK(after_login({}, input).out ==
          "+OK unique-id listing follows\r\n1 default-1\r\n2 default-2\r\n3 default-3\r\n.\r\n"
          "+OK message 1 deleted\r\n+OK maildrop has 3 messages (312 octets)\r\n"
          "+OK message 3 deleted\r\n"
          "+OK unique-id listing follows\r\n1 default-1\r\n2 default-2\r\n.\r\n"
          "+OK 2 default-2\r\n-ERR message 3 already deleted\r\n");
}

TEST_CASE("planted bug long-err-echo: the -ERR to a bad command echoes it twice, unbounded") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::long_err_echo};
    // The longest line the server reads: 253 octets and CRLF (limits::max_command_line).
    const std::string unknown = "XTND " + std::string(248, 'a');
    const std::string bad_argument = "LIST " + std::string(248, '9');
    for (const auto& line : {unknown, bad_argument}) {
        INFO(line.substr(0, 4));
        REQUIRE(line.size() + 2 == limits{}.max_command_line);
        const auto buggy = after_login(bug, line + "\r\n");
        CHECK(buggy.out.starts_with("-ERR "));
        CHECK(buggy.out.ends_with("\"" + line + "\" (you sent \"" + line + "\")\r\n"));
        CHECK(buggy.out.size() > limits{}.max_reply_line);
        CHECK(buggy.reading);
        const auto correct = after_login({}, line + "\r\n");
        CHECK(correct.out.size() <= limits{}.max_reply_line);
        CHECK(correct.out.find(line) == std::string::npos);
    }
    CHECK(after_login(bug, "XTND\r\n").out ==
          "-ERR unknown command: \"XTND\" (you sent \"XTND\")\r\n");
    CHECK(after_login({}, "XTND\r\n").out == "-ERR unknown command\r\n");
    // Replies that are not to a malformed command are unchanged.
    CHECK(after_login(bug, "RETR 9\r\n").out == "-ERR no such message\r\n");
}

TEST_CASE("planted bug bare-lf-listing: LIST's scan listings end in a bare LF") {
    if (!compiled()) return;
    const std::vector bug = {planted_bug::bare_lf_listing};
    CHECK(after_login(bug, "LIST\r\n").out == "+OK 3 messages\r\n1 122\n2 118\n3 72\n.\r\n");
    CHECK(after_login({}, "LIST\r\n").out == "+OK 3 messages\r\n1 122\r\n2 118\r\n3 72\r\n.\r\n");
    CHECK(after_login(bug, "LIST 2\r\nUIDL\r\n").out == after_login({}, "LIST 2\r\nUIDL\r\n").out);
}

TEST_CASE("planted bug list-shows-deleted: LIST still lists deleted messages") {
    if (!compiled()) return;
    const std::string input = "DELE 2\r\nLIST\r\nLIST 2\r\n";
    CHECK(after_login({planted_bug::list_shows_deleted}, input).out ==
          "+OK message 2 deleted\r\n+OK 3 messages\r\n1 122\r\n2 118\r\n3 72\r\n.\r\n"
          "-ERR message 2 already deleted\r\n");
    CHECK(after_login({}, input).out ==
          "+OK message 2 deleted\r\n+OK 2 messages\r\n1 122\r\n3 72\r\n.\r\n"
          "-ERR message 2 already deleted\r\n");
    // Both listing bugs together.
    CHECK(after_login({planted_bug::list_shows_deleted, planted_bug::bare_lf_listing}, input).out ==
          "+OK message 2 deleted\r\n+OK 3 messages\r\n1 122\n2 118\n3 72\n.\r\n"
          "-ERR message 2 already deleted\r\n");
}

TEST_CASE("planted bug stat-counts-deleted: STAT counts deleted messages") {
    if (!compiled()) return;
    const std::string input = "DELE 1\r\nDELE 3\r\nSTAT\r\n";
    CHECK(after_login({planted_bug::stat_counts_deleted}, input).out ==
          "+OK message 1 deleted\r\n+OK message 3 deleted\r\n+OK 3 312\r\n");
    CHECK(after_login({}, input).out ==
          "+OK message 1 deleted\r\n+OK message 3 deleted\r\n+OK 1 118\r\n");
}

TEST_CASE("planted bug capa-unterminated-transaction: CAPA after login has no terminator") {
    if (!compiled()) return;
    server buggy({planted_bug::capa_unterminated_transaction}), correct;
    const auto before_login = correct.drv.send("CAPA\r\n");
    REQUIRE(before_login.ends_with("\r\n.\r\n"));
    CHECK(buggy.drv.send("CAPA\r\n") == before_login);
    buggy.login();
    correct.login();
    const auto terminated = correct.drv.send("CAPA\r\n");
    REQUIRE(terminated.starts_with("+OK capability list follows\r\n"));
    REQUIRE(terminated.ends_with("\r\nIMPLEMENTATION pop3kit-mockserver\r\n.\r\n"));
    CHECK(buggy.drv.send("CAPA\r\n") ==
          terminated.substr(0, terminated.size() - std::string_view(".\r\n").size()));
    CHECK(buggy.drv.reading());
}
