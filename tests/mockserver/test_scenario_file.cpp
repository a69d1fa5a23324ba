#include "pop3/mockserver/scenario_file.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>

#ifndef POP3_SOURCE_DIR
#define POP3_SOURCE_DIR "/work/main"
#endif

using namespace pop3::mock;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

scenario_file parse(std::string_view text, const fs::path& name = "t.toml") {
    return parse_scenario(text, name);
}

// The message of the scenario_error that parsing `text` throws.
std::string error_of(std::string_view text, const fs::path& name = "t.toml") {
    try {
        (void)parse_scenario(text, name);
    } catch (const scenario_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string count_size_error(std::string_view text) {
    try {
        (void)parse_count_size(text, "--generate");
    } catch (const scenario_error& e) {
        return e.what();
    }
    return "(no error)";
}

using pop3::test::read_text;

// A file that uses every key once.
constexpr std::string_view full = R"(name = "everything"
description = "uses every key"

[server]
greeting = "ready when you are"
capabilities.authorization = ["USER", "TOP"]
capabilities.transaction = ["TOP", "UIDL"]

[[user]]
name = "alice"
password = "secret"
maildrop = "mail/alice"

[[user]]
name = "bob"
password = "hunter2"
generate = "3:1000"

[[user]]
name = "carol"
password = ""

[session]
delay_ms = 7
drip_bytes = 1
drip_pause_ms = 5
split_at = [3]

[[rule]]
command = "stls"
state = "authorization"
occurrence = 1
reply = "-ERR not today\r\n"
append = "+OK injected\r\n\u0000"
tls_failure = true

[[rule]]
command = "RETR"
state = "transaction"
occurrence = 2
bare_lf = true
octet_delta = -10
drop_terminator = true
endless_body = true
huge_line = 100000
delay_ms = 2000
drip_bytes = 1
drip_pause_ms = 10
split_at = [1, 5]
disconnect = "before"

[[rule]]
command = "greeting"
disconnect = "after"

[[rule]]
command = "*"
disconnect = 20

[[rule]]
command = "NOOP"
hang = true
)";

} // namespace

// ---- every key ----

TEST_CASE("scenario file: every key parses into its member") {
    const scenario_file f = parse(full, "dir/full.toml");
    const scenario& sc = f.sc;
    CHECK(sc.name == "everything");
    CHECK(sc.file == fs::path("dir/full.toml"));
    CHECK(f.description == "uses every key");
    REQUIRE(sc.greeting);
    CHECK(*sc.greeting == "ready when you are");
    REQUIRE(sc.capabilities_authorization);
    CHECK(*sc.capabilities_authorization == std::vector<std::string>{"USER", "TOP"});
    REQUIRE(sc.capabilities_transaction);
    CHECK(*sc.capabilities_transaction == std::vector<std::string>{"TOP", "UIDL"});

    REQUIRE(f.users.size() == 3);
    CHECK(f.users[0].name == "alice");
    CHECK(f.users[0].password == "secret");
    REQUIRE(f.users[0].maildrop);
    CHECK(*f.users[0].maildrop == fs::path("dir/mail/alice")); // relative to the file's folder
    CHECK_FALSE(f.users[0].generate);
    CHECK(f.users[0].source_line == 9);
    CHECK(f.users[1].name == "bob");
    CHECK_FALSE(f.users[1].maildrop);
    REQUIRE(f.users[1].generate);
    CHECK(*f.users[1].generate == std::pair<std::size_t, std::size_t>{3, 1000});
    CHECK(f.users[1].source_line == 14);
    CHECK(f.users[2].password.empty());
    CHECK_FALSE(f.users[2].maildrop);
    CHECK_FALSE(f.users[2].generate);

    CHECK(sc.session_fault.delay == 7ms);
    CHECK(sc.session_fault.drip_bytes == 1);
    CHECK(sc.session_fault.drip_pause == 5ms);
    CHECK(sc.session_fault.split_at == std::vector<std::size_t>{3});
    CHECK_FALSE(sc.session_fault.disconnect_at);
    CHECK_FALSE(sc.session_fault.hang);

    REQUIRE(sc.rules.size() == 5);
    const rule& stls = sc.rules[0];
    CHECK(stls.command == "STLS"); // stored upper case
    CHECK(stls.state == session_state::authorization);
    CHECK(stls.occurrence == std::size_t{1});
    CHECK(stls.change.replace == std::string("-ERR not today\r\n"));
    CHECK(stls.change.append == std::string("+OK injected\r\n\0", 15)); // escapes carry raw bytes
    CHECK(stls.change.tls_failure);
    CHECK_FALSE(stls.delivery.any());
    CHECK(stls.source_line == 29);

    const rule& retr = sc.rules[1];
    CHECK(retr.command == "RETR");
    CHECK(retr.state == session_state::transaction);
    CHECK(retr.occurrence == std::size_t{2});
    CHECK_FALSE(retr.change.replace);
    CHECK(retr.change.append.empty());
    CHECK(retr.change.bare_lf);
    CHECK(retr.change.octet_delta == -10);
    CHECK(retr.change.drop_terminator);
    CHECK(retr.change.endless_body);
    CHECK(retr.change.huge_line == 100000);
    CHECK_FALSE(retr.change.tls_failure);
    CHECK(retr.delivery.delay == 2000ms);
    CHECK(retr.delivery.drip_bytes == 1);
    CHECK(retr.delivery.drip_pause == 10ms);
    CHECK(retr.delivery.split_at == std::vector<std::size_t>{1, 5});
    CHECK(retr.delivery.disconnect_at == std::size_t{0});
    CHECK_FALSE(retr.delivery.hang);
    CHECK(retr.source_line == 37);

    CHECK(sc.rules[2].command == "greeting");
    CHECK(sc.rules[2].delivery.disconnect_at == SIZE_MAX);
    CHECK(sc.rules[3].command == "*");
    CHECK(sc.rules[3].delivery.disconnect_at == std::size_t{20});
    CHECK(sc.rules[4].command == "NOOP");
    CHECK(sc.rules[4].delivery.hang);
    CHECK_FALSE(sc.rules[4].state);
    CHECK_FALSE(sc.rules[4].occurrence);
}

