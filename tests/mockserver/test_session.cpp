#include "pop3/mockserver/memory_driver.hpp"
#include "pop3/mockserver/session.hpp"
#include "support/splits.hpp"

#include <catch2/catch.hpp>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/digest.hpp>
#include <pop3/protocol/dot_codec.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/scram.hpp>

using namespace pop3;
using namespace pop3::mock;

namespace {

server_config two_message_config() {
    server_config c;
    std::vector<message_ptr> msgs = {
        make_message("uid-1", "Subject: one\r\n\r\nfirst body\r\n"),
        make_message("uid-2", "Subject: two\r\n\r\n.dot line\r\nline 2\r\nline 3\r\n"),
    };
    c.users.push_back({"mrose", "tanstaaf", std::make_shared<maildrop>(msgs)});
    return c;
}

struct fixture {
    server_config config = two_message_config();
    memory_driver drv{config, {false, true, "1896.697170952"}};
    std::string greeting = drv.start();

    std::string login() { return drv.send("USER mrose\r\nPASS tanstaaf\r\n"); }
};

} // namespace

TEST_CASE("session: greeting carries a well-formed APOP timestamp") {
    fixture f;
    CHECK(f.greeting == "+OK pop3kit mock server ready <1896.697170952@pop3kit.test>\r\n");
    CHECK(is_well_formed_timestamp(*apop_timestamp("+OK x <1896.697170952@pop3kit.test>")));
}

TEST_CASE("session: USER/PASS, STAT, LIST, UIDL, RETR with dot-stuffing, QUIT") {
    fixture f;
    CHECK(f.login() == "+OK send PASS\r\n+OK maildrop has 2 messages (71 octets)\r\n");
    CHECK(f.drv.send("STAT\r\n") == "+OK 2 71\r\n");
    CHECK(f.drv.send("LIST\r\n") == "+OK 2 messages\r\n1 28\r\n2 43\r\n.\r\n");
    CHECK(f.drv.send("LIST 2\r\n") == "+OK 2 43\r\n");
    CHECK(f.drv.send("UIDL\r\n") == "+OK unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n.\r\n");
    CHECK(f.drv.send("UIDL 1\r\n") == "+OK 1 uid-1\r\n");
    CHECK(f.drv.send("RETR 2\r\n") ==
          "+OK 43 octets\r\nSubject: two\r\n\r\n..dot line\r\nline 2\r\nline 3\r\n.\r\n");
    CHECK(f.drv.send("TOP 2 1\r\n") ==
          "+OK top of message follows\r\nSubject: two\r\n\r\n..dot line\r\n.\r\n");
    CHECK(f.drv.send("TOP 1 0\r\n") == "+OK top of message follows\r\nSubject: one\r\n\r\n.\r\n");
    CHECK(f.drv.send("NOOP\r\n") == "+OK\r\n");
    CHECK(f.drv.send("QUIT\r\n") == "+OK pop3kit signing off (2 messages left)\r\n");
    CHECK(f.drv.closed());
}

TEST_CASE("session: APOP with the RFC 1939 known answer") {
    fixture f;
    CHECK(f.drv.send("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n") ==
          "-ERR [AUTH] invalid user name or digest\r\n");
    // The RFC's digest is for the RFC's host; ours uses pop3kit.test.
    const auto digest = apop_digest("<1896.697170952@pop3kit.test>", "tanstaaf");
    CHECK(f.drv.send("APOP mrose " + digest + "\r\n") ==
          "+OK maildrop has 2 messages (71 octets)\r\n");
}

TEST_CASE("session: deleted messages vanish from STAT, LIST and UIDL; RSET restores them") {
    fixture f;
    f.login();
    CHECK(f.drv.send("DELE 1\r\n") == "+OK message 1 deleted\r\n");
    CHECK(f.drv.send("DELE 1\r\n") == "-ERR message 1 already deleted\r\n");
    CHECK(f.drv.send("RETR 1\r\n") == "-ERR message 1 already deleted\r\n");
    CHECK(f.drv.send("STAT\r\n") == "+OK 1 43\r\n");
    CHECK(f.drv.send("LIST\r\n") == "+OK 1 messages\r\n2 43\r\n.\r\n");
    CHECK(f.drv.send("UIDL\r\n") == "+OK unique-id listing follows\r\n2 uid-2\r\n.\r\n");
    CHECK(f.drv.send("RSET\r\n") == "+OK maildrop has 2 messages (71 octets)\r\n");
    CHECK(f.drv.send("STAT\r\n") == "+OK 2 71\r\n");
}

