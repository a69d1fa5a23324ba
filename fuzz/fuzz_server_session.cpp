// Fuzzes the mock server's session through pop3::mock::memory_driver, over default_config() plus
// a second user whose maildrop holds awkward messages (dots, bare CR, an empty message), driven
// by client bytes. Byte 0 picks the connection (STLS available, implicit TLS, a failed
// handshake) and the configuration (short command lines, no USER/APOP, fewer errors allowed);
// byte 1 the chunk size the bytes are sent in (0: all at once).
// The target frames the client bytes as the server does and reads the server's output with
// pop3::reply_reader (lenient) in the shape each command calls for. Invariants: every line gets
// exactly one reply and nothing else is sent; every status line fits 512 octets; every
// multi-line body is dot-stuffed (no body line starts with a single '.' before the terminator);
// RETR returns the message with the octet count it announces, LIST/UIDL/CAPA bodies parse;
// after "STLS" +OK nothing follows until complete_tls, and the bytes sent after STLS in the same
// chunk are never answered; the driver never crashes.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/memory_driver.hpp>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <pop3/protocol/text.hpp>
#include <string>
#include <vector>

namespace {

using pop3::reply_shape;

pop3::mock::server_config make_config(std::uint8_t mode) {
    auto config = pop3::mock::default_config();
    const std::string_view raws[] = {
        "Subject: dots\r\n\r\n.\r\n..\r\n...\r\n.x\r\n",
        "Subject: bare CR\r\n\r\na\rb\r\n\r\n.\r\n",
        "",
        "Subject: LF only\n\n.\nline\n..\n",
        "Subject: terminator inside\r\n\r\nbefore\r\n.\r\nafter\r\n",
    };
    std::vector<pop3::mock::message_ptr> msgs;
    int n = 0;
    for (auto r : raws)
        msgs.push_back(pop3::mock::make_message("alice-" + std::to_string(++n), r));
    config.users.push_back(
        {"alice", "wonder land", std::make_shared<pop3::mock::maildrop>(std::move(msgs))});
    if (mode & 8) config.protocol_limits.max_command_line = 40;
    if (mode & 16) config.apop = false, config.user_command = false;
    if (mode & 32) config.max_consecutive_errors = 3;
    return config;
}

// The server's view of the client bytes, kept in step with the session: the same framing
// (bare LF accepted, over-long lines skipped to their LF), the same SASL sub-state.
struct mirror {
    std::string input;
    bool discarding = false;
    bool sasl = false;
    std::size_t errors = 0;        // consecutive -ERR replies
    std::size_t failed_logins = 0; // closing replies seen
};

struct decoded {
    pop3::reply_status status = pop3::reply_status::err;
    std::string text;
    std::string body;
};

class checker {
public:
    explicit checker(const pop3::mock::server_config& config) : config_(config) {
        for (const auto& u : config.users)
            drops_.push_back(u.mail->snapshot());
    }

    void add_output(std::string_view out) { output_.append(out); }
    bool all_read() const { return offset_ == output_.size(); }

    // Reads the next reply in `shape`; it must be complete in the output.
    decoded next_reply(reply_shape shape) {
        pop3::reply_reader reader({}, pop3::line_policy::lenient(1 << 20));
        reader.start(shape);
        decoded d;
        std::size_t body_start = 0;
        while (!reader.complete()) {
            std::error_code ec;
            const auto step = reader.read(std::string_view(output_).substr(offset_), ec);
            FUZZ_CHECK(ec != pop3::error::need_more); // a line without its whole reply
            FUZZ_CHECK(!ec);
            if (step.event == pop3::reply_event::status) {
                FUZZ_CHECK(step.consumed <= 512); // RFC 2449 §4, CRLF included
                const auto line = std::string_view(output_).substr(offset_, step.consumed);
                FUZZ_CHECK(line.ends_with("\r\n"));
                d.status = reader.status().status;
                d.text = std::string(reader.status().full_text);
                body_start = offset_ + step.consumed;
            }
            d.body.append(step.data);
            offset_ += step.consumed;
        }
        if (shape == reply_shape::multi_line && d.status == pop3::reply_status::ok)
            check_stuffing(std::string_view(output_).substr(body_start, offset_ - body_start));
        if (d.status == pop3::reply_status::err)
            ++m_.errors;
        else
            m_.errors = 0;
        return d;
    }

