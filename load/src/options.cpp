#include "pop3/load/load.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <cmath>

namespace pop3::load {

const char* const usage_text =
    R"(usage: pop3-load --target URL [--connections N] [--duration S] [--mix LIST]
                 [--tls | --starttls] [--json FILE] [--html FILE] [options]

Generates POP3 load: N connections, each running one session after another for S seconds, then
prints what it measured. Each session opens a new connection, reads the greeting, runs the
commands of the mix in order, lock-step (one command, then its reply), and closes the
connection.

  --target URL        pop3://USER:PASSWORD@HOST:PORT, or pop3s:// for implicit TLS (port
                      110 / 995 by default). USER and PASSWORD are percent-decoded. "%d" or
                      "{n}" in USER is the connection number 1..N: connection i logs in as
                      that user (pop3://u%d:pass@...: u1..uN). Use it with more than one
                      connection: a maildrop serves one session at a time (RFC 1939 §8), so
                      connections sharing a user get -ERR [IN-USE] to PASS.
  --connections N     concurrent connections (default 1)
  --duration S        seconds to run, decimals allowed (default 10)
  --mix LIST          the commands of each session, comma-separated, in order (default
                      login,stat,list,uidl,quit):
                        login   USER, then PASS
                        capa stat list uidl noop rset quit   the command of that name
                        retr dele   with a message number: --message N if given; otherwise
                                a random message of those the session's last STAT or LIST
                                reply announced (one pick per session, shared by its RETR
                                and DELE), or message 1 when no STAT or LIST came before
                      DELE keeps the maildrop full: when the mix has dele but no rset, an RSET
                      is sent before the first QUIT after a DELE (it shows as its own RSET
                      row). A mix naming rset itself gets exactly what it says
                      (login,rset,dele,quit really deletes). A mix without quit closes the
                      connection without QUIT: the server discards the deletions.
  --tls               implicit TLS, as pop3s:// (port 995 unless the URL gives one)
  --starttls          upgrade with STLS after the greeting; a session whose STLS is not
                      answered +OK fails (it never goes on in plaintext)
  --ca FILE           trust the CA certificate(s) in FILE (PEM) instead of the system store
  --insecure          do not verify the server's certificate and name
  --message N         RETR and DELE always use message N
  --json FILE         also write the report as JSON into FILE ("-": stdout, instead of text)
  --html FILE         also write the report as one self-contained HTML page into FILE ("-":
                      stdout, instead of text): the figures, and inline SVG charts of the
                      latency histogram of each command, sessions/s and errors per second
  --timeout S         an operation (connect, handshake, a reply) fails with "timeout" when
                      the server makes no progress for S seconds (default 10; 0: never)
  --threads N         I/O threads, the connections spread over them (default 1)
  --allow-remote      allow a target other than 127.0.0.0/8, ::1 or localhost
  --quiet             no progress line
  -h, --help          this text
  --version           print "pop3-load VERSION" and exit

While it runs, a progress line on stderr once a second (rewritten in place on a terminal):
elapsed seconds, completed sessions, commands, errors (both kinds below).

The run stops at its duration, or on Ctrl-C (SIGINT) or SIGTERM: no new command starts,
commands in flight get 2 seconds to finish (a second Ctrl-C aborts them at once), and the
report is printed. Sessions cut short are counted as unfinished, not as errors.

Report (stdout): sessions completed, failed and unfinished, sessions/s, commands/s, MB/s of
body octets received (multi-line replies, dot-unstuffed; 1 MB = 10^6 octets), latency per
command: count, p50, p90, p99, max in milliseconds (connect: TCP connect to greeting; TLS:
the handshake; session: a whole completed session). Then errors by kind: connection and
protocol errors by name (connection_refused, connection_reset, connection_closed, timeout,
tls_handshake, plaintext_after_stls, or a pop3::error name such as eof_in_reply, bare_lf)
each ending its session; and -ERR replies by command and response code. A -ERR to STLS, USER
or PASS fails the session; any other -ERR is counted and the session goes on. After a failed
session its connection waits 10 ms before the next one.

Exit status:
  0  the run happened (whatever the errors), unless:
  1  sessions were attempted and every one of them failed, or the JSON or HTML file
     cannot be written
  2  a bad command line, a target that is not local without --allow-remote, or a target
     that cannot be resolved or TLS that cannot be set up

Examples:
  pop3-load --target 'pop3://u%d:p@127.0.0.1:1110' --connections 32 --duration 10
  pop3-load --target 'pop3://u{n}:p@localhost:1110' --connections 8 --duration 5 \
            --mix login,stat,retr,dele,quit --starttls --ca server.pem --json run.json
)";

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

