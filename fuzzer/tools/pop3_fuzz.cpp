// pop3-fuzz: stateful black-box fuzzing of a live POP3 server. See --help and docs/fuzzing.md.
#include "cli.hpp"
#include "client_mode.hpp"
#include "data_paths.hpp"
#include "report.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pop3/client/client.hpp>
#include <pop3/conformance/connection.hpp>
#include <pop3/conformance/transcript.hpp>
#include <pop3/fuzzer/campaign.hpp>
#include <pop3/fuzzer/launcher.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/planted_bug.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/version.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace {

constexpr const char* usage = R"(usage: pop3-fuzz server [options]
       pop3-fuzz client [options]   (pop3-fuzz client --help)

Fuzzes a live POP3 server with whole sessions (docs/fuzzing.md): inputs are command sequences
seeded from the conformance transcripts, mutated POP3-aware (commands inserted, dropped,
repeated, reordered; arguments from boundary values; line ends; pipelining; splicing), kept when
they show a new (state, command, reply class) transition, and judged by a conservative oracle
(state and message-number rules, framing, STARTTLS injection, what STAT, LIST and UIDL say
against what the session was told; with --launch, the process dying, sanitizer reports and
memory or descriptor growth). Each finding is minimised and written as a conformance transcript
that pop3-conformance server --transcripts DIR --target URL replays.

server options:
  --target URL        pop3://user:pass@host:port or pop3s://...; use a test account: every
                      QUIT is preceded by RSET, so no mail is deleted, but the maildrop is read
                      and locked many times a second. Default: pop3kit's embedded mock server
                      (user/pass, three messages), started in this process; with --launch,
                      pop3://user:pass@127.0.0.1:0
  --launch COMMAND    start the target with /bin/sh -c COMMAND (its own process group), watch
                      it and start it again after it died; port 0 in --target: the port is read
                      from its stdout (a line with "listening" and HOST:PORT, as
                      pop3-mockserver prints; else a line holding only the port)
  --max-rss-growth MB with --launch: the process tree's resident memory may grow this much over
                      its level after start-up (default 256; not judged when the target runs
                      AddressSanitizer, unless its ASAN_OPTIONS has quarantine_size_mb=0)
  --max-fd-growth N   with --launch: its open descriptors likewise (default 256)
  --tls               connect with implicit TLS
  --starttls          STLS after each greeting, then the session inside TLS
  --ca FILE           trust this CA (PEM) instead of the system store
  --insecure          do not verify the server's certificate
  --duration S        stop after S seconds (default 60)
  --sessions N        stop after N sessions too (per job)
  --max-findings N    stop after N findings too (per job; the bug bench stops at the first)
  --jobs N            N jobs side by side (default 1), seeds 1..N apart, sharing --corpus DIR
                      (each reads what the others wrote there every 10 s; so can other
                      machines syncing that folder); with --launch each job starts its own
                      target, which must then print its port
  --seed N            the mutator's seed (default 1): the same seed gives the same inputs
  --corpus DIR        read *.input files from DIR as extra seeds, and write the inputs that
                      showed new transitions there
  --findings DIR      write each finding's reproducer (KIND-COMMAND.pop3) and minimised input
                      (KIND-COMMAND.input) here (default: pop3-fuzz-findings)
  --json FILE         the figures, the stats over time and the findings as JSON
  --html FILE         the same as one self-contained page, the stats over time as charts
  --timeout S         a reply that does not begin in S seconds ends the session (default 2)
  --hang-timeout S    a certain line unanswered this long, the connection open, is a hang
                      (default 15)
  --transcripts DIR   seed transcripts (default: DATA/transcripts)
  --scenario FILE     the embedded server misbehaves as FILE says (docs/scenarios.md)
  --plant-bug NAME    the embedded server has this bug of the bug bench (test builds only;
                      repeatable; docs/fuzzing.md lists them)
  --status S          a status line on stderr every S seconds (default 5)
  --replay FILE       instead of fuzzing, run this input (a .input file of --findings or
                      --corpus) --repeat N times (default 1) and say what each run showed; with
                      --launch also the process's memory and descriptors before and after (how
                      a resource-growth finding is reproduced)
  -h, --help          this text
  --version           print "pop3-fuzz VERSION" and exit

DATA, where the seed transcripts are: the folder $POP3KIT_DATA_DIR when set; else
../share/pop3kit next to this program when it holds transcripts/ (an installed package:
/usr/share/pop3kit); else the source tree it was built from.

