// The mock server's session: a sans-I/O state machine (AUTHORIZATION, TRANSACTION, UPDATE) over
// the protocol core. Feed it what the client sent; it answers with the next action for the
// driver: write, read, start TLS, close, or hang. It never touches a socket or a clock.
#pragma once

#include "pop3/mockserver/config.hpp"
#include "pop3/mockserver/maildrop.hpp"
#include "pop3/mockserver/sasl_server.hpp"
#include "pop3/mockserver/scenario.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::mock {

// What the session was given by its driver: facts about the connection and the values that
// need a clock or a process id, so that the session itself stays deterministic.
struct session_context {
    bool tls_active = false;            // connected on the implicit-TLS listener
    bool tls_available = false;         // the driver can start TLS (STLS may be offered)
    std::string timestamp_seed = "1.1"; // "pid.clock", for <pid.clock@host> and CRAM-MD5
};

struct server_action {
    enum class type : std::uint8_t {
        read,      // read more bytes, then call on_read (the idle timer runs)
        write,     // write `parts` in order with `delivery`, then call on_write_done
        start_tls, // run the TLS server handshake, then on_tls_done
        close,     // close the connection; the session is over
        hang,      // send nothing more and stop reading; close when the peer does
        update,    // call run_update (it may block on files: not on an I/O thread), then
                   // on_update_done
    };
    type what = type::read;
    // The bytes of the write: one reply (status line, a message body shared with the maildrop,
    // the terminator), or several replies gathered into one write (never with a fault). Valid
    // until the next call into the session.
    std::span<const std::string_view> parts;
    fault delivery;
    std::size_t replies = 1;              // write: how many replies end with it (0: one goes on)
    std::size_t unsolicited = 0;          // write: octets at its end that answer nothing (a
                                          // scenario's `append`, response injection)
    std::chrono::seconds idle_timeout{0}; // for read

    std::size_t size() const noexcept {
        std::size_t n = 0;
        for (auto p : parts)
            n += p.size();
        return n;
    }
    std::string bytes() const {
        std::string out;
        out.reserve(size());
        for (auto p : parts)
            out += p;
        return out;
    }
};

class session {
public:
    session(const server_config& config, session_context context);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    server_action start(); // the greeting
    server_action on_read(std::string_view bytes);
    server_action on_write_done();
    server_action on_tls_done(bool ok);
    // The UPDATE state's work after QUIT: commits the deletions to the maildrop (and its files
    // with --persist). Touches nothing the driver uses, so it may run on another thread while
    // the driver waits.
    void run_update() noexcept;
    server_action on_update_done();
    // The peer closed, or the idle timer fired: release the lock; nothing is deleted.
    void on_disconnect();

    session_state state() const noexcept { return state_; }
    bool tls_active() const noexcept { return context_.tls_active; }
    const std::string& timestamp() const noexcept { return timestamp_; }

private:
    struct outgoing {
        std::string head;
        message_ptr body_owner; // keeps `body` alive
        std::string_view body;  // shared with the maildrop, never copied
        std::string_view tail;  // a terminator after a shared body (TOP), static
        fault delivery;
        bool endless = false;        // keep sending body lines after this write
        std::size_t unsolicited = 0; // octets appended after the reply (response injection)
        // A huge line (huge_line) is streamed, not built: this many filler octets still to
        // send after `head`, then `after_filler` (the line's CRLF and the rest of the reply).
        std::size_t filler = 0;
        std::string after_filler;
        bool streaming() const noexcept { return filler || !after_filler.empty(); }
    };
    // Every reply, including the ones the session makes up itself, carries the session-wide
    // fault (docs/scenarios.md: [session] applies to every reply).
    static outgoing plain(std::string bytes, const fault& delivery) {
        outgoing o;
        o.head = std::move(bytes);
        o.delivery = delivery;
        return o;
    }
    enum class after_output : std::uint8_t { read, close, start_tls, tls_garbage, hang, update };
    server_action next_action();
    void process_input();
    void handle_line(std::string_view line);
    void handle_sasl_line(std::string_view line);
    void dispatch(std::string_view line);

    // Replies: queue the bytes of one reply, applying the scenario's rule for `command`.
    void reply(std::string_view command, std::string status_line);
    // A multi-line reply whose stuffed body and terminator are in `body_wire`.
    void reply_multi(std::string_view command, std::string status_line, std::string body_wire);
    // A multi-line reply whose body is shared with the maildrop (`owner` keeps it alive).
    void reply_shared(std::string_view command, std::string status_line, std::string_view body,
                      std::string_view tail, message_ptr owner);
    void ok(std::string_view command, std::string_view text);
    void err(std::string_view command, std::string_view text);
    void queue(std::string_view command, std::string head, std::string_view body,
               std::string_view tail, message_ptr owner, bool multi_line, bool is_error);
    void push(outgoing o); // onto output_, counting its owned octets

