#include "pop3/client/sasl_client.hpp"

#include <openssl/rand.h>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/scram.hpp>

namespace pop3 {
namespace {

std::string shown(std::string_view text) {
    return escape_for_display(text, std::string::npos);
}

// PLAIN, XOAUTH2 and OAUTHBEARER: one message, sent as the initial response or after the first
// (empty) challenge; a later challenge is an error report (XOAUTH2's JSON), answered empty so
// that the server sends its -ERR.
class one_message final : public sasl_client {
public:
    one_message(sasl_mechanism m, std::string user, std::string secret, std::string host,
                std::uint16_t port)
        : sasl_client(m), user_(std::move(user)), secret_(std::move(secret)),
          host_(std::move(host)), port_(port) {}

    std::optional<std::string> initial(std::error_code& ec) override {
        switch (mechanism()) {
        case sasl_mechanism::plain: return sasl_encode_plain(user_, secret_, {}, ec);
        case sasl_mechanism::xoauth2: return sasl_encode_xoauth2(user_, secret_, ec);
        default: return sasl_encode_oauthbearer(user_, secret_, host_, port_, ec);
        }
    }
    std::string respond(std::string_view, int round, bool initial_sent, std::error_code& ec,
                        std::string&) override {
        if (!initial_sent && round == 1) return *initial(ec);
        return {};
    }

private:
    std::string user_, secret_, host_;
    std::uint16_t port_;
};

// LOGIN: the user name, then the password, each after a challenge.
class login final : public sasl_client {
public:
    login(std::string user, std::string secret)
        : sasl_client(sasl_mechanism::login), user_(std::move(user)), secret_(std::move(secret)) {}
    std::optional<std::string> initial(std::error_code&) override { return std::nullopt; }
    std::string respond(std::string_view, int round, bool, std::error_code&,
                        std::string&) override {
        return round == 1 ? user_ : secret_;
    }

private:
    std::string user_, secret_;
};

// CRAM-MD5: the keyed digest of the server's challenge.
class cram_md5 final : public sasl_client {
public:
    cram_md5(std::string user, std::string secret)
        : sasl_client(sasl_mechanism::cram_md5), user_(std::move(user)),
          secret_(std::move(secret)) {}
    std::optional<std::string> initial(std::error_code&) override { return std::nullopt; }
    std::string respond(std::string_view challenge, int, bool, std::error_code& ec,
                        std::string& what) override {
        auto r = sasl_encode_cram_md5(user_, secret_, challenge, ec);
        if (ec) what = "AUTH CRAM-MD5: cannot encode the response: " + ec.message();
        return r;
    }

private:
    std::string user_, secret_;
};

// SCRAM-SHA-256 (RFC 5802, RFC 7677): client-first, client-final with the proof, then the
// server's signature is checked and answered empty (RFC 5034 §4).
class scram final : public sasl_client {
public:
    scram(std::string_view user, std::string_view secret, std::string_view nonce)
        : sasl_client(sasl_mechanism::scram_sha_256), scram_(user, secret, nonce) {}
    std::optional<std::string> initial(std::error_code&) override { return scram_.client_first(); }
    std::string respond(std::string_view challenge, int, bool initial_sent, std::error_code& ec,
                        std::string& what) override {
        if (stage_ == 0 && initial_sent) stage_ = 1;
        diagnostics diag;
        switch (stage_++) {
        case 0: return scram_.client_first();
        case 1: {
            auto r = scram_.client_final(challenge, ec, &diag);
            if (ec) what = "AUTH SCRAM-SHA-256: " + shown(diag.message);
            return r;
        }
        case 2:
            if (!scram_.verify_server_final(challenge, ec, &diag)) {
                what = "AUTH SCRAM-SHA-256: " + shown(diag.message);
                return {};
            }
            verified_ = true;
            return {};
        default:
            ec = error::bad_sasl_message;
            what = "AUTH SCRAM-SHA-256: unexpected challenge";
            return {};
        }
    }
    bool trusted(std::string& what) const override {
        if (verified_) return true;
        what = "AUTH SCRAM-SHA-256: +OK without the server's proof (server-final)";
        return false;
    }

private:
    scram_client scram_;
    int stage_ = 0; // 0 send client-first, 1 answer server-first, 2 check server-final
    bool verified_ = false;
};

} // namespace

std::unique_ptr<sasl_client> sasl_client::make(sasl_mechanism mechanism, std::string_view user,
                                               std::string_view secret, std::string_view host,
                                               std::uint16_t port, std::string_view scram_nonce) {
    switch (mechanism) {
    case sasl_mechanism::login:
        return std::make_unique<login>(std::string(user), std::string(secret));
    case sasl_mechanism::cram_md5:
        return std::make_unique<cram_md5>(std::string(user), std::string(secret));
    case sasl_mechanism::scram_sha_256: return std::make_unique<scram>(user, secret, scram_nonce);
    case sasl_mechanism::plain:
    case sasl_mechanism::xoauth2:
    case sasl_mechanism::oauthbearer: break;
    }
    return std::make_unique<one_message>(mechanism, std::string(user), std::string(secret),
                                         std::string(host), port);
}

std::string sasl_client::random_nonce() {
    unsigned char random[24];
    if (RAND_bytes(random, sizeof random) != 1) return {};
    return base64_encode({reinterpret_cast<const char*>(random), sizeof random});
}

std::vector<std::string> sasl_client::auth_arguments(std::size_t max_command_line,
                                                     std::error_code& ec, std::string& what) {
    initial_ = initial(ec);
    if (ec) {
        what = "AUTH: cannot encode the credentials: " + ec.message();
        return {};
    }
    std::vector<std::string> args{std::string(sasl_mechanism_name(mechanism_))};
    if (initial_) {
        std::string encoded = initial_->empty() ? "=" : base64_encode(*initial_);
        // "AUTH " MECH " " INITIAL CRLF
        if (5 + args[0].size() + 1 + encoded.size() + 2 <= max_command_line) {
            args.push_back(std::move(encoded));
            initial_sent_ = true;
        }
    }
    return args;
}

sasl_answer sasl_client::answer(std::string_view challenge, std::size_t max_sasl_line) {
    sasl_answer a;
    if (++round_ > 8) {
        a.ec = error::bad_sasl_message;
        a.what = "AUTH: too many server challenges";
        a.cancel = false;
        return a;
    }
    std::string decoded;
    if (!base64_decode(challenge, decoded, a.ec)) {
        a.ec = error::bad_base64;
        a.what = "AUTH: malformed base64 in the server challenge";
        return a;
    }
    const auto raw = respond(decoded, round_, initial_sent_, a.ec, a.what);
    if (a.ec) return a;
    a.line = base64_encode(raw);
    if (a.line.size() + 2 > max_sasl_line) {
        a.ec = error::command_too_long;
        a.what = "AUTH: response exceeds the SASL line limit";
    }
    return a;
}

std::error_code sasl_client::accept_success(std::string& what) const {
    if (trusted(what)) return {};
    return error::bad_sasl_message;
}

} // namespace pop3
