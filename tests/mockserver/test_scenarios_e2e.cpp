// Every shipped scenario (mockserver/scenarios/*.toml), end to end: loaded as the CLI loads it,
// run through a session in memory with a client script that provokes it, and checked for the
// exact misbehaviour its comment and docs/scenarios.md promise, byte for byte. A new file in the
// folder without a check here fails the test.
#include "pop3/mockserver/memory_driver.hpp"
#include "pop3/mockserver/scenario_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/base64.hpp>
#include <set>
#include <string>
#include <vector>

using namespace pop3;
using namespace pop3::mock;
using namespace std::chrono_literals;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

const fs::path scenario_dir = fs::path(POP3_SOURCE_DIR) / "mockserver" / "scenarios";

scenario_file load(const std::string& name) {
    return load_scenario(scenario_dir / (name + ".toml"));
}

// What the CLI builds for `--scenario FILE`: the embedded default, the file's users with their
// maildrops, and the file's faults.
server_config config_for(const scenario_file& file) {
    server_config c = default_config();
    for (const auto& u : file.users) {
        std::shared_ptr<maildrop> mail;
        if (u.maildrop)
            mail = maildrop::open(*u.maildrop);
        else if (u.generate)
            mail = maildrop::generate(u.generate->first, u.generate->second);
        else
            mail = default_maildrop();
        c.users.push_back({u.name, u.password, mail});
    }
    c.faults = file.sc;
    return c;
}

const session_context context{false, true, "1.1"};

// One session in memory, with or without a scenario.
struct run {
    server_config config;
    memory_driver drv;
    std::string greeting;

    explicit run(server_config c) : config(std::move(c)), drv(config, context) {
        greeting = drv.start();
    }
    explicit run(const std::string& scenario) : run(config_for(load(scenario))) {}

    std::string login() { return drv.send("USER user\r\nPASS pass\r\n"); }
    std::shared_ptr<maildrop> mail() const { return config.users.at(0).mail; }
};

// The default maildrop's messages (a copy: each run has its own).
const message& msg(std::size_t n) {
    static const auto messages = default_maildrop()->snapshot();
    return *messages.at(n - 1);
}
std::string octets(std::size_t n) {
    return std::to_string(msg(n).octets());
}
std::string total_octets() {
    return std::to_string(msg(1).octets() + msg(2).octets() + msg(3).octets());
}

const std::string normal_greeting = "+OK pop3kit mock server ready <1.1@pop3kit.test>\r\n";
const std::string normal_login =
    "+OK send PASS\r\n+OK maildrop has 3 messages (" + total_octets() + " octets)\r\n";
std::string normal_retr(std::size_t n) {
    return "+OK " + octets(n) + " octets\r\n" + msg(n).wire;
}

// The body lines of a multi-line reply (between the status line and the terminator).
std::vector<std::string> body_lines(const std::string& reply) {
    std::vector<std::string> lines;
    std::size_t at = reply.find("\r\n") + 2;
    while (at < reply.size()) {
        const auto eol = reply.find("\r\n", at);
        const auto line = reply.substr(at, eol - at);
        if (line == ".") break;
        lines.push_back(line);
        at = eol + 2;
    }
    return lines;
}
bool lists(const std::string& capa, const std::string& capability) {
    for (const auto& line : body_lines(capa))
        if (line == capability || line.starts_with(capability + " ")) return true;
    return false;
}

// A session driven by hand, for what memory_driver does not show: the delivery of each write
// (timing faults) and bodies that never end.
struct write_record {
    std::string bytes;
    fault delivery;
};
struct driven {
    std::vector<write_record> writes;
    server_action::type next = server_action::type::read; // the action after the last write
};
driven drive(session& s, server_action a, std::size_t max_writes = 1000) {
    driven d;
    while ((a.what == server_action::type::write || a.what == server_action::type::update) &&
           d.writes.size() < max_writes) {
        if (a.what == server_action::type::update) {
            s.run_update();
            a = s.on_update_done();
            continue;
        }
        d.writes.push_back({a.bytes(), a.delivery});
        a = s.on_write_done();
    }
    d.next = a.what;
    return d;
}

