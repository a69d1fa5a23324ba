// pop3-conformance: replays RFC dialogue transcripts against a POP3 server and reports, in the
// style of h2spec. See --help and docs/transcripts.md.
#include "data_paths.hpp"
#include "matrix.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <pop3/client/client.hpp>
#include <pop3/conformance/baseline.hpp>
#include <pop3/conformance/client_runner.hpp>
#include <pop3/conformance/embedded.hpp>
#include <pop3/conformance/fixtures.hpp>
#include <pop3/conformance/provision.hpp>
#include <pop3/conformance/report.hpp>
#include <pop3/conformance/runner.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/net/tls.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/version.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char* usage = R"(usage: pop3-conformance server [options]
       pop3-conformance client [options]
       pop3-conformance library-client [--async]
       pop3-conformance fixtures DIR [--format maildir|mbox|eml] [--transcripts DIR] [--only P]
       pop3-conformance matrix [NAME=]RESULTS.json... [--html FILE] [--markdown FILE]

Replays RFC 1939/2449/2595/5034/3206/6856 dialogue transcripts (docs/transcripts.md) and
checks the replies of the side under test.

server: plays the C: side against a POP3 server and checks its S: replies.
  --target URL          pop3://user:pass@host:port or pop3s://... The user's maildrop should
                        hold two or more messages; cases adapt to it (captures from LIST and
                        UIDL), and a case whose set-up cannot be arranged is skipped with the
                        reason. The maildrop is left as it was: cases that delete end with RSET
                        or drop the connection. Default: the embedded pop3kit mock server,
                        started in process for each case with the maildrop the case expects.
  --tls                 connect with implicit TLS (pop3s://, port 995 by default)
  --starttls            upgrade every case's connection with STLS after the greeting
  --tls-port PORT       with a pop3:// target: the server's implicit-TLS port, where the cases
                        that need implicit TLS run (instead of being skipped)
  --plain-port PORT     with a pop3s:// target (or --tls): the server's plain port, where the
                        cases that start in plaintext and do STLS themselves run (instead of
                        being skipped)
  --ca FILE             trust this CA (PEM) instead of the system store
  --insecure            do not verify the server's certificate
  --provision COMMAND   with --target: load the maildrop a case names (dots, empty,
                        generate:N:S, ...; without this option such cases are skipped). Before
                        each such case the runner writes the maildrop's fixture (as the
                        fixtures command does) and runs COMMAND with /bin/sh after replacing
                        {user} (the URL's user), {maildrop} (the name) and {dir} (the fixture's
                        folder), each already shell-quoted; e.g.
                        --provision 'rsync -a --delete {dir}/ /srv/mail/{user}/Maildir/'
                        Before the next case that needs the usual maildrop, and at the end, it
                        runs COMMAND with {maildrop} default ({dir}: pop3kit's default
                        maildrop), which must put the user's own maildrop back. A command that
                        exits non-zero or runs over 60 s (killed) makes the case an error.
  --fixture-format F    the fixtures' format for --provision: maildir (default), mbox, eml
client: plays a correct server with one deviation per case against a client, asks the client
  to do the case's task, and judges what it did (docs/client-conformance.md): the wire dialogue
  (lock-step, no credentials before TLS, no DELE of a damaged message), its exit, time, memory
  and output, and the messages it delivered, against its control run without deviation.
  (default)             pop3kit's client library (in a child process per run)
  --command TEMPLATE    an adapter for an external client, run with /bin/sh in its own process
                        group for each run, after replacing {host} {port} {user} {pass} {ca}
                        {task} {message} {login} {tls} {out} {state} {url} {timeout} (also set
                        as POP3KIT_HOST, ...); the adapter contract is in
                        docs/client-conformance.md, e.g.
                        --command 'exec python3 interop/adapters/curl.py'
  --in-memory           pop3kit's client library in this process, joined to the server by a
                        byte link in memory instead of a socket (no child, no port). Cases
                        that need TLS or a timed or segmented delivery are n/a; lock-step is
                        checked without a clock (--hold 0 still switches it off); --deadline
                        and --max-memory do not apply (the library's own timeouts end a run)
  --cases DIR           client case files (default: DATA/client-cases)
  --deadline SECONDS    a run's wall time before the client's process group is killed (a
                        failure); default 60
  --hold MS             hold back the last octet of each reply this long (lock-step
                        checking; default 50)
  --max-memory MIB      a client's peak memory (its largest process, the adapter's
                        included) above this fails the case (default 256; sanitizer builds of
                        a client need more)
  --jobs N              run N cases side by side (default 4; each has its own server and
                        client; clients spend most of a case waiting)
  --progress            print "start ID" as a case starts and "done N/TOTAL ID VERDICT S s"
                        as it ends, a line each on stderr (for logs: which case a stalled
                        run is in)
