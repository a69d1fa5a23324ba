// pop3-client: the POP3 client library as a program for scripts. One connection, the commands
// given in order, then QUIT. See --help; the command line is a contract that scripts rely on.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <optional>
#include <ostream>
#include <pop3/client/client.hpp>
#include <pop3/client/words.hpp>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/version.hpp>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: pop3-client URL [options] COMMAND...

Connects to a POP3 server, logs in, runs the COMMANDs in order on one connection, then QUITs.

URL:
  pop3://USER:PASSWORD@HOST:PORT     plain TCP (port 110 by default); USER and PASSWORD are
                                     percent-decoded (%40 for '@', %3A for ':', %25 for '%')
  pop3s://USER:PASSWORD@HOST:PORT    implicit TLS (POP3S, port 995 by default)
  pop://USER;AUTH=MECH:PASSWORD@HOST RFC 2384 form: ;AUTH= chooses the login mechanism
                                     (+APOP for APOP, * to pick one from CAPA and the greeting)
  pop3://HOST:PORT                   no user: no login (capa, noop and raw make sense then)

Options (anywhere on the line):
  --tls               implicit TLS, as pop3s:// (port 995 unless the URL gives one)
  --starttls          upgrade the plain connection with STLS (RFC 2595) before logging in;
                      fails, rather than going on in plaintext, when the server cannot
  --ca FILE           trust the CA certificate(s) in FILE (PEM) instead of the system store
  --insecure          do not verify the server's certificate (and name) at all
  --auth MECH         log in with SASL AUTH (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2,
                      OAUTHBEARER; the URL's password is the OAuth token for the last two)
                      or with APOP;
                      default: USER/PASS, or the URL's ;AUTH=
  --timeout SECONDS   connect timeout, and how long to wait for the server to make progress
                      (accept or send bytes) during a command (default 60; 0: no limit)
  --max-message SIZE  the most retr or top writes of one message (octets, or K, M, G); a
                      longer one is an error (default: no limit)
  --max-listing SIZE  the most a listing (list, uidl, capa, and raw of LIST, UIDL, CAPA, LANG
                      or AUTH) may hold, in octets or with K, M or G (KiB, MiB, GiB); a longer
                      one is an error (default 64M; retr and top stream and have no limit)
  -v, --verbose       show the dialogue on stderr (passwords and SASL responses masked)
  -h, --help          this text
  --version           print "pop3-client VERSION" and exit

Commands:
  capa          the capabilities, one per line: KEYWORD ARGS...
  stat          "COUNT OCTETS"
  list [N]      "N OCTETS" for each message, or for message N
  uidl [N]      "N UID" for each message, or for message N
  retr N        message N, exactly as it arrived after dot-unstuffing (CRLF line ends,
                nothing added), streamed to stdout in constant memory
  top N L       the headers of message N and its first L body lines, as retr
  dele N        mark message N deleted (removed at the final QUIT); prints the reply line
  noop          prints the reply line
  rset          unmark deleted messages; prints the reply line
  raw 'LINE'    sends LINE as is; prints the status line, then the body lines when LINE is a
                command with a multi-line reply (CAPA, LIST, UIDL without argument, RETR, TOP)

Text from the server (reply lines, listings, capabilities, error messages, -v output) is
printed with CR, LF, NUL and \ as \r \n \0 \\, and other control or non-ASCII octets as \xHH,
so a server cannot send escape sequences to the terminal. The message content that retr, top
and raw 'RETR N' or raw 'TOP N L' print is data: it is written unchanged.

Exit status:
  0  every command succeeded
  1  a connection, TLS, protocol or server error (a -ERR reply): the error, with the
     server's response line, is printed on stderr and no further command runs; the
     connection is then closed WITHOUT QUIT, so messages marked by dele are not deleted
  2  a bad command line

Examples:
  pop3-client 'pop3://user:pass@127.0.0.1:1110' stat list uidl
  pop3-client 'pop3s://user:pass@mail.example.com' retr 1 > message.eml
  pop3-client 'pop3://user:pass@127.0.0.1:1110' --starttls --ca server.pem top 2 0
  pop3-client 'pop3://user:pass@127.0.0.1:1110' --auth CRAM-MD5 -v dele 1
  pop3-client 'pop://user;AUTH=+APOP:pass@127.0.0.1:1110' stat
  pop3-client 'pop3://127.0.0.1:1110' capa raw 'NOOP'
)";