// For the timing faults memory_driver ignores: the bytes of a whole session are those of a
// server without the scenario.
void check_bytes_unchanged(const std::string& name) {
    run faulty(name);
    run clean(default_config());
    CHECK(faulty.greeting == clean.greeting);
    for (const char* step :
         {"CAPA\r\n", "USER user\r\n", "PASS pass\r\n", "STAT\r\n", "LIST\r\n", "UIDL\r\n",
          "RETR 2\r\n", "TOP 1 0\r\n", "DELE 1\r\n", "XYZZY\r\n", "QUIT\r\n"}) {
        INFO(step);
        CHECK(faulty.drv.send(step) == clean.drv.send(step));
    }
    CHECK(faulty.drv.closed());
}

// ---- one check per shipped scenario ----------------------------------------------------------

void check_bad_cap_resp() {
    run r("bad-cap-resp");
    CHECK(r.greeting == normal_greeting);
    const std::string bad = "Capability list follows\r\nTOP\r\nUSER\r\n.\r\n";
    CHECK(r.drv.send("CAPA\r\n") == bad); // no "+OK" on the first line
    CHECK(r.drv.reading());
    CHECK(r.login() == normal_login);
    CHECK(r.drv.send("CAPA\r\n") == bad); // in TRANSACTION too
}

void check_bad_login_resp() {
    run r("bad-login-resp");
    CHECK(r.drv.send("USER user\r\n") == "+OK send PASS\r\n");
    CHECK(r.drv.send("PASS pass\r\n") == "Mailbox open, 0 messages\r\n");
    run wrong("bad-login-resp");
    wrong.drv.send("USER user\r\n");
    CHECK(wrong.drv.send("PASS nope\r\n") == "Mailbox open, 0 messages\r\n");
    CHECK(wrong.drv.reading());
}

void check_bad_resp() {
    run r("bad-resp");
    CHECK(r.greeting == "POP3 server ready\r\n");
    CHECK(r.drv.reading());
    CHECK(r.drv.send("NOOP\r\n").starts_with("-ERR ")); // commands are not affected
}

void check_bad_tls() {
    run r("bad-tls");
    CHECK(lists(r.drv.send("CAPA\r\n"), "STLS"));
    const auto out = r.drv.send("STLS\r\n");
    const std::string ok = "+OK begin TLS negotiation\r\n";
    REQUIRE(out.starts_with(ok));
    const auto garbage = out.substr(ok.size());
    CHECK(garbage == "\x15\x03\x03\x00\x02\x02\x28 this is not TLS\r\n"s);
    CHECK(garbage.front() != '\x16');   // not a TLS handshake record
    CHECK_FALSE(r.drv.tls_requested()); // no handshake is ever run
    CHECK(r.drv.closed());
    CHECK(r.drv.complete_tls().empty());
}

void check_bare_lf() {
    run r("bare-lf");
    CHECK(r.login() == normal_login);
    for (std::size_t n : {1, 2, 3}) {
        INFO("RETR " << n);
        const auto out = r.drv.send("RETR " + std::to_string(n) + "\r\n");
        std::string want;
        for (char c : normal_retr(n))
            if (c != '\r') want += c; // the default messages have no bare CR
        CHECK(out == want);
        CHECK(out.find('\r') == std::string::npos);
        CHECK(out.ends_with("\n.\n"));
    }
    CHECK(r.drv.send("STAT\r\n") == "+OK 3 " + total_octets() + "\r\n"); // only RETR
}