TEST_CASE("scenario file: defaults") {
    const scenario_file f = parse("", "some/where/my-case.toml");
    CHECK(f.sc.name == "my-case"); // the file stem
    CHECK(f.description.empty());
    CHECK_FALSE(f.sc.greeting);
    CHECK_FALSE(f.sc.capabilities_authorization);
    CHECK_FALSE(f.sc.capabilities_transaction);
    CHECK(f.sc.rules.empty());
    CHECK_FALSE(f.sc.session_fault.any());
    CHECK(f.users.empty());
}

TEST_CASE("scenario file: accepted variants") {
    SECTION("greeting is case-insensitive and stored lower case") {
        CHECK(parse("[[rule]]\ncommand = \"GREETING\"\nreply = \"x\"\n").sc.rules[0].command ==
              "greeting");
    }
    SECTION("inline tables and [server.capabilities]") {
        const auto f = parse("rule = [{command = \"uidl\", reply = \"-ERR\\r\\n\"}]\n"
                             "[server.capabilities]\nauthorization = []\n");
        CHECK(f.sc.rules.at(0).command == "UIDL");
        REQUIRE(f.sc.capabilities_authorization);
        CHECK(f.sc.capabilities_authorization->empty());
        CHECK_FALSE(f.sc.capabilities_transaction);
    }
    SECTION("an empty reply is a change") {
        CHECK(parse("[[rule]]\ncommand = \"STAT\"\nreply = \"\"\n").sc.rules[0].change.replace ==
              std::string());
    }
    SECTION("absolute maildrop paths are kept") {
        const auto f = parse("[[user]]\nname = \"a\"\npassword = \"b\"\nmaildrop = \"/var/m\"\n",
                             "dir/x.toml");
        CHECK(*f.users[0].maildrop == fs::path("/var/m"));
    }
    SECTION("a file name without folder leaves relative maildrops as written") {
        const auto f = parse("[[user]]\nname = \"a\"\npassword = \"b\"\nmaildrop = \"m\"\n");
        CHECK(*f.users[0].maildrop == fs::path("m"));
    }
    SECTION("false and zero values are allowed but a rule still has to do something") {
        const auto f = parse("[[rule]]\ncommand = \"CAPA\"\nbare_lf = false\ndrop_terminator = "
                             "false\ntls_failure = false\ndelay_ms = 0\nappend = \"x\"\n");
        CHECK(f.sc.rules[0].change.append == "x");
    }
    SECTION("the multi-line string example of docs/scenarios.md") {
        const auto f =
            parse("[[rule]]\ncommand = \"LIST\"\nreply = \"\"\"\\\n+OK 2 messages\\r\\n\\\n"
                  "1 120\\r\\n\\\n2 200\\r\\n\\\n.\\r\\n\"\"\"\n");
        CHECK(*f.sc.rules[0].change.replace == "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n");
    }
    SECTION("\"*\" takes the multi-line changes") {
        CHECK(parse("[[rule]]\ncommand = \"*\"\nendless_body = true\n")
                  .sc.rules[0]
                  .change.endless_body);
    }
}

// ---- errors: FILE:LINE: problem ----

TEST_CASE("scenario file errors: TOML syntax") {
    CHECK(error_of("name = \"x\"\n\n[server\n") ==
          "t.toml:3: Error while parsing table header: expected ']', saw '\\n'");
    CHECK(error_of("a = 1\na = 2\n") ==
          "t.toml:2: Error while parsing key-value pair: cannot redefine existing integer 'a'");
    CHECK(error_of("[[rule]]\ncommand = \"RETR\"\nreply = \"\\q\"\n") ==
          "t.toml:3: Error while parsing string: unknown escape sequence '\\q'");
    CHECK(error_of("\n\nx = \"\xff\"\n") == "t.toml:3: Encountered invalid utf-8 sequence");
}

TEST_CASE("scenario file errors: unknown keys") {
    CHECK(error_of("[[rule]]\ncommand = \"STLS\"\ndealy_ms = 5\n", "stls.toml") ==
          "stls.toml:3: unknown key 'dealy_ms' in [[rule]]");
    CHECK(error_of("name = \"x\"\nnmae = \"y\"\n") == "t.toml:2: unknown key 'nmae' at top level");
    CHECK(error_of("[server]\ngreting = \"x\"\n") == "t.toml:2: unknown key 'greting' in [server]");
    CHECK(error_of("[server]\ncapabilities.update = []\n") ==
          "t.toml:2: unknown key 'update' in [server.capabilities]");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\nmaildir = \"m\"\n") ==
          "t.toml:4: unknown key 'maildir' in [[user]]");
    CHECK(error_of("[session]\ndrip = 1\n") == "t.toml:2: unknown key 'drip' in [session]");
    CHECK(error_of("[session]\nreply = \"x\"\n") ==
          "t.toml:2: 'reply' is not allowed in [session] (only delay_ms, drip_bytes, "
          "drip_pause_ms, split_at, disconnect and hang are)");
    // Control characters in a key are shown escaped.
    CHECK(error_of("\"a\\nb\" = 1\n") == "t.toml:1: unknown key 'a\\x0ab' at top level");
}

