#include "pop3/protocol/sasl.hpp"

#include "pop3/protocol/base64.hpp"
#include "pop3/protocol/digest.hpp"

#include <array>

namespace pop3 {
namespace {

constexpr std::array<std::string_view, 6> mechanism_names = {
    "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-256"};

constexpr char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
    return true;
}

constexpr bool is_alpha(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// RFC 7628 value = *(VCHAR / SP / HTAB / CR / LF).
constexpr bool is_value_char(char c) noexcept {
    return (c >= 0x20 && c <= 0x7e) || c == '\t' || c == '\r' || c == '\n';
}
bool is_value(std::string_view v) noexcept {
    for (const char c : v)
        if (!is_value_char(c)) return false;
    return true;
}

// RFC 6750 b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
bool is_b64token(std::string_view t) noexcept {
    std::size_t i = 0;
    for (; i < t.size(); ++i) {
        const char c = t[i];
        if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
              c == '+' || c == '/'))
            break;
    }
    if (i == 0) return false;
    for (; i < t.size(); ++i)
        if (t[i] != '=') return false;
    return true;
}

// Parses an Authorization value "Bearer" 1*SP b64token; returns the token or empty.
std::string_view bearer_token(std::string_view auth) noexcept {
    constexpr std::string_view scheme = "Bearer";
    if (auth.size() <= scheme.size() || !iequals(auth.substr(0, scheme.size()), scheme) ||
        auth[scheme.size()] != ' ')
        return {};
    auth.remove_prefix(scheme.size());
    while (!auth.empty() && auth.front() == ' ')
        auth.remove_prefix(1);
    return is_b64token(auth) ? auth : std::string_view{};
}

// Sets the decoder failure; `at` is the byte position within the message, for the message.
template <class T>
T refuse(std::error_code& ec, diagnostics& diag, std::string_view what, std::size_t at) {
    ec = error::bad_sasl_message;
    std::string msg(what);
    msg += " (at byte ";
    msg += std::to_string(at);
    msg += ')';
    diag.set(msg, {});
    return T{};
}

std::string refuse_encode(std::error_code& ec) {
    ec = error::bad_sasl_message;
    return {};
}

// Fields shared by XOAUTH2 and OAUTHBEARER, from ^A-terminated key=value pairs ending in ^A.
struct kv_fields {
    std::optional<std::string_view> user, auth, host, port;
};

// Parses `pairs`, which starts at byte `base` of the message. Returns false and fills `ec` and
// `diag` on error.
bool parse_kvpairs(std::string_view pairs, std::size_t base, kv_fields& out, std::error_code& ec,
                   diagnostics& diag) {
    std::size_t pos = 0;
    for (;;) {
        if (pos == pairs.size())
            return refuse<bool>(ec, diag, "key=value list lacks its final ^A", base + pos);
        if (pairs[pos] == '\x01') {
            if (pos + 1 != pairs.size())
                return refuse<bool>(ec, diag, "data after the final ^A", base + pos + 1);
            return true;
        }
        std::size_t k = pos;
        while (k < pairs.size() && is_alpha(pairs[k]))
            ++k;
        if (k == pos || k == pairs.size() || pairs[k] != '=')
            return refuse<bool>(ec, diag, "key is not 1*ALPHA followed by '='", base + k);
        const std::string_view key = pairs.substr(pos, k - pos);
        const std::size_t end = pairs.find('\x01', k + 1);
        if (end == std::string_view::npos)
            return refuse<bool>(ec, diag, "value is not terminated by ^A", base + k + 1);
        const std::string_view value = pairs.substr(k + 1, end - k - 1);
        for (std::size_t i = 0; i < value.size(); ++i)
            if (!is_value_char(value[i]))
                return refuse<bool>(ec, diag, "forbidden octet in a value", base + k + 1 + i);
        std::optional<std::string_view>* slot = nullptr;
        if (key == "user")
            slot = &out.user;
        else if (key == "auth")
            slot = &out.auth;
        else if (key == "host")
            slot = &out.host;
        else if (key == "port")
            slot = &out.port;
        if (slot != nullptr) {
            if (slot->has_value()) return refuse<bool>(ec, diag, "key appears twice", base + pos);
            *slot = value;
        }
        pos = end + 1;
    }
}

} // namespace

std::string_view sasl_mechanism_name(sasl_mechanism m) noexcept {
    const auto i = static_cast<std::size_t>(m);
    return i < mechanism_names.size() ? mechanism_names[i] : std::string_view{};
}

std::optional<sasl_mechanism> parse_sasl_mechanism(std::string_view name) noexcept {
    for (std::size_t i = 0; i < mechanism_names.size(); ++i)
        if (iequals(name, mechanism_names[i])) return static_cast<sasl_mechanism>(i);
    return std::nullopt;
}

