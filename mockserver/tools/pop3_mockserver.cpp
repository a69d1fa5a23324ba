// pop3-mockserver: the scriptable mock POP3 server as a program. See --help and docs/scenarios.md.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <pop3/mockserver/line_log.hpp>
#include <pop3/mockserver/planted_bug.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/version.hpp>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: pop3-mockserver [options]

A mock POP3 server: a correct RFC 1939 server by default (with RFC 2449 CAPA, RFC 2595 STLS,
RFC 5034 SASL, RFC 6856 UTF8/LANG), misbehaving on purpose when given a scenario.

With no options it serves user "user", password "pass", a small default maildrop, on a free
port of 127.0.0.1, and prints both.

Options:
  --listen HOST:PORT        plain listener, STLS offered (default 127.0.0.1:0; 0 = ephemeral)
  --tls-listen HOST:PORT    also listen with implicit TLS (POP3S)
  --no-starttls             do not offer STLS on the plain listener
  --user NAME:PASSWORD      add a user (repeatable); the password is also the APOP, CRAM-MD5
                            and OAuth secret
  --maildrop DIR            each user's maildrop: DIR/NAME if that folder exists, else DIR;
                            a Maildir (cur/ and new/), or a folder whose *.eml files are
                            served (other files are ignored, with a note on stderr)
  --mbox FILE               each user's maildrop is this mbox file. Users naming the same
                            file or folder each get a maildrop and lock of their own, or,
                            with --persist, share one maildrop and its lock
  --generate COUNT:SIZE     each user gets COUNT generated messages of SIZE octets
  --persist                 write deletions back to the maildrop's files (default: in memory)
  --scenario FILE           misbehave as FILE says (TOML, docs/scenarios.md); users in the
                            file are added to those given with --user
  --cert FILE --key FILE    TLS certificate chain and key (PEM); default: an ephemeral
                            self-signed certificate for localhost and 127.0.0.1
  --cert-out FILE           write the certificate in use (PEM), for clients to trust,
                            before listening (not with --no-starttls without --tls-listen)
  --record DIR              write each session as a transcript into DIR (docs/recording.md)
  --no-mask                 record credentials unmasked
  --threads N               worker threads, 0 to 256 (default 0: one per core)
  --idle-timeout SECONDS    autologout timer (default 600, RFC 1939)
  --max-errors N            close after N consecutive -ERR replies (default 10)
  --max-failed-logins N     close after N failed logins on a connection (default 3)
  --plant-bug NAME          test builds only (POP3_PLANTED_BUGS): plants a bug of the
                            fuzzers' bug bench (docs/fuzzing.md); repeatable. NAME is one of
@PLANTED_BUGS@
  --quiet                   no session log on stderr
  -h, --help                this text
  --version                 print "pop3-mockserver VERSION" and exit

Once ready it prints, on stdout:
  listening pop3 HOST:PORT
  listening pop3s HOST:PORT          (with --tls-listen)
It stops cleanly on SIGINT or SIGTERM. Exit code 2: a bad command line or scenario (with
FILE:LINE), or a file it names that cannot be written (--cert-out, a --record folder that
takes no files); 1: other failures (a port in use, stdout that cannot be written).
)";

struct cli_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The planted bugs' names, joined by ", ".
std::string planted_bug_names() {
    std::string names;
    for (auto bug : pop3::mock::all_planted_bugs())
        names += (names.empty() ? "" : ", ") + std::string(pop3::mock::to_string(bug));
    return names;
}

// --help: `usage` with the planted bugs' names, wrapped in the options' description column.
std::string help_text() {
    constexpr std::string_view marker = "@PLANTED_BUGS@\n";
    constexpr std::size_t indent = 28, width = 96;
    std::string names = planted_bug_names() + ".";
    if (!pop3::mock::planted_bugs_compiled()) names += " This build has none.";
    std::string wrapped, line;
    for (std::size_t at = 0; at < names.size();) {
        auto end = names.find(' ', at);
        end = end == std::string::npos ? names.size() : end;
        const auto word = names.substr(at, end - at);
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            wrapped += std::string(indent, ' ') + line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        at = end + 1;
    }
    wrapped += std::string(indent, ' ') + line + "\n";
    std::string text = usage;
    text.replace(text.find(marker), marker.size(), wrapped);
    return text;
}

struct options {
    pop3::mock::server_options server;
    std::vector<std::pair<std::string, std::string>> users;
    std::optional<std::string> maildrop, mbox, generate, scenario, cert, key, cert_out;
    bool persist = false;
    std::optional<unsigned> idle_timeout, max_errors, max_failed_logins;
    std::vector<pop3::mock::planted_bug> planted;
    bool quiet = false;
};

// Most worker threads --threads accepts (each has its own io_context).
constexpr unsigned max_threads = 256;