    // Commands.
    void cmd_user(std::string_view cmd, std::string_view name);
    void cmd_pass(std::string_view cmd, std::string_view password);
    void cmd_apop(std::string_view cmd, std::string_view name, std::string_view digest);
    void cmd_auth(std::string_view cmd, std::size_t argc, std::string_view mech,
                  std::string_view initial);
    void cmd_stat(std::string_view cmd);
    void cmd_list(std::string_view cmd, std::size_t argc, std::string_view arg);
    void cmd_uidl(std::string_view cmd, std::size_t argc, std::string_view arg);
    void cmd_retr(std::string_view cmd, std::string_view arg);
    void cmd_top(std::string_view cmd, std::string_view arg, std::string_view lines);
    void cmd_dele(std::string_view cmd, std::string_view arg);
    void cmd_rset(std::string_view cmd);
    void cmd_quit(std::string_view cmd);
    void cmd_capa(std::string_view cmd);
    void cmd_stls(std::string_view cmd);
    void cmd_utf8(std::string_view cmd);
    void cmd_lang(std::string_view cmd, std::size_t argc, std::string_view arg);

    // Answers one step of the AUTH exchange: a challenge, or its outcome (finish_sasl).
    void answer_sasl(std::string_view cmd, sasl_step step);
    void finish_sasl(std::string_view cmd, const user* who, std::string_view failure);
    void login_failed(std::string_view cmd, std::string_view text); // -ERR, closes after too many
    void login(std::string_view cmd, const user* who);
    const user* find_user(std::string_view name) const noexcept;
    // The message numbered by `arg` if it exists and is not deleted; replies -ERR otherwise.
    const message* message_arg(std::string_view cmd, std::string_view arg);
    std::vector<std::string> capability_lines() const;
    // The next reply's description for the scenario's rules (`status_line` unknown before the
    // reply is made), and counting it once it is queued.
    reply_context next_reply(std::string_view key,
                             std::optional<std::string_view> status_line = std::nullopt) const;
    void count_reply(const reply_context& reply);
    // A rule replaces the next reply with -ERR: the command must not take effect.
    bool refused_by_rule(std::string_view key,
                         std::optional<std::string_view> status_line = std::nullopt) const;
    std::int64_t octet_delta(std::string_view command) const;
    static constexpr std::size_t max_tracked_keywords = 64;

    const server_config& config_;
    session_context context_;
    std::string timestamp_;
    session_state state_ = session_state::authorization;
    session_state command_state_ = session_state::authorization; // when the command arrived
    std::string input_;
    bool discarding_ = false; // skipping the rest of an over-long line
    std::deque<outgoing> output_;
    after_output after_ = after_output::read;
    bool stop_processing_ = false;
    std::map<std::string, std::size_t> occurrences_; // replies per command keyword
    std::array<std::size_t, static_cast<std::size_t>(reply_role::other) + 1> role_replies_{};
    std::size_t login_first_replies_ = 0;
    std::size_t auth_replies_ = 0;                 // of the AUTH exchange under way
    std::optional<std::uint64_t> command_message_; // the current command's message number
    bool command_has_argument_ = false;
    std::size_t consecutive_errors_ = 0;

    std::optional<std::string> pending_user_; // USER given, PASS expected next
    std::optional<sasl_server> sasl_;         // an AUTH exchange in progress
    std::string last_command_;
    bool utf8_ = false;
    std::string language_ = "en";

    const user* user_ = nullptr;
    std::shared_ptr<maildrop> locked_;
    std::vector<message_ptr> messages_;
    std::vector<bool> deleted_;
    std::string endless_chunk_;
    std::string filler_chunk_; // the huge line's octets, a chunk at a time
    static constexpr std::size_t max_gathered = 64;
    std::vector<std::string_view> parts_; // the write in progress
    std::size_t gathered_ = 0;            // replies it covers
    std::size_t queued_octets_ = 0;       // owned bytes (heads) of the replies in output_
    std::size_t failed_logins_ = 0;
    std::string quit_keyword_;              // QUIT as typed, for the reply after UPDATE
    std::optional<std::size_t> left_after_; // messages left after UPDATE; empty when it failed
    // RSETs handled in TRANSACTION, and whether one was answered +OK: what the planted bugs
    // rset-hang-3 and uidl-changes-after-rset (planted_bug.hpp) look at, when compiled in.
    std::size_t rsets_ = 0;
    bool reset_answered_ = false;
};

} // namespace pop3::mock
