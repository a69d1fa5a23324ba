#include "pop3/client/client.hpp"
#include "support/client_server.hpp"

#include <catch2/catch.hpp>
#include <pop3/mockserver/server.hpp>
#include <set>
#include <sstream>
#include <thread>

using namespace pop3;
using namespace std::chrono_literals;
using pop3::test::running_server;
using pop3::test::with_rule;

namespace {

// The code of the protocol_error that `f` throws; fails the test when it throws none.
template <class F>
std::error_code error_of(F f) {
    try {
        f();
    } catch (const protocol_error& e) {
        return e.code();
    }
    FAIL("no protocol_error thrown");
    return {};
}

void login(client& c) {
    c.user("user");
    c.pass_("pass");
}

// After a connection was dropped, the server releases the maildrop when it notices: retry.
void login_after_drop(client& c) {
    for (int attempt = 0;; ++attempt) {
        try {
            login(c);
            return;
        } catch (const protocol_error& e) {
            if (e.response_code() != response_code_kind::in_use || attempt == 100) throw;
            std::this_thread::sleep_for(20ms);
        }
    }
}

// The first message of the default maildrop, exactly.
const std::string first_message =
    "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n"
    "This is the pop3kit mock server's default maildrop.\r\n";

} // namespace

TEST_CASE("client: every poplib operation against the mock server") {
    running_server s;
    client c(s.options());
    CHECK(c.getwelcome().starts_with("+OK pop3kit mock server ready <"));
    CHECK(c.user("user") == "+OK send PASS");
    CHECK(c.pass_("pass").starts_with("+OK maildrop has 3 messages"));
    const auto st = c.stat();
    CHECK(st.count == 3);
    CHECK(c.stat_response() == "+OK 3 " + std::to_string(st.octets));

    const auto l = c.list();
    REQUIRE(l.entries.size() == 3);
    CHECK(l.entries[0].octets == first_message.size());
    CHECK(l.raw.lines.size() == 3);
    CHECK(c.list(1) == "+OK 1 " + std::to_string(first_message.size()));
    CHECK(c.list("2").starts_with("+OK 2 "));
    CHECK(c.list_one(3).message == 3);

    const auto m = c.retr(1);
    CHECK(m.content == first_message);
    CHECK(m.octets == first_message.size());
    CHECK(m.response == "+OK " + std::to_string(first_message.size()) + " octets");
    CHECK(m.as_lines().lines.back() == "This is the pop3kit mock server's default maildrop.");

    const auto dotted = c.retr("2");
    CHECK(dotted.content.find("\r\n.\r\n..\r\n.hidden\r\n") != std::string::npos); // unstuffed

    const auto top = c.top(1, 0);
    CHECK(top.content ==
          "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n");

    const auto u = c.uidl();
    REQUIRE(u.entries.size() == 3);
    CHECK(u.entries[1].uid == "default-2");
    CHECK(c.uidl(2) == "+OK 2 default-2");
    CHECK(c.uidl_one("3").uid == "default-3");

    CHECK(c.noop() == "+OK");
    CHECK(c.dele(1) == "+OK message 1 deleted");
    CHECK(c.rset().starts_with("+OK"));
    const auto caps = c.capa();
    CHECK(caps.has("UIDL"));
    CHECK(c.quit().starts_with("+OK pop3kit signing off"));
}

TEST_CASE("client: -ERR replies raise protocol_error with the response and its code") {
    running_server s;
    client c(s.options());
    c.user("user");
    try {
        c.pass_("wrong");
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(e.code() == client_error::server_error);
        CHECK(e.response() == "-ERR [AUTH] invalid user name or password");
        CHECK(e.response_code() == response_code_kind::auth);
        CHECK_FALSE(e.is_transient());
    }
    // A -ERR leaves the connection in step: go on.
    login(c);
    CHECK_THROWS_AS(c.retr(99), protocol_error);
    CHECK(c.noop() == "+OK");
}

