// The client's SASL steppers without I/O: what AUTH carries, how challenges are answered, and
// when a +OK may not be trusted.
#include "pop3/client/sasl_client.hpp"

#include <catch2/catch.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/scram.hpp>

using namespace pop3;

namespace {

std::string decoded(std::string_view b64) {
    std::string out;
    std::error_code ec;
    REQUIRE(base64_decode(b64, out, ec));
    return out;
}

} // namespace

TEST_CASE("sasl_client: PLAIN goes with the AUTH line when it fits, after the + otherwise") {
    auto plain = sasl_client::make(sasl_mechanism::plain, "user", "pass", "h", 110, "");
    std::error_code ec;
    std::string what;
    const auto args = plain->auth_arguments(255, ec, what);
    REQUIRE_FALSE(ec);
    REQUIRE(args.size() == 2);
    CHECK(args[0] == "PLAIN");
    CHECK(decoded(args[1]) == std::string("\0user\0pass", 10));
    CHECK_FALSE(plain->accept_success(what));

    auto late = sasl_client::make(sasl_mechanism::plain, "user", "pass", "h", 110, "");
    const auto short_args = late->auth_arguments(20, ec, what); // "AUTH PLAIN <b64>" > 20
    REQUIRE(short_args.size() == 1);
    const auto a = late->answer("", 12288);
    REQUIRE_FALSE(a.ec);
    CHECK(decoded(a.line) == std::string("\0user\0pass", 10));
    // A later challenge (an error report) is answered empty, to get the server's -ERR.
    CHECK(late->answer("", 12288).line.empty());
}

TEST_CASE("sasl_client: LOGIN answers the user, then the password") {
    auto login = sasl_client::make(sasl_mechanism::login, "user", "pass", "h", 110, "");
    std::error_code ec;
    std::string what;
    CHECK(login->auth_arguments(255, ec, what) == std::vector<std::string>{"LOGIN"});
    CHECK(decoded(login->answer(base64_encode("Username:"), 12288).line) == "user");
    CHECK(decoded(login->answer(base64_encode("Password:"), 12288).line) == "pass");
}

TEST_CASE("sasl_client: a malformed challenge cancels; too many challenges break the exchange") {
    auto cram = sasl_client::make(sasl_mechanism::cram_md5, "user", "pass", "h", 110, "");
    const auto bad = cram->answer("not base64!", 12288);
    CHECK(bad.ec == error::bad_base64);
    CHECK(bad.cancel);
    auto login = sasl_client::make(sasl_mechanism::login, "user", "pass", "h", 110, "");
    for (int i = 0; i < 8; ++i)
        REQUIRE_FALSE(login->answer("", 12288).ec);
    const auto ninth = login->answer("", 12288);
    CHECK(ninth.ec == error::bad_sasl_message);
    CHECK_FALSE(ninth.cancel);
}

TEST_CASE("sasl_client: an answer over the SASL line limit is refused") {
    auto x =
        sasl_client::make(sasl_mechanism::xoauth2, "user", std::string(300, 't'), "h", 110, "");
    std::error_code ec;
    std::string what;
    REQUIRE(x->auth_arguments(255, ec, what).size() == 1);
    const auto a = x->answer("", 100);
    CHECK(a.ec == error::command_too_long);
    CHECK(a.cancel);
}

TEST_CASE("sasl_client: SCRAM-SHA-256 against the core's server, and +OK without its proof") {
    const std::string nonce = "fyko+d2lbbFgONRv9qkxdawL";
    auto run = [&](bool send_server_final) {
        auto scram =
            sasl_client::make(sasl_mechanism::scram_sha_256, "user", "pencil", "h", 110, nonce);
        std::error_code ec;
        std::string what;
        const auto args = scram->auth_arguments(255, ec, what);
        REQUIRE(args.size() == 2);
        scram_server server("3rfcNHYJY1ZVvWVs7j");
        server.read_client_first(decoded(args[1]), ec);
        REQUIRE_FALSE(ec);
        const auto first = server.server_first("salt-of-16-bytes", 4096);
        const auto final_msg = scram->answer(base64_encode(first), 12288);
        REQUIRE_FALSE(final_msg.ec);
        const auto server_final = server.server_final(decoded(final_msg.line), "pencil", ec);
        REQUIRE_FALSE(ec);
        if (send_server_final) {
            const auto last = scram->answer(base64_encode(server_final), 12288);
            REQUIRE_FALSE(last.ec);
            CHECK(last.line.empty());
        }
        return scram->accept_success(what);
    };
    CHECK_FALSE(run(true));
    CHECK(run(false) == error::bad_sasl_message);
}
