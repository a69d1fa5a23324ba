// SASL for POP3 AUTH (RFC 5034): mechanism names, client encoders and server decoders of the
// raw (already base64-decoded) messages, and the AUTH line rules ('*' cancels, '=' is empty).
#pragma once

#include "pop3/protocol/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

enum class sasl_mechanism { plain, login, cram_md5, xoauth2, oauthbearer, scram_sha_256 };

// The registered name: "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256".
std::string_view sasl_mechanism_name(sasl_mechanism m) noexcept;
// Case-insensitive exact match of a registered name; nullopt for anything else.
std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name) noexcept;

// ---- AUTH exchange lines (RFC 5034 section 4) ----

// An initial response (the AUTH argument) may be "=" for an empty response; a continuation
// line may not ("=" is not base64 there, an empty line is).
enum class sasl_response_kind { continuation, initial };

// Decodes one client line (without CRLF) into `out`: "*" fails with error::sasl_cancelled,
// "=" as an initial response yields empty, anything else is strict base64 (error::bad_base64).
bool decode_client_response(std::string_view line, std::string& out, std::error_code& ec,
                            sasl_response_kind kind = sasl_response_kind::continuation);

// ---- Client encoders ----
// They refuse, with error::bad_sasl_message and an empty result, arguments that would make a
// message the peer cannot parse back (a NUL in PLAIN, a ^A in XOAUTH2, a bad bearer token...).
// A bearer token must be an RFC 6750 b64token: 1*( ALPHA / DIGIT / "-._~+/" ) *"=".

// PLAIN (RFC 4616): authzid NUL authcid NUL passwd. authcid and passwd must be non-empty; no
// field may contain NUL.
std::string sasl_encode_plain(std::string_view authcid, std::string_view passwd,
                              std::string_view authzid, std::error_code& ec);

// LOGIN (draft-murchison-sasl-login): the server prompts twice, the client answers with the
// bare username then the bare password, each base64-encoded on its own line.
inline constexpr std::string_view sasl_login_username_prompt = "Username:";
inline constexpr std::string_view sasl_login_password_prompt = "Password:";
struct sasl_login_responses {
    std::string username; // answer to the first challenge
    std::string password; // answer to the second challenge
};
sasl_login_responses sasl_encode_login(std::string_view user, std::string_view password);

// CRAM-MD5 (RFC 2195): user SP lowercase-hex HMAC-MD5(key = password, data = challenge), where
// `challenge` is the decoded server challenge. `user` must be non-empty.
std::string sasl_encode_cram_md5(std::string_view user, std::string_view password,
                                 std::string_view challenge, std::error_code& ec);

// XOAUTH2 (Google): "user=" user ^A "auth=Bearer " token ^A ^A. `user` must be non-empty
// printable ASCII (RFC 7628 value characters).
std::string sasl_encode_xoauth2(std::string_view user, std::string_view token, std::error_code& ec);

// OAUTHBEARER (RFC 7628): "n," ["a=" saslname(user)] "," ^A ["host=" host ^A]
// ["port=" port ^A] "auth=Bearer " token ^A ^A. ',' and '=' in `user` are escaped as =2C and
// =3D; an empty `user` or `host` is omitted; `user` must not contain NUL.
std::string sasl_encode_oauthbearer(std::string_view user, std::string_view token,
                                    std::string_view host, std::optional<std::uint16_t> port,
                                    std::error_code& ec);

// ---- Server decoders ----
// On malformed input they set error::bad_sasl_message and `diag.message` (which names the
// rule broken and where) and return a default value. `diag.offending` is left empty: these
// messages carry passwords and tokens, which must not reach logs. Views point into `message`.

struct sasl_plain_message {
    std::string_view authzid; // empty if the client did not ask to act as someone else
    std::string_view authcid;
    std::string_view passwd;
};
// Exactly two NULs, non-empty authcid and passwd.
sasl_plain_message sasl_decode_plain(std::string_view message, std::error_code& ec,
                                     diagnostics& diag);

struct sasl_cram_md5_response {
    std::string_view user;
    std::string_view digest; // 32 lowercase hex digits
};
// user SP 32 lowercase hex digits. The digest is the final 33 octets, so `user` (non-empty)
// may itself contain spaces.
sasl_cram_md5_response sasl_decode_cram_md5(std::string_view message, std::error_code& ec,
                                            diagnostics& diag);
// True if `response` is what `password` yields for `challenge`; compares in constant time.
bool sasl_verify_cram_md5(const sasl_cram_md5_response& response, std::string_view challenge,
                          std::string_view password);

struct sasl_xoauth2_message {
    std::string_view user;
    std::string_view token; // the bearer token, without "Bearer "
};
// ^A-terminated key=value pairs then a final ^A; "user" (non-empty) and "auth" ("Bearer"
// case-insensitively, 1*SP, b64token) are required, each at most once; other keys are ignored.
sasl_xoauth2_message sasl_decode_xoauth2(std::string_view message, std::error_code& ec,
                                         diagnostics& diag);

struct sasl_oauthbearer_message {
    char cbind_flag = 'n'; // gs2-cbind-flag: 'n', or 'y' (client could bind, thinks we can't)
    std::string authzid;   // unescaped from a=, hence owned; empty if absent
    std::string_view host; // empty if absent
    std::optional<std::uint16_t> port;
    std::string_view token; // the bearer token, without "Bearer "
};
// gs2-header ("n" or "y", optional "a=" saslname; "p=" channel binding is refused), ^A, then
// ^A-terminated key=value pairs (key 1*ALPHA, value RFC 7628 characters, no repeats), then ^A.
// "auth" is required; "host" and "port" (1*DIGIT, at most 65535) are returned; others ignored.
sasl_oauthbearer_message sasl_decode_oauthbearer(std::string_view message, std::error_code& ec,
                                                 diagnostics& diag);

// saslname escaping (RFC 5801 §4, RFC 5802 §5.1), for GS2 authzids and SCRAM user names:
// ',' -> "=2C", '=' -> "=3D". unescape is false for a malformed escape or a bare ','.
std::string sasl_escape_name(std::string_view name);
bool sasl_unescape_name(std::string_view in, std::string& out);

} // namespace pop3
