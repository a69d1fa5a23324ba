// pop3-client, the program: its command line is a contract, so these tests run the built binary
// against an in-process mock server and check exact stdout, stderr and exit codes.
#include "support/child_process.hpp"
#include "support/client_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <vector>

using namespace pop3;

namespace {

using outcome = test::program_outcome;

// Runs pop3-client with `args`.
outcome cli(const std::vector<std::string>& args) {
    return test::run_program(POP3_CLIENT_BIN, args);
}

using test::running_server;
using test::temp_dir;
using test::with_rules;

// The default maildrop's messages, from a maildrop of our own (the server's is shared state).
const std::vector<mock::message_ptr>& expected() {
    static const auto messages = mock::default_maildrop()->snapshot();
    return messages;
}
std::string content(std::size_t n) {
    return expected().at(n - 1)->content;
}
std::string size(std::size_t n) {
    return std::to_string(content(n).size());
}

} // namespace

TEST_CASE("pop3-client: retr writes the message exactly, dot-unstuffed, CRLF") {
    running_server s;
    auto r = cli({s.url(), "retr", "1"});
    CHECK(r.status == 0);
    CHECK(r.out == content(1));
    CHECK(r.err.empty());

    r = cli({s.url(), "retr", "2"}); // has lines starting with '.'
    CHECK(r.status == 0);
    CHECK(r.out == content(2));
    CHECK(r.out.find("\r\n.\r\n..\r\n.hidden\r\n") != std::string::npos);

    r = cli({s.url(), "retr", "3"}); // empty body
    CHECK(r.status == 0);
    CHECK(r.out == content(3));
}

TEST_CASE("pop3-client: a large message streams through unchanged") {
    auto config = mock::default_config();
    auto big = mock::maildrop::generate(1, 3 * 1024 * 1024);
    const auto want = big->snapshot().at(0)->content;
    config.users[0].mail = big;
    running_server s(std::move(config));
    const auto r = cli({s.url(), "retr", "1"});
    CHECK(r.status == 0);
    CHECK(r.out.size() == want.size());
    CHECK(r.out == want);
}

TEST_CASE("pop3-client: stat, list, uidl, top, noop, rset print one result per line") {
    running_server s;
    const auto total = content(1).size() + content(2).size() + content(3).size();

    CHECK(cli({s.url(), "stat"}).out == "3 " + std::to_string(total) + "\n");
    CHECK(cli({s.url(), "list"}).out ==
          "1 " + size(1) + "\n2 " + size(2) + "\n3 " + size(3) + "\n");
    CHECK(cli({s.url(), "list", "2"}).out == "2 " + size(2) + "\n");
    CHECK(cli({s.url(), "uidl"}).out == "1 default-1\n2 default-2\n3 default-3\n");
    CHECK(cli({s.url(), "uidl", "3"}).out == "3 default-3\n");
    CHECK(cli({s.url(), "noop"}).out == "+OK\n");
    CHECK(cli({s.url(), "rset"}).out.starts_with("+OK"));

    const auto headers = content(1).substr(0, content(1).find("\r\n\r\n") + 4);
    auto r = cli({s.url(), "top", "1", "0"});
    CHECK(r.status == 0);
    CHECK(r.out == headers);
    r = cli({s.url(), "top", "2", "1"});
    CHECK(r.out == content(2).substr(0, content(2).find("\r\n\r\n") + 4) +
                       "The next lines start with dots:\r\n");

    // Several commands, in order, on one connection.
    r = cli({s.url(), "stat", "list", "1", "uidl", "2", "retr", "1", "noop"});
    CHECK(r.status == 0);
    CHECK(r.out == "3 " + std::to_string(total) + "\n1 " + size(1) + "\n2 default-2\n" +
                       content(1) + "+OK\n");
}

