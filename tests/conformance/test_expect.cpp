// Baselines (issue #13, item 6): the format of interop/*-expected.txt read and checked
// (FILE:LINE on a bad line), a run compared with it (new failures, fixed, other changed
// verdicts, new and vanished cases), written back; and pop3-conformance --expect /
// --update-expect / --expect-section as a process against the embedded mock server.
#include "pop3/conformance/baseline.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <pop3/conformance/report.hpp>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace pop3::conformance;
namespace fs = std::filesystem;

namespace {

std::string parse_error(std::string_view text, const std::string& section = {}) {
    try {
        (void)parse_baseline(text, "b.txt", section);
    } catch (const baseline_error& e) {
        return e.what();
    }
    return "(no error)";
}

test_case make_case(const std::string& id) {
    test_case c;
    c.id = id;
    c.title = "t";
    c.rfc = "1939 §5";
    c.file = "t.pop3";
    c.line = 1;
    return c;
}

// Three cases of our own, so that the suite does not change under the tests: one passes against
// the embedded server, one fails (its greeting is +OK, not -ERR), one is skipped (no such
// capability).
constexpr const char* transcripts =
    "case: t/pass\ntitle: the greeting is +OK\nrfc: 1939 §4\nlevel: MUST\n"
    "S: +OK*\nC: QUIT\nS: +OK*\n\n"
    "case: t/fail\ntitle: the greeting is -ERR\nrfc: 1939 §4\nlevel: MAY\n"
    "S: -ERR*\n\n"
    "case: t/skip\ntitle: a capability nobody has\nrfc: 2449 §5\nlevel: MUST\n"
    "requires: capa:NO-SUCH-CAPABILITY\nS: +OK*\n";

// A scratch folder (tests/support/temp_dir.hpp) with the transcripts; paths as strings.
struct scratch : pop3::test::temp_dir {
    const fs::path& dir = path;
    scratch() { write("t/cases.pop3", transcripts); }
    std::string write(const std::string& name, const std::string& text) const {
        return temp_dir::write(name, text).string();
    }
};

pop3::test::program_outcome conformance(const scratch& s, std::vector<std::string> args) {
    std::vector<std::string> words{"60",         POP3_CONFORMANCE_BIN, "server",
                                   "--no-color", "--transcripts",      (s.dir / "t").string()};
    words.insert(words.end(), args.begin(), args.end());
    return pop3::test::run_program("/usr/bin/timeout", words);
}

std::string last_line(const std::string& out) {
    const auto end = out.size() - (out.ends_with("\n") ? 1 : 0);
    const auto start = out.rfind('\n', end - 1);
    return out.substr(start == std::string::npos ? 0 : start + 1, end - (start + 1));
}

std::string second_last_line(const std::string& out) {
    return last_line(out.substr(0, out.size() - last_line(out).size() - 1));
}

} // namespace

TEST_CASE("expect: the baseline format, comments, blank lines, CRLF and sections") {
    const auto plain = parse_baseline("# a comment\n\na/1 passed\r\n  a/2\tfailed  \n"
                                      "a/3 skipped\na/4 error\n",
                                      "b.txt");
    CHECK(plain.name == "b.txt");
    REQUIRE(plain.entries.size() == 4);
    CHECK(plain.entries[0].id == "a/1");
    CHECK(plain.entries[0].v == verdict::pass);
    CHECK(plain.entries[0].line == 3);
    CHECK(plain.entries[1].v == verdict::fail);
    CHECK(plain.entries[2].v == verdict::skip);
    CHECK(plain.entries[3].v == verdict::error);
    const std::string runs = "# header\n[plain]\na/1 passed\na/2 failed\n\n[tls]\na/1 skipped\n";
    const auto tls = parse_baseline(runs, "b.txt", "tls");
    CHECK(tls.name == "b.txt [tls]");
    REQUIRE(tls.entries.size() == 1);
    CHECK(tls.entries[0].v == verdict::skip);
    CHECK(tls.entries[0].line == 7);
    CHECK(parse_baseline(runs, "b.txt", "plain").entries.size() == 2);
    CHECK(parse_baseline("[empty]\n[other]\na/1 passed\n", "b.txt", "empty").entries.empty());
    CHECK(parse_baseline("", "b.txt").entries.empty());
}