struct cli_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class login_kind { none, user_pass, sasl, apop, any };

struct options {
    pop3::pop_url url;
    pop3::client_options client;
    login_kind login = login_kind::none;
    pop3::sasl_mechanism mechanism = pop3::sasl_mechanism::plain;
    std::vector<pop3::client_step> steps;
    std::uint64_t max_message = 0; // --max-message; 0: no limit
};

// Whether the URL names a port (parse_pop_url always fills one in from the scheme).
bool has_explicit_port(std::string_view url) {
    auto rest = url.substr(url.find("://") + 3);
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        return close != std::string_view::npos && rest.substr(close + 1).starts_with(':');
    }
    return rest.find(':') != std::string_view::npos;
}

void parse_mechanism(std::string_view name, options& o, const std::string& where) {
    if (name == "*") {
        o.login = login_kind::any;
        return;
    }
    if (pop3::iequals(name, "+APOP") || pop3::iequals(name, "APOP")) {
        o.login = login_kind::apop;
        return;
    }
    const auto m = pop3::parse_sasl_mechanism(name);
    if (!m)
        throw cli_error(where + ": unsupported mechanism '" + std::string(name) +
                        "' (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, SCRAM-SHA-256 or APOP)");
    o.login = login_kind::sasl;
    o.mechanism = *m;
}

std::chrono::milliseconds parse_timeout(const std::string& v) {
    double seconds = -1;
    try {
        std::size_t used = 0;
        seconds = std::stod(v, &used);
        if (used != v.size()) seconds = -1;
    } catch (const std::exception&) {
    }
    if (!(seconds >= 0) || seconds > 1e7)
        throw cli_error("--timeout: expected a number of seconds, got '" + v + "'");
    if (seconds == 0) return std::chrono::hours(24 * 365); // "no limit"
    const auto ms = static_cast<std::int64_t>(seconds * 1000);
    return std::chrono::milliseconds(ms > 0 ? ms : 1);
}

// "65536", "512K", "64M", "1G": octets, or KiB, MiB, GiB; at least 1.
std::size_t parse_size(const std::string& flag, const std::string& v) {
    std::string_view digits = v;
    unsigned shift = 0;
    if (!digits.empty()) {
        switch (digits.back()) {
        case 'k':
        case 'K': shift = 10; break;
        case 'm':
        case 'M': shift = 20; break;
        case 'g':
        case 'G': shift = 30; break;
        default: break;
        }
        if (shift != 0) digits.remove_suffix(1);
    }
    const auto n = pop3::parse_decimal(digits);
    if (!n || *n == 0 || *n > (std::numeric_limits<std::size_t>::max() >> shift))
        throw cli_error(flag + ": expected a size in octets (or with K, M or G), got '" + v + "'");
    return static_cast<std::size_t>(*n) << shift;
}

