#include "pop3/mockserver/sasl_server.hpp"

#include <catch2/catch.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/scram.hpp>
#include <vector>

using namespace pop3;
using namespace pop3::mock;

namespace {

const std::vector<user> users = {{"mrose", "tanstaaf", nullptr}, {"alice", "wonder", nullptr}};

sasl_server server(sasl_mechanism m) {
    return sasl_server(m, users, "1896.697170952", "pop3kit.test");
}

std::string b64(std::string_view s) {
    return base64_encode(s);
}

std::string unb64(std::string_view s) {
    std::string out;
    std::error_code ec;
    REQUIRE(base64_decode(s, out, ec));
    return out;
}

void check_success(const sasl_step& s, std::string_view name) {
    INFO(s.text);
    REQUIRE(s.what == sasl_step::type::success);
    REQUIRE(s.who != nullptr);
    CHECK(s.who->name == name);
}

void check_failure(const sasl_step& s, std::string_view why) {
    CHECK(s.what == sasl_step::type::failure);
    CHECK(s.who == nullptr);
    CHECK(s.text == why);
}

} // namespace

TEST_CASE("sasl_server: PLAIN with and without an initial response") {
    std::error_code ec;
    const auto good = b64(sasl_encode_plain("mrose", "tanstaaf", "", ec));
    check_success(server(sasl_mechanism::plain).start(good), "mrose");

    auto s = server(sasl_mechanism::plain);
    const auto first = s.start(std::nullopt);
    CHECK(first.what == sasl_step::type::challenge);
    CHECK(first.text.empty()); // "+ "
    check_success(s.on_line(good), "mrose");

    check_failure(server(sasl_mechanism::plain).start(b64(sasl_encode_plain("mrose", "x", "", ec))),
                  "[AUTH] invalid user name or password");
    check_failure(server(sasl_mechanism::plain)
                      .start(b64(sasl_encode_plain("mrose", "tanstaaf", "alice", ec))),
                  "[AUTH] not authorized to act as that user");
    check_success(
        server(sasl_mechanism::plain).start(b64(sasl_encode_plain("alice", "wonder", "alice", ec))),
        "alice");
}

TEST_CASE("sasl_server: cancel, malformed base64 and the empty initial response") {
    for (auto m : {sasl_mechanism::plain, sasl_mechanism::login, sasl_mechanism::xoauth2,
                   sasl_mechanism::oauthbearer, sasl_mechanism::scram_sha_256}) {
        INFO(sasl_mechanism_name(m));
        check_failure(server(m).start("*"), "AUTH cancelled");
        check_failure(server(m).start("!!"), "malformed initial response");
        auto s = server(m);
        REQUIRE(s.start(std::nullopt).what == sasl_step::type::challenge);
        check_failure(s.on_line("*"), "AUTH cancelled");
        auto t = server(m);
        t.start(std::nullopt);
        check_failure(t.on_line("not base64!"), "malformed base64 in SASL response");
    }
    // "=" is an empty initial response: PLAIN refuses the empty message it decodes to.
    const auto empty = server(sasl_mechanism::plain).start("=");
    CHECK(empty.what == sasl_step::type::failure);
    CHECK_FALSE(empty.text.empty());
}

TEST_CASE("sasl_server: LOGIN asks for the user name, then the password") {
    auto s = server(sasl_mechanism::login);
    const auto user_prompt = s.start(std::nullopt);
    REQUIRE(user_prompt.what == sasl_step::type::challenge);
    CHECK(unb64(user_prompt.text) == "Username:");
    const auto pass_prompt = s.on_line(b64("mrose"));
    REQUIRE(pass_prompt.what == sasl_step::type::challenge);
    CHECK(unb64(pass_prompt.text) == "Password:");
    check_success(s.on_line(b64("tanstaaf")), "mrose");

    // The initial response is the user name.
    auto t = server(sasl_mechanism::login);
    CHECK(unb64(t.start(b64("mrose")).text) == "Password:");
    check_failure(t.on_line(b64("wrong")), "[AUTH] invalid user name or password");
}

