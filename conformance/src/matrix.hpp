// The ecosystem matrix (pop3-conformance matrix): several runs' JSON results (--json, either
// direction) read back and set side by side, implementations × case families, as one HTML page
// (the families' cases open on a click, each linked to its run's HTML report) and as Markdown
// tables (docs/interop.md's summary).
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {

// A file that cannot be read or is not a pop3-conformance JSON: what() is "FILE: reason".
struct matrix_input_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One case of a run, as its JSON holds it.
struct matrix_case {
    std::string id, title, rfc, level;
    std::string result;  // the verdict: passed, failed, skipped or error
    std::string outcome; // the finer outcome (n/a, non-strict, info, ...), else the verdict
    std::string reason;
    std::size_t index = 0; // 1-based position in the run: the run's HTML report has #c<index>
};

// One run: a column of the matrix.
struct matrix_run {
    std::string name;  // the column's name
    std::string title; // the JSON's "title" (the command and target)
    std::filesystem::path json;
    std::optional<std::filesystem::path> html; // the run's HTML report next to the JSON
    bool client = false;                       // the client direction (client/... cases)
    std::vector<matrix_case> cases;
    std::map<std::string, std::size_t, std::less<>> by_id; // id -> position in `cases`
};

// Reads a run from the JSON text pop3-conformance --json wrote (`source`: the file it came
// from, named in errors and used to find the run's HTML report: the same name, ".html").
// `name`: the column's name; empty: the file's stem (the JSON's title names a command and an
// address, rarely a name). Throws matrix_input_error.
matrix_run parse_matrix_run(std::string_view json_text, const std::filesystem::path& source,
                            std::string name = {});
// The same from the file; an unreadable file throws matrix_input_error too.
matrix_run read_matrix_run(const std::filesystem::path& file, std::string name = {});

// A case's family, the row it counts in: the id's first two components after an optional
// "client/", without the case's own last component: "rfc1939/7" of "rfc1939/7/args/missing/USER",
// "security/message-number" of "security/message-number/4294967297/LIST", "client/rfc2595/4" of
// "client/rfc2595/4/stls-first", "client/basics" of "client/basics/fetch-new".
std::string case_family(std::string_view id);

// What one cell holds: the cases of a family (or of all) in one run, counted.
struct matrix_counts {
    std::size_t passed = 0, failed = 0, skipped = 0, not_applicable = 0, errors = 0;
    std::map<std::string, std::size_t> by_outcome;
    void add(const matrix_case& c);
    std::size_t total() const { return passed + failed + skipped + errors; }
    // The worst outcome counted (failed, error, non-strict, inconclusive, skipped, info, n/a,
    // passed, in that order); empty when nothing was counted.
    std::string worst() const;
};

// How bad an outcome is, 0 the worst (failed); an unknown outcome ranks as its verdict.
int outcome_rank(std::string_view outcome, std::string_view verdict = {});

// The runs of one direction (in the order given) and their families, in natural order
// (rfc1939/4 before rfc1939/10), each family's cases in the order they first appear.
struct matrix_group {
    bool client = false;
    std::vector<const matrix_run*> runs;
    struct family {
        std::string name;
        std::vector<std::string> cases; // ids, in first-appearance order
    };
    std::vector<family> families;
    std::size_t cases = 0; // distinct case ids
};

// The server runs' group first, then the client runs' (a group only when it has runs).
std::vector<matrix_group> group_runs(const std::vector<matrix_run>& runs);

// The counts of one family in one run; nullopt when the run has none of its cases (a blank
// cell: a case a run does not have is not a failure).
std::optional<matrix_counts> family_counts(const matrix_run& run,
                                           const matrix_group::family& family);

// One self-contained page (the same policy and escaping as the run report): per direction a
// table with a column per run and a row per family, each cell the counts per outcome, coloured
// by the worst; a click on a family shows its cases (readable without JS: then every case row
// is shown), each cell the case's outcome with its reason as tooltip, linked to the case in the
// run's HTML report when there is one (relative to `page_dir`, the page's own folder).
void write_matrix_html(std::ostream& out, const std::string& title,
                       const std::vector<matrix_run>& runs, const std::filesystem::path& page_dir);

// A Markdown table per direction: a row per family (and "all"), a column per run, each cell
// "passed / failed / n/a" (failed in bold when not 0; other skips and errors added as
// "+N skipped", "+N error"); blank where the run has none of the family's cases.
void write_matrix_markdown(std::ostream& out, const std::vector<matrix_run>& runs);

} // namespace pop3::conformance
