// The client fuzzer's inputs: a dictionary of hostile replies and delivery faults per role of a
// correct server's dialogue, drawn into one [case.deviation] per input, and the input as a client
// case file (docs/client-conformance.md), which is also how the runner gets it.
#include "pop3/fuzzer/client_campaign.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <pop3/conformance/transcript.hpp>
#include <pop3/mockserver/maildrop.hpp>
#include <pop3/protocol/error.hpp>
#include <string_view>

namespace pop3::fuzzer {
namespace {

using conformance::client_task;
using conformance::client_tls;
using namespace std::string_literals;

// The correct server's maildrop (the cases' "default"): what listings and bodies are made of.
struct served_mail {
    std::vector<std::string> contents;
    std::vector<std::string> uids;
    std::uint64_t total = 0;
};

const served_mail& mail() {
    static const served_mail m = [] {
        served_mail out;
        for (const auto& msg : mock::default_maildrop()->snapshot()) {
            out.contents.push_back(msg->content);
            out.uids.push_back(msg->uid);
            out.total += msg->content.size();
        }
        return out;
    }();
    return m;
}

std::string repeat(char c, std::size_t n) {
    return std::string(n, c);
}

// RFC 1939 §3: a line that starts with "." gets another.
std::string stuffed(std::string_view content) {
    std::string out;
    bool line_start = true;
    for (char c : content) {
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = c == '\n';
    }
    return out;
}

// Octet counts and message numbers that break naive parsers.
const std::vector<std::string>& number_dictionary() {
    static const std::vector<std::string> d = {
        "0",
        "-1",
        "2147483648",           // 2^31
        "4294967297",           // 2^32+1
        "9223372036854775807",  // 2^63-1
        "9223372036854775808",  // 2^63
        "9223372036854775809",  // 2^63+1
        "18446744073709551615", // 2^64-1
        "18446744073709551617", // 2^64+1
        repeat('9', 1000),
        "1e9",
        "0x10",
        "+5",
        "100000",
    };
    return d;
}

const std::vector<std::int64_t>& octet_deltas() {
    static const std::vector<std::int64_t> d = {
        1, -1, -50, 100000, std::int64_t{1} << 31, std::int64_t{1} << 40, -(std::int64_t{1} << 40)};
    return d;
}

// Single-line replies: +OK/-ERR variants, line ends, NUL, long lines, glued text, codes.
const std::vector<std::string>& status_dictionary() {
    static const std::vector<std::string> d = {
        "+OK\r\n",
        "+OK\n",
        "+OK",
        "+OK \r\n",
        "+OKglued text\r\n",
        "+ok fine\r\n",
        "+OK " + repeat('x', 600) + "\r\n",
        "+OK a\0b\r\n"s,
        "+OK\r",
        "+OK [IN-USE] odd\r\n",
        "+OK done\r\n-ERR injected\r\n",
        "+OK done\r\n+OK injected\r\n",
        "-ERR\r\n",
        "-ERR [AUTH] no\r\n",
        "-ERR [SYS/TEMP] later\r\n",
        "-ERR [SYS/PERM] never\r\n",
        "-ERR [IN-USE] locked\r\n",
        "-ERR [LOGIN-DELAY] 600\r\n",
        "-ERR [" + repeat('X', 300) + "] code\r\n",
        "-ERRglued\r\n",
        "-ERR " + repeat('y', 600) + "\r\n",
        "-ERR\n",
        "\r\n",
        "OK\r\n",
        "+ \r\n",
        "* OK\r\n",
    };
    return d;
}

const std::vector<std::string>& greeting_dictionary() {
    static const std::vector<std::string> d = {
        "+OK\r\n",
        "+OK ready\r\n",
        "+OK ready <" + repeat('a', 1000) + "@pop3kit.test>\r\n",
        "+OK ready <" + repeat('b', 70000) + "@pop3kit.test>\r\n",
        "+OK ready <malformed@pop3kit.test\r\n",
        "+OK ready malformed@pop3kit.test>\r\n",
        "+OK ready <>\r\n",
        "+OK ready <1.2@a> <3.4@b>\r\n",
        "+OK ready <<1.2@a>>\r\n",
        "+OK ready <1.2@a\0>\r\n"s,
        "+OK ready <1.2@a>",
        "+OK ready <1.2@a>\n",
        "+OKready <1.2@a>\r\n",
        "+OK [SYS/TEMP] ready <1.2@a>\r\n",
        "+OK " + repeat('z', 600) + " <1.2@a>\r\n",
        "-ERR go away\r\n",
        "-ERR [IN-USE] busy\r\n",
        "+OK ready <1.2@a>\r\n-ERR injected\r\n",
        "\r\n",
    };
    return d;
}

std::vector<std::string> capa_lines(bool stls) {
    std::vector<std::string> l = {
        "TOP",        "USER",           "SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256",
        "RESP-CODES", "AUTH-RESP-CODE", "EXPIRE NEVER",
        "UIDL"};
    if (stls) l.push_back("STLS");
    l.push_back("IMPLEMENTATION pop3kit-mockserver");
    return l;
}

std::string multi_line(const std::string& status, const std::vector<std::string>& lines,
                       std::string_view eol = "\r\n", bool terminated = true) {
    std::string out = status + std::string(eol);
    for (const auto& l : lines)
        out += l + std::string(eol);
    if (terminated) out += "." + std::string(eol);
    return out;
}

std::vector<std::string> scan_lines() {
    std::vector<std::string> l;
    for (std::size_t i = 0; i < mail().contents.size(); ++i)
        l.push_back(std::to_string(i + 1) + " " + std::to_string(mail().contents[i].size()));
    return l;
}

std::vector<std::string> uid_lines() {
    std::vector<std::string> l;
    for (std::size_t i = 0; i < mail().uids.size(); ++i)
        l.push_back(std::to_string(i + 1) + " " + mail().uids[i]);
    return l;
}

bool ends_line(std::string_view s) {
    return !s.empty() && s.back() == '\n';
}

// A reply of a multi-line role that a client could read to its end.
bool complete_multi_line(std::string_view s) {
    return s.starts_with("-ERR") ? ends_line(s) : s.ends_with("\n.\r\n") || s.ends_with("\n.\n");
}

// The message a strict reader takes from a multi-line reply (status line, CRLF lines, the
// "." line, stuffing removed); nullopt when the reply does not end.
std::optional<std::string> served_body(std::string_view reply) {
    auto at = reply.find("\r\n");
    if (at == std::string_view::npos) return std::nullopt;
    std::string body;
    for (at += 2;;) {
        const auto eol = reply.find("\r\n", at);
        if (eol == std::string_view::npos) return std::nullopt;
        auto line = reply.substr(at, eol - at);
        if (line == ".") return body;
        if (line.starts_with('.')) line.remove_prefix(1);
        body.append(line).append("\r\n");
        at = eol + 2;
    }
}

std::string toml_bool(bool b) {
    return b ? "true" : "false";
}

} // namespace

// Bytes for people (escape_for_display: control and non-ASCII octets escaped), cut at about
// `limit` octets, with the whole size when cut.
std::string shown(std::string_view bytes, std::size_t limit) {
    auto out = escape_for_display(bytes, limit);
    if (bytes.size() > limit) out += " (" + std::to_string(bytes.size()) + " octets)";
    return out;
}

std::string toml_string(std::string_view bytes) {
    std::string out = "\"";
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                constexpr char hex[] = "0123456789ABCDEF";
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

const std::vector<std::string>& client_families() {
    static const std::vector<std::string> f = {
        "greeting/status",    "capa/lines",       "capa/huge-line",
        "stls/inject",        "stls/status",      "stls/tls-failure",
        "login-first/status", "login/status",     "auth-challenge/challenge",
        "stat/octets",        "list/listing",     "list/octet-delta",
        "list/single",        "uidl/listing",     "retr/status",
        "retr/body",          "retr/octet-delta", "top/status",
        "dele/status",        "noop/status",      "rset/status",
        "quit/status"};
    return f;
}

client_mutator::client_mutator(std::uint64_t seed, client_choices choices)
    : rng_(seed), choices_(std::move(choices)) {
    if (choices_.tasks.empty() || choices_.logins.empty() || choices_.tls_modes.empty())
        throw std::invalid_argument("client_mutator: no task, login or TLS mode to choose from");
    const auto& all = client_families();
    for (const auto& f : choices_.families)
        if (std::find(all.begin(), all.end(), f) == all.end())
            throw std::invalid_argument("client_mutator: no deviation family '" + f + "'");
    if (choices_.families.empty()) choices_.families = all;
}

std::size_t client_mutator::pick(std::size_t n) {
    return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n);
}

client_input client_mutator::generate() {
    client_input in;
    in.task = choices_.tasks[pick(choices_.tasks.size())];
    in.login = choices_.logins[pick(choices_.logins.size())];
    in.tls = choices_.tls_modes[pick(choices_.tls_modes.size())];
    const auto& families = choices_.families;
    auto out = variant_of(families[pick(families.size())], std::move(in));
    if (pick(4) == 0) add_delivery_fault(out);
    return out;
}

client_input client_mutator::mutate(const client_input& parent) {
    switch (pick(5)) {
    case 0: { // another task, login or TLS mode
        client_input in = parent;
        switch (pick(3)) {
        case 0: in.task = choices_.tasks[pick(choices_.tasks.size())]; break;
        case 1: in.login = choices_.logins[pick(choices_.logins.size())]; break;
        default: in.tls = choices_.tls_modes[pick(choices_.tls_modes.size())]; break;
        }
        return in;
    }
    case 1: { // a delivery fault added or replaced
        client_input in = parent;
        add_delivery_fault(in);
        return in;
    }
    case 2: { // the delivery fault dropped, or another variant keeping the fault
        client_input in = variant_of(parent.family, parent);
        for (const auto& [k, v] : parent.deviation)
            if (k == "split_at" || k == "drip_bytes" || k == "drip_pause_ms" || k == "delay_ms" ||
                k == "disconnect" || k == "hang")
                if (pick(2)) in.deviation.emplace_back(k, v);
        in.stalls = in.stalls || parent.stalls;
        return in;
    }
    default: return variant_of(parent.family, parent); // another variant of the family
    }
}

void client_mutator::add_delivery_fault(client_input& in) {
    // One fault at a time, replacing any other (the runner serves one rule).
    std::erase_if(in.deviation, [](const auto& kv) {
        const auto& k = kv.first;
        return k == "split_at" || k == "drip_bytes" || k == "drip_pause_ms" || k == "delay_ms" ||
               k == "disconnect" || k == "hang";
    });
    const bool tls_failure = std::any_of(in.deviation.begin(), in.deviation.end(),
                                         [](const auto& kv) { return kv.first == "tls_failure"; });
    switch (pick(tls_failure ? 3 : 6)) {
    case 0: {
        const auto a = 1 + pick(40);
        std::string v = "[" + std::to_string(a);
        if (pick(2)) v += ", " + std::to_string(a + 1 + pick(40));
        in.deviation.emplace_back("split_at", v + "]");
        break;
    }
    case 1:
        in.deviation.emplace_back("drip_bytes", std::to_string(1 + pick(8)));
        in.deviation.emplace_back("drip_pause_ms", std::to_string(pick(3)));
        in.stalls = true;
        break;
    case 2:
        in.deviation.emplace_back("delay_ms", std::to_string(50 + pick(750)));
        in.stalls = true;
        break;
    case 3:
    case 4: {
        static const std::array<std::string, 3> where = {"\"before\"", "\"after\"", ""};
        auto v = where[pick(where.size())];
        if (v.empty()) v = std::to_string(1 + pick(200));
        in.deviation.emplace_back("disconnect", v);
        break;
    }
    default:
        in.deviation.emplace_back("hang", "true");
        in.stalls = true;
        break;
    }
}

client_input client_mutator::variant_of(const std::string& family, client_input base) {
    client_input in;
    in.task = base.task;
    in.login = base.login;
    in.tls = base.tls;
    in.family = family;
    const std::string role = family.substr(0, family.find('/'));
    const std::string kind = family.substr(family.find('/') + 1);
    auto& d = in.deviation;
    d.emplace_back("role", toml_string(role));
    const auto pick_of = [&](const std::vector<std::string>& v) -> const std::string& {
        return v[pick(v.size())];
    };
    const auto reply = [&](const std::string& bytes) {
        d.emplace_back("reply", toml_string(bytes));
    };
    // A RETR reply whose body was changed: a client reading it strictly either gets a whole
    // message (intact only when it equals the original) or waits for the rest (it stalls, and
    // nothing whole was served, so anything delivered is not a served message).
    const auto judged_body = [&](const std::string& bytes, const std::string& original) {
        reply(bytes);
        const auto whole = served_body(bytes);
        in.stalls = !whole;
        in.intact = !whole || *whole == original;
    };
    const auto message = [&] {
        const auto m = 1 + pick(mail().contents.size());
        d.emplace_back("message", std::to_string(m));
        return m;
    };

    if (kind == "status") {
        // A status line for a single-line reply; for RETR and TOP the body stays intact. A
        // second reply after the first line goes after the whole reply as unsolicited bytes
        // (`append`): inside `reply` the runner would count it as part of the reply, and a
        // line-by-line reader that takes it for its next reply would look like a faulty client.
        const auto& entry =
            role == "greeting" ? pick_of(greeting_dictionary()) : pick_of(status_dictionary());
        const auto eol = entry.find('\n');
        const std::string s = eol == std::string::npos ? entry : entry.substr(0, eol + 1);
        const std::string extra = eol == std::string::npos ? "" : entry.substr(eol + 1);
        if (role == "retr" || role == "top") {
            const auto m = message();
            std::string r = s;
            if (s.starts_with("+") && ends_line(s)) {
                const auto& body = mail().contents[m - 1];
                r += stuffed(role == "top" ? body.substr(0, body.find("\r\n\r\n") + 4) : body);
                r += ".\r\n";
            }
            reply(r);
            in.stalls = !complete_multi_line(r);
            // What TOP returns depends on its line count (fetchmail fetches whole messages with
            // TOP n 99999999): what a client delivers from it is not judged.
            in.intact = role == "retr";
        } else {
            reply(s);
            in.stalls = !ends_line(s);
        }
        if (!extra.empty()) d.emplace_back("append", toml_string(extra));
        in.variant = role + " answered " + shown(entry, 60);
    } else if (family == "capa/lines") {
        const bool tls_side = pick(3) == 0;
        if (pick(2)) d.emplace_back("tls", toml_bool(tls_side));
        auto lines = capa_lines(!tls_side);
        std::string what;
        switch (pick(12)) {
        case 0:
            std::erase(lines, "STLS");
            what = "without STLS";
            break;
        case 1:
            std::erase_if(lines, [](const std::string& l) { return l.starts_with("SASL"); });
            what = "without SASL";
            break;
        case 2:
            lines[2] = "SASL PLAIN\x01 LOGIN";
            what = "with a garbled SASL line";
            break;
        case 3:
            lines[2] = "SASL" + [&] {
                std::string s;
                for (int i = 0; i < 300; ++i)
                    s += " X-MECH-" + std::to_string(i);
                return s;
            }();
            what = "with 300 SASL mechanisms";
            break;
        case 4: {
            auto twice = lines;
            lines.insert(lines.end(), twice.begin(), twice.end());
            what = "with every line twice";
            break;
        }
        case 5:
            for (int i = 0; i < 5000; ++i)
                lines.push_back("X-CAPABILITY-" + std::to_string(i));
            what = "with 5000 more lines";
            break;
        case 6:
            lines.push_back("PIPELINING");
            what = "with PIPELINING";
            break;
        case 7:
            std::replace(lines.begin(), lines.end(), std::string("STLS"), std::string("STL S"));
            what = "with STLS garbled";
            break;
        case 8:
            lines.push_back("LOGIN-DELAY " + repeat('9', 40));
            lines.push_back("EXPIRE -1");
            what = "with absurd LOGIN-DELAY and EXPIRE";
            break;
        case 9:
            lines.push_back("IMPLEMENTATION " + repeat('x', 5000));
            what = "with a 5000-octet line";
            break;
        case 10:
            reply(multi_line("+OK", lines, "\n"));
            in.variant = "CAPA with bare LF line ends";
            return in;
        default:
            reply(multi_line("+OK capability list follows", lines, "\r\n", false));
            in.variant = "CAPA without its terminating line";
            in.stalls = true;
            return in;
        }
        reply(multi_line("+OK capability list follows", lines));
        in.variant = "CAPA " + what;
    } else if (family == "capa/huge-line") {
        static const std::array<const char*, 3> sizes = {"100000", "3000000", "300000000"};
        d.emplace_back("huge_line", sizes[pick(sizes.size())]);
        in.variant = "CAPA holds a huge line";
    } else if (family == "stls/inject") {
        static const std::vector<std::string> payloads = {
            "+OK injected\r\n.\r\n",
            "+OK\r\n",
            "-ERR injected\r\n",
            "+OK\r\nUSER\r\n.\r\n+OK\r\n",
            "+OK injected\r\n.\r\n+OK\r\n+OK\r\n",
            "garbage\0\x01 after STLS"s,
            "\r\n",
        };
        const auto& p = pick_of(payloads);
        d.emplace_back("append", toml_string(p));
        in.variant = "plaintext after STLS's +OK: " + shown(p, 60);
    } else if (family == "stls/tls-failure") {
        d.emplace_back("tls_failure", "true");
        in.variant = "STLS +OK, then garbage instead of a TLS handshake";
    } else if (family == "auth-challenge/challenge") {
        if (pick(2)) d.emplace_back("occurrence", std::to_string(1 + pick(2)));
        switch (pick(4)) {
        case 0: {
            static const std::array<std::uint32_t, 3> n = {1, 100000, 4294967295u};
            const auto v = n[pick(n.size())];
            d.emplace_back("scram_iterations", std::to_string(v));
            in.variant = "SCRAM asks for " + std::to_string(v) + " iterations";
            in.stalls = v > 1000000; // the client computes: its time, not a hang of the server
            break;
        }
        default: {
            static const std::vector<std::string> c = {
                "+ !!!!\r\n",
                "+ =\r\n",
                "+ " + repeat('A', 20000) + "\r\n",
                "+\r\n",
                "+ \r\n",
                "+ cj1zaG9ydCxzPSxpPTA=\r\n", // r=short,s=,i=0
                "+ " + repeat('=', 40) + "\r\n",
                "+ AAAA\0\r\n"s,
                "+ AAAA"};
            const auto& s = pick_of(c);
            reply(s);
            in.variant = "AUTH challenge " + shown(s, 60);
            in.stalls = !ends_line(s);
        }
        }
    } else if (family == "stat/octets") {
        const auto& n = pick_of(number_dictionary());
        const auto count = std::to_string(mail().contents.size());
        switch (pick(6)) {
        case 0:
            reply("+OK " + n + " " + std::to_string(mail().total) + "\r\n");
            in.variant = "STAT counts " + n.substr(0, 40) + " messages";
            break;
        case 1:
            reply("+OK " + count + "\r\n");
            in.variant = "STAT without octets";
            break;
        case 2:
            d.emplace_back("octet_delta",
                           std::to_string(octet_deltas()[pick(octet_deltas().size())]));
            in.variant = "STAT's octets off";
            break;
        default:
            reply("+OK " + count + " " + n + "\r\n");
            in.variant = "STAT announces " + n.substr(0, 40) + " octets";
        }
    } else if (family == "list/listing" || family == "uidl/listing") {
        d.emplace_back("form", "\"listing\"");
        const bool list = role == "list";
        auto lines = list ? scan_lines() : uid_lines();
        const auto k = pick(lines.size());
        const auto number = std::to_string(k + 1);
        std::string what;
        bool terminated = true;
        std::string eol = "\r\n";
        switch (pick(9)) {
        case 0:
        case 1:
        case 2:
            if (list) {
                const auto& n = pick_of(number_dictionary());
                lines[k] = number + " " + n;
                what = "message " + number + " announced as " + n.substr(0, 40) + " octets";
            } else {
                static const std::vector<std::string> uids = {
                    repeat('u', 71), repeat('u', 5000), "../../etc/passwd",
                    "a/b",           mail().uids[0],    "",
                    "with space",    "\x01\x02",        repeat('v', 200000)};
                const auto& u = pick_of(uids);
                lines[k] = number + " " + u;
                what = "message " + number + "'s unique-id is " + shown(u, 30);
            }
            break;
        case 3:
            lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(k));
            what = "message " + number + "'s line missing";
            break;
        case 4:
            lines.push_back(list ? "4 100" : "4 default-4");
            what = "an extra line for a message 4";
            break;
        case 5:
            lines.push_back(lines[k]);
            what = "message " + number + "'s line twice";
            break;
        case 6:
            lines[k] = pick_of(number_dictionary()) + (list ? " 100" : " uid-x");
            what = "a line with message number " + lines[k].substr(0, 40);
            break;
        case 7:
            for (int i = 0; i < 100000; ++i)
                lines.push_back(std::to_string(4 + i) + (list ? " 1" : " u"));
            what = "100,000 extra lines";
            break;
        default:
            if (pick(2)) {
                terminated = false;
                what = "no terminating line";
                in.stalls = true;
            } else {
                eol = "\n";
                what = "bare LF line ends";
            }
        }
        reply(multi_line("+OK", lines, eol, terminated));
        in.variant = (list ? "LIST: " : "UIDL: ") + what;
    } else if (family == "list/octet-delta" || family == "retr/octet-delta") {
        if (role == "list")
            d.emplace_back("form", "\"listing\"");
        else
            message();
        const auto delta = octet_deltas()[pick(octet_deltas().size())];
        d.emplace_back("octet_delta", std::to_string(delta));
        in.variant = (role == "list" ? "LIST's sizes" : "RETR's octet count") + std::string(" ") +
                     (delta > 0 ? "+" : "") + std::to_string(delta);
    } else if (family == "list/single") {
        d.emplace_back("form", "\"single\"");
        const auto m = message();
        const auto& n = pick_of(number_dictionary());
        reply("+OK " + std::to_string(m) + " " + n + "\r\n");
        in.variant = "LIST " + std::to_string(m) + " announces " + n.substr(0, 40) + " octets";
    } else if (family == "retr/body") {
        const auto m = message();
        const auto& body = mail().contents[m - 1];
        const std::string status = "+OK " + std::to_string(body.size()) + " octets\r\n";
        switch (pick(9)) {
        case 0:
            d.emplace_back("bare_lf", "true");
            in.variant = "RETR with bare LF line ends";
            in.intact = false;
            break;
        case 1:
            d.emplace_back("drop_terminator", "true");
            in.variant = "RETR without its terminating line";
            in.stalls = true;
            break;
        case 2:
            d.emplace_back("endless_body", "true");
            in.variant = "RETR's body never ends";
            in.intact = false;
            in.stalls = true;
            break;
        case 3: {
            static const std::array<const char*, 3> sizes = {"100000", "2000000", "70000000"};
            d.emplace_back("huge_line", sizes[pick(sizes.size())]);
            in.variant = "RETR's body holds a huge line";
            in.intact = false;
            break;
        }
        case 4:
            judged_body(status + body + ".\r\n", body);
            in.variant = "RETR's body not dot-stuffed";
            break;
        case 5:
            reply(status + stuffed(body) + ".\n");
            in.variant = "RETR's terminator with a bare LF";
            in.stalls = true;
            break;
        case 6:
            d.emplace_back("append", toml_string("+OK unsolicited\r\n"));
            in.variant = "RETR followed by an unsolicited line";
            break;
        case 7: {
            const auto cut = body.rfind("\r\n", body.size() - 3);
            judged_body(status + stuffed(body.substr(0, cut == std::string::npos ? 0 : cut + 2)) +
                            ".\r\n",
                        body);
            in.variant = "RETR serves the message without its last line";
            break;
        }
        default:
            judged_body(status + stuffed(body.substr(0, body.size() - 2)) + ".\r\n", body);
            in.variant = "RETR's last line runs into the terminator";
        }
    } else {
        // Unknown family (a corpus from another version): a plain status deviation instead.
        return variant_of("noop/status", std::move(base));
    }
    return in;
}