Exit code: 0 when nothing was found, 1 when something was (or the target cannot be
reached), 2 for a bad command line or an unreadable seed file (FILE:LINE: reason).
)";

using pop3::fuzz_tool::cli_error;
using pop3::fuzz_tool::number_arg;
using pop3::fuzz_tool::seconds_arg;

struct options {
    std::optional<std::string> target, ca_file, corpus, scenario, launch, json, html;
    std::string findings = "pop3-fuzz-findings";
    std::optional<std::string> transcripts; // default: find_data_paths()
    bool tls = false, starttls = false, insecure = false;
    double duration = 60, timeout = 2, hang_timeout = 15, status = 5;
    std::uint64_t seed = 1;
    std::optional<std::size_t> sessions, max_findings;
    std::optional<std::string> replay; // run this input --repeat times instead of fuzzing
    std::size_t repeat = 1;
    unsigned jobs = 1;
    long max_rss_growth_mb = 256;
    std::size_t max_fd_growth = 256;
    std::vector<pop3::mock::planted_bug> planted;
    std::string shown; // the options as given, for the report
};

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
    if (mode != "server") throw cli_error("unknown direction '" + mode + "' (server, client)");
    for (++i; i < argc; ++i) {
        const std::string a = argv[i];
        o.shown += (o.shown.empty() ? "" : " ") + a;
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error(a + ": missing value");
            o.shown += std::string(" ") + argv[i + 1];
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
            o.duration = seconds_arg(a, value(), 30 * 24 * 3600);
        else if (a == "--timeout")
            o.timeout = seconds_arg(a, value(), 3600);
        else if (a == "--hang-timeout")
            o.hang_timeout = seconds_arg(a, value(), 3600);
        else if (a == "--status")
            o.status = seconds_arg(a, value(), 3600);
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
        else if (a == "--launch")
            o.launch = value();
        else if (a == "--json")
            o.json = value();
        else if (a == "--html")
            o.html = value();
        else if (a == "--replay")
            o.replay = value();
        else if (a == "--repeat")
            o.repeat = static_cast<std::size_t>(number_arg(a, value(), 1, 100000000));
        else if (a == "--max-findings")
            o.max_findings = static_cast<std::size_t>(number_arg(a, value(), 1, 1u << 20));
        else if (a == "--jobs")
            o.jobs = static_cast<unsigned>(number_arg(a, value(), 1, 64));
        else if (a == "--max-rss-growth")
            o.max_rss_growth_mb = static_cast<long>(number_arg(a, value(), 1, 1u << 20));
        else if (a == "--max-fd-growth")
            o.max_fd_growth = static_cast<std::size_t>(number_arg(a, value(), 1, 1u << 20));
        else if (a == "--plant-bug") {
            const auto name = value();
            if (!pop3::mock::planted_bugs_compiled())
                throw cli_error("--plant-bug: this build has no planted bugs (POP3_PLANTED_BUGS)");
            const auto bug = pop3::mock::parse_planted_bug(name);
            if (!bug) {
                std::string names;
                for (auto b : pop3::mock::all_planted_bugs())
                    names += (names.empty() ? "" : ", ") + std::string(to_string(b));
                throw cli_error("--plant-bug: unknown bug '" + name + "' (" + names + ")");
            }
            o.planted.push_back(*bug);
        } else
            throw cli_error("unknown option '" + a + "' (see --help)");
    }
    if (o.tls && o.starttls) throw cli_error("give --tls or --starttls, not both");
    if ((o.target || o.launch) && o.scenario)
        throw cli_error("--scenario is for the embedded server only");
    if ((o.target || o.launch) && !o.planted.empty())
        throw cli_error("--plant-bug is for the embedded server only (pop3-mockserver "
                        "--plant-bug with --launch)");
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

