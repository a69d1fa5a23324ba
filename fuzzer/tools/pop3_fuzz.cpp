// pop3-fuzz: stateful black-box fuzzing of a live POP3 server. See --help and docs/fuzzing.md.
#include "data_paths.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <pop3/client/client.hpp>
#include <pop3/conformance/connection.hpp>
#include <pop3/conformance/transcript.hpp>
#include <pop3/fuzzer/campaign.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/version.hpp>
#include <sstream>
#include <string>

namespace {

constexpr const char* usage = R"(usage: pop3-fuzz server [options]

Fuzzes a live POP3 server with whole sessions (docs/fuzzing.md): inputs are command sequences
seeded from the conformance transcripts, mutated POP3-aware (commands inserted, dropped,
repeated, reordered; arguments from boundary values; line ends; pipelining; splicing), kept when
they show a new (state, command, reply class) transition, and judged by a conservative oracle.
Each finding is minimised and written as a conformance transcript that
pop3-conformance server --transcripts DIR --target URL replays.

server options:
  --target URL        pop3://user:pass@host:port or pop3s://...; use a test account: every
                      QUIT is preceded by RSET, so no mail is deleted, but the maildrop is read
                      and locked many times a second. Default: pop3kit's embedded mock server
                      (user/pass, three messages), started in this process.
  --tls               connect with implicit TLS
  --starttls          STLS after each greeting, then the session inside TLS
  --ca FILE           trust this CA (PEM) instead of the system store
  --insecure          do not verify the server's certificate
  --duration S        stop after S seconds (default 60)
  --sessions N        stop after N sessions too
  --seed N            the mutator's seed (default 1): the same seed gives the same inputs
  --corpus DIR        read *.input files from DIR as extra seeds, and write the inputs that
                      showed new transitions there
  --findings DIR      write each finding's reproducer (KIND-COMMAND.pop3) and minimised input
                      (KIND-COMMAND.input) here (default: pop3-fuzz-findings)
  --timeout S         a reply that does not begin in S seconds ends the session (default 2)
  --hang-timeout S    a certain line unanswered this long, the connection open, is a hang
                      (default 15)
  --transcripts DIR   seed transcripts (default: DATA/transcripts)
  --scenario FILE     the embedded server misbehaves as FILE says (docs/scenarios.md)
  --status S          a status line on stderr every S seconds (default 5)
  -h, --help          this text
  --version           print "pop3-fuzz VERSION" and exit

DATA, where the seed transcripts are: the folder $POP3KIT_DATA_DIR when set; else
../share/pop3kit next to this program when it holds transcripts/ (an installed package:
/usr/share/pop3kit); else the source tree it was built from.

Exit code: 0 when nothing was found, 1 when something was (or the target cannot be
reached), 2 for a bad command line or an unreadable seed file (FILE:LINE: reason).
)";

struct cli_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::optional<std::string> target, ca_file, corpus, scenario;
    std::string findings = "pop3-fuzz-findings";
    std::optional<std::string> transcripts; // default: find_data_paths()
    bool tls = false, starttls = false, insecure = false;
    double duration = 60, timeout = 2, hang_timeout = 15, status = 5;
    std::uint64_t seed = 1;
    std::optional<std::size_t> sessions;
};

double seconds_arg(const std::string& name, const std::string& v, double lo, double hi) {
    double d = 0;
    try {
        std::size_t used = 0;
        d = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
        throw cli_error(name + ": expected seconds, got '" + v + "'");
    }
    if (!(d > lo && d <= hi))
        throw cli_error(name + ": expected " + std::to_string(static_cast<long>(lo)) +
                        " < SECONDS <= " + std::to_string(static_cast<long>(hi)));
    return d;
}