std::string describe(const client_input& in) {
    std::string s = in.variant;
    for (const auto& [k, v] : in.deviation) {
        if (k == "split_at")
            s += ", split into writes at " + v;
        else if (k == "drip_bytes")
            s += ", dripped " + v + " octets at a time";
        else if (k == "delay_ms")
            s += ", delayed " + v + " ms";
        else if (k == "disconnect")
            s += ", the connection closed at " + v;
        else if (k == "hang")
            s += ", then silence";
    }
    return s;
}

void redescribe_after_minimising(client_input& in,
                                 const std::vector<std::pair<std::string, std::string>>& drawn) {
    // describe() spells out the delivery fault's keys itself; the variant tells the others.
    const auto changes = [](const auto& keys) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& kv : keys)
            if (kv.first != "role" && kv.first != "split_at" && kv.first != "drip_bytes" &&
                kv.first != "drip_pause_ms" && kv.first != "delay_ms" && kv.first != "disconnect" &&
                kv.first != "hang")
                out.push_back(kv);
        return out;
    };
    const auto left = changes(in.deviation);
    if (left == changes(drawn)) return;
    std::string v;
    for (const auto& [key, value] : left)
        v += (v.empty() ? "" : ", ") + key + " = " + shown(value, 60);
    in.variant = v.empty() ? "the reply as a correct server sends it" : v;
}

