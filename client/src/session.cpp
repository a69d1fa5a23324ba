#include "pop3/client/session.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace pop3::sansio {

namespace {
#if POP3_PLANTED_BUGS
// The bug bench's planted STARTTLS injection (session.hpp): test builds only.
std::atomic<bool> stls_plaintext_planted{false};
bool planted_stls_plaintext() noexcept {
    return stls_plaintext_planted.load(std::memory_order_relaxed);
}
#else
constexpr bool planted_stls_plaintext() noexcept {
    return false;
}
#endif
} // namespace

#if POP3_PLANTED_BUGS
void plant_stls_plaintext_bug(bool on) noexcept {
    stls_plaintext_planted.store(on, std::memory_order_relaxed);
}
#endif

client_session::client_session(session_options options)
    : options_(options), reader_(options.protocol_limits, options.policy) {
    if (options_.pipeline_window == 0) options_.pipeline_window = 1;
    in_.resize(16 * 1024);
}

action client_session::start(std::span<request> batch) {
    if (broken_) {
        diag_.set("the connection is unusable after an earlier error; reconnect", {});
        return {action::type::done, {}, {}, client_error::connection_unusable};
    }
    batch_ = batch;
    next_write_ = next_reply_ = 0;
    reply_started_ = false;
    diag_.clear();
    for (auto& r : batch_)
        r.result = {};
    return next();
}

action client_session::fail(std::error_code ec) {
    broken_ = true;
    phase_ = phase::done;
    return {action::type::done, {}, {}, ec};
}

