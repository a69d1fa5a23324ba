#include "memory_server.hpp"

#include <algorithm>
#include <cstring>
#include <pop3/mockserver/session.hpp>
#include <system_error>

namespace pop3::conformance {

class memory_link_client final : public client_transport {
public:
    explicit memory_link_client(std::shared_ptr<memory_link> link) : link_(std::move(link)) {}
    ~memory_link_client() override { close(); }

    std::error_code write(std::string_view data, std::chrono::milliseconds) override {
        std::lock_guard g(link_->mutex_);
        if (link_->closed_) return std::make_error_code(std::errc::broken_pipe);
        link_->to_server_.append(data);
        link_->changed_.notify_all();
        return {};
    }
    std::error_code read(std::span<char> into, std::size_t& n,
                         std::chrono::milliseconds timeout) override {
        auto& l = *link_;
        std::unique_lock g(l.mutex_);
        n = 0;
        l.client_reading_ = l.to_client_.empty() && !l.closed_;
        l.changed_.notify_all();
        const bool ready =
            l.changed_.wait_for(g, timeout, [&] { return !l.to_client_.empty() || l.closed_; });
        l.client_reading_ = false;
        if (!ready) return client_error::timeout;
        if (l.to_client_.empty()) return {}; // closed: end of stream
        auto& piece = l.to_client_.front();
        n = std::min(piece.size(), into.size());
        std::memcpy(into.data(), piece.data(), n);
        piece.erase(0, n);
        l.unread_ -= n;
        if (piece.empty()) l.to_client_.pop_front();
        l.changed_.notify_all();
        return {};
    }
    void close() noexcept override { link_->close(); }

private:
    std::shared_ptr<memory_link> link_;
};

std::unique_ptr<client_transport> memory_link::client_end() {
    return std::make_unique<memory_link_client>(shared_from_this());
}

bool memory_link::write(std::string_view bytes) {
    std::unique_lock g(mutex_);
    changed_.wait(g, [&] { return closed_ || unread_ < max_unread_octets; });
    if (closed_) return false;
    if (!bytes.empty()) {
        to_client_.emplace_back(bytes);
        unread_ += bytes.size();
    }
    changed_.notify_all();
    return true;
}

std::string memory_link::read(std::chrono::milliseconds timeout) {
    std::unique_lock g(mutex_);
    changed_.wait_for(g, timeout, [&] { return closed_ || !to_server_.empty(); });
    return std::exchange(to_server_, {});
}

bool memory_link::client_sent_before_reading_all(std::chrono::milliseconds limit) {
    std::unique_lock g(mutex_);
    changed_.wait_for(g, limit, [&] {
        return closed_ || !to_server_.empty() || (client_reading_ && to_client_.empty());
    });
    return !to_server_.empty();
}

void memory_link::wait_closed(std::chrono::milliseconds limit) {
    std::unique_lock g(mutex_);
    changed_.wait_for(g, limit, [&] { return closed_; });
}

void memory_link::close() {
    std::lock_guard g(mutex_);
    closed_ = true;
    changed_.notify_all();
}

namespace {

constexpr std::uint64_t session_id = 1; // the one connection of a run

// The session's actions carried out on the link until either side ends it; the reason.
std::string serve_loop(mock::session& s, memory_link& link, mock::connection_observer& observer,
                       bool hold_reply_end, std::chrono::milliseconds wait_limit) {
    // Writes `bytes` and tells the observer; false when the client is gone.
    const auto send = [&](std::string_view bytes, std::size_t replies, std::size_t unsolicited) {
        if (!link.write(bytes)) return false;
        observer.server_bytes(session_id, bytes, false, replies, unsolicited);
        return true;
    };
    auto action = s.start();
    while (true) {
        switch (action.what) {
        case mock::server_action::type::write: {
            const std::string bytes = action.bytes();
            const auto& f = action.delivery;
            if (f.disconnect_at) {
                // As the socket server tells it: a reply sent whole before the close ended.
                const bool whole = *f.disconnect_at >= bytes.size();
                send(std::string_view(bytes).substr(0, std::min(*f.disconnect_at, bytes.size())),
                     whole ? action.replies : 0, whole ? action.unsolicited : 0);
                return "disconnected by scenario";
            }
            bool ok;
            if (hold_reply_end && action.replies > 0 && bytes.size() > action.unsolicited) {
                // Lock-step: the reply but its last octet, then whether the client spoke first.
                const std::size_t cut = bytes.size() - action.unsolicited - 1;
                ok = send(std::string_view(bytes).substr(0, cut), 0, 0);
                if (ok && link.client_sent_before_reading_all(wait_limit))
                    observer.early_bytes(session_id);
                ok = ok &&
                     send(std::string_view(bytes).substr(cut), action.replies, action.unsolicited);
            } else {
                ok = send(bytes, action.replies, action.unsolicited);
            }
            if (!ok) return "write failed: the client closed";
            action = s.on_write_done();
            break;
        }
        case mock::server_action::type::read: {
            const auto bytes = link.read(wait_limit);
            if (bytes.empty())
                return "the client closed, or sent nothing for " +
                       std::to_string(wait_limit.count()) + " ms";
            observer.client_bytes(session_id, bytes, false);
            action = s.on_read(bytes);
            break;
        }
        case mock::server_action::type::start_tls:
            // Not offered in memory (tls_available is false); refused if asked all the same.
            observer.tls_started(session_id, false);
            action = s.on_tls_done(false);
            break;
        case mock::server_action::type::hang:
            link.wait_closed(wait_limit);
            return "hung until the client closed";
        case mock::server_action::type::update:
            s.run_update();
            action = s.on_update_done();
            break;
        case mock::server_action::type::close: return "closed";
        }
    }
}

} // namespace

void serve_in_memory(const mock::server_config& config, memory_link& link,
                     mock::connection_observer& observer, bool hold_reply_end,
                     std::chrono::milliseconds wait_limit) {
    observer.opened(session_id, false);
    std::string reason;
    {
        mock::session_context ctx;
        ctx.timestamp_seed = "memory.1";
        mock::session s(config, std::move(ctx));
        try {
            reason = serve_loop(s, link, observer, hold_reply_end, wait_limit);
        } catch (const std::exception& e) {
            // Never past this thread (std::terminate): the run ends as a dropped connection,
            // the reason in the trace.
            reason = std::string("the in-memory server failed: ") + e.what();
        }
        s.on_disconnect();
    }
    link.close();
    observer.closed(session_id, reason);
}

} // namespace pop3::conformance