TEST_CASE("client: IN-USE is reported as transient") {
    running_server s;
    client first(s.options());
    login(first);
    client second(s.options());
    second.user("user");
    try {
        second.pass_("pass");
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(e.response_code() == response_code_kind::in_use);
        CHECK(e.is_transient());
    }
}

TEST_CASE("client: APOP and SASL logins") {
    running_server s;
    SECTION("APOP") {
        client c(s.options());
        CHECK(c.apop("user", "pass").starts_with("+OK maildrop"));
    }
    for (auto mech :
         {sasl_mechanism::plain, sasl_mechanism::login, sasl_mechanism::cram_md5,
          sasl_mechanism::xoauth2, sasl_mechanism::oauthbearer, sasl_mechanism::scram_sha_256}) {
        DYNAMIC_SECTION("AUTH " << sasl_mechanism_name(mech)) {
            client c(s.options());
            CHECK(c.auth(mech, "user", "pass").starts_with("+OK maildrop"));
            CHECK(c.stat().count == 3);
        }
    }
    SECTION("SCRAM-SHA-256 with a wrong password") {
        client c(s.options());
        CHECK_THROWS_AS(c.auth(sasl_mechanism::scram_sha_256, "user", "nope"), protocol_error);
        CHECK(c.auth(sasl_mechanism::scram_sha_256, "user", "pass").starts_with("+OK maildrop"));
    }
    SECTION("AUTH with a wrong password") {
        client c(s.options());
        CHECK_THROWS_AS(c.auth(sasl_mechanism::cram_md5, "user", "nope"), protocol_error);
        // A refused AUTH leaves the connection in step: log in properly now.
        CHECK(c.auth(sasl_mechanism::plain, "user", "pass").starts_with("+OK maildrop"));
    }
}

TEST_CASE("client: commands with CR, LF or NUL are refused before anything is sent") {
    running_server s;
    client c(s.options());
    CHECK(error_of([&] { c.user("user\r\nDELE 1"); }) == error::forbidden_char_in_argument);
    CHECK_THROWS_AS(c.pass_(std::string("a\0b", 3)), protocol_error);
    CHECK_THROWS_AS(c.raw("NOOP\r\nQUIT"), protocol_error);
    login(c); // still usable: nothing reached the wire
    CHECK(c.stat().count == 3);
}

TEST_CASE("client: TLS is verified by default") {
    SECTION("STLS with the server's CA") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        client c(o);
        CHECK(c.tls_active());
        CHECK_FALSE(c.known_capabilities().has("STLS")); // learned again inside TLS
        login(c);
        CHECK(c.stat().count == 3);
    }
    SECTION("a self-signed server is refused without its CA") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        o.tls_settings.ca_pem.clear();
        CHECK_THROWS_WITH(client(o), Catch::Contains("certificate verify failed"));
    }
    SECTION("...unless verification is turned off explicitly") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        o.tls_settings.ca_pem.clear();
        o.tls_settings.verify = false;
        client c(o);
        CHECK(c.tls_active());
    }
    SECTION("the host name must match") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        o.tls_settings.server_name = "not-this-host.example";
        CHECK_THROWS_WITH(client(o), Catch::Contains("certificate verify failed"));
    }
    SECTION("implicit TLS (POP3S)") {
        running_server s(mock::default_config(), true);
        auto o = s.options();
        o.port = *s.srv.tls_port();
        o.tls = tls_mode::implicit;
        client c(o);
        CHECK(c.tls_active());
        CHECK(c.getwelcome().starts_with("+OK"));
        CHECK(error_of([&] { c.stls(); }) == client_error::tls_already_active);
    }
}

