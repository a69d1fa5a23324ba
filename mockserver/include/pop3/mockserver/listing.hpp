// The bodies of the mock server's multi-line listings — CAPA, AUTH and LANG without arguments,
// LIST and UIDL without arguments: one line each, dot-stuffed and ended by CRLF, then the
// terminating ".\r\n" (RFC 1939 §3). Also the octet counts those replies announce.
#pragma once

#include "pop3/mockserver/maildrop.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::mock {

// Builds one listing body a line at a time.
class listing_builder {
public:
    // Appends `text` and CRLF; a line that starts with '.' gets a stuffing dot first, so that
    // no line can end the listing early. `text` holds no CR or LF.
    listing_builder& line(std::string_view text);
    // The body with its terminator. The builder is empty afterwards.
    std::string finish();
    std::size_t lines() const noexcept { return lines_; }

private:
    std::string wire_;
    std::size_t lines_ = 0;
};

// A listing of whole lines: capability lines, mechanism names, languages.
std::string listing_body(std::span<const std::string> lines);
std::string listing_body(std::span<const std::string_view> lines);

// An octet count as announced, shifted by a scenario's octet_delta (bounded by the scenario
// parser, so the sum cannot overflow).
std::string announced_octets(std::uint64_t octets, std::int64_t delta);

// LIST without an argument (RFC 1939 §5): "n size" for each message not marked deleted, n
// counting from 1 over all of `messages`, each size shifted by `octet_delta`. `deleted` has
// one flag per message. `listed`, when given, receives the number of lines.
std::string scan_listing(std::span<const message_ptr> messages, const std::vector<bool>& deleted,
                         std::int64_t octet_delta = 0, std::size_t* listed = nullptr);
// UIDL without an argument (RFC 1939 §7): "n uid" for each message not marked deleted.
std::string uid_listing(std::span<const message_ptr> messages, const std::vector<bool>& deleted);

} // namespace pop3::mock