unsigned to_number(const std::string& flag, const std::string& v, unsigned max = 1'000'000'000) {
    const auto bad = [&] {
        return cli_error(flag + ": expected a number from 0 to " + std::to_string(max) + ", got '" +
                         v + "'");
    };
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) throw bad();
    try {
        const auto n = std::stoull(v);
        if (n > max) throw bad();
        return static_cast<unsigned>(n);
    } catch (const std::out_of_range&) {
        throw bad();
    }
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error(a + ": missing value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(help_text().c_str(), stdout);
            std::exit(pop3::exit_code_after_stdout("pop3-mockserver", 0));
        } else if (a == "--version") {
            std::printf("pop3-mockserver %s\n", pop3::version);
            std::exit(pop3::exit_code_after_stdout("pop3-mockserver", 0));
        } else if (a == "--listen")
            o.server.listen = value();
        else if (a == "--tls-listen")
            o.server.tls_listen = value();
        else if (a == "--no-starttls")
            o.server.starttls = false;
        else if (a == "--user") {
            const auto v = value();
            const auto colon = v.find(':');
            if (colon == std::string::npos || colon == 0)
                throw cli_error("--user: expected NAME:PASSWORD, got '" + v + "'");
            o.users.emplace_back(v.substr(0, colon), v.substr(colon + 1));
        } else if (a == "--maildrop")
            o.maildrop = value();
        else if (a == "--mbox")
            o.mbox = value();
        else if (a == "--generate")
            o.generate = value();
        else if (a == "--persist")
            o.persist = true;
        else if (a == "--scenario")
            o.scenario = value();
        else if (a == "--cert")
            o.cert = value();
        else if (a == "--key")
            o.key = value();
        else if (a == "--cert-out")
            o.cert_out = value();
        else if (a == "--record")
            o.server.record_dir = value();
        else if (a == "--no-mask")
            o.server.mask_credentials = false;
        else if (a == "--threads")
            o.server.threads = to_number(a, value(), max_threads);
        else if (a == "--idle-timeout")
            o.idle_timeout = to_number(a, value());
        else if (a == "--max-errors")
            o.max_errors = to_number(a, value());
        else if (a == "--max-failed-logins")
            o.max_failed_logins = to_number(a, value());
        else if (a == "--plant-bug") {
            const auto v = value();
            if (!pop3::mock::planted_bugs_compiled())
                throw cli_error("--plant-bug: this build has no planted bugs (they are compiled "
                                "in test builds only, with the CMake option POP3_PLANTED_BUGS)");
            const auto bug = pop3::mock::parse_planted_bug(v);
            if (!bug)
                throw cli_error("--plant-bug: unknown bug '" + v +
                                "'; the bugs are: " + planted_bug_names());
            o.planted.push_back(*bug);
        } else if (a == "--quiet")
            o.quiet = true;
        else
            throw cli_error("unknown option '" + a + "' (see --help)");
    }
    if (int(bool(o.maildrop)) + int(bool(o.mbox)) + int(bool(o.generate)) > 1)
        throw cli_error("--maildrop, --mbox and --generate exclude each other");
    if (bool(o.cert) != bool(o.key)) throw cli_error("--cert and --key go together");
    if (o.cert_out && !o.server.starttls && !o.server.tls_listen)
        throw cli_error("--cert-out: no certificate is in use with --no-starttls and no "
                        "--tls-listen");
    return o;
}

// A file or folder named by several users is read once. With `persist`, they share one
// maildrop object: one lock, one view of deletions (two sessions must not write deletions back
// to one source from two snapshots). Without it, two users are two mailboxes: each gets a
// maildrop of its own, with its own lock, over the same immutable messages. Sharing is the
// default: it is the safe choice when the caller does not say.
std::shared_ptr<pop3::mock::maildrop> open_shared(const std::filesystem::path& path,
                                                  bool persist = true) {
    static std::map<std::filesystem::path, std::shared_ptr<pop3::mock::maildrop>> opened;
    std::error_code ec;
    auto key = std::filesystem::weakly_canonical(path, ec);
    if (ec) key = path;
    auto& slot = opened[key];
    if (!slot) {
        slot = pop3::mock::maildrop::open(path);
        if (const auto n = slot->ignored_files())
            std::fprintf(stderr, "pop3-mockserver: %s: %zu file%s not named *.eml ignored\n",
                         path.c_str(), n, n == 1 ? "" : "s");
    }
    return persist ? slot : slot->clone();
}

std::shared_ptr<pop3::mock::maildrop> maildrop_for(const options& o, const std::string& user) {
    namespace fs = std::filesystem;
    if (o.maildrop) {
        const fs::path dir(*o.maildrop);
        return open_shared(fs::is_directory(dir / user) ? dir / user : dir, o.persist);
    }
    if (o.mbox) return open_shared(*o.mbox, o.persist);
    if (o.generate) {
        const auto [count, size] = pop3::mock::parse_count_size(*o.generate, "--generate");
        return pop3::mock::maildrop::generate(count, size);
    }
    return pop3::mock::default_maildrop();
}

