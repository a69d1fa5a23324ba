// Reports of a conformance run: h2spec-style console output, JUnit XML and JSON.
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

} // namespace pop3::conformance
