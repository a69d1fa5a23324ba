// Baselines of a conformance run (--expect, --update-expect): the expected verdict of each case
// in the format of interop/dovecot-expected.txt, read, compared with a run's results, reported
// and written. The format is documented in docs/transcripts.md.
#pragma once

#include "pop3/conformance/runner.hpp"

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {

// A malformed or unreadable baseline: "FILE:LINE: problem" (or "FILE: problem").
class baseline_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct baseline_entry {
    std::string id;
    verdict v = verdict::pass;
    std::size_t line = 0;
    std::string word; // as written: a verdict, or a client case's finer outcome ("n/a", ...)
};

struct baseline {
    std::string name;                    // "FILE" or "FILE [SECTION]", as reports name it
    std::vector<baseline_entry> entries; // in file order
};

// "passed", "failed", "skipped" or "error", or a client case's outcome ("non-strict", "info",
// "n/a", "inconclusive"), as its verdict; nullopt for anything else.
std::optional<verdict> parse_verdict(std::string_view word) noexcept;
// The word a result is written with: its outcome when it has one, else its verdict's.
std::string_view result_word(const case_result& r) noexcept;

// Lines of `ID VERDICT`; `#` comments and blank lines are ignored; `[NAME]` starts the section
// NAME. With `section` empty the file must have no section header; otherwise the entries of
// that section are returned, and a file without it is an error. Every line of the file is
// checked, whichever section is asked for: a bad line, a duplicate id within a section, a
// duplicate section or case lines before the first header of a file with sections throw
// baseline_error "FILE:LINE: problem".
baseline parse_baseline(std::string_view text, const std::string& file,
                        const std::string& section = {});
// The same, from a file (one that cannot be read throws baseline_error "FILE: problem").
baseline read_baseline(const std::filesystem::path& file, const std::string& section = {});

struct verdict_change {
    std::string id;
    std::optional<verdict> expected;     // nullopt: the case is not in the baseline
    std::optional<verdict> now;          // nullopt: the case is no longer in the suite
    std::string expected_word, now_word; // as written (outcomes are finer than verdicts)
    const case_result* result = nullptr; // this run's result, when the case ran
    std::size_t baseline_line = 0;       // of the baseline's entry, when there is one
};

struct baseline_comparison {
    std::vector<verdict_change> new_failures; // now failed; expected anything else, or absent
    std::vector<verdict_change> fixed;        // expected failed, now passed
    std::vector<verdict_change> changed;      // any other change of a verdict
    std::vector<verdict_change> added;        // not in the baseline, not failed now
    std::vector<verdict_change> vanished;     // in the baseline, not in the suite
    std::size_t matched = 0;                  // cases whose verdict is the expected one
    std::size_t not_run = 0; // baseline cases in the suite that this run did not select

    std::size_t differences() const noexcept {
        return new_failures.size() + fixed.size() + changed.size() + added.size() + vanished.size();
    }
};

// `suite`: the ids of every case this run could have run (its direction, before --only). A
// baseline case outside it is no longer in the suite; one inside it that did not run (--only)
// is not compared.
baseline_comparison compare_with_baseline(const baseline& expected,
                                          const std::vector<case_result>& results,
                                          const std::set<std::string>& suite);

// The differences, grouped (new failures, fixed, other changed verdicts, new cases, cases no
// longer in the suite), each case with its verdicts and this run's reason, then the line
// "baseline: matches NAME (N verdicts)" or "baseline: N differences from NAME".
void write_baseline_report(std::ostream& out, const baseline& expected,
                           const baseline_comparison& comparison);

// The results as a baseline: a comment header, `[section]` when `section` is not empty, and one
// `ID VERDICT` line per result in run order.
void write_baseline(std::ostream& out, const std::vector<case_result>& results,
                    std::string_view mode, const std::string& section = {});

} // namespace pop3::conformance