// Users, maildrops and the scenario. A maildrop that cannot be read is a bad command line.
pop3::mock::server_config build_config(const options& o, bool& default_user) {
    pop3::mock::server_config config;
    config.persist = o.persist;
    if (o.idle_timeout) config.idle_timeout = std::chrono::seconds(*o.idle_timeout);
    if (o.max_errors) config.max_consecutive_errors = *o.max_errors;
    if (o.max_failed_logins) config.max_failed_logins = *o.max_failed_logins;
    config.planted = o.planted;
    for (const auto& [name, password] : o.users)
        config.users.push_back({name, password, maildrop_for(o, name)});
    if (o.scenario) {
        auto file = pop3::mock::load_scenario(*o.scenario);
        for (const auto& u : file.users) {
            std::shared_ptr<pop3::mock::maildrop> mail;
            if (u.maildrop)
                mail = open_shared(*u.maildrop, o.persist);
            else if (u.generate)
                mail = pop3::mock::maildrop::generate(u.generate->first, u.generate->second);
            else
                mail = maildrop_for(o, u.name);
            config.users.push_back({u.name, u.password, mail});
        }
        config.faults = std::move(file.sc);
    }

    default_user = config.users.empty();
    if (default_user) config.users.push_back({"user", "pass", maildrop_for(o, "user")});
    return config;
}

int run(const options& o) {
    if (o.server.record_dir) {
        const auto& dir = *o.server.record_dir;
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec || !std::filesystem::is_directory(dir))
            throw cli_error("--record: cannot create the folder " + dir.string() +
                            (ec ? ": " + ec.message() : ""));
        // A folder that exists but takes no files would serve every session and record none:
        // try a file in it now (root passes permission bits, so the bits cannot tell).
        const auto probe = dir / (".pop3-mockserver-probe-" + std::to_string(::getpid()));
        errno = 0;
        std::ofstream test(probe, std::ios::binary | std::ios::trunc);
        const int err = errno;
        if (!test)
            throw cli_error("--record: cannot create files in the folder " + dir.string() +
                            (err ? std::string(": ") + std::strerror(err) : ""));
        test.close();
        std::filesystem::remove(probe, ec);
    }
    pop3::mock::server_config config;
    bool default_user = false;
    try {
        config = build_config(o, default_user);
    } catch (const pop3::mock::scenario_error&) {
        throw;
    } catch (const cli_error&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw cli_error(e.what());
    }
    auto server_opts = o.server;
    if (o.cert) server_opts.identity = pop3::net::load_identity(*o.cert, *o.key);
    // --cert-out is written and checked before anything is served: a file that cannot be written
    // is a bad command line (exit 2), like a --record folder that takes no files. Without --cert
    // the ephemeral certificate is made here, the one start() would make.
    if (o.cert_out) {
        if (!server_opts.identity) server_opts.identity = pop3::net::make_self_signed();
        std::ofstream out(*o.cert_out, std::ios::binary | std::ios::trunc);
        out << server_opts.identity->certificate;
        out.close();
        if (!out) throw cli_error("--cert-out: cannot write the certificate to " + *o.cert_out);
    }
    // Every line on stderr goes through one non-blocking log, whole: a stderr nobody reads
    // must not stop the sessions, and two threads' lines must not interleave.
    std::optional<pop3::mock::line_log> log;
    if (!o.quiet) {
        log.emplace(STDERR_FILENO);
        server_opts.log = [&log](std::string_view line) { log->write(line); };
        std::string planted;
        for (auto bug : o.planted)
            planted += " " + std::string(pop3::mock::to_string(bug));
        if (!planted.empty())
            log->write("pop3-mockserver: planted bugs (docs/fuzzing.md):" + planted);
    }

    // Block the stop signals in every thread; the main thread waits for them with sigwait.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    pop3::mock::server srv(std::move(config), std::move(server_opts));
    srv.start();
    const auto host = pop3::mock::parse_host_port(o.server.listen).first;
    if (default_user) std::printf("default user user:pass\n");
    std::printf("listening pop3 %s:%u\n", host.c_str(), unsigned(srv.port()));
    if (auto tls = srv.tls_port())
        std::printf("listening pop3s %s:%u\n",
                    pop3::mock::parse_host_port(*o.server.tls_listen).first.c_str(),
                    unsigned(*tls));
    // Nobody can reach a server whose listening lines were lost (stdout > /dev/full): exit 1.
    if (!pop3::flush_stdout("pop3-mockserver")) return 1;

    int sig = 0;
    sigwait(&signals, &sig);
    if (!o.quiet)
        log->write(std::string("pop3-mockserver: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                   ", stopping");
    srv.stop();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const cli_error& e) {
        std::fprintf(stderr, "pop3-mockserver: %s\n", e.what());
        return 2;
    } catch (const std::invalid_argument& e) { // a bad HOST:PORT
        std::fprintf(stderr, "pop3-mockserver: %s\n", e.what());
        return 2;
    } catch (const pop3::mock::scenario_error& e) {
        std::fprintf(stderr, "pop3-mockserver: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-mockserver: %s\n", e.what());
        return 1;
    }
}
