// Fuzzes the server-side SASL decoders (RFC 5034 AUTH lines, PLAIN, CRAM-MD5, XOAUTH2,
// OAUTHBEARER) and the SCRAM-SHA-256 server. Byte 0 picks the decoder; the rest is the message.
// Invariants: every error is a pop3::error with a message and no echo of the secret-bearing
// input; a decoded message encodes back to itself (PLAIN byte for byte, the others to a message
// that decodes to the same fields); base64 responses are canonical; SCRAM with a real client and
// the fixed password succeeds both ways, and a wrong password never does.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/scram.hpp>
#include <string>

namespace {

constexpr std::string_view password = "pencil";

void check_error(std::error_code ec, const pop3::diagnostics& diag) {
    FUZZ_CHECK(ec == pop3::error::bad_sasl_message);
    FUZZ_CHECK(!diag.message.empty());
    FUZZ_CHECK(diag.offending.empty()); // these messages carry passwords and tokens
}

void client_response(std::string_view line, pop3::sasl_response_kind kind) {
    std::string out = "stale";
    std::error_code ec;
    const bool ok = pop3::decode_client_response(line, out, ec, kind);
    FUZZ_CHECK(ok == !ec);
    if (line == "*") {
        FUZZ_CHECK(ec == pop3::error::sasl_cancelled);
        return;
    }
    if (ec) {
        FUZZ_CHECK(ec == pop3::error::bad_base64 && out.empty());
        return;
    }
    if (kind == pop3::sasl_response_kind::initial && line == "=")
        FUZZ_CHECK(out.empty());
    else
        FUZZ_CHECK(pop3::base64_encode(out) == line); // strict: one accepted form per value
}

void plain(std::string_view msg) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto m = pop3::sasl_decode_plain(msg, ec, diag);
    if (ec) return check_error(ec, diag);
    FUZZ_CHECK(!m.authcid.empty() && !m.passwd.empty());
    std::error_code ec2;
    FUZZ_CHECK(pop3::sasl_encode_plain(m.authcid, m.passwd, m.authzid, ec2) == msg && !ec2);
}

void cram_md5(std::string_view msg) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto m = pop3::sasl_decode_cram_md5(msg, ec, diag);
    if (ec) return check_error(ec, diag);
    FUZZ_CHECK(!m.user.empty() && m.digest.size() == 32);
    FUZZ_CHECK(m.digest.find_first_not_of("0123456789abcdef") == std::string_view::npos);
    FUZZ_CHECK(std::string(m.user) + " " + std::string(m.digest) == msg);
    // A response built by the client encoder decodes and verifies.
    std::error_code ec2;
    const auto built = pop3::sasl_encode_cram_md5(m.user, password, msg, ec2);
    FUZZ_CHECK(!ec2);
    const auto back = pop3::sasl_decode_cram_md5(built, ec2, diag);
    FUZZ_CHECK(!ec2 && back.user == m.user);
    FUZZ_CHECK(pop3::sasl_verify_cram_md5(back, msg, password));
}

void xoauth2(std::string_view msg) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto m = pop3::sasl_decode_xoauth2(msg, ec, diag);
    if (ec) return check_error(ec, diag);
    FUZZ_CHECK(!m.user.empty() && !m.token.empty());
    std::error_code ec2;
    const auto built = pop3::sasl_encode_xoauth2(m.user, m.token, ec2);
    FUZZ_CHECK(!ec2);
    const auto back = pop3::sasl_decode_xoauth2(built, ec2, diag);
    FUZZ_CHECK(!ec2 && back.user == m.user && back.token == m.token);
}