library-client: pop3kit's client library as an adapter (what 'client' runs by default): does
  the task the POP3KIT_* environment describes (docs/client-conformance.md) and exits 0, 1 or
  125. With --async it drives pop3::async_client instead of the synchronous pop3::client:
  --command 'exec pop3-conformance library-client --async'
fixtures: writes the maildrops the server cases name into DIR, one folder each
  (generate-3-500 for generate:3:500), holding the messages the embedded server serves, and
  DIR/index.txt (MAILDROP FOLDER MESSAGES OCTETS), for a server loaded by hand
  (pop3-mockserver --maildrop DIR/dots). DIR must be new, empty or written by this command.
  --format F            maildir (default: FOLDER/cur/ one file per message, new/, tmp/), mbox
                        (FOLDER/mbox, mboxrd) or eml (FOLDER/NNNNNNN.eml, CRLF)
matrix: sets several runs side by side (an ecosystem matrix, like Autobahn|Testsuite's
  report): reads the JSON results of runs (--json, either direction) and writes, per direction,
  one table of case families (the id's leading components: rfc1939/7, client/rfc2595/4) by
  runs. A run's column is named NAME when given as NAME=RESULTS.json (an argument that is not
  itself a file), else after the file (conformance-dovecot-plain of
  conformance-dovecot-plain.json). A run without some case leaves its cell blank (not a
  failure). Without --html or --markdown the Markdown goes to stdout.
  --html FILE           one self-contained page (no network, no external file): each cell
                        counts the family's cases per outcome and is coloured by the worst; a
                        click on a family shows its cases, each cell the case's outcome with
                        its reason as tooltip, linked to the case in the run's HTML report
                        (RESULTS.html next to RESULTS.json) when there is one
  --markdown FILE       the family by run tables in Markdown, each cell "passed / failed /
                        n/a" ("+N skipped", "+N error" added when not 0)
  --title TEXT          the page's title (default: pop3-conformance matrix)
  Exit code: 0; 1 when an output cannot be written; 2 for a bad command line or an input that
  cannot be read or is not a pop3-conformance JSON ("pop3-conformance: FILE: reason").

Common options:
  --transcripts DIR     transcript folder (default: DATA/transcripts)
  --only PATTERN        run only the cases whose id matches the glob PATTERN (repeatable)
  --strict              SHOULD failures fail the run too
  --timeout SECONDS     server: per-step timeout (default 5); client: the I/O timeout the
                        client is asked to use ({timeout}, default 5). A reply that does not come in time is
                        an error (not judged), and the case is retried once on a new
                        connection. After PASS, APOP or AUTH (and the SASL exchange after
                        AUTH), and for the step after such a command got -ERR, the runner waits
                        3 step timeouts: servers delay answers after a failed login.
  --junit FILE          write JUnit XML results
  --json FILE           write JSON results
  --html FILE           write one self-contained HTML page (no network, no external file):
                        the counts per verdict, RFC and level, filters, and every case with its
                        requirement, verdict, reason, expected beside actual and its wire
                        dialogue (who sent each line, TLS state, time; long runs folded)
  --expect FILE         compare the verdicts with the baseline FILE ("ID VERDICT" lines, as
                        --update-expect writes them; docs/transcripts.md): new failures, fixed
                        cases, other changed verdicts, new cases and cases no longer in the
                        suite are listed above the counts, after "baseline: matches FILE" or
                        "baseline: N differences from FILE". Cases left out by --only are not
                        compared.
  --expect-section NAME the baseline is the [NAME] section of the --expect file (one file for
                        several runs); --update-expect then writes a [NAME] header
  --update-expect FILE  write this run's verdicts to FILE, in run order, as a baseline
  --list                list the cases and exit
  --no-color            plain console output
  -h, --help            this text
  --version             print "pop3-conformance VERSION" and exit

DATA, where the transcripts, client cases and the embedded server's scenarios are: the folder
$POP3KIT_DATA_DIR when set; else ../share/pop3kit next to this program when it holds
transcripts/ (an installed package: /usr/share/pop3kit); else the source tree it was built from.

