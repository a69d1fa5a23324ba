// The client direction of pop3-fuzz (docs/fuzzing.md, "pop3-fuzz client"): an input is a
// generated client conformance case (task, login, TLS mode, and one deviation of a correct
// server drawn from a dictionary of hostile replies and delivery faults); the client conformance
// runner plays it against a client program and judges the run by its global rules; inputs that
// show a new (deviation shape, client commands, outcome) signature join the corpus; a run that
// breaks a client-independent rule is a finding, minimised and written as a client case.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <pop3/conformance/client_case.hpp>
#include <pop3/conformance/client_runner.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pop3::fuzzer {

// One generated client case.
struct client_input {
    conformance::client_task task = conformance::client_task::fetch_all;
    std::string login = "any";
    conformance::client_tls tls = conformance::client_tls::none;
    // The [case.deviation] table: keys and their TOML values as written in the file ("role"
    // first). Findings are minimised by dropping keys.
    std::vector<std::pair<std::string, std::string>> deviation;
    std::string family;  // the deviation's shape ("list/listing", "retr/body", ...)
    std::string variant; // what its reply change does, in words (describe() adds the fault)
    // The served messages keep their bytes (a delivery fault, a status line, a listing): a
    // delivered message must then be exact or absent. False when the deviation changes a body.
    bool intact = true;
    // The deviation may keep the client waiting for bytes that never come, or slowly (a
    // missing terminator, a hang, a delay, a drip, an endless body): a client killed at the
    // deadline is then not a finding.
    bool stalls = false;
};

// What the campaign may ask of the client.
struct client_choices {
    std::vector<conformance::client_task> tasks = {
        conformance::client_task::status, conformance::client_task::fetch_all,
        conformance::client_task::fetch_one, conformance::client_task::fetch_new,
        conformance::client_task::delete_after_fetch};
    std::vector<std::string> logins = {"any",        "user",          "apop",
                                       "sasl:PLAIN", "sasl:CRAM-MD5", "sasl:SCRAM-SHA-256"};
    std::vector<conformance::client_tls> tls_modes = {conformance::client_tls::none,
                                                      conformance::client_tls::starttls,
                                                      conformance::client_tls::implicit};
    std::vector<std::string> families; // of client_families(); empty: all of them
};

// Deterministic: the same seed and the same calls give the same inputs.
class client_mutator {
public:
    client_mutator(std::uint64_t seed, client_choices choices);
    // A fresh input: a task, login and TLS mode, a family and a variant of it.
    client_input generate();
    // A variation of a corpus input: another variant of its family, another selector, a
    // delivery fault added, changed or dropped, or another task, login or TLS mode.
    client_input mutate(const client_input& parent);
    // A number in [0, n), from the same generator.
    std::size_t pick(std::size_t n);
    const client_choices& choices() const noexcept { return choices_; }

private:
    client_input variant_of(const std::string& family, client_input base);
    void add_delivery_fault(client_input& in);
    std::mt19937_64 rng_;
    client_choices choices_;
};

// The input's deviation in words: its variant and the delivery fault it has.
std::string describe(const client_input& in);

// After minimising dropped keys of `drawn` other than the delivery fault's, the variant (the
// change drawn, in words) no longer says what the case does: the keys left say it then.
void redescribe_after_minimising(client_input& in,
                                 const std::vector<std::pair<std::string, std::string>>& drawn);

// Every family the mutator draws from ("greeting/status", "capa/lines", ...).
const std::vector<std::string>& client_families();

// Bytes for people: CR, LF, TAB as \r \n \t, other control octets and non-ASCII as \xHH,
// cut at `limit` octets.
std::string shown(std::string_view bytes, std::size_t limit = 80);

// A TOML basic string ("..." with escapes) holding exactly `bytes` (valid UTF-8 expected).
std::string toml_string(std::string_view bytes);

// The input as one [[case]] of a client case file, `comments` as "# " lines above it.
struct case_text_info {
    std::string id = "client/fuzz/input"; // "client/..." without spaces
    std::string title = "a generated case (pop3-fuzz client)";
    std::string rfc = "1939 §3";
    std::string why;
    std::vector<std::string> comments;
};
std::string client_case_toml(const client_input& in, const case_text_info& info = {});

// The case the runner plays: parsed from client_case_toml(), so that the run and the written
// file cannot disagree. Throws conformance::transcript_error when the keys do not make a case.
conformance::client_case client_case_of(const client_input& in, const case_text_info& info = {});

// A finding kind from a run of an input: "signal", "hang", "memory", "output",
// "inexact-delivery", "plaintext-credentials", "stls-injection", "sanitizer"; nullopt when the
// run broke no client-independent rule.
std::optional<std::string> finding_kind(const client_input& in,
                                        const conformance::single_case_run& run);

struct client_campaign_stats {
    std::size_t sessions = 0;   // fuzzing sessions (control, minimisation and replay runs apart)
    std::size_t extra_runs = 0; // control, minimisation and replay runs
    double seconds = 0;
    std::size_t corpus = 0;
    std::size_t signatures = 0;
    std::size_t findings = 0;
};

struct client_campaign_options {
    std::uint64_t seed = 1;
    std::chrono::milliseconds duration{60000};
    std::optional<std::size_t> max_sessions;
    std::optional<std::size_t> stop_after_findings; // stop once this many were found
    client_choices choices;
    // How the runner runs and bounds the client (program, deadline, client timeout, memory and
    // output bounds). Its `hold` is not used: only sessions at the STLS boundary hold replies
    // back (`stls_hold`, which the lock-step rule needs there); the others run with no hold,
    // which is faster and changes none of the rules a finding may break. Each finding is
    // replayed with `replay`
    // (the options `pop3-conformance client` has by default: the hold of 50 ms), with a control
    // run; without a program of its own, `run`'s with the runner's default hold.
    conformance::client_run_options run;
    std::chrono::milliseconds stls_hold{10};
    conformance::client_run_options replay;
    std::size_t max_corpus = 512;
    std::size_t minimise_runs = 24; // per finding
    std::size_t max_cases_per_kind = 16;
    std::optional<std::filesystem::path> findings_dir; // KIND.toml files are written here
    std::string client_label;                          // for the files' comments
    std::chrono::milliseconds status_interval{5000};
    std::function<void(const client_campaign_stats&)> on_status;
    std::function<void(const std::string&)> on_finding; // a line per new finding
    std::function<void(const std::string&)> on_note;    // skipped combinations, unconfirmed
};

struct client_finding {
    std::string kind;   // finding_kind()
    std::string family; // the deviation's shape: findings fold by (kind, family)
    std::string detail; // the runner's reason
    client_input minimal;
    std::string case_id;
    std::uint64_t seed = 0;
    std::size_t session = 0; // the session that showed it
    double seconds = 0;      // into the campaign when that session ended
    std::filesystem::path file;
};

struct client_campaign_result {
    client_campaign_stats stats;
    std::vector<client_finding> findings;
    std::vector<std::string> skipped; // task/login/TLS combinations whose control run failed
};

client_campaign_result run_client_campaign(const client_campaign_options& o);

} // namespace pop3::fuzzer
