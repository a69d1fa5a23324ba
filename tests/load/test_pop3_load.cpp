// pop3-load: its pieces (histogram, command line) directly, and the program, whose command line
// and report are a contract (issue 8), run against an in-process mock server.
#include "support/child_process.hpp"
#include "support/client_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <pop3/load/load.hpp>
#include <pop3/mockserver/server.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace pop3;

namespace {

// Runs pop3-load with `args` to its end.
test::program_outcome run_load(const std::vector<std::string>& args) {
    return test::run_program(POP3_LOAD_BIN, args);
}

using test::running_server;
using test::temp_dir;

// Users u1..uN, password "p", 10 messages of 2000 octets each.
mock::server_config users(int n) {
    mock::server_config c = mock::default_config();
    c.users.clear();
    for (int i = 1; i <= n; ++i)
        c.users.push_back({"u" + std::to_string(i), "p", mock::maildrop::generate(10, 2000)});
    return c;
}

// One thread; STLS offered or not.
mock::server_options listening(bool starttls = true) {
    auto o = running_server::listen_options();
    o.starttls = starttls;
    return o;
}

// The URL pop3-load takes: user `user` ("u%d": u1, u2, ... by connection), password "p".
std::string target(const running_server& s, const std::string& user = "u%d") {
    return s.url(user + ":p@");
}

// The line of the report starting with `key` (latency rows are indented by two spaces).
std::string report_line(const std::string& report, const std::string& key) {
    std::istringstream in(report);
    for (std::string l; std::getline(in, l);)
        if (l.rfind(key, 0) == 0 && l.size() > key.size() && l[key.size()] == ' ') return l;
    return {};
}

// The first number on the line after `key`.
double number(const std::string& report, const std::string& key) {
    const auto l = report_line(report, key);
    if (l.empty()) return -1;
    std::istringstream in(l.substr(key.size()));
    double v = -1;
    in >> v;
    return v;
}

// A latency row's columns: count p50 p90 p99 max.
std::vector<double> row(const std::string& report, const std::string& name) {
    std::istringstream in(report_line(report, "  " + name).substr(2 + name.size()));
    std::vector<double> v;
    for (double x; in >> x;)
        v.push_back(x);
    return v;
}

load::options parse(std::vector<std::string> args) {
    return load::parse_args(args).opt;
}

} // namespace

TEST_CASE("pop3-load: the histogram's percentiles are within a bucket of the truth") {
    load::histogram h;
    CHECK(h.percentile(50) == 0);
    for (std::uint64_t v = 1; v <= 100000; ++v)
        h.record(v * 1000); // 1 µs .. 100 ms
    CHECK(h.count() == 100000);
    CHECK(h.max() == 100000000);
    CHECK(h.percentile(50) == Approx(50000000).epsilon(0.01));
    CHECK(h.percentile(90) == Approx(90000000).epsilon(0.01));
    CHECK(h.percentile(99) == Approx(99000000).epsilon(0.01));
    CHECK(h.percentile(100) == 100000000);
    for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456789ull, ~0ull}) {
        const auto b = load::histogram::bucket_of(v);
        CHECK(load::histogram::bucket_low(b) <= v);
        CHECK(v - load::histogram::bucket_low(b) < load::histogram::bucket_width(b));
    }
    load::histogram other;
    other.record(5);
    h.merge(other);
    CHECK(h.count() == 100001);
}