TEST_CASE("client: STLS never goes on in plaintext") {
    SECTION("not advertised (stripping)") {
        auto cfg = mock::default_config();
        cfg.faults.capabilities_authorization = std::vector<std::string>{"USER", "UIDL"};
        running_server s(cfg);
        client c(s.options());
        CHECK(error_of([&] { c.stls(); }) == client_error::stls_unavailable);
        CHECK_THROWS_AS(c.noop(), protocol_error); // unusable: fails fast
    }
    SECTION("answered -ERR") {
        running_server s(with_rule("STLS", {.replace = "-ERR not now\r\n"}));
        auto o = s.options();
        o.tls = tls_mode::starttls;
        CHECK(error_of([&] { client c(o); }) == client_error::stls_unavailable);
    }
    SECTION("response injection after the STLS +OK") {
        running_server s(with_rule("STLS", {.append = "+OK injected\r\n"}));
        auto o = s.options();
        o.tls = tls_mode::starttls;
        CHECK(error_of([&] { client c(o); }) == client_error::plaintext_after_stls);
    }
}

TEST_CASE("client: bad input from the server ends in protocol_error, then fails fast") {
    struct bad_case {
        const char* name;
        mock::server_config config;
        std::error_code expected;
    };
    std::vector<bad_case> cases;
    cases.push_back({"+ERR status", with_rule("STAT", {.replace = "+ERR 1 2\r\n"}),
                     error::bad_status_indicator});
    cases.push_back({"lower-case +ok", with_rule("STAT", {.replace = "+ok 1 2\r\n"}),
                     error::bad_status_indicator});
    cases.push_back({"malformed STAT", with_rule("STAT", {.replace = "+OK one two\r\n"}),
                     error::bad_stat_reply});
    cases.push_back({"NUL in a line",
                     with_rule("STAT", {.replace = std::string("+OK 1\0 2\r\n", 10)}),
                     error::nul_in_line});
    cases.push_back({"over-long status line",
                     with_rule("STAT", {.replace = "+OK " + std::string(600, '1') + "\r\n"}),
                     error::line_too_long});
    cases.push_back({"EOF in the middle of a reply", with_rule("STAT", {}, {.disconnect_at = 3}),
                     error::missing_crlf_at_eof});
    for (auto& bc : cases) {
        DYNAMIC_SECTION(bc.name) {
            running_server s(bc.config);
            client c(s.options());
            login(c);
            CHECK(error_of([&] { c.stat(); }) == bc.expected);
            CHECK(error_of([&] { c.noop(); }) == client_error::connection_unusable);
        }
    }
    SECTION("malformed LIST, UIDL and CAPA values") {
        running_server s1(with_rule("LIST", {.replace = "+OK\r\n1 x\r\n.\r\n"}));
        client c1(s1.options());
        login(c1);
        CHECK_THROWS_AS(c1.list(), protocol_error);
        running_server s2(with_rule("UIDL", {.replace = "+OK\r\n1 has space\r\n.\r\n"}));
        client c2(s2.options());
        login(c2);
        CHECK_THROWS_AS(c2.uidl(), protocol_error);
        running_server s3(with_rule("CAPA", {.replace = "+OK\r\n BAD\r\n.\r\n"}));
        client c3(s3.options());
        CHECK_THROWS_AS(c3.capa(), protocol_error);
    }
    SECTION("a body line over the data-line limit") {
        running_server s(with_rule("RETR", {.huge_line = 5000}));
        auto o = s.options();
        o.protocol_limits.max_body_line = 4096;
        client c(o);
        login(c);
        CHECK(error_of([&] { c.retr(1); }) == error::line_too_long);
    }
    SECTION("a timeout") {
        running_server s(with_rule("STAT", {}, {.hang = true}));
        auto o = s.options();
        o.operation_timeout = 300ms;
        client c(o);
        login(c);
        CHECK(error_of([&] { c.stat(); }) == client_error::timeout);
        CHECK_THROWS_AS(c.noop(), protocol_error);
    }
}

TEST_CASE("client: RETR checks the announced octet count; the check can be turned off") {
    running_server s(with_rule("RETR", {.octet_delta = 5}));
    {
        client c(s.options());
        login(c);
        CHECK(error_of([&] { c.retr(1); }) == error::octet_count_mismatch);
        CHECK(c.noop() == "+OK"); // still in step
        CHECK_THROWS_AS(c.retr(1, [](std::string_view) {}), protocol_error);
        c.quit(); // release the maildrop
    }
    auto o = s.options();
    o.verify_octet_counts = false;
    client lax(o);
    login(lax);
    CHECK(lax.retr(1).content == first_message);
}

