// pop3-fuzz --launch, --jobs and its reports: the target as a process it starts, watches and
// restarts (crashes, sanitizer reports, memory growth of planted bugs found and minimised),
// jobs that share a corpus folder, and the --json and --html files.
#include "pop3/fuzzer/campaign.hpp"
#include "pop3/fuzzer/launcher.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <pop3/conformance/transcript.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/planted_bug.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/protocol/text.hpp>
#include <sstream>
#include <string_view>
#include <support/child_process.hpp>
#include <support/temp_dir.hpp>
#include <thread>
#include <vector>

using namespace pop3::fuzzer;
using namespace std::chrono_literals;

namespace {

// The lines a reproducer sends ("C: ", "C+: " in the write before, "C=: " raw), as written.
std::vector<std::string> sent_lines(const std::string& transcript) {
    std::vector<std::string> sent;
    std::istringstream lines(transcript);
    for (std::string line; std::getline(lines, line);)
        for (std::string_view prefix : {"C: ", "C+: ", "C=: "})
            if (line.starts_with(prefix)) sent.push_back(line.substr(prefix.size()));
    return sent;
}

// Whether this test, and so the mock server it launches, is built with ASan.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized_build = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif
#else
constexpr bool sanitized_build = false;
#endif

std::string mock_command(const std::string& extra) {
    return "exec " + std::string(POP3_MOCKSERVER_BIN) + " --quiet " + extra;
}

} // namespace

TEST_CASE("launch: the port a program prints") {
    CHECK(port_from_output("listening pop3 127.0.0.1:4711\n") == 4711);
    CHECK(port_from_output("starting\nLISTENING on [::1]:995 (pop3s)\n") == 995);
    CHECK(port_from_output("1110\n") == 1110);
    CHECK(port_from_output("log: up\nbound to 0.0.0.0:2110, ready\n") == 2110);
    CHECK_FALSE(port_from_output("listening pop3 127.0.0.1:4711")); // the line is not whole yet
    CHECK_FALSE(port_from_output("no port here\n70000\n"));
    CHECK_FALSE(port_from_output(""));
}

TEST_CASE("launch: a started program is watched: its death, its signal, a sanitizer report") {
    pop3::test::temp_dir dir;
    launch_options lo;
    lo.work_dir = dir.path / "w";
    lo.command = mock_command("");
    launched_target t(lo);
    t.start();
    REQUIRE(t.running());
    CHECK(t.port() != 0);
    CHECK_FALSE(t.check());
    CHECK(t.usage().rss_kib > 0);
    CHECK(t.usage().fds > 2);
    // The mock server of this build runs ASan exactly when this test does.
    CHECK(pop3::conformance::runs_address_sanitizer(t.pid()) == sanitized_build);
    // SIGKILL: a sanitizer build would catch a SIGSEGV and report it instead of dying of it.
    ::kill(t.pid(), SIGKILL);
    const auto died = t.check(2000ms);
    REQUIRE(died);
    CHECK(died->what == process_event::kind::died);
    CHECK(died->detail.find("signal 9") != std::string::npos);
    CHECK_FALSE(t.running());

    // A report on stderr is a finding whether or not the process died of it.
    lo.command = "echo '==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x1' >&2; " +
                 mock_command("");
    launched_target reporting(lo);
    reporting.start();
    const auto report = reporting.check();
    REQUIRE(report);
    CHECK(report->what == process_event::kind::sanitizer);
    CHECK(report->detail.find("heap-use-after-free") != std::string::npos);
    CHECK_FALSE(reporting.check()); // reported once
    CHECK(reporting.running());

    // ... even when more is written after it: a short report once came up again with each
    // later line of stderr, blamed on whatever session ran then.
    lo.command = "echo '==7==ERROR: AddressSanitizer: x' >&2; "
                 "(sleep 0.2; echo 'a later log line' >&2) & " +
                 mock_command("");
    launched_target chatty(lo);
    chatty.start();
    REQUIRE(chatty.check());
    const auto stderr_file = lo.work_dir / "stderr.log";
    for (int i = 0; i < 500 && std::filesystem::file_size(stderr_file) <= 40; ++i)
        std::this_thread::sleep_for(10ms);
    REQUIRE(std::filesystem::file_size(stderr_file) > 40); // the later line came
    const auto again = chatty.check();
    CHECK_FALSE(again);
    if (again) INFO(again->detail);

    lo.command = "echo no port; exit 3";
    launched_target broken(lo);
    CHECK_THROWS_WITH(broken.start(), Catch::Contains("exited with status 3"));
}

