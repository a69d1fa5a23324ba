// Reports of a conformance run: h2spec-style console output, JUnit XML and JSON.
#pragma once

#include "pop3/conformance/runner.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pop3::conformance {

// Grouped by RFC section, ✔ / ✘ / ! (error: not judged) / - (skipped), expected and actual
// under each failure and error, the skipped MUST cases with their reasons, and the final line
// "N passed, N failed, N skipped" with ", N errors" appended when there are any.
void write_console(std::ostream& out, const std::string& title,
                   const std::vector<case_result>& results, bool color);
void write_junit(std::ostream& out, const std::string& title,
                 const std::vector<case_result>& results);
void write_json(std::ostream& out, const std::string& title,
                const std::vector<case_result>& results);

} // namespace pop3::conformance