void check_delay() {
    check_bytes_unchanged("delay");
    const auto file = load("delay");
    const rule* stat = file.sc.match("STAT", session_state::transaction, 1);
    REQUIRE(stat);
    CHECK(stat->delivery.delay == 200ms);
    CHECK_FALSE(file.sc.match("LIST", session_state::transaction, 1));
    // The session hands the delay to its driver with STAT's reply, and only there.
    const auto config = config_for(file);
    session s(config, context);
    CHECK(drive(s, s.start()).writes.at(0).delivery.delay == 0ms);
    drive(s, s.on_read("USER user\r\nPASS pass\r\n"));
    const auto stat_reply = drive(s, s.on_read("STAT\r\n"));
    REQUIRE(stat_reply.writes.size() == 1);
    CHECK(stat_reply.writes[0].bytes == "+OK 3 " + total_octets() + "\r\n");
    CHECK(stat_reply.writes[0].delivery.delay == 200ms);
    CHECK(drive(s, s.on_read("NOOP\r\n")).writes.at(0).delivery.delay == 0ms);
}

void check_deny() {
    const std::string denied = "-ERR [AUTH] invalid user name or password\r\n";
    run r("deny");
    CHECK(r.drv.send("USER user\r\n") == "+OK send PASS\r\n");
    CHECK(r.drv.send("PASS pass\r\n") == denied); // the right password
    CHECK(r.drv.send("APOP user " + apop_digest("<1.1@pop3kit.test>", "pass") + "\r\n") == denied);
    CHECK(r.drv.send("AUTH PLAIN " + base64_encode("\0user\0pass"s) + "\r\n") == denied);
    CHECK(r.drv.send("AUTH PLAIN\r\n") == denied); // no SASL exchange starts
    CHECK(r.drv.send("AUTH\r\n") == denied);
    CHECK(r.drv.inner().state() == session_state::authorization);
    CHECK(r.drv.send("STAT\r\n").starts_with("-ERR ")); // still not logged in
    CHECK(r.drv.reading());
    REQUIRE(r.mail()->try_lock()); // and the maildrop was never taken
    r.mail()->unlock();
}

void check_disconnect_mid_retr() {
    run r("disconnect-mid-retr");
    CHECK(r.login() == normal_login);
    CHECK(r.drv.send("STAT\r\n") == "+OK 3 " + total_octets() + "\r\n");
    CHECK(r.drv.send("RETR 1\r\n") == normal_retr(1).substr(0, 20));
    CHECK(r.drv.closed());
    REQUIRE(r.mail()->try_lock()); // the lock is released, nothing deleted
    CHECK(r.mail()->snapshot().size() == 3);
    r.mail()->unlock();
}

void check_drop() {
    for (const char* first : {"CAPA\r\n", "USER user\r\n", "QUIT\r\n", "NOOP\r\n", "XYZZY\r\n",
                              "\r\n", "USER user\r\nPASS pass\r\n"}) {
        INFO("first command: " << first);
        run r("drop");
        CHECK(r.greeting == normal_greeting); // "*" does not match the greeting
        CHECK(r.drv.send(first).empty());     // closed before any byte of the reply
        CHECK(r.drv.closed());
    }
}

void check_endless_body() {
    // memory_driver::send never returns on an endless body (it loops writing for ever), so the
    // session is driven by hand and the writes are counted.
    const auto config = config_for(load("endless-body"));
    session s(config, context);
    CHECK(drive(s, s.start()).writes.at(0).bytes == normal_greeting);
    drive(s, s.on_read("USER user\r\nPASS pass\r\n"));
    const auto d = drive(s, s.on_read("RETR 1\r\n"), 200);
    REQUIRE(d.writes.size() == 200);
    CHECK(d.next == server_action::type::write); // still writing after 200 writes
    std::string all;
    for (const auto& w : d.writes)
        all += w.bytes;
    const auto wire = normal_retr(1);
    CHECK(all.starts_with(wire.substr(0, wire.size() - 3))); // the message without ".\r\n"
    CHECK(all.size() > 100 * msg(1).octets());
    CHECK(all.find("\r\n.\r\n") == std::string::npos); // never terminated
    CHECK(all.ends_with("\r\n"));                      // whole lines keep coming
}

void check_err_stat() {
    run r("err-stat");
    CHECK(r.login() == normal_login);
    CHECK(r.drv.send("STAT\r\n") == "-ERR [SYS/TEMP] try later\r\n");
    CHECK(r.drv.send("STAT\r\n") == "-ERR [SYS/TEMP] try later\r\n");
    CHECK(r.drv.reading());
    CHECK(r.drv.send("LIST 1\r\n") == "+OK 1 " + octets(1) + "\r\n");
}