    // The wire form of a body: every line that starts with '.' is stuffed, but the terminator.
    static void check_stuffing(std::string_view wire) {
        FUZZ_CHECK(wire.ends_with(".\r\n"));
        FUZZ_CHECK(wire.size() == 3 || (wire.size() >= 5 && wire.ends_with("\r\n.\r\n")));
        const auto body = wire.substr(0, wire.size() - 3);
        for (std::size_t p = 0; p < body.size(); p = body.find('\n', p) + 1) {
            if (body[p] == '.') FUZZ_CHECK(p + 1 < body.size() && body[p + 1] == '.');
            if (body.find('\n', p) == std::string_view::npos) {
                FUZZ_CHECK(false); // every body line ends with CRLF
                break;
            }
        }
    }

    // Processes the lines now complete in the mirror, reading one reply for each.
    // Returns false when the session stopped reading (STLS, QUIT, too many errors).
    bool process(pop3::mock::memory_driver& driver) {
        while (true) {
            if (m_.discarding) {
                const auto lf = m_.input.find('\n');
                if (lf == std::string::npos) {
                    m_.input.clear();
                    return true;
                }
                m_.input.erase(0, lf + 1);
                m_.discarding = false;
            }
            pop3::line_policy policy;
            policy.allow_bare_lf = true;
            const auto limit = m_.sasl ? config_.protocol_limits.max_sasl_line
                                       : config_.protocol_limits.max_command_line;
            std::error_code ec;
            const auto framed = pop3::frame_line(m_.input, limit, policy, ec);
            if (ec == pop3::error::need_more) return true;
            if (ec) {
                const auto lf = m_.input.find('\n');
                m_.discarding = ec == pop3::error::line_too_long && lf == std::string::npos;
                m_.input.erase(0, lf == std::string::npos ? m_.input.size() : lf + 1);
                m_.sasl = false;
                const auto d = next_reply(reply_shape::single_line);
                FUZZ_CHECK(d.status == pop3::reply_status::err);
                if (too_many_errors(driver)) return false;
                continue;
            }
            const std::string line(framed.text);
            m_.input.erase(0, framed.consumed);
            if (!handle(line, driver)) return false;
        }
    }

    // After max_failed_logins failed logins the last -ERR says so and the session closes.
    bool closed_after_failed_logins(const decoded& d, pop3::mock::memory_driver& driver) {
        if (d.status != pop3::reply_status::err ||
            d.text.find("failed logins, closing the connection") == std::string::npos)
            return false;
        FUZZ_CHECK(++m_.failed_logins == 1); // once, and the end
        FUZZ_CHECK(all_read() && driver.closed());
        return true;
    }

    bool too_many_errors(pop3::mock::memory_driver& driver) {
        if (m_.errors < config_.max_consecutive_errors) return false;
        const auto d = next_reply(reply_shape::single_line);
        FUZZ_CHECK(d.status == pop3::reply_status::err);
        FUZZ_CHECK(driver.closed());
        return true;
    }

    void drop_input() { m_.input.clear(), m_.discarding = false; }
    void feed(std::string_view bytes) { m_.input.append(bytes); }

private:
    bool handle(const std::string& line, pop3::mock::memory_driver& driver) {
        if (m_.sasl) {
            const auto d = next_reply(reply_shape::sasl);
            m_.sasl = d.status == pop3::reply_status::continuation;
            if (d.status == pop3::reply_status::ok) login_check(d);
            if (closed_after_failed_logins(d, driver)) return false;
            return !too_many_errors(driver);
        }
        std::error_code ec;
        const auto cmd = pop3::parse_command(line, ec);
        const auto shape =
            ec ? reply_shape::single_line : pop3::expected_reply(cmd.id, cmd.arg_count);
        const auto d = next_reply(shape);
        if (ec) {
            FUZZ_CHECK(d.status == pop3::reply_status::err);
            return !too_many_errors(driver);
        }
        m_.sasl = shape == reply_shape::sasl && d.status == pop3::reply_status::continuation;
        const bool ok = d.status == pop3::reply_status::ok;
        FUZZ_CHECK(d.status != pop3::reply_status::continuation || shape == reply_shape::sasl);
        switch (cmd.id) {
        case pop3::command_id::stls:
            if (ok) {
                // Nothing after the +OK: the handshake comes first, and the bytes the client
                // sent after STLS were dropped.
                FUZZ_CHECK(all_read());
                FUZZ_CHECK(driver.tls_requested());
                tls_pending_ = true;
                return false;
            }
            break;
        case pop3::command_id::quit: FUZZ_CHECK(all_read() && driver.closed()); return false;
        case pop3::command_id::retr:
            if (ok) check_retr(*pop3::parse_message_number(cmd.args[0]), d);
            break;
        case pop3::command_id::list:
        case pop3::command_id::uidl:
            if (ok && cmd.arg_count == 0) check_listing(cmd.id, d.body);
            if (ok && cmd.arg_count == 1) check_listing(cmd.id, d.text + "\r\n");
            break;
        case pop3::command_id::capa: {
            FUZZ_CHECK(ok);
            pop3::capabilities caps;
            for_each_line(d.body, [&](std::string_view l) {
                std::error_code cec;
                caps.add_line(l, cec);
                FUZZ_CHECK(!cec);
            });
            break;
        }
        case pop3::command_id::user:
        case pop3::command_id::pass:
        case pop3::command_id::apop:
        case pop3::command_id::auth:
            if (ok && cmd.arg_count > 0) login_check(d);
            if (closed_after_failed_logins(d, driver)) return false;
            break;
        default: break;
        }
        return !too_many_errors(driver);
    }