std::string client_case_toml(const client_input& in, const case_text_info& info) {
    std::string t;
    for (const auto& c : info.comments) {
        // One comment line per line of text, control octets shown escaped.
        std::size_t from = 0;
        while (from <= c.size()) {
            const auto nl = c.find('\n', from);
            const auto line =
                c.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
            t += "# " + shown(line, 400) + "\n";
            if (nl == std::string::npos) break;
            from = nl + 1;
        }
    }
    t += "[[case]]\n";
    t += "id = " + toml_string(info.id) + "\n";
    t += "title = " + toml_string(info.title) + "\n";
    t += "rfc = " + toml_string(info.rfc) + "\n";
    t += "level = \"MUST\"\n";
    t += "task = " + toml_string(conformance::to_string(in.task)) + "\n";
    t += "login = " + toml_string(in.login) + "\n";
    t += "tls = " + toml_string(conformance::to_string(in.tls)) + "\n";
    t += "expect = \"info\"\n";
    t += "detectable = " + toml_bool(in.intact) + "\n";
    if (!info.why.empty()) t += "why = " + toml_string(info.why) + "\n";
    if (in.deviation.empty()) return t; // a control run: the correct server as it is
    t += "\n[case.deviation]\n";
    for (const auto& [k, v] : in.deviation)
        t += k + " = " + v + "\n";
    return t;
}

conformance::client_case client_case_of(const client_input& in, const case_text_info& info) {
    auto cases = conformance::parse_client_cases(client_case_toml(in, info), "pop3-fuzz-input");
    if (cases.size() != 1) throw conformance::transcript_error("pop3-fuzz-input: not one case");
    return std::move(cases.front());
}

} // namespace pop3::fuzzer