TEST_CASE("pop3-client: capa prints one capability per line") {
    running_server s;
    // No user in the URL: no login, the AUTHORIZATION capabilities.
    auto r = cli({s.url(""), "capa"});
    CHECK(r.status == 0);
    CHECK(r.out == "TOP\nUSER\nSASL PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER "
                   "SCRAM-SHA-256\nRESP-CODES\nAUTH-RESP-CODE\n"
                   "PIPELINING\nEXPIRE NEVER\nUIDL\nSTLS\nUTF8\nLANG\n"
                   "IMPLEMENTATION pop3kit-mockserver\n");
    // Logged in: TRANSACTION capabilities, the same but STLS (RFC 2449 §5, RFC 2595 §4).
    r = cli({s.url(), "capa"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("TOP\nUSER\nSASL "));
    CHECK(r.out.find("STLS") == std::string::npos);
}

TEST_CASE("pop3-client: dele takes effect at QUIT only") {
    running_server s;
    auto r = cli({s.url(), "dele", "1"});
    CHECK(r.status == 0);
    CHECK(r.out == "+OK message 1 deleted\n");
    r = cli({s.url(), "stat", "uidl"});
    CHECK(r.status == 0);
    CHECK(r.out == "2 " + std::to_string(content(2).size() + content(3).size()) +
                       "\n1 default-2\n2 default-3\n");
    // rset in the same session undoes a dele.
    r = cli({s.url(), "dele", "1", "rset", "stat"});
    CHECK(r.status == 0);
    r = cli({s.url(), "stat"});
    CHECK(r.out.starts_with("2 "));
}

TEST_CASE("pop3-client: a failing command stops the run without QUIT") {
    running_server s;
    const auto r = cli({s.url(), "dele", "1", "retr", "9", "stat"});
    CHECK(r.status == 1);
    CHECK(r.out == "+OK message 1 deleted\n"); // stat never ran
    CHECK(r.err.starts_with("pop3-client: -ERR"));
    // No QUIT: the deletion was not committed. The server drops the lock when it sees the
    // connection close, which may take a moment.
    outcome again;
    for (int i = 0; i < 50; ++i) {
        again = cli({s.url(), "stat"});
        if (again.status == 0) break;
        ::usleep(20000);
    }
    CHECK(again.out.starts_with("3 "));
}

TEST_CASE("pop3-client: raw sends the line and frames the reply by its command") {
    running_server s;
    CHECK(cli({s.url(), "raw", "NOOP"}).out == "+OK\n");
    auto r = cli({s.url(), "raw", "LIST"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("+OK"));
    CHECK(r.out.ends_with("\n1 " + size(1) + "\n2 " + size(2) + "\n3 " + size(3) + "\n"));
    CHECK(cli({s.url(), "raw", "uidl 2"}).out == "+OK 2 default-2\n");
    r = cli({s.url(), "raw", "RETR 2"});
    CHECK(r.status == 0);
    std::string lines = "+OK " + size(2) + " octets\n" + content(2);
    for (std::size_t p = 0; (p = lines.find("\r\n", p)) != std::string::npos;)
        lines.erase(p, 1);
    CHECK(r.out == lines);
    r = cli({s.url(""), "raw", "CAPA", "raw", "QUIT"});
    CHECK(r.status == 0);
    CHECK(r.out.starts_with("+OK"));
    CHECK(r.out.find("\nIMPLEMENTATION pop3kit-mockserver\n+OK pop3kit signing off") !=
          std::string::npos);
    // A -ERR: shown, and exit code 1.
    r = cli({s.url(), "raw", "RETR 99"});
    CHECK(r.status == 1);
    CHECK(r.out.starts_with("-ERR"));
    CHECK(r.err.starts_with("pop3-client: -ERR"));
}

TEST_CASE("pop3-client: TLS, verified against --ca") {
    running_server s(mock::default_config(), true);
    const temp_dir d;
    const auto ca = d.write("ca.pem", s.srv.identity().certificate);
    const auto total = content(1).size() + content(2).size() + content(3).size();
    const auto want = "3 " + std::to_string(total) + "\n";

    auto r = cli({s.url(), "--starttls", "--ca", ca.string(), "stat"});
    CHECK(r.status == 0);
    CHECK(r.out == want);
    CHECK(r.err.empty());

    r = cli({s.tls_url(), "--ca", ca.string(), "stat", "retr", "1"});
    CHECK(r.status == 0);
    CHECK(r.out == want + content(1));

    // --tls makes a pop3:// URL implicit TLS.
    r = cli({"--tls", "pop3://user:pass@127.0.0.1:" + std::to_string(*s.srv.tls_port()),
             "--ca=" + ca.string(), "stat"});
    CHECK(r.status == 0);
    CHECK(r.out == want);

    SECTION("a self-signed certificate is refused without --ca") {
        r = cli({s.tls_url(), "stat"});
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK(r.err.find("certificate") != std::string::npos);
        r = cli({s.url(), "--starttls", "stat"});
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK(r.err.find("certificate") != std::string::npos);
    }
    SECTION("--insecure skips verification") {
        CHECK(cli({s.tls_url(), "--insecure", "stat"}).out == want);
        CHECK(cli({s.url(), "--starttls", "--insecure", "stat"}).out == want);
    }
}

TEST_CASE("pop3-client: login mechanisms") {
    running_server s;
    const std::string stat =
        "3 " + std::to_string(content(1).size() + content(2).size() + content(3).size()) + "\n";
    for (const char* mech : {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER",
                             "SCRAM-SHA-256", "APOP", "cram-md5"}) {
        INFO(mech);
        const auto r = cli({s.url(), "--auth", mech, "stat"});
        CHECK(r.status == 0);
        CHECK(r.out == stat);
        CHECK(r.err.empty());
    }
    const auto host = "@127.0.0.1:" + std::to_string(s.srv.port());
    for (const char* auth : {"CRAM-MD5", "+APOP", "*", "PLAIN"}) {
        INFO(auth);
        const auto r = cli({"pop://user;AUTH=" + std::string(auth) + ":pass" + host, "stat"});
        CHECK(r.status == 0);
        CHECK(r.out == stat);
    }
}

TEST_CASE("pop3-client: percent-decoded credentials, and -v masks them") {
    auto config = mock::default_config();
    config.users.push_back({"alice", "p@ss:w%rd s3cret", mock::default_maildrop()});
    config.users.push_back({"bob", "xy", mock::default_maildrop()});
    running_server s(std::move(config));
    const std::string userinfo = "%61lice:p%40ss%3Aw%25rd%20s3cret@";
    for (const char* mech : {"USER", "PLAIN", "LOGIN", "APOP", "CRAM-MD5", "SCRAM-SHA-256"}) {
        INFO(mech);
        std::vector<std::string> args{s.url(userinfo), "-v", "stat"};
        if (std::string(mech) != "USER") args.insert(args.end() - 1, {"--auth", mech});
        const auto r = cli(args);
        CHECK(r.status == 0);
        CHECK(r.out.starts_with("3 "));
        CHECK(r.err.find("*cmd* STAT") != std::string::npos);
        CHECK(r.err.find("*resp* +OK pop3kit mock server ready") != std::string::npos);
        CHECK(r.err.find("s3cret") == std::string::npos);
        CHECK(r.err.find("****") != std::string::npos);
    }
    CHECK(cli({s.url(userinfo), "-v", "stat"}).err.find("*cmd* PASS ****\n") != std::string::npos);

    // LOGIN sends the password as its own base64 line; a short one must not show either.
    const auto r = cli({s.url("bob:xy@"), "--auth", "LOGIN", "-v", "stat"});
    CHECK(r.status == 0);
    CHECK(r.err.find("*cmd* AUTH LOGIN\n") != std::string::npos);
    CHECK(r.err.find("eHk=") == std::string::npos); // base64("xy")
    CHECK(r.err.find("*cmd* STAT\n") != std::string::npos);
}

TEST_CASE("pop3-client: exit code 1 and the server's line for a -ERR") {
    running_server s;
    auto r = cli({s.url("user:wrong@"), "stat"});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "pop3-client: -ERR [AUTH] invalid user name or password\n");
    r = cli({s.url("user:wrong@"), "--auth", "CRAM-MD5", "stat"});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-client: -ERR"));
    // Without login, TRANSACTION commands are refused by the server.
    r = cli({s.url(""), "stat"});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-client: -ERR"));

    // Nothing listening.
    const auto url = s.url();
    s.srv.stop();
    r = cli({url, "stat"});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-client: cannot connect to 127.0.0.1:"));
}

TEST_CASE("pop3-client: exit code 2 for a bad command line") {
    const std::string url = "pop3://user:pass@127.0.0.1:1";
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "missing URL"},
        {{url}, "missing COMMAND"},
        {{url, "frobnicate"}, "unknown command 'frobnicate'"},
        {{url, "retr"}, "retr: missing message number"},
        {{url, "dele", "x"}, "dele: expected a message number"},
        {{url, "retr", "0"}, "retr: expected a message number"},
        {{url, "list", "0"}, "list: expected a message number"},
        {{url, "top", "1"}, "top: missing line count"},
        {{url, "top", "1", "-1"}, "top: expected a line count"},
        {{url, "raw"}, "raw: missing"},
        {{url, "raw", "STLS"}, "raw: STLS"},
        {{url, "--bogus", "stat"}, "unknown option '--bogus'"},
        {{url, "--auth", "NTLM", "stat"}, "unsupported mechanism 'NTLM'"},
        {{url, "--auth"}, "--auth: missing value"},
        {{url, "--tls", "--starttls", "stat"}, "exclude each other"},
        {{url, "--ca", "x.pem", "--insecure", "stat"}, "exclude each other"},
        {{url, "--ca", "/nonexistent/ca.pem", "stat"}, "--ca: cannot read"},
        {{url, "--timeout", "soon", "stat"}, "--timeout"},
        {{url, "--max-listing", "0", "stat"}, "--max-listing: expected a size"},
        {{url, "--max-listing", "lots", "stat"}, "--max-listing: expected a size"},
        {{url, "--max-listing", "-1M", "stat"}, "--max-listing: expected a size"},
        {{url, "--max-listing", "99999999999999999999G", "stat"}, "--max-listing: expected"},
        {{url, "--max-listing", "18014398509481984G", "stat"}, "--max-listing: expected"},
        {{"http://user:pass@127.0.0.1", "stat"}, "bad POP URL"},
        {{"pop3://user:pass@127.0.0.1:99999", "stat"}, "port"},
        {{"pop3://user:pass@", "stat"}, "no host"},
        {{"pop3://user@127.0.0.1", "stat"}, "no password"},
        {{"pop3://127.0.0.1", "--auth", "PLAIN", "stat"}, "--auth needs a user"},
        {{"pop3s://user:pass@127.0.0.1", "--starttls", "stat"}, "pop3s://"},
    };
    for (const auto& [args, message] : cases) {
        std::string shown;
        for (const auto& a : args)
            shown += a + " ";
        INFO(shown);
        const auto r = cli(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("pop3-client: "));
        CHECK(r.err.find(message) != std::string::npos);
        CHECK(r.err.find("--help") != std::string::npos);
    }
    // The password in a bad URL is not echoed.
    const auto r = cli({"pop3://user:s3cret@127.0.0.1:0", "stat"});
    CHECK(r.status == 2);
    CHECK(r.err.find("s3cret") == std::string::npos);
}