std::span<char> client_session::read_area() {
    // Compact, then make sure there is room: a reply line may need up to its limit.
    if (begin_ == end_) {
        begin_ = end_ = 0;
    } else if (begin_ > in_.size() / 2) {
        std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    // Grow when nearly full, and when the last read filled all the room it had: a large body
    // then arrives in up to 1 MiB reads instead of thousands of small ones.
    constexpr std::size_t max_read_buffer = 1 << 20;
    if (in_.size() - end_ < 4096 || (last_read_filled_ && in_.size() < max_read_buffer))
        in_.resize(std::min(in_.size() * 2, std::max(max_read_buffer, in_.size() * 2)));
    last_read_filled_ = false;
    last_area_ = in_.size() - end_;
    return {in_.data() + end_, in_.size() - end_};
}

bool client_session::parse_buffered(std::error_code& ec) {
    request& req = batch_[next_reply_];
    if (!reply_started_) {
        reader_.start(req.shape);
        reply_started_ = true;
    }
    while (true) {
        const std::string_view pending(in_.data() + begin_, end_ - begin_);
        const auto step = reader_.read(pending, ec, &diag_);
        if (step.event == reply_event::body) {
            const std::size_t listing_cap = options_.protocol_limits.max_listing_octets;
            if (req.sink) {
                req.sink(step.data);
            } else if (req.listing && listing_cap < options_.max_buffered_body &&
                       req.result.body.size() + step.data.size() > listing_cap) {
                ec = client_error::reply_too_large;
                diag_.set("a listing grew past " + std::to_string(listing_cap) +
                              " octets (max_listing_octets)",
                          {});
                return false;
            } else if (req.result.body.size() + step.data.size() > options_.max_buffered_body) {
                ec = client_error::reply_too_large;
                diag_.set("a multi-line reply grew past " +
                              std::to_string(options_.max_buffered_body) +
                              " octets (max_buffered_body); stream it into a sink instead",
                          {});
                return false;
            } else {
                req.result.body.append(step.data);
            }
        }
        begin_ += step.consumed;
        if (ec == error::need_more) return false;
        if (ec) return false;
        if (step.event == reply_event::status) {
            const auto& st = reader_.status();
            auto& r = req.result;
            r.status = st.status;
            switch (st.status) {
            case reply_status::ok: r.line = "+OK"; break;
            case reply_status::err: r.line = "-ERR"; break;
            case reply_status::continuation: r.line = "+ " + std::string(st.challenge); break;
            }
            if (st.status != reply_status::continuation && !st.full_text.empty())
                r.line += " " + std::string(st.full_text);
            r.text.assign(st.text);
            r.code.assign(st.code.text);
            r.code_kind = st.code.kind;
            r.challenge.assign(st.challenge);
            if (req.on_status) req.on_status(r);
        }
        if (reader_.complete()) {
            req.result.body_octets = reader_.body().octets();
            reply_started_ = false;
            if (req.on_complete) req.on_complete(req.result);
            return true;
        }
    }
}

// Writes the next commands that the window allows, in one write; nullopt when there is nothing
// to write now. Nothing is written while an STLS waits for its reply and the handshake: what
// follows must go out inside TLS.
std::optional<action> client_session::write_more() {
    for (std::size_t i = next_reply_; i < next_write_; ++i)
        if (batch_[i].starts_tls) return std::nullopt;
    while (next_write_ < batch_.size() && next_write_ - next_reply_ < options_.pipeline_window) {
        const std::size_t in_flight = next_write_ - next_reply_;
        out_.clear();
        writing_count_ = 0;
        while (next_write_ + writing_count_ < batch_.size() &&
               in_flight + writing_count_ < options_.pipeline_window) {
            const auto& r = batch_[next_write_ + writing_count_];
            out_ += r.line;
            ++writing_count_;
            if (r.starts_tls) break; // nothing may follow STLS in plaintext
        }
        if (!out_.empty()) {
            phase_ = phase::writing;
            return action{action::type::write, out_, {}, {}};
        }
        next_write_ += writing_count_; // greeting: nothing to send
    }
    return std::nullopt;
}

action client_session::next() {
    while (true) {
        if (next_reply_ == batch_.size()) {
            phase_ = phase::done;
            return {action::type::done, {}, {}, {}};
        }
        // A reply is parsed only once its command is out. Lock-step is a window of one.
        if (next_write_ == next_reply_)
            if (auto w = write_more()) return *w;
        std::error_code ec;
        if (parse_buffered(ec)) {
            request& done = batch_[next_reply_++];
            if (done.starts_tls && done.result.ok()) {
                if (buffered() != 0 && !planted_stls_plaintext()) {
                    diag_.set("the server sent bytes after its STLS reply, before TLS: refusing "
                              "them (response injection)",
                              std::string_view(in_.data() + begin_, end_ - begin_));
                    return fail(client_error::plaintext_after_stls);
                }
                phase_ = phase::tls;
                return {action::type::tls_handshake, {}, {}, {}};
            }
            continue;
        }
        if (ec != error::need_more) return fail(ec);
        // Every buffered reply is consumed: top the window up before waiting, so that the
        // commands freed by a whole read go out together in one write, not one per reply.
        if (auto w = write_more()) return *w;
        phase_ = phase::reading;
        return {action::type::read, {}, read_area(), {}};
    }
}

action client_session::resume(std::error_code ec, std::size_t bytes) {
    switch (phase_) {
    case phase::writing:
        if (ec) return fail(ec);
        next_write_ += writing_count_;
        return next();
    case phase::reading:
        if (ec) return fail(ec);
        if (bytes == 0) { // EOF: the reply in progress cannot complete
            std::error_code eof_ec;
            reader_.finish(std::string_view(in_.data() + begin_, end_ - begin_), eof_ec, &diag_);
            return fail(eof_ec ? eof_ec : make_error_code(client_error::connection_closed));
        }
        end_ += bytes;
        last_read_filled_ = bytes == last_area_;
        return next();
    case phase::tls:
        if (ec) return fail(ec);
        return next();
    case phase::idle:
    case phase::done: break;
    }
    return {action::type::done, {}, {}, {}};
}

} // namespace pop3::sansio