TEST_CASE("client: strict framing by default, lenient on request") {
    running_server s(with_rule("RETR", {.bare_lf = true}));
    {
        client c(s.options());
        login(c);
        CHECK(error_of([&] { c.retr(1); }) == error::bare_lf);
    }
    auto o = s.options();
    o.policy = line_policy::lenient();
    o.verify_octet_counts = false; // the LF-only body is shorter than announced
    client c(o);
    login_after_drop(c);
    const auto m = c.retr(1);
    CHECK(m.content.find("\r\n") == std::string::npos);
    CHECK(m.content.find("Subject: Welcome\n") != std::string::npos);
}

TEST_CASE("client: streaming RETR into a sink, with progress") {
    auto cfg = mock::default_config();
    cfg.users[0].mail = mock::maildrop::generate(1, 300000);
    running_server s(cfg);
    client c(s.options());
    login(c);
    std::string got;
    std::uint64_t last_received = 0, announced = 0;
    const auto resp = c.retr(
        1, [&](std::string_view data) { got.append(data); },
        [&](std::uint64_t r, std::uint64_t a) {
            last_received = r;
            announced = a;
        });
    CHECK(resp.starts_with("+OK"));
    CHECK(got.size() == cfg.users[0].mail->snapshot()[0]->octets());
    CHECK(got == cfg.users[0].mail->snapshot()[0]->content);
    CHECK(last_received == got.size());
    CHECK(announced == got.size());
}

TEST_CASE("client: pipelined RETR and DELE of many messages") {
    auto cfg = mock::default_config();
    cfg.users[0].mail = mock::maildrop::generate(50, 2000);
    running_server s(cfg);
    client c(s.options());
    login(c);
    std::vector<message_number> which;
    for (int i = 1; i <= 50; ++i)
        which.emplace_back(i);
    const auto msgs = c.retr_many(which, true);
    REQUIRE(msgs.size() == 50);
    const auto snapshot = cfg.users[0].mail->snapshot();
    for (std::size_t i = 0; i < 50; ++i)
        CHECK(msgs[i].content == snapshot[i]->content);
    CHECK(c.stat().count == 0);
    c.quit();
    CHECK(cfg.users[0].mail->snapshot().empty());
}

TEST_CASE("client: streaming retr_many hands each message over in order, in one buffer") {
    auto cfg = mock::default_config();
    cfg.users[0].mail = mock::maildrop::generate(50, 2000);
    running_server s(cfg);
    client c(s.options());
    login(c);
    std::vector<message_number> which;
    for (int i = 1; i <= 50; ++i)
        which.emplace_back(i);
    const auto snapshot = cfg.users[0].mail->snapshot();
    std::vector<std::string> numbers;
    std::set<const char*> buffers;
    std::size_t exact = 0;
    c.retr_many(
        which,
        [&](message_number n, const message_result& m) {
            numbers.push_back(n.str());
            buffers.insert(m.content.data());
            const auto& want = snapshot.at(numbers.size() - 1)->content;
            exact += m.content == want && m.octets == want.size() && m.response.starts_with("+OK");
        },
        true);
    REQUIRE(numbers.size() == 50);
    CHECK(numbers.front() == "1");
    CHECK(numbers.back() == "50");
    CHECK(exact == 50);
    CHECK(buffers.size() == 1); // reused, not one allocation per message
    CHECK(c.stat().count == 0);
    c.quit();
    CHECK(cfg.users[0].mail->snapshot().empty());
}