TEST_CASE("session: deletions happen only on QUIT from TRANSACTION") {
    server_config config = two_message_config();
    auto mail = config.users[0].mail;
    {
        memory_driver drv(config, {});
        drv.start();
        drv.send("USER mrose\r\nPASS tanstaaf\r\nDELE 1\r\n");
        drv.disconnect(); // dropped: nothing deleted
    }
    CHECK(mail->snapshot().size() == 2);
    {
        memory_driver drv(config, {});
        drv.start();
        drv.send("USER mrose\r\nPASS tanstaaf\r\nDELE 1\r\n");
        CHECK(drv.send("QUIT\r\n") == "+OK pop3kit signing off (1 messages left)\r\n");
    }
    REQUIRE(mail->snapshot().size() == 1);
    CHECK(mail->snapshot()[0]->uid == "uid-2");
}

TEST_CASE("session: a second login to a locked maildrop gets IN-USE; a wrong password AUTH") {
    server_config config = two_message_config();
    memory_driver first(config, {});
    first.start();
    first.send("USER mrose\r\nPASS tanstaaf\r\n");
    memory_driver second(config, {});
    second.start();
    CHECK(second.send("USER mrose\r\nPASS tanstaaf\r\n") ==
          "+OK send PASS\r\n-ERR [IN-USE] maildrop already locked by another session\r\n");
    CHECK(second.send("USER mrose\r\nPASS wrong\r\n") ==
          "+OK send PASS\r\n-ERR [AUTH] invalid user name or password\r\n");
    first.disconnect();
    CHECK(second.send("USER mrose\r\nPASS tanstaaf\r\n") ==
          "+OK send PASS\r\n+OK maildrop has 2 messages (71 octets)\r\n");
}

TEST_CASE("session: state rules, unknown commands and bad arguments get -ERR and go on") {
    fixture f;
    CHECK(f.drv.send("STAT\r\n") == "-ERR command not valid in the AUTHORIZATION state\r\n");
    CHECK(f.drv.send("PASS x\r\n") == "-ERR PASS must follow USER\r\n");
    CHECK(f.drv.send("XTND\r\n") == "-ERR unknown command\r\n");
    CHECK(f.drv.send("RPOP mrose\r\n") == "-ERR RPOP is not supported\r\n");
    f.login();
    CHECK(f.drv.send("USER mrose\r\n") == "-ERR command not valid in the TRANSACTION state\r\n");
    CHECK(f.drv.send("STLS\r\n") == "-ERR command not valid in the TRANSACTION state\r\n");
    CHECK(f.drv.send("RETR 3\r\n") == "-ERR no such message\r\n");
    CHECK(f.drv.send("RETR 0\r\n").starts_with("-ERR message number"));
    CHECK(f.drv.send("TOP 1\r\n") == "-ERR missing argument\r\n");
    CHECK(f.drv.send("LIST 1 2\r\n") == "-ERR too many arguments\r\n");
    CHECK(f.drv.reading());
}

TEST_CASE("session: lines over 255 octets get -ERR and the session goes on") {
    fixture f;
    CHECK(f.drv.send("USER " + std::string(300, 'a') + "\r\nNOOP\r\n") ==
          "-ERR line too long (limit 255 octets including CRLF)\r\n-ERR command not valid in the "
          "AUTHORIZATION state\r\n");
    CHECK(f.drv.reading());
}

TEST_CASE("session: N consecutive errors close the connection") {
    server_config config = two_message_config();
    config.max_consecutive_errors = 3;
    memory_driver drv(config, {});
    drv.start();
    CHECK(drv.send("X1\r\nSTAT\r\n") == "-ERR command keyword must be 3 or 4 characters\r\n-ERR "
                                        "command not valid in the AUTHORIZATION state\r\n");
    CHECK(drv.send("STAT\r\n") == "-ERR command not valid in the AUTHORIZATION state\r\n-ERR too "
                                  "many errors, closing the connection\r\n");
    CHECK(drv.closed());
}

TEST_CASE("session: CAPA per state (RFC 2449 §5: both states, STLS only before login)") {
    fixture f;
    CHECK(f.drv.send("CAPA\r\n") ==
          "+OK capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2 "
          "OAUTHBEARER SCRAM-SHA-256\r\n"
          "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUIDL\r\nSTLS\r\nUTF8\r\n"
          "LANG\r\nIMPLEMENTATION pop3kit-mockserver\r\n.\r\n");
    f.login();
    CHECK(f.drv.send("CAPA\r\n") ==
          "+OK capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2 "
          "OAUTHBEARER SCRAM-SHA-256\r\n"
          "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nUIDL\r\nUTF8\r\n"
          "LANG\r\nIMPLEMENTATION pop3kit-mockserver\r\n.\r\n");
}

