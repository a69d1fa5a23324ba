// SCRAM-SHA-256 (RFC 5802, RFC 7677) for POP3 AUTH, both sides, sans-I/O: the messages are
// built and checked here; nonces come from the caller, which owns randomness.
#pragma once

#include "pop3/protocol/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

// Iteration counts above this are refused: a server could otherwise make a client spend
// unbounded time in PBKDF2. RFC 7677 §4 asks for at least 4096.
inline constexpr std::uint32_t scram_max_iterations = 1'000'000;

class scram_client {
public:
    // `nonce`: printable, no ','; at least 18 random octets' worth (RFC 5802 §5.1).
    scram_client(std::string_view user, std::string_view password, std::string_view nonce);

    // "n,,n=user,r=nonce"
    const std::string& client_first() const noexcept { return client_first_; }
    // Checks the server-first message (nonce prefix, salt, iteration count within `max_iter`)
    // and returns client-final with the proof. bad_sasl_message on anything wrong.
    std::string client_final(std::string_view server_first, std::error_code& ec,
                             diagnostics* diag = nullptr,
                             std::uint32_t max_iterations = scram_max_iterations);
    // Checks "v=signature": true only when the server proved it knows the password.
    bool verify_server_final(std::string_view server_final, std::error_code& ec,
                             diagnostics* diag = nullptr) const;

private:
    std::string password_;
    std::string client_first_bare_;
    std::string client_first_;
    std::string nonce_;
    std::string server_signature_; // expected, raw
};

class scram_server {
public:
    // `server_nonce` is appended to the client's; salt (raw) and iterations are the user's.
    explicit scram_server(std::string_view server_nonce) : server_nonce_(server_nonce) {}

    // Parses client-first; the user it names is then in user(). bad_sasl_message when malformed
    // or when it asks for channel binding.
    void read_client_first(std::string_view client_first, std::error_code& ec,
                           diagnostics* diag = nullptr);
    const std::string& user() const noexcept { return user_; }
    // server-first for this user's salt and iteration count.
    std::string server_first(std::string_view salt, std::uint32_t iterations);
    // Verifies client-final against the password; returns server-final "v=..." when the proof
    // is right, sets bad_sasl_message otherwise.
    std::string server_final(std::string_view client_final, std::string_view password,
                             std::error_code& ec, diagnostics* diag = nullptr);

private:
    std::string server_nonce_;
    std::string gs2_header_; // "n,," or "n,a=user," as the client sent it
    std::string user_;
    std::string client_first_bare_;
    std::string server_first_;
    std::string nonce_;
    std::string salt_;
    std::uint32_t iterations_ = 0;
};

} // namespace pop3
