// The reactive client runner (docs/client-conformance.md): case files, the deviation engine's
// roles, and the global rules, each proven to catch a client broken on purpose.
#include "memory_server.hpp" // conformance/src: the runner's in-memory link
#include "wire_trace.hpp"    // conformance/src: the runner's internal trace

#include <catch2/catch.hpp>
#include <pop3/conformance/client_runner.hpp>
#include <pop3/mockserver/memory_driver.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <thread>

using namespace pop3::conformance;
namespace mock = pop3::mock;

namespace {

std::string parse_error(std::string_view text) {
    try {
        parse_client_cases(text, "cases.toml");
    } catch (const transcript_error& e) {
        return e.what();
    }
    return "no error";
}

// A case's keys up to `task` (line 7 is the task line).
constexpr std::string_view head = R"(
[[case]]
id = "client/t/x"
title = "t"
rfc = "1939 §3"
level = "MUST"
task = "status"
expect = "notice"
)";

// One case: `head` with its task replaced, plus `extra` (tables or keys).
std::vector<client_case> one_case(std::string_view extra, std::string_view task = "status") {
    std::string text(head);
    text.replace(text.find("status"), 6, task);
    return parse_client_cases(text + std::string(extra), "cases.toml");
}

// The replies of a fresh mock session to `input`, with `dev` as the scenario's only rule
// (served counts start from 0: copies of a rule share their count).
std::string session_output(mock::rule dev, std::string_view input) {
    auto config = mock::default_config();
    dev.served = std::make_shared<std::atomic<std::size_t>>(0);
    config.faults.rules.push_back(dev);
    mock::memory_driver d(config, {});
    return d.start() + d.send(input);
}

mock::rule deviation_of(std::string_view table) {
    auto cases = one_case(std::string("[case.deviation]\n") + std::string(table));
    return *cases.at(0).deviation;
}

} // namespace

TEST_CASE("client case files: keys and mistakes", "[client-runner]") {
    const auto c = one_case("breaks = [2]\nlogin = \"sasl:plain\"\ntls = \"starttls\"\n"
                            "[case.server]\npipelining = true\n[case.deviation]\nrole = \"retr\"\n"
                            "message = 2\ndisconnect = 10\n");
    REQUIRE(c.size() == 1);
    CHECK(c[0].meta.id == "client/t/x");
    CHECK(c[0].meta.dir == direction::client);
    CHECK(c[0].login == "sasl:PLAIN");
    CHECK(c[0].tls == client_tls::starttls);
    CHECK(c[0].breaks == std::vector<std::uint64_t>{2});
    CHECK(c[0].server.pipelining);
    REQUIRE(c[0].deviation);
    CHECK(c[0].deviation->role == mock::reply_role::retr);
    CHECK(c[0].deviation->message == 2u);
    CHECK(c[0].deviation->once);

    CHECK(parse_error(std::string(head) + "colour = \"red\"\n") ==
          "cases.toml:9: unknown key 'colour' in [[case]]");
    CHECK(parse_error(std::string(head) + "[case.deviation]\ncommand = \"RETR\"\nhang = true\n") ==
          "cases.toml:9: [case.deviation] needs a 'role' (docs/client-conformance.md)");
    CHECK(parse_error(std::string(head) + "[case.deviation]\nrole = \"retrieve\"\nhang = true\n")
              .starts_with("cases.toml:10: 'role' must be one of"));
    CHECK(parse_error(std::string(head) + "[case.deviation]\nrole = \"stat\"\nmessage = 1\n"
                                          "hang = true\n")
              .starts_with("cases.toml:11: 'message' needs role"));
    CHECK(parse_error(std::string(head) + "[case.deviation]\nrole = \"stat\"\n"
                                          "drop_terminator = true\n")
              .starts_with("cases.toml:11: 'drop_terminator' needs a multi-line command"));
    CHECK(parse_error("[[case]]\nid = \"client/a\"\ntitle = \"t\"\nrfc = \"1\"\n"
                      "level = \"MUST\"\ntask = \"fetch\"\nexpect = \"notice\"\n") ==
          "cases.toml:6: 'task' must be one of \"status\", \"fetch-all\", \"fetch-one\", "
          "\"fetch-new\", \"delete-after-fetch\"");
    CHECK(parse_error(std::string(head) + std::string(head)) ==
          "cases.toml:10: duplicate case id client/t/x (first at cases.toml:2)");
}