TEST_CASE("session: STLS discards plaintext pipelined after it (command injection defence)") {
    fixture f;
    CHECK(f.drv.send("STLS\r\nCAPA\r\n") == "+OK begin TLS negotiation\r\n");
    REQUIRE(f.drv.tls_requested());
    CHECK(f.drv.complete_tls().empty()); // nothing: the injected CAPA was dropped
    CHECK(f.drv.reading());
    CHECK(f.drv.send("STLS\r\n") == "-ERR command not permitted when TLS active\r\n");
    CHECK(f.drv.send("CAPA\r\n").find("STLS") == std::string::npos);
}

TEST_CASE("session: STLS without TLS available") {
    server_config config = two_message_config();
    memory_driver drv(config, {false, false, "1.1"});
    drv.start();
    CHECK(drv.send("STLS\r\n") == "-ERR TLS is not available\r\n");
}

TEST_CASE("session: SASL PLAIN, LOGIN, CRAM-MD5, XOAUTH2; cancel and empty") {
    std::error_code ec;
    SECTION("PLAIN with initial response") {
        fixture f;
        const auto ir = base64_encode(sasl_encode_plain("mrose", "tanstaaf", "", ec));
        CHECK(f.drv.send("AUTH PLAIN " + ir + "\r\n") ==
              "+OK maildrop has 2 messages (71 octets)\r\n");
    }
    SECTION("PLAIN without initial response") {
        fixture f;
        CHECK(f.drv.send("AUTH PLAIN\r\n") == "+ \r\n");
        CHECK(f.drv.send(base64_encode(sasl_encode_plain("mrose", "bad", "", ec)) + "\r\n") ==
              "-ERR [AUTH] invalid user name or password\r\n");
    }
    SECTION("LOGIN") {
        fixture f;
        CHECK(f.drv.send("AUTH LOGIN\r\n") == "+ VXNlcm5hbWU6\r\n");
        CHECK(f.drv.send(base64_encode("mrose") + "\r\n") == "+ UGFzc3dvcmQ6\r\n");
        CHECK(f.drv.send(base64_encode("tanstaaf") + "\r\n") ==
              "+OK maildrop has 2 messages (71 octets)\r\n");
    }
    SECTION("CRAM-MD5") {
        fixture f;
        const auto challenge_line = f.drv.send("AUTH CRAM-MD5\r\n");
        REQUIRE(challenge_line.starts_with("+ "));
        std::string challenge;
        REQUIRE(base64_decode(challenge_line.substr(2, challenge_line.size() - 4), challenge, ec));
        const auto resp = sasl_encode_cram_md5("mrose", "tanstaaf", challenge, ec);
        CHECK(f.drv.send(base64_encode(resp) + "\r\n") ==
              "+OK maildrop has 2 messages (71 octets)\r\n");
    }
    SECTION("XOAUTH2") {
        fixture f;
        const auto ir = base64_encode(sasl_encode_xoauth2("mrose", "tanstaaf", ec));
        CHECK(f.drv.send("AUTH XOAUTH2 " + ir + "\r\n") ==
              "+OK maildrop has 2 messages (71 octets)\r\n");
    }
    SECTION("cancel with *") {
        fixture f;
        CHECK(f.drv.send("AUTH PLAIN\r\n*\r\n") == "+ \r\n-ERR AUTH cancelled\r\n");
        CHECK(f.drv.send("AUTH PLAIN *\r\n") == "-ERR AUTH cancelled\r\n");
    }
    SECTION("empty initial response =") {
        fixture f;
        CHECK(f.drv.send("AUTH PLAIN =\r\n").starts_with("-ERR"));
    }
    SECTION("unknown mechanism") {
        fixture f;
        CHECK(f.drv.send("AUTH GSSAPI\r\n") == "-ERR unsupported authentication mechanism\r\n");
    }
}