TEST_CASE("client: streaming retr_many keeps back a message that is not as announced") {
    auto cfg = with_rule("RETR", {.replace = "+OK 99 octets\r\nhello\r\n.\r\n"});
    cfg.faults.rules[0].message = 2;
    running_server s(cfg);
    client c(s.options());
    login(c);
    std::vector<std::string> handed;
    CHECK(error_of([&] {
              c.retr_many({1, 2, 3}, [&](message_number n, const message_result&) {
                  handed.push_back(n.str());
              });
          }) == error::octet_count_mismatch);
    CHECK(handed == std::vector<std::string>{"1", "3"});
    CHECK(c.noop() == "+OK"); // still in step
    c.quit();
}

TEST_CASE("client: streaming retr_many runs a long batch in slices, all of it in order") {
    // 2,100 messages: three slices of 1,024; message 1,500 (in the second) is not as announced.
    auto cfg = with_rule("RETR", {.replace = "+OK 99 octets\r\nhello\r\n.\r\n"});
    cfg.faults.rules[0].message = 1500;
    cfg.users[0].mail = mock::maildrop::generate(2100, 100);
    running_server s(cfg);
    client c(s.options());
    login(c);
    std::vector<message_number> which;
    for (int i = 1; i <= 2100; ++i)
        which.emplace_back(i);
    std::vector<std::string> handed;
    CHECK(error_of([&] {
              c.retr_many(which, [&](message_number n, const message_result& m) {
                  if (!m.content.empty()) handed.push_back(n.str());
              });
          }) == error::octet_count_mismatch);
    REQUIRE(handed.size() == 2099);
    CHECK(handed[1023] == "1024");
    CHECK(handed[1498] == "1499");
    CHECK(handed[1499] == "1501");
    CHECK(handed.back() == "2100");
    CHECK(c.noop() == "+OK");
    // What the caller's function throws ends the batch, and leaves the connection unusable.
    CHECK_THROWS_AS(c.retr_many({1, 2},
                                [](message_number, const message_result&) {
                                    throw std::runtime_error("the caller's");
                                }),
                    std::runtime_error);
    CHECK(error_of([&] { c.noop(); }) == client_error::connection_unusable);
}

TEST_CASE("client: retr_many with DELE that goes wrong sends RSET, so QUIT deletes nothing") {
    for (const bool streaming : {false, true}) {
        INFO(streaming);
        auto cfg = with_rule("RETR", {.replace = "+OK 99 octets\r\nhello\r\n.\r\n"});
        cfg.faults.rules[0].message = 2;
        running_server s(cfg);
        client c(s.options());
        login(c);
        const auto before = cfg.users[0].mail->snapshot().size();
        const auto code = error_of([&] {
            if (streaming)
                c.retr_many(
                    {1, 2, 3}, [](message_number, const message_result&) {}, true);
            else
                c.retr_many({1, 2, 3}, true);
        });
        CHECK(code == error::octet_count_mismatch);
        CHECK(c.stat().count == before); // RSET undid the three DELEs
        c.quit();
        CHECK(cfg.users[0].mail->snapshot().size() == before);
    }
}

TEST_CASE("client: a retr_many callback cannot use the client") {
    running_server s;
    client c(s.options());
    login(c);
    CHECK_THROWS_AS(c.retr_many({1, 2}, [&](message_number, const message_result&) { c.noop(); }),
                    std::logic_error);
    CHECK(error_of([&] { c.noop(); }) == client_error::connection_unusable);
}

TEST_CASE("client: streaming retr_many bounds a message by max_buffered_body") {
    auto cfg = mock::default_config();
    cfg.users[0].mail = mock::maildrop::generate(3, 5000);
    running_server s(cfg);
    auto o = s.options();
    o.max_buffered_body = 4000;
    client c(o);
    login(c);
    std::size_t handed = 0;
    CHECK(error_of([&] {
              c.retr_many({1, 2}, [&](message_number, const message_result&) { ++handed; });
          }) == client_error::reply_too_large);
    CHECK(handed == 0);
}

