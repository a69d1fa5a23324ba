#include "pop3/protocol/apop.hpp"

#include "pop3/protocol/digest.hpp"

namespace pop3 {

std::optional<std::string_view> apop_timestamp(std::string_view line) noexcept {
    // "+OK" and the single octet matched by '.', which may itself be '<' and so is skipped.
    if (line.size() < 4 || line.substr(0, 3) != "+OK" || line[3] == '\n') return std::nullopt;
    const std::size_t open = line.find('<', 4);
    if (open == std::string_view::npos) return std::nullopt;
    // One forward pass remembering the last '>' keeps this linear even for a line of '<'.
    std::size_t close = std::string_view::npos;
    for (std::size_t i = open + 1; i < line.size() && line[i] != '\n'; ++i)
        if (line[i] == '>') close = i;
    if (close == std::string_view::npos) return std::nullopt;
    return line.substr(open, close - open + 1);
}

bool is_well_formed_timestamp(std::string_view ts) noexcept {
    if (ts.size() < 3 || ts.front() != '<' || ts.back() != '>') return false;
    bool at = false;
    for (const char c : ts.substr(1, ts.size() - 2)) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '@' || c == '_' || c == '+' ||
                        c == '/' || c == '-';
        if (!ok) return false;
        at = at || c == '@';
    }
    return at;
}

std::string apop_digest(std::string_view timestamp, std::string_view secret) {
    std::string input;
    input.reserve(timestamp.size() + secret.size());
    input.append(timestamp).append(secret);
    return md5_hex(input);
}

} // namespace pop3