void check_huge_line() {
    run r("huge-line");
    CHECK(r.login() == normal_login);
    const auto out = r.drv.send("RETR 2\r\n");
    CHECK(out ==
          "+OK " + octets(2) + " octets\r\n" + std::string(1000000, 'x') + "\r\n" + msg(2).wire);
    CHECK(r.drv.send("TOP 1 0\r\n").size() < 1000); // only RETR
}

void check_in_use() {
    const std::string locked = "-ERR [IN-USE] locked\r\n";
    run r("in-use");
    CHECK(r.drv.send("USER user\r\n") == "+OK send PASS\r\n");
    CHECK(r.drv.send("PASS pass\r\n") == locked);
    CHECK(r.drv.send("APOP user " + apop_digest("<1.1@pop3kit.test>", "pass") + "\r\n") == locked);
    CHECK(r.drv.inner().state() == session_state::authorization);
    REQUIRE(r.mail()->try_lock()); // the refusal is the scenario's, not a real lock
    r.mail()->unlock();
}

void check_missing_terminator() {
    const auto file = load("missing-terminator");
    const rule* retr = file.sc.match("RETR", session_state::transaction, 1);
    REQUIRE(retr);
    const bool disconnects = retr->delivery.disconnect_at.has_value();
    CHECK(disconnects); // "then disconnect"
    run r("missing-terminator");
    CHECK(r.login() == normal_login);
    const auto out = r.drv.send("RETR 2\r\n");
    const auto wire = normal_retr(2);
    CHECK(out == wire.substr(0, wire.size() - 3));
    CHECK_FALSE(out.ends_with("\r\n.\r\n"));
    CHECK(out.ends_with("\r\n"));
    CHECK(r.drv.closed() == disconnects);
}

void check_no_ssl() {
    run r("no-ssl");
    const auto capa = r.drv.send("CAPA\r\n");
    CHECK(capa == "+OK capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN "
                  "LOGIN\r\nRESP-CODES\r\nPIPELINING\r\n.\r\n");
    CHECK_FALSE(lists(capa, "STLS"));
    CHECK(r.drv.send("STLS\r\n") == "-ERR TLS not available\r\n");
    CHECK_FALSE(r.drv.tls_requested());
    CHECK(r.drv.reading());
    CHECK(r.login() == normal_login);
    CHECK_FALSE(lists(r.drv.send("CAPA\r\n"), "STLS"));
}

void check_no_uidl() {
    run r("no-uidl");
    const auto auth_capa = r.drv.send("CAPA\r\n");
    CHECK(auth_capa.starts_with("+OK "));
    CHECK_FALSE(lists(auth_capa, "UIDL"));
    CHECK(r.login() == normal_login);
    const auto trans_capa = r.drv.send("CAPA\r\n");
    CHECK(trans_capa == "+OK capability list follows\r\nTOP\r\nRESP-CODES\r\nPIPELINING\r\n.\r\n");
    CHECK(r.drv.send("UIDL\r\n") == "-ERR Unknown request\r\n");
    CHECK(r.drv.send("UIDL 1\r\n") == "-ERR Unknown request\r\n");
    CHECK(r.drv.send("RETR 1\r\n") == normal_retr(1)); // download by number still works
}