TEST_CASE("pop3-load: the mix becomes the commands of a session") {
    const std::string t = "--target=pop3://u%d:p@127.0.0.1:1110";
    using load::step;
    auto o = parse({t, "--mix", "login,stat,retr,dele,quit"});
    CHECK(o.plan == std::vector<step>{step::user, step::pass, step::stat, step::retr, step::dele,
                                      step::rset, step::quit});
    CHECK(o.auto_rset);
    o = parse({t, "--mix", "login,rset,dele,quit"}); // says otherwise: deletions are committed
    CHECK(o.plan == std::vector<step>{step::user, step::pass, step::rset, step::dele, step::quit});
    CHECK_FALSE(o.auto_rset);
    o = parse({t, "--mix", "login,dele"}); // no QUIT: nothing is committed, nothing added
    CHECK(o.plan == std::vector<step>{step::user, step::pass, step::dele});
    o = parse({t}); // the defaults
    CHECK(o.connections == 1);
    CHECK(o.duration == 10);
    CHECK(o.mix == std::vector<std::string>{"login", "stat", "list", "uidl", "quit"});
    CHECK(o.tls == load::tls_choice::none);
}

TEST_CASE("pop3-load: one user per connection, and what counts as local") {
    auto o = parse({"--target", "pop3://u%d:p@127.0.0.1:1110"});
    CHECK(load::user_for(o, 7) == "u7");
    o = parse({"--target", "pop3://box{n}x:p@[::1]:1110"});
    CHECK(load::user_for(o, 12) == "box12x");
    CHECK(load::display_target(o) == "pop3://box{n}x:****@[::1]:1110");
    o = parse({"--target", "pop3://u:p%25d@localhost"}); // only the user has the placeholder
    CHECK(load::user_for(o, 3) == "u");
    CHECK(o.url.password == "p%d");
    CHECK(o.url.port == 110);
    CHECK(parse({"--target", "pop3s://u:p@127.0.0.1"}).tls == load::tls_choice::implicit);
    CHECK(parse({"--target", "pop3://u:p@127.0.0.1", "--tls"}).url.port == 995);

    CHECK(load::is_loopback_host("127.0.0.1"));
    CHECK(load::is_loopback_host("127.1.2.3"));
    CHECK(load::is_loopback_host("::1"));
    CHECK(load::is_loopback_host("LocalHost"));
    CHECK_FALSE(load::is_loopback_host("10.0.0.1"));
    CHECK_FALSE(load::is_loopback_host("::2"));
    CHECK_FALSE(load::is_loopback_host("example.com"));
    CHECK_THROWS_AS(parse({"--target", "pop3://u:p@192.0.2.1:110"}), load::usage_error);
    CHECK(parse({"--target", "pop3://u:p@192.0.2.1:110", "--allow-remote"}).allow_remote);
}