void oauthbearer(std::string_view msg) {
    std::error_code ec;
    pop3::diagnostics diag;
    const auto m = pop3::sasl_decode_oauthbearer(msg, ec, diag);
    if (ec) return check_error(ec, diag);
    FUZZ_CHECK(m.cbind_flag == 'n' || m.cbind_flag == 'y');
    FUZZ_CHECK(!m.token.empty());
    std::error_code ec2;
    const auto built = pop3::sasl_encode_oauthbearer(m.authzid, m.token, m.host, m.port, ec2);
    FUZZ_CHECK(!ec2);
    const auto back = pop3::sasl_decode_oauthbearer(built, ec2, diag);
    FUZZ_CHECK(!ec2);
    FUZZ_CHECK(back.authzid == m.authzid && back.token == m.token && back.host == m.host &&
               back.port == m.port);
}

// SCRAM server against fuzzed client messages: client-first, then (after a 0x00) client-final.
void scram_fuzzed(std::string_view input) {
    const auto nul = input.find('\0');
    const auto first = input.substr(0, nul);
    pop3::scram_server server("srvnonce");
    std::error_code ec;
    pop3::diagnostics diag;
    server.read_client_first(first, ec, &diag);
    if (ec) return check_error(ec, diag);
    FUZZ_CHECK(!server.user().empty());
    const auto sf = server.server_first("salt", 1);
    FUZZ_CHECK(sf.starts_with("r=") && sf.ends_with(",s=" + pop3::base64_encode("salt") + ",i=1"));
    FUZZ_CHECK(sf.find("srvnonce,") != std::string::npos);
    if (nul == std::string_view::npos) return;
    const auto fin = server.server_final(input.substr(nul + 1), password, ec, &diag);
    // A fuzzed proof does not verify (2^-256); the only way in is through a real client.
    FUZZ_CHECK(ec);
    check_error(ec, diag);
    FUZZ_CHECK(fin.empty());
}

// SCRAM end to end with a real client: user and nonce from the input.
void scram_real(std::string_view input, bool wrong_password, std::uint32_t iterations) {
    const auto nul = input.find('\0');
    const auto user = input.substr(0, nul);
    const auto nonce =
        nul == std::string_view::npos ? std::string_view("cnonce") : input.substr(nul + 1);
    pop3::scram_client client(user, wrong_password ? "pen" : password, nonce);
    pop3::scram_server server("srvnonce");
    std::error_code ec;
    pop3::diagnostics diag;
    server.read_client_first(client.client_first(), ec, &diag);
    bool printable = true;
    for (char c : nonce)
        printable = printable && c > 0x20 && c < 0x7f && c != ',';
    const bool valid = !user.empty() && !nonce.empty() && printable;
    if (ec) {
        check_error(ec, diag);
        FUZZ_CHECK(!valid);
        return;
    }
    FUZZ_CHECK(server.user() == user || !valid);
    const auto cfinal = client.client_final(server.server_first("salt", iterations), ec, &diag);
    if (ec) {
        check_error(ec, diag);
        FUZZ_CHECK(!valid);
        return;
    }
    const auto sfinal = server.server_final(cfinal, password, ec, &diag);
    if (wrong_password) {
        FUZZ_CHECK(ec && sfinal.empty());
        check_error(ec, diag);
        return;
    }
    if (ec) {
        check_error(ec, diag);
        FUZZ_CHECK(!valid);
        return;
    }
    FUZZ_CHECK(client.verify_server_final(sfinal, ec, &diag) && !ec);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (mode % 9) {
    case 0: client_response(input, pop3::sasl_response_kind::continuation); break;
    case 1: client_response(input, pop3::sasl_response_kind::initial); break;
    case 2: plain(input); break;
    case 3: cram_md5(input); break;
    case 4: xoauth2(input); break;
    case 5: oauthbearer(input); break;
    case 6: scram_fuzzed(input); break;
    case 7: scram_real(input, (mode & 0x80) != 0, 1 + (mode >> 4 & 3)); break;
    default: {
        // The whole AUTH path of a server: the line is base64, then each decoder runs on it.
        std::string msg;
        std::error_code ec;
        if (!pop3::decode_client_response(input, msg, ec, pop3::sasl_response_kind::initial)) break;
        plain(msg);
        cram_md5(msg);
        xoauth2(msg);
        oauthbearer(msg);
        scram_fuzzed(msg);
    }
    }
    return 0;
}
