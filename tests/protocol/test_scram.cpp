#include "pop3/protocol/base64.hpp"
#include "pop3/protocol/digest.hpp"
#include "pop3/protocol/sasl.hpp"
#include "pop3/protocol/scram.hpp"

#include <catch2/catch.hpp>

using namespace pop3;

// RFC 7677 §3 example.
namespace {
constexpr std::string_view server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
} // namespace

TEST_CASE("SCRAM-SHA-256 client: RFC 7677 example") {
    scram_client c("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    CHECK(c.client_first() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    std::error_code ec;
    CHECK(c.client_final(server_first, ec) == client_final);
    REQUIRE_FALSE(ec);
    CHECK(c.verify_server_final(server_final, ec));
    CHECK_FALSE(c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", ec));
    CHECK(ec == error::bad_sasl_message);
    CHECK_FALSE(c.verify_server_final("e=invalid-proof", ec));
}

TEST_CASE("SCRAM-SHA-256 server: RFC 7677 example") {
    scram_server s("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    std::error_code ec;
    s.read_client_first("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", ec);
    REQUIRE_FALSE(ec);
    CHECK(s.user() == "user");
    std::string salt = "\x5b\x6d\x99\x68\x9d\x12\x35\x8e\xec\xa0\x4b\x14\x12\x36\xfa\x81";
    CHECK(s.server_first(salt, 4096) == server_first);
    CHECK(s.server_final(client_final, "pencil", ec) == server_final);
    CHECK_FALSE(ec);
    s.server_final(client_final, "wrong", ec);
    CHECK(ec == error::bad_sasl_message);
}

TEST_CASE("SCRAM-SHA-256 client refuses a bad server-first") {
    std::error_code ec;
    diagnostics diag;
    for (std::string_view bad : {"", "r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                                 "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                                 "r=rOprNGfwEbeRWgbNEkqOx,s=***,i=4096",
                                 "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
                                 "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",
                                 "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOx,i=4096"}) {
        INFO(bad);
        scram_client c("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        CHECK(c.client_final(bad, ec, &diag).empty());
        CHECK(ec == error::bad_sasl_message);
        CHECK(diag.offending.empty()); // never echoes the exchange
    }
}

TEST_CASE("SCRAM-SHA-256 server refuses bad client messages") {
    std::error_code ec;
    for (std::string_view bad : {"", "p=tls-unique,,n=user,r=abc", "n,,r=abc", "n,,n=,r=abc",
                                 "n,,n=us=ZZer,r=abc", "n,a=other,n=user,r=abc"}) {
        INFO(bad);
        scram_server s("srv");
        s.read_client_first(bad, ec);
        CHECK(ec == error::bad_sasl_message);
    }
    scram_server s("srv");
    s.read_client_first("n,a=user,n=user,r=abc", ec);
    CHECK_FALSE(ec);
    s.server_first("salt", 4096);
    s.server_final("c=biws,r=abcWRONG,p=AAAA", "pw", ec);
    CHECK(ec == error::bad_sasl_message);
}

TEST_CASE("SCRAM-SHA-256: names are escaped, and a full exchange round-trips") {
    CHECK(sasl_escape_name("a,b=c") == "a=2Cb=3Dc");
    std::string out;
    CHECK(sasl_unescape_name("a=2Cb=3Dc", out));
    CHECK(out == "a,b=c");
    CHECK_FALSE(sasl_unescape_name("a=2", out));

    scram_client c("we,ird=user", "secret", "clientnonce123456789");
    scram_server s("servernonce");
    std::error_code ec;
    s.read_client_first(c.client_first(), ec);
    REQUIRE_FALSE(ec);
    CHECK(s.user() == "we,ird=user");
    const auto first = s.server_first("0123456789abcdef", 4096);
    const auto final_msg = c.client_final(first, ec);
    REQUIRE_FALSE(ec);
    const auto v = s.server_final(final_msg, "secret", ec);
    REQUIRE_FALSE(ec);
    CHECK(c.verify_server_final(v, ec));
}

TEST_CASE("SCRAM-SHA-256 server: an authzid and the 'y' flag are accepted end to end") {
    for (std::string_view header : {"n,a=user,", "y,,"}) {
        INFO(header);
        // A client whose GS2 header differs from "n,,": build its messages by hand.
        const std::string bare = "n=user,r=clientnonce";
        scram_server s("srv");
        std::error_code ec;
        s.read_client_first(std::string(header) + bare, ec);
        REQUIRE_FALSE(ec);
        const auto first = s.server_first("0123456789abcdef", 4096);
        // Compute the proof as RFC 5802 §3 says, with c= = base64(header).
        const std::string nonce = first.substr(2, first.find(',') - 2);
        const std::string without_proof = "c=" + base64_encode(header) + ",r=" + nonce;
        const auto salted = pbkdf2_sha256("secret", "0123456789abcdef", 4096);
        const auto client_key = hmac_sha256(salted, "Client Key");
        const auto auth_message = bare + "," + first + "," + without_proof;
        auto proof = client_key;
        const auto sig = hmac_sha256(sha256(client_key), auth_message);
        for (std::size_t i = 0; i < proof.size(); ++i)
            proof[i] = static_cast<char>(proof[i] ^ sig[i]);
        s.server_final(without_proof + ",p=" + base64_encode(proof), "secret", ec);
        CHECK_FALSE(ec);
        // The same proof with c=biws (the header a plain client uses) is refused.
        s.server_final("c=biws,r=" + nonce + ",p=" + base64_encode(proof), "secret", ec);
        CHECK(ec == error::bad_sasl_message);
    }
}
