#include "pop3/protocol/base64.hpp"
#include "pop3/protocol/sasl.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <utility>

using pop3::error;

namespace {

// Test strings write NUL as '|' and ^A as '^', sparing hex escapes that swallow what follows.
std::string nul(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c == '|') c = '\0';
    return out;
}
std::string soh(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c == '^') c = '\x01';
    return out;
}

std::string b64(std::string_view s) {
    return pop3::base64_encode(s);
}

std::string unb64(std::string_view s) {
    std::string out;
    std::error_code ec;
    REQUIRE(pop3::base64_decode(s, out, ec));
    return out;
}

// A decoder failure must say why, and must not copy the (secret-bearing) message.
template <class Decode>
void check_refused(Decode decode, const std::string& message) {
    std::error_code ec;
    pop3::diagnostics diag;
    diag.offending = "stale";
    INFO("message: " << pop3::escape_for_display(message));
    decode(message, ec, diag);
    CHECK(ec == error::bad_sasl_message);
    CHECK_FALSE(diag.message.empty());
    CHECK(diag.offending.empty());
}

} // namespace

TEST_CASE("SASL mechanism names", "[sasl]") {
    using pop3::sasl_mechanism;
    const sasl_mechanism all[] = {sasl_mechanism::plain,       sasl_mechanism::login,
                                  sasl_mechanism::cram_md5,    sasl_mechanism::xoauth2,
                                  sasl_mechanism::oauthbearer, sasl_mechanism::scram_sha_256};
    for (const auto m : all)
        CHECK(pop3::parse_sasl_mechanism(pop3::sasl_mechanism_name(m)) == m);
    CHECK(pop3::sasl_mechanism_name(sasl_mechanism::cram_md5) == "CRAM-MD5");
    CHECK(pop3::sasl_mechanism_name(sasl_mechanism::scram_sha_256) == "SCRAM-SHA-256");
    CHECK(pop3::parse_sasl_mechanism("plain") == sasl_mechanism::plain);
    CHECK(pop3::parse_sasl_mechanism("Cram-Md5") == sasl_mechanism::cram_md5);
    CHECK(pop3::parse_sasl_mechanism("oauthBearer") == sasl_mechanism::oauthbearer);
    CHECK(pop3::parse_sasl_mechanism("scram-sha-256") == sasl_mechanism::scram_sha_256);
    CHECK_FALSE(pop3::parse_sasl_mechanism(""));
    CHECK_FALSE(pop3::parse_sasl_mechanism("PLAIN "));
    CHECK_FALSE(pop3::parse_sasl_mechanism("CRAM_MD5"));
    CHECK_FALSE(pop3::parse_sasl_mechanism("SCRAM-SHA-1"));
    CHECK_FALSE(pop3::parse_sasl_mechanism("XOAUTH"));
    CHECK_FALSE(pop3::parse_sasl_mechanism("GSSAPI"));
}

TEST_CASE("AUTH client lines: cancel, empty initial response, base64", "[sasl]") {
    using pop3::decode_client_response;
    using kind = pop3::sasl_response_kind;
    std::string out = "stale";
    std::error_code ec;

    CHECK_FALSE(decode_client_response("*", out, ec));
    CHECK(ec == error::sasl_cancelled);
    CHECK(out.empty());
    CHECK_FALSE(decode_client_response("*", out, ec, kind::initial));
    CHECK(ec == error::sasl_cancelled);

    out = "stale";
    CHECK(decode_client_response("=", out, ec, kind::initial));
    CHECK(!ec);
    CHECK(out.empty());
    // "=" is only special as an initial response.
    CHECK_FALSE(decode_client_response("=", out, ec, kind::continuation));
    CHECK(ec == error::bad_base64);

    CHECK(decode_client_response("", out, ec));
    CHECK(!ec);
    CHECK(out.empty());

    CHECK(decode_client_response("dGlt", out, ec));
    CHECK(out == "tim");
    CHECK(decode_client_response("dGlt", out, ec, kind::initial));
    CHECK(out == "tim");

    CHECK_FALSE(decode_client_response("**", out, ec));
    CHECK(ec == error::bad_base64);
    CHECK_FALSE(decode_client_response(" *", out, ec));
    CHECK(ec == error::bad_base64);
    CHECK_FALSE(decode_client_response("dGlt ", out, ec));
    CHECK(ec == error::bad_base64);
}

