// Bad input and unwritable output at the level of the programs (issue #14, defects 6, 7, 18, 19,
// 21, 22): pop3-mockserver and pop3-conformance must refuse with a clear message (FILE:LINE
// where there is a file) and exit 2, or exit non-zero when their output cannot be written;
// never crash, hang or end in exit code 0. Every program runs under timeout(1), so that one that
// keeps serving (as they did) fails the test in seconds with status 124.
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/unanswered_port.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <pop3/mockserver/planted_bug.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using pop3::test::program_outcome;

namespace {

constexpr int timed_out = 124; // timeout(1): the program was still running

// `program args...` under timeout(1), killed after `seconds`.
program_outcome run_bounded(const std::string& program, const std::vector<std::string>& args,
                            int seconds = 10) {
    std::vector<std::string> words{std::to_string(seconds), program};
    words.insert(words.end(), args.begin(), args.end());
    return pop3::test::run_program("/usr/bin/timeout", words);
}

// The same, with its stdout on /dev/full: every write to it fails with ENOSPC.
program_outcome run_into_dev_full(const std::string& program, const std::vector<std::string>& args,
                                  int seconds = 10) {
    std::string command = "exec /usr/bin/timeout " + std::to_string(seconds) + " " + program;
    for (const auto& a : args)
        command += " '" + a + "'"; // the tests' arguments hold no quote
    return pop3::test::run_program("/bin/sh", {"-c", command + " > /dev/full"});
}

program_outcome mockserver(const std::vector<std::string>& args) {
    return run_bounded(POP3_MOCKSERVER_BIN, args);
}

program_outcome conformance(const std::vector<std::string>& args, int seconds = 30) {
    return run_bounded(POP3_CONFORMANCE_BIN, args, seconds);
}

using pop3::test::temp_dir;

// One server case that passes against the embedded mock server.
constexpr const char* passing_case = "case: cli/greeting\n"
                                     "title: the greeting is +OK\n"
                                     "rfc: 1939 §4\n"
                                     "level: MUST\n"
                                     "S: +OK*\n"
                                     "C: QUIT\n"
                                     "S: +OK*\n";

} // namespace

// ---- pop3-mockserver ----

