// Replays transcript cases against a server under test and collects verdicts: preconditions,
// the step engine, retries on timeout, and the run's exit status.
#pragma once

#include "pop3/conformance/connection.hpp"
#include "pop3/conformance/pattern.hpp"
#include "pop3/conformance/transcript.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <pop3/protocol/listings.hpp>
#include <string>
#include <vector>

namespace pop3::conformance {

enum class verdict : std::uint8_t { pass, fail, skip };

struct case_result {
    const test_case* tc = nullptr;
    verdict v = verdict::pass;
    std::string reason;   // why it failed or was skipped
    std::string expected; // for failures at an S: step
    std::string actual;
    std::size_t line = 0; // transcript line of the failing step
    double seconds = 0;
    bool retried = false;
};

// What the server under test offers, learned by a probe session (or known, when embedded).
struct target_facts {
    capabilities caps;
    bool apop = false;
    std::uint64_t messages = 0;
    bool tls = false;          // STLS or implicit TLS can be used
    bool stls_offered = false; // CAPA listed STLS before TLS (inside TLS it no longer does)
    bool embedded = false;     // pop3kit's own mock server, whose maildrop the runner prepares
    bool logged_in = false;    // the probe could log in (STAT worked)
};

enum class run_tls : std::uint8_t { plain, starttls, implicit };

struct run_options {
    std::chrono::milliseconds step_timeout{5000};
    variables vars; // user, pass, and anything a transcript needs
    run_tls tls = run_tls::plain;
};

// The reason a case cannot run against this target, or nullopt.
std::optional<std::string> unmet_precondition(const test_case& tc, const target_facts& facts,
                                              const run_options& opt);

// Plays one case over a fresh connection (already connected; the greeting not read).
case_result run_case(const test_case& tc, connection& conn, const run_options& opt);

// Learns the facts with a short session: greeting, CAPA, USER/PASS, STAT, QUIT.
target_facts probe(connection& conn, const run_options& opt);

struct summary {
    std::size_t passed = 0, failed = 0, skipped = 0;
    std::size_t must_failed = 0, should_failed = 0;
};
summary summarize(const std::vector<case_result>& results);
// 0 when no MUST failed (and, with strict, no SHOULD failed).
int exit_status(const summary& s, bool strict);

} // namespace pop3::conformance
