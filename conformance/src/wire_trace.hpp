// What the client-conformance runner sees on the wire: every connection's bytes with their
// time and TLS state, and the global rules that the dialogue alone decides (lock-step,
// credentials before TLS, DELE of a damaged message). Fed by the mock server's observer hooks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <pop3/mockserver/server.hpp>
#include <set>
#include <string>
#include <vector>

namespace pop3::conformance {

struct wire_event {
    double ms = 0; // since the trace began
    std::uint64_t connection = 0;
    char who = 'S'; // 'C' client bytes, 'S' server bytes, 'T' TLS, 'E' early, 'O' open,
                    // 'X' closed
    bool tls = false;
    std::string text;       // the bytes (cut), or what happened
    std::size_t octets = 0; // of the bytes, before any cut
    bool deviation = false; // the deviation went out in these bytes
};

struct rule_breach {
    std::string rule;   // "lock-step", "credentials before TLS", "DELE of a damaged message"
    std::string detail; // one sentence
    std::size_t event = 0;
};

class wire_trace final : public mock::connection_observer {
public:
    struct settings {
        bool pipelining = false;         // advertised: the lock-step rule does not apply
        bool tls_required = false;       // credentials only inside TLS
        std::set<std::uint64_t> damaged; // messages the deviation damages
        std::shared_ptr<std::atomic<std::size_t>> served; // the deviation's counter, or null
    };
    explicit wire_trace(settings s);

    void opened(std::uint64_t session, bool implicit_tls) override;
    void client_bytes(std::uint64_t session, std::string_view bytes, bool tls) override;
    void server_bytes(std::uint64_t session, std::string_view bytes, bool tls,
                      std::size_t replies_ended, std::size_t unsolicited) override;
    void tls_started(std::uint64_t session, bool ok) override;
    void early_bytes(std::uint64_t session) override;
    void closed(std::uint64_t session, std::string_view reason) override;

    // Read once the servers are stopped. Connections are numbered over the whole trace (a
    // second run's server starts its own count): `base` is added to the server's numbers.
    void next_run();
    std::vector<wire_event> events() const; // bounded: see dropped_events()
    std::size_t dropped_events() const;     // writes past the bound, counted only
    std::uintmax_t server_octets() const;   // every octet the servers sent
    std::vector<rule_breach> breaches() const;
    // Every client line, in order, with its connection ("*SASL*" for a SASL response, whose
    // bytes differ from run to run); bounded.
    struct command {
        std::uint64_t connection = 0;
        std::string line;
    };
    std::vector<command> command_log() const;
    // The command whose reply carried the deviation: its index in command_log(), or
    // nullopt with the connection when the deviation was the greeting.
    struct deviated {
        std::uint64_t connection = 0;
        std::optional<std::size_t> command;
    };
    std::optional<deviated> deviated_command() const;
    // A connection got unsolicited bytes (not after STLS): what follows is reported, not judged.
    bool unsolicited_seen() const;
    std::size_t connections() const;
    // Every connection opened so far has ended (the server saw it close).
    bool all_closed() const;
    std::optional<std::size_t> deviation_event() const;
    // What the dialogue showed that is reported, not judged: a client that takes an
    // unsolicited plaintext line for the reply to its next command loses step as any
    // line-by-line reader would (RFC 1939 does not ask clients to look for unsolicited lines).
    std::vector<rule_breach> notes() const;

private:
    struct connection_state {
        std::string partial;     // a client line not ended yet
        std::size_t lines = 0;   // client lines ended
        std::size_t replies = 0; // server replies ended, the greeting included
        bool early = false;      // bytes arrived while a reply's last octet was held back
        bool lock_step_broken = false;
        std::vector<std::string> outstanding;     // client lines not answered yet, oldest first
        std::vector<std::size_t> outstanding_log; // their indexes in command_log_ (or npos)
        bool sasl_next = false;                   // the next line answers a "+ " challenge
        std::set<std::uint64_t> deleted;          // DELE'd since the last RSET
        bool bad_dele_reported = false;
        std::string last_answered = "greeting"; // the command of the last reply that ended
        std::string reply_start;                // the first octets of the reply under way
        std::set<std::uint64_t> retrieved;      // messages whose RETR reply ended (+OK), intact
        std::optional<std::size_t> bad_dele;    // the breach of a DELE, for the QUIT after it
        bool unsolicited = false; // the server sent unsolicited plaintext (not after STLS)
        std::string reply_text;   // the reply under way, when it answers CAPA (bounded)
        bool pipelining = false;  // a CAPA reply on this connection listed PIPELINING
        bool closed = false;      // the server saw the connection end
    };
    // False when the trace's bound left the write out of events_ (it is still counted).
    bool add(std::uint64_t session, char who, bool tls, std::string_view bytes);
    void client_line(std::uint64_t id, connection_state& c, const std::string& line, bool tls);
    void breach(std::string rule, std::string detail);

    settings settings_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    mutable std::mutex mutex_;
    std::vector<wire_event> events_;
    std::size_t kept_octets_ = 0;
    std::size_t dropped_events_ = 0;
    std::uintmax_t server_octets_ = 0;
    std::map<std::uint64_t, connection_state> connections_;
    std::vector<rule_breach> breaches_, notes_;
    // Messages whose RETR reply ended (+OK) intact, on any connection: a client may fetch on
    // one connection and delete on the next (message numbers hold while nothing is deleted).
    std::set<std::uint64_t> retrieved_;
    std::vector<command> command_log_;
    std::optional<deviated> deviated_;
    bool unsolicited_seen_ = false;
    std::size_t served_seen_ = 0;
    std::optional<std::size_t> deviation_event_;
    std::uint64_t base_ = 0, highest_ = 0;
};

// An event's text for people and JSON: CR and LF as \r and \n, other control octets and every
// octet >= 0x7f as \xHH; cut at `limit` octets.
std::string printable(std::string_view bytes, std::size_t limit = 160);

} // namespace pop3::conformance
