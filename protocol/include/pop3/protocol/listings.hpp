// Typed reply values: the STAT reply, LIST and UIDL listings (single-line and multi-line), and
// the CAPA capability list.
#pragma once

#include "pop3/protocol/error.hpp"
#include "pop3/protocol/limits.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace pop3 {

// "+OK nn mm": the text after "+OK ", i.e. status_line::full_text. RFC 1939 §5 puts no
// requirement on what follows the size, so anything after a further space is ignored.
struct stat_reply {
    std::uint64_t count = 0;
    std::uint64_t octets = 0;
};
stat_reply parse_stat(std::string_view text, std::error_code& ec, diagnostics* diag = nullptr);

// A scan listing "msg octets" — a line of a multi-line LIST, or the text of "+OK msg octets".
struct scan_entry {
    std::uint64_t message = 0;
    std::uint64_t octets = 0;
};
scan_entry parse_scan_listing(std::string_view line, std::error_code& ec,
                              diagnostics* diag = nullptr);

// A unique-id listing "msg uid" (RFC 1939 §7): uid is 1..limits::max_uid_length octets in
// 0x21..0x7E. Nothing may follow the uid.
struct uid_entry {
    std::uint64_t message = 0;
    std::string_view uid;
};
uid_entry parse_uid_listing(std::string_view line, std::error_code& ec, const limits& lim = {},
                            diagnostics* diag = nullptr);

// True when `uid` is a valid unique-id (length and character range).
bool is_valid_uid(std::string_view uid, const limits& lim = {}) noexcept;

// CAPA (RFC 2449 §5): an ordered map of capability keyword -> arguments, the shape of
// poplib's capa(). Keywords compare case-insensitively; a repeated keyword replaces the
// arguments of the first in place.
class capabilities {
public:
    using entry = std::pair<std::string, std::vector<std::string>>;

    // Adds one CAPA body line: keyword, then space-separated arguments. Refuses an empty line,
    // a line starting with a space and a keyword with characters outside 0x21..0x7E.
    void add_line(std::string_view line, std::error_code& ec, diagnostics* diag = nullptr);

    bool has(std::string_view keyword) const noexcept { return find(keyword) != nullptr; }
    // Arguments of `keyword`, or nullptr when not advertised.
    const std::vector<std::string>* find(std::string_view keyword) const noexcept;
    // Whether `keyword` lists `argument` (case-insensitive): has_argument("SASL", "PLAIN").
    bool has_argument(std::string_view keyword, std::string_view argument) const noexcept;

    const std::vector<entry>& entries() const noexcept { return entries_; }
    bool empty() const noexcept { return entries_.empty(); }
    void clear() noexcept { entries_.clear(); }

private:
    std::vector<entry> entries_;
};

} // namespace pop3
