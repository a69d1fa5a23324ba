// The ecosystem matrix (matrix.hpp, pop3-conformance matrix): runs read back from their JSON,
// the families, the counts of each cell, a blank cell for a case a run does not have, the links
// to the runs' reports, the escaping, and bad input. Fixtures: tests/conformance/matrix/.
#include "matrix.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sstream>

using namespace pop3::conformance;
namespace fs = std::filesystem;

namespace {

const fs::path fixtures = fs::path(POP3_SOURCE_DIR) / "tests/conformance/matrix";

std::vector<matrix_run> three_runs() {
    std::vector<matrix_run> runs;
    runs.push_back(read_matrix_run(fixtures / "server-a.json", "A"));
    runs.push_back(read_matrix_run(fixtures / "server-b.json"));
    runs.push_back(read_matrix_run(fixtures / "client-c.json", "curl"));
    return runs;
}

std::string markdown(const std::vector<matrix_run>& runs) {
    std::ostringstream out;
    write_matrix_markdown(out, runs);
    return out.str();
}

std::string html(const std::vector<matrix_run>& runs, const fs::path& dir) {
    std::ostringstream out;
    write_matrix_html(out, "m <1>", runs, dir);
    return out.str();
}

bool has(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

std::string error_of(const fs::path& file) {
    try {
        read_matrix_run(file);
    } catch (const matrix_input_error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("matrix: a case's family is its id's leading components") {
    CHECK(case_family("rfc1939/7/args/missing/USER") == "rfc1939/7");
    CHECK(case_family("rfc1939/4/greeting") == "rfc1939/4");
    CHECK(case_family("security/message-number/4294967297/LIST") == "security/message-number");
    CHECK(case_family("security/quit/twice") == "security/quit");
    CHECK(case_family("client/rfc2595/4/stls-first") == "client/rfc2595/4");
    CHECK(case_family("client/rfc2595/2.4/x") == "client/rfc2595/2.4");
    CHECK(case_family("client/basics/fetch-new") == "client/basics");
    CHECK(case_family("a/b") == "a");
    CHECK(case_family("lonely") == "lonely");
}

TEST_CASE("matrix: runs read back from their JSON") {
    const auto runs = three_runs();
    CHECK(runs[0].name == "A");
    CHECK(runs[1].name == "server-b"); // the file's stem
    CHECK(runs[0].title == "pop3-conformance server: 127.0.0.1:1100");
    CHECK_FALSE(runs[0].client);
    CHECK(runs[2].client);
    REQUIRE(runs[0].cases.size() == 4);
    CHECK(runs[0].cases[1].reason == "got <b>\"x\" & \x1b[31m");
    CHECK(runs[0].cases[2].outcome == "n/a");
    CHECK(runs[0].cases[3].index == 4);
    CHECK(runs[1].cases[0].outcome == "passed");
    CHECK(runs[1].cases[3].reason == "\xc3\xa9t\xc3\xa9 \xff"); // a raw octet kept as it is
    // The report next to the JSON: server-a.html only.
    REQUIRE(runs[0].html);
    CHECK(runs[0].html->filename() == "server-a.html");
    CHECK_FALSE(runs[1].html);
}

TEST_CASE("matrix: groups, families and the counts of each cell") {
    const auto runs = three_runs();
    const auto groups = group_runs(runs);
    REQUIRE(groups.size() == 2);
    const auto& servers = groups[0];
    CHECK_FALSE(servers.client);
    REQUIRE(servers.runs.size() == 2);
    CHECK(servers.cases == 5);
    REQUIRE(servers.families.size() == 4);
    CHECK(servers.families[0].name == "rfc1939/3");
    CHECK(servers.families[0].cases.size() == 2);
    CHECK(servers.families[1].name == "rfc1939/7");
    CHECK(servers.families[2].name == "rfc2449/6.6"); // in natural order
    CHECK(servers.families[3].name == "security/quit");

    const auto a3 = family_counts(*servers.runs[0], servers.families[0]);
    REQUIRE(a3);
    CHECK(a3->passed == 1);
    CHECK(a3->failed == 1);
    CHECK(a3->worst() == "failed");
    const auto a7 = family_counts(*servers.runs[0], servers.families[1]);
    REQUIRE(a7);
    CHECK(a7->skipped == 1);
    CHECK(a7->not_applicable == 1);
    CHECK(a7->worst() == "n/a");
    CHECK(family_counts(*servers.runs[0], servers.families[3])->worst() == "error");
    // A case a run does not have: a blank cell, not a failure.
    CHECK_FALSE(family_counts(*servers.runs[1], servers.families[1]));
    CHECK_FALSE(family_counts(*servers.runs[0], servers.families[2]));
    CHECK(family_counts(*servers.runs[1], servers.families[0])->worst() == "passed");

    const auto& clients = groups[1];
    CHECK(clients.client);
    REQUIRE(clients.families.size() == 2);
    CHECK(clients.families[0].name == "client/basics");
    CHECK(clients.families[1].name == "client/rfc2595/4");
    const auto c4 = family_counts(*clients.runs[0], clients.families[1]);
    CHECK(c4->failed == 1); // non-strict counts as failed, as in the run's own counts
    CHECK(c4->worst() == "non-strict");
    const auto cb = family_counts(*clients.runs[0], clients.families[0]);
    CHECK(cb->passed == 1);
    CHECK(cb->skipped == 1);
    CHECK(cb->not_applicable == 0);
    CHECK(cb->worst() == "inconclusive");
}

TEST_CASE("matrix: the rows in natural order") {
    std::vector<matrix_run> runs(1);
    for (const char* id : {"rfc1939/10/a", "security/x/y", "rfc2449/8.1.2/b", "rfc1939/4/c",
                           "rfc2449/6.10/d", "rfc2449/6.9/e", "rfc1939/4/f"}) {
        runs[0].by_id.emplace(id, runs[0].cases.size());
        runs[0].cases.push_back({id, "", "", "", "passed", "passed", "", 0});
    }
    const auto groups = group_runs(runs);
    REQUIRE(groups.size() == 1);
    std::vector<std::string> names;
    for (const auto& f : groups[0].families)
        names.push_back(f.name);
    CHECK(names == std::vector<std::string>{"rfc1939/4", "rfc1939/10", "rfc2449/6.9",
                                            "rfc2449/6.10", "rfc2449/8.1.2", "security/x"});
    CHECK(groups[0].families[0].cases == std::vector<std::string>{"rfc1939/4/c", "rfc1939/4/f"});
}

TEST_CASE("matrix: the Markdown tables") {
    const auto md = markdown(three_runs());
    CHECK(has(md, "**Servers** (5 cases):\n\n| case family | cases | A | server-b |\n"
                  "|---|---:|---|---|\n"));
    CHECK(has(md, "| **all** | 5 | 1 / **1** / 1 +1 error | 4 / 0 / 0 |\n"));
    CHECK(has(md, "| `rfc1939/3` | 2 | 1 / **1** / 0 | 2 / 0 / 0 |\n"));
    CHECK(has(md, "| `rfc1939/7` | 1 | 0 / 0 / 1 |  |\n"));
    CHECK(has(md, "| `security/quit` | 1 | 0 / 0 / 0 +1 error | 1 / 0 / 0 |\n"));
    CHECK(has(md, "| `rfc2449/6.6` | 1 |  | 1 / 0 / 0 |\n"));
    CHECK(has(md, "**Clients** (4 cases):\n\n| case family | cases | curl |\n"));
    CHECK(has(md, "| `client/rfc2595/4` | 2 | 1 / **1** / 0 |\n"));
    CHECK(has(md, "| `client/basics` | 2 | 1 / 0 / 0 +1 skipped |\n"));
    // A name that would break the table is escaped.
    auto runs = three_runs();
    runs[0].name = "a|b*";
    CHECK(has(markdown(runs), "| a\\|b\\* |"));
}

TEST_CASE("matrix: the HTML page") {
    const auto runs = three_runs();
    const auto page = html(runs, fixtures);
    CHECK(has(page, "<title>m &lt;1&gt;</title>"));
    CHECK(has(page, "Content-Security-Policy"));
    CHECK_FALSE(has(page, "http://"));
    CHECK_FALSE(has(page, "https://"));
    // A family row per family, a case row per case, per direction.
    std::size_t fam = 0, cs = 0;
    for (auto at = page.find("<tr class=\"fam\""); at != std::string::npos;
         at = page.find("<tr class=\"fam\"", at + 1))
        ++fam;
    for (auto at = page.find("<tr class=\"cs\""); at != std::string::npos;
         at = page.find("<tr class=\"cs\"", at + 1))
        ++cs;
    CHECK(fam == 6);
    CHECK(cs == 9);
    // The cells: counts per outcome, the worst outcome's colour.
    CHECK(has(page, "<td class=\"c o-failed\" title=\"A, rfc1939/3: 1 passed, 1 failed\">"));
    CHECK(has(page, "<td class=\"c o-na\" title=\"A, rfc1939/7: 1 n/a\">"));
    CHECK(has(page, "<td class=\"c o-non-strict\" title=\"curl, client/rfc2595/4: 1 passed, 1 "
                    "non-strict\">"));
    // A case's cell: its outcome, its reason escaped as tooltip, linked to the run's report
    // (relative to the page's folder) at the case's anchor.
    CHECK(has(page, "title=\"A: failed: got &lt;b&gt;&quot;x&quot; &amp; \\x1b[31m\">"
                    "<a href=\"server-a.html#c2\">FAIL</a>"));
    CHECK(has(page, "<a href=\"server-a.html\">A</a>"));
    CHECK(has(page, "title=\"server-b: passed: \xc3\xa9t\xc3\xa9 \\xff\">pass</td>"));
    // The page's folder elsewhere: the link goes there.
    CHECK(has(html(runs, fixtures / "sub"), "<a href=\"../server-a.html#c2\">FAIL</a>"));
    // Blank cells for the cases a run does not have: rfc1939/7/UTF8/lang in server-b.
    CHECK(has(page, "<code>rfc1939/7/UTF8/lang</code></th><td></td><td class=\"o-na\""));
    CHECK(has(page, "<a href=\"server-a.html#c3\">n/a</a></td><td></td></tr>"));
}

TEST_CASE("matrix: bad input names the file and the reason") {
    CHECK(error_of(fixtures / "nowhere.json") ==
          (fixtures / "nowhere.json").string() + ": cannot read: No such file or directory");
    CHECK(error_of(fixtures) == fixtures.string() + ": is a folder");
    CHECK(has(error_of(fixtures / "not-json.json"), "not-json.json: not JSON: "));
    CHECK(error_of(fixtures / "not-ours.json") ==
          (fixtures / "not-ours.json").string() +
              ": not a pop3-conformance JSON: the file has no \"title\"");
    CHECK(error_of(fixtures / "bad-result.json") ==
          (fixtures / "bad-result.json").string() +
              ": case a/b/c: unknown result 'broken' (passed, failed, skipped or error)");
    CHECK_THROWS_AS(parse_matrix_run("[]", "x.json"), matrix_input_error);
    CHECK_THROWS_AS(parse_matrix_run("{\"title\": \"t\", \"passed\": 0, \"failed\": 0, "
                                     "\"cases\": [{\"id\": \"a\", \"result\": \"passed\"}, "
                                     "{\"id\": \"a\", \"result\": \"passed\"}]}",
                                     "x.json"),
                    matrix_input_error);
    CHECK_NOTHROW(parse_matrix_run("{\"title\": \"t\", \"passed\": 0, \"failed\": 0, "
                                   "\"cases\": []}",
                                   "x.json"));
}

TEST_CASE("matrix: pop3-conformance matrix as a process") {
    const pop3::test::temp_dir scratch;
    const auto& out = scratch.path;
    const auto a = (fixtures / "server-a.json").string();
    const auto b = (fixtures / "server-b.json").string();
    const auto c = (fixtures / "client-c.json").string();
    auto r = pop3::test::run_program(
        POP3_CONFORMANCE_BIN, {"matrix", "Dovecot plain=" + a, b, "curl=" + c, "--html",
                               (out / "m.html").string(), "--markdown", (out / "m.md").string()});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(has(scratch.read("m.md"), "| case family | cases | Dovecot plain | server-b |\n"));
    CHECK(fs::file_size(out / "m.html") > 1000);
    // Without an output option: the Markdown on stdout.
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"matrix", b});
    CHECK(r.status == 0);
    CHECK(has(r.out, "| `rfc2449/6.6` | 1 | 1 / 0 / 0 |\n"));
    // One name twice: the second column is told apart.
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"matrix", "x=" + a, "x=" + b});
    CHECK(has(r.out, "| case family | cases | x | x (2) |\n"));
    // Bad input: exit 2, the file and the reason.
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN,
                                {"matrix", a, (fixtures / "not-ours.json").string()});
    CHECK(r.status == 2);
    CHECK(r.err == "pop3-conformance: " + (fixtures / "not-ours.json").string() +
                       ": not a pop3-conformance JSON: the file has no \"title\"\n");
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"matrix", (out / "none.json").string()});
    CHECK(r.status == 2);
    CHECK(has(r.err, "none.json: cannot read: No such file or directory"));
    // Wrong usage: exit 2 and the usage.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"matrix"}, {"matrix", a, "--html"}, {"matrix", a, "--bogus"}}) {
        r = pop3::test::run_program(POP3_CONFORMANCE_BIN, args);
        CHECK(r.status == 2);
        CHECK(has(r.err, "usage: pop3-conformance matrix"));
    }
    // --help documents it.
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"matrix", "--help"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "pop3-conformance matrix [NAME=]RESULTS.json..."));
    // An output that cannot be written: exit 1.
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"matrix", a, "--html", "/dev/full"});
    CHECK(r.status == 1);
}
