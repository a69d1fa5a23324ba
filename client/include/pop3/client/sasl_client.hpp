// The client side of one AUTH exchange (RFC 5034), one stepper per mechanism over the protocol
// core's encoders (sasl.hpp, scram.hpp): what the AUTH line carries, how each server challenge
// is answered, and whether a +OK may be trusted. No I/O; SCRAM's nonce comes from the caller.
// The synchronous and the asynchronous client both run their AUTH exchanges through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <pop3/protocol/sasl.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pop3 {

// What to send after a "+ " continuation, or why not.
struct sasl_answer {
    std::string line;   // the response, base64, without CRLF (empty is a valid answer)
    std::error_code ec; // set: send nothing of `line`
    std::string what;   // a sentence for ec
    // With ec: true when the exchange is to be cancelled with "*" (the connection stays in
    // step); false when the connection is out of step.
    bool cancel = true;
};

class sasl_client {
public:
    virtual ~sasl_client() = default;

    // The stepper for `mechanism`. `secret` is the password, or the OAuth token for XOAUTH2 and
    // OAUTHBEARER; `host` and `port` go into OAUTHBEARER's message; `scram_nonce` is SCRAM's
    // client nonce (see random_nonce()), unused by the other mechanisms.
    static std::unique_ptr<sasl_client> make(sasl_mechanism mechanism, std::string_view user,
                                             std::string_view secret, std::string_view host,
                                             std::uint16_t port, std::string_view scram_nonce);
    // 24 octets from OpenSSL's generator, base64: a SCRAM nonce. Empty when there is no
    // randomness (then AUTH SCRAM-SHA-256 must not start).
    static std::string random_nonce();

    sasl_mechanism mechanism() const noexcept { return mechanism_; }

    // The AUTH command's arguments: the mechanism's name, then the initial response (base64, "="
    // for an empty one) when the AUTH line stays within `max_command_line` octets (RFC 5034 §4);
    // otherwise it is sent after the first, empty, challenge. ec and `what` when the credentials
    // cannot be encoded.
    std::vector<std::string> auth_arguments(std::size_t max_command_line, std::error_code& ec,
                                            std::string& what);
    // The answer to the continuation "+ <challenge>" (`challenge` as received, base64), held to
    // `max_sasl_line` octets with its CRLF.
    sasl_answer answer(std::string_view challenge, std::size_t max_sasl_line);
    // After the server's +OK: an error when the success cannot be trusted (SCRAM without the
    // server's proof), with `what`.
    std::error_code accept_success(std::string& what) const;

protected:
    explicit sasl_client(sasl_mechanism m) : mechanism_(m) {}
    // The initial response (raw octets), nullopt when the mechanism has none.
    virtual std::optional<std::string> initial(std::error_code& ec) = 0;
    // The raw answer to the decoded challenge of round `round` (1, 2, ...). `initial_sent`: the
    // initial response went with the AUTH line.
    virtual std::string respond(std::string_view challenge, int round, bool initial_sent,
                                std::error_code& ec, std::string& what) = 0;
    // After +OK: false (with `what`) when the server has not proved itself.
    virtual bool trusted(std::string& what) const {
        (void)what;
        return true;
    }

private:
    sasl_mechanism mechanism_;
    std::optional<std::string> initial_;
    bool initial_sent_ = false;
    int round_ = 0;
};

} // namespace pop3