TEST_CASE("pop3-client: --help") {
    for (const char* flag : {"--help", "-h"}) {
        const auto r = cli({flag});
        CHECK(r.status == 0);
        CHECK(r.out.starts_with("usage: pop3-client URL"));
        for (const char* word :
             {"--starttls", "--ca FILE", "--insecure", "--auth MECH", "--timeout",
              "--max-listing SIZE", "retr N", "top N L", "raw 'LINE'", "Examples:"})
            CHECK(r.out.find(word) != std::string::npos);
    }
}

namespace {

bool has_control(const std::string& s) {
    return s.find('\x1b') != std::string::npos || s.find('\x07') != std::string::npos;
}

} // namespace

TEST_CASE("pop3-client: an endless listing ends in a clear error at the listing limit") {
    auto config = with_rules({{"LIST", {.endless_body = true}},
                              {"UIDL", {.endless_body = true}},
                              {"CAPA", {.endless_body = true}}});
    // A user of its own for each run: a run that fails ends without QUIT, and the server
    // releases that maildrop only when it notices the connection close.
    for (const char* name : {"u1", "u2", "u3", "u4", "u5"})
        config.users.push_back({name, "pass", mock::default_maildrop()});
    running_server s(std::move(config));
    const std::string error = "pop3-client: reply exceeds the configured size limit: a listing "
                              "grew past ";
    // The default: 64 MiB, not max_buffered_body's 1 GiB.
    auto r = cli({s.url(), "list"});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == error + "67108864 octets (max_listing_octets)\n");
    r = cli({s.url("u1:pass@"), "--max-listing", "1M", "list"});
    CHECK(r.status == 1);
    CHECK(r.err == error + "1048576 octets (max_listing_octets)\n");
    r = cli({s.url("u2:pass@"), "--max-listing", "1m", "uidl"});
    CHECK(r.status == 1);
    CHECK(r.err == error + "1048576 octets (max_listing_octets)\n");
    r = cli({s.url(""), "--max-listing", "2K", "capa"});
    CHECK(r.status == 1);
    CHECK(r.err == error + "2048 octets (max_listing_octets)\n");
    r = cli({s.url("u3:pass@"), "--max-listing=65536", "raw", "LIST"});
    CHECK(r.status == 1);
    CHECK(r.err == error + "65536 octets (max_listing_octets)\n");
    // Messages stream: the listing limit does not apply to them.
    r = cli({s.url("u4:pass@"), "--max-listing", "1K", "retr", "2"});
    CHECK(r.status == 0);
    CHECK(r.out == content(2));
}

