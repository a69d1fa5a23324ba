// Scenarios: how the mock server misbehaves on purpose. A scenario overrides the greeting, the
// capabilities per state and the reply to any command (by state and occurrence), and injects
// faults per command or per session. Loaded from TOML (docs/scenarios.md), or built in code.
#pragma once

#include "pop3/mockserver/deviation.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <pop3/protocol/command.hpp>
#include <string>
#include <vector>

namespace pop3::mock {

// AUTHORIZATION, TRANSACTION, UPDATE: the protocol core's states, in which command_info says
// each command is valid.
using session_state = pop3::session_state;

// How one reply is delivered, and what goes wrong with it.
struct fault {
    std::chrono::milliseconds delay{0}; // wait before the first byte
    std::size_t drip_bytes = 0;         // write at most this many bytes at a time (0: all at once)
    std::chrono::milliseconds drip_pause{0};
    std::vector<std::size_t> split_at; // also break the reply into writes at these offsets
    // Close the connection at this byte offset of the reply (0: before it, npos: after it).
    std::optional<std::size_t> disconnect_at;
    bool hang = false; // never send the reply; keep the connection open and stop reading

    bool any() const noexcept {
        return delay.count() || drip_bytes || !split_at.empty() || disconnect_at || hang;
    }
};

// Changes to the bytes of one reply.
struct reply_change {
    std::optional<std::string> replace; // whole reply, sent verbatim (no stuffing, no CRLF added)
    std::string append;                 // extra bytes in the same write (response injection)
    bool bare_lf = false;               // every CRLF of the reply becomes LF
    std::int64_t octet_delta = 0;       // added to the octet counts the reply announces
    bool drop_terminator = false;       // multi-line: leave out the final ".\r\n"
    bool endless_body = false;          // multi-line: keep sending body lines, never terminate
    std::size_t huge_line = 0;          // multi-line: insert a body line of this many octets
    bool tls_failure = false;           // STLS: say +OK, then answer the handshake with garbage
    // SCRAM server-first (an AUTH challenge "r=...,s=...,i=..."): announce this iteration count
    // instead, the client's nonce kept, so that only a bound on the count stops the client.
    std::uint32_t scram_iterations = 0;

    bool any() const noexcept {
        return replace || !append.empty() || bare_lf || octet_delta || drop_terminator ||
               endless_body || huge_line || tls_failure || scram_iterations;
    }
};

// A rule matches a reply by command keyword ("RETR", or "greeting"), state and occurrence, or by
// its role in the dialogue (deviation.hpp).
struct rule {
    std::string command;                // upper case keyword, "greeting", "*" for any; empty
                                        // when `role` names the reply
    std::optional<reply_role> role;     // instead of `command`
    std::optional<session_state> state; // any state when unset
    // The Nth reply of this command (or, with `role`, of this role) in a session (1-based).
    std::optional<std::size_t> occurrence;
    std::optional<std::uint64_t> message; // only replies about this message (LIST N, RETR N, ...)
    std::optional<bool> tls;              // only replies sent inside (true) or outside TLS
    // With a role: only replies to the command with an argument (true: LIST N, UIDL N, LANG
    // TAG) or without one (false: the listings). Scenario files say form = "single"/"listing".
    std::optional<bool> with_argument;
    bool once = false; // applied at most once by a server, over all its sessions
    reply_change change;
    fault delivery;
    std::size_t source_line = 0; // where the rule was written, for messages
    // How many replies the rule changed; shared by the copies of a scenario, so that whoever
    // configured a server can read it.
    std::shared_ptr<std::atomic<std::size_t>> served =
        std::make_shared<std::atomic<std::size_t>>(0);
};

// What the session knows about a reply it is about to send: what rules match against.
struct reply_context {
    std::string_view command;                           // upper-case keyword, or "greeting"
    session_state state = session_state::authorization; // when the command arrived
    std::size_t occurrence = 1; // of this command's replies in the session, this one included
    reply_role role = reply_role::other;
    bool login_first = false;        // also the first reply of a login attempt (USER, APOP, AUTH)
    std::size_t role_occurrence = 1; // of this role's replies in the session, this one included
    std::size_t login_first_occurrence = 0; // of first replies of login attempts, when one
    std::optional<std::uint64_t> message;   // the message-number argument, when there is one
    bool has_argument = false;              // the command had an argument
    bool tls_active = false;
};

struct scenario {
    std::string name;
    std::filesystem::path file;          // empty when built in code
    std::optional<std::string> greeting; // the greeting line's text after "+OK " (CRLF added)
    // Capability lines to advertise per state, replacing the computed ones when set.
    std::optional<std::vector<std::string>> capabilities_authorization;
    std::optional<std::vector<std::string>> capabilities_transaction;
    std::vector<rule> rules;
    fault session_fault; // applies to every reply of the session (e.g. drip everything)
    // The command-injection flaw on purpose (CVE-2011-0411 class): commands pipelined after
    // STLS in plaintext are kept and answered inside TLS. For testing clients and the runner.
    bool stls_keeps_plaintext = false;

    // The first rule that matches, or nullptr (deviation.cpp). A `once` rule that was served
    // matches nothing.
    const rule* match(const reply_context& reply) const noexcept;
    // The same for the Nth reply to `command` in `state`, outside TLS, about no message.
    const rule* match(std::string_view command, session_state state,
                      std::size_t occurrence) const noexcept;
};

} // namespace pop3::mock
