// The mock server's side of an AUTH exchange (RFC 5034) for one mechanism: PLAIN, LOGIN,
// CRAM-MD5, XOAUTH2, OAUTHBEARER or SCRAM-SHA-256, over the protocol core's decoders. It takes
// the client's lines and says what to answer; the session sends that, applies the scenario's
// rules, counts failed logins and logs the user in. No I/O, no clock: the challenges come
// from a seed, so an exchange is deterministic.
#pragma once

#include "pop3/mockserver/config.hpp"

#include <cstdint>
#include <optional>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/scram.hpp>
#include <span>
#include <string>
#include <string_view>

namespace pop3::mock {

// What to answer one step of the exchange.
struct sasl_step {
    enum class type : std::uint8_t {
        challenge, // "+ " and `text`; the exchange goes on
        success,   // `who` authenticated; the exchange is over
        failure,   // -ERR `text`; the exchange is over
    };
    type what = type::failure;
    std::string text;          // challenge: the base64 data after "+ "; failure: the reason
    const user* who = nullptr; // success

    static sasl_step challenge(std::string data) { return {type::challenge, std::move(data)}; }
    static sasl_step success(const user* who) { return {type::success, {}, who}; }
    static sasl_step failure(std::string why) { return {type::failure, std::move(why)}; }
};

class sasl_server {
public:
    // `users` must outlive the exchange. The CRAM-MD5 challenge is "<seed.cram@hostname>"; the
    // SCRAM-SHA-256 server nonce is derived from `seed`.
    sasl_server(sasl_mechanism mechanism, std::span<const user> users, std::string_view seed,
                std::string_view hostname);

    // The answer to AUTH itself; `initial` is its initial response ("=" for an empty one) when
    // the client sent one (RFC 5034 §4).
    sasl_step start(std::optional<std::string_view> initial);
    // The answer to one client line of the exchange (without CRLF): base64, or "*" to cancel.
    sasl_step on_line(std::string_view line);

    sasl_mechanism mechanism() const noexcept { return mechanism_; }

private:
    sasl_step on_message(std::string_view msg); // one decoded client message
    sasl_step scram_step(std::string_view msg);

    sasl_mechanism mechanism_;
    std::span<const user> users_;
    std::string seed_;
    std::string challenge_; // CRAM-MD5
    int step_ = 0;          // LOGIN and SCRAM-SHA-256
    std::string login_user_;
    std::optional<scram_server> scram_;
    const user* scram_user_ = nullptr;
};

} // namespace pop3::mock