TEST_CASE("pop3-fuzz --launch finds a planted crash, minimises it and restarts the target") {
    if (!pop3::mock::planted_bugs_compiled()) {
        WARN("skipped: this build has no planted bugs (POP3_PLANTED_BUGS)");
        return;
    }
    using pop3::test::run_program;
    pop3::test::temp_dir dir;
    const auto found =
        run_program(POP3_FUZZ_BIN,
                    {"server", "--launch", mock_command("--plant-bug pass-crash-300"), "--sessions",
                     "5000", "--duration", "3600", "--max-findings", "1", "--findings",
                     (dir.path / "f").string(), "--json", (dir.path / "run.json").string()});
    INFO(found.out << found.err);
    CHECK(found.status == 1);
    const auto file = dir.path / "f" / "process-died-PASS.pop3";
    REQUIRE(std::filesystem::exists(file));
    const auto text = pop3::test::read_text(file);
    INFO(text);
    CHECK(text.find("killed by signal 6") != std::string::npos);
    // Minimised over commands and bytes: one PASS line and the 300 octets of argument that
    // crash it (which octets, and the keyword's case, depend on the input that found it).
    const auto sent = sent_lines(text);
    REQUIRE(sent.size() == 1);
    CHECK(pop3::iequals(sent[0].substr(0, 5), "PASS "));
    CHECK(sent[0].size() - 5 == 300);
    CHECK(pop3::test::read_text(dir.path / "run.json").find("\"kind\": \"process-died\"") !=
          std::string::npos);

    // Replayed: passes on a correct server.
    pop3::mock::server_options so;
    so.threads = 1;
    pop3::mock::server correct(pop3::mock::default_config(), so);
    correct.start();
    const auto replay =
        run_program(POP3_CONFORMANCE_BIN,
                    {"server", "--no-color", "--transcripts", (dir.path / "f").string(), "--target",
                     "pop3://user:pass@127.0.0.1:" + std::to_string(correct.port())});
    INFO(replay.out << replay.err);
    CHECK(replay.out.find("1 passed, 0 failed") != std::string::npos);
    correct.stop();
}

TEST_CASE("pop3-fuzz --launch finds a planted memory leak by the process's growth") {
    if (!pop3::mock::planted_bugs_compiled()) {
        WARN("skipped: this build has no planted bugs (POP3_PLANTED_BUGS)");
        return;
    }
    using pop3::test::run_program;
    pop3::test::temp_dir dir;
    if (sanitized_build) {
        // An ASan-built target grows by its quarantine, leak or not: pop3-fuzz sees its runtime,
        // says so, and does not judge its memory (once, every such target was reported).
        const auto asan =
            run_program(POP3_FUZZ_BIN, {"server", "--launch", mock_command(""), "--max-rss-growth",
                                        "8", "--sessions", "3000", "--duration", "3600",
                                        "--findings", (dir.path / "f").string()});
        INFO(asan.out << asan.err);
        CHECK(asan.status == 0);
        CHECK(asan.err.find("the target runs AddressSanitizer") != std::string::npos);
        return;
    }
    const auto found = run_program(
        POP3_FUZZ_BIN, {"server", "--launch", mock_command("--plant-bug noop-leak"),
                        "--max-rss-growth", "8", "--sessions", "60000", "--duration", "3600",
                        "--max-findings", "1", "--findings", (dir.path / "f").string()});
    INFO(found.out << found.err);
    CHECK(found.status == 1);
    const auto file = dir.path / "f" / "resource-growth-session.pop3";
    REQUIRE(std::filesystem::exists(file));
    // Minimised to a session with a NOOP in it (its case, arguments and writes as the input
    // had them: "C: NOOP", "C+: noop", ...).
    const auto text = pop3::test::read_text(file);
    INFO(text);
    bool noop = false;
    for (const auto& line : sent_lines(text))
        noop = noop || pop3::iequals(line.substr(0, 4), "NOOP");
    CHECK(noop);

    // The correct server does not grow past the same bound in as many sessions.
    const auto quiet =
        run_program(POP3_FUZZ_BIN,
                    {"server", "--launch", mock_command(""), "--max-rss-growth", "8", "--sessions",
                     "5000", "--duration", "3600", "--findings", (dir.path / "g").string()});
    INFO(quiet.out << quiet.err);
    CHECK(quiet.status == 0);
}