TEST_CASE("deviation roles: the reply's role, whatever path the client took", "[client-runner]") {
    SECTION("login-first is USER's reply, or APOP's, or AUTH's first") {
        const auto dev = deviation_of("role = \"login-first\"\nreply = \"-ERR deviated\\r\\n\"\n");
        CHECK(session_output(dev, "USER user\r\n").find("-ERR deviated") != std::string::npos);
        CHECK(session_output(dev, "AUTH PLAIN\r\n").find("-ERR deviated") != std::string::npos);
        CHECK(session_output(dev, "CAPA\r\n").find("-ERR deviated") == std::string::npos);
    }
    SECTION("login is the reply that ends the login, and an -ERR there refuses it") {
        const auto dev = deviation_of("role = \"login\"\nreply = \"-ERR deviated\\r\\n\"\n");
        const auto out = session_output(dev, "USER user\r\nPASS pass\r\nSTAT\r\n");
        CHECK(out.find("+OK send PASS") != std::string::npos);
        CHECK(out.find("-ERR deviated") != std::string::npos);
        CHECK(out.find("+OK 3 ") == std::string::npos); // not logged in
        // AUTH PLAIN with an initial response: the outcome is the login reply.
        const auto sasl = session_output(dev, "AUTH PLAIN AHVzZXIAcGFzcw==\r\nSTAT\r\n");
        CHECK(sasl.find("-ERR deviated") != std::string::npos);
        CHECK(sasl.find("+OK 3 ") == std::string::npos);
    }
    SECTION("message = N picks the reply about that message, once") {
        const auto dev = deviation_of("role = \"retr\"\nmessage = 2\nreply = \"-ERR two\\r\\n\"\n");
        const auto out = session_output(dev, "USER user\r\nPASS pass\r\nRETR 1\r\nRETR 2\r\n"
                                             "RETR 2\r\n");
        CHECK(out.find("-ERR two") != std::string::npos);
        CHECK(out.find("-ERR two") == out.rfind("-ERR two")); // served once
        CHECK(out.find("Subject: Welcome") != std::string::npos);
    }
    SECTION("tls = true matches only replies inside TLS") {
        const auto dev = deviation_of("role = \"capa\"\ntls = true\nreply = \"-ERR no\\r\\n\"\n");
        CHECK(session_output(dev, "CAPA\r\n").find("-ERR no") == std::string::npos);
    }
}

namespace {

// Runs `cases_text` against broken_client.py MODE; the one result.
case_result run_broken(std::string_view mode, std::string_view task, std::string_view extra,
                       std::chrono::seconds deadline = std::chrono::seconds(20),
                       long max_memory_kib = 256 * 1024) {
    static std::vector<client_case> keep; // results point into their cases
    keep = one_case(extra, task);
    client_run_options o;
    o.program.command = std::string("exec python3 '") + POP3_SOURCE_DIR +
                        "/tests/conformance/broken_client.py' " + std::string(mode);
    o.deadline = deadline;
    o.max_memory_kib = max_memory_kib;
    auto results = run_client_cases(keep, o);
    REQUIRE(results.size() == 1);
    INFO(results[0].reason << "\n" << results[0].evidence);
    return results[0];
}

} // namespace