TEST_CASE("sasl_server: CRAM-MD5 challenges with the seed and refuses an initial response") {
    auto s = server(sasl_mechanism::cram_md5);
    const auto c = s.start(std::nullopt);
    REQUIRE(c.what == sasl_step::type::challenge);
    const auto challenge = unb64(c.text);
    CHECK(challenge == "<1896.697170952.cram@pop3kit.test>");
    std::error_code ec;
    check_success(s.on_line(b64(sasl_encode_cram_md5("mrose", "tanstaaf", challenge, ec))),
                  "mrose");

    auto t = server(sasl_mechanism::cram_md5);
    t.start(std::nullopt);
    check_failure(t.on_line(b64(sasl_encode_cram_md5("mrose", "wrong", challenge, ec))),
                  "[AUTH] invalid user name or digest");
    check_failure(server(sasl_mechanism::cram_md5).start(b64("x")),
                  "CRAM-MD5 takes no initial response");
}

TEST_CASE("sasl_server: XOAUTH2 and OAUTHBEARER check the token as the password") {
    std::error_code ec;
    check_success(
        server(sasl_mechanism::xoauth2).start(b64(sasl_encode_xoauth2("mrose", "tanstaaf", ec))),
        "mrose");
    check_failure(
        server(sasl_mechanism::xoauth2).start(b64(sasl_encode_xoauth2("mrose", "wrong", ec))),
        "[AUTH] invalid user name or token");
    check_success(server(sasl_mechanism::oauthbearer)
                      .start(b64(sasl_encode_oauthbearer("alice", "wonder", {}, std::nullopt, ec))),
                  "alice");
    check_failure(
        server(sasl_mechanism::oauthbearer)
            .start(b64(sasl_encode_oauthbearer("nobody", "wonder", {}, std::nullopt, ec))),
        "[AUTH] invalid user name or token");
}

TEST_CASE("sasl_server: SCRAM-SHA-256 proves both sides and ends with an empty response") {
    std::error_code ec;
    for (bool initial : {false, true}) {
        INFO(initial);
        scram_client client("mrose", "tanstaaf", "fyko+d2lbbFgONRv9qkxdawL");
        auto s = server(sasl_mechanism::scram_sha_256);
        sasl_step first;
        if (initial) {
            first = s.start(b64(client.client_first()));
        } else {
            const auto empty = s.start(std::nullopt);
            REQUIRE(empty.what == sasl_step::type::challenge);
            CHECK(empty.text.empty());
            first = s.on_line(b64(client.client_first()));
        }
        REQUIRE(first.what == sasl_step::type::challenge);
        const auto client_final = client.client_final(unb64(first.text), ec);
        REQUIRE_FALSE(ec);
        const auto final_step = s.on_line(b64(client_final));
        REQUIRE(final_step.what == sasl_step::type::challenge);
        CHECK(client.verify_server_final(unb64(final_step.text), ec));
        check_success(s.on_line(""), "mrose");
    }
    // Deterministic: the same seed gives the same server-first.
    scram_client a("mrose", "tanstaaf", "nonce-a-nonce-a-nonce-a");
    auto s1 = server(sasl_mechanism::scram_sha_256), s2 = server(sasl_mechanism::scram_sha_256);
    CHECK(s1.start(b64(a.client_first())).text == s2.start(b64(a.client_first())).text);

    // A wrong password, an unknown user (who still gets a salt), a non-empty last response.
    scram_client wrong("mrose", "bad", "nonce-b-nonce-b-nonce-b");
    auto w = server(sasl_mechanism::scram_sha_256);
    const auto wf = w.start(b64(wrong.client_first()));
    check_failure(w.on_line(b64(wrong.client_final(unb64(wf.text), ec))),
                  "[AUTH] invalid user name or password");
    scram_client ghost("ghost", "x", "nonce-c-nonce-c-nonce-c");
    auto g = server(sasl_mechanism::scram_sha_256);
    const auto gf = g.start(b64(ghost.client_first()));
    REQUIRE(gf.what == sasl_step::type::challenge);
    check_failure(g.on_line(b64(ghost.client_final(unb64(gf.text), ec))),
                  "[AUTH] invalid user name or password");
    scram_client late("mrose", "tanstaaf", "nonce-d-nonce-d-nonce-d");
    auto l = server(sasl_mechanism::scram_sha_256);
    const auto lf = l.start(b64(late.client_first()));
    REQUIRE(l.on_line(b64(late.client_final(unb64(lf.text), ec))).what ==
            sasl_step::type::challenge);
    check_failure(l.on_line(b64("x")), "expected an empty response after server-final");
}