TEST_CASE("pop3-client: server text reaches the terminal escaped") {
    const std::string title = "\x1b]0;TITLE\x07";
    auto config = with_rules({
        {"NOOP", {.replace = "+OK " + title + "\r\n"}},
        {"RSET", {.replace = "-ERR \x1b[32mgreen\r\n"}},
        {"CAPA", {.replace = "+OK\r\nX-TITLE " + title + " a\x1b[2Jb\r\n.\r\n"}},
        {"LANG", {.replace = "+OK\r\nen " + title + "\r\n.\r\n"}},
        {"RETR", {.replace = "+OK 11 octets \x1b[31m\r\n\x1b[1mdata\r\n.\r\n"}},
    });
    // A user of its own for each run that fails (and so does not QUIT and unlock).
    for (const char* name : {"u1", "u2"})
        config.users.push_back({name, "pass", mock::default_maildrop()});
    running_server s(std::move(config));
    auto r = cli({s.url(), "-v", "noop", "capa", "raw", "CAPA", "raw", "LANG"});
    CHECK(r.status == 0);
    CHECK(r.out == "+OK \\x1B]0;TITLE\\x07\n"
                   "X-TITLE \\x1B]0;TITLE\\x07 a\\x1B[2Jb\n"
                   "+OK\nX-TITLE \\x1B]0;TITLE\\x07 a\\x1B[2Jb\n"
                   "+OK\nen \\x1B]0;TITLE\\x07\n");
    CHECK_FALSE(has_control(r.err));
    CHECK(r.err.find("*resp* +OK \\x1B]0;TITLE\\x07\n") != std::string::npos);

    r = cli({s.url(), "-v", "rset"});
    CHECK(r.status == 1);
    CHECK_FALSE(has_control(r.out + r.err));
    CHECK(r.err.ends_with("pop3-client: -ERR \\x1B[32mgreen\n"));
    r = cli({s.url("u1:pass@"), "raw", "RSET"});
    CHECK(r.status == 1);
    CHECK(r.out == "-ERR \\x1B[32mgreen\n");
    CHECK(r.err == "pop3-client: -ERR \\x1B[32mgreen\n");

    // The message itself is data, written as it came.
    r = cli({s.url("u2:pass@"), "retr", "1"});
    CHECK(r.status == 1); // 10 octets came, not 11
    CHECK(r.out == "\x1b[1mdata\r\n");
    CHECK(r.err == "pop3-client: RETR: the server announced 11 octets and sent 10: +OK 11 octets "
                   "\\x1B[31m\n");
}

