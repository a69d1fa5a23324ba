// Reports of a conformance run: h2spec-style console output, JUnit XML, JSON and one
// self-contained HTML page.
#pragma once

#include "pop3/conformance/runner.hpp"

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {

// "passed", "failed", "skipped" or "error": the verdict's name in JSON and baselines.
std::string_view to_string(verdict v) noexcept;

// Grouped by RFC section, ✔ / ✘ / ! (error: not judged) / - (skipped), expected and actual
// under each failure and error, the skipped MUST cases with their reasons, `before_counts`
// (text ending in a newline, e.g. the comparison with a baseline) after a blank line, and the
// final line "N passed, N failed, N skipped" with ", N errors" appended when there are any.
void write_console(std::ostream& out, const std::string& title,
                   const std::vector<case_result>& results, bool color,
                   std::string_view before_counts = {});
void write_junit(std::ostream& out, const std::string& title,
                 const std::vector<case_result>& results);
void write_json(std::ostream& out, const std::string& title,
                const std::vector<case_result>& results);

// One self-contained HTML page (inline CSS and JS; no network, no external asset, a CSP that
// forbids any): the counts per verdict, per RFC and per level; filters (verdict or outcome, RFC,
// level, text); and every case as a row that opens on its id, level, requirement (its title)
// with the RFC section, verdict and reason, expected beside actual, and its wire dialogue
// (case_result::dialogue, kept with run_options::keep_dialogue: who sent each line, the TLS
// state, the time, where expected and actual part), long runs of lines folded. Every text is
// HTML-escaped and its non-printable bytes shown as \xHH. Readable without JS (the filters need
// it). Without a kept dialogue a case shows its evidence text.
void write_html(std::ostream& out, const std::string& title,
                const std::vector<case_result>& results);

} // namespace pop3::conformance