TEST_CASE("scenario file errors: wrong types and values") {
    const auto rule_with = [](std::string_view line) {
        return error_of("# comment\n[[rule]]\ncommand = \"RETR\"\n" + std::string(line) + "\n");
    };
    CHECK(rule_with("occurrence = 0") == "t.toml:4: 'occurrence' must be a positive integer");
    CHECK(rule_with("occurrence = \"1\"") == "t.toml:4: 'occurrence' must be a positive integer");
    CHECK(rule_with("delay_ms = \"5\"") ==
          "t.toml:4: 'delay_ms' must be an integer from 0 to 86400000");
    CHECK(rule_with("delay_ms = 86400001") ==
          "t.toml:4: 'delay_ms' must be an integer from 0 to 86400000");
    CHECK(rule_with("drip_pause_ms = -1") ==
          "t.toml:4: 'drip_pause_ms' must be an integer from 0 to 86400000");
    CHECK(rule_with("drip_bytes = -1") == "t.toml:4: 'drip_bytes' must be an integer >= 0");
    CHECK(rule_with("drip_bytes = 1.5") == "t.toml:4: 'drip_bytes' must be an integer >= 0");
    CHECK(rule_with("bare_lf = 1") == "t.toml:4: 'bare_lf' must be true or false");
    CHECK(rule_with("hang = \"yes\"") == "t.toml:4: 'hang' must be true or false");
    CHECK(rule_with("reply = 5") == "t.toml:4: 'reply' must be a string");
    CHECK(rule_with("append = [\"a\"]") == "t.toml:4: 'append' must be a string");
    CHECK(rule_with("octet_delta = 1.5") == "t.toml:4: 'octet_delta' must be an integer");
    CHECK(rule_with("huge_line = 0") ==
          "t.toml:4: 'huge_line' must be an integer from 1 to 1073741824");
    CHECK(rule_with("state = \"update\"") ==
          "t.toml:4: 'state' must be \"authorization\" or \"transaction\"");
    CHECK(rule_with("split_at = 3") ==
          "t.toml:4: 'split_at' must be an array of positive integers");
    CHECK(rule_with("split_at = [0]") ==
          "t.toml:4: 'split_at' must be an array of positive integers");
    CHECK(rule_with("split_at = [1, \"2\"]") ==
          "t.toml:4: 'split_at' must be an array of positive integers");
    CHECK(rule_with("split_at = [5, 5]") ==
          "t.toml:4: 'split_at' offsets must be strictly increasing");
    // In a multi-line array the element's own line is reported.
    CHECK(rule_with("split_at = [\n  1,\n  9,\n  4,\n]") ==
          "t.toml:7: 'split_at' offsets must be strictly increasing");
    CHECK(rule_with("disconnect = \"middle\"") ==
          "t.toml:4: 'disconnect' must be \"before\", \"after\" or a byte offset >= 0");
    CHECK(rule_with("disconnect = -1") ==
          "t.toml:4: 'disconnect' must be \"before\", \"after\" or a byte offset >= 0");
    CHECK(rule_with("disconnect = true") ==
          "t.toml:4: 'disconnect' must be \"before\", \"after\" or a byte offset >= 0");
}

TEST_CASE("scenario file errors: rule consistency") {
    CHECK(error_of("\n[[rule]]\nreply = \"x\"\n") ==
          "t.toml:2: [[rule]] needs 'command' or 'role'");
    CHECK(error_of("[[rule]]\ncommand = \"LIST 1\"\nreply = \"x\"\n") ==
          "t.toml:2: 'command' must be a command keyword (e.g. \"RETR\"), \"greeting\" or \"*\"");
    CHECK(error_of("[[rule]]\ncommand = \"\"\nreply = \"x\"\n") ==
          "t.toml:2: 'command' must be a command keyword (e.g. \"RETR\"), \"greeting\" or \"*\"");
    CHECK(error_of("[[rule]]\ncommand = 5\nreply = \"x\"\n") ==
          "t.toml:2: 'command' must be a command keyword (e.g. \"RETR\"), \"greeting\" or \"*\"");
    CHECK(error_of("\n\n[[rule]]\ncommand = \"STLS\"\n") ==
          "t.toml:3: [[rule]] for 'STLS' changes nothing (give a reply change or a delivery "
          "fault)");
    CHECK(error_of("[[rule]]\ncommand = \"STAT\"\ndelay_ms = 0\noctet_delta = 0\n") ==
          "t.toml:1: [[rule]] for 'STAT' changes nothing (give a reply change or a delivery "
          "fault)");
    CHECK(error_of("[[rule]]\ncommand = \"RETR\"\ntls_failure = true\n") ==
          "t.toml:3: 'tls_failure' needs command = \"STLS\" (or role = \"stls\")");
    CHECK(error_of("[[rule]]\ncommand = \"RETR\"\nscram_iterations = 5000\n") ==
          "t.toml:3: 'scram_iterations' needs command = \"AUTH\" (or role = \"auth-challenge\")");
    CHECK(error_of("[[rule]]\nrole = \"auth-challenge\"\nscram_iterations = 0\n") ==
          "t.toml:3: 'scram_iterations' must be between 1 and 4294967295");
    CHECK(error_of("[[rule]]\ncommand = \"AUTH\"\nscram_iterations = 4294967296\n") ==
          "t.toml:3: 'scram_iterations' must be between 1 and 4294967295");
    CHECK(parse_scenario("[[rule]]\nrole = \"auth-challenge\"\nscram_iterations = 4294967295\n",
                         "t.toml")
              .sc.rules.at(0)
              .change.scram_iterations == 4294967295u);
    for (const char* key : {"drop_terminator = true", "endless_body = true", "huge_line = 5"}) {
        const std::string name(std::string_view(key).substr(0, std::string_view(key).find(' ')));
        CHECK(error_of("[[rule]]\ncommand = \"STAT\"\n" + std::string(key) + "\n") ==
              "t.toml:3: '" + name +
                  "' needs a multi-line command (AUTH, LIST, RETR, TOP, UIDL, CAPA, LANG or "
                  "\"*\")");
    }
    CHECK(error_of("[[rule]]\ncommand = \"greeting\"\nendless_body = true\n") ==
          "t.toml:3: 'endless_body' needs a multi-line command (AUTH, LIST, RETR, TOP, UIDL, "
          "CAPA, LANG or \"*\")");
    CHECK(error_of("[[rule]]\ncommand = \"greeting\"\nstate = \"transaction\"\nhang = true\n") ==
          "t.toml:3: the greeting is only sent in state \"authorization\"");
    CHECK(error_of("[[rule]]\ncommand = \"greeting\"\noccurrence = 2\nhang = true\n") ==
          "t.toml:3: the greeting occurs once: 'occurrence' can only be 1");
    CHECK(error_of("[[rule]]\ncommand = \"RETR\"\nhang = true\ndisconnect = 3\n") ==
          "t.toml:4: 'hang' and 'disconnect' cannot both be set in [[rule]]");
    CHECK(error_of("[session]\nhang = true\ndisconnect = 3\n") ==
          "t.toml:1: 'hang' and 'disconnect' cannot both be set in [session]");
}