void check_slow() {
    check_bytes_unchanged("slow");
    const auto file = load("slow");
    CHECK(file.sc.session_fault.drip_bytes == 1);
    CHECK(file.sc.session_fault.drip_pause == 50ms);
    CHECK(file.sc.rules.empty());
    // Every reply, the greeting included, carries the drip.
    const auto config = config_for(file);
    session s(config, context);
    std::vector<write_record> all = drive(s, s.start()).writes;
    for (const char* step : {"CAPA\r\n", "USER user\r\nPASS pass\r\n", "RETR 1\r\n", "XYZZY\r\n"})
        for (auto& w : drive(s, s.on_read(step)).writes)
            all.push_back(std::move(w));
    CHECK(all.size() == 6);
    for (const auto& w : all) {
        INFO(w.bytes);
        CHECK(w.delivery.drip_bytes == 1);
        CHECK(w.delivery.drip_pause == 50ms);
    }
    // "every reply" includes the one that closes after too many errors.
    // FINDING: that reply is queued with session::plain() in session.cpp (queue(), the
    // "-ERR too many errors" push_back), which skips the [session] fault: it goes out at once.
    // This check asserts the documented behaviour and fails until that is fixed.
    session t(config, context);
    drive(t, t.start());
    std::string ten;
    for (int i = 0; i < 10; ++i)
        ten += "XYZZY\r\n";
    const auto d = drive(t, t.on_read(ten));
    REQUIRE(d.writes.size() == 11);
    CHECK(d.writes.back().bytes == "-ERR too many errors, closing the connection\r\n");
    CHECK(d.next == server_action::type::close);
    CHECK(d.writes.back().delivery.drip_bytes == 1); // documented: every reply is dripped
}

void check_split_writes() {
    check_bytes_unchanged("split-writes");
    const auto file = load("split-writes");
    const std::vector<std::size_t> cuts{1, 3, 4, 5, 7, 12};
    CHECK(file.sc.session_fault.split_at == cuts);
    CHECK(file.sc.rules.empty());
    const auto config = config_for(file);
    session s(config, context);
    std::vector<write_record> all = drive(s, s.start()).writes;
    for (const char* step : {"CAPA\r\n", "USER user\r\nPASS pass\r\n", "NOOP\r\n", "RETR 1\r\n"})
        for (auto& w : drive(s, s.on_read(step)).writes)
            all.push_back(std::move(w));
    CHECK(all.size() == 6);
    for (const auto& w : all) {
        INFO(w.bytes);
        CHECK(w.delivery.split_at == cuts);
    }
    CHECK(all.at(4).bytes == "+OK\r\n"); // NOOP: offset 4 falls between its CR and LF
}

void check_stls_injection_garbage() {
    run r("stls-injection-garbage");
    CHECK(r.drv.send("STLS\r\n") == "+OK begin TLS negotiation\r\ngarbage\0\x01 after STLS"s);
    CHECK(r.drv.tls_requested());
    CHECK(r.drv.complete_tls().empty()); // nothing more once TLS is up
    CHECK(r.drv.reading());
    CHECK(r.login() == normal_login);
}

void check_stls_command_injection() {
    run r("stls-command-injection");
    // The flaw on purpose: the CAPA pipelined after STLS is answered once TLS is up.
    CHECK(r.drv.send("STLS\r\nCAPA\r\n") == "+OK begin TLS negotiation\r\n");
    CHECK(r.drv.tls_requested());
    CHECK(r.drv.complete_tls().starts_with("+OK capability list follows\r\n"));
    CHECK(r.drv.reading());
}

void check_stls_injection_lines() {
    run r("stls-injection-lines");
    // The injected replies follow the +OK in the same output, before the handshake.
    CHECK(r.drv.send("STLS\r\n") == "+OK begin TLS negotiation\r\n+OK injected\r\n+OK 2 320\r\n");
    CHECK(r.drv.tls_requested());
    CHECK(r.drv.complete_tls().empty());
    CHECK(r.drv.reading());
    CHECK(r.drv.inner().tls_active());
    CHECK(r.login() == normal_login); // after TLS, the real replies, nothing injected again
    CHECK(r.drv.send("STAT\r\n") == "+OK 3 " + total_octets() + "\r\n");
}

void check_stls_not_advertised() {
    run r("stls-not-advertised");
    const auto capa = r.drv.send("CAPA\r\n");
    CHECK(capa == "+OK capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN "
                  "LOGIN\r\nRESP-CODES\r\nPIPELINING\r\n.\r\n");
    CHECK_FALSE(lists(capa, "STLS"));
    // Only the advertisement is stripped: the server itself still does STLS.
    CHECK(r.drv.send("STLS\r\n") == "+OK begin TLS negotiation\r\n");
    CHECK(r.drv.tls_requested());
}