TEST_CASE("client: set_debuglevel prints the dialogue with the password masked") {
    running_server s;
    std::ostringstream out;
    auto o = s.options();
    o.debug_stream = &out;
    client c(o);
    c.set_debuglevel(1);
    login(c);
    c.stat();
    const auto text = out.str();
    CHECK(text.find("*cmd* USER user") != std::string::npos);
    CHECK(text.find("*cmd* PASS ****") != std::string::npos);
    CHECK(text.find("pass\n") == std::string::npos);
    CHECK(text.find("*resp* +OK 3 ") != std::string::npos);
}

TEST_CASE("client: SASL responses never show in debug output, however short") {
    running_server s;
    std::ostringstream out;
    auto o = s.options();
    o.debug_stream = &out;
    o.debuglevel = 1;
    auto cfg_user = std::string("user");
    client c(o);
    c.auth(sasl_mechanism::login, cfg_user, "pass");
    const auto text = out.str();
    CHECK(text.find("*cmd* AUTH LOGIN") != std::string::npos);
    CHECK(text.find("cGFzcw==") == std::string::npos); // base64("pass")
    CHECK(text.find("dXNlcg==") == std::string::npos); // base64("user")
    CHECK(text.find("*cmd* ****") != std::string::npos);
}

TEST_CASE("client: a bad CA file is a protocol_error") {
    running_server s;
    auto o = s.options();
    o.tls = tls_mode::starttls;
    o.tls_settings.ca_pem.clear();
    o.tls_settings.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(client(o), protocol_error);
}

TEST_CASE("client: pop URLs") {
    auto u = parse_pop_url("pop://rg;AUTH=+APOP@mail.eudora.com:8110");
    CHECK(u.scheme == "pop");
    CHECK(u.user == "rg");
    CHECK(u.auth == "+APOP");
    CHECK(u.host == "mail.eudora.com");
    CHECK(u.port == 8110);
    u = parse_pop_url("pop3s://us%40er:p%3Ass@[::1]");
    CHECK(u.user == "us@er");
    CHECK(u.password == "p:ss");
    CHECK(u.host == "::1");
    CHECK(u.port == 995);
    CHECK(parse_pop_url("pop3://h").port == 110);
    CHECK_FALSE(parse_pop_url("pop3://h").explicit_port);
    CHECK(parse_pop_url("pop3://h:110").explicit_port);
    CHECK_THROWS_WITH(parse_pop_url("pop3://u:s3cret@h:0"), !Catch::Contains("s3cret"));
    CHECK_THROWS_AS(parse_pop_url("http://h"), std::invalid_argument);
    CHECK_THROWS_AS(parse_pop_url("pop3://h:99999"), std::invalid_argument);
    CHECK_THROWS_AS(parse_pop_url("pop3://u%0d%0a@h"), std::invalid_argument);
    CHECK_THROWS_AS(parse_pop_url("pop3://u;x=y@h"), std::invalid_argument);
}

TEST_CASE("client: UTF8, LANG, RPOP, TOP into a sink") {
    running_server s;
    client c(s.options());
    CHECK(c.utf8() == "+OK UTF8 enabled");
    CHECK(c.lang_list() == std::vector<std::string>{"en English"});
    CHECK(c.lang("en") == "+OK en English");
    CHECK(c.lang() == "+OK en English"); // LANG *
    try {
        c.lang("xx");
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(e.response() == "-ERR invalid language xx");
    }
    CHECK_THROWS_AS(c.rpop("user"), protocol_error); // the mock server, like most, refuses RPOP
    login(c);
    std::string head;
    CHECK(c.top(1, 0, [&](std::string_view d) { head.append(d); }).starts_with("+OK"));
    CHECK(head == "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n");
}

TEST_CASE(
    "client: an initial response that would make AUTH longer than 255 octets is sent after the +") {
    running_server s;
    std::ostringstream out;
    auto o = s.options();
    o.debug_stream = &out;
    o.debuglevel = 1;
    client c(o);
    // XOAUTH2 with a 300-octet token: "AUTH XOAUTH2 <base64>" would exceed 255 octets.
    CHECK_THROWS_AS(c.auth(sasl_mechanism::xoauth2, "user", std::string(300, 'a')), protocol_error);
    CHECK(out.str().find("*cmd* AUTH XOAUTH2\n") != std::string::npos); // no initial response
    CHECK(c.auth(sasl_mechanism::xoauth2, "user", "pass").starts_with("+OK"));
}