TEST_CASE("scenario file errors: tables written the wrong way") {
    CHECK(error_of("[rule]\ncommand = \"STLS\"\n") ==
          "t.toml:1: 'rule' must be an array of tables, written [[rule]]");
    CHECK(error_of("rule = [1]\n") ==
          "t.toml:1: 'rule' must be an array of tables, written [[rule]]");
    CHECK(error_of("\n[user]\nname = \"a\"\n") ==
          "t.toml:2: 'user' must be an array of tables, written [[user]]");
    CHECK(error_of("[[session]]\ndelay_ms = 1\n") ==
          "t.toml:1: 'session' must be a table, written [session]");
    CHECK(error_of("server = \"x\"\n") == "t.toml:1: 'server' must be a table, written [server]");
    CHECK(error_of("[server]\ncapabilities = [\"TOP\"]\n") ==
          "t.toml:2: 'capabilities' must be a table of per-state lists");
}

TEST_CASE("scenario file errors: top level and [server]") {
    CHECK(error_of("name = \"\"\n") ==
          "t.toml:1: 'name' must be a non-empty string without control characters");
    CHECK(error_of("name = 3\n") == "t.toml:1: 'name' must be a string");
    CHECK(error_of("description = true\n") == "t.toml:1: 'description' must be a string");
    CHECK(error_of("[server]\ngreeting = \"ready\\r\\n+OK more\"\n") ==
          "t.toml:2: 'greeting' must not contain CR or LF (to send raw bytes, use a [[rule]] with "
          "command = \"greeting\" and reply = ...)");
    CHECK(error_of("[server]\ncapabilities.authorization = \"TOP\"\n") ==
          "t.toml:2: 'authorization' must be an array of strings");
    CHECK(error_of("[server]\ncapabilities.transaction = [\"TOP\", 1]\n") ==
          "t.toml:2: 'transaction' must be an array of strings");
    CHECK(error_of("[server]\ncapabilities.transaction = [\n\"TOP\",\n\"A\\nB\"]\n") ==
          "t.toml:4: capability lines in 'transaction' must be non-empty and without CR or LF");
    CHECK(error_of("[server]\ncapabilities.transaction = [\"\"]\n") ==
          "t.toml:2: capability lines in 'transaction' must be non-empty and without CR or LF");
}

TEST_CASE("scenario file errors: [[user]]") {
    CHECK(error_of("\n[[user]]\npassword = \"b\"\n") == "t.toml:2: 'name' is missing in [[user]]");
    CHECK(error_of("[[user]]\nname = \"a\"\n") == "t.toml:1: 'password' is missing in [[user]]");
    CHECK(error_of("[[user]]\nname = \"\"\npassword = \"b\"\n") ==
          "t.toml:2: 'name' must be a non-empty string without control characters");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\\r\\n\"\n") ==
          "t.toml:3: 'password' must not contain control characters");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = 1\n") ==
          "t.toml:3: 'password' must be a string");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\nmaildrop = \"\"\n") ==
          "t.toml:4: 'maildrop' must be a non-empty path without control characters");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\nmaildrop = \"m\"\ngenerate = "
                   "\"1:1\"\n") ==
          "t.toml:5: 'maildrop' and 'generate' cannot both be set in [[user]]");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\ngenerate = \"3x1000\"\n") ==
          "t.toml:4: 'generate' must be COUNT:SIZE, e.g. \"3:1000\", with COUNT <= 1000000, SIZE "
          "<= 1073741824 and COUNT*SIZE <= 4294967296 (got \"3x1000\")");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\ngenerate = 3\n") ==
          "t.toml:4: 'generate' must be a string");
    CHECK(error_of("[[user]]\nname = \"a\"\npassword = \"b\"\n\n[[user]]\nname = \"a\"\npassword = "
                   "\"c\"\n") == "t.toml:5: duplicate user 'a' (also at line 1)");
}