options parse_args(int argc, char** argv) {
    options o;
    std::optional<std::string> url;
    bool tls = false, starttls = false, insecure = false;
    std::optional<std::string> ca, auth, timeout, max_listing, max_message;
    bool verbose = false;
    const std::vector<std::string_view> args(argv, argv + argc);

    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
        // --flag VALUE or --flag=VALUE
        auto value = [&](std::string_view flag) -> std::optional<std::string> {
            if (a == flag) {
                if (!next) throw cli_error(a + ": missing value");
                ++i;
                return std::string(next);
            }
            if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=')
                return a.substr(flag.size() + 1);
            return std::nullopt;
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(pop3::exit_code_after_stdout("pop3-client", 0));
        }
        if (a == "--version") {
            std::printf("pop3-client %s\n", pop3::version);
            std::exit(pop3::exit_code_after_stdout("pop3-client", 0));
        }
        if (a.size() > 1 && a[0] == '-') {
            if (a == "--tls")
                tls = true;
            else if (a == "--starttls")
                starttls = true;
            else if (a == "--insecure")
                insecure = true;
            else if (a == "-v" || a == "--verbose")
                verbose = true;
            else if (auto v = value("--ca"))
                ca = *v;
            else if (auto v2 = value("--auth"))
                auth = *v2;
            else if (auto v3 = value("--timeout"))
                timeout = *v3;
            else if (auto v4 = value("--max-listing"))
                max_listing = *v4;
            else if (auto v5 = value("--max-message"))
                max_message = *v5;
            else
                throw cli_error("unknown option '" + a + "'");
            continue;
        }
        if (!url) {
            url = a;
            continue;
        }
        // A command and its arguments (pop3/client/words.hpp): i moves to its last word.
        try {
            std::size_t at = static_cast<std::size_t>(i);
            o.steps.push_back(pop3::parse_client_step(args, at));
            i = static_cast<int>(at) - 1;
        } catch (const pop3::client_words_error& e) {
            throw cli_error(e.what());
        }
    }

    if (!url) throw cli_error("missing URL");
    if (o.steps.empty()) throw cli_error("missing COMMAND");
    try {
        o.url = pop3::parse_pop_url(*url);
    } catch (const std::invalid_argument& e) {
        // The library's message quotes the URL with the password masked; should it quote the
        // URL as given anywhere, mask that too.
        std::string what = e.what();
        const auto masked = pop3::redact_pop_url(*url);
        for (auto p = what.find(*url); p != std::string::npos;
             p = what.find(*url, p + masked.size()))
            what.replace(p, url->size(), masked);
        throw cli_error(what);
    }
    const bool pop3s = o.url.scheme == "pop3s";
    if (tls && starttls) throw cli_error("--tls and --starttls exclude each other");
    if (pop3s && starttls) throw cli_error("--starttls does not go with a pop3s:// URL");
    if (ca && insecure) throw cli_error("--ca and --insecure exclude each other");

    auto& c = o.client;
    c.host = o.url.host;
    c.tls = pop3s || tls ? pop3::tls_mode::implicit
            : starttls   ? pop3::tls_mode::starttls
                         : pop3::tls_mode::none;
    c.port = has_explicit_port(*url)             ? o.url.port
             : c.tls == pop3::tls_mode::implicit ? std::uint16_t(995)
                                                 : std::uint16_t(110);
    if (ca) {
        if (std::FILE* f = std::fopen(ca->c_str(), "rb"))
            std::fclose(f);
        else
            throw cli_error("--ca: cannot read '" + *ca + "'");
        c.tls_settings.ca_file = *ca;
    }
    c.tls_settings.verify = !insecure;
    c.connect_timeout = c.operation_timeout = parse_timeout(timeout.value_or("60"));
    if (max_listing) {
        c.protocol_limits.max_listing_octets = parse_size("--max-listing", *max_listing);
        // Listings are the only replies pop3-client keeps in memory but raw's.
        c.max_buffered_body = std::max(c.max_buffered_body, c.protocol_limits.max_listing_octets);
    }
    if (max_message) o.max_message = parse_size("--max-message", *max_message);
    if (verbose) {
        c.debuglevel = 1;
        c.debug_stream = &std::cerr;
    }

    if (!o.url.user.empty()) {
        o.login = login_kind::user_pass;
        if (auth)
            parse_mechanism(*auth, o, "--auth");
        else if (!o.url.auth.empty())
            parse_mechanism(o.url.auth, o, "URL ;AUTH=");
        if (o.url.password.empty())
            throw cli_error("the URL gives user '" + o.url.user +
                            "' but no password (pop3://USER:PASSWORD@HOST)");
    } else {
        if (auth) throw cli_error("--auth needs a user in the URL");
        if (!o.url.password.empty()) throw cli_error("the URL gives a password but no user");
    }
    return o;
}