bool decode_client_response(std::string_view line, std::string& out, std::error_code& ec,
                            sasl_response_kind kind) {
    out.clear();
    ec.clear();
    if (line == "*") {
        ec = error::sasl_cancelled;
        return false;
    }
    if (kind == sasl_response_kind::initial && line == "=") return true;
    return base64_decode(line, out, ec);
}

// ---- Client encoders ----

std::string sasl_encode_plain(std::string_view authcid, std::string_view passwd,
                              std::string_view authzid, std::error_code& ec) {
    ec.clear();
    constexpr char nul = '\0';
    if (authcid.empty() || passwd.empty() || authcid.find(nul) != std::string_view::npos ||
        passwd.find(nul) != std::string_view::npos || authzid.find(nul) != std::string_view::npos)
        return refuse_encode(ec);
    std::string out;
    out.reserve(authzid.size() + authcid.size() + passwd.size() + 2);
    out.append(authzid).append(1, nul).append(authcid).append(1, nul).append(passwd);
    return out;
}

sasl_login_responses sasl_encode_login(std::string_view user, std::string_view password) {
    return {std::string(user), std::string(password)};
}

std::string sasl_encode_cram_md5(std::string_view user, std::string_view password,
                                 std::string_view challenge, std::error_code& ec) {
    ec.clear();
    if (user.empty()) return refuse_encode(ec);
    std::string out(user);
    out += ' ';
    out += hmac_md5_hex(password, challenge);
    return out;
}

std::string sasl_encode_xoauth2(std::string_view user, std::string_view token,
                                std::error_code& ec) {
    ec.clear();
    if (user.empty() || !is_value(user) || !is_b64token(token)) return refuse_encode(ec);
    std::string out = "user=";
    out.append(user)
        .append("\x01"
                "auth=Bearer ")
        .append(token)
        .append("\x01\x01");
    return out;
}

std::string sasl_encode_oauthbearer(std::string_view user, std::string_view token,
                                    std::string_view host, std::optional<std::uint16_t> port,
                                    std::error_code& ec) {
    ec.clear();
    if (user.find('\0') != std::string_view::npos || !is_value(host) || !is_b64token(token))
        return refuse_encode(ec);
    std::string out = "n,";
    if (!user.empty()) out.append("a=").append(sasl_escape_name(user));
    out += ",\x01";
    if (!host.empty()) out.append("host=").append(host).append(1, '\x01');
    if (port) out.append("port=").append(std::to_string(*port)).append(1, '\x01');
    out.append("auth=Bearer ").append(token).append("\x01\x01");
    return out;
}

// ---- Server decoders ----

sasl_plain_message sasl_decode_plain(std::string_view message, std::error_code& ec,
                                     diagnostics& diag) {
    ec.clear();
    diag.clear();
    using R = sasl_plain_message;
    const std::size_t first = message.find('\0');
    if (first == std::string_view::npos)
        return refuse<R>(ec, diag, "PLAIN message has no NUL separator", message.size());
    const std::size_t second = message.find('\0', first + 1);
    if (second == std::string_view::npos)
        return refuse<R>(ec, diag, "PLAIN message has one NUL separator, not two", message.size());
    const std::size_t third = message.find('\0', second + 1);
    if (third != std::string_view::npos)
        return refuse<R>(ec, diag, "PLAIN message has more than two NULs", third);
    if (second == first + 1) return refuse<R>(ec, diag, "PLAIN authcid is empty", second);
    if (second + 1 == message.size())
        return refuse<R>(ec, diag, "PLAIN password is empty", message.size());
    return {message.substr(0, first), message.substr(first + 1, second - first - 1),
            message.substr(second + 1)};
}

sasl_cram_md5_response sasl_decode_cram_md5(std::string_view message, std::error_code& ec,
                                            diagnostics& diag) {
    ec.clear();
    diag.clear();
    using R = sasl_cram_md5_response;
    constexpr std::size_t hex_len = 32;
    if (message.size() < hex_len + 2)
        return refuse<R>(ec, diag, "CRAM-MD5 response is shorter than user SP 32 hex digits",
                         message.size());
    const std::size_t sp = message.size() - hex_len - 1;
    if (message[sp] != ' ')
        return refuse<R>(ec, diag, "CRAM-MD5 response lacks SP before 32 hex digits", sp);
    const std::string_view hex = message.substr(sp + 1);
    for (std::size_t i = 0; i < hex.size(); ++i) {
        const char c = hex[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'f')))
            return refuse<R>(ec, diag, "CRAM-MD5 digest is not lowercase hex", sp + 1 + i);
    }
    return {message.substr(0, sp), hex};
}