TEST_CASE("parse_count_size") {
    CHECK(parse_count_size("3:1000") == std::pair<std::size_t, std::size_t>{3, 1000});
    CHECK(parse_count_size("0:0") == std::pair<std::size_t, std::size_t>{0, 0});
    CHECK(parse_count_size("007:10") == std::pair<std::size_t, std::size_t>{7, 10});
    CHECK(parse_count_size("1000000:4294") == std::pair<std::size_t, std::size_t>{1000000, 4294});
    CHECK(parse_count_size("4:1073741824") == std::pair<std::size_t, std::size_t>{4, 1073741824});
    const std::string tail = " must be COUNT:SIZE, e.g. \"3:1000\", with COUNT <= 1000000, SIZE <= "
                             "1073741824 and COUNT*SIZE <= 4294967296 (got \"";
    for (std::string_view bad :
         {"", "3", ":5", "3:", "-1:5", "3:+5", " 3:5", "3:1000:2", "a:b", "1000001:1",
          "1:1073741825", "5:1073741824", "99999999999999999999999:1"})
        CHECK(count_size_error(bad) == "--generate" + tail + std::string(bad) + "\")");
    CHECK(count_size_error(std::string_view("1:\0", 3)) == "--generate" + tail + "1:\\x00\")");
    try {
        (void)parse_count_size("x");
        FAIL("no exception");
    } catch (const scenario_error& e) {
        CHECK(std::string(e.what()).rfind("generate must be COUNT:SIZE", 0) == 0);
    }
}

// ---- files ----

TEST_CASE("load_scenario: reading files") {
    const pop3::test::temp_dir scratch;
    const fs::path& dir = scratch.path;
    scratch.write("sub/case.toml",
                  "[[user]]\nname = \"a\"\npassword = \"b\"\nmaildrop = \"mail/a\"\n\n"
                  "[[rule]]\ncommand = \"STAT\"\ndelay_ms = 5\n");
    const scenario_file f = load_scenario(dir / "sub" / "case.toml");
    CHECK(f.sc.name == "case");
    CHECK(f.sc.file == dir / "sub" / "case.toml");
    CHECK(*f.users.at(0).maildrop == dir / "sub" / "mail/a");
    CHECK(f.sc.rules.at(0).source_line == 6);

    scratch.write("bad.toml", "\n[[rule]]\ncommand = \"STAT\"\n");
    const std::string bad = (dir / "bad.toml").string();
    CHECK_THROWS_WITH(load_scenario(dir / "bad.toml"),
                      bad + ":2: [[rule]] for 'STAT' changes nothing (give a reply change or a "
                            "delivery fault)");

    const std::string missing = (dir / "missing.toml").string();
    CHECK_THROWS_WITH(load_scenario(dir / "missing.toml"),
                      missing + ": cannot open: No such file or directory");
    CHECK_THROWS_WITH(load_scenario(dir / "sub"),
                      (dir / "sub").string() + ": cannot open: is a directory");
}

TEST_CASE("shipped scenarios all load and are documented") {
    const fs::path root = POP3_SOURCE_DIR;
    const std::string docs = read_text(root / "docs" / "scenarios.md");
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(root / "mockserver" / "scenarios")) {
        if (entry.path().extension() != ".toml") continue;
        const std::string stem = entry.path().stem().string();
        INFO(entry.path().string());
        scenario_file f;
        REQUIRE_NOTHROW(f = load_scenario(entry.path()));
        CHECK(f.sc.name == stem);
        CHECK_FALSE(f.description.empty());
        // Each file opens with a comment naming it and saying what it does.
        CHECK(read_text(entry.path()).rfind("# " + stem + ": ", 0) == 0);
        CHECK(docs.find("`" + stem + "`") != std::string::npos);
        CHECK((!f.sc.rules.empty() || f.sc.session_fault.any() || f.sc.capabilities_authorization ||
               f.sc.stls_keeps_plaintext));
        names.insert(stem);
    }
    CHECK(names.size() >= 24);
    for (const char* expected : {"no-ssl",
                                 "no-uidl",
                                 "bad-resp",
                                 "bad-cap-resp",
                                 "bad-login-resp",
                                 "deny",
                                 "drop",
                                 "bad-tls",
                                 "timeout",
                                 "slow",
                                 "stls-not-advertised",
                                 "stls-refused",
                                 "stls-injection-lines",
                                 "stls-injection-garbage",
                                 "bare-lf",
                                 "wrong-octets",
                                 "missing-terminator",
                                 "endless-body",
                                 "huge-line",
                                 "split-writes",
                                 "disconnect-mid-retr",
                                 "delay",
                                 "err-stat",
                                 "in-use"})
        CHECK(names.count(expected) == 1);
}

TEST_CASE("shipped scenarios do what their names say") {
    const fs::path dir = fs::path(POP3_SOURCE_DIR) / "mockserver" / "scenarios";
    const auto load = [&](const char* name) {
        return load_scenario(dir / (name + std::string(".toml"))).sc;
    };
    const auto first_command = [](const scenario& sc) {
        return sc.match("USER", session_state::authorization, 1);
    };

    const scenario drop = load("drop");
    CHECK_FALSE(drop.match("greeting", session_state::authorization, 1));
    REQUIRE(first_command(drop));
    CHECK(first_command(drop)->delivery.disconnect_at == std::size_t{0});

    const scenario timeout = load("timeout");
    CHECK_FALSE(timeout.match("greeting", session_state::authorization, 1));
    REQUIRE(first_command(timeout));
    CHECK(first_command(timeout)->delivery.hang);

    const scenario no_ssl = load("no-ssl");
    for (const auto& cap : *no_ssl.capabilities_authorization)
        CHECK(cap != "STLS");
    CHECK(no_ssl.match("stls", session_state::authorization, 1)->change.replace->rfind("-ERR", 0) ==
          0);

    const scenario inj = load("stls-injection-lines");
    CHECK(inj.match("STLS", session_state::authorization, 1)->change.append ==
          "+OK injected\r\n+OK 2 320\r\n");

    const scenario bad_resp = load("bad-resp");
    const rule* g = bad_resp.match("greeting", session_state::authorization, 1);
    REQUIRE(g);
    CHECK(g->change.replace->rfind("+OK", 0) == std::string::npos);

    const scenario missing = load("missing-terminator");
    const rule* m = missing.match("RETR", session_state::transaction, 1);
    CHECK(m->change.drop_terminator);
    CHECK(m->delivery.disconnect_at == SIZE_MAX);

    CHECK(load("huge-line").match("RETR", session_state::transaction, 3)->change.huge_line ==
          1000000);
    CHECK(load("disconnect-mid-retr")
              .match("RETR", session_state::transaction, 1)
              ->delivery.disconnect_at == std::size_t{20});
    CHECK(load("slow").session_fault.drip_bytes == 1);
    CHECK(load("slow").session_fault.drip_pause == 50ms);
    CHECK(*load("err-stat").match("STAT", session_state::transaction, 1)->change.replace ==
          "-ERR [SYS/TEMP] try later\r\n");
    CHECK(*load("in-use").match("PASS", session_state::authorization, 1)->change.replace ==
          "-ERR [IN-USE] locked\r\n");
    CHECK(load("bad-tls").match("STLS", session_state::authorization, 1)->change.tls_failure);
}

