#include "pop3/fuzzer/client_campaign.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <pop3/conformance/client_runner.hpp>
#include <random>
#include <set>
#include <support/temp_dir.hpp>

using namespace pop3::fuzzer;
using namespace std::chrono_literals;
namespace cf = pop3::conformance;

namespace {

const std::string library_client = "exec '" POP3_CONFORMANCE_BIN "' library-client";

// A campaign that ends on its session count (or its first finding), never on the clock: a
// loaded machine runs the same sessions, only slower (ctest's TIMEOUT bounds the whole).
client_campaign_options options_for(std::uint64_t seed, std::size_t sessions,
                                    client_choices choices, const std::filesystem::path& dir) {
    client_campaign_options o;
    o.seed = seed;
    o.duration = std::chrono::hours(1);
    o.max_sessions = sessions;
    o.choices = std::move(choices);
    o.run.program.command = library_client;
    o.run.deadline = 30s;
    o.run.client_timeout = 1s;
    o.run.hold = 0ms;
    o.stls_hold = 10ms;
    o.replay = o.run;
    o.replay.hold = 50ms;
    o.findings_dir = dir;
    o.status_interval = std::chrono::hours(1);
    return o;
}

// POP3KIT_PLANTED_BUG for the clients this process starts: the runner passes its own
// environment on to the adapter.
struct planted_bug {
    explicit planted_bug(const char* name) { ::setenv("POP3KIT_PLANTED_BUG", name, 1); }
    ~planted_bug() { ::unsetenv("POP3KIT_PLANTED_BUG"); }
    planted_bug(const planted_bug&) = delete;
    planted_bug& operator=(const planted_bug&) = delete;
};

// The outcome of each case in `dir` under pop3-conformance client's defaults.
std::vector<std::string> replay_outcomes(const std::filesystem::path& dir) {
    const auto cases = cf::load_client_cases(dir);
    cf::client_run_options r;
    r.program.command = library_client;
    r.deadline = 30s;
    r.client_timeout = 1s;
    std::vector<std::string> out;
    for (const auto& res : cf::run_client_cases(cases, r))
        out.push_back(res.outcome + ": " + res.reason);
    return out;
}

std::string describe(const client_campaign_result& r) {
    std::string s = std::to_string(r.stats.sessions) + " sessions, " +
                    std::to_string(r.stats.extra_runs) + " other runs\n";
    for (const auto& f : r.findings)
        s += f.kind + " " + f.family + ": " + f.detail + " (" + describe(f.minimal) + ")\n";
    for (const auto& k : r.skipped)
        s += "skipped " + k + "\n";
    return s;
}

} // namespace

TEST_CASE("client mutator: deterministic per seed, every input a case the runner accepts") {
    client_mutator a(7, {}), b(7, {});
    std::mt19937_64 choose(3); // the test's own choices, the same for both mutators
    std::set<std::string> families;
    std::vector<client_input> corpus;
    for (int i = 0; i < 3000; ++i) {
        const bool fresh = corpus.empty() || choose() % 3 == 0;
        const std::size_t parent = corpus.empty() ? 0 : choose() % corpus.size();
        const auto in = fresh ? a.generate() : a.mutate(corpus[parent]);
        const auto again = fresh ? b.generate() : b.mutate(corpus[parent]);
        REQUIRE(client_case_toml(in) == client_case_toml(again));
        INFO(client_case_toml(in));
        const auto c = client_case_of(in);
        REQUIRE(c.deviation);
        REQUIRE(c.deviation->role);
        CHECK(c.detectable == in.intact);
        families.insert(in.family);
        if (corpus.size() < 64) corpus.push_back(in);
    }
    CHECK(families.size() == client_families().size());
}

TEST_CASE("a minimised client finding is described by what is left of it") {
    // mpop's cases were titled "message 3's unique-id is a/b" when minimising had left only
    // disconnect = "after".
    client_input in;
    in.variant = "message 3's unique-id is a/b";
    in.deviation = {{"role", "\"uidl\""}, {"form", "\"listing\""}, {"disconnect", "\"after\""}};
    const auto drawn = in.deviation;
    redescribe_after_minimising(in, drawn); // nothing dropped: the variant stands
    CHECK(in.variant == "message 3's unique-id is a/b");
    in.deviation = {{"role", "\"uidl\""}, {"disconnect", "\"after\""}};
    redescribe_after_minimising(in, drawn);
    CHECK(in.variant == "the reply as a correct server sends it");
    CHECK(describe(in) == "the reply as a correct server sends it, the connection closed at "
                          "\"after\"");
    in.variant = "two changes";
    in.deviation = {{"role", "\"list\""}, {"octet_delta", "5"}, {"split_at", "[3]"}};
    redescribe_after_minimising(
        in, {{"role", "\"list\""}, {"octet_delta", "5"}, {"append", "\"x\""}, {"split_at", "[3]"}});
    CHECK(in.variant == "octet_delta = 5");
}

TEST_CASE("client cases written by the fuzzer keep every octet of a reply") {
    std::string bytes;
    for (int c = 0; c < 0x80; ++c)
        bytes += static_cast<char>(c);
    bytes += "\"\\ done\r\n";
    client_input in;
    in.family = "noop/status";
    in.deviation = {{"role", "\"noop\""}, {"reply", toml_string(bytes)}};
    const auto c = client_case_of(in);
    REQUIRE(c.deviation);
    CHECK(c.deviation->change.replace == bytes);
    CHECK(c.expect == cf::expectation::info);
}