TEST_CASE("pop3-mockserver: a scenario nested too deeply is refused with FILE:LINE, exit 2") {
    // 300,000 parts crashed the server (SIGSEGV, exit 139) inside toml++.
    const temp_dir s;
    std::string dotted = "a";
    for (int i = 1; i < 300'000; ++i)
        dotted += ".a";
    const std::string too_deep =
        ": nested too deeply (at most 16 levels: each part of a dotted key or table header "
        "counts one, and an array's elements one more)\n";
    for (const auto& [name, text, line] :
         {std::tuple{"header.toml", "[" + dotted + "]\n", 1},
          std::tuple{"key.toml", "# a comment\n" + dotted + " = 1\n", 2},
          std::tuple{"arrays.toml", "a = " + std::string(300'000, '['), 1}}) {
        INFO(name);
        const auto file = s.write(name, text);
        const auto r = mockserver({"--scenario", file.string()});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err == "pop3-mockserver: " + file.string() + ":" + std::to_string(line) + too_deep);
    }
}

TEST_CASE("pop3-mockserver: huge_line over 1 GiB and --threads over 256 are refused, exit 2") {
    // huge_line = 2^63-1 loaded, then RETR dropped the connection without a log line;
    // --threads 1000000000 ended in std::bad_alloc, exit 1.
    const temp_dir s;
    const auto file =
        s.write("huge.toml", "[[rule]]\ncommand = \"RETR\"\nhuge_line = 9223372036854775807\n");
    auto r = mockserver({"--scenario", file.string()});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "pop3-mockserver: " + file.string() +
                       ":3: 'huge_line' must be an integer from 1 to 1073741824\n");

    for (const std::string n : {"1000000000", "257", "99999999999999999999999", "-1", "", "2x"}) {
        INFO(n);
        r = mockserver({"--threads", n});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err ==
              "pop3-mockserver: --threads: expected a number from 0 to 256, got '" + n + "'\n");
    }
    const auto help = mockserver({"--help"});
    CHECK(help.out.find("--threads N               worker threads, 0 to 256") != std::string::npos);
}

TEST_CASE("pop3-mockserver: --plant-bug with an unknown NAME exits 2, listing the names") {
    std::string names;
    for (auto bug : pop3::mock::all_planted_bugs())
        names += (names.empty() ? "" : ", ") + std::string(pop3::mock::to_string(bug));
    for (const std::string name : {"no-such-bug", "", "LIST-CRASH-2G", "number-wraps-2-32"}) {
        INFO(name);
        const auto r = mockserver({"--plant-bug", "list-crash-2g", "--plant-bug", name});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        if (pop3::mock::planted_bugs_compiled())
            CHECK(r.err == "pop3-mockserver: --plant-bug: unknown bug '" + name +
                               "'; the bugs are: " + names + "\n");
        else
            CHECK(
                r.err.starts_with("pop3-mockserver: --plant-bug: this build has no planted bugs"));
    }
    const auto r = mockserver({"--plant-bug"});
    CHECK(r.status == 2);
    CHECK(r.err == "pop3-mockserver: --plant-bug: missing value\n");
    const auto help = mockserver({"--help"});
    CHECK(help.out.find("--plant-bug NAME          test builds only (POP3_PLANTED_BUGS)") !=
          std::string::npos);
    CHECK(help.out.find("number-wraps-2^32") != std::string::npos);
}

TEST_CASE("pop3-mockserver: --cert-out that cannot be written exits 2 before listening") {
    // It kept serving, with an empty certificate written nowhere.
    for (const std::vector<std::string>& tls :
         std::vector<std::vector<std::string>>{{},
                                               {"--tls-listen", "127.0.0.1:0"},
                                               {"--no-starttls", "--tls-listen", "127.0.0.1:0"}}) {
        std::vector<std::string> args{"--cert-out", "/dev/full", "--quiet"};
        args.insert(args.end(), tls.begin(), tls.end());
        const auto r = mockserver(args);
        CHECK(r.status == 2);
        CHECK(r.out.empty()); // no "listening" line
        CHECK(r.err == "pop3-mockserver: --cert-out: cannot write the certificate to /dev/full\n");
    }
    auto r = mockserver({"--cert-out", "/nonexistent/pop3kit/cert.pem", "--quiet"});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "pop3-mockserver: --cert-out: cannot write the certificate to "
                   "/nonexistent/pop3kit/cert.pem\n");
    // Without TLS there is no certificate: an empty file was written.
    r = mockserver({"--cert-out", "/dev/null", "--no-starttls", "--quiet"});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err == "pop3-mockserver: --cert-out: no certificate is in use with --no-starttls and "
                   "no --tls-listen\n");
}

TEST_CASE("pop3-mockserver: --record into a folder that takes no files exits 2 at start") {
    // It served every session and recorded none, silently. Root passes permission bits, so the
    // folders here refuse files whoever runs the test.
    auto r = mockserver({"--record", "/proc", "--quiet"});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with("pop3-mockserver: --record: cannot create files in the folder /proc"));

    const temp_dir s;
    const auto file = s.write("a-file", "x");
    for (const fs::path& dir : {file, file / "sub"}) {
        INFO(dir);
        r = mockserver({"--record", dir.string(), "--quiet"});
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("pop3-mockserver: --record: cannot create the folder " +
                                dir.string() + ": "));
    }

    // A folder that takes files: the probe file is gone again once the server listens.
    const auto rec = s.path / "rec";
    r = run_bounded(POP3_MOCKSERVER_BIN, {"--record", rec.string(), "--quiet"}, 1);
    CHECK(r.status == timed_out); // it served until timeout(1) stopped it
    CHECK(r.out.starts_with("default user user:pass\nlistening pop3 127.0.0.1:"));
    CHECK(fs::is_directory(rec));
    CHECK(fs::is_empty(rec));
}