// ---- scenario::match ----

TEST_CASE("scenario::match: precedence, state and occurrence") {
    const scenario sc = parse(R"(
[[rule]]
command = "RETR"
occurrence = 2
reply = "second\r\n"

[[rule]]
command = "retr"
state = "transaction"
reply = "transaction\r\n"

[[rule]]
command = "*"
state = "authorization"
reply = "any auth\r\n"

[[rule]]
command = "RETR"
reply = "never: shadowed by the rules above\r\n"

[[rule]]
command = "greeting"
reply = "hello\r\n"
)")
                            .sc;
    const auto reply_of = [&](std::string_view cmd, session_state st, std::size_t n) {
        const rule* r = sc.match(cmd, st, n);
        return r ? *r->change.replace : std::string("(none)");
    };
    // File order decides: the first matching rule wins.
    CHECK(reply_of("RETR", session_state::transaction, 2) == "second\r\n");
    CHECK(reply_of("retr", session_state::transaction, 2) == "second\r\n"); // case-insensitive
    CHECK(reply_of("RETR", session_state::transaction, 1) == "transaction\r\n");
    CHECK(reply_of("RETR", session_state::transaction, 3) == "transaction\r\n");
    CHECK(reply_of("RETR", session_state::authorization, 1) == "any auth\r\n");
    CHECK(reply_of("RETR", session_state::update, 1) == "never: shadowed by the rules above\r\n");
    CHECK(reply_of("USER", session_state::authorization, 7) == "any auth\r\n");
    CHECK(reply_of("STAT", session_state::transaction, 1) == "(none)");
    // "*" never matches the greeting; only "greeting" does.
    CHECK(reply_of("greeting", session_state::authorization, 1) == "hello\r\n");
    CHECK(reply_of("RETRX", session_state::transaction, 2) == "(none)");
    CHECK(reply_of("RET", session_state::transaction, 2) == "(none)");

    const scenario empty;
    CHECK(empty.match("RETR", session_state::transaction, 1) == nullptr);
}

// ---- robustness: only scenario_error, whatever the bytes ----

namespace {
// Parses `bytes` from an exactly sized heap buffer, so that ASan catches any over-read.
void parse_mangled(std::string_view bytes) {
    const std::unique_ptr<char[]> buf(new char[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), buf.get());
    try {
        (void)parse_scenario(std::string_view(buf.get(), bytes.size()), "m.toml");
    } catch (const scenario_error& e) {
        const std::string what = e.what();
        if (what.rfind("m.toml:", 0) != 0) FAIL("message without the file name: " << what);
    }
    // Anything else escapes and fails the test.
}
} // namespace

TEST_CASE("parse_scenario: mangled input only ever throws scenario_error") {
    const std::string text(full);
    SECTION("every truncation") {
        for (std::size_t n = 0; n <= text.size(); ++n)
            parse_mangled(std::string_view(text).substr(0, n));
    }
    SECTION("every suffix") {
        for (std::size_t n = 0; n <= text.size(); ++n)
            parse_mangled(std::string_view(text).substr(n));
    }
    SECTION("one byte replaced at every offset") {
        for (std::size_t i = 0; i < text.size(); ++i) {
            for (char c : {'\0', '\n', '"', '[', ']', '=', '-', '\\', '\xff', '\x80', '9'}) {
                std::string m = text;
                m[i] = c;
                parse_mangled(m);
            }
        }
    }
    SECTION("pseudo-random bytes and nesting") {
        std::uint64_t x = 0x9e3779b97f4a7c15u;
        for (int round = 0; round < 2000; ++round) {
            std::string m;
            const auto len = static_cast<std::size_t>(x % 200);
            for (std::size_t i = 0; i < len; ++i) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly TOML punctuation and keys, so that parsing gets somewhere.
                constexpr std::string_view alphabet =
                    "[]{}=\",.\n #\\0123456789rulecommandsplit_at";
                m += (x & 0x100) ? static_cast<char>(x & 0xff) : alphabet[x % alphabet.size()];
            }
            x += 0x9e3779b97f4a7c15u;
            parse_mangled(m);
        }
        parse_mangled("a = " + std::string(5000, '[') + std::string(5000, ']'));
        parse_mangled("a = " + std::string(5000, '{'));
        std::string dotted = "a";
        for (int i = 0; i < 3000; ++i)
            dotted += ".a";
        parse_mangled(dotted + " = 1\n");
        parse_mangled(std::string("\xef\xbb\xbfname = \"bom\"\n"));
    }
}

