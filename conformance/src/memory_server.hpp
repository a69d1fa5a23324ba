// The client runner's in-memory mode (pop3-conformance client --in-memory): one mock-server
// session served to pop3kit's client library over a byte link in memory instead of a socket,
// watched by the same connection_observer as the socket server. Plaintext only; delivery faults
// that only shape timing (delay, drip, splits) are not played, a disconnect and a hang are.
#pragma once

#include "pop3/conformance/client_runner.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <pop3/client/client.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <string_view>

namespace pop3::conformance {

// Two byte queues between the client's thread and the server's, with what the lock-step check
// needs to know without a clock: whether the client is waiting in read with nothing to read.
class memory_link : public std::enable_shared_from_this<memory_link> {
public:
    // What the server may have written that the client has not read yet, before its writes
    // wait: a client that stops reading holds the server back as a socket would.
    static constexpr std::size_t max_unread_octets = 1 << 20;

    // The client's end, for pop3::client(options, transport).
    std::unique_ptr<client_transport> client_end();

    // The server's end. write() waits while the client has max_unread_octets unread and
    // returns false once the link is closed; read() returns "" when the link is closed (or
    // nothing came within `timeout`).
    bool write(std::string_view bytes);
    std::string read(std::chrono::milliseconds timeout);
    // After a reply was written but its last octet: waits until the client sent something
    // (true: it did not wait for the reply's end) or waits in read with everything read
    // (false), or the link closed, or `limit` passed (false).
    bool client_sent_before_reading_all(std::chrono::milliseconds limit);
    // Waits until the client closes its end (a hanging server), at most `limit`.
    void wait_closed(std::chrono::milliseconds limit);
    void close();

private:
    friend class memory_link_client;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::string> to_client_;
    std::size_t unread_ = 0;
    std::string to_server_;
    bool client_reading_ = false; // the client waits in read with nothing to read
    bool closed_ = false;
};

// Serves one session of `config` on `link` until either side ends it, telling `observer` what
// each side sent (as connection 1, in plaintext). `hold_reply_end`: check lock-step at the end
// of every reply (connection_observer::early_bytes), without the socket server's timed hold.
void serve_in_memory(const mock::server_config& config, memory_link& link,
                     mock::connection_observer& observer, bool hold_reply_end,
                     std::chrono::milliseconds wait_limit);

// One run of pop3kit's client library (the synchronous pop3::client, as the library-client
// adapter runs it) doing `request`'s task against `config` served in memory. The result reads as
// a process's: exit status 0 done, 1 failed (the reason as its output), the adapter's 125 for a
// login it cannot do; no memory figure (the runner's own process) and nothing to kill — the
// client's own timeouts end it.
process_result run_library_in_memory(const run_request& request, const mock::server_config& config,
                                     mock::connection_observer& observer, bool hold_reply_end);

} // namespace pop3::conformance