// The jobs' results as one: counts summed, sizes the largest, the history sample by sample.
pop3::fuzzer::campaign_result merge(std::vector<pop3::fuzzer::campaign_result> parts) {
    auto r = std::move(parts.front());
    for (std::size_t j = 1; j < parts.size(); ++j) {
        const auto& p = parts[j];
        r.stats.sessions += p.stats.sessions;
        r.stats.seconds = std::max(r.stats.seconds, p.stats.seconds);
        r.stats.corpus = std::max(r.stats.corpus, p.stats.corpus);
        r.stats.transitions = std::max(r.stats.transitions, p.stats.transitions);
        r.stats.restarts += p.stats.restarts;
        r.stats.imported += p.stats.imported;
        r.stats.injection_checked += p.stats.injection_checked;
        r.stats.injection_skipped += p.stats.injection_skipped;
        r.findings.insert(r.findings.end(), p.findings.begin(), p.findings.end());
        const auto n = std::min(r.history.size(), p.history.size());
        r.history.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            r.history[i].sessions += p.history[i].sessions;
            r.history[i].corpus = std::max(r.history[i].corpus, p.history[i].corpus);
            r.history[i].transitions = std::max(r.history[i].transitions, p.history[i].transitions);
            r.history[i].findings += p.history[i].findings; // each claimed by one job
        }
    }
    r.stats.findings = r.findings.size();
    return r;
}

// --replay: one input, run --repeat times; what each run showed, counted by finding.
int replay(const options& o, const pop3::fuzzer::target& t,
           const pop3::fuzzer::campaign_options& co) {
    using namespace pop3::fuzzer;
    std::ifstream file(*o.replay, std::ios::binary);
    if (!file) throw cli_error("--replay: cannot read " + *o.replay);
    std::stringstream text;
    text << file.rdbuf();
    const auto in = parse_corpus_text(text.str(), *o.replay, co.limits);
    const auto tree = [&] {
        return t.process ? t.process->usage() : pop3::conformance::tree_usage{};
    };
    const auto before = tree();
    std::map<std::string, std::size_t> shown;
    std::size_t restarts = 0;
    for (std::size_t i = 0; i < o.repeat; ++i) {
        if (t.process && !t.process->running()) {
            t.process->start();
            ++restarts;
        }
        const auto r = run_session(in, t, co.exec);
        std::string what = r.found ? r.found->key() + ": " + r.found->detail : "nothing";
        if (t.process)
            if (auto ev = t.process->check(r.closed ? std::chrono::milliseconds(50)
                                                    : std::chrono::milliseconds(0)))
                what = (ev->what == process_event::kind::died ? "process-died: "
                                                              : "sanitizer-report: ") +
                       ev->detail;
        ++shown[what];
    }
    std::printf("%zu runs of %s\n", o.repeat, o.replay->c_str());
    for (const auto& [what, n] : shown)
        std::printf("  %zu: %s\n", n, what.c_str());
    if (t.process) {
        const auto after = tree();
        std::printf("the target's process tree: %ld KiB resident and %zu descriptors before, %ld "
                    "KiB and %zu after; %zu restarts\n",
                    before.rss_kib, before.fds, after.rss_kib, after.fds, restarts);
    }
    const bool any = shown.size() > 1 || !shown.contains("nothing");
    const int status = any ? 1 : 0;
    return pop3::flush_stdout("pop3-fuzz") || status != 0 ? status : 1;
}

// Whether a launched target's memory growth means something: not when it runs AddressSanitizer
// with its quarantine on (ASAN_OPTIONS in the process's environment can turn it off).
bool memory_judgeable(pid_t root) {
    if (!pop3::conformance::runs_address_sanitizer(root)) return true;
    for (auto pid : pop3::conformance::process_tree(root)) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
        for (std::string var; std::getline(in, var, '\0');) {
            if (!var.starts_with("ASAN_OPTIONS=")) continue;
            // Flags are separated by ':', ',' or blanks; the last one given counts.
            std::optional<std::string> quarantine;
            std::size_t from = 13;
            while (from < var.size()) {
                const auto end = std::min(var.find_first_of(":, \t\n", from), var.size());
                const auto flag = std::string_view(var).substr(from, end - from);
                if (flag.starts_with("quarantine_size_mb=")) quarantine = flag.substr(19);
                from = end + 1;
            }
            if (quarantine == "0") return true;
        }
    }
    return false;
}