TEST_CASE("session: UTF8 and LANG") {
    fixture f;
    CHECK(f.drv.send("LANG\r\n") == "+OK language listing follows\r\nen English\r\n.\r\n");
    CHECK(f.drv.send("LANG en\r\n") == "+OK en English\r\n");
    CHECK(f.drv.send("LANG *\r\n") == "+OK en English\r\n");
    CHECK(f.drv.send("LANG xx\r\n") == "-ERR invalid language xx\r\n");
    CHECK(f.drv.send("UTF8\r\n") == "+OK UTF8 enabled\r\n");
    f.login();
    CHECK(f.drv.send("UTF8\r\n") == "-ERR command not valid in the TRANSACTION state\r\n");
}

TEST_CASE("session: QUIT in AUTHORIZATION closes without UPDATE") {
    fixture f;
    CHECK(f.drv.send("QUIT\r\n") == "+OK pop3kit signing off\r\n");
    CHECK(f.drv.closed());
}

TEST_CASE("session: pipelined commands are answered in order") {
    fixture f;
    CHECK(f.drv.send("USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST 1\r\nQUIT\r\nSTAT\r\n") ==
          "+OK send PASS\r\n+OK maildrop has 2 messages (71 octets)\r\n+OK 2 71\r\n+OK 1 28\r\n"
          "+OK pop3kit signing off (2 messages left)\r\n");
}

TEST_CASE("session: the empty body and a first line that starts with a dot") {
    server_config c;
    c.users.push_back({"u", "p",
                       std::make_shared<maildrop>(std::vector<message_ptr>{
                           make_message("a", ""), make_message("b", ".first\r\n")})});
    memory_driver drv(c, {});
    drv.start();
    drv.send("USER u\r\nPASS p\r\n");
    CHECK(drv.send("RETR 1\r\n") == "+OK 0 octets\r\n.\r\n");
    CHECK(drv.send("RETR 2\r\n") == "+OK 8 octets\r\n..first\r\n.\r\n");
}

TEST_CASE("session: output does not depend on how the client's bytes are split") {
    const std::string client = "CAPA\r\nUSER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST\r\nUIDL 2\r\n"
                               "RETR 2\r\nTOP 1 1\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n";
    auto converse = [](const std::vector<std::string_view>& chunks) {
        server_config config = two_message_config();
        memory_driver drv(config, {false, true, "1.2"});
        std::string out = drv.start();
        for (auto c : chunks)
            out += drv.send(c);
        return out;
    };
    const auto expected = converse({client});
    CHECK(expected.ends_with("+OK pop3kit signing off (2 messages left)\r\n"));
    for (const auto& s : test::splits(client)) {
        INFO(s.name);
        REQUIRE(converse(s.chunks) == expected);
    }
}

TEST_CASE("session: message numbers are echoed as numbers, whatever their spelling") {
    fixture f;
    f.login();
    CHECK(f.drv.send("LIST 0001\r\n") == "+OK 1 28\r\n");
    CHECK(f.drv.send("UIDL 02\r\n") == "+OK 2 uid-2\r\n");
    CHECK(f.drv.send("DELE 001\r\n") == "+OK message 1 deleted\r\n");
    CHECK(f.drv.send("RETR 01\r\n") == "-ERR message 1 already deleted\r\n");
}

TEST_CASE("session: each connection gets its own APOP timestamp (RFC 1939 §7)") {
    server_config config = two_message_config();
    memory_driver a(config, {false, true, "100.1"}), b(config, {false, true, "100.2"});
    CHECK(a.start() != b.start());
    CHECK(a.inner().timestamp() != b.inner().timestamp());
}

TEST_CASE("session: scenario rules match the state in which the command arrived") {
    server_config config = two_message_config();
    rule on_pass;
    on_pass.command = "PASS";
    on_pass.state = session_state::authorization;
    on_pass.change.append = "+OK extra\r\n";
    rule any_transaction;
    any_transaction.command = "*";
    any_transaction.state = session_state::transaction;
    any_transaction.change.append = "+OK in transaction\r\n";
    config.faults.rules = {on_pass, any_transaction};
    memory_driver drv(config, {});
    drv.start();
    // PASS arrived in AUTHORIZATION: the first rule, not the TRANSACTION one, even though the
    // session is in TRANSACTION once PASS succeeded.
    CHECK(drv.send("USER mrose\r\nPASS tanstaaf\r\n") ==
          "+OK send PASS\r\n+OK maildrop has 2 messages (71 octets)\r\n+OK extra\r\n");
    CHECK(drv.send("NOOP\r\n") == "+OK\r\n+OK in transaction\r\n");
}

// ---- reliability (issue #14) ---------------------------------------------------------------

