// The reactive client runner (docs/client-conformance.md): for each client case, pop3kit's mock
// server with the case's one deviation plays a correct server, the client under test does the
// case's task, and the runner judges what it observed: the wire trace, the client's exit, its
// resources and the messages it delivered, against the global rules, the control run and the
// case's expectation.
#pragma once

#include "pop3/conformance/client_case.hpp"
#include "pop3/conformance/runner.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pop3::conformance {

// What a run asks of the client: the adapter contract's values.
struct run_request {
    client_task task = client_task::fetch_all;
    std::string login = "any";
    client_tls tls = client_tls::none;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string user = "user", password = "pass";
    std::filesystem::path ca_file; // PEM of the CA to trust
    std::filesystem::path out_dir, state_dir;
    std::chrono::seconds client_timeout{5}; // the I/O timeout the client is asked to use
};

// How a client run ended.
struct process_result {
    bool started = false;
    int exit_code = -1;         // when it exited
    int signal = 0;             // when a signal ended it (the adapter's 128+N counts as signal N)
    bool killed = false;        // by the runner, at the deadline
    bool memory_killed = false; // by the runner, when its memory passed the limit
    bool output_killed = false; // by the runner, when its output passed the bound
    bool unsupported = false;   // the adapter's 125
    double seconds = 0;
    long max_rss_kib = 0; // 0: not above the runner's own peak, so unknown (never judged)
    std::string output;   // the tail of what it wrote on stdout and stderr
};

// The client under test: an adapter run with /bin/sh (--command), observed, bounded and killed
// like any program. pop3kit's client library is one too: `pop3-conformance library-client`.
struct client_program {
    std::string command; // the adapter template
    std::string title;   // for reports; default "pop3-conformance client: COMMAND"
    std::string name() const;
};

// Which API of pop3kit's client library the adapter drives: the synchronous pop3::client or
// pop3::async_client (both run the library's one engine; the async one through Asio's
// completion machinery).
enum class library_api { sync, async };

// pop3kit's client library as an adapter: reads the contract from the environment (POP3KIT_*),
// does the task and returns the exit status (0 done, 1 failed, 125 unsupported, 2 when the
// environment is not an adapter's). What `pop3-conformance library-client [--async]` runs.
int library_adapter_main(library_api api = library_api::sync);

// Runs one run of the task and waits, killing the process group at `deadline`, or as soon as
// one of its processes is seen resident in more than `max_memory_kib` (0: no limit), or
// `over_output` (asked every 100 ms) says it wrote more than it may.
process_result run_client_program(const client_program& program, const run_request& request,
                                  std::chrono::milliseconds deadline, long max_memory_kib = 0,
                                  const std::function<bool()>& over_output = {});

struct client_run_options {
    client_program program;
    std::chrono::milliseconds deadline{60000}; // a run's wall time before it is killed
    std::chrono::seconds client_timeout{5};    // asked of the client (POP3KIT_TIMEOUT)
    std::chrono::milliseconds hold{50};        // lock-step: the last octet of a reply waits
    // Peak memory of the client's largest process; checked first, even for a client killed at
    // the deadline (a client that buffers a huge line has passed it by then).
    long max_memory_kib = 256 * 1024;
    // A client may write twice what the server sent (line-end conversion, added headers) plus
    // this much; more is a client writing without bound.
    std::uintmax_t output_slack_octets = 1024 * 1024;
    // pop3kit's client library in this process over a byte link in memory (no socket, no
    // child): `program` is not used. Cases that need TLS or a timed delivery fault are n/a.
    bool in_memory = false;
    std::filesystem::path work_dir; // scratch; a private temporary folder when empty
    unsigned jobs = 1;              // cases run side by side (each has its own server)
    bool keep_dialogue = false;     // each case's wire dialogue in case_result::dialogue
    std::function<void(const client_case&)> on_start;  // progress, as cases start
    std::function<void(const case_result&)> on_result; // progress, as cases end
};

// Runs the cases in order, each with the control run it needs (run once per control key).
// The results point into `cases`.
std::vector<case_result> run_client_cases(const std::vector<client_case>& cases,
                                          const client_run_options& options);

// A global rule that a run broke (docs/client-conformance.md, "Global rules"): these hold for
// every client, whatever its case expects, and are judged before the expectation.
struct global_verdict {
    verdict v = verdict::fail; // fail; error when the runner's own limit ended the run
    std::string outcome;       // "failed" or "error"
    std::string reason;        // one sentence
    // "memory", "deadline", "signal", "output", "inexact delivery", "runner limit", or a rule of
    // the wire trace: "lock-step", "credentials before TLS", "DELE of a damaged message",
    // "AUTH line over 255 octets".
    std::string rule;
    std::optional<std::size_t> focus; // the wire event it points at
};

// What one run of one generated case showed (pop3-fuzz client): the verdict, and apart from it
// the global rule broken and what the client did.
struct single_case_run {
    // As run_client_cases judges it, without a control run and with the case's expectation
    // taken as info: only the global rules can fail it.
    case_result result;
    std::optional<global_verdict> global; // the first global rule broken
    bool breach_in_tls = false;           // the global rule's wire event was inside TLS
    bool served = false;                  // the deviation was served
    bool unsupported = false;             // the adapter's 125
    std::string error;                    // the runner could not run it
    // The keyword of every line the client sent, in order over its connections ("*SASL*" for
    // a SASL response); bounded as the wire trace's command log.
    std::vector<std::string> commands;
    std::vector<process_result> runs; // how each run of the client ended (two for fetch-new)
    std::uintmax_t server_octets = 0;
};

// Runs generated cases one at a time, each once with its deviation and no control run, with one
// work folder and one set of certificates for all of them: the entry point of the client fuzzer.
// `pop3-conformance client` (run_client_cases) replays what it writes.
class client_case_runner {
public:
    explicit client_case_runner(client_run_options options);
    ~client_case_runner();
    client_case_runner(const client_case_runner&) = delete;
    client_case_runner& operator=(const client_case_runner&) = delete;

    // `c` must outlive the result (result.tc points at its meta).
    single_case_run run(const client_case& c);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// The outcome words of client cases, finer than verdicts: "passed", "failed", "non-strict",
// "info", "n/a", "inconclusive", "error".
verdict verdict_of_outcome(std::string_view outcome) noexcept;

} // namespace pop3::conformance