TEST_CASE("pop3-client: a malformed octet count fails retr") {
    for (const char* count : {"18446744073709551616", "-5"}) {
        INFO(count);
        const std::string status = "+OK " + std::string(count) + " octets";
        running_server s(with_rules({{"RETR", {.replace = status + "\r\nhello\r\n.\r\n"}}}));
        const auto r = cli({s.url(), "retr", "1"});
        CHECK(r.status == 1);
        CHECK(r.out == "hello\r\n"); // streamed before the check
        CHECK(r.err == "pop3-client: RETR: the server announced a malformed octet count: '" +
                           std::string(count) + " octets': " + status + "\n");
    }
}

TEST_CASE("pop3-client: the password is never echoed, however the URL is malformed") {
    for (const char* url :
         {"pop3:/u:s3cret@127.0.0.1", "pop3:u:s3cret@127.0.0.1", "u:s3cret@127.0.0.1",
          "pop3://u:s3cret@127.0.0.1:0", "pop3://u:s3cret@127.0.0.1/x", "pop3//u:s3cret@h"}) {
        INFO(url);
        const auto r = cli({url, "stat"});
        CHECK(r.status == 2);
        CHECK(r.err.starts_with("pop3-client: bad POP URL '"));
        CHECK(r.err.find("cret") == std::string::npos);
        CHECK(r.err.find("****@") != std::string::npos);
    }
}