// The -v stream. The library masks PASS, APOP and AUTH initial responses, and SASL response
// lines only when longer than four characters: LOGIN's base64 of a password of up to three
// octets would show. This filter masks every client line of an AUTH exchange.
class sasl_masking_buf : public std::streambuf {
public:
    explicit sasl_masking_buf(std::streambuf* out) : out_(out) {}
    ~sasl_masking_buf() override {
        if (!line_.empty()) emit();
    }

protected:
    int_type overflow(int_type ch) override {
        if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
        line_ += traits_type::to_char_type(ch);
        if (ch == '\n') emit();
        return ch;
    }
    int sync() override { return out_->pubsync(); }

private:
    void emit() {
        std::string_view l = line_;
        if (l.starts_with("*cmd* ")) {
            if (in_exchange_) {
                l = "*cmd* ****\n";
            } else if (std::string_view rest = l.substr(6);
                       pop3::iequals(rest.substr(0, 5), "AUTH ")) {
                in_exchange_ = true; // AUTH MECHANISM [initial response]
            }
        } else if (l.starts_with("*resp* ") && !l.starts_with("*resp* + ")) {
            in_exchange_ = false;
        }
        out_->sputn(l.data(), static_cast<std::streamsize>(l.size()));
        line_.clear();
    }

    std::streambuf* out_;
    std::string line_;
    bool in_exchange_ = false;
};

void write_out(std::string_view data) {
    if (data.empty()) return;
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size())
        throw std::runtime_error("cannot write to stdout");
}

void write_line(std::string_view line) {
    write_out(line);
    write_out("\n");
}

// Server text is never written raw: escape_for_display() turns control octets (ESC of a
// terminal escape sequence included) and non-ASCII octets into \xHH.
std::string shown(std::string_view server_text) {
    return pop3::escape_for_display(server_text, std::string::npos);
}

void write_server_line(std::string_view line) {
    write_line(shown(line));
}

void for_each_line(std::string_view body, void (*f)(std::string_view)) {
    while (!body.empty()) {
        const auto eol = body.find('\n');
        auto line = body.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        f(line);
        body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 1);
    }
}

void log_in(pop3::client& c, const options& o) {
    const auto& u = o.url;
    switch (o.login) {
    case login_kind::none: return;
    case login_kind::user_pass:
        c.user(u.user);
        c.pass_(u.password);
        return;
    case login_kind::apop: c.apop(u.user, u.password); return;
    case login_kind::sasl: c.auth(o.mechanism, u.user, u.password); return;
    case login_kind::any: break;
    }
    // RFC 2384 ;AUTH=*: a challenge-response mechanism when there is one, else USER/PASS.
    pop3::capabilities caps;
    try {
        caps = c.capa();
    } catch (const pop3::protocol_error& e) {
        if (e.code() != pop3::client_error::server_error) throw; // no CAPA: nothing advertised
    }
    if (caps.has_argument("SASL", "CRAM-MD5"))
        c.auth(pop3::sasl_mechanism::cram_md5, u.user, u.password);
    else if (pop3::apop_timestamp(c.getwelcome()))
        c.apop(u.user, u.password);
    else {
        c.user(u.user);
        c.pass_(u.password);
    }
}

// Runs one command; false when it ended the session (raw QUIT).
// The most octets retr and top write of one message (--max-message; 0: no limit), and how
// many the message being written has had.
std::uint64_t max_message_octets = 0;
std::uint64_t message_octets = 0;

// Writes a message's bytes, refusing past --max-message: a server that never ends a message
// must not fill the disk.
void write_message(std::string_view data) {
    message_octets += data.size();
    if (max_message_octets && message_octets > max_message_octets)
        throw std::runtime_error("the message is larger than --max-message (" +
                                 std::to_string(max_message_octets) + " octets)");
    write_out(data);
}