TEST_CASE("PLAIN encoder", "[sasl][plain]") {
    std::error_code ec;
    // RFC 4616 section 4 example.
    CHECK(b64(pop3::sasl_encode_plain("tim", "tanstaaftanstaaf", "", ec)) ==
          "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    CHECK(!ec);
    CHECK(pop3::sasl_encode_plain("Ursel", "kurt", "Kurt", ec) == nul("Kurt|Ursel|kurt"));
    CHECK(!ec);

    for (const auto& [authcid, passwd, authzid] :
         {std::tuple<std::string, std::string, std::string>{"", "pw", ""},
          {"tim", "", ""},
          {nul("t|m"), "pw", ""},
          {"tim", nul("p|w"), ""},
          {"tim", "pw", nul("a|z")}}) {
        INFO(pop3::escape_for_display(authcid + "/" + passwd + "/" + authzid));
        CHECK(pop3::sasl_encode_plain(authcid, passwd, authzid, ec).empty());
        CHECK(ec == error::bad_sasl_message);
    }
}

TEST_CASE("PLAIN decoder", "[sasl][plain]") {
    std::error_code ec;
    pop3::diagnostics diag;
    const std::string msg = unb64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    auto m = pop3::sasl_decode_plain(msg, ec, diag);
    REQUIRE(!ec);
    CHECK(m.authzid.empty());
    CHECK(m.authcid == "tim");
    CHECK(m.passwd == "tanstaaftanstaaf");

    const std::string with_authzid = nul("Kurt|Ursel|kurt");
    m = pop3::sasl_decode_plain(with_authzid, ec, diag);
    REQUIRE(!ec);
    CHECK(m.authzid == "Kurt");
    CHECK(m.authcid == "Ursel");
    CHECK(m.passwd == "kurt");

    // Bytes other than NUL, CR and LF included, pass through.
    const std::string odd = nul("|t\r\nm|p \x01\xff");
    m = pop3::sasl_decode_plain(odd, ec, diag);
    REQUIRE(!ec);
    CHECK(m.authcid == "t\r\nm");
    CHECK(m.passwd == "p \x01\xff");

    const auto decode = [](const std::string& s, std::error_code& e, pop3::diagnostics& d) {
        pop3::sasl_decode_plain(s, e, d);
    };
    check_refused(decode, "");
    check_refused(decode, "timtanstaaf");         // no NUL
    check_refused(decode, nul("tim|tanstaaf"));   // one NUL
    check_refused(decode, nul("|tim|tan|staaf")); // three NULs
    check_refused(decode, nul("|tim|tanstaaf|"));
    check_refused(decode, nul("||tanstaaf")); // empty authcid
    check_refused(decode, nul("|tim|"));      // empty passwd
    check_refused(decode, nul("||"));

    // The password must not reach the diagnostics.
    diag.clear();
    pop3::sasl_decode_plain(nul("|tim|secret|x"), ec, diag);
    CHECK(ec == error::bad_sasl_message);
    CHECK(diag.to_string().find("secret") == std::string::npos);
}

TEST_CASE("LOGIN responses and prompts", "[sasl][login]") {
    const auto r = pop3::sasl_encode_login("tim", "tanstaaf");
    CHECK(r.username == "tim");
    CHECK(r.password == "tanstaaf");
    CHECK(b64(r.username) == "dGlt");
    CHECK(b64(pop3::sasl_login_username_prompt) == "VXNlcm5hbWU6");
    CHECK(b64(pop3::sasl_login_password_prompt) == "UGFzc3dvcmQ6");
}

TEST_CASE("CRAM-MD5 encoder matches RFC 2195", "[sasl][cram]") {
    std::error_code ec;
    const std::string challenge = "<1896.697170952@postoffice.reston.mci.net>";
    CHECK(pop3::sasl_encode_cram_md5("tim", "tanstaaftanstaaf", challenge, ec) ==
          "tim b913a602c7eda7a495b4e6e7334d3890");
    CHECK(!ec);
    // The exchange as the RFC shows it on the wire.
    const std::string wire_challenge =
        unb64("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
    CHECK(b64(pop3::sasl_encode_cram_md5("tim", "tanstaaftanstaaf", wire_challenge, ec)) ==
          "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    CHECK(pop3::sasl_encode_cram_md5("", "pw", challenge, ec).empty());
    CHECK(ec == error::bad_sasl_message);
}

TEST_CASE("CRAM-MD5 decoder and verifier", "[sasl][cram]") {
    std::error_code ec;
    pop3::diagnostics diag;
    const std::string challenge = "<1896.697170952@postoffice.reston.mci.net>";
    const std::string msg = "tim b913a602c7eda7a495b4e6e7334d3890";
    const auto r = pop3::sasl_decode_cram_md5(msg, ec, diag);
    REQUIRE(!ec);
    CHECK(r.user == "tim");
    CHECK(r.digest == "b913a602c7eda7a495b4e6e7334d3890");
    CHECK(pop3::sasl_verify_cram_md5(r, challenge, "tanstaaftanstaaf"));
    CHECK_FALSE(pop3::sasl_verify_cram_md5(r, challenge, "tanstaaftanstaag"));
    CHECK_FALSE(pop3::sasl_verify_cram_md5(r, "<1897.697170952@postoffice.reston.mci.net>",
                                           "tanstaaftanstaaf"));

    const std::string spaced = "tim smith b913a602c7eda7a495b4e6e7334d3890";
    CHECK(pop3::sasl_decode_cram_md5(spaced, ec, diag).user == "tim smith");
    CHECK(!ec);

    const auto decode = [](const std::string& s, std::error_code& e, pop3::diagnostics& d) {
        pop3::sasl_decode_cram_md5(s, e, d);
    };
    check_refused(decode, "");
    check_refused(decode, "tim");
    check_refused(decode, " b913a602c7eda7a495b4e6e7334d3890");     // empty user
    check_refused(decode, "b913a602c7eda7a495b4e6e7334d3890");      // no user, no SP
    check_refused(decode, "timb913a602c7eda7a495b4e6e7334d3890");   // no SP
    check_refused(decode, "tim B913A602C7EDA7A495B4E6E7334D3890");  // uppercase
    check_refused(decode, "tim b913a602c7eda7a495b4e6e7334d389");   // 31 digits
    check_refused(decode, "tim b913a602c7eda7a495b4e6e7334d38900"); // 33 digits
    check_refused(decode, "tim b913a602c7eda7a495b4e6e7334d389g");  // not hex
    check_refused(decode, "tim  913a602c7eda7a495b4e6e7334d3890");
    check_refused(decode, "tim b913a602c7eda7a495b4e6e7334d3890 ");
}

TEST_CASE("XOAUTH2 encoder", "[sasl][xoauth2]") {
    std::error_code ec;
    // Google's documented example.
    const std::string token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
    CHECK(b64(pop3::sasl_encode_xoauth2("someuser@example.com", token, ec)) ==
          "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNr"
          "QmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    CHECK(!ec);
    CHECK(pop3::sasl_encode_xoauth2("u", "t0k==", ec) == soh("user=u^auth=Bearer t0k==^^"));

    for (const auto& [user, tok] : {std::pair<std::string, std::string>{"", "tok"},
                                    {soh("u^x"), "tok"},
                                    {"u", ""},
                                    {"u", "to k"},
                                    {"u", soh("tok^")},
                                    {"u", "=tok"},
                                    {"u", "tok=a"}}) {
        INFO(pop3::escape_for_display(user + "/" + tok));
        CHECK(pop3::sasl_encode_xoauth2(user, tok, ec).empty());
        CHECK(ec == error::bad_sasl_message);
    }
}

TEST_CASE("XOAUTH2 decoder", "[sasl][xoauth2]") {
    std::error_code ec;
    pop3::diagnostics diag;
    const std::string msg =
        unb64("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNr"
              "QmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    auto m = pop3::sasl_decode_xoauth2(msg, ec, diag);
    REQUIRE(!ec);
    CHECK(m.user == "someuser@example.com");
    CHECK(m.token == "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");

    // Any order, "Bearer" in any case, several spaces, unknown keys ignored.
    const std::string reordered = soh("auth=bEARER  abc~+/==^extra=x y^user=u^^");
    m = pop3::sasl_decode_xoauth2(reordered, ec, diag);
    REQUIRE(!ec);
    CHECK(m.user == "u");
    CHECK(m.token == "abc~+/==");

    const auto decode = [](const std::string& s, std::error_code& e, pop3::diagnostics& d) {
        pop3::sasl_decode_xoauth2(s, e, d);
    };
    check_refused(decode, "");
    check_refused(decode, soh("^"));                       // no fields
    check_refused(decode, soh("user=u^auth=Bearer t^"));   // no final ^A
    check_refused(decode, soh("user=u^auth=Bearer t"));    // unterminated value
    check_refused(decode, soh("user=u^auth=Bearer t^^x")); // data after the end
    check_refused(decode, soh("user=u^auth=Bearer t^^^"));
    check_refused(decode, soh("auth=Bearer t^^"));          // no user
    check_refused(decode, soh("user=^auth=Bearer t^^"));    // empty user
    check_refused(decode, soh("user=u^^"));                 // no auth
    check_refused(decode, soh("user=u^auth=Basic dTpw^^")); // not Bearer
    check_refused(decode, soh("user=u^auth=Bearer^^"));     // no token
    check_refused(decode, soh("user=u^auth=Bearer ^^"));
    check_refused(decode, soh("user=u^auth=Bearert^^"));    // no SP
    check_refused(decode, soh("user=u^auth=Bearer t t^^")); // not a b64token
    check_refused(decode, soh("user=u^auth=Bearer =t^^"));
    check_refused(decode, soh("user=u^user=v^auth=Bearer t^^")); // repeated key
    check_refused(decode, soh("user=u^auth=Bearer t^auth=Bearer s^^"));
    check_refused(decode, soh("us3r=u^auth=Bearer t^^"));         // key not ALPHA
    check_refused(decode, soh("=u^auth=Bearer t^^"));             // empty key
    check_refused(decode, soh("user^auth=Bearer t^^"));           // no '='
    check_refused(decode, soh("user=u\x02^auth=Bearer t^^"));     // control octet
    check_refused(decode, soh("user=u\xc3\xa9^auth=Bearer t^^")); // non-ASCII value
    check_refused(decode, nul("user=u|") + soh("^auth=Bearer t^^"));
}

TEST_CASE("OAUTHBEARER encoder", "[sasl][oauthbearer]") {
    std::error_code ec;
    // RFC 7628 section 4.1 example.
    CHECK(b64(pop3::sasl_encode_oauthbearer(
              "user@example.com",
              "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", "server.example.com", 143, ec)) ==
          "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVh"
          "cmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    CHECK(!ec);
    CHECK(pop3::sasl_encode_oauthbearer("u", "t", "", std::nullopt, ec) ==
          soh("n,a=u,^auth=Bearer t^^"));
    CHECK(pop3::sasl_encode_oauthbearer("", "t", "h", std::nullopt, ec) ==
          soh("n,,^host=h^auth=Bearer t^^"));
    CHECK(pop3::sasl_encode_oauthbearer("", "t", "", 0, ec) == soh("n,,^port=0^auth=Bearer t^^"));
    CHECK(pop3::sasl_encode_oauthbearer("a,b=c", "t", "", 65535, ec) ==
          soh("n,a=a=2Cb=3Dc,^port=65535^auth=Bearer t^^"));
    CHECK(!ec);

    CHECK(pop3::sasl_encode_oauthbearer(nul("u|"), "t", "", std::nullopt, ec).empty());
    CHECK(ec == error::bad_sasl_message);
    CHECK(pop3::sasl_encode_oauthbearer("u", "t", soh("h^"), std::nullopt, ec).empty());
    CHECK(ec == error::bad_sasl_message);
    CHECK(pop3::sasl_encode_oauthbearer("u", "", "", std::nullopt, ec).empty());
    CHECK(ec == error::bad_sasl_message);
    CHECK(pop3::sasl_encode_oauthbearer("u", "t t", "", std::nullopt, ec).empty());
    CHECK(ec == error::bad_sasl_message);
}

TEST_CASE("OAUTHBEARER decoder", "[sasl][oauthbearer]") {
    std::error_code ec;
    pop3::diagnostics diag;
    const std::string msg =
        unb64("bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9Qm"
              "VhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    auto m = pop3::sasl_decode_oauthbearer(msg, ec, diag);
    REQUIRE(!ec);
    CHECK(m.cbind_flag == 'n');
    CHECK(m.authzid == "user@example.com");
    CHECK(m.host == "server.example.com");
    CHECK(m.port == 143);
    CHECK(m.token == "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");

    const std::string minimal = soh("y,,^auth=Bearer t^^");
    m = pop3::sasl_decode_oauthbearer(minimal, ec, diag);
    REQUIRE(!ec);
    CHECK(m.cbind_flag == 'y');
    CHECK(m.authzid.empty());
    CHECK(m.host.empty());
    CHECK_FALSE(m.port);
    CHECK(m.token == "t");

    const std::string escaped = soh("n,a=a=2Cb=3Dc,^future=x^port=0^auth=Bearer t^^");
    m = pop3::sasl_decode_oauthbearer(escaped, ec, diag);
    REQUIRE(!ec);
    CHECK(m.authzid == "a,b=c");
    CHECK(m.port == 0);

    // Encode then decode gives the inputs back.
    const std::string round =
        pop3::sasl_encode_oauthbearer("x=,y", "tok/+==", "imap.example", 995, ec);
    REQUIRE(!ec);
    m = pop3::sasl_decode_oauthbearer(round, ec, diag);
    REQUIRE(!ec);
    CHECK(m.authzid == "x=,y");
    CHECK(m.token == "tok/+==");
    CHECK(m.host == "imap.example");
    CHECK(m.port == 995);

    const auto decode = [](const std::string& s, std::error_code& e, pop3::diagnostics& d) {
        pop3::sasl_decode_oauthbearer(s, e, d);
    };
    // GS2 header.
    check_refused(decode, "");
    check_refused(decode, "n");
    check_refused(decode, soh("p=tls-unique,,^auth=Bearer t^^")); // channel binding
    check_refused(decode, soh("x,,^auth=Bearer t^^"));
    check_refused(decode, soh("N,,^auth=Bearer t^^"));
    check_refused(decode, soh(",,^auth=Bearer t^^"));
    check_refused(decode, soh("n,a=,^auth=Bearer t^^"));     // empty authzid
    check_refused(decode, soh("n,a=b=2c,^auth=Bearer t^^")); // lowercase escape
    check_refused(decode, soh("n,a=b=,^auth=Bearer t^^"));   // bad escape
    check_refused(decode, soh("n,a=b=2"));
    check_refused(decode, soh("n,a=u^auth=Bearer t^^"));  // no ',' after authzid
    check_refused(decode, soh("n,b=u,^auth=Bearer t^^")); // not a=
    check_refused(decode, nul("n,a=u|,") + soh("^auth=Bearer t^^"));
    check_refused(decode, soh("n,,auth=Bearer t^^")); // no ^A after header
    check_refused(decode, "n,,");
    // Pairs.
    check_refused(decode, soh("n,,^^")); // no auth
    check_refused(decode, soh("n,,^host=h^^"));
    check_refused(decode, soh("n,,^auth=Bearer t^")); // no final ^A
    check_refused(decode, soh("n,,^auth=Bearer t^^x"));
    check_refused(decode, soh("n,,^auth=Bearer t^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^host=a^host=b^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^auth=Basic dTpw^^"));
    check_refused(decode, soh("n,,^auth=Bearer t t^^"));
    check_refused(decode, soh("n,,^a-b=c^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^host=h\x7f^auth=Bearer t^^"));
    // Port.
    check_refused(decode, soh("n,,^port=^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^port=abc^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^port=-1^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^port=65536^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^port=123456^auth=Bearer t^^"));
    check_refused(decode, soh("n,,^port= 143^auth=Bearer t^^"));
}