TEST_CASE("client: debug level 2 shows every line of a multi-line reply") {
    running_server s;
    std::ostringstream out;
    auto o = s.options();
    o.debug_stream = &out;
    client c(o);
    login(c);
    c.set_debuglevel(1);
    c.list();
    CHECK(out.str().find("*get* ") == std::string::npos);
    c.set_debuglevel(2);
    c.list();
    CHECK(out.str().find("*get* 1 ") != std::string::npos);
    CHECK(out.str().find("*get* 3 ") != std::string::npos);
}

TEST_CASE("client: a sink that throws leaves the connection unusable, not out of step") {
    running_server s;
    client c(s.options());
    login(c);
    CHECK_THROWS_AS(c.retr(2, [](std::string_view) { throw std::runtime_error("disk full"); }),
                    std::runtime_error);
    CHECK(error_of([&] { c.noop(); }) == client_error::connection_unusable);
}

TEST_CASE("client: a buffered reply is bounded; an endless body ends in reply_too_large") {
    running_server s(with_rule("RETR", {.endless_body = true}));
    auto o = s.options();
    o.max_buffered_body = 1 << 20;
    client c(o);
    login(c);
    CHECK(error_of([&] { c.retr(1); }) == client_error::reply_too_large);
}

TEST_CASE("client: a listing is bounded by max_listing_octets, a message by max_buffered_body") {
    auto cfg = mock::default_config();
    cfg.users[0].mail = mock::maildrop::generate(1, 3 * 1024 * 1024);
    for (const char* command : {"LIST", "UIDL", "CAPA", "LANG"}) {
        mock::rule r;
        r.command = command;
        r.change.endless_body = true;
        cfg.faults.rules.push_back(r);
    }
    running_server s(cfg);
    auto o = s.options();
    o.protocol_limits.max_listing_octets = 1 << 20;
    o.max_buffered_body = 16 << 20; // a listing stops at the smaller limit
    auto message_of = [](auto f) -> std::string {
        try {
            f();
        } catch (const protocol_error& e) {
            CHECK(e.code() == client_error::reply_too_large);
            return e.what();
        }
        FAIL("no protocol_error thrown");
        return {};
    };
    {
        client c(o);
        CHECK_THAT(message_of([&] { c.capa(); }), Catch::Contains("max_listing_octets"));
    }
    {
        client c(o);
        CHECK_THAT(message_of([&] { c.lang_list(); }), Catch::Contains("max_listing_octets"));
    }
    {
        client c(o);
        login(c);
        CHECK_THAT(message_of([&] { c.list(); }), Catch::Contains("max_listing_octets"));
    }
    {
        client c(o);
        login_after_drop(c);
        CHECK_THAT(message_of([&] { c.uidl(); }), Catch::Contains("max_listing_octets"));
    }
    {
        client c(o);
        login_after_drop(c);
        CHECK_THAT(message_of([&] { c.raw("LIST", true); }), Catch::Contains("max_listing_octets"));
    }
    // A message is no listing: 3 MiB go through with a 1 MiB listing limit.
    client c(o);
    login_after_drop(c);
    CHECK(c.retr(1).octets == cfg.users[0].mail->snapshot()[0]->octets());
    CHECK(c.raw("RETR 1", true).body_octets == cfg.users[0].mail->snapshot()[0]->octets());
}