Verdicts: passed; failed (the wire dialogue contradicts the RFC text the case cites); skipped
(a precondition does not hold: the reason is given, and every skipped MUST case is listed again
above the counts); error (the runner could not judge: its own limit, a transcript problem, a
fixture it could not provision, a connect or TLS set-up failure on its side, no reply within
the timeout). A case expecting the peer to close (!close) or to stay silent (!no-reply) is
about that, so a timeout there is still a failure.
With --starttls, cases that do STLS themselves (tls: plain, e.g. the STARTTLS injection cases)
run on a plain connection; those that would log in in plaintext before their STLS are skipped.

Output: grouped by RFC section, with a final line "N passed, N failed, N skipped", followed by
", N errors" when some cases could not be judged.
Exit code: 0 when no MUST case failed (with --strict: no MUST or SHOULD case), whatever the
errors; 1 otherwise or when the output (stdout, --junit, --json, --html, --update-expect)
cannot be written, 2 for a bad command line, a malformed transcript or a malformed --expect
baseline (reported as FILE:LINE: reason). With --expect: 0 when every verdict is the
baseline's, 1 otherwise (a fixed case too: update the baseline).
)";

struct cli_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A file that could not be written: --junit, --json, --html, the CA file for --command (exit code
// 1).
struct write_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string mode;
    bool library_async = false; // library-client --async
    std::optional<std::string> target;
    std::optional<std::uint16_t> plain_port, tls_port; // the other port of the target
    bool tls = false, starttls = false, insecure = false, strict = false, list = false,
         color = true;
    std::string ca_file;
    std::string transcripts; // defaults: find_data_paths()
    std::vector<std::string> only;
    double timeout = 5;
    double deadline = 60;
    unsigned jobs = 4;
    long max_memory_mib = 256;
    long hold_ms = 50;
    bool progress = false;
    std::string client_cases;
    std::string scenarios; // the embedded server's scenario files
    std::optional<std::string> junit, json, html;
    std::optional<std::string> command;   // client direction: an external client program
    bool in_memory = false;               // client direction: the library over memory
    std::optional<std::string> provision; // server direction: loads a case's maildrop
    std::string fixtures_dir;             // fixtures DIR
    std::optional<std::string> format, fixture_format; // --format, --fixture-format
    std::optional<std::string> expect, update_expect;
    std::string expect_section;
    std::optional<pop3::conformance::baseline> expected; // --expect's, read before the run
};