TEST_CASE("expect: a malformed baseline is FILE:LINE: reason") {
    CHECK(parse_error("a/1 passed\na/2\n") == "b.txt:2: expected 'ID VERDICT', got 'a/2'");
    CHECK(parse_error("a/1 passed extra\n") ==
          "b.txt:1: expected 'ID VERDICT', got 'a/1 passed extra'");
    CHECK(parse_error("# c\na/1 pass\n") ==
          "b.txt:2: unknown verdict 'pass' (passed, failed, skipped, error, non-strict, info, "
          "n/a or inconclusive)");
    CHECK(parse_error("a/1 passed\na/1 failed\n") == "b.txt:2: case 'a/1' again (first at line 1)");
    CHECK(parse_error("[plain\na/1 passed\n", "plain")
              .starts_with("b.txt:1: expected a section header '[NAME]'"));
    CHECK(parse_error("[a b]\n", "a").starts_with("b.txt:1: expected a section header"));
    CHECK(parse_error("[x]\na/1 passed\n[x]\n", "x") == "b.txt:3: section [x] again (first at "
                                                        "line 1)");
    CHECK(parse_error("a/1 passed\n[x]\na/1 passed\n", "x") ==
          "b.txt:1: a case line before the first [section] header (a file with sections holds "
          "every case in one)");
    CHECK(parse_error("# c\n[x]\na/1 passed\n") ==
          "b.txt:2: the file has sections ([x]): name the one to compare with "
          "(--expect-section)");
    CHECK(parse_error("[x]\na/1 passed\n", "y") == "b.txt: no section [y]");
    // Every section is checked, not only the one asked for; the same id in two sections is fine.
    CHECK(parse_error("[x]\na/1 passed\n[y]\na/1 passed\na/2 maybe\n", "x") ==
          "b.txt:5: unknown verdict 'maybe' (passed, failed, skipped, error, non-strict, info, "
          "n/a or inconclusive)");
    CHECK_THROWS_AS(read_baseline("/nonexistent/pop3kit/baseline.txt"), baseline_error);
}

TEST_CASE("expect: a run compared with its baseline, difference by difference") {
    const auto pass = make_case("a/pass"), fail = make_case("a/fail"), skip = make_case("a/skip"),
               err = make_case("a/err"), fixed = make_case("a/fixed"), added = make_case("a/new"),
               added_failing = make_case("a/new-failing"), same = make_case("a/same");
    std::vector<case_result> results = {
        {&pass, verdict::fail, "wrong reply", "+OK*", "-ERR no", 7},
        {&fail, verdict::fail, "still wrong"},
        {&skip, verdict::pass},
        {&err, verdict::error, "no reply within 5 s"},
        {&fixed, verdict::pass},
        {&added, verdict::skip, "needs TLS"},
        {&added_failing, verdict::fail, "wrong"},
        {&same, verdict::skip, "needs TLS"},
    };
    const auto b = parse_baseline("a/pass passed\na/fail failed\na/skip skipped\na/err passed\n"
                                  "a/fixed failed\na/same skipped\na/gone passed\n"
                                  "a/not-selected failed\n",
                                  "b.txt");
    const std::set<std::string> suite = {"a/pass",        "a/fail",  "a/skip",
                                         "a/err",         "a/fixed", "a/new",
                                         "a/new-failing", "a/same",  "a/not-selected"};
    const auto c = compare_with_baseline(b, results, suite);
    REQUIRE(c.new_failures.size() == 2);
    CHECK(c.new_failures[0].id == "a/pass");
    CHECK(c.new_failures[0].expected == verdict::pass);
    CHECK(c.new_failures[1].id == "a/new-failing");
    CHECK_FALSE(c.new_failures[1].expected);
    REQUIRE(c.fixed.size() == 1);
    CHECK(c.fixed[0].id == "a/fixed");
    REQUIRE(c.changed.size() == 2);
    CHECK(c.changed[0].id == "a/skip"); // skipped -> passed
    CHECK(c.changed[1].id == "a/err");  // passed -> error
    REQUIRE(c.added.size() == 1);
    CHECK(c.added[0].id == "a/new");
    REQUIRE(c.vanished.size() == 1);
    CHECK(c.vanished[0].id == "a/gone");
    CHECK(c.matched == 2);
    CHECK(c.not_run == 1); // a/not-selected: in the suite, left out (--only)
    CHECK(c.differences() == 7);

    std::ostringstream out;
    write_baseline_report(out, b, c);
    CHECK(out.str() == "baseline b.txt: 7 differences\n"
                       "  new failures (expected passed, skipped, error or absent; now failed):\n"
                       "    a/pass: passed -> failed: wrong reply at t.pop3:7\n"
                       "        expected: +OK*\n"
                       "          actual: -ERR no\n"
                       "    a/new-failing: absent -> failed: wrong at t.pop3:1\n"
                       "  fixed (expected failed, now passed):\n"
                       "    a/fixed\n"
                       "  other changed verdicts:\n"
                       "    a/skip: skipped -> passed\n"
                       "    a/err: passed -> error: no reply within 5 s at t.pop3:1\n"
                       "  new cases (not in the baseline):\n"
                       "    a/new: absent -> skipped: needs TLS\n"
                       "  no longer in the suite (in the baseline, not among the transcripts):\n"
                       "    a/gone (was passed, line 7)\n"
                       "baseline: 7 differences from b.txt\n");

    // Written back, the run's verdicts are a baseline that matches it.
    std::ostringstream written;
    write_baseline(written, results, "server", "plain");
    const auto again = parse_baseline(written.str(), "w.txt", "plain");
    REQUIRE(again.entries.size() == results.size());
    CHECK(again.entries[0].id == "a/pass");
    CHECK(again.entries[0].v == verdict::fail);
    const auto same_run = compare_with_baseline(again, results, suite);
    CHECK(same_run.differences() == 0);
    std::ostringstream matches;
    write_baseline_report(matches, again, same_run);
    CHECK(matches.str() == "baseline: matches w.txt [plain] (8 verdicts)\n");

    // The comparison goes above the counts, which stay the last line.
    std::ostringstream console;
    write_console(console, "t", results, false, matches.str());
    CHECK(console.str().ends_with("\n\nbaseline: matches w.txt [plain] (8 verdicts)\n"
                                  "2 passed, 3 failed, 2 skipped, 1 error\n"));
}