TEST_CASE("pop3-mockserver: stdout that cannot be written exits 1, --help too") {
    // It served on, its listening lines lost.
    auto r = run_into_dev_full(POP3_MOCKSERVER_BIN, {"--quiet"});
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-mockserver: cannot write to standard output: No space left on device\n");
    r = run_into_dev_full(POP3_MOCKSERVER_BIN, {"--help"});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-mockserver: cannot write to standard output"));
}

// ---- pop3-conformance ----

TEST_CASE("pop3-conformance: maildrop generate: beyond the limits is refused with FILE:LINE") {
    // generate:-1:5 ended in "vector::reserve", exit 1; generate:1000000:1073741824 passed
    // --list and grew to 4 GB.
    const temp_dir s;
    for (const std::string spec : {"-1:5", "1000000:1073741824"}) {
        INFO(spec);
        const auto file =
            s.write("t/cases.pop3", std::string(passing_case) + "\ncase: cli/big\n" +
                                        "title: t\nrfc: 1939\nmaildrop: generate:" + spec +
                                        "\nC: STAT\nS: +OK*\n");
        const std::string expected =
            "pop3-conformance: " + file.string() +
            ":12: 'maildrop: generate:' must be COUNT:SIZE, e.g. \"3:1000\", with COUNT <= "
            "1000000, SIZE <= 1073741824 and COUNT*SIZE <= 4294967296 (got \"" +
            spec + "\")\n";
        for (const std::vector<std::string>& extra :
             std::vector<std::vector<std::string>>{{"--list"}, {"--only", "cli/big"}}) {
            std::vector<std::string> args{"server", "--no-color", "--transcripts",
                                          (s.path / "t").string()};
            args.insert(args.end(), extra.begin(), extra.end());
            const auto r = conformance(args);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
            CHECK(r.err == expected);
        }
    }
}

TEST_CASE("pop3-conformance: --junit, --json and stdout that cannot be written exit 1") {
    // All three ended in exit code 0.
    const temp_dir s;
    s.write("t/cases.pop3", passing_case);
    const std::vector<std::string> run{"server", "--no-color", "--transcripts",
                                       (s.path / "t").string()};
    auto with = [&](std::vector<std::string> extra) {
        extra.insert(extra.begin(), run.begin(), run.end());
        return extra;
    };
    auto r = conformance(run);
    REQUIRE(r.status == 0); // the case passes: only the output decides below
    CHECK(r.out.find("1 passed, 0 failed, 0 skipped") != std::string::npos);

    for (const char* flag : {"--junit", "--json"}) {
        INFO(flag);
        r = conformance(with({flag, "/dev/full"}));
        CHECK(r.status == 1);
        CHECK(r.err == "pop3-conformance: /dev/full: cannot write\n");
        r = conformance(with({flag, (s.path / "no-such-folder" / "r.xml").string()}));
        CHECK(r.status == 1);
        CHECK(r.err.ends_with("r.xml: cannot open for writing\n"));
    }
    r = run_into_dev_full(POP3_CONFORMANCE_BIN, run, 30);
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-conformance: cannot write to standard output: No space left on device\n");
    r = run_into_dev_full(POP3_CONFORMANCE_BIN, with({"--list"}));
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pop3-conformance: cannot write to standard output"));
    r = run_into_dev_full(POP3_CONFORMANCE_BIN, {"--help"});
    CHECK(r.status == 1);
}

TEST_CASE("pop3-conformance: a --target that answers no SYN fails within the step timeout") {
    // The TCP connect had no timeout: it hung for the kernel's two minutes of SYN retries.
    const temp_dir s;
    s.write("t/cases.pop3", passing_case);
    const pop3::test::unanswered_port port;
    const std::string where = "127.0.0.1:" + std::to_string(port.port());
    const auto r = conformance({"server", "--no-color", "--transcripts", (s.path / "t").string(),
                                "--target", "pop3://u:p@" + where, "--timeout", "0.3"},
                               10);
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-conformance: timed out connecting to " + where +
                       " after 300 ms (the step timeout)\n");
}