options parse_args(int argc, char** argv) {
    options o;
    const auto data = pop3::conformance_tool::find_data_paths();
    o.transcripts = data.transcripts.string();
    o.client_cases = data.client_cases.string();
    o.scenarios = data.scenarios.string();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error(a + ": missing value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(pop3::exit_code_after_stdout("pop3-conformance", 0));
        } else if (a == "--version") {
            std::printf("pop3-conformance %s\n", pop3::version);
            std::exit(pop3::exit_code_after_stdout("pop3-conformance", 0));
        } else if (a == "library-client" && i == 1 &&
                   (argc == 2 || (argc == 3 && std::string_view(argv[2]) == "--async"))) {
            o.mode = a;
            if (argc == 3) o.library_async = true;
            break;
        } else if (a == "server" || a == "client") {
            if (!o.mode.empty()) throw cli_error("give 'server' or 'client' once");
            o.mode = a;
        } else if (a == "fixtures") {
            if (!o.mode.empty()) throw cli_error("give 'server', 'client' or 'fixtures' once");
            o.mode = a;
            o.fixtures_dir = value();
            if (o.fixtures_dir.empty()) throw cli_error("fixtures: DIR is empty");
        } else if (a == "--target")
            o.target = value();
        else if (a == "--tls")
            o.tls = true;
        else if (a == "--starttls")
            o.starttls = true;
        else if (a == "--tls-port" || a == "--plain-port") {
            const auto n = pop3::parse_decimal(value());
            if (!n || *n == 0 || *n > 65535) throw cli_error(a + ": expected a port, 1..65535");
            (a == "--tls-port" ? o.tls_port : o.plain_port) = static_cast<std::uint16_t>(*n);
        } else if (a == "--ca")
            o.ca_file = value();
        else if (a == "--insecure")
            o.insecure = true;
        else if (a == "--transcripts")
            o.transcripts = value();
        else if (a == "--only")
            o.only.push_back(value());
        else if (a == "--strict")
            o.strict = true;
        else if (a == "--timeout") {
            const auto v = value();
            try {
                o.timeout = std::stod(v);
            } catch (const std::exception&) {
                throw cli_error("--timeout: expected seconds, got '" + v + "'");
            }
            if (o.timeout <= 0 || o.timeout > 3600)
                throw cli_error("--timeout: expected 0 < SECONDS <= 3600");
        } else if (a == "--deadline") {
            const auto v = value();
            try {
                o.deadline = std::stod(v);
            } catch (const std::exception&) {
                throw cli_error("--deadline: expected seconds, got '" + v + "'");
            }
            if (o.deadline <= 0 || o.deadline > 3600)
                throw cli_error("--deadline: expected 0 < SECONDS <= 3600");
        } else if (a == "--hold") {
            const auto v = value();
            const auto n = pop3::parse_decimal(v);
            if (!n || *n > 10000) throw cli_error("--hold: expected 0..10000 milliseconds");
            o.hold_ms = static_cast<long>(*n);
        } else if (a == "--progress") {
            o.progress = true;
        } else if (a == "--max-memory") {
            const auto n = pop3::parse_decimal(value());
            if (!n || *n < 16 || *n > 1024 * 1024)
                throw cli_error("--max-memory: expected 16..1048576 MiB");
            o.max_memory_mib = static_cast<long>(*n);
        } else if (a == "--jobs") {
            const auto n = pop3::parse_decimal(value());
            if (!n || *n == 0 || *n > 64) throw cli_error("--jobs: expected 1..64");
            o.jobs = static_cast<unsigned>(*n);
        } else if (a == "--cases")
            o.client_cases = value();
        else if (a == "--command")
            o.command = value();
        else if (a == "--in-memory")
            o.in_memory = true;
        else if (a == "--provision")
            o.provision = value();
        else if (a == "--format")
            o.format = value();
        else if (a == "--fixture-format")
            o.fixture_format = value();
        else if (a == "--junit")
            o.junit = value();
        else if (a == "--json")
            o.json = value();
        else if (a == "--html")
            o.html = value();
        else if (a == "--expect")
            o.expect = value();
        else if (a == "--expect-section")
            o.expect_section = value();
        else if (a == "--update-expect")
            o.update_expect = value();
        else if (a == "--list")
            o.list = true;
        else if (a == "--no-color")
            o.color = false;
        else
            throw cli_error("unknown argument '" + a + "' (see --help)");
    }
    if (o.mode.empty())
        throw cli_error("say 'server', 'client', 'fixtures DIR' or 'matrix' (see --help)");
    if (o.command && o.mode != "client") throw cli_error("--command goes with 'client'");
    if (o.in_memory && (o.mode != "client" || o.command))
        throw cli_error("--in-memory goes with 'client' and pop3kit's library (no --command)");
    if (o.target && o.mode != "server") throw cli_error("--target goes with 'server'");
    if (o.provision && !o.target) throw cli_error("--provision goes with 'server --target URL'");
    if (o.progress && o.mode != "client") throw cli_error("--progress goes with 'client'");
    if ((o.tls_port || o.plain_port) && !o.target)
        throw cli_error("--tls-port and --plain-port go with 'server --target URL'");
    if (o.fixture_format && !o.provision) throw cli_error("--fixture-format goes with --provision");
    if (o.format && o.mode != "fixtures") throw cli_error("--format goes with 'fixtures DIR'");
    for (const auto& f : {o.format, o.fixture_format})
        if (f && !pop3::conformance::parse_fixture_format(*f))
            throw cli_error("unknown fixture format '" + *f + "' (maildir, mbox or eml)");
    if (o.tls && o.starttls) throw cli_error("--tls and --starttls exclude each other");
    if (!o.ca_file.empty() && o.insecure) throw cli_error("--ca and --insecure exclude each other");
    if ((o.expect || o.update_expect) && o.mode != "server" && o.mode != "client")
        throw cli_error("--expect and --update-expect go with 'server' or 'client'");
    if (!o.expect_section.empty() && !o.expect && !o.update_expect)
        throw cli_error("--expect-section goes with --expect or --update-expect");
    for (char c : o.expect_section)
        if (c == '[' || c == ']' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            throw cli_error("--expect-section: a name without spaces or brackets");
    return o;
}