    template <class F>
    static void for_each_line(std::string_view body, F&& f) {
        while (!body.empty()) {
            const auto end = body.find("\r\n");
            FUZZ_CHECK(end != std::string_view::npos);
            f(body.substr(0, end));
            body.remove_prefix(end + 2);
        }
    }

    void check_listing(pop3::command_id id, std::string_view body) {
        for_each_line(body, [&](std::string_view l) {
            std::error_code ec;
            if (id == pop3::command_id::list)
                pop3::parse_scan_listing(l, ec);
            else
                pop3::parse_uid_listing(l, ec);
            FUZZ_CHECK(!ec);
        });
    }

    // A successful login announces the maildrop "+OK maildrop has N messages (M octets)";
    // USER's +OK is only a prompt.
    void login_check(const decoded& d) {
        if (!d.text.starts_with("maildrop has ")) return;
        bool known = false;
        for (const auto& drop : drops_) {
            std::uint64_t octets = 0;
            for (const auto& m : drop)
                octets += m->octets();
            known = known || d.text == "maildrop has " + std::to_string(drop.size()) +
                                           " messages (" + std::to_string(octets) + " octets)";
        }
        FUZZ_CHECK(known);
    }

    // RETR n: the body is message n of a maildrop, and the count announced is its size.
    void check_retr(std::uint64_t n, const decoded& d) {
        bool found = false;
        for (const auto& drop : drops_)
            found = found || (n <= drop.size() && drop[n - 1]->content == d.body);
        FUZZ_CHECK(found);
        FUZZ_CHECK(d.text == std::to_string(d.body.size()) + " octets");
    }

    const pop3::mock::server_config& config_;
    std::vector<std::vector<pop3::mock::message_ptr>> drops_;
    std::string output_;
    std::size_t offset_ = 0;
    mirror m_;

public:
    bool tls_pending_ = false;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto mode = data[0];
    const std::size_t chunk = data[1] ? data[1] : size;
    std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    const auto config = make_config(mode);
    pop3::mock::session_context context;
    context.tls_available = (mode & 1) != 0;
    context.tls_active = (mode & 2) != 0;
    const bool handshake_ok = (mode & 4) == 0;
    pop3::mock::memory_driver driver(config, context);
    checker check(config);

    check.add_output(driver.start());
    const auto greeting = check.next_reply(reply_shape::single_line);
    FUZZ_CHECK(greeting.status == pop3::reply_status::ok && check.all_read());
    if (config.apop) FUZZ_CHECK(greeting.text.ends_with("<1.1@pop3kit.test>"));

    bool running = true;
    while (!input.empty() && running) {
        const auto piece = input.substr(0, chunk);
        input.remove_prefix(piece.size());
        check.add_output(driver.send(piece));
        check.feed(piece);
        running = check.process(driver);
        FUZZ_CHECK(check.all_read()); // nothing without a line to answer
        if (!running && check.tls_pending_) {
            // Whatever followed STLS in this chunk is gone: after the handshake, silence.
            check.tls_pending_ = false;
            check.drop_input();
            FUZZ_CHECK(driver.send("NOOP\r\n").empty()); // not reading during the handshake
            const auto after = driver.complete_tls(handshake_ok);
            FUZZ_CHECK(after.empty());
            running = handshake_ok;
            FUZZ_CHECK(handshake_ok ? driver.reading() : driver.closed());
        }
    }
    driver.disconnect();
    // The maildrops are free again: a new session can log in.
    for (const auto& u : config.users)
        if (u.mail) FUZZ_CHECK(u.mail->try_lock());
    return 0;
}