bool sasl_verify_cram_md5(const sasl_cram_md5_response& response, std::string_view challenge,
                          std::string_view password) {
    return constant_time_equal(response.digest, hmac_md5_hex(password, challenge));
}

sasl_xoauth2_message sasl_decode_xoauth2(std::string_view message, std::error_code& ec,
                                         diagnostics& diag) {
    ec.clear();
    diag.clear();
    using R = sasl_xoauth2_message;
    kv_fields f;
    if (!parse_kvpairs(message, 0, f, ec, diag)) return {};
    if (!f.user || f.user->empty())
        return refuse<R>(ec, diag, "XOAUTH2 message has no user", message.size());
    if (!f.auth) return refuse<R>(ec, diag, "XOAUTH2 message has no auth", message.size());
    const std::string_view token = bearer_token(*f.auth);
    if (token.empty())
        return refuse<R>(ec, diag, "XOAUTH2 auth is not \"Bearer\" SP b64token",
                         static_cast<std::size_t>(f.auth->data() - message.data()));
    return {*f.user, token};
}

sasl_oauthbearer_message sasl_decode_oauthbearer(std::string_view message, std::error_code& ec,
                                                 diagnostics& diag) {
    ec.clear();
    diag.clear();
    using R = sasl_oauthbearer_message;
    R out;
    // gs2-cbind-flag ","
    if (message.substr(0, 2) == "p=")
        return refuse<R>(ec, diag, "OAUTHBEARER does not support channel binding (p=)", 0);
    if (message.size() < 2 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',')
        return refuse<R>(ec, diag, "GS2 header does not start with \"n,\" or \"y,\"", 0);
    out.cbind_flag = message[0];
    std::size_t pos = 2;
    // [ "a=" saslname ] ","
    if (message.substr(pos, 2) == "a=") {
        pos += 2;
        const std::size_t start = pos;
        for (; pos < message.size() && message[pos] != ','; ++pos) {
            const char c = message[pos];
            if (c == '\0') return refuse<R>(ec, diag, "NUL in GS2 authzid", pos);
            if (c != '=') {
                out.authzid += c;
                continue;
            }
            const std::string_view esc = message.substr(pos, 3);
            if (esc == "=2C")
                out.authzid += ',';
            else if (esc == "=3D")
                out.authzid += '=';
            else
                return refuse<R>(ec, diag, "'=' in GS2 authzid is not =2C or =3D", pos);
            pos += 2;
        }
        if (pos == start) return refuse<R>(ec, diag, "GS2 authzid \"a=\" is empty", pos);
    }
    if (pos >= message.size() || message[pos] != ',')
        return refuse<R>(ec, diag, "GS2 header does not end with ','", pos);
    ++pos;
    if (pos >= message.size() || message[pos] != '\x01')
        return refuse<R>(ec, diag, "GS2 header is not followed by ^A", pos);
    ++pos;
    kv_fields f;
    if (!parse_kvpairs(message.substr(pos), pos, f, ec, diag)) return {};
    if (!f.auth) return refuse<R>(ec, diag, "OAUTHBEARER message has no auth", message.size());
    out.token = bearer_token(*f.auth);
    if (out.token.empty())
        return refuse<R>(ec, diag, "OAUTHBEARER auth is not \"Bearer\" SP b64token",
                         static_cast<std::size_t>(f.auth->data() - message.data()));
    if (f.host) out.host = *f.host;
    if (f.port) {
        const std::string_view p = *f.port;
        const auto at = static_cast<std::size_t>(p.data() - message.data());
        if (p.empty() || p.size() > 5)
            return refuse<R>(ec, diag, "OAUTHBEARER port is not 1 to 5 digits", at);
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
            if (!is_digit(p[i]))
                return refuse<R>(ec, diag, "OAUTHBEARER port is not decimal", at + i);
            v = v * 10 + static_cast<std::uint32_t>(p[i] - '0');
        }
        if (v > 65535) return refuse<R>(ec, diag, "OAUTHBEARER port exceeds 65535", at);
        out.port = static_cast<std::uint16_t>(v);
    }
    return out;
}

std::string sasl_escape_name(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        if (c == ',')
            out += "=2C";
        else if (c == '=')
            out += "=3D";
        else
            out += c;
    }
    return out;
}

bool sasl_unescape_name(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == ',') return false;
        if (in[i] != '=') {
            out += in[i];
            continue;
        }
        const auto esc = in.substr(i, 3);
        if (esc == "=2C")
            out += ',';
        else if (esc == "=3D")
            out += '=';
        else
            return false;
        i += 2;
    }
    return true;
}

} // namespace pop3