TEST_CASE("client: an octet count that is no number fails the RETR check like a wrong one") {
    for (const char* count : {"18446744073709551616", "-5", "1,000", "+12"}) {
        INFO(count);
        running_server s(with_rule(
            "RETR", {.replace = "+OK " + std::string(count) + " octets\r\nhello\r\n.\r\n"}));
        {
            client c(s.options());
            login(c);
            try {
                c.retr(1);
                FAIL("no exception");
            } catch (const protocol_error& e) {
                CHECK(e.code() == error::octet_count_mismatch);
                CHECK_THAT(e.what(), Catch::Contains("malformed octet count") &&
                                         Catch::Contains(std::string(count)));
            }
            CHECK(c.noop() == "+OK"); // still in step
            CHECK(error_of([&] { c.retr(1, [](std::string_view) {}); }) ==
                  error::octet_count_mismatch);
            CHECK(error_of([&] { c.retr_many({1}); }) == error::octet_count_mismatch);
            c.quit();
        }
        auto o = s.options();
        o.verify_octet_counts = false;
        client lax(o);
        login(lax);
        CHECK(lax.retr(1).content == "hello\r\n");
        lax.quit();
    }
    // No count at all is no announcement: nothing to check.
    running_server s(with_rule("RETR", {.replace = "+OK message follows\r\nhello\r\n.\r\n"}));
    client c(s.options());
    login(c);
    CHECK(c.retr(1).content == "hello\r\n");
}

TEST_CASE("client: server text in messages and debug output is escaped") {
    auto cfg = with_rule("NOOP", {.replace = "-ERR \x1b[32mgreen\x1b[0m\r\n"});
    mock::rule stls;
    stls.command = "STLS";
    stls.change.replace = "-ERR \x1b]0;TITLE\x07\r\n";
    cfg.faults.rules.push_back(stls);
    mock::rule list;
    list.command = "LIST";
    list.change.replace = "+OK \x1b]0;TITLE\x07\r\n1 5\r\n.\r\n";
    cfg.faults.rules.push_back(list);
    running_server s(cfg);
    std::ostringstream out;
    auto o = s.options();
    o.debug_stream = &out;
    o.debuglevel = 2;
    {
        client c(o);
        try {
            c.stls();
            FAIL("no exception");
        } catch (const protocol_error& e) {
            CHECK(std::string(e.what()) == "STLS refused: -ERR \\x1B]0;TITLE\\x07");
        }
    }
    client c(o);
    login_after_drop(c);
    c.list();
    try {
        c.noop();
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(std::string(e.what()) == "-ERR \\x1B[32mgreen\\x1B[0m");
        CHECK(e.response() == "-ERR \x1b[32mgreen\x1b[0m"); // as it came, for programs
    }
    const auto text = out.str();
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find('\x07') == std::string::npos);
    CHECK(text.find("*resp* +OK \\x1B]0;TITLE\\x07\n") != std::string::npos);
    CHECK(text.find("*resp* -ERR \\x1B[32mgreen\\x1B[0m\n") != std::string::npos);
}

TEST_CASE("client: the password is masked in any URL an error quotes, well-formed or not") {
    for (const char* url :
         {"pop3:/u:s3cret@h", "pop3:u:s3cret@h", "u:s3cret@h", "pop3//u:s3cret@h",
          "pop3://u:s3cret@h:0", "pop3://u:s3cret@h/path", "pop3://u:s3/cret@h/x",
          "pop3://u:p@s3cret@h:99999", "http://u:s3cret@h", "pop3://u:s3cret%zz@h"}) {
        INFO(url);
        try {
            parse_pop_url(url);
            FAIL("no exception");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("s3cret") == std::string::npos);
            CHECK(what.find("cret") == std::string::npos);
            CHECK(what.find("****") != std::string::npos);
        }
    }
    CHECK(redact_pop_url("pop3://user:pw@host:110") == "pop3://user:****@host:110");
    CHECK(redact_pop_url("pop://u;AUTH=PLAIN:pw@h") == "pop://u;AUTH=PLAIN:****@h");
    CHECK(redact_pop_url("pop3:/user:pw@host") == "pop3:/****@host");
    CHECK(redact_pop_url("user:pw@host") == "user:****@host");
    CHECK(redact_pop_url("pop3://user@host") == "pop3://user@host"); // no password
    CHECK(redact_pop_url("pop3://host:110") == "pop3://host:110");
}
