#include "pop3/conformance/client_under_test.hpp"
#include "pop3/conformance/embedded.hpp"
#include "pop3/conformance/runner.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <set>

using namespace pop3::conformance;

namespace {

// The server-direction cases (the client direction runs over sockets: ctest's
// conformance_client_* tests).
const std::vector<test_case>& corpus() {
    static const auto cases = [] {
        auto all = load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts");
        std::erase_if(all, [](const test_case& c) { return c.dir != direction::server; });
        return all;
    }();
    return cases;
}

run_options memory_options() {
    run_options o;
    o.vars = {{"user", "user"}, {"pass", "pass"}};
    return o;
}

// Plays a case against the mock server in memory; the server's config may be overridden.
case_result replay(const test_case& c, std::size_t chunk,
                   const pop3::mock::server_config* override_config = nullptr) {
    const auto opt = memory_options();
    const auto config = override_config
                            ? *override_config
                            : embedded_config(c, POP3_SOURCE_DIR "/mockserver/scenarios");
    const bool implicit = c.tls == start_tls_mode::implicit;
    auto probe_conn = connect_memory(config, 0, implicit);
    auto facts = probe(*probe_conn, opt);
    facts.embedded = true;
    facts.tls = true;
    if (auto why = unmet_precondition(c, facts, opt)) return {&c, verdict::skip, why->reason};
    auto conn = connect_memory(config, chunk, implicit);
    return run_case(c, *conn, opt);
}

} // namespace

TEST_CASE("replay: every transcript passes against the mock server in memory, whatever the split") {
    for (const auto& c : corpus()) {
        for (std::size_t chunk : {0, 1, 2, 3, 5, 8}) {
            INFO(c.id << " (client bytes in chunks of " << chunk << ")");
            const auto r = replay(c, chunk);
            INFO(r.reason << " at line " << r.line << "\nexpected: " << r.expected
                          << "\nactual: " << r.actual);
            // Neither failed nor unjudged (error): the embedded server is judged on every case.
            CHECK((r.v == verdict::pass || r.v == verdict::skip));
        }
    }
}

namespace {

// The ids of the cases that fail (or, with `not_passed`, do not pass) against the embedded
// server broken by `breakage`.
template <class Breakage>
std::set<std::string> cases_caught(Breakage breakage, bool not_passed = false) {
    std::set<std::string> caught;
    for (const auto& c : corpus()) {
        auto config = embedded_config(c, POP3_SOURCE_DIR "/mockserver/scenarios");
        breakage(config);
        const auto v = replay(c, 0, &config).v;
        if (v == verdict::fail || (not_passed && v != verdict::pass)) caught.insert(c.id);
    }
    return caught;
}

pop3::mock::rule replacing(std::string command, std::string reply) {
    pop3::mock::rule r;
    r.command = std::move(command);
    r.change.replace = std::move(reply);
    return r;
}

} // namespace

TEST_CASE("replay: a broken server is caught under the right case ids") {
    // STAT answered -ERR: the RFC 1939 session fails.
    auto failed = cases_caught([](pop3::mock::server_config& c) {
        c.faults.rules.push_back(replacing("STAT", "-ERR [SYS/TEMP] broken on purpose\r\n"));
    });
    CHECK(failed.count("rfc1939/10/session") == 1);

    // A server that does not dot-stuff: the dot-stuffing case catches it.
    failed = cases_caught([](pop3::mock::server_config& c) {
        c.faults.rules.push_back(replacing("RETR", "+OK\r\n.first line starts with a dot\r\n.two "
                                                   "dots\r\n.\r\nmiddle\r\n...\r\n.last\r\n.\r\n"));
    });
    CHECK(failed.count("rfc1939/3/dot-stuffing/retr") == 1);

    // The STARTTLS command-injection flaw: the security cases catch it.
    failed =
        cases_caught([](pop3::mock::server_config& c) { c.faults.stls_keeps_plaintext = true; });
    CHECK_FALSE(failed.empty());
    for (const auto& id : failed) {
        INFO(id);
        CHECK((id.starts_with("security/") || id.starts_with("rfc2595/")));
    }

    // Greeting that is not +OK: every case fails.
    const auto not_passed = cases_caught(
        [](pop3::mock::server_config& c) {
            c.faults.rules.push_back(replacing("greeting", "+ERR not ready\r\n"));
        },
        true);
    for (const auto& c : corpus()) {
        INFO(c.id);
        CHECK(not_passed.count(c.id) == 1);
    }
}

TEST_CASE(
    "replay: client-direction cases against the client library in memory, whatever the split") {
    const auto all = load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts");
    std::size_t played = 0;
    for (const auto& c : all) {
        if (c.dir != direction::client) continue;
        // TLS cannot start in memory: those cases run over sockets (ctest conformance_client_*).
        const bool needs_tls = c.tls == start_tls_mode::implicit ||
                               c.client_args.find("--starttls") != std::string::npos ||
                               c.client_args.find("--tls") != std::string::npos;
        if (needs_tls) continue;
        ++played;
        for (std::size_t chunk : {0, 1, 2, 3, 5, 8}) {
            INFO(c.id << " (server bytes in chunks of " << chunk << ")");
            auto [transport, conn] = memory_pipe(chunk);
            auto opt = memory_options();
            opt.step_timeout = std::chrono::seconds(5);
            auto outcome = std::async(std::launch::async, [&, t = std::move(transport)]() mutable {
                return run_library_client("pop3://user:pass@127.0.0.1:110", c.client_args, "",
                                          std::chrono::seconds(2), std::move(t));
            });
            auto r = run_case(c, *conn, opt);
            conn->close_now();
            judge_client_outcome(r, outcome.get());
            INFO(r.reason << " at line " << r.line << "\nexpected: " << r.expected
                          << "\nactual: " << r.actual);
            CHECK(r.v == verdict::pass);
        }
    }
    CHECK(played >= 10);
}

TEST_CASE("replay: verdicts add up, MUST failures decide the exit status") {
    test_case must, should;
    must.lvl = level::must;
    should.lvl = level::should;
    std::vector<case_result> rs = {
        {&must, verdict::pass}, {&should, verdict::fail}, {&must, verdict::skip}};
    auto s = summarize(rs);
    CHECK(s.passed == 1);
    CHECK(s.failed == 1);
    CHECK(s.skipped == 1);
    CHECK(exit_status(s, false) == 0);
    CHECK(exit_status(s, true) == 1);
    rs.push_back({&must, verdict::fail});
    CHECK(exit_status(summarize(rs), false) == 1);
}