void check_stls_refused() {
    run r("stls-refused");
    CHECK(lists(r.drv.send("CAPA\r\n"), "STLS"));
    CHECK(r.drv.send("STLS\r\n") == "-ERR TLS temporarily unavailable\r\n");
    CHECK_FALSE(r.drv.tls_requested());
    CHECK(r.drv.reading());
    CHECK(r.login() == normal_login); // plain text goes on, for a client that allows it
}

void check_timeout() {
    for (const char* first : {"CAPA\r\n", "USER user\r\n", "QUIT\r\n"}) {
        INFO("first command: " << first);
        run r("timeout");
        CHECK(r.greeting == normal_greeting);
        CHECK(r.drv.send(first).empty());
        CHECK(r.drv.hung());
        CHECK_FALSE(r.drv.closed()); // kept open
        CHECK(r.drv.send("NOOP\r\n").empty());
        CHECK(r.drv.hung());
    }
}

void check_wrong_octets() {
    run r("wrong-octets");
    CHECK(r.login() == normal_login);
    const auto plus10 = [](std::size_t n) { return std::to_string(msg(n).octets() + 10); };
    CHECK(r.drv.send("LIST\r\n") == "+OK 3 messages\r\n1 " + plus10(1) + "\r\n2 " + plus10(2) +
                                        "\r\n3 " + plus10(3) + "\r\n.\r\n");
    CHECK(r.drv.send("LIST 2\r\n") == "+OK 2 " + plus10(2) + "\r\n");
    for (std::size_t n : {1, 2, 3}) {
        INFO("RETR " << n);
        CHECK(r.drv.send("RETR " + std::to_string(n) + "\r\n") ==
              "+OK " + std::to_string(msg(n).octets() - 10) + " octets\r\n" + msg(n).wire);
    }
    CHECK(r.drv.send("STAT\r\n") == "+OK 3 " + total_octets() + "\r\n"); // STAT is right
}

const std::map<std::string, std::function<void()>>& checks() {
    static const std::map<std::string, std::function<void()>> table = {
        {"bad-cap-resp", check_bad_cap_resp},
        {"bad-login-resp", check_bad_login_resp},
        {"bad-resp", check_bad_resp},
        {"bad-tls", check_bad_tls},
        {"bare-lf", check_bare_lf},
        {"delay", check_delay},
        {"deny", check_deny},
        {"disconnect-mid-retr", check_disconnect_mid_retr},
        {"drop", check_drop},
        {"endless-body", check_endless_body},
        {"err-stat", check_err_stat},
        {"huge-line", check_huge_line},
        {"in-use", check_in_use},
        {"missing-terminator", check_missing_terminator},
        {"no-ssl", check_no_ssl},
        {"no-uidl", check_no_uidl},
        {"slow", check_slow},
        {"split-writes", check_split_writes},
        {"stls-command-injection", check_stls_command_injection},
        {"stls-injection-garbage", check_stls_injection_garbage},
        {"stls-injection-lines", check_stls_injection_lines},
        {"stls-not-advertised", check_stls_not_advertised},
        {"stls-refused", check_stls_refused},
        {"timeout", check_timeout},
        {"wrong-octets", check_wrong_octets},
    };
    return table;
}

std::set<std::string> shipped() {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(scenario_dir))
        names.insert(entry.path().filename().string());
    return names;
}

} // namespace

TEST_CASE("shipped scenarios end to end: every file does what it promises on the wire") {
    for (const auto& file : shipped()) {
        DYNAMIC_SECTION(file) {
            REQUIRE(file.ends_with(".toml"));
            const auto name = file.substr(0, file.size() - 5);
            const auto check = checks().find(name);
            if (check == checks().end())
                FAIL("no end-to-end check for mockserver/scenarios/" << file << ": add one");
            check->second();
        }
    }
}

TEST_CASE("shipped scenarios end to end: no check is left without its file") {
    const auto files = shipped();
    for (const auto& [name, check] : checks()) {
        INFO(name);
        CHECK(files.count(name + ".toml") == 1);
    }
}