TEST_CASE("finding kinds: only rules that hold for every client") {
    client_input in;
    in.family = "retr/body";
    in.deviation = {{"role", "\"retr\""}};
    cf::single_case_run r;
    r.served = true;
    const auto with_rule = [&](const char* rule) {
        r.global = cf::global_verdict{};
        r.global->rule = rule;
        return finding_kind(in, r);
    };
    CHECK_FALSE(finding_kind(in, r));
    CHECK(with_rule("signal") == "signal");
    CHECK(with_rule("memory") == "memory");
    CHECK(with_rule("output") == "output");
    CHECK(with_rule("deadline") == "hang");
    in.stalls = true; // the server kept the client waiting: its timeout, not a hang
    CHECK_FALSE(with_rule("deadline"));
    CHECK(with_rule("inexact delivery") == "inexact-delivery");
    in.intact = false; // the deviation changed the body: what was delivered is not judged
    CHECK_FALSE(with_rule("inexact delivery"));
    CHECK(with_rule("credentials before TLS") == "plaintext-credentials");
    CHECK_FALSE(with_rule("DELE of a damaged message"));
    CHECK_FALSE(with_rule("AUTH line over 255 octets"));
    CHECK_FALSE(with_rule("runner limit"));
    // Lock-step only after plaintext appended to STLS's +OK, and inside TLS.
    CHECK_FALSE(with_rule("lock-step"));
    in.family = "stls/inject";
    in.deviation = {{"role", "\"stls\""}, {"append", "\"+OK\\r\\n\""}};
    CHECK_FALSE(with_rule("lock-step"));
    r.breach_in_tls = true;
    CHECK(with_rule("lock-step") == "stls-injection");
    r.global.reset();
    r.runs.resize(1);
    r.runs[0].exit_code = 1;
    r.runs[0].output = "==1==ERROR: AddressSanitizer: heap-buffer-overflow";
    CHECK(finding_kind(in, r) == "sanitizer");
    r.unsupported = true;
    CHECK_FALSE(finding_kind(in, r));
}

TEST_CASE("pop3-fuzz client: no finding against pop3kit's library client", "[client-fuzz]") {
    pop3::test::temp_dir dir;
    client_choices choices;
    choices.logins = {"any", "user", "sasl:PLAIN"};
    choices.tls_modes = {cf::client_tls::none, cf::client_tls::starttls};
    for (std::uint64_t seed : {1u, 2u}) {
        const auto r = run_client_campaign(options_for(seed, 60, choices, dir.path / "found"));
        INFO("seed " << seed << ": " << describe(r));
        CHECK(r.findings.empty());
        CHECK(r.skipped.empty());
        CHECK(r.stats.sessions == 60);
        CHECK(r.stats.signatures > 15);
        CHECK_FALSE(std::filesystem::exists(dir.path / "found"));
    }
}

TEST_CASE("pop3-fuzz client finds the planted client bugs, and its cases replay", "[client-fuzz]") {
    struct bug {
        const char* name;
        const char* kind;
        client_choices choices;
    };
    std::vector<bug> bugs(3);
    bugs[0] = {"octet-count-crash", "signal", {}};
    bugs[0].choices.tasks = {cf::client_task::status, cf::client_task::fetch_all};
    bugs[0].choices.families = {"stat/octets", "list/listing"};
    bugs[1] = {"truncated-delivery", "inexact-delivery", {}};
    bugs[1].choices.tasks = {cf::client_task::fetch_all};
    bugs[1].choices.families = {"list/listing", "list/octet-delta"};
    bugs[2] = {"stls-plaintext-accepted", "stls-injection", {}};
    bugs[2].choices.tasks = {cf::client_task::status};
    bugs[2].choices.tls_modes = {cf::client_tls::starttls};
    bugs[2].choices.families = {"stls/inject", "stls/status"};
    for (auto& b : bugs) {
        b.choices.logins = {"any"};
        if (b.choices.tls_modes.size() > 1) b.choices.tls_modes = {cf::client_tls::none};
    }
    for (const auto& b : bugs) {
        DYNAMIC_SECTION(b.name) {
            pop3::test::temp_dir dir;
            const auto found = dir.path / "found";
            {
                const planted_bug planted(b.name);
                auto o = options_for(1, 400, b.choices, found);
                o.stop_after_findings = 1;
                const auto r = run_client_campaign(o);
                INFO(describe(r));
                REQUIRE(r.findings.size() == 1);
                const auto& f = r.findings.front();
                CHECK(f.kind == b.kind);
                CHECK(f.file == found / (std::string(b.kind) + ".toml"));
                CHECK(f.minimal.deviation.size() <= 3);
                const auto text = pop3::test::read_text(f.file);
                INFO(text);
                CHECK(text.find("# pop3-fuzz client finding: " + std::string(b.kind)) !=
                      std::string::npos);
                CHECK(text.find("--seed 1, session ") != std::string::npos);
                // The case as written fails on the buggy client under pop3-conformance client.
                const auto buggy = replay_outcomes(found);
                REQUIRE(buggy.size() == 1);
                CHECK(buggy.front().starts_with("failed"));
            }
            // ... and passes on the correct one.
            const auto correct = replay_outcomes(found);
            REQUIRE(correct.size() == 1);
            CHECK(correct.front().starts_with("info"));
        }
    }
}