// Inputs that broke toml++ 3.3 (see the comments where scenario_file.cpp includes it).
TEST_CASE("parse_scenario: toml++ regressions") {
    SECTION("malformed table headers fail to parse instead of aborting") {
        for (std::string_view bad :
             {std::string_view("[\0]", 3), std::string_view("[[[1]]]"), std::string_view("[[="),
              std::string_view("[=]"), std::string_view("\n[\n]"), std::string_view("[ #]")}) {
            INFO(bad);
            CHECK_THROWS_AS(parse(bad), scenario_error);
        }
        CHECK(error_of("\n[=]\n") ==
              "t.toml:2: Error while parsing key: expected bare key starting "
              "character or string delimiter, saw '='");
    }
    SECTION("non-ASCII text in keys, values and comments") {
        // U+00E9, U+0416, U+3001 and U+FE50 fall in the ranges toml++ got wrong.
        const std::string text =
            "# caf\xc3\xa9\n"
            "description = \"caf\xc3\xa9 \xd0\x96 \xe3\x80\x81 \xef\xb9\x90\"\n"
            "[server]\ngreeting = \"\xc3\xa9t\xc3\xa9\"\n";
        const scenario_file f = parse(text);
        CHECK(f.description == "caf\xc3\xa9 \xd0\x96 \xe3\x80\x81 \xef\xb9\x90");
        CHECK(*f.sc.greeting == "\xc3\xa9t\xc3\xa9");
        CHECK(error_of("\"caf\xc3\xa9\" = 1\n") ==
              "t.toml:1: unknown key 'caf\xc3\xa9' at top level");
        CHECK(error_of("d = \xc3\xa9\n") ==
              "t.toml:1: Error while parsing value: could not determine value type");
        CHECK(error_of("[server]\n\"\xe3\x80\x81\" = 1\n") ==
              "t.toml:2: unknown key '\xe3\x80\x81' in [server]");
        // Every code point of the Basic Multilingual Plane, in quoted keys and values (512 to a
        // document), and alone as a bare key around the ranges toml++ got wrong.
        const auto utf8 = [](char32_t c) {
            std::string u;
            if (c < 0x800) {
                u += static_cast<char>(0xC0 | (c >> 6));
            } else {
                u += static_cast<char>(0xE0 | (c >> 12));
                u += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            }
            u += static_cast<char>(0x80 | (c & 0x3F));
            return u;
        };
        std::string doc;
        for (char32_t c = 0x80; c < 0x10000; ++c) {
            if (c >= 0xD800 && c <= 0xDFFF) continue;
            const std::string u = utf8(c);
            doc += "\"" + u + "\" = \"" + u + "\"\n";
            if (c % 512 == 0) {
                parse_mangled(doc);
                doc.clear();
            }
            const bool near_bug = (c >= 0x9F && c <= 0x49B) || (c >= 0x2E3D && c <= 0x3238) ||
                                  (c >= 0xFBC5 && c <= 0xFF00);
            if (near_bug) parse_mangled(u + " = 1\n");
        }
        parse_mangled(doc);
    }
}