TEST_CASE("global rules catch clients broken on purpose", "[client-runner]") {
    SECTION("credentials in plaintext after a refused STLS") {
        const auto r = run_broken("plaintext-after-stls", "status",
                                  "tls = \"starttls\"\n[case.deviation]\nrole = \"stls\"\n"
                                  "reply = \"-ERR not now\\r\\n\"\n");
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("credentials before TLS: the client sent USER in plaintext"));
    }
    SECTION("a pipelined command without PIPELINING") {
        const auto r = run_broken("pipeline", "status",
                                  "[case.deviation]\nrole = \"stat\"\n"
                                  "reply = \"-ERR no\\r\\n\"\n");
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("lock-step: on connection 1 the client sent \"PASS pass\""));
    }
    SECTION("a truncated message delivered") {
        const auto r = run_broken("truncated", "fetch-all",
                                  "breaks = [2]\n"
                                  "[case.deviation]\nrole = \"retr\"\nmessage = 2\n"
                                  "disconnect = 60\n");
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("the client delivered m2, which equals none of the server's"));
    }
    SECTION("a DELE after a broken RETR, committed by QUIT") {
        const auto r = run_broken("dele-broken", "delete-after-fetch",
                                  "breaks = [2]\n"
                                  "[case.deviation]\nrole = \"retr\"\nmessage = 2\n"
                                  "drop_terminator = true\n");
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("DELE of a damaged message: the client sent \"DELE 2\""));
        CHECK(r.reason.ends_with("and its QUIT committed the deletion"));
    }
    SECTION("a hang: killed at the deadline") {
        const auto r = run_broken("wait-for-close", "status",
                                  "[case.deviation]\nrole = \"quit\"\nhang = true\n",
                                  std::chrono::seconds(10));
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("the client did not end within 10 s and was killed"));
    }
    SECTION("memory without bound: stopped at the limit, long before the deadline") {
        const auto r = run_broken("hoard", "fetch-all",
                                  "[case.deviation]\nrole = \"retr\"\nmessage = 1\n"
                                  "endless_body = true\n",
                                  std::chrono::seconds(120), 48 * 1024);
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("the client's memory grew to "));
        CHECK(r.reason.find("where the runner stopped it") != std::string::npos);
        CHECK(r.evidence.find("exit killed when its memory passed the limit") != std::string::npos);
    }
    SECTION("output without bound: stopped at the bound, long before the deadline") {
        const auto r = run_broken("flood", "fetch-all",
                                  "breaks = [1]\n"
                                  "[case.deviation]\nrole = \"retr\"\nmessage = 1\n"
                                  "disconnect = 60\n",
                                  std::chrono::seconds(120));
        CHECK(r.v == verdict::fail);
        CHECK(r.reason.starts_with("the client wrote "));
        CHECK(r.evidence.find("exit killed when its output passed the bound") != std::string::npos);
    }
    SECTION("the same client passes where it is not broken (the rules are not always on)") {
        const auto r = run_broken("wait-for-close", "status",
                                  "[case.deviation]\nrole = \"stat\"\n"
                                  "reply = \"-ERR no\\r\\n\"\n");
        CHECK(r.v == verdict::fail); // it did not notice the -ERR: the expectation, not a rule
        CHECK(r.reason.starts_with("the client did not notice"));
    }
}

TEST_CASE("deviation roles: form picks the listing or the single-message reply",
          "[client-runner]") {
    const auto dev =
        deviation_of("role = \"uidl\"\nform = \"single\"\nreply = \"-ERR one\\r\\n\"\n");
    const auto listing = session_output(dev, "USER user\r\nPASS pass\r\nUIDL\r\n");
    CHECK(listing.find("-ERR one") == std::string::npos);
    const auto single = session_output(dev, "USER user\r\nPASS pass\r\nUIDL 1\r\n");
    CHECK(single.find("-ERR one") != std::string::npos);
}

TEST_CASE("wire trace: an endless stream is counted, not kept write by write", "[client-runner]") {
    wire_trace t({});
    t.opened(1, false);
    t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
    t.client_bytes(1, "LIST\r\n", false);
    t.server_bytes(1, "+OK\r\n", false, 0, 0);
    const std::string line = "1 100\r\n";
    for (int i = 0; i < 300000; ++i) {
        t.server_bytes(1, line, false, 0, 0);
        if (i % 2 == 0) t.client_bytes(1, "", false); // the other side's events in between
    }
    const auto events = t.events();
    CHECK(events.size() <= 100000);
    CHECK(t.dropped_events() > 0);
    CHECK(t.server_octets() == 8 + 5 + 300000 * line.size());
}

