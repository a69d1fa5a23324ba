// Internal to the client library: what the synchronous and the asynchronous client read out of
// a reply's text the same way (poplib's line split, "+OK n octets", escaped server text).
#pragma once

#include "pop3/client/client.hpp"

#include <cstdint>
#include <optional>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/text.hpp>
#include <string>
#include <string_view>

namespace pop3::detail {

inline multiline split_lines(std::string response, std::string_view content, std::uint64_t octets) {
    multiline m{std::move(response), {}, octets};
    while (!content.empty()) {
        const auto eol = content.find('\n');
        auto line = content.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        m.lines.emplace_back(line);
        content.remove_prefix(eol == std::string_view::npos ? content.size() : eol + 1);
    }
    return m;
}

// What "+OK n octets" says: no count ("+OK message follows"), a count, or a count that is no
// number of octets ("+OK -5 octets", "+OK 18446744073709551616 octets").
struct octet_announcement {
    bool present = false; // the text has the form "TOKEN octets ..."
    std::optional<std::uint64_t> count;
};
inline octet_announcement announced(std::string_view text) {
    std::string_view rest = text;
    const auto token = next_token(rest);
    if (!iequals(next_token(rest), "octets")) return {};
    return {true, parse_decimal(token)};
}
// The announced size for buffer sizing and progress; 0 when unknown or malformed.
inline std::uint64_t announced_octets(std::string_view text) {
    return announced(text).count.value_or(0);
}

// Server text (a status line, a listing line) as it may appear in a message or in debug
// output: control and non-ASCII octets escaped, never written to a terminal raw.
inline std::string shown(std::string_view server_text) {
    return escape_for_display(server_text, std::string::npos);
}

// RETR's "+OK n octets" against what came: "" when they agree (or nothing was announced),
// otherwise the sentence for octet_count_mismatch. A count that is no number cannot agree.
inline std::string octet_count_problem(std::string_view text, std::uint64_t received) {
    const auto a = announced(text);
    if (!a.present) return {};
    if (!a.count)
        return "RETR: the server announced a malformed octet count: '" + shown(text) + "'";
    if (*a.count != received)
        return "RETR: the server announced " + std::to_string(*a.count) + " octets and sent " +
               std::to_string(received);
    return {};
}

} // namespace pop3::detail