bool run_step(pop3::client& c, const pop3::client_step& s) {
    using w = pop3::client_word;
    switch (s.word) {
    case w::capa: {
        const auto caps = c.capa(); // kept: a range-for over c.capa().entries() would dangle
        for (const auto& [keyword, args] : caps.entries()) {
            std::string line = keyword;
            for (const auto& a : args)
                line += " " + a;
            write_server_line(line);
        }
        break;
    }
    case w::stat: {
        const auto st = c.stat();
        write_line(std::to_string(st.count) + " " + std::to_string(st.octets));
        break;
    }
    case w::list:
        if (!s.number.empty()) {
            const auto e = c.list_one(s.number);
            write_line(std::to_string(e.message) + " " + std::to_string(e.octets));
        } else {
            for (const auto& e : c.list().entries)
                write_line(std::to_string(e.message) + " " + std::to_string(e.octets));
        }
        break;
    case w::uidl:
        if (!s.number.empty()) {
            const auto e = c.uidl_one(s.number);
            write_server_line(std::to_string(e.message) + " " + e.uid);
        } else {
            for (const auto& e : c.uidl().entries)
                write_server_line(std::to_string(e.message) + " " + e.uid);
        }
        break;
    case w::retr:
        message_octets = 0;
        c.retr(s.number, write_message);
        break;
    case w::top:
        message_octets = 0;
        c.top(s.number, s.lines, write_message);
        break;
    case w::dele: write_server_line(c.dele(s.number)); break;
    case w::noop: write_server_line(c.noop()); break;
    case w::rset: write_server_line(c.rset()); break;
    case w::quit: // not offered by pop3-client (it QUITs after the last command)
        c.quit();
        return false;
    case w::raw: {
        std::string_view rest = s.line;
        const auto keyword = pop3::next_token(rest);
        std::size_t args = 0;
        while (!rest.empty()) {
            pop3::next_token(rest);
            ++args;
        }
        const auto* info = pop3::find_command(keyword);
        const bool multi =
            info && pop3::expected_reply(info->id, args) == pop3::reply_shape::multi_line;
        const auto r = c.raw(s.line, multi);
        write_server_line(r.line);
        // A listing is server text; RETR's and TOP's body is the message, data as retr's.
        if (multi && r.ok())
            for_each_line(r.body,
                          pop3::carries_listing(info->id, args) ? write_server_line : write_line);
        if (!r.ok())
            throw pop3::protocol_error(pop3::client_error::server_error, shown(r.line), r.line,
                                       r.code_kind, r.code);
        if (info && info->id == pop3::command_id::quit) {
            c.close();
            return false;
        }
        break;
    }
    }
    return true;
}

int run(options o) {
    sasl_masking_buf masking(std::cerr.rdbuf());
    std::ostream debug(&masking);
    if (o.client.debug_stream) o.client.debug_stream = &debug;
    pop3::client c(o.client);
    log_in(c, o);
    max_message_octets = o.max_message;
    bool open = true;
    for (const auto& s : o.steps)
        if (open) open = run_step(c, s);
    if (open) c.quit();
    if (std::fflush(stdout) != 0) throw std::runtime_error("cannot write to stdout");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    try {
        o = parse_args(argc, argv);
    } catch (const cli_error& e) {
        std::fprintf(stderr, "pop3-client: %s (see pop3-client --help)\n", e.what());
        return 2;
    }
    try {
        return run(std::move(o));
    } catch (const pop3::protocol_error& e) {
        std::string what = e.what(); // the library escapes the server text it quotes
        const auto response = shown(e.response());
        if (!response.empty() && what.find(response) == std::string::npos) what += ": " + response;
        std::fflush(stdout);
        std::fprintf(stderr, "pop3-client: %s\n", what.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "pop3-client: %s\n", e.what());
        return 1;
    }
}
