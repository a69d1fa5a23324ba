// pop3-mockserver's maildrops seen from outside (issue #14): users sharing a folder, the files a
// folder serves, unique-ids of files with ':' in their names, and an mbox that another program
// appends to. Each test runs the built program on a free port of 127.0.0.1 and talks POP3 to it.
#include "support/child_process.hpp"
#include "support/raw_client.hpp"
#include "support/temp_dir.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using pop3::test::raw_client;

namespace {

using pop3::test::read_text;
using pop3::test::temp_dir;

// A port of 127.0.0.1 that nothing listens on right now.
std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    REQUIRE(ok);
    return ntohs(addr.sin_port);
}

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::vector<std::string> with_listen(std::vector<std::string> args, std::uint16_t port) {
    args.insert(args.begin(), {"--listen", "127.0.0.1:" + std::to_string(port)});
    return args;
}

// pop3-mockserver listening on a free port until stop(); killed if the test ends first.
class mockserver {
public:
    explicit mockserver(const std::vector<std::string>& args)
        : port(free_port()), proc_(POP3_MOCKSERVER_BIN, with_listen(args, port)) {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (!accepts(port)) {
            if (std::chrono::steady_clock::now() > until) {
                INFO("stderr: " << stop().err);
                FAIL("pop3-mockserver does not listen");
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    pop3::test::program_outcome stop() {
        proc_.signal(SIGTERM);
        return proc_.finish();
    }

    const std::uint16_t port;

private:
    pop3::test::child_process proc_; // killed and reaped if the test ends first
};

// Reads the greeting, logs in with USER/PASS, returns the reply to PASS.
std::string login(raw_client& c, const std::string& name, const std::string& password) {
    c.reply();
    c.send("USER " + name + "\r\nPASS " + password + "\r\n");
    c.reply();
    return c.reply();
}

std::string quit(raw_client& c) {
    c.send("QUIT\r\n");
    return c.reply();
}

} // namespace

TEST_CASE("maildrop cli: two users of one folder are two mailboxes without --persist") {
    temp_dir d;
    d.write("1.eml", "Subject: one\n\n1\n");
    d.write("2.eml", "Subject: two\n\n2\n");
    mockserver s({"--user", "alice:secret", "--user", "bob:hunter2", "--maildrop", d.path.string(),
                  "--quiet"});
    {
        raw_client alice(s.port);
        CHECK(login(alice, "alice", "secret").starts_with("+OK maildrop has 2 messages"));
        raw_client bob(s.port);
        CHECK(login(bob, "bob", "hunter2").starts_with("+OK maildrop has 2 messages"));
        alice.send("DELE 1\r\n");
        CHECK(alice.reply() == "+OK message 1 deleted\r\n");
        CHECK(quit(alice) == "+OK pop3kit signing off (1 messages left)\r\n");
        bob.send("STAT\r\n");
        CHECK(bob.reply().starts_with("+OK 2 "));
        raw_client alice2(s.port); // alice's deletion is hers alone
        CHECK(login(alice2, "alice", "secret").starts_with("+OK maildrop has 1 messages"));
        raw_client alice3(s.port); // and her mailbox still has its lock
        CHECK(login(alice3, "alice", "secret") ==
              "-ERR [IN-USE] maildrop already locked by another session\r\n");
        quit(alice2);
        quit(bob);
    }
    CHECK(s.stop().status == 0);
    CHECK(fs::exists(d.path / "1.eml"));
}

TEST_CASE("maildrop cli: with --persist, users of one folder share it and its lock") {
    temp_dir d;
    d.write("1.eml", "Subject: one\n\n1\n");
    mockserver s({"--user", "alice:secret", "--user", "bob:hunter2", "--maildrop", d.path.string(),
                  "--persist", "--quiet"});
    {
        raw_client alice(s.port);
        CHECK(login(alice, "alice", "secret").starts_with("+OK maildrop has 1 messages"));
        raw_client bob(s.port);
        CHECK(login(bob, "bob", "hunter2") ==
              "-ERR [IN-USE] maildrop already locked by another session\r\n");
        quit(alice);
    }
    CHECK(s.stop().status == 0);
}

TEST_CASE("maildrop cli: a folder serves its *.eml files and says which it ignored") {
    temp_dir d;
    d.write("1.eml", "Subject: one\n\n1\n");
    d.write("README", "fixtures\n");
    d.write("EXPECTED.md", "what a client should see\n");
    mockserver s({"--maildrop", d.path.string(), "--quiet"});
    {
        raw_client c(s.port);
        CHECK(login(c, "user", "pass").starts_with("+OK maildrop has 1 messages"));
        c.send("UIDL\r\n");
        CHECK(c.multi() == "+OK unique-id listing follows\r\n1 1.eml\r\n.\r\n");
        quit(c);
    }
    const auto r = s.stop();
    CHECK(r.status == 0);
    CHECK(r.err == "pop3-mockserver: " + d.path.string() + ": 2 files not named *.eml ignored\n");
}

TEST_CASE("maildrop cli: files whose names hold ':' keep their own uids; DELE deletes one") {
    temp_dir d;
    d.write("note:1.eml", "Subject: one\n\n1\n");
    d.write("note:2.eml", "Subject: two\n\n2\n");
    d.write("zz.eml", "Subject: zz\n\nz\n");
    mockserver s({"--maildrop", d.path.string(), "--persist", "--quiet"});
    {
        raw_client c(s.port);
        login(c, "user", "pass");
        c.send("UIDL\r\n");
        CHECK(c.multi() ==
              "+OK unique-id listing follows\r\n1 note:1.eml\r\n2 note:2.eml\r\n3 zz.eml\r\n.\r\n");
        c.send("DELE 2\r\n");
        CHECK(c.reply() == "+OK message 2 deleted\r\n");
        CHECK(quit(c) == "+OK pop3kit signing off (2 messages left)\r\n");
    }
    CHECK(s.stop().status == 0);
    CHECK(fs::exists(d.path / "note:1.eml"));
    CHECK_FALSE(fs::exists(d.path / "note:2.eml"));
    CHECK(fs::exists(d.path / "zz.eml"));
}

TEST_CASE("maildrop cli: --mbox --persist keeps mail appended meanwhile, the file's bytes and "
          "the uids") {
    temp_dir d;
    const std::string one = "From alice@example.org Mon Jan  5 10:00:00 2015\n"
                            "Subject: one\n\nfirst\n>From quoted\n\n";
    const std::string two = "From bob@example.org Tue Jan  6 11:00:00 2015\n"
                            "Subject: two\n\nsecond\n\n";
    const std::string three = "From carol@example.org Wed Jan  7 12:00:00 2015\n"
                              "Subject: three\n\nthird\n";
    const auto box = d.write("box", one + two);
    std::string uid_two;
    {
        mockserver s({"--mbox", box.string(), "--persist", "--quiet"});
        {
            raw_client c(s.port);
            login(c, "user", "pass");
            c.send("UIDL 2\r\n");
            uid_two = c.reply();
            std::ofstream(box, std::ios::binary | std::ios::app) << three; // new mail arrives
            c.send("DELE 1\r\n");
            c.reply();
            CHECK(quit(c) == "+OK pop3kit signing off (1 messages left)\r\n");
        }
        CHECK(s.stop().status == 0);
    }
    CHECK(read_text(box) == two + three);
    mockserver s({"--mbox", box.string(), "--quiet"});
    {
        raw_client c(s.port);
        CHECK(login(c, "user", "pass").starts_with("+OK maildrop has 2 messages"));
        c.send("UIDL 1\r\n");
        CHECK(c.reply() == "+OK 1" + uid_two.substr(uid_two.find(' ', 4)));
        quit(c);
    }
    CHECK(s.stop().status == 0);
}
