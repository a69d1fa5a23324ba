#include "pop3/protocol/scram.hpp"

#include "pop3/protocol/base64.hpp"
#include "pop3/protocol/digest.hpp"
#include "pop3/protocol/sasl.hpp"
#include "pop3/protocol/text.hpp"

#include <optional>

namespace pop3 {
namespace {

constexpr std::string_view gs2_header = "n,,";

void fail(std::error_code& ec, diagnostics* diag, std::string_view why) {
    ec = error::bad_sasl_message;
    if (diag) diag->set(why, {}); // never echo SCRAM messages: they carry proofs
}

// Splits "a=..,b=.." attributes; returns the value of `key` at position `index`, or nullopt.
std::optional<std::string_view> attribute(std::string_view msg, std::size_t index, char key) {
    for (std::size_t i = 0; i <= index; ++i) {
        const auto comma = msg.find(',');
        const auto part = msg.substr(0, comma);
        if (i == index) {
            if (part.size() < 2 || part[0] != key || part[1] != '=') return std::nullopt;
            return part.substr(2);
        }
        if (comma == std::string_view::npos) return std::nullopt;
        msg.remove_prefix(comma + 1);
    }
    return std::nullopt;
}

std::string xor_bytes(std::string a, std::string_view b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        a[i] = static_cast<char>(a[i] ^ b[i]);
    return a;
}

struct keys {
    std::string client_key, stored_key, server_key;
};

keys derive(std::string_view password, std::string_view salt, std::uint32_t iterations) {
    const auto salted = pbkdf2_sha256(password, salt, iterations);
    keys k;
    k.client_key = hmac_sha256(salted, "Client Key");
    k.stored_key = sha256(k.client_key);
    k.server_key = hmac_sha256(salted, "Server Key");
    return k;
}

std::string without_proof(std::string_view nonce) {
    return "c=" + base64_encode(gs2_header) + ",r=" + std::string(nonce);
}

} // namespace

scram_client::scram_client(std::string_view user, std::string_view password, std::string_view nonce)
    : password_(password), nonce_(nonce) {
    client_first_bare_ = "n=" + sasl_escape_name(user) + ",r=" + std::string(nonce);
    client_first_ = std::string(gs2_header) + client_first_bare_;
}

std::string scram_client::client_final(std::string_view server_first, std::error_code& ec,
                                       diagnostics* diag, std::uint32_t max_iterations) {
    const auto nonce = attribute(server_first, 0, 'r');
    const auto salt64 = attribute(server_first, 1, 's');
    const auto iter_text = attribute(server_first, 2, 'i');
    if (!nonce || !salt64 || !iter_text) {
        fail(ec, diag, "SCRAM server-first must be r=...,s=...,i=...");
        return {};
    }
    if (nonce->size() <= nonce_.size() || !nonce->starts_with(nonce_)) {
        fail(ec, diag, "SCRAM server nonce does not extend the client nonce");
        return {};
    }
    std::string salt;
    if (!base64_decode(*salt64, salt, ec) || salt.empty()) {
        fail(ec, diag, "SCRAM salt is not valid base64");
        return {};
    }
    const auto iterations = parse_decimal(*iter_text);
    if (!iterations || *iterations == 0 || *iterations > max_iterations) {
        fail(ec, diag, "SCRAM iteration count is missing, zero or above the configured maximum");
        return {};
    }
    const auto k = derive(password_, salt, static_cast<std::uint32_t>(*iterations));
    const std::string final_bare = without_proof(*nonce);
    const std::string auth_message =
        client_first_bare_ + "," + std::string(server_first) + "," + final_bare;
    const auto proof = xor_bytes(k.client_key, hmac_sha256(k.stored_key, auth_message));
    server_signature_ = hmac_sha256(k.server_key, auth_message);
    ec.clear();
    return final_bare + ",p=" + base64_encode(proof);
}

bool scram_client::verify_server_final(std::string_view server_final, std::error_code& ec,
                                       diagnostics* diag) const {
    if (const auto e = attribute(server_final, 0, 'e')) {
        fail(ec, diag, "SCRAM server reported an error: " + std::string(*e));
        return false;
    }
    const auto v = attribute(server_final, 0, 'v');
    std::string signature;
    if (!v || !base64_decode(*v, signature, ec) || server_signature_.empty() ||
        !constant_time_equal(signature, server_signature_)) {
        fail(ec, diag, "SCRAM server signature is wrong: the server does not know the password");
        return false;
    }
    ec.clear();
    return true;
}

void scram_server::read_client_first(std::string_view client_first, std::error_code& ec,
                                     diagnostics* diag) {
    // "n," (no channel binding) or "y," (the client could bind but thinks we cannot, which is
    // true: RFC 5802 §6 has a server without channel binding accept it); "p=" is refused.
    if (!client_first.starts_with("n,") && !client_first.starts_with("y,")) {
        fail(ec, diag, "SCRAM client-first must start with 'n,' or 'y,' (no channel binding)");
        return;
    }
    auto rest = client_first.substr(2);
    const auto comma = rest.find(',');
    if (comma == std::string_view::npos) {
        fail(ec, diag, "SCRAM client-first lacks the GS2 header's authzid field");
        return;
    }
    // An authzid (a=) must be the user itself; we do not support acting as someone else.
    const auto authzid = rest.substr(0, comma);
    // The whole GS2 header, which client-final's c= must carry in base64 (RFC 5802 §7).
    gs2_header_ = std::string(client_first.substr(0, 2 + comma + 1));
    client_first_bare_ = std::string(rest.substr(comma + 1));
    const auto name = attribute(client_first_bare_, 0, 'n');
    const auto nonce = attribute(client_first_bare_, 1, 'r');
    if (!name || !nonce || nonce->empty() || !sasl_unescape_name(*name, user_) || user_.empty()) {
        fail(ec, diag, "SCRAM client-first-bare must be n=user,r=nonce");
        return;
    }
    if (!authzid.empty() && authzid != "a=" + std::string(*name)) {
        fail(ec, diag, "SCRAM authorization identity differs from the user");
        return;
    }
    nonce_ = std::string(*nonce) + server_nonce_;
    ec.clear();
}

std::string scram_server::server_first(std::string_view salt, std::uint32_t iterations) {
    salt_ = std::string(salt);
    iterations_ = iterations;
    server_first_ =
        "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
    return server_first_;
}

std::string scram_server::server_final(std::string_view client_final, std::string_view password,
                                       std::error_code& ec, diagnostics* diag) {
    const auto binding = attribute(client_final, 0, 'c');
    const auto nonce = attribute(client_final, 1, 'r');
    const auto proof64 = client_final.rfind(",p=");
    if (!binding || !nonce || proof64 == std::string_view::npos) {
        fail(ec, diag, "SCRAM client-final must be c=...,r=...,p=...");
        return {};
    }
    if (*binding != base64_encode(gs2_header_) || *nonce != nonce_) {
        fail(ec, diag, "SCRAM client-final has a wrong channel binding or nonce");
        return {};
    }
    std::string proof;
    if (!base64_decode(client_final.substr(proof64 + 3), proof, ec)) {
        fail(ec, diag, "SCRAM proof is not valid base64");
        return {};
    }
    const auto k = derive(password, salt_, iterations_);
    const std::string auth_message = client_first_bare_ + "," + server_first_ + "," +
                                     std::string(client_final.substr(0, proof64));
    const auto client_key = xor_bytes(proof, hmac_sha256(k.stored_key, auth_message));
    if (proof.size() != k.client_key.size() ||
        !constant_time_equal(sha256(client_key), k.stored_key)) {
        fail(ec, diag, "SCRAM proof is wrong");
        return {};
    }
    ec.clear();
    return "v=" + base64_encode(hmac_sha256(k.server_key, auth_message));
}

} // namespace pop3
