// A string as a JSON string literal, quotes included: what the reports write and what the HTML
// report's filters carry in their attributes.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace pop3::conformance {

inline std::string json_escape(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

} // namespace pop3::conformance