int run(const options& o) {
    using namespace pop3::fuzzer;
    campaign_options co;
    co.seed = o.seed;
    co.duration = pop3::fuzz_tool::milliseconds_of(o.duration);
    co.max_sessions = o.sessions;
    co.max_findings = o.max_findings;
    co.exec.reply_timeout = pop3::fuzz_tool::milliseconds_of(o.timeout);
    co.exec.hang_timeout = pop3::fuzz_tool::milliseconds_of(o.hang_timeout);
    co.canary_timeout = std::max(co.canary_timeout, co.exec.hang_timeout);
    co.status_interval = pop3::fuzz_tool::milliseconds_of(o.status);
    co.max_rss_growth_kib = o.max_rss_growth_mb * 1024;
    co.max_fd_growth = o.max_fd_growth;
    co.findings_dir = o.findings;
    if (o.corpus) co.corpus_dir = *o.corpus;

    pop3::conformance::tls_settings tls;
    tls.verify = !o.insecure;
    if (o.ca_file) tls.ca_file = *o.ca_file;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    bool implicit = o.tls;
    std::unique_ptr<pop3::mock::server> embedded;
    if (o.target || o.launch) {
        pop3::pop_url url;
        const std::string given = o.target ? *o.target : "pop3://user:pass@127.0.0.1:0";
        // Port 0 (the launched program prints its port) is no port a URL may hold: parsed as
        // port 1, then taken back.
        const bool port_zero = given.ends_with(":0") || given.ends_with(":0/");
        try {
            auto parsed = given;
            if (port_zero) parsed.insert(parsed.rfind(":0") + 1, "1");
            url = pop3::parse_pop_url(parsed);
        } catch (const std::invalid_argument& e) {
            throw cli_error(e.what());
        }
        host = url.host;
        implicit = implicit || url.scheme == "pop3s";
        port = port_zero ? 0 : url.explicit_port ? url.port : (implicit ? 995 : 110);
        co.info.creds = {url.user, url.password};
        co.info.target = pop3::redact_pop_url(given);
        if (port == 0 && !o.launch)
            throw cli_error("--target: port 0 is for a --launch target that prints its port");
        if (o.launch && o.jobs > 1 && port != 0)
            throw cli_error("--jobs with --launch: each job starts its own target, which must "
                            "print its port (port 0 in --target)");
    } else {
        auto config = pop3::mock::default_config();
        if (o.scenario) {
            try {
                config.faults = pop3::mock::load_scenario(*o.scenario).sc;
            } catch (const pop3::mock::scenario_error& e) {
                throw cli_error(e.what());
            }
        }
        config.planted = o.planted;
        pop3::mock::server_options so;
        so.threads = o.jobs;
        if (implicit) so.tls_listen = "127.0.0.1:0";
        embedded = std::make_unique<pop3::mock::server>(config, so);
        embedded->start();
        tls.ca_pem = embedded->identity().certificate;
        port = implicit ? *embedded->tls_port() : embedded->port();
        co.info.target = "the embedded mock server (127.0.0.1:" + std::to_string(port) + ")";
        for (auto b : o.planted)
            co.info.target +=
                (b == o.planted.front() ? ", planted: " : ", ") + std::string(to_string(b));
    }

    // A target per job; with --launch each has its own process (and, port 0, its own port).
    std::vector<std::unique_ptr<launched_target>> launched;
    std::vector<target> targets;
    const auto step = co.exec.reply_timeout;
    for (unsigned j = 0; j < o.jobs; ++j) {
        launched_target* process = nullptr;
        if (o.launch) {
            launch_options lo;
            lo.command = *o.launch;
            lo.work_dir =
                std::filesystem::path(o.findings) / ".launch" / ("job-" + std::to_string(j + 1));
            lo.host = host;
            lo.port = port;
            launched.push_back(std::make_unique<launched_target>(lo));
            launched.back()->start(); // throws with the program's stderr when it cannot
            process = launched.back().get();
        }
        target t;
        t.starttls = o.starttls;
        t.process = process;
        t.connect = [=] {
            return pop3::conformance::connect_socket(host, process ? process->port() : port,
                                                     implicit, tls, step);
        };
        targets.push_back(std::move(t));
    }
    if (o.launch && !memory_judgeable(launched.front()->pid())) {
        co.max_rss_growth_kib = 0;
        std::fprintf(stderr,
                     "pop3-fuzz: the target runs AddressSanitizer, whose quarantine grows its "
                     "memory whatever it does: its resident memory is not judged (its "
                     "descriptors are); with ASAN_OPTIONS=quarantine_size_mb=0 in its "
                     "environment it is\n");
    }
    if (o.launch)
        co.info.target +=
            " (launched: " + *o.launch + ", port " + std::to_string(launched.front()->port()) + ")";
    if (o.replay) return replay(o, targets.front(), co);
    // A target that cannot be reached is not fuzzed (exit 1); one that greets wrongly is a
    // finding of the first session.
    try {
        targets.front().connect();
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

    std::fprintf(stderr, "pop3-fuzz: fuzzing %s, seed %llu, %zu seeds, %.0f s%s\n",
                 co.info.target.c_str(), static_cast<unsigned long long>(o.seed), seeds.size(),
                 o.duration, o.jobs > 1 ? (", " + std::to_string(o.jobs) + " jobs").c_str() : "");
    co.info.seed = o.seed;
    const auto line = [](const char* what, const campaign_stats& s) {
        std::fprintf(stderr,
                     "pop3-fuzz: %s%.0f s, %zu sessions (%.0f/s), corpus %zu, transitions %zu, "
                     "findings %zu%s\n",
                     what, s.seconds, s.sessions,
                     s.seconds > 0 ? static_cast<double>(s.sessions) / s.seconds : 0.0, s.corpus,
                     s.transitions, s.findings,
                     s.restarts ? (", restarts " + std::to_string(s.restarts)).c_str() : "");
    };
    std::mutex mu; // the jobs' shared state: stderr, the claimed findings, their stats
    std::set<std::string> claimed;
    co.on_finding = [&](const std::string& l) {
        std::lock_guard g(mu);
        std::fprintf(stderr, "pop3-fuzz: finding %s\n", l.c_str());
    };

    campaign_result res;
    if (o.jobs == 1) {
        co.on_status = [&](const campaign_stats& s) { line("", s); };
        res = run_campaign(seeds, targets.front(), co);
    } else {
        co.claim_finding = [&](const std::string& key) {
            std::lock_guard g(mu);
            return claimed.insert(key).second;
        };
        std::vector<campaign_stats> now(o.jobs);
        std::vector<campaign_result> parts(o.jobs);
        std::vector<std::exception_ptr> failures(o.jobs);
        std::vector<std::thread> workers;
        for (unsigned j = 0; j < o.jobs; ++j) {
            auto cj = co;
            cj.seed = o.seed + j;
            cj.info.seed = cj.seed;
            cj.on_status = [&, j](const campaign_stats& s) {
                std::lock_guard g(mu);
                now[j] = s;
            };
            cj.status_interval = std::chrono::milliseconds(200);
            workers.emplace_back([&, j, cj] {
                // What a job throws ends the run once all jobs are joined, not the process.
                try {
                    parts[j] = run_campaign(seeds, targets[j], cj);
                } catch (...) {
                    failures[j] = std::current_exception();
                }
            });
        }
        // The status line sums the jobs (each reports its own every 200 ms).
        std::atomic<bool> done{false};
        std::thread status([&] {
            const auto every = co.status_interval;
            auto next = std::chrono::steady_clock::now() + every;
            while (!done) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                if (std::chrono::steady_clock::now() < next) continue;
                next += every;
                std::lock_guard g(mu);
                campaign_stats sum;
                for (const auto& s : now) {
                    sum.sessions += s.sessions;
                    sum.seconds = std::max(sum.seconds, s.seconds);
                    sum.corpus = std::max(sum.corpus, s.corpus);
                    sum.transitions = std::max(sum.transitions, s.transitions);
                    sum.restarts += s.restarts;
                }
                sum.findings = claimed.size();
                line("", sum);
            }
        });
        for (auto& w : workers)
            w.join();
        done = true;
        status.join();
        for (const auto& f : failures)
            if (f) std::rethrow_exception(f);
        res = merge(std::move(parts));
    }
    line("done: ", res.stats);
    if (res.stats.injection_skipped)
        std::fprintf(stderr,
                     "pop3-fuzz: %zu sessions with lines pipelined behind an accepted STLS were "
                     "not checked for STARTTLS injection (%zu were: their waits may take a tenth "
                     "of the campaign)\n",
                     res.stats.injection_skipped, res.stats.injection_checked);

    pop3::fuzz_tool::run_info info;
    info.target = co.info.target;
    info.options = o.shown;
    info.jobs = o.jobs;
    if (o.json) pop3::fuzz_tool::write_report(*o.json, pop3::fuzz_tool::format_json(info, res));
    if (o.html) pop3::fuzz_tool::write_report(*o.html, pop3::fuzz_tool::format_html(info, res));
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
    if (argc >= 2 && std::string_view(argv[1]) == "client")
        return pop3_fuzz_client_main(argc - 1, argv + 1);
    return pop3::fuzz_tool::guarded_main([&] { return run(parse_args(argc, argv)); });
}
