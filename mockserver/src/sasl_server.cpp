#include "pop3/mockserver/sasl_server.hpp"

#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/digest.hpp>
#include <utility>

namespace pop3::mock {

sasl_server::sasl_server(sasl_mechanism mechanism, std::span<const user> users,
                         std::string_view seed, std::string_view hostname)
    : mechanism_(mechanism), users_(users), seed_(seed) {
    if (mechanism_ == sasl_mechanism::cram_md5)
        challenge_ = "<" + seed_ + ".cram@" + std::string(hostname) + ">";
}

sasl_step sasl_server::start(std::optional<std::string_view> initial) {
    if (mechanism_ == sasl_mechanism::cram_md5) {
        if (initial) return sasl_step::failure("CRAM-MD5 takes no initial response");
        return sasl_step::challenge(base64_encode(challenge_));
    }
    if (initial) {
        std::error_code ec;
        std::string decoded;
        decode_client_response(*initial, decoded, ec, sasl_response_kind::initial);
        if (ec == error::sasl_cancelled) return sasl_step::failure("AUTH cancelled");
        if (ec) return sasl_step::failure("malformed initial response");
        return on_message(decoded); // the same path as a continuation
    }
    if (mechanism_ == sasl_mechanism::login) {
        step_ = 1;
        return sasl_step::challenge(base64_encode(sasl_login_username_prompt));
    }
    return sasl_step::challenge({});
}

sasl_step sasl_server::on_line(std::string_view line) {
    std::error_code ec;
    std::string msg;
    decode_client_response(line, msg, ec);
    if (ec == error::sasl_cancelled) return sasl_step::failure("AUTH cancelled");
    if (ec) return sasl_step::failure("malformed base64 in SASL response");
    return on_message(msg);
}

sasl_step sasl_server::on_message(std::string_view msg) {
    std::error_code ec;
    diagnostics diag;
    switch (mechanism_) {
    case sasl_mechanism::plain: {
        const auto m = sasl_decode_plain(msg, ec, diag);
        if (ec) return sasl_step::failure(diag.message);
        if (!m.authzid.empty() && m.authzid != m.authcid)
            return sasl_step::failure("[AUTH] not authorized to act as that user");
        const user* who = find_user(users_, m.authcid);
        if (!who || !constant_time_equal(who->password, m.passwd))
            return sasl_step::failure("[AUTH] invalid user name or password");
        return sasl_step::success(who);
    }
    case sasl_mechanism::login: {
        if (step_ <= 1) {
            login_user_ = std::string(msg);
            step_ = 2;
            return sasl_step::challenge(base64_encode(sasl_login_password_prompt));
        }
        const user* who = find_user(users_, login_user_);
        if (!who || !constant_time_equal(who->password, msg))
            return sasl_step::failure("[AUTH] invalid user name or password");
        return sasl_step::success(who);
    }
    case sasl_mechanism::cram_md5: {
        const auto m = sasl_decode_cram_md5(msg, ec, diag);
        if (ec) return sasl_step::failure(diag.message);
        const user* who = find_user(users_, m.user);
        if (!who || !sasl_verify_cram_md5(m, challenge_, who->password))
            return sasl_step::failure("[AUTH] invalid user name or digest");
        return sasl_step::success(who);
    }
    case sasl_mechanism::xoauth2: {
        const auto m = sasl_decode_xoauth2(msg, ec, diag);
        if (ec) return sasl_step::failure(diag.message);
        const user* who = find_user(users_, m.user);
        if (!who || !constant_time_equal(who->password, m.token))
            return sasl_step::failure("[AUTH] invalid user name or token");
        return sasl_step::success(who);
    }
    case sasl_mechanism::oauthbearer: {
        const auto m = sasl_decode_oauthbearer(msg, ec, diag);
        if (ec) return sasl_step::failure(diag.message);
        const user* who = find_user(users_, m.authzid);
        if (!who || !constant_time_equal(who->password, m.token))
            return sasl_step::failure("[AUTH] invalid user name or token");
        return sasl_step::success(who);
    }
    case sasl_mechanism::scram_sha_256: return scram_step(msg);
    }
    return sasl_step::failure("unsupported authentication mechanism");
}

sasl_step sasl_server::scram_step(std::string_view msg) {
    std::error_code ec;
    diagnostics diag;
    switch (step_++) {
    case 0: {
        // The server nonce comes from the seed, so the exchange stays deterministic.
        scram_.emplace(base64_encode(sha256("nonce:" + seed_)).substr(0, 24));
        scram_->read_client_first(msg, ec, &diag);
        if (ec) return sasl_step::failure(diag.message);
        scram_user_ = find_user(users_, scram_->user());
        // An unknown user still gets a salt, so that the reply does not tell who exists.
        const auto salt = sha256("pop3kit-salt:" + scram_->user()).substr(0, 16);
        return sasl_step::challenge(base64_encode(scram_->server_first(salt, 4096)));
    }
    case 1: {
        const auto password =
            scram_user_ ? std::string_view(scram_user_->password) : std::string_view{};
        const auto final_msg = scram_->server_final(msg, password, ec, &diag);
        if (ec || !scram_user_) return sasl_step::failure("[AUTH] invalid user name or password");
        return sasl_step::challenge(base64_encode(final_msg));
    }
    default:
        // RFC 5034 §4: the client answers the server's last data with an empty response.
        if (!msg.empty())
            return sasl_step::failure("expected an empty response after server-final");
        return sasl_step::success(scram_user_);
    }
}

} // namespace pop3::mock