template <class T>
T parse_number(std::string_view option, std::string_view text, T min, T max) {
    T v{};
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (text.empty() || r.ec != std::errc{} || r.ptr != end || v < min || v > max)
        throw usage_error(std::string(option) + " expects a number from " + std::to_string(min) +
                          " to " + std::to_string(max) + ", not '" + std::string(text) + "'");
    return v;
}

double parse_seconds(std::string_view option, std::string_view text, double min, double max) {
    double v = 0;
    std::size_t used = 0;
    try {
        v = std::stod(std::string(text), &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || !std::isfinite(v) || v < min || v > max)
        throw usage_error(std::string(option) + " expects seconds (" + std::to_string(min) +
                          " to " + std::to_string(max) + "), not '" + std::string(text) + "'");
    return v;
}

// "%d" in the user part of the URL becomes "{n}" before the URL is percent-decoded.
std::string mark_placeholder(std::string url) {
    const auto start = url.find("://");
    const auto at = url.rfind('@');
    if (start == std::string::npos || at == std::string::npos || at < start) return url;
    auto end = url.find_first_of(":;", start + 3);
    if (end == std::string::npos || end > at) end = at;
    for (auto p = url.find("%d", start + 3); p != std::string::npos && p < end;
         p = url.find("%d", p)) {
        url.replace(p, 2, "{n}");
        end += 1;
        p += 3;
    }
    return url;
}

std::vector<step> make_plan(const std::vector<std::string>& mix, bool& auto_rset) {
    std::vector<step> plan;
    bool has_dele = false, has_rset = false;
    for (const auto& w : mix) {
        if (w == "login") {
            plan.push_back(step::user);
            plan.push_back(step::pass);
        } else if (w == "capa")
            plan.push_back(step::capa);
        else if (w == "stat")
            plan.push_back(step::stat);
        else if (w == "list")
            plan.push_back(step::list);
        else if (w == "uidl")
            plan.push_back(step::uidl);
        else if (w == "retr")
            plan.push_back(step::retr);
        else if (w == "dele")
            plan.push_back(step::dele), has_dele = true;
        else if (w == "noop")
            plan.push_back(step::noop);
        else if (w == "rset")
            plan.push_back(step::rset), has_rset = true;
        else if (w == "quit")
            plan.push_back(step::quit);
        else
            throw usage_error("--mix: unknown command '" + w +
                              "' (login, capa, stat, list, uidl, retr, dele, noop, rset, quit)");
    }
    auto_rset = false;
    if (has_dele && !has_rset) {
        bool seen_dele = false;
        for (auto it = plan.begin(); it != plan.end(); ++it) {
            if (*it == step::dele) seen_dele = true;
            if (*it == step::quit && seen_dele) {
                plan.insert(it, step::rset);
                auto_rset = true;
                break;
            }
        }
    }
    return plan;
}

} // namespace

bool is_loopback_host(std::string_view host) {
    if (lower(host) == "localhost") return true;
    const std::string h(host);
    unsigned char addr[16];
    if (::inet_pton(AF_INET, h.c_str(), addr) == 1) return addr[0] == 127;
    if (::inet_pton(AF_INET6, h.c_str(), addr) == 1) {
        for (int i = 0; i < 15; ++i)
            if (addr[i] != 0) return false;
        return addr[15] == 1;
    }
    return false;
}

std::string user_for(const options& opt, unsigned n) {
    std::string user = opt.url.user;
    for (auto p = user.find("{n}"); p != std::string::npos; p = user.find("{n}", p)) {
        const auto num = std::to_string(n);
        user.replace(p, 3, num);
        p += num.size();
    }
    return user;
}

std::string display_target(const options& opt) {
    const auto& u = opt.url;
    std::string s = u.scheme + "://";
    if (!u.user.empty()) s += u.user + (u.password.empty() ? "" : ":****") + "@";
    s += u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    return s + ":" + std::to_string(u.port);
}

