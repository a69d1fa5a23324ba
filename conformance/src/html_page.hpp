// What the HTML pages of pop3-conformance share (the run report, html_report.cpp; the matrix,
// matrix.cpp): the one text escaping of the pages, the colours and badges, and the page's head
// with the policy that forbids any request.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace pop3::conformance {

// Text for a page: HTML-escaped (quotes too, so it may stand in an attribute); control octets,
// DEL and octets that are not valid UTF-8 as \xHH; invisible code points (C1 controls,
// bidirectional controls, the byte-order mark) as \u{HHHH}. Line feeds stay when `lines`
// (inside <pre>), else they are shown as \n.
std::string html_text(std::string_view s, bool lines = false);

// The shared style rules: the colours (--pass, --fail, --skip, --err, ...), the page's fonts,
// the verdict badges (.b.passed, ...), and the count tables (table.n).
extern const char* const html_base_style;

// From <!DOCTYPE html> to <body>: UTF-8, a Content-Security-Policy that allows inline style
// and script only (no network, no external file), the title (escaped), and <style> holding
// html_base_style followed by `style`.
void write_html_head(std::ostream& out, std::string_view title, std::string_view style);

} // namespace pop3::conformance
