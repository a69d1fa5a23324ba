#include "pop3/client/client.hpp"

#include <charconv>
#include <pop3/protocol/text.hpp>

namespace pop3 {
namespace {

bool is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
           c == '-' || c == '.';
}

[[noreturn]] void bad(std::string_view url, const std::string& why) {
    throw std::invalid_argument("bad POP URL '" + redact_pop_url(url) + "': " + why);
}

std::string percent_decode(std::string_view in, std::string_view url) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        unsigned v = 0;
        if (in.size() - i < 3 ||
            std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16).ptr != in.data() + i + 3)
            bad(url, "malformed %-escape");
        out += static_cast<char>(v);
        i += 2;
    }
    for (char c : out)
        if (c == '\r' || c == '\n' || c == '\0') bad(url, "CR, LF or NUL in the user or password");
    return out;
}

} // namespace

std::string redact_pop_url(std::string_view url) {
    // Whatever precedes the last '@' may hold a password, even in a URL that does not parse.
    const auto at = url.rfind('@');
    if (at == std::string_view::npos) return std::string(url); // no user information
    std::size_t from = 0;
    if (const auto sep = url.find("://"); sep != std::string_view::npos && sep < at) {
        // SCHEME://USER:PASSWORD@...: the user stays, the password goes.
        const auto colon = url.find(':', sep + 3);
        if (colon >= at) return std::string(url); // no password
        from = colon + 1;
    } else {
        // Malformed (pop3:/u:pw@h, u:pw@h): keep "SCHEME:" and slashes, mask the rest.
        std::size_t i = 0;
        while (i < at && is_scheme_char(url[i]))
            ++i;
        if (i > 0 && i < at && url[i] == ':') from = i + 1;
        while (from < at && url[from] == '/')
            ++from;
    }
    return std::string(url.substr(0, from)) + "****" + std::string(url.substr(at));
}

pop_url parse_pop_url(std::string_view url) {
    pop_url u;
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) bad(url, "expected SCHEME://");
    for (char c : url.substr(0, sep))
        u.scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (u.scheme != "pop" && u.scheme != "pop3" && u.scheme != "pop3s")
        bad(url, "scheme must be pop, pop3 or pop3s");
    std::string_view rest = url.substr(sep + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) bad(url, "unexpected path");

    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
            u.password = percent_decode(userinfo.substr(colon + 1), url);
            userinfo = userinfo.substr(0, colon);
        }
        if (const auto semi = userinfo.find(';'); semi != std::string_view::npos) {
            const auto param = userinfo.substr(semi + 1);
            if (!iequals(param.substr(0, 5), "auth=") || param.size() == 5)
                bad(url, "expected ;AUTH=mechanism after the user");
            u.auth = std::string(param.substr(5));
            userinfo = userinfo.substr(0, semi);
        }
        u.user = percent_decode(userinfo, url);
    }
    std::string_view port;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) bad(url, "unterminated [IPv6 address]");
        u.host = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') bad(url, "expected :PORT after ]");
            port = rest.substr(1);
        }
    } else {
        const auto colon = rest.find(':');
        u.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    }
    if (u.host.empty()) bad(url, "no host");
    if (!port.empty()) {
        const auto p = parse_decimal(port);
        if (!p || *p == 0 || *p > 65535) bad(url, "port must be 1-65535");
        u.port = static_cast<std::uint16_t>(*p);
        u.explicit_port = true;
    } else {
        u.port = u.scheme == "pop3s" ? 995 : 110;
    }
    return u;
}

} // namespace pop3