parsed_args parse_args(std::span<const std::string> args) {
    parsed_args r;
    options& o = r.opt;
    bool have_target = false, tls = false, starttls = false;
    std::string mix = "login,stat,list,uidl,quit";
    o.connections = 1;
    o.duration = 10;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> inline_value;
        if (name.starts_with("--")) {
            if (const auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name.resize(eq);
            }
        }
        auto value = [&]() -> std::string {
            if (inline_value) return *inline_value;
            if (i + 1 >= args.size()) throw usage_error(name + " needs a value");
            return args[++i];
        };
        auto flag = [&] {
            if (inline_value) throw usage_error(name + " takes no value");
        };
        if (name == "-h" || name == "--help") {
            r.help = true;
            return r;
        } else if (name == "--target") {
            o.target = value();
            have_target = true;
        } else if (name == "--connections") {
            o.connections = parse_number<unsigned>(name, value(), 1, 100000);
        } else if (name == "--duration") {
            o.duration = parse_seconds(name, value(), 0.001, 1e7);
        } else if (name == "--mix") {
            mix = lower(value());
        } else if (name == "--tls") {
            flag();
            tls = true;
        } else if (name == "--starttls") {
            flag();
            starttls = true;
        } else if (name == "--ca") {
            o.ca_file = value();
        } else if (name == "--insecure") {
            flag();
            o.insecure = true;
        } else if (name == "--message") {
            o.message = parse_number<std::uint64_t>(name, value(), 1, UINT64_MAX);
        } else if (name == "--json") {
            o.json_file = value();
            if (o.json_file.empty()) throw usage_error("--json needs a file name");
        } else if (name == "--html") {
            o.html_file = value();
            if (o.html_file.empty()) throw usage_error("--html needs a file name");
        } else if (name == "--timeout") {
            o.timeout = parse_seconds(name, value(), 0, 1e7);
        } else if (name == "--threads") {
            o.threads = parse_number<unsigned>(name, value(), 1, 64);
        } else if (name == "--allow-remote") {
            flag();
            o.allow_remote = true;
        } else if (name == "--quiet" || name == "-q") {
            flag();
            o.quiet = true;
        } else {
            throw usage_error("unknown argument '" + args[i] + "'");
        }
    }
    if (!have_target) throw usage_error("--target URL is required");
    if (o.json_file == "-" && o.html_file == "-")
        throw usage_error("--json - and --html - both want stdout: give one of them a file");

    try {
        o.url = parse_pop_url(mark_placeholder(o.target));
    } catch (const std::invalid_argument& e) {
        throw usage_error(e.what());
    }
    if (!o.url.auth.empty())
        throw usage_error("--target: ;AUTH= is not supported (pop3-load logs in with USER/PASS)");
    if (tls && starttls) throw usage_error("--tls and --starttls exclude each other");
    if (o.url.scheme == "pop3s") {
        if (starttls) throw usage_error("--starttls with a pop3s:// target (already TLS)");
        o.tls = tls_choice::implicit;
    } else if (tls) {
        o.tls = tls_choice::implicit;
        if (!o.url.explicit_port) o.url.port = 995;
    } else if (starttls) {
        o.tls = tls_choice::starttls;
    }
    if (o.tls == tls_choice::none && (o.insecure || !o.ca_file.empty()))
        throw usage_error("--ca and --insecure need --tls, --starttls or pop3s://");

    o.mix.clear();
    std::string_view rest = mix;
    while (true) {
        const auto comma = rest.find(',');
        const auto word = trim(rest.substr(0, comma));
        if (word.empty()) throw usage_error("--mix: empty command in '" + mix + "'");
        o.mix.emplace_back(word);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    o.plan = make_plan(o.mix, o.auto_rset);
    for (step s : o.plan)
        if ((s == step::user || s == step::pass) && (o.url.user.empty() || o.url.password.empty()))
            throw usage_error("login needs a user and a password: pop3://USER:PASSWORD@HOST:PORT");

    if (!o.allow_remote && !is_loopback_host(o.url.host))
        throw usage_error("refusing target host '" + o.url.host +
                          "': pop3-load only loads 127.0.0.0/8, ::1 or localhost unless "
                          "--allow-remote is given");
    o.threads = std::min(o.threads, o.connections);
    return r;
}

} // namespace pop3::load
