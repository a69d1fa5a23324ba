// Replays transcript cases against a server under test and collects verdicts: preconditions,
// the step engine, retries on timeout, and the run's exit status.
#pragma once

#include "pop3/conformance/connection.hpp"
#include "pop3/conformance/pattern.hpp"
#include "pop3/conformance/transcript.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <pop3/protocol/listings.hpp>
#include <string>
#include <vector>

namespace pop3::conformance {

// pass: the peer did what the case expects. fail: it did not, and the wire dialogue shows it
// (a claim about the peer's software, defensible by RFC text). skip: a precondition does not
// hold. error: the runner could not judge (its own limit, a transcript problem, a connect or
// TLS set-up failure on the runner's side, no reply within the step timeout): never counted as
// a failure of the peer.
enum class verdict : std::uint8_t { pass, fail, skip, error };

// One line of a case's wire dialogue, kept for the HTML report (run_options::keep_dialogue,
// client_run_options::keep_dialogue): bounded like the evidence (the first lines and the last).
struct wire_line {
    // 'C' the client's line, 'S' the server's; 'R' a note of the runner (a TLS handshake, a
    // close, nothing within the timeout, lines not kept): no bytes of either side.
    char from = 'R';
    bool same_write = false;      // sent in the same write as the line before (C+:, S+:)
    bool tls = false;             // the connection was inside TLS
    double ms = 0;                // since the case (a client case: its execution) began
    std::uint64_t connection = 0; // client cases: the connection's number; 0 otherwise
    std::string text;             // escaped for display (CR, LF, NUL, non-ASCII as \xHH), cut
    std::size_t left_out = 0;     // a gap: this many lines were not kept here
    // diverges: where expected and actual part (case_result::expected is the expected line);
    // deviation: the client case's deviation went out here; breach: a global rule broke here.
    enum class mark : std::uint8_t { none, diverges, deviation, breach };
    mark marked = mark::none;
};

struct case_result {
    const test_case* tc = nullptr;
    verdict v = verdict::pass;
    std::string reason;   // why it failed, was skipped or could not be judged
    std::string expected; // for failures at an S: step
    std::string actual;
    std::size_t line = 0; // transcript line of the failing step
    double seconds = 0;
    bool retried = false;
    bool timed_out = false; // an error because a reply did not come in time: retried once
    // An error because a login was answered -ERR [IN-USE] (RFC 2449 §8.1.2) where the case
    // expected another reply: another session, most likely the previous case's still ending,
    // holds the maildrop. Retried once, after a pause.
    bool maildrop_in_use = false;
    // Client cases (client_runner.hpp): the finer outcome ("non-strict", "info", "n/a",
    // "inconclusive", ...; empty: the verdict's word) and the evidence behind it (wire trace
    // excerpt, exit status, delivered bytes).
    std::string outcome;
    std::string evidence;
    // The wire dialogue line by line, when the run kept it (keep_dialogue): every case, not
    // only failures. The evidence text above is unchanged by it.
    std::vector<wire_line> dialogue;
};

// What the server under test offers, learned by a probe session (or known, when embedded).
struct target_facts {
    capabilities caps;
    bool apop = false;
    std::uint64_t messages = 0;
    bool tls = false;          // STLS or implicit TLS can be used
    bool stls_offered = false; // CAPA listed STLS before TLS (inside TLS it no longer does)
    bool embedded = false;     // pop3kit's own mock server, whose maildrop the runner prepares
    bool provisioned = false;  // --provision: the runner loads a case's maildrop on the target
    bool logged_in = false;    // the probe could log in (STAT worked)
    // CAPA answered +OK. A server that answers -ERR does not implement it (RFC 2449 §5); the
    // probe then learns USER, TOP and UIDL by trying them, into `caps`.
    bool capa = false;
    // What the probe could learn, so that a case is n/a only on what the server said, never on
    // what the probe failed to read: the greeting came (so `apop` is known), and CAPA's answer
    // was read whole (-ERR, or +OK and its listing up to "."; so `caps` is known).
    bool greeted = false;
    bool capa_read = false;
};

enum class run_tls : std::uint8_t { plain, starttls, implicit };

// After PASS, APOP or AUTH (and the SASL exchange that follows AUTH), and for the step after
// such a command got -ERR, the runner waits this many step timeouts: servers delay their
// answers after a failed login (Dovecot's auth penalty), and a late answer is not a hang.
inline constexpr int failed_login_wait_factor = 3;

struct run_options {
    std::chrono::milliseconds step_timeout{5000};
    variables vars; // user, pass, and anything a transcript needs
    run_tls tls = run_tls::plain;
    // Keep each case's dialogue in case_result::dialogue (the HTML report).
    bool keep_dialogue = false;
};

// Why a case cannot run against this target. A case about something the server does not offer
// (an extension or SASL mechanism it does not advertise, APOP without a timestamp in the
// greeting, CAPA answered -ERR), or one for pop3kit's embedded server only (`requires:
// embedded`, a `scenario:`), is not applicable: reported as "n/a", it says nothing about the
// run's reach. Any other reason (a maildrop the run cannot arrange, a password a --starttls run
// will not send in plaintext, TLS or messages the target lacks) is a gap of the run.
struct unmet {
    std::string reason;
    bool not_applicable = false;
};
std::optional<unmet> unmet_precondition(const test_case& tc, const target_facts& facts,
                                        const run_options& opt);

// The outcome word of a case that is not applicable (case_result::outcome).
inline constexpr std::string_view outcome_not_applicable = "n/a";

// Plays one case over a fresh connection (already connected; the greeting not read).
case_result run_case(const test_case& tc, connection& conn, const run_options& opt);

// Learns the facts with a short session: greeting, CAPA, USER/PASS, STAT, QUIT.
target_facts probe(connection& conn, const run_options& opt);

struct summary {
    std::size_t passed = 0, failed = 0, skipped = 0, errors = 0;
    std::size_t not_applicable = 0; // of the skipped: outcome "n/a"
    std::size_t must_failed = 0, should_failed = 0;
};
summary summarize(const std::vector<case_result>& results);
// 0 when no MUST failed (and, with strict, no SHOULD failed). Errors are not failures: they are
// reported (the console's last line, JUnit <error>, JSON "errors"), not counted here.
int exit_status(const summary& s, bool strict);

} // namespace pop3::conformance
