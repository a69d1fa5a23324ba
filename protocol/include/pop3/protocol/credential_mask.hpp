// Which client lines carry secrets, for anything that shows a dialogue to people (the mock
// server's recordings and log, the conformance runner's evidence): PASS and APOP secrets, AUTH
// initial responses and every client line of a SASL exchange become "****". Sans-I/O: it
// follows the dialogue line by line, told each client line and each server line in order.
#pragma once

#include <string>
#include <string_view>

namespace pop3 {

class credential_mask {
public:
    // `enabled = false` shows every line as it is (and still follows the dialogue).
    explicit credential_mask(bool enabled = true) noexcept : enabled_(enabled) {}

    // The client line (without CRLF) as it may be shown.
    std::string client_line(std::string_view line);
    // A server line: a status line ends a SASL exchange.
    void server_line(std::string_view line) noexcept;

private:
    bool enabled_;
    bool in_sasl_ = false;
};

} // namespace pop3