TEST_CASE("wire trace: an AUTH line with an initial response fits in 255 octets",
          "[client-runner]") {
    const std::string response(276, 'A');
    wire_trace t({});
    t.opened(1, false);
    t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
    SECTION("289 octets: a breach") {
        t.client_bytes(1, "AUTH PLAIN " + response + "\r\n", false);
        REQUIRE(t.breaches().size() == 1);
        CHECK(t.breaches()[0].rule == "AUTH line over 255 octets");
    }
    SECTION("the same response after the empty challenge: none") {
        t.client_bytes(1, "AUTH PLAIN\r\n", false);
        t.server_bytes(1, "+ \r\n", false, 1, 0);
        t.client_bytes(1, response + "\r\n", false);
        CHECK(t.breaches().empty());
    }
    SECTION("256 octets: a breach") {
        t.client_bytes(1, "AUTH PLAIN " + std::string(243, 'A') + "\r\n", false);
        CHECK(t.breaches().size() == 1);
    }
    SECTION("255 octets exactly: none") {
        t.client_bytes(1, "AUTH PLAIN " + std::string(242, 'A') + "\r\n", false);
        CHECK(t.breaches().empty());
    }
}

TEST_CASE("wire trace: the lock-step rule", "[client-runner]") {
    wire_trace::settings s;
    SECTION("two commands in one write without PIPELINING break it") {
        wire_trace t(s);
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
        t.client_bytes(1, "USER u\r\nPASS p\r\n", false);
        REQUIRE(t.breaches().size() == 1);
        CHECK(t.breaches()[0].rule == "lock-step");
    }
    SECTION("PIPELINING listed in a CAPA reply the client saw allows it") {
        wire_trace t(s);
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
        t.client_bytes(1, "CAPA\r\n", false);
        t.server_bytes(1, "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n", false, 1, 0);
        t.client_bytes(1, "USER u\r\nPASS p\r\n", false);
        CHECK(t.breaches().empty());
    }
    SECTION("QUIT may come at any time") {
        wire_trace t(s);
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
        t.client_bytes(1, "STAT\r\n", false);
        t.server_bytes(1, "+OK 3", false, 0, 0);
        t.client_bytes(1, "QUIT\r\n", false);
        CHECK(t.breaches().empty());
    }
    SECTION("after an unsolicited line, losing step is a note, not a breach") {
        wire_trace t(s);
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n+OK extra\r\n", false, 1, 10);
        t.client_bytes(1, "USER u\r\n", false);
        t.early_bytes(1);
        t.client_bytes(1, "PASS p\r\n", false);
        CHECK(t.breaches().empty());
        REQUIRE(t.notes().size() == 1);
        CHECK(t.notes()[0].rule == "lock-step");
    }
    SECTION("but not after STLS: injected bytes there are the client's to discard") {
        wire_trace t(s);
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
        t.client_bytes(1, "STLS\r\n", false);
        t.server_bytes(1, "+OK go\r\n+OK injected\r\n", false, 1, 15);
        t.tls_started(1, true);
        t.client_bytes(1, "CAPA\r\n", true);
        t.early_bytes(1);
        t.client_bytes(1, "USER u\r\n", true);
        CHECK(t.breaches().size() == 1);
    }
}

TEST_CASE("wire trace: under PIPELINING a deletion is judged when QUIT commits it",
          "[client-runner]") {
    wire_trace::settings s;
    s.pipelining = true;
    const auto pipelined = [](wire_trace& t, bool retr_ends) {
        t.opened(1, false);
        t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
        t.client_bytes(1, "RETR 3\r\nDELE 3\r\nQUIT\r\n", false);
        if (retr_ends) t.server_bytes(1, "+OK\r\nbody\r\n.\r\n", false, 1, 0);
        t.server_bytes(1, "+OK deleted\r\n", false, 1, 0);
        t.server_bytes(1, "+OK bye\r\n", false, 1, 0);
    };
    SECTION("the message's reply came before QUIT's: no breach") {
        wire_trace t(s);
        pipelined(t, true);
        CHECK(t.breaches().empty());
    }
    SECTION("a damaged message deleted and committed: a breach") {
        s.damaged = {3};
        wire_trace t(s);
        pipelined(t, true);
        REQUIRE(t.breaches().size() == 1);
        CHECK(t.breaches()[0].detail.starts_with("the client's QUIT committed the deletion of "
                                                 "message 3"));
    }
}

TEST_CASE("wire trace: replies gathered in one write are told apart", "[client-runner]") {
    wire_trace::settings s;
    s.pipelining = true;
    wire_trace t(s);
    t.opened(1, false);
    t.server_bytes(1, "+OK hi\r\n", false, 1, 0);
    t.client_bytes(1, "RETR 2\r\nRETR 3\r\n", false);
    t.server_bytes(1, "+OK\r\ntwo\r\n.\r\n+OK\r\nthree\r\n.\r\n", false, 2, 0);
    t.client_bytes(1, "DELE 2\r\nDELE 3\r\nQUIT\r\n", false);
    t.server_bytes(1, "+OK\r\n+OK\r\n+OK bye\r\n", false, 3, 0);
    CHECK(t.breaches().empty()); // both messages arrived: their deletion is safe
}