TEST_CASE("session: failed logins are counted on their own and end the connection") {
    // USER's +OK used to reset the error count, so USER/PASS pairs could guess forever.
    fixture f;
    for (std::size_t i = 1; i < f.config.max_failed_logins; ++i) {
        CHECK(f.drv.send("USER mrose\r\nPASS wrong\r\n") ==
              "+OK send PASS\r\n-ERR [AUTH] invalid user name or password\r\n");
        CHECK(f.drv.send("NOOP\r\n").starts_with("-ERR")); // other commands do not reset it
    }
    CHECK(f.drv.send("USER mrose\r\nPASS wrong\r\n") ==
          "+OK send PASS\r\n-ERR [AUTH] invalid user name or password (3 failed logins, closing "
          "the connection)\r\n");
    CHECK(f.drv.closed());
}

TEST_CASE("session: failed APOP and AUTH count as failed logins too") {
    fixture f;
    f.drv.send("APOP mrose 00000000000000000000000000000000\r\n");
    f.drv.send("AUTH PLAIN " + base64_encode(std::string("\0mrose\0bad", 10)) + "\r\n");
    CHECK(f.drv.reading());
    const auto last = f.drv.send("AUTH PLAIN *\r\n"); // a cancelled exchange is a failure
    CHECK(last.find("closing the connection") != std::string::npos);
    CHECK(f.drv.closed());
}

TEST_CASE("session: TOP shares the stored message and matches a separately stuffed prefix") {
    const std::string_view raws[] = {
        "Subject: a\r\n\r\n.one\r\ntwo\r\n..three\r\n.\r\nfive\r\n",
        "Subject: headers only\r\nX: y\r\n",
        "",
        "\r\nbody after an empty header block\r\n.\r\n",
        "A: b\r\n\r\n\r\n\r\n.\r\n",
    };
    for (auto raw : raws) {
        server_config c;
        const auto m = make_message("u", raw);
        c.users.push_back({"u", "p", std::make_shared<maildrop>(std::vector<message_ptr>{m})});
        for (unsigned lines = 0; lines < 7; ++lines) {
            // The reference: headers and the first `lines` body lines, stuffed on their own.
            std::string_view body = m->body();
            std::size_t end = 0;
            for (unsigned n = lines; n > 0 && end < body.size(); --n) {
                const auto eol = body.find('\n', end);
                end = eol == std::string_view::npos ? body.size() : eol + 1;
            }
            std::string expected = "+OK top of message follows\r\n";
            dot_stuffer stuffer;
            stuffer.encode(m->headers(), expected);
            stuffer.encode(body.substr(0, end), expected);
            stuffer.finish(expected);

            session s(c, {});
            s.start();
            s.on_write_done();
            s.on_read("USER u\r\nPASS p\r\n");
            for (int i = 0; i < 4; ++i)
                s.on_write_done();
            const auto a = s.on_read("TOP 1 " + std::to_string(lines) + "\r\n");
            INFO("message '" << raw << "', " << lines << " lines");
            REQUIRE(a.what == server_action::type::write);
            CHECK(a.bytes() == expected);
            // Status line, body, terminator: the body is a view of the stored wire form.
            if (a.parts.size() == 3) CHECK(a.parts[1].data() == m->wire.data());
        }
    }
}

TEST_CASE("session: a client that pipelines without reading gets no more replies queued") {
    // 1,000 UIDLs of 100,000 messages took 1.18 GB: every listing was built before any was
    // written. The session now stops taking commands while its queued output is large.
    server_config c;
    c.users.push_back({"u", "p", maildrop::generate(20000, 60)});
    memory_driver probe(c, {});
    probe.start();
    probe.send("USER u\r\nPASS p\r\n");
    const auto one_listing = probe.send("UIDL\r\n").size();
    REQUIRE(one_listing > c.max_queued_output);
    probe.disconnect(); // releases the maildrop's lock

    session s(c, {});
    s.start();
    s.on_write_done();
    s.on_read("USER u\r\nPASS p\r\n");
    for (int i = 0; i < 4; ++i)
        s.on_write_done();
    std::string uidls;
    for (int i = 0; i < 100; ++i)
        uidls += "UIDL\r\n";
    auto a = s.on_read(uidls);
    // One listing at a time goes out; the next is built only once it is written.
    std::size_t replies = 0;
    while (a.what == server_action::type::write) {
        CHECK(a.size() <= one_listing);
        ++replies;
        a = s.on_write_done();
    }
    CHECK(replies == 100);
    CHECK(a.what == server_action::type::read);
}

