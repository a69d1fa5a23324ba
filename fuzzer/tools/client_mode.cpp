// pop3-fuzz client: fuzzes a POP3 client program (docs/fuzzing.md, "pop3-fuzz client").
#include "client_mode.hpp"

#include "cli.hpp"
#include "report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <pop3/conformance/client_case.hpp>
#include <pop3/conformance/transcript.hpp>
#include <pop3/fuzzer/client_campaign.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/text.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace pop3::fuzz_tool {

constexpr const char* client_usage = R"(usage: pop3-fuzz client [options]

Fuzzes a POP3 client program (docs/fuzzing.md, "pop3-fuzz client"): pop3kit's mock server
plays a correct session with one hostile deviation per session (status lines, greetings,
CAPA, listings, octet counts, bodies and dot-stuffing, SASL challenges, the STLS boundary,
segmenting, delays, disconnects) to the client, launched per session through the adapter
contract of pop3-conformance client (docs/client-conformance.md). A session that breaks a
rule every client must keep (a signal or sanitizer report, a hang while the server waited, memory
or output past its bound, a delivered message that differs from every served one while the
deviation kept them intact, credentials in plaintext when TLS was required, plaintext read
after STLS) is a finding: minimised, replayed, and written as a client case that
pop3-conformance client --cases DIR --command TEMPLATE replays.

client options:
  --command TEMPLATE  the adapter, run with /bin/sh -c (default: pop3kit's client library,
                      'exec pop3-conformance library-client')
  --task LIST         tasks to ask for, comma-separated (default: status,fetch-all,fetch-one,
                      fetch-new,delete-after-fetch)
  --login LIST        logins (default: any,user,apop,sasl:PLAIN,sasl:CRAM-MD5,
                      sasl:SCRAM-SHA-256); combinations the client cannot do without a
                      deviation (adapter exit 125, or a failed run) are left out
  --tls LIST          none, starttls, implicit (default: all three)
  --duration S        stop after S seconds (default 60)
  --sessions N        stop after N sessions too
  --max-findings N    and after N findings
  --seed N            the mutator's seed (default 1)
  --findings DIR      write each finding kind's cases to DIR/KIND.toml (default:
                      pop3-fuzz-findings; made only when there is a finding)
  --deadline S        a run's wall time before the client is killed (default 10)
  --timeout S         the I/O timeout the client is asked to use, POP3KIT_TIMEOUT (default 1)
  --family LIST       deviation families to draw from (default: all; --family list prints
                      them)
  --hold MS           at the STLS boundary, hold back each reply's last octet this long, to
                      see a client that reads injected plaintext and sends early (default 10;
                      findings are replayed with 50, as pop3-conformance client does)
  --max-memory MIB    the client's memory bound (default 256)
  --json FILE         write the figures and the findings to FILE (docs/fuzzing.md)
  --status S          a status line on stderr every S seconds (default 5)
  -h, --help          this text

Exit code: 0 when nothing was found, 1 when something was (or nothing could be fuzzed: the
client did none of the task, login and TLS combinations without a deviation), 2 for a bad
command line.
)";

} // namespace pop3::fuzz_tool