bool selected(const options& o, const pop3::conformance::test_case& c) {
    const bool wanted = (o.mode == "client") == (c.dir == pop3::conformance::direction::client);
    if (!wanted) return false;
    const std::string& id = c.id;
    if (o.only.empty()) return true;
    for (const auto& p : o.only)
        if (fnmatch(p.c_str(), id.c_str(), 0) == 0) return true;
    return false;
}

int report(const options& o, const std::string& title,
           const std::vector<pop3::conformance::test_case>& cases,
           const std::vector<pop3::conformance::case_result>& results);

// Writes a file and closes it, so that a write error (a full disk, /dev/full) is seen.
template <typename Writer>
void write_file(const std::string& file, Writer&& write) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) throw write_error(file + ": cannot open for writing");
    write(out);
    out.close();
    if (!out) throw write_error(file + ": cannot write");
}

int list_cases(const options& o, const std::vector<pop3::conformance::test_case>& cases) {
    for (const auto& c : cases)
        if (selected(o, c))
            std::cout << c.id << " [" << to_string(c.lvl) << "] " << c.title << "\n";
    return pop3::exit_code_after_stdout("pop3-conformance", 0);
}

pop3::conformance::run_options base_run_options(const options& o) {
    pop3::conformance::run_options ropt;
    ropt.step_timeout = std::chrono::milliseconds(static_cast<long>(o.timeout * 1000));
    ropt.keep_dialogue = o.html.has_value(); // every case's dialogue, for the page
    return ropt;
}

// This program's own path, for running it again as the library's adapter.
std::string self_path() {
    std::error_code ec;
    const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find this program's path: " + ec.message());
    return p.string();
}

// The client direction: for each client case the runner starts pop3kit's mock server with the
// case's deviation, runs the client under test (pop3kit's library, or --command) and judges.
int run_client_direction(const options& o) {
    using namespace pop3::conformance;
    const auto all = load_client_cases(o.client_cases);
    std::vector<test_case> metas;
    for (const auto& c : all)
        metas.push_back(c.meta);
    if (o.list) return list_cases(o, metas);
    std::vector<client_case> chosen;
    for (const auto& c : all)
        if (selected(o, c.meta)) chosen.push_back(c);
    client_run_options ropt;
    if (o.command) {
        ropt.program.command = *o.command;
    } else {
        // pop3kit's client library: this program, as an adapter (library-client).
        ropt.program.command = "exec '" + self_path() + "' library-client";
        ropt.program.title = "pop3-conformance client: pop3kit client library";
        if (o.in_memory) {
            ropt.in_memory = true;
            ropt.program.title = "pop3-conformance client: pop3kit client library, in memory";
        }
    }
    ropt.jobs = o.jobs;
    ropt.max_memory_kib = o.max_memory_mib * 1024;
    ropt.client_timeout = std::chrono::seconds(static_cast<long>(std::max(1.0, o.timeout)));
    ropt.deadline = std::chrono::milliseconds(static_cast<long>(o.deadline * 1000));
    ropt.hold = std::chrono::milliseconds(o.hold_ms);
    ropt.keep_dialogue = o.html.has_value();
    const bool tty = isatty(STDERR_FILENO);
    std::size_t done = 0;
    if (o.progress)
        ropt.on_start = [&](const client_case& c) { std::cerr << "start " << c.meta.id << "\n"; };
    ropt.on_result = [&](const case_result& r) {
        ++done;
        if (o.progress)
            std::cerr << "done " << done << "/" << chosen.size() << " " << r.tc->id << " "
                      << result_word(r) << " " << static_cast<long>(r.seconds) << " s" << std::endl;
        else if (tty)
            std::cerr << "\r\033[K" << done << "/" << chosen.size() << " " << r.tc->id
                      << std::flush;
    };
    const auto results = run_client_cases(chosen, ropt);
    if (tty && !o.progress) std::cerr << "\r\033[K" << std::flush;
    return report(o, ropt.program.name(), metas, results);
}