// ---- the command table (issue #16) ---------------------------------------------------------

TEST_CASE("session: each command is refused exactly in the states the command table excludes") {
    for (const auto& c : command_table()) {
        // A well-formed line: message numbers are 1, other arguments a word.
        std::string line(c.keyword);
        for (std::size_t i = 0; i < c.min_args; ++i)
            line += (c.message_number_args >> i & 1) ? " 1" : c.id == command_id::top ? " 0" : " x";
        for (auto state : {session_state::authorization, session_state::transaction}) {
            INFO(line << " in "
                      << (state == session_state::authorization ? "AUTHORIZATION" : "TRANSACTION"));
            fixture f;
            if (state == session_state::transaction) f.login();
            const auto reply = f.drv.send(line + "\r\n");
            const bool refused =
                reply == (state == session_state::authorization
                              ? "-ERR command not valid in the AUTHORIZATION state\r\n"
                              : "-ERR command not valid in the TRANSACTION state\r\n");
            CHECK(refused == !c.valid_in(state));
        }
    }
}

TEST_CASE("session: the listings are dot-stuffed where a line starts with a dot") {
    server_config config = two_message_config();
    config.languages = {".x dotted", "en English"};
    config.faults.capabilities_authorization = std::vector<std::string>{".", "USER"};
    memory_driver drv(config, {});
    drv.start();
    CHECK(drv.send("CAPA\r\n") == "+OK capability list follows\r\n..\r\nUSER\r\n.\r\n");
    CHECK(drv.send("LANG\r\n") ==
          "+OK language listing follows\r\n..x dotted\r\nen English\r\n.\r\n");
    CHECK(drv.send("AUTH\r\n") == "+OK list of SASL mechanisms follows\r\nPLAIN\r\nLOGIN\r\n"
                                  "CRAM-MD5\r\nXOAUTH2\r\nOAUTHBEARER\r\nSCRAM-SHA-256\r\n.\r\n");
}

TEST_CASE("session: multi-line rules apply to AUTH and LANG listings") {
    server_config config = two_message_config();
    rule auth;
    auth.command = "AUTH";
    auth.change.drop_terminator = true;
    rule lang;
    lang.command = "LANG";
    lang.change.drop_terminator = true;
    config.faults.rules = {auth, lang};
    config.mechanisms = {sasl_mechanism::plain};
    memory_driver drv(config, {});
    drv.start();
    CHECK(drv.send("AUTH\r\n") == "+OK list of SASL mechanisms follows\r\nPLAIN\r\n");
    CHECK(drv.send("LANG\r\n") == "+OK language listing follows\r\nen English\r\n");
    // With an argument the replies are single-line, which the rules leave alone.
    CHECK(drv.send("LANG en\r\n") == "+OK en English\r\n");
}

TEST_CASE("session: scram_iterations changes the SCRAM server-first's count, nonce kept") {
    server_config config = two_message_config();
    rule r;
    r.role = reply_role::auth_challenge;
    r.change.scram_iterations = 1'000'000'000;
    config.faults.rules = {r};
    memory_driver drv(config, {});
    drv.start();
    // The empty challenge after AUTH is not the server-first: the rule waits for it.
    CHECK(drv.send("AUTH SCRAM-SHA-256\r\n") == "+ \r\n");
    CHECK(r.served->load() == 0);
    scram_client client("mrose", "tanstaaf", "fyko+d2lbbFgONRv9qkxdawL");
    const auto reply = drv.send(base64_encode(client.client_first()) + "\r\n");
    REQUIRE(reply.starts_with("+ "));
    REQUIRE(reply.ends_with("\r\n"));
    std::string first;
    std::error_code ec;
    REQUIRE(base64_decode(std::string_view(reply).substr(2, reply.size() - 4), first, ec));
    CHECK(first.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"));
    CHECK(first.ends_with(",i=1000000000"));
    CHECK(r.served->load() == 1);
    // Only a bound on the count refuses it: the nonce and the salt are well-formed.
    client.client_final(first, ec);
    CHECK(ec == error::bad_sasl_message);
    ec.clear();
    scram_client patient("mrose", "tanstaaf", "fyko+d2lbbFgONRv9qkxdawL");
    std::string mangled = first;
    mangled.replace(mangled.find(",i="), std::string::npos, ",i=1");
    CHECK_FALSE(patient.client_final(mangled, ec).empty());
    CHECK_FALSE(ec);
}