namespace {

namespace fs = std::filesystem;
using pop3::conformance::client_task;
using pop3::conformance::client_tls;

using pop3::fuzz_tool::cli_error;
using pop3::fuzz_tool::number_arg;
using pop3::fuzz_tool::seconds_arg;

struct client_cli {
    std::optional<std::string> command;
    pop3::fuzzer::client_choices choices;
    double duration = 60, deadline = 10, status = 5;
    std::uint64_t timeout = 1, hold_ms = 10, max_memory_mib = 256, seed = 1;
    std::optional<std::size_t> sessions, max_findings;
    std::string findings = "pop3-fuzz-findings";
    std::optional<std::string> json;
};

std::vector<std::string> split_list(const std::string& name, const std::string& v) {
    std::vector<std::string> out;
    std::size_t from = 0;
    while (true) {
        const auto comma = v.find(',', from);
        out.push_back(
            v.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        if (out.back().empty()) throw cli_error(name + ": an empty item in '" + v + "'");
        if (comma == std::string::npos) break;
        from = comma + 1;
    }
    return out;
}

client_cli parse_client_args(int argc, char** argv) {
    client_cli o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error(a + ": missing value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(pop3::fuzz_tool::client_usage, stdout);
            std::exit(pop3::exit_code_after_stdout("pop3-fuzz", 0));
        } else if (a == "--command") {
            o.command = value();
            if (o.command->empty()) throw cli_error("--command: an empty template");
        } else if (a == "--task") {
            o.choices.tasks.clear();
            for (const auto& t : split_list(a, value())) {
                const auto task = pop3::conformance::parse_client_task(t);
                if (!task)
                    throw cli_error("--task: '" + t +
                                    "' is none of status, fetch-all, "
                                    "fetch-one, fetch-new, delete-after-fetch");
                o.choices.tasks.push_back(*task);
            }
        } else if (a == "--login") {
            o.choices.logins.clear();
            for (auto l : split_list(a, value())) {
                if (l.starts_with("sasl:")) {
                    const auto mech = pop3::parse_sasl_mechanism(std::string_view(l).substr(5));
                    if (!mech) throw cli_error("--login: unknown SASL mechanism in '" + l + "'");
                    l = "sasl:" + std::string(pop3::sasl_mechanism_name(*mech));
                } else if (l != "any" && l != "user" && l != "apop") {
                    throw cli_error("--login: '" + l + "' is none of any, user, apop, sasl:MECH");
                }
                o.choices.logins.push_back(l);
            }
        } else if (a == "--tls") {
            o.choices.tls_modes.clear();
            for (const auto& t : split_list(a, value())) {
                const auto tls = pop3::conformance::parse_client_tls(t);
                if (!tls) throw cli_error("--tls: '" + t + "' is none of none, starttls, implicit");
                o.choices.tls_modes.push_back(*tls);
            }
        } else if (a == "--family") {
            const auto v = value();
            const auto& all = pop3::fuzzer::client_families();
            if (v == "list") {
                for (const auto& f : all)
                    std::printf("%s\n", f.c_str());
                std::exit(pop3::exit_code_after_stdout("pop3-fuzz", 0));
            }
            o.choices.families = split_list(a, v);
            for (const auto& f : o.choices.families)
                if (std::find(all.begin(), all.end(), f) == all.end())
                    throw cli_error("--family: no family '" + f + "' (--family list shows them)");
        } else if (a == "--duration")
            o.duration = seconds_arg(a, value(), 30.0 * 24 * 3600);
        else if (a == "--deadline")
            o.deadline = seconds_arg(a, value(), 3600);
        else if (a == "--status")
            o.status = seconds_arg(a, value(), 3600);
        else if (a == "--timeout")
            o.timeout = number_arg(a, value(), 1, 3600);
        else if (a == "--hold")
            o.hold_ms = number_arg(a, value(), 0, 10000);
        else if (a == "--max-memory")
            o.max_memory_mib = number_arg(a, value(), 1, 1 << 20);
        else if (a == "--seed")
            o.seed = number_arg(a, value(), 0, UINT64_MAX);
        else if (a == "--max-findings")
            o.max_findings = number_arg(a, value(), 1, 1000000);
        else if (a == "--sessions")
            o.sessions = static_cast<std::size_t>(number_arg(a, value(), 1, UINT64_MAX));
        else if (a == "--json")
            o.json = value();
        else if (a == "--findings")
            o.findings = value();
        else
            throw cli_error("unknown option '" + a + "' (see pop3-fuzz --help)");
    }
    if (static_cast<double>(o.timeout) >= o.deadline)
        throw cli_error("--timeout must be shorter than --deadline");
    return o;
}

// `s` as one word for /bin/sh: in single quotes, each ' as '\''.
std::string shell_quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// pop3-conformance library-client: next to this program (an install), else the build tree's.
std::string default_command() {
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    fs::path program;
    if (!ec && fs::exists(self.parent_path() / "pop3-conformance", ec))
        program = self.parent_path() / "pop3-conformance";
#ifdef POP3_CONFORMANCE_BUILD_BIN
    else
        program = POP3_CONFORMANCE_BUILD_BIN;
#endif
    if (program.empty()) program = "pop3-conformance";
    return "exec '" + program.string() + "' library-client";
}

int run_client(const client_cli& o) {
    using namespace pop3::fuzzer;
    client_campaign_options co;
    co.seed = o.seed;
    co.duration = pop3::fuzz_tool::milliseconds_of(o.duration);
    co.max_sessions = o.sessions;
    co.stop_after_findings = o.max_findings;
    co.choices = o.choices;
    co.run.program.command = o.command.value_or(default_command());
    co.run.deadline = pop3::fuzz_tool::milliseconds_of(o.deadline);
    co.run.client_timeout = std::chrono::seconds(o.timeout);
    co.run.hold = std::chrono::milliseconds(0);
    co.stls_hold = std::chrono::milliseconds(o.hold_ms);
    co.run.max_memory_kib = static_cast<long>(o.max_memory_mib * 1024);
    co.replay = co.run;
    co.replay.hold = std::chrono::milliseconds(50);
    co.findings_dir = o.findings;
    co.client_label = co.run.program.command;
    co.status_interval = pop3::fuzz_tool::milliseconds_of(o.status);

    std::string tasks, logins, modes;
    for (auto t : o.choices.tasks)
        tasks += (tasks.empty() ? "" : ",") + std::string(pop3::conformance::to_string(t));
    for (const auto& l : o.choices.logins)
        logins += (logins.empty() ? "" : ",") + l;
    for (auto t : o.choices.tls_modes)
        modes += (modes.empty() ? "" : ",") + std::string(pop3::conformance::to_string(t));
    std::fprintf(stderr,
                 "pop3-fuzz: fuzzing the client '%s', seed %llu, tasks %s, logins %s, tls %s, "
                 "%.0f s\n",
                 co.run.program.command.c_str(), static_cast<unsigned long long>(o.seed),
                 tasks.c_str(), logins.c_str(), modes.c_str(), o.duration);
    const auto line = [](const char* what, const client_campaign_stats& s) {
        std::fprintf(stderr,
                     "pop3-fuzz: %s%.0f s, %zu sessions (%.1f/s), corpus %zu, signatures %zu, "
                     "findings %zu\n",
                     what, s.seconds, s.sessions,
                     s.seconds > 0 ? static_cast<double>(s.sessions) / s.seconds : 0.0, s.corpus,
                     s.signatures, s.findings);
    };
    co.on_status = [&](const client_campaign_stats& s) { line("", s); };
    co.on_finding = [](const std::string& l) {
        std::fprintf(stderr, "pop3-fuzz: finding %s\n", l.c_str());
    };
    co.on_note = [](const std::string& l) { std::fprintf(stderr, "%s\n", l.c_str()); };
    const auto res = run_client_campaign(co);
    line("done: ", res.stats);
    std::printf("%zu sessions in %.1f s (%.1f/s), corpus %zu, signatures %zu, findings %zu\n",
                res.stats.sessions, res.stats.seconds,
                res.stats.seconds > 0 ? static_cast<double>(res.stats.sessions) / res.stats.seconds
                                      : 0.0,
                res.stats.corpus, res.stats.signatures, res.findings.size());
    if (o.json) {
        pop3::fuzz_tool::run_info info;
        info.direction = "client";
        info.target = co.run.program.command;
        pop3::fuzz_tool::write_report(*o.json, pop3::fuzz_tool::format_client_json(info, res));
    }
    for (const auto& s : res.skipped)
        std::printf("  not fuzzed: %s\n", s.c_str());
    for (const auto& f : res.findings)
        std::printf("  %s %s: %s\n    case %s in %s\n", f.kind.c_str(), f.family.c_str(),
                    f.detail.c_str(), f.case_id.c_str(), f.file.string().c_str());
    if (!res.findings.empty())
        std::printf("replay: pop3-conformance client --cases %s --command %s\n",
                    shell_quoted(o.findings).c_str(), shell_quoted(co.run.program.command).c_str());
    // Nothing fuzzed (the client can do none of the combinations) is no clean bill: 1.
    if (res.stats.sessions == 0)
        std::printf("nothing was fuzzed: the client did none of the combinations asked for\n");
    return pop3::exit_code_after_stdout("pop3-fuzz",
                                        res.findings.empty() && res.stats.sessions > 0 ? 0 : 1);
}

} // namespace

int pop3_fuzz_client_main(int argc, char** argv) {
    return pop3::fuzz_tool::guarded_main([&] { return run_client(parse_client_args(argc, argv)); });
}
