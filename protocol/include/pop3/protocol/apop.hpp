// APOP (RFC 1939 section 7): finding the greeting's timestamp and computing the digest.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pop3 {

// Returns the APOP timestamp in a greeting line given WITHOUT its CRLF, as a view into it,
// angle brackets included; nullopt if there is none. The rule is Python poplib's
// re.match(r'\+OK.[^<]*(<.*>)') evaluated in linear time:
//   - the line starts with "+OK" (case-sensitive) followed by at least one octet that is not LF;
//   - the timestamp runs from the first '<' at index 4 or later to the LAST '>' after it,
//     so "+OK <a> <b>" yields "<a> <b>" (the scan stops at an LF, as '.' would);
//   - a first '<' with no '>' after it means no timestamp (a later "<...>" is not tried).
// It does not check the timestamp's syntax: see is_well_formed_timestamp.
std::optional<std::string_view> apop_timestamp(std::string_view greeting_line) noexcept;

// True if `ts` is '<', one or more of [A-Za-z0-9.@_+/-] including at least one '@', then '>'.
// A server should generate only such timestamps (a msg-id, RFC 1939 section 7).
bool is_well_formed_timestamp(std::string_view ts) noexcept;

// The APOP digest: lowercase hex MD5 of timestamp (brackets included) followed by the secret.
// Throws std::runtime_error if libcrypto offers no MD5 (see digest.hpp).
std::string apop_digest(std::string_view timestamp, std::string_view secret);

} // namespace pop3