int run_server_direction(const options& o) {
    using namespace pop3::conformance;
    const auto cases = load_transcripts(o.transcripts);
    if (o.list) return list_cases(o, cases);
    auto ropt = base_run_options(o);
    ropt.tls = o.tls ? run_tls::implicit : o.starttls ? run_tls::starttls : run_tls::plain;
    tls_settings tls;
    tls.verify = !o.insecure;
    tls.ca_file = o.ca_file;

    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string title;
    if (o.target) {
        pop3::pop_url url;
        try {
            url = pop3::parse_pop_url(*o.target);
        } catch (const std::invalid_argument& e) {
            throw cli_error(e.what());
        }
        host = url.host;
        port = url.explicit_port ? url.port : (o.tls || url.scheme == "pop3s" ? 995 : 110);
        if (url.scheme == "pop3s") ropt.tls = run_tls::implicit;
        ropt.vars["user"] = url.user;
        ropt.vars["pass"] = url.password;
        title = "pop3-conformance server: " + host + ":" + std::to_string(port);
    } else {
        ropt.vars["user"] = "user";
        ropt.vars["pass"] = "pass";
        title = "pop3-conformance server: embedded pop3kit mock server";
    }

    // One connection in the run's TLS mode (implicit only for cases that ask for it).
    auto connect = [&](std::uint16_t p, bool implicit) {
        return connect_socket(host, p, implicit, tls, ropt.step_timeout);
    };

    target_facts external_facts;
    if (o.target) {
        auto conn = connect(port, ropt.tls == run_tls::implicit);
        external_facts = probe(*conn, ropt);
    }
    if (o.tls_port && ropt.tls == run_tls::implicit)
        throw cli_error("--tls-port goes with a pop3:// target (this run is implicit TLS)");
    if (o.plain_port && ropt.tls != run_tls::implicit)
        throw cli_error("--plain-port goes with a pop3s:// target or --tls");
    // The target's other port (--tls-port, --plain-port): the cases that need the other kind of
    // connection run there, in that port's mode, judged on that port's facts.
    struct other_port {
        std::uint16_t port = 0;
        bool implicit = false;
        run_options opt;
        target_facts facts;
    };
    std::optional<other_port> other;
    if (o.tls_port || o.plain_port) {
        other.emplace();
        other->implicit = o.tls_port.has_value();
        other->port = other->implicit ? *o.tls_port : *o.plain_port;
        other->opt = ropt;
        other->opt.tls = other->implicit ? run_tls::implicit : run_tls::plain;
        auto conn = connect(other->port, other->implicit);
        other->facts = probe(*conn, other->opt);
    }
    // Whether a case runs on the other port: it needs implicit TLS and the run is not, or it
    // starts in plaintext (does STLS itself) and the run is implicit.
    const auto on_other_port = [&](const test_case& c) {
        if (!other) return false;
        return other->implicit ? c.tls == start_tls_mode::implicit : c.tls == start_tls_mode::plain;
    };

    // --provision: the fixtures go into a folder of this run's own, removed at the end.
    std::optional<provisioner> prov;
    struct remove_at_end {
        std::filesystem::path dir;
        ~remove_at_end() {
            std::error_code ec;
            if (!dir.empty()) std::filesystem::remove_all(dir, ec);
        }
    } fixtures;
    if (o.provision) {
        fixtures.dir = std::filesystem::temp_directory_path() /
                       ("pop3-conformance-fixtures-" + std::to_string(::getpid()));
        prov.emplace(*o.provision, ropt.vars["user"], fixtures.dir,
                     *parse_fixture_format(o.fixture_format.value_or("maildir")));
    }

    std::vector<case_result> results;
    const bool tty = isatty(STDERR_FILENO);
    std::size_t index = 0, total = 0;
    for (const auto& c : cases)
        total += selected(o, c);
    for (const auto& c : cases) {
        if (!selected(o, c)) continue;
        ++index;
        if (tty) std::cerr << "\r\033[K[" << index << "/" << total << "] " << c.id << std::flush;
        case_result r;
        for (int attempt = 0; attempt < 2; ++attempt) {
            std::unique_ptr<pop3::mock::server> embedded;
            const bool other_one = on_other_port(c);
            target_facts facts = other_one ? other->facts : external_facts;
            const run_options& copt = other_one ? other->opt : ropt;
            std::uint16_t p = other_one ? other->port : port;
            bool implicit = other_one ? other->implicit : ropt.tls == run_tls::implicit;
            if (!o.target) {
                // The case's fixture: a scenario file that cannot be read, or a server that
                // cannot start, is the runner's problem (error), not the server's.
                try {
                    const auto config = embedded_config(c, o.scenarios);
                    pop3::mock::server_options so;
                    so.threads = 1;
                    so.tls_listen = "127.0.0.1:0";
                    embedded = std::make_unique<pop3::mock::server>(config, so);
                    embedded->start();
                    tls.ca_pem = embedded->identity().certificate;
                    implicit = implicit || c.tls == start_tls_mode::implicit;
                    p = implicit ? *embedded->tls_port() : embedded->port();
                    auto probe_conn = connect(p, implicit);
                    facts = probe(*probe_conn, ropt);
                } catch (const std::exception& e) {
                    r = {&c, verdict::error,
                         std::string("could not provision the embedded server: ") + e.what()};
                    break;
                }
                facts.embedded = true;
                facts.tls = true;
            }
            if (prov) {
                // The case sees the messages of the maildrop it names, once loaded.
                facts.provisioned = true;
                if (c.maildrop != "default") facts.messages = prov->messages(c.maildrop);
            }
            if (auto why = unmet_precondition(c, facts, copt)) {
                r = {&c, verdict::skip, why->reason};
                if (why->not_applicable) r.outcome = outcome_not_applicable;
                break;
            }
            if (prov) {
                if (auto why = prov->load(c.maildrop)) {
                    r = {&c, verdict::error, *why};
                    break;
                }
            }
            try {
                auto conn = connect(p, implicit);
                r = run_case(c, *conn, copt);
            } catch (const std::exception& e) {
                // "timed out connecting to HOST:PORT after N ms (the step timeout)", "cannot
                // connect to HOST:PORT: REASON" or "TLS handshake with HOST failed": the case
                // did not run, so nothing is judged.
                r = {&c, verdict::error, e.what()};
            }
            r.retried = attempt > 0;
            if (r.v != verdict::error || !(r.timed_out || r.maildrop_in_use)) break;
            // The session that holds the maildrop is still ending: give it a moment.
            if (r.maildrop_in_use) std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        results.push_back(std::move(r));
    }
    if (tty) std::cerr << "\r\033[K" << std::flush;
    if (prov) {
        if (auto why = prov->restore())
            std::cerr << "pop3-conformance: the user's own maildrop was not put back: " << *why
                      << "\n";
    }
    return report(o, title, cases, results);
}

// pop3-conformance fixtures DIR: the maildrops the selected server cases name, as files.
int write_fixtures_command(const options& o) {
    using namespace pop3::conformance;
    std::vector<test_case> chosen;
    for (auto& c : load_transcripts(o.transcripts))
        if (selected(o, c)) chosen.push_back(std::move(c));
    const auto format = *parse_fixture_format(o.format.value_or("maildir"));
    const auto names = fixture_maildrops(chosen);
    std::vector<std::pair<std::string, std::string>> left_out;
    try {
        left_out = write_fixtures(o.fixtures_dir, names, format);
    } catch (const std::invalid_argument& e) {
        throw cli_error(e.what()); // a bad DIR: exit code 2
    } catch (const std::exception& e) {
        throw write_error(e.what());
    }
    std::cout << "wrote " << names.size() - left_out.size() << " maildrops (" << to_string(format)
              << ") to " << o.fixtures_dir << ":\n";
    for (const auto& n : names) {
        const auto out = std::find_if(left_out.begin(), left_out.end(),
                                      [&](const auto& l) { return l.first == n; });
        if (out != left_out.end()) {
            std::cout << "  " << n << ": not written: " << out->second << "\n";
            continue;
        }
        std::cout << "  " << n << " -> "
                  << (std::filesystem::path(o.fixtures_dir) / fixture_folder_name(n)).string()
                  << (format == fixture_format::mbox ? "/mbox" : "") << "\n";
    }
    std::cout << "index: " << (std::filesystem::path(o.fixtures_dir) / fixture_index_name).string()
              << "\n";
    return pop3::exit_code_after_stdout("pop3-conformance", 0);
}

int report(const options& o, const std::string& title,
           const std::vector<pop3::conformance::test_case>& cases,
           const std::vector<pop3::conformance::case_result>& results) {
    using namespace pop3::conformance;
    // --expect: the comparison goes above the counts, whose line stays the last.
    std::optional<baseline_comparison> comparison;
    std::ostringstream compared;
    if (o.expected) {
        std::set<std::string> suite; // the run's direction, before --only
        for (const auto& c : cases)
            if ((o.mode == "client") == (c.dir == direction::client)) suite.insert(c.id);
        comparison = compare_with_baseline(*o.expected, results, suite);
        write_baseline_report(compared, *o.expected, *comparison);
    }
    write_console(std::cout, title, results, o.color && isatty(STDOUT_FILENO), compared.str());
    const bool console_written = pop3::flush_stdout("pop3-conformance");
    if (o.junit) write_file(*o.junit, [&](std::ostream& out) { write_junit(out, title, results); });
    if (o.json) write_file(*o.json, [&](std::ostream& out) { write_json(out, title, results); });
    if (o.html) write_file(*o.html, [&](std::ostream& out) { write_html(out, title, results); });
    if (o.update_expect)
        write_file(*o.update_expect, [&](std::ostream& out) {
            write_baseline(out, results, o.mode, o.expect_section);
        });
    const int status = comparison ? (comparison->differences() ? 1 : 0)
                                  : exit_status(summarize(results), o.strict);
    return console_written || status != 0 ? status : 1;
}

// pop3-conformance matrix [NAME=]RESULTS.json... [--html FILE] [--markdown FILE]
int matrix_command(int argc, char** argv) {
    using namespace pop3::conformance;
    std::optional<std::string> html, markdown;
    std::string title = "pop3-conformance matrix";
    std::vector<std::pair<std::string, std::string>> inputs; // name (or empty), file
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw cli_error("matrix: " + a + ": missing value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            return pop3::exit_code_after_stdout("pop3-conformance", 0);
        } else if (a == "--html")
            html = value();
        else if (a == "--markdown")
            markdown = value();
        else if (a == "--title")
            title = value();
        else if (a.size() > 1 && a[0] == '-')
            throw cli_error("matrix: unknown option '" + a + "'");
        else {
            // NAME=FILE, unless the whole argument is a file.
            std::error_code ec;
            const auto eq = a.find('=');
            if (eq != std::string::npos && eq > 0 && !std::filesystem::exists(a, ec))
                inputs.emplace_back(a.substr(0, eq), a.substr(eq + 1));
            else
                inputs.emplace_back(std::string(), a);
            if (inputs.back().second.empty()) throw cli_error("matrix: '" + a + "': no file");
        }
    }
    if (inputs.empty()) throw cli_error("matrix: give one or more RESULTS.json files");
    std::vector<matrix_run> runs;
    for (const auto& [name, file] : inputs)
        runs.push_back(read_matrix_run(file, name));
    // Two runs under one name would be one column: the later ones get " (2)", " (3)", ...
    std::map<std::string, int> seen;
    for (auto& r : runs)
        if (const int n = ++seen[r.name]; n > 1) r.name += " (" + std::to_string(n) + ")";
    if (html) {
        const auto dir = std::filesystem::path(*html).parent_path();
        write_file(*html, [&](std::ostream& out) { write_matrix_html(out, title, runs, dir); });
    }
    if (markdown)
        write_file(*markdown, [&](std::ostream& out) { write_matrix_markdown(out, runs); });
    if (!html && !markdown) {
        write_matrix_markdown(std::cout, runs);
        return pop3::exit_code_after_stdout("pop3-conformance", 0);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        if (argc >= 2 && std::strcmp(argv[1], "matrix") == 0) return matrix_command(argc, argv);
        auto o = parse_args(argc, argv);
        // A malformed baseline stops the run before it starts.
        if (o.expect && !o.list)
            o.expected = pop3::conformance::read_baseline(*o.expect, o.expect_section);
        if (o.mode == "library-client")
            return pop3::conformance::library_adapter_main(
                o.library_async ? pop3::conformance::library_api::async
                                : pop3::conformance::library_api::sync);
        if (o.mode == "fixtures") return write_fixtures_command(o);
        if (o.mode == "client") return run_client_direction(o);
        return run_server_direction(o);
    } catch (const cli_error& e) {
        std::fprintf(stderr, "pop3-conformance: %s\n", e.what());
        if (argc >= 2 && std::strcmp(argv[1], "matrix") == 0)
            std::fputs("usage: pop3-conformance matrix [NAME=]RESULTS.json... [--html FILE] "
                       "[--markdown FILE] [--title TEXT]\n",
                       stderr);
        return 2;
    } catch (const pop3::conformance::matrix_input_error& e) {
        std::fprintf(stderr, "pop3-conformance: %s\n", e.what());
        return 2;
    } catch (const pop3::conformance::transcript_error& e) {
        std::fprintf(stderr, "pop3-conformance: %s\n", e.what());
        return 2;
    } catch (const pop3::conformance::baseline_error& e) {
        std::fprintf(stderr, "pop3-conformance: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-conformance: %s\n", e.what());
        return 1;
    }
}
