// pop3-load's pieces: the command line, the latency histogram, the run (N connections over
// Asio coroutines, replies read through the protocol core) and the report (text, JSON, and an
// HTML page with SVG charts).
// The program (tools/pop3_load.cpp) only wires them together; the tests use them directly.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <pop3/client/client.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::load {

// What a latency row measures: a protocol command, or a phase of a session.
enum class step : std::uint8_t {
    connect, // TCP connect until the greeting has been read (the TLS handshake not included)
    tls,     // the TLS handshake (implicit TLS, or after STLS)
    stls,
    user,
    pass,
    capa,
    stat,
    list,
    uidl,
    retr,
    dele,
    noop,
    rset,
    quit,
    session, // a whole completed session, connect to the last reply
};
inline constexpr std::size_t step_count = static_cast<std::size_t>(step::session) + 1;
// "connect", "TLS", "STLS", "USER", ..., "session".
std::string_view step_name(step s) noexcept;

// Latency histogram over nanoseconds: exact below 128 ns, then 128 buckets per power of two
// (relative error under 0.8%), constant memory whatever the run length.
class histogram {
public:
    histogram();
    void record(std::uint64_t ns) noexcept;
    void merge(const histogram& other);
    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    // The value at percentile p (0..100): the middle of the bucket holding that rank, never
    // above max(); max() for the last rank. 0 when empty.
    std::uint64_t percentile(double p) const noexcept;

    static std::size_t bucket_of(std::uint64_t ns) noexcept;
    static std::uint64_t bucket_low(std::size_t bucket) noexcept;
    static std::uint64_t bucket_width(std::size_t bucket) noexcept;
    // The buckets, for drawing: bucket i counts the values in [bucket_low(i), + bucket_width(i)).
    std::size_t buckets() const noexcept { return buckets_.size(); }
    std::uint64_t bucket_count(std::size_t bucket) const noexcept { return buckets_[bucket]; }

private:
    std::vector<std::uint64_t> buckets_;
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

enum class tls_choice { none, implicit, starttls };

struct options {
    std::string target; // the URL as given (report: password masked)
    pop_url url;        // parsed; url.user may contain the placeholder {n}
    tls_choice tls = tls_choice::none;
    std::string ca_file; // trusted CA (PEM); default: the system store
    bool insecure = false;
    unsigned connections = 0;
    double duration = 0; // seconds
    std::vector<std::string> mix;
    std::vector<step> plan; // each session's commands, after login expansion and the RSET rule
    bool auto_rset = false; // an RSET was inserted before QUIT (DELE in the mix, no RSET)
    std::optional<std::uint64_t> message; // --message: RETR/DELE always this one
    std::string json_file;
    std::string html_file; // --html: the report as a page with charts ("-": stdout)
    bool allow_remote = false;
    unsigned threads = 1;
    double timeout = 10; // seconds without progress before an operation fails; 0: none
    bool quiet = false;  // no progress line
};

// A bad command line: the message is for stderr, the exit code 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct parsed_args {
    bool help = false;
    options opt;
};
// Parses the arguments after the program name. Throws usage_error for a bad command line,
// including a target that is not on the loopback interface without --allow-remote.
parsed_args parse_args(std::span<const std::string> args);
extern const char* const usage_text;

// 127.0.0.0/8, ::1 and "localhost" (any case).
bool is_loopback_host(std::string_view host);
// The user name connection `n` (1-based) logs in as: "%d" or "{n}" in the URL's user become n.
std::string user_for(const options& opt, unsigned n);
// The URL with its password masked, and the placeholder shown as {n}.
std::string display_target(const options& opt);

// What a run measured. Only one thread touches a results object at a time.
// The counters as they stood `t` seconds after the start (the timeline's points).
struct sample {
    double t = 0;
    std::uint64_t sessions = 0;    // completed
    std::uint64_t errors = 0;      // connection and protocol errors
    std::uint64_t err_replies = 0; // -ERR replies
};

struct results {
    std::array<histogram, step_count> latency;
    std::uint64_t sessions_completed = 0;        // every command of the plan got a reply
    std::uint64_t sessions_failed = 0;           // ended by an error, or -ERR to USER/PASS/STLS
    std::uint64_t sessions_unfinished = 0;       // cut short by the end of the run
    std::uint64_t commands = 0;                  // replies received (+OK and -ERR)
    std::uint64_t body_octets = 0;               // multi-line reply bodies, dot-unstuffed
    std::uint64_t received_octets = 0;           // everything read from the sockets (after TLS)
    std::map<std::string, std::uint64_t> errors; // connection and protocol errors by name
    std::map<std::string, std::uint64_t> err_replies; // -ERR by command ("PASS [IN-USE]")
    // For each key of errors and err_replies, the first occurrence's text: the error's message
    // or the server's -ERR text (escaped, truncated).
    std::map<std::string, std::string> first_text;
    double elapsed = 0;       // seconds, start to the end of the run (duration or Ctrl-C)
    bool interrupted = false; // stopped by SIGINT/SIGTERM
    bool aborted = false;     // commands in flight at the end were aborted, not awaited
    // The run's counters over time: a sample at the start, about one a second (every 2^k
    // seconds once a run is long: never more than max_samples), and one at the end (elapsed,
    // with what finished in the grace period). Filled by run(); merge() leaves it alone.
    std::vector<sample> timeline;
    static constexpr std::size_t max_samples = 1024;

    void merge(const results& other);
    std::uint64_t error_count() const;     // sum of errors
    std::uint64_t err_reply_count() const; // sum of err_replies
};

struct progress {
    double elapsed = 0;
    std::uint64_t sessions = 0, commands = 0, errors = 0; // errors: both kinds
};

// Runs the load. `interrupts` counts SIGINT/SIGTERM (one: stop, in-flight commands finish;
// two: abort them). `on_progress` is called about once a second from the calling thread.
// Throws std::runtime_error when the target cannot be resolved or the TLS set-up fails.
results run(const options& opt, const std::atomic<int>& interrupts,
            const std::function<void(const progress&)>& on_progress);

// "plain", "tls" or "starttls", as the reports say.
std::string_view tls_word(tls_choice t) noexcept;
// The reports' latency rows: the session's phases and commands in the order they happen, each
// once (connect, STLS, TLS, the plan's commands, session).
std::vector<step> latency_rows(const options& opt);

// The report on stdout, and the same as JSON.
std::string format_report(const options& opt, const results& r);
std::string format_json(const options& opt, const results& r);
// One self-contained HTML page (no script, no external asset): the run's parameters and
// figures, and inline SVG charts: a latency histogram per row, sessions/s and errors over time.
std::string format_html(const options& opt, const results& r);
// 0: the run happened; 1: sessions were attempted and every one of them failed.
int exit_code(const results& r);

} // namespace pop3::load
