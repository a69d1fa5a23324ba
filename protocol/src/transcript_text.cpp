#include "pop3/protocol/transcript_text.hpp"

namespace pop3 {
namespace {

int hex_value(char h) noexcept {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
}

} // namespace

std::string transcript_escape(std::string_view bytes, bool pattern) {
    std::string out;
    out.reserve(bytes.size());
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '*': out += pattern ? "\\*" : "*"; break;
        case '{': out += "\\{"; break;
        case '}': out += "\\}"; break;
        case '|': out += pattern ? "\\|" : "|"; break;
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\0': out += "\\0"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                static constexpr char hex[] = "0123456789ABCDEF";
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    return out;
}

transcript_escape_result transcript_unescape_at(std::string_view text, std::size_t at) noexcept {
    using enum transcript_escape_status;
    if (at + 1 >= text.size()) return {at_end, '\\', 1};
    const char e = text[at + 1];
    switch (e) {
    case 'r': return {ok, '\r', 2};
    case 'n': return {ok, '\n', 2};
    case '0': return {ok, '\0', 2};
    case 't': return {ok, '\t', 2};
    case 'x': {
        const int hi = at + 2 < text.size() ? hex_value(text[at + 2]) : -1;
        const int lo = at + 3 < text.size() ? hex_value(text[at + 3]) : -1;
        if (hi < 0 || lo < 0) return {bad_hex, 'x', 2};
        return {ok, static_cast<char>(hi * 16 + lo), 4};
    }
    default:
        if (transcript_escape_letters.find(e) != std::string_view::npos) return {ok, e, 2};
        return {unknown, e, 2};
    }
}

std::string transcript_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '\\') {
            out += text[i++];
            continue;
        }
        const auto e = transcript_unescape_at(text, i);
        out += e.byte;
        i += e.length;
    }
    return out;
}

} // namespace pop3