TEST_CASE("jobs share the corpus folder: each runs what the others wrote") {
    pop3::test::temp_dir dir;
    pop3::mock::server_options so;
    so.threads = 2;
    pop3::mock::server server(pop3::mock::default_config(), so);
    server.start();
    const auto seeds = seeds_from_transcripts(
        pop3::conformance::load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts"), {});
    target t;
    pop3::conformance::tls_settings tls;
    tls.ca_pem = server.identity().certificate;
    const auto port = server.port();
    t.connect = [=] {
        return pop3::conformance::connect_socket("127.0.0.1", port, false, tls, 2000ms);
    };
    campaign_result results[2];
    std::vector<std::thread> jobs;
    for (int j = 0; j < 2; ++j)
        jobs.emplace_back([&, j] {
            campaign_options o;
            o.seed = 1 + static_cast<std::uint64_t>(j);
            o.duration = std::chrono::hours(1);
            o.max_sessions = seeds.size() + 1500;
            o.corpus_dir = dir.path / "corpus";
            o.sync_interval = 20ms;
            // Job 2 starts from one seed: what it gets from job 1's folder it can only import.
            results[j] =
                run_campaign(j == 0 ? seeds : std::vector<session_input>{seeds.front()}, t, o);
        });
    for (auto& j : jobs)
        j.join();
    INFO("imported " << results[0].stats.imported << ", " << results[1].stats.imported);
    CHECK(results[1].stats.imported > 10);
    CHECK(results[0].findings.empty());
    CHECK(results[1].findings.empty());
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path / "corpus")) {
        CHECK(e.path().extension() == ".input"); // no half-written file left
        ++files;
    }
    CHECK(files >= results[0].stats.corpus);
    server.stop();
}

TEST_CASE("pop3-fuzz --jobs, --json and --html") {
    using pop3::test::run_program;
    pop3::test::temp_dir dir;
    const auto r =
        run_program(POP3_FUZZ_BIN,
                    {"server", "--jobs", "2", "--sessions", "500", "--duration", "3600", "--corpus",
                     (dir.path / "c").string(), "--findings", (dir.path / "f").string(), "--json",
                     (dir.path / "r.json").string(), "--html", (dir.path / "r.html").string()});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("1000 sessions in") == 0); // 500 a job
    const auto json = pop3::test::read_text(dir.path / "r.json");
    CHECK(json.find("\"jobs\": 2,") != std::string::npos);
    CHECK(json.find("\"sessions\": 1000,") != std::string::npos);
    CHECK(json.find("\"findings\": [],") != std::string::npos);
    CHECK(json.find("\"history\": [\n    {\"seconds\": ") != std::string::npos);
    const auto html = pop3::test::read_text(dir.path / "r.html");
    CHECK(html.find("<svg") != std::string::npos);
    CHECK(html.find("class=\"chart sessions\"") != std::string::npos);
    CHECK(html.find("class=\"chart growth\"") != std::string::npos);
    CHECK(html.find("<h2>Findings</h2>\n<p>none</p>") != std::string::npos);

    const auto both = run_program(POP3_FUZZ_BIN, {"server", "--jobs", "2", "--launch", "true",
                                                  "--target", "pop3://u:p@127.0.0.1:1"});
    CHECK(both.status == 2);
    CHECK(both.err.find("--jobs with --launch") != std::string::npos);
}