// Issue #14, defect 6: toml++ 3.3 walks the tables of a dotted key or table header recursively,
// so 300,000 parts crashed the server (SIGSEGV) and 10,000 overflowed the ASan stack. Deep files
// are refused with FILE:LINE before toml++ reads them.
TEST_CASE("scenario file errors: nesting deeper than max_scenario_depth is refused") {
    REQUIRE(max_scenario_depth == 16);
    const std::string too_deep =
        ": nested too deeply (at most 16 levels: each part of a dotted key or table header "
        "counts one, and an array's elements one more)";
    const auto dotted = [](std::size_t parts, std::string_view sep = ".") {
        std::string k = "a";
        for (std::size_t i = 1; i < parts; ++i)
            k += std::string(sep) + "a";
        return k;
    };
    SECTION("what crashed the server") {
        CHECK(error_of("[" + dotted(300'000) + "]\n") == "t.toml:1" + too_deep);
        CHECK(error_of("\n" + dotted(300'000) + " = 1\n") == "t.toml:2" + too_deep);
        CHECK(error_of("[[" + dotted(10'000) + "]]\n") == "t.toml:1" + too_deep);
        CHECK(error_of("a = " + std::string(300'000, '[')) == "t.toml:1" + too_deep);
        std::string inline_tables = "a = ";
        for (int i = 0; i < 100'000; ++i)
            inline_tables += "{a = ";
        CHECK(error_of(inline_tables) == "t.toml:1" + too_deep);
    }
    SECTION("16 levels pass the check, 17 do not") {
        // 16 levels reach toml++ and the reader, which knows no key 'a'.
        const std::string unknown_a = "t.toml:1: unknown key 'a' at top level";
        CHECK(error_of(dotted(16) + " = 1\n") == unknown_a);
        CHECK(error_of(dotted(17) + " = 1\n") == "t.toml:1" + too_deep);
        CHECK(error_of(dotted(17) + "\n\n") == "t.toml:1" + too_deep); // no '=': the key's line
        CHECK(error_of(dotted(16, " . ") + " = 1\n") == unknown_a);
        CHECK(error_of(dotted(17, " . ") + " = 1\n") == "t.toml:1" + too_deep);
        CHECK(error_of("\"a.b\".\"c\"." + dotted(14) + " = 1\n") ==
              "t.toml:1: unknown key 'a.b' at top level");
        CHECK(error_of("'a'.\"b\"." + dotted(15) + " = 1\n") == "t.toml:1" + too_deep);
        CHECK(error_of("[" + dotted(16) + "]\n") == unknown_a);
        CHECK(error_of("[" + dotted(17) + "]\n") == "t.toml:1" + too_deep);
        CHECK(error_of("[[" + dotted(15) + "]]\n") == unknown_a);
        CHECK(error_of("[[" + dotted(16) + "]]\n") == "t.toml:1" + too_deep);
        // A table's depth adds to its keys'; a new header starts again.
        CHECK(error_of("[" + dotted(8) + "]\n" + dotted(8) + " = 1\n") == unknown_a);
        CHECK(error_of("[" + dotted(8) + "]\n" + dotted(9) + " = 1\n") == "t.toml:2" + too_deep);
        CHECK(error_of("[" + dotted(8) + "]\n[b]\n" + dotted(15) + " = 1\n") == unknown_a);
        // Arrays: the key is level 1, each '[' opens one more.
        CHECK(error_of("a = " + std::string(15, '[') + std::string(15, ']') + "\n") == unknown_a);
        CHECK(error_of("a = " + std::string(16, '[') + std::string(16, ']') + "\n") ==
              "t.toml:1" + too_deep);
        CHECK(error_of("a = [[1], [[[2]]], " + std::string(15, '[') + std::string(15, ']') +
                       "]\n") == "t.toml:1" + too_deep);
        // Inline tables: their keys' parts count too.
        CHECK(error_of("a = {b.c = {d = {e.f.g = [1, {" + dotted(8) + " = 1}]}}}\n") == unknown_a);
        CHECK(error_of("a = {b.c = {d = {e.f.g = [1, {" + dotted(9) + " = 1}]}}}\n") ==
              "t.toml:1" + too_deep);
        CHECK(error_of("a = [\n  1,\n  {b = 2},\n  [[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]],\n]\n") ==
              "t.toml:4" + too_deep);
    }
    SECTION("strings and comments are not counted, and keep the line numbers right") {
        const std::string deep = std::string(40, '[') + dotted(40) + std::string(40, '{');
        const auto f = parse("description = \"" + deep + " \\\" " + deep + "\"\n" + "name = '" +
                             deep + "' # " + deep + "\n# " + deep + "\n" + "[server] # [[[[[[[[\n" +
                             "greeting = \"\"\"" + deep + "\"\"\"\n" +
                             "[[rule]]\ncommand = \"RETR\"\nreply = '''\n" + deep + "\n" + deep +
                             "''''\n" + "append = \"\"\"\\\n" + deep + "\\\"\"\"\\\"\"\"\"\"\n" +
                             "split_at = [1, 2, 3,]\n");
        CHECK(f.description == deep + " \" " + deep);
        CHECK(f.sc.name == deep);
        CHECK(*f.sc.rules.at(0).change.replace == deep + "\n" + deep + "'");
        CHECK(f.sc.rules.at(0).change.append == deep + "\"\"\"\"\"");
        CHECK(error_of("description = \"\"\"\n" + deep + "\n\"\"\"\n" + dotted(17) + " = 1\n") ==
              "t.toml:4" + too_deep);
        CHECK(error_of("description = '''\n" + deep + "\n'''\n\n" + dotted(17) + " = 1\n") ==
              "t.toml:5" + too_deep);
        CHECK(error_of("d = \"\"\"\\\n\\\n\"\"\"\n" + dotted(17) + " = 1\n") ==
              "t.toml:4" + too_deep);
        // Floats and dates are values, not dotted keys.
        CHECK(error_of("a = 1.5\nb = 1979-05-27T07:32:00.999Z\nc = [0.1, 0.2, 0.3, 0.4]\n") ==
              "t.toml:1: unknown key 'a' at top level");
    }
    SECTION("every shipped scenario passes the check") {
        for (const auto& e : fs::directory_iterator(POP3_SOURCE_DIR "/mockserver/scenarios"))
            if (e.path().extension() == ".toml") CHECK_NOTHROW(load_scenario(e.path()));
    }
}

// Issue #14, defect 21: `huge_line = 9223372036854775807` loaded, and RETR then dropped the
// connection without a log line (the line is built in memory).
TEST_CASE("scenario file errors: huge_line is at most max_huge_line") {
    REQUIRE(max_huge_line == 1073741824);
    const auto rule_with = [](std::string_view line) {
        return error_of("[[rule]]\ncommand = \"RETR\"\n" + std::string(line) + "\n");
    };
    const std::string message = "t.toml:3: 'huge_line' must be an integer from 1 to 1073741824";
    CHECK(rule_with("huge_line = 9223372036854775807") == message);
    CHECK(rule_with("huge_line = 1073741825") == message);
    CHECK(rule_with("huge_line = 0") == message);
    CHECK(rule_with("huge_line = -1") == message);
    CHECK(rule_with("huge_line = \"5\"") == message);
    CHECK(parse("[[rule]]\ncommand = \"RETR\"\nhuge_line = 1073741824\n")
              .sc.rules.at(0)
              .change.huge_line == 1073741824);
}

TEST_CASE("scenario file: multi-line rules for every command the command table says can be") {
    // AUTH and LANG without arguments are multi-line too (RFC 5034 §4, RFC 6856 §3).
    for (const char* cmd : {"AUTH", "LANG", "RETR", "TOP", "LIST", "UIDL", "CAPA", "*", "lang"}) {
        for (const char* key : {"drop_terminator = true", "endless_body = true", "huge_line = 5"}) {
            INFO(cmd << " " << key);
            const auto f = parse("[[rule]]\ncommand = \"" + std::string(cmd) + "\"\n" + key + "\n");
            REQUIRE(f.sc.rules.size() == 1);
        }
    }
    for (const char* cmd : {"STAT", "USER", "UTF8", "XTND", "greeting"})
        CHECK_THAT(
            error_of("[[rule]]\ncommand = \"" + std::string(cmd) + "\"\ndrop_terminator = true\n"),
            Catch::Contains("needs a multi-line command"));
    for (const char* role : {"capa", "list", "uidl", "retr", "top", "lang"})
        CHECK(parse("[[rule]]\nrole = \"" + std::string(role) + "\"\ndrop_terminator = true\n")
                  .sc.rules.size() == 1);
    for (const char* role : {"stat", "login", "login-first", "auth-challenge", "greeting", "utf8"})
        CHECK_THAT(
            error_of("[[rule]]\nrole = \"" + std::string(role) + "\"\ndrop_terminator = true\n"),
            Catch::Contains("needs a multi-line command"));
}
