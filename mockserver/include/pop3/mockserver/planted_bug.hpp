// The fuzzers' bug bench (docs/fuzzing.md): bugs planted on purpose in the mock server, each
// imitating a class of bug found in real POP3 servers, so that a black-box fuzzer can be measured
// on how fast it finds each. Their code is compiled only with the CMake option POP3_PLANTED_BUGS
// (test builds); a server_config selects them at run time (server_config::planted). The names
// are a contract: pop3-mockserver --plant-bug NAME, pop3-fuzz and the docs use them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <pop3/protocol/command.hpp>
#include <span>
#include <string_view>

namespace pop3::mock {

enum class planted_bug : std::uint8_t {
    // "list-crash-2g": a message number read into a signed 32-bit int indexes out of bounds.
    list_crash_2g,
    // "rset-hang-3": a lock or state-machine bug that loses a reply and stalls the session.
    rset_hang_3,
    // "stls-keeps-plaintext": plaintext pipelined after STLS runs inside TLS (CVE-2011-0411).
    stls_keeps_plaintext,
    // "dele-twice-ok": the deleted flag is set without checking it first.
    dele_twice_ok,
    // "number-wraps-2^32": a message number parsed into a 32-bit unsigned integer wraps.
    number_wraps_2_32,
    // "noop-leak": a per-command buffer that is never freed (memory grows until the OOM killer).
    noop_leak,
    // "pass-crash-300": the password copied into a fixed-size stack buffer (overflow).
    pass_crash_300,
    // "unstuffed-dot": a message body sent without dot-stuffing on one code path.
    unstuffed_dot,
    // "uidl-changes-after-rset": unique-ids derived from mutable state (RFC 1939 §7 forbids).
    uidl_changes_after_rset,
    // "long-err-echo": an error reply that echoes the client's input without a bound.
    long_err_echo,
    // "bare-lf-listing": a listing written with "\n" where the protocol needs CRLF.
    bare_lf_listing,
    // "list-shows-deleted": the scan listing ignores the session's deletion marks.
    list_shows_deleted,
    // "stat-counts-deleted": the drop listing ignores the session's deletion marks.
    stat_counts_deleted,
    // "capa-unterminated-transaction": a per-state reply path that forgets the terminator.
    capa_unterminated_transaction,
};

// The bug's name, as on the command line ("list-crash-2g").
std::string_view to_string(planted_bug bug) noexcept;
// The bug of that name (exact, case-sensitive), or nullopt.
std::optional<planted_bug> parse_planted_bug(std::string_view name) noexcept;
// Every planted bug, in the order above.
std::span<const planted_bug> all_planted_bugs() noexcept;
// Whether this build compiled the planted bugs in (POP3_PLANTED_BUGS). Without them, a config's
// `planted` list does nothing.
bool planted_bugs_compiled() noexcept;

// The crash a command line triggers when `planted` holds its bug, or nullopt: list-crash-2g for
// "LIST n" in TRANSACTION with n all digits and at least 2^31 (however many digits: also beyond
// 2^64), pass-crash-300 for "PASS arg" in AUTHORIZATION with arg at least 300 octets (`line` may
// be only the start of the PASS line: the server reads PASS lines past the command-line limit to
// reach this). Keywords are case-insensitive. `line` has no CRLF. The session calls abort() when
// this answers; tests ask it instead. Always nullopt without planted_bugs_compiled().
std::optional<planted_bug> planted_crash_due(std::span<const planted_bug> planted,
                                             session_state state, std::string_view line) noexcept;

// noop-leak: keeps 64 KiB that is never released (the bytes written, so that the resident size
// grows; reachable from a static, so that LeakSanitizer stays quiet). Thread-safe. Does nothing
// without planted_bugs_compiled().
void planted_noop_leak();
// The octets planted_noop_leak has kept in this process so far.
std::size_t planted_noop_leaked_octets() noexcept;

} // namespace pop3::mock