options parse_args(int argc, char** argv) {
    options o;
    if (argc < 2) throw cli_error("give a direction: server (see --help)");
    int i = 1;
    const std::string mode = argv[1];
    if (mode == "-h" || mode == "--help") {
        std::fputs(usage, stdout);
        std::exit(pop3::exit_code_after_stdout("pop3-fuzz", 0));
    }
    const auto print_version = [] {
        std::printf("pop3-fuzz %s\n", pop3::version);
        std::exit(pop3::exit_code_after_stdout("pop3-fuzz", 0));
    };
    if (mode == "--version") print_version();
    if (mode == "client") throw cli_error("client: not implemented yet (docs/fuzzing.md)");
    if (mode != "server") throw cli_error("unknown direction '" + mode + "' (server)");
    for (++i; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error(a + ": missing value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(pop3::exit_code_after_stdout("pop3-fuzz", 0));
        } else if (a == "--version") {
            print_version();
        } else if (a == "--target")
            o.target = value();
        else if (a == "--tls")
            o.tls = true;
        else if (a == "--starttls")
            o.starttls = true;
        else if (a == "--ca")
            o.ca_file = value();
        else if (a == "--insecure")
            o.insecure = true;
        else if (a == "--duration")
            o.duration = seconds_arg(a, value(), 0, 30 * 24 * 3600);
        else if (a == "--timeout")
            o.timeout = seconds_arg(a, value(), 0, 3600);
        else if (a == "--hang-timeout")
            o.hang_timeout = seconds_arg(a, value(), 0, 3600);
        else if (a == "--status")
            o.status = seconds_arg(a, value(), 0, 3600);
        else if (a == "--seed") {
            const auto n = pop3::parse_decimal(value());
            if (!n) throw cli_error("--seed: expected a number 0..2^64-1");
            o.seed = *n;
        } else if (a == "--sessions") {
            const auto n = pop3::parse_decimal(value());
            if (!n || *n == 0) throw cli_error("--sessions: expected a positive number");
            o.sessions = static_cast<std::size_t>(*n);
        } else if (a == "--corpus")
            o.corpus = value();
        else if (a == "--findings")
            o.findings = value();
        else if (a == "--transcripts")
            o.transcripts = value();
        else if (a == "--scenario")
            o.scenario = value();
        else
            throw cli_error("unknown option '" + a + "' (see --help)");
    }
    if (o.tls && o.starttls) throw cli_error("give --tls or --starttls, not both");
    if (o.target && o.scenario) throw cli_error("--scenario is for the embedded server only");
    if (o.hang_timeout < o.timeout) throw cli_error("--hang-timeout must be >= --timeout");
    return o;
}

std::vector<pop3::fuzzer::session_input> corpus_files(const std::filesystem::path& dir,
                                                      const pop3::fuzzer::input_limits& lim) {
    std::vector<pop3::fuzzer::session_input> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out; // created on the first write
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".input") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        if (!in && !in.eof()) throw pop3::fuzzer::corpus_error(f.string() + ": cannot read");
        out.push_back(pop3::fuzzer::parse_corpus_text(text.str(), f, lim));
    }
    return out;
}