TEST_CASE("pop3-load: a run reports rates, latency per command and no errors") {
    running_server s(users(4), listening());
    const temp_dir d;
    const auto json = d.path / "run.json";
    const auto r =
        run_load({"--target", target(s), "--connections", "3", "--duration", "1.5", "--mix",
                  "login,stat,list,uidl,retr,dele,quit", "--json", json.string()});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(report_line(r.out, "target") ==
          "target       pop3://u{n}:****@127.0.0.1:" + std::to_string(s.srv.port()) + " (plain)");
    CHECK(report_line(r.out, "connections") == "connections  3 on 1 thread");
    CHECK(number(r.out, "duration") == Approx(1.5).epsilon(0.05));
    CHECK(report_line(r.out, "mix")
              .find("sent: USER PASS STAT LIST UIDL RETR DELE RSET QUIT; "
                    "RSET added") != std::string::npos);
    const double sessions = number(r.out, "sessions");
    CHECK(sessions > 10);
    CHECK(report_line(r.out, "sessions").find(" 0 failed") != std::string::npos);
    CHECK(number(r.out, "sessions/s") == Approx(sessions / 1.5).epsilon(0.1));
    CHECK(number(r.out, "commands") >= sessions * 9);
    CHECK(number(r.out, "commands/s") > 0);
    CHECK(number(r.out, "body") >= sessions * 2000 / 1e6);
    CHECK(number(r.out, "MB/s") > 0);
    CHECK(
        report_line(r.out, "latency (ms)").find("count       p50       p90       p99       max") !=
        std::string::npos);
    for (const char* name : {"connect", "USER", "PASS", "STAT", "LIST", "UIDL", "RETR", "DELE",
                             "RSET", "QUIT", "session"}) {
        INFO(name);
        const auto v = row(r.out, name);
        REQUIRE(v.size() == 5);
        CHECK(v[0] >= sessions);
        CHECK(v[1] > 0);
        CHECK(v[1] <= v[2]);
        CHECK(v[2] <= v[3]);
        CHECK(v[3] <= v[4]);
    }
    CHECK(row(r.out, "session")[1] > row(r.out, "USER")[1]);
    CHECK(report_line(r.out, "errors") == "errors       0");
    CHECK(report_line(r.out, "-ERR") == "-ERR replies 0");
    // RSET before QUIT: the maildrops are as full as they were.
    for (const auto& u : s.srv.config().users)
        CHECK(u.mail->snapshot().size() == 10);

    const auto j = test::read_text(json);
    INFO(j);
    CHECK(j.front() == '{');
    CHECK(j.find("}\n", j.size() - 2) != std::string::npos);
    for (const char* key :
         {"\"target\": ",
          "\"connections\": 3",
          "\"duration_s\": 1.500",
          "\"elapsed_s\": ",
          "\"mix\": [\"login\", \"stat\", \"list\", \"uidl\", \"retr\", \"dele\", \"quit\"]",
          "\"sessions\": {\"completed\": ",
          "\"failed\": 0",
          "\"sessions_per_s\": ",
          "\"commands_per_s\": ",
          "\"body_octets\": ",
          "\"mb_per_s\": ",
          "\"latency_ms\": {",
          "\"RETR\": {\"count\": ",
          "\"p50\": ",
          "\"p90\": ",
          "\"p99\": ",
          "\"max\": ",
          "\"errors\": {}",
          "\"err_replies\": {}",
          "\"exit_code\": 0"})
        CHECK(j.find(key) != std::string::npos);
}