TEST_CASE("expect: pop3-conformance --update-expect writes a baseline that --expect matches") {
    const scratch s;
    const auto file = (s.dir / "expected.txt").string();
    auto r = conformance(s, {"--update-expect", file});
    CHECK(r.status == 0); // as without --expect: only a MAY case failed
    CHECK(last_line(r.out) == "1 passed, 1 failed, 1 skipped");
    // t/skip needs a capability the server does not offer: n/a, a finer word for skipped.
    CHECK(s.read("expected.txt").ends_with("\nt/pass passed\nt/fail failed\nt/skip n/a\n"));

    r = conformance(s, {"--expect", file});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(second_last_line(r.out) == "baseline: matches " + file + " (3 verdicts)");
    CHECK(last_line(r.out) == "1 passed, 1 failed, 1 skipped");

    // --only: the cases left out are not compared.
    r = conformance(s, {"--expect", file, "--only", "t/pass"});
    CHECK(r.status == 0);
    CHECK(second_last_line(r.out) == "baseline: matches " + file + " (1 verdict)");

    // A section of a file that holds several runs, written and read back.
    const auto runs = (s.dir / "runs.txt").string();
    r = conformance(s, {"--update-expect", runs, "--expect-section", "plain"});
    CHECK(r.status == 0);
    CHECK(s.read("runs.txt").find("\n[plain]\nt/pass passed\n") != std::string::npos);
    s.write("runs.txt", "# two runs\n[other]\nt/pass failed\n" + s.read("runs.txt"));
    r = conformance(s, {"--expect", runs, "--expect-section", "plain"});
    CHECK(r.status == 0);
    CHECK(second_last_line(r.out) == "baseline: matches " + runs + " [plain] (3 verdicts)");
    // A baseline from before n/a existed says "skipped": the verdict's word still matches.
    const auto older = s.write("older.txt", "t/pass passed\nt/fail failed\nt/skip skipped\n");
    r = conformance(s, {"--expect", older});
    CHECK(r.status == 0);
    CHECK(second_last_line(r.out) == "baseline: matches " + older + " (3 verdicts)");
    r = conformance(s, {"--expect", runs, "--expect-section", "other", "--only", "t/pass"});
    CHECK(r.status == 1);
    CHECK(second_last_line(r.out) == "baseline: 1 difference from " + runs + " [other]");
}