int run(const options& o) {
    using namespace pop3::fuzzer;
    campaign_options co;
    co.seed = o.seed;
    co.duration = std::chrono::milliseconds(static_cast<long long>(o.duration * 1000));
    co.max_sessions = o.sessions;
    co.exec.reply_timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout * 1000));
    co.exec.hang_timeout = std::chrono::milliseconds(static_cast<long long>(o.hang_timeout * 1000));
    co.canary_timeout = std::max(co.canary_timeout, co.exec.hang_timeout);
    co.status_interval = std::chrono::milliseconds(static_cast<long long>(o.status * 1000));
    co.findings_dir = o.findings;
    if (o.corpus) co.corpus_dir = *o.corpus;

    pop3::conformance::tls_settings tls;
    tls.verify = !o.insecure;
    if (o.ca_file) tls.ca_file = *o.ca_file;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    bool implicit = o.tls;
    std::unique_ptr<pop3::mock::server> embedded;
    if (o.target) {
        pop3::pop_url url;
        try {
            url = pop3::parse_pop_url(*o.target);
        } catch (const std::invalid_argument& e) {
            throw cli_error(e.what());
        }
        host = url.host;
        implicit = implicit || url.scheme == "pop3s";
        port = url.explicit_port ? url.port : (implicit ? 995 : 110);
        co.info.creds = {url.user, url.password};
        co.info.target = pop3::redact_pop_url(*o.target);
    } else {
        auto config = pop3::mock::default_config();
        if (o.scenario) {
            try {
                config.faults = pop3::mock::load_scenario(*o.scenario).sc;
            } catch (const pop3::mock::scenario_error& e) {
                throw cli_error(e.what());
            }
        }
        pop3::mock::server_options so;
        so.threads = 1;
        if (implicit) so.tls_listen = "127.0.0.1:0";
        embedded = std::make_unique<pop3::mock::server>(config, so);
        embedded->start();
        tls.ca_pem = embedded->identity().certificate;
        port = implicit ? *embedded->tls_port() : embedded->port();
        co.info.target = "the embedded mock server (127.0.0.1:" + std::to_string(port) + ")";
    }
    target t;
    t.starttls = o.starttls;
    const auto step = co.exec.reply_timeout;
    t.connect = [=] { return pop3::conformance::connect_socket(host, port, implicit, tls, step); };
    // A target that cannot be reached is not fuzzed (exit 1); one that greets wrongly is a
    // finding of the first session.
    try {
        t.connect();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 1;
    }

    auto seeds = seeds_from_transcripts(
        pop3::conformance::load_transcripts(
            o.transcripts ? std::filesystem::path(*o.transcripts)
                          : pop3::conformance_tool::find_data_paths().transcripts),
        co.info.creds);
    if (o.corpus)
        for (auto& in : corpus_files(*o.corpus, co.limits))
            seeds.push_back(std::move(in));

    std::fprintf(stderr, "pop3-fuzz: fuzzing %s, seed %llu, %zu seeds, %.0f s\n",
                 co.info.target.c_str(), static_cast<unsigned long long>(o.seed), seeds.size(),
                 o.duration);
    co.info.seed = o.seed;
    const auto line = [](const char* what, const campaign_stats& s) {
        std::fprintf(stderr,
                     "pop3-fuzz: %s%.0f s, %zu sessions (%.0f/s), corpus %zu, transitions %zu, "
                     "findings %zu\n",
                     what, s.seconds, s.sessions,
                     s.seconds > 0 ? static_cast<double>(s.sessions) / s.seconds : 0.0, s.corpus,
                     s.transitions, s.findings);
    };
    co.on_status = [&](const campaign_stats& s) { line("", s); };
    co.on_finding = [](const std::string& l) {
        std::fprintf(stderr, "pop3-fuzz: finding %s\n", l.c_str());
    };
    const auto res = run_campaign(seeds, t, co);
    line("done: ", res.stats);
    std::printf("%zu sessions in %.1f s, corpus %zu, transitions %zu, findings %zu\n",
                res.stats.sessions, res.stats.seconds, res.stats.corpus, res.stats.transitions,
                res.findings.size());
    for (const auto& f : res.findings)
        std::printf("  %s %s: %s\n    reproducer: %s\n",
                    std::string(to_string(f.what.kind)).c_str(), f.what.keyword.c_str(),
                    f.what.detail.c_str(), f.file.string().c_str());
    if (!res.findings.empty())
        std::printf("replay: pop3-conformance server --transcripts %s --target URL\n",
                    o.findings.c_str());
    const int status = res.findings.empty() ? 0 : 1;
    return pop3::flush_stdout("pop3-fuzz") || status != 0 ? status : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const cli_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const pop3::conformance::transcript_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const pop3::fuzzer::corpus_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 1;
    }
}