TEST_CASE("pop3-load: connections sharing a user count -ERR [IN-USE] apart from errors") {
    running_server s(users(1), listening());
    const auto r = run_load(
        {"--target", target(s, "u1"), "--connections", "3", "--duration", "0.5", "--quiet"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(number(r.out, "sessions") > 0);
    CHECK(number(r.out, "-ERR replies") > 0);
    CHECK(report_line(r.out, "  PASS [IN-USE]").find("  first: ") != std::string::npos);
    CHECK(report_line(r.out, "errors") == "errors       0");
}

TEST_CASE("pop3-load: STARTTLS, verified against the server's certificate") {
    running_server s(users(2), listening());
    const temp_dir d;
    const auto ca = d.write("ca.pem", s.srv.identity().certificate);
    auto r = run_load({"--target", target(s), "--connections", "2", "--duration", "0.7",
                       "--starttls", "--ca", ca.string(), "--mix", "login,stat,quit", "--quiet"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(report_line(r.out, "target").find("(starttls)") != std::string::npos);
    CHECK(number(r.out, "sessions") > 0);
    CHECK(row(r.out, "STLS").at(0) > 0);
    CHECK(row(r.out, "TLS").at(0) > 0);
    CHECK(report_line(r.out, "errors") == "errors       0");

    // Without the CA the handshake fails: every session failed, exit 1.
    r = run_load({"--target", target(s), "--connections", "1", "--duration", "0.3", "--starttls",
                  "--quiet"});
    CHECK(r.status == 1);
    CHECK(report_line(r.out, "  tls_handshake").find("certificate verify failed") !=
          std::string::npos);
}

TEST_CASE("pop3-load: a server without STLS fails every session, exit 1") {
    running_server s(users(1), listening(/*starttls=*/false));
    const auto r = run_load(
        {"--target", target(s), "--duration", "0.3", "--starttls", "--insecure", "--quiet"});
    INFO(r.out << r.err);
    CHECK(r.status == 1);
    CHECK(number(r.out, "sessions") == 0);
    CHECK(number(r.out, "-ERR replies") > 0);
    const auto err_section = r.out.substr(r.out.find("\n-ERR replies"));
    CHECK(report_line(err_section.substr(1), "  STLS").find("first:") != std::string::npos);
}

TEST_CASE("pop3-load: Ctrl-C stops the run early and still reports") {
    running_server s(users(2), listening());
    test::child_process c(POP3_LOAD_BIN,
                          {"--target", target(s), "--connections", "2", "--duration", "60"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    const auto t0 = std::chrono::steady_clock::now();
    c.signal(SIGINT);
    const auto r = c.finish();
    const auto took = std::chrono::steady_clock::now() - t0;
    INFO(r.out << r.err);
    CHECK(took < std::chrono::seconds(3));
    CHECK(r.status == 0);
    CHECK(report_line(r.out, "duration").find("(interrupted)") != std::string::npos);
    CHECK(number(r.out, "duration") < 5);
    CHECK(number(r.out, "sessions") > 0);
    // The progress line, once a second (not a terminal: one line each).
    CHECK(r.err.find(" s  sessions ") != std::string::npos);
    CHECK(r.err.find("  commands ") != std::string::npos);
    CHECK(r.err.find("  errors 0") != std::string::npos);
}

TEST_CASE("pop3-load: a target that is not local is refused without --allow-remote") {
    const auto r = run_load({"--target", "pop3://u:p@192.0.2.1:110", "--duration", "1"});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("--allow-remote") != std::string::npos);
}

TEST_CASE("pop3-load: a bad command line exits 2, --help exits 0") {
    const std::string t = "pop3://u:p@127.0.0.1:1";
    for (const auto& args :
         std::vector<std::vector<std::string>>{{},
                                               {"--connections", "2"},
                                               {"--target", t, "--bogus"},
                                               {"--target", t, "--connections", "0"},
                                               {"--target", t, "--connections", "x"},
                                               {"--target", t, "--duration", "-1"},
                                               {"--target", t, "--duration"},
                                               {"--target", t, "--mix", "login,frob"},
                                               {"--target", t, "--mix", "login,,quit"},
                                               {"--target", t, "--tls", "--starttls"},
                                               {"--target", t, "--ca", "x.pem"},
                                               {"--target", "pop3://127.0.0.1:1", "--mix", "login"},
                                               {"--target", "http://u:p@127.0.0.1"},
                                               {"--target", "pop3://u;AUTH=PLAIN:p@127.0.0.1"}}) {
        const auto r = run_load(args);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.rfind("pop3-load: ", 0) == 0);
    }
    const auto h = run_load({"--help"});
    CHECK(h.status == 0);
    for (const char* word :
         {"--target", "--connections", "--duration", "--mix", "--tls", "--starttls", "--json",
          "--allow-remote", "%d", "{n}", "RSET", "Exit status", "SIGINT", "p50"})
        CHECK(h.out.find(word) != std::string::npos);
}

// Issue #14, defect 18: a report that could not be written (stdout on /dev/full) ended in exit
// code 0.
TEST_CASE("pop3-load: a report that cannot be written to stdout exits 1") {
    running_server s(users(1), listening());
    const auto into_dev_full = [](const std::string& args) {
        return test::run_program("/bin/sh",
                                 {"-c", "exec " POP3_LOAD_BIN " " + args + " > /dev/full"});
    };
    auto r =
        into_dev_full("--target " + target(s, "u1") + " --connections 1 --duration 0.3 --quiet");
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-load: cannot write to standard output: No space left on device\n");
    r = into_dev_full("--target " + target(s, "u1") +
                      " --connections 1 --duration 0.3 --quiet "
                      "--json -");
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-load: cannot write to standard output: No space left on device\n");
    r = into_dev_full("--help");
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-load: cannot write to standard output"));
}