namespace {

// Counts what serve_in_memory tells its observer.
struct counting_observer final : mock::connection_observer {
    std::atomic<int> early{0}, ends{0};
    std::string server, client;
    std::mutex m;
    void opened(std::uint64_t, bool) override {}
    void client_bytes(std::uint64_t, std::string_view b, bool) override {
        std::lock_guard g(m);
        client += b;
    }
    void server_bytes(std::uint64_t, std::string_view b, bool, std::size_t, std::size_t) override {
        std::lock_guard g(m);
        server += b;
    }
    void tls_started(std::uint64_t, bool) override {}
    void early_bytes(std::uint64_t) override { ++early; }
    void closed(std::uint64_t, std::string_view) override { ++ends; }
};

// Reads from `t` until `want` octets came (or the link ends).
std::string read_octets(pop3::client_transport& t, std::size_t want) {
    std::string got;
    char buf[256];
    while (got.size() < want) {
        std::size_t n = 0;
        if (t.read({buf, std::min(sizeof buf, want - got.size())}, n, std::chrono::seconds(5)) ||
            n == 0)
            break;
        got.append(buf, n);
    }
    return got;
}

} // namespace

TEST_CASE("in memory: lock-step is checked at each reply's last octet, without a clock",
          "[client-runner]") {
    auto config = mock::default_config();
    config.pipelining = false;
    counting_observer obs;
    auto link = std::make_shared<memory_link>();
    std::thread server([&] { serve_in_memory(config, *link, obs, true, std::chrono::seconds(5)); });
    auto t = link->client_end();
    // The greeting: everything but its last octet comes first, then the rest once the client
    // waits for it.
    std::string greeting;
    while (!greeting.ends_with("\r\n"))
        greeting += read_octets(*t, 1);
    REQUIRE(greeting.starts_with("+OK"));
    CHECK(obs.early == 0);
    // A lock-step command: no early bytes.
    REQUIRE_FALSE(t->write("USER user\r\n", std::chrono::seconds(1)));
    std::string reply;
    while (!reply.ends_with("\r\n"))
        reply += read_octets(*t, 1);
    CHECK(reply.starts_with("+OK"));
    CHECK(obs.early == 0);
    // PASS, then NOOP before PASS's reply ended: seen as early.
    REQUIRE_FALSE(t->write("PASS pass\r\n", std::chrono::seconds(1)));
    std::string start;
    while (start.size() < 3)
        start += read_octets(*t, 3 - start.size());
    REQUIRE_FALSE(t->write("NOOP\r\n", std::chrono::seconds(1)));
    reply = start;
    while (!reply.ends_with("\r\n"))
        reply += read_octets(*t, 1);
    CHECK(reply.starts_with("+OK"));
    CHECK(obs.early == 1);
    t->close();
    server.join();
    CHECK(obs.ends == 1);
    CHECK(obs.client == "USER user\r\nPASS pass\r\nNOOP\r\n");
}

TEST_CASE("in memory: a server's writes wait for a client that stops reading", "[client-runner]") {
    auto config = mock::default_config();
    mock::rule endless;
    endless.role = mock::reply_role::retr;
    endless.change.endless_body = true;
    config.faults.rules.push_back(endless);
    counting_observer obs;
    auto link = std::make_shared<memory_link>();
    std::thread server(
        [&] { serve_in_memory(config, *link, obs, false, std::chrono::seconds(5)); });
    auto t = link->client_end();
    REQUIRE_FALSE(t->write("USER user\r\nPASS pass\r\nRETR 1\r\n", std::chrono::seconds(1)));
    read_octets(*t, 64);
    // The endless body is held at the link's bound while nobody reads.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    {
        std::lock_guard g(obs.m);
        CHECK(obs.server.size() <= memory_link::max_unread_octets + 64 * 1024);
    }
    t->close();
    server.join();
    CHECK(obs.ends == 1);
}
