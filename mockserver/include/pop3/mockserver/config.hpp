// Mock server configuration: users and their maildrops, what is advertised, limits and timers.
#pragma once

#include "pop3/mockserver/maildrop.hpp"
#include "pop3/mockserver/planted_bug.hpp"
#include "pop3/mockserver/scenario.hpp"

#include <chrono>
#include <memory>
#include <pop3/protocol/limits.hpp>
#include <pop3/protocol/sasl.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::mock {

struct user {
    std::string name;
    std::string password; // also the APOP and CRAM-MD5 shared secret, and the OAuth token
    std::shared_ptr<maildrop> mail;
};

struct server_config {
    std::vector<user> users;

    std::string hostname = "pop3kit.test"; // in the APOP timestamp <pid.clock@hostname>
    std::string greeting_text = "pop3kit mock server ready";
    bool apop = true;         // put an APOP timestamp in the greeting and accept APOP
    bool user_command = true; // accept USER/PASS (advertise USER)
    std::vector<sasl_mechanism> mechanisms = {
        sasl_mechanism::plain,   sasl_mechanism::login,       sasl_mechanism::cram_md5,
        sasl_mechanism::xoauth2, sasl_mechanism::oauthbearer, sasl_mechanism::scram_sha_256};
    bool top = true;
    bool uidl = true;
    bool pipelining = true;
    bool resp_codes = true;
    bool utf8 = true;
    std::vector<std::string> languages = {"en English"}; // LANG (RFC 6856)
    std::string expire = "NEVER";                        // EXPIRE capability argument
    std::chrono::seconds login_delay{0};                 // LOGIN-DELAY, 0 = not advertised
    std::string implementation = "pop3kit-mockserver";

    // RFC 1939 §3: the autologout timer is at least 10 minutes.
    std::chrono::seconds idle_timeout{600};
    // After this many consecutive -ERR replies the server closes the connection.
    std::size_t max_consecutive_errors = 10;
    // After this many failed logins (USER/PASS, APOP, AUTH) on one connection the server closes
    // it, however the client interleaves other commands (RFC 1939 §13 and RFC 5034 §4 let a
    // server end a session after failed authentications; Dovecot closes after 3).
    std::size_t max_failed_logins = 3;
    // Back-pressure: the session stops taking pipelined commands while the replies it has
    // queued hold more than this many octets of their own (message bodies are shared with the
    // maildrop and not counted). A connection's memory is then bounded by this, one reply (at
    // most one listing of the maildrop) and the command line limit, whatever the client sends.
    std::size_t max_queued_output = 256 * 1024;
    // Persist deletions to the maildrop's source (files, mbox) on QUIT.
    bool persist = false;

    limits protocol_limits;
    scenario faults;
    // The fuzzers' bug bench (planted_bug.hpp): bugs to plant. Acts only in builds that compiled
    // them in (planted_bugs_compiled()); elsewhere the server stays correct.
    std::vector<planted_bug> planted;
};

// The user called `name` (case-sensitive), or nullptr.
const user* find_user(std::span<const user> users, std::string_view name) noexcept;

// The embedded default: user "user" with password "pass" and the default maildrop.
server_config default_config();

} // namespace pop3::mock
