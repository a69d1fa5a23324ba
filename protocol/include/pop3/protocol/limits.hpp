// pop3::limits — every size bound the protocol core enforces, named, with its RFC default.
#pragma once

#include <cstddef>

namespace pop3 {

struct limits {
    // RFC 2449 §4: a status line (initial reply line) is at most 512 octets including CRLF.
    std::size_t max_reply_line = 512;
    // RFC 2449 §4: a command line is at most 255 octets including CRLF.
    std::size_t max_command_line = 255;
    // (RFC 1939's 40-character argument limit is lifted by RFC 2449 §4: arguments are bounded
    // only by max_command_line.)
    // Lines inside multi-line bodies. RFC 5322 says 998 characters, but real mail has far
    // longer lines (base64 without wrapping, HTML on one line), so the default is generous.
    std::size_t max_body_line = 1024 * 1024;
    // Lines of a SASL exchange after the AUTH command. RFC 5034 §4 sets no number; this is
    // the 12288 octets that RFC 4954 (SMTP AUTH) chose.
    std::size_t max_sasl_line = 12288;
    // RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
    std::size_t max_uid_length = 70;
    // The body of a listing (LIST, UIDL, LANG, CAPA, AUTH without arguments; see
    // carries_listing()) kept in memory. No RFC number: a UIDL line is at most about 93 octets
    // (a 20-digit number, a 70-octet UID), so 64 MiB holds over 700,000 of them. Message bodies
    // (RETR, TOP) are not listings and have their own bound.
    std::size_t max_listing_octets = std::size_t{64} << 20;
};

} // namespace pop3
