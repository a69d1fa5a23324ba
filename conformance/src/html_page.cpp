// What the HTML pages share (html_page.hpp): escaping, the base style, the page's head.
#include "html_page.hpp"

#include <cstdint>
#include <cstdio>
#include <ostream>

namespace pop3::conformance {
namespace {

void hex_escape(std::string& out, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
}

// Code points that are valid but not shown as themselves: C1 controls, the bidirectional
// controls (they would reorder what the page shows: the Arabic letter mark, LRM/RLM, the
// embeddings and overrides, the isolates) and the byte-order mark.
bool invisible(std::uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

// The length of the valid UTF-8 sequence at s[i] (its code point in `cp`), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto c0 = b(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c0 >= 0xc2 && c0 <= 0xdf) {
        n = 2;
        cp = c0 & 0x1f;
    } else if (c0 >= 0xe0 && c0 <= 0xef) {
        n = 3;
        cp = c0 & 0x0f;
        if (c0 == 0xe0) lo = 0xa0; // no overlong form
        if (c0 == 0xed) hi = 0x9f; // no surrogate
    } else if (c0 >= 0xf0 && c0 <= 0xf4) {
        n = 4;
        cp = c0 & 0x07;
        if (c0 == 0xf0) lo = 0x90;
        if (c0 == 0xf4) hi = 0x8f; // up to U+10FFFF
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = b(k);
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) return 0;
        cp = (cp << 6) | (c & 0x3f);
    }
    return n;
}

} // namespace

std::string html_text(std::string_view s, bool lines) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::uint32_t cp = 0;
            const auto n = utf8_sequence(s, i, cp);
            if (n == 0) {
                hex_escape(out, c);
                ++i;
            } else if (invisible(cp)) {
                char buf[16];
                std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
                out += buf;
                i += n;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        ++i;
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        case '\n':
            if (lines)
                out += '\n';
            else
                out += "\\n";
            break;
        default:
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                hex_escape(out, c);
            else
                out += static_cast<char>(c);
        }
    }
    return out;
}

const char* const html_base_style = R"(
:root{--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--err:#9a6700;--bg:#fff;--fg:#1f2328;
--mute:#59636e;--line:#d0d7de;--tls:#0969da;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1400px;
padding:16px 24px;color:var(--fg);background:var(--bg)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}
code,pre,.wire{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
.mute{color:var(--mute)}
[hidden]{display:none!important}
.b{display:inline-block;min-width:5.6em;text-align:center;border-radius:10px;padding:0 6px;
color:#fff;font-size:12px;font-weight:600}
.b.passed{background:var(--pass)}.b.failed{background:var(--fail)}
.b.skipped{background:var(--skip)}.b.error{background:var(--err)}
.tot .b{font-size:13px;padding:2px 10px;margin-right:6px}
.grids{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table.n{border-collapse:collapse}
table.n caption{text-align:left;font-weight:600;padding-bottom:4px}
table.n th,table.n td{border:1px solid var(--line);padding:2px 10px;text-align:right}
table.n th:first-child{text-align:left}table.n thead th{background:var(--soft)}
table.n a{color:inherit}
td.z{color:var(--line)}
)";

void write_html_head(std::ostream& out, std::string_view title, std::string_view style) {
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<link rel=\"icon\" href=\"data:,\">\n<title>"
        << html_text(title) << "</title>\n<style>" << html_base_style << style
        << "</style>\n</head>\n<body>\n";
}

} // namespace pop3::conformance