TEST_CASE("expect: pop3-conformance --expect fails on a difference and names it") {
    const scratch s;
    // A new failure (the baseline says t/fail passes), a changed verdict (t/skip: passed
    // expected) and a case no longer in the suite.
    const auto file = s.write("expected.txt", "t/pass passed\nt/fail passed\nt/skip passed\n"
                                              "t/removed skipped\n");
    auto r = conformance(s, {"--expect", file});
    CHECK(r.status == 1);
    CHECK(r.out.find("baseline " + file +
                     ": 3 differences\n"
                     "  new failures (expected passed, skipped, error or absent; now failed):\n"
                     "    t/fail: passed -> failed: ") != std::string::npos);
    CHECK(r.out.find("  other changed verdicts:\n"
                     "    t/skip: passed -> n/a: ") != std::string::npos);
    CHECK(r.out.find("  no longer in the suite (in the baseline, not among the transcripts):\n"
                     "    t/removed (was skipped, line 4)\n") != std::string::npos);
    CHECK(second_last_line(r.out) == "baseline: 3 differences from " + file);
    CHECK(last_line(r.out) == "1 passed, 1 failed, 1 skipped");

    // A case that is fixed is a difference too: the baseline must be updated.
    const auto fixed = s.write("fixed.txt", "t/pass failed\n");
    r = conformance(s, {"--expect", fixed, "--only", "t/pass"});
    CHECK(r.status == 1);
    CHECK(r.out.find("  fixed (expected failed, now passed):\n    t/pass\n") != std::string::npos);

    // A new case that is not in the baseline.
    const auto partial = s.write("partial.txt", "t/pass passed\nt/fail failed\n");
    r = conformance(s, {"--expect", partial});
    CHECK(r.status == 1);
    CHECK(r.out.find("  new cases (not in the baseline):\n    t/skip: absent -> n/a: ") !=
          std::string::npos);
}

TEST_CASE("expect: pop3-conformance refuses a bad baseline (exit 2) and unwritable output") {
    const scratch s;
    const auto bad = s.write("bad.txt", "# c\nt/pass passed\nt/fail FAILED\n");
    auto r = conformance(s, {"--expect", bad});
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "pop3-conformance: " + bad +
              ":3: unknown verdict 'FAILED' (passed, failed, skipped, error, non-strict, info, "
              "n/a or inconclusive)\n");
    r = conformance(s, {"--expect", (s.dir / "missing.txt").string()});
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("pop3-conformance: " + (s.dir / "missing.txt").string() +
                            ": cannot read"));
    const auto runs = s.write("runs.txt", "[plain]\nt/pass passed\n");
    r = conformance(s, {"--expect", runs});
    CHECK(r.status == 2);
    CHECK(r.err == "pop3-conformance: " + runs +
                       ":1: the file has sections ([plain]): name the one to compare with "
                       "(--expect-section)\n");
    r = conformance(s, {"--expect", runs, "--expect-section", "tls"});
    CHECK(r.status == 2);
    CHECK(r.err == "pop3-conformance: " + runs + ": no section [tls]\n");
    r = conformance(s, {"--expect-section", "plain"});
    CHECK(r.status == 2);
    r = conformance(s, {"--update-expect", "/dev/full", "--only", "t/pass"});
    CHECK(r.status == 1);
    CHECK(r.err == "pop3-conformance: /dev/full: cannot write\n");
}

TEST_CASE("expect: only a baseline's skipped matches a finer word (n/a), no other verdict's") {
    const auto na = make_case("a/na"), info = make_case("a/info"), strict = make_case("a/strict"),
               unsure = make_case("a/unsure");
    std::vector<case_result> results = {{&na, verdict::skip, "the server does not advertise LANG"},
                                        {&info, verdict::pass},
                                        {&strict, verdict::fail, "a SHOULD"},
                                        {&unsure, verdict::skip, "could not tell"}};
    results[0].outcome = "n/a";
    results[1].outcome = "info";
    results[2].outcome = "non-strict";
    results[3].outcome = "inconclusive";
    const auto b = parse_baseline("a/na skipped\na/info passed\na/strict failed\n"
                                  "a/unsure skipped\n",
                                  "b.txt");
    const auto c = compare_with_baseline(b, results, {"a/na", "a/info", "a/strict", "a/unsure"});
    CHECK(c.matched == 1); // a/na
    CHECK(c.differences() == 3);
}
