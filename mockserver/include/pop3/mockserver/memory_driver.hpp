// Runs a mock-server session without sockets or timers: client bytes in, server bytes out.
// Used by unit tests, the server-session fuzzer and in-memory conformance replays. Delivery
// faults that only shape timing (delay, drip, splits) are ignored; disconnects and hangs are kept.
// A reply that never ends (endless_body) is cut after max_output octets in one call, and the
// driver then counts as hung: a real client would still be waiting for the terminator.
#pragma once

#include "pop3/mockserver/session.hpp"

#include <string>
#include <string_view>

namespace pop3::mock {

class memory_driver {
public:
    memory_driver(const server_config& config, session_context context)
        : session_(config, std::move(context)) {}

    // The greeting (and anything else sent before the session first reads).
    std::string start() { return run(session_.start()); }
    // Feeds client bytes; returns what the server wrote before it next wants to read.
    std::string send(std::string_view client_bytes) {
        if (state_ != state::reading) return {};
        return run(session_.on_read(client_bytes));
    }
    // After tls_requested(): pretend the handshake succeeded (or failed) and go on.
    std::string complete_tls(bool ok = true) {
        if (state_ != state::tls) return {};
        return run(session_.on_tls_done(ok));
    }
    void disconnect() {
        session_.on_disconnect();
        state_ = state::closed;
    }

    bool reading() const noexcept { return state_ == state::reading; }
    bool closed() const noexcept { return state_ == state::closed; }
    bool hung() const noexcept { return state_ == state::hung; }
    bool tls_requested() const noexcept { return state_ == state::tls; }
    session& inner() noexcept { return session_; }

private:
    enum class state { reading, tls, closed, hung };

    static constexpr std::size_t max_output = 4 << 20;

    std::string run(server_action a) {
        std::string out;
        while (true) {
            if (out.size() > max_output) {
                state_ = state::hung;
                return out;
            }
            switch (a.what) {
            case server_action::type::write: {
                std::string bytes = a.bytes();
                if (a.delivery.disconnect_at) {
                    out += bytes.substr(0, *a.delivery.disconnect_at);
                    disconnect();
                    return out;
                }
                out += bytes;
                a = session_.on_write_done();
                continue;
            }
            case server_action::type::read: state_ = state::reading; return out;
            case server_action::type::start_tls: state_ = state::tls; return out;
            case server_action::type::hang: state_ = state::hung; return out;
            case server_action::type::update:
                session_.run_update();
                a = session_.on_update_done();
                continue;
            case server_action::type::close: disconnect(); return out;
            }
        }
    }

    session session_;
    state state_ = state::reading;
};

} // namespace pop3::mock
