#include "pop3/mockserver/server.hpp"

// GCC 12 reports a false mismatched-new-delete on Asio's awaitable frames.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "pop3/mockserver/recorder.hpp"
#include "pop3/mockserver/session.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <list>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pop3::mock {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

std::pair<std::string, std::uint16_t> parse_host_port(std::string_view text) {
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("'" + std::string(text) + "': expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            throw std::invalid_argument("'" + std::string(text) + "': expected HOST:PORT");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535 || host.empty())
        throw std::invalid_argument("'" + std::string(text) + "': bad port '" + std::string(port) +
                                    "'");
    return {std::string(host), static_cast<std::uint16_t>(value)};
}

namespace {

// The octets [from, to) of a write's parts, as buffers (for faults that cut a reply).
std::vector<asio::const_buffer> slice(std::span<const std::string_view> parts, std::size_t from,
                                      std::size_t to) {
    std::vector<asio::const_buffer> out;
    std::size_t base = 0;
    for (auto p : parts) {
        const auto lo = std::clamp(from, base, base + p.size()) - base;
        const auto hi = std::clamp(to, base, base + p.size()) - base;
        if (hi > lo) out.push_back(asio::buffer(p.data() + lo, hi - lo));
        base += p.size();
    }
    return out;
}

// The buffers of a write, with runs of small parts copied together into `scratch`: Asio hands
// at most 16 buffers to each sendmsg, and 64 gathered replies of a few KB each would
// otherwise take a system call per 16 parts. Large parts (message bodies) are not copied.
std::vector<asio::const_buffer> coalesce(std::span<const std::string_view> parts,
                                         std::string& scratch) {
    constexpr std::size_t copy_below = 16 * 1024;
    std::size_t small = 0;
    for (auto p : parts)
        if (p.size() < copy_below) small += p.size();
    scratch.clear();
    scratch.reserve(small); // no reallocation below: the buffers point into it
    std::vector<asio::const_buffer> out;
    std::size_t run_start = 0;
    auto close_run = [&] {
        if (scratch.size() > run_start)
            out.push_back(asio::buffer(scratch.data() + run_start, scratch.size() - run_start));
        run_start = scratch.size();
    };
    for (auto p : parts) {
        if (p.size() < copy_below) {
            scratch += p;
        } else {
            close_run();
            out.push_back(asio::buffer(p.data(), p.size()));
        }
    }
    close_run();
    return out;
}

// The largest coalescing buffer a connection keeps between writes.
constexpr std::size_t max_idle_scratch = 64 * 1024;

// Waits after a failed accept (EMFILE, ENFILE, ENOBUFS): retrying at once would spin.
constexpr auto accept_backoff_min = std::chrono::milliseconds(10);
constexpr auto accept_backoff_max = std::chrono::milliseconds(1000);

} // namespace

struct server::impl {
    server_config config;
    server_options options;
    net::pem_identity identity;
    std::unique_ptr<asio::ssl::context> tls;
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<std::thread> threads;
    // Blocking work of sessions (UPDATE: deleting files, rewriting an mbox), kept off the I/O
    // threads so that other connections are served meanwhile.
    std::unique_ptr<asio::thread_pool> blocking;
    std::unique_ptr<tcp::acceptor> plain_acceptor, tls_acceptor;
    std::atomic<std::uint64_t> next_session{1};
    std::atomic<std::size_t> next_context{0};
    bool running = false;

    void log(std::string_view line) const {
        if (options.log) options.log(line);
    }

    asio::io_context& pick_context() {
        return *contexts[next_context.fetch_add(1) % contexts.size()];
    }

    tcp::acceptor bind(const std::string& where) {
        const auto [host, port] = parse_host_port(where);
        boost::system::error_code ec;
        const auto address = asio::ip::make_address(host, ec);
        if (ec) throw std::runtime_error("'" + where + "': not an IP address");
        tcp::acceptor acc(*contexts[0]);
        const tcp::endpoint ep(address, port);
        acc.open(ep.protocol());
        acc.set_option(tcp::acceptor::reuse_address(true));
        acc.bind(ep, ec);
        if (ec) throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
        acc.listen(asio::socket_base::max_listen_connections);
        return acc;
    }

    awaitable<void> accept_loop(tcp::acceptor& acceptor, bool implicit_tls) {
        asio::steady_timer backoff_timer(acceptor.get_executor());
        auto backoff = std::chrono::milliseconds(0);
        while (true) {
            auto& ctx = pick_context();
            tcp::socket socket(ctx);
            boost::system::error_code ec;
            co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            if (ec) {
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection waits in the
                // backlog while the ones we have are served; retrying at once would spin.
                // strerror, not ec.message(): out of descriptors, UBSan cannot check the
                // category's virtual call (it needs a descriptor for that) and reports it.
                if (backoff.count() == 0)
                    log("accept failed: " + std::string(std::strerror(ec.value())) +
                        "; backing off");
                backoff = std::clamp(backoff * 2, accept_backoff_min, accept_backoff_max);
                backoff_timer.expires_after(backoff);
                co_await backoff_timer.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            backoff = std::chrono::milliseconds(0);
            // Replies are written as they are ready; Nagle would hold each back for an ACK.
            socket.set_option(tcp::no_delay(true), ec);
            asio::co_spawn(ctx, run_connection(std::move(socket), implicit_tls), asio::detached);
        }
    }

    awaitable<void> run_connection(tcp::socket socket, bool implicit_tls);
};

namespace {

// One connection: the socket, TLS when active, and an idle timer.
class connection {
public:
    // `idle` bounds every wait on the peer: reads, handshakes and writes (a client that stops
    // reading mid-RETR must not hold its maildrop's lock forever). Write progress counts as
    // activity: a slow reader that keeps taking bytes is not idle.
    connection(tcp::socket s, asio::ssl::context* tls, std::chrono::seconds idle)
        : socket_(std::move(s)), timer_(socket_.get_executor()), watchdog_(socket_.get_executor()),
          tls_ctx_(tls), idle_(idle) {}

    awaitable<bool> handshake() {
        tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_ctx_);
        boost::system::error_code ec;
        touch();
        co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                       asio::redirect_error(use_awaitable, ec));
        touch();
        if (ec) error_ = ec;
        co_return !ec;
    }

    // Reads some bytes; 0 on EOF, error or idle timeout (the watchdog closes the socket).
    awaitable<std::size_t> read(char* data, std::size_t size) {
        touch();
        boost::system::error_code ec;
        std::size_t n = 0;
        if (tls_)
            n = co_await tls_->async_read_some(asio::buffer(data, size),
                                               asio::redirect_error(use_awaitable, ec));
        else
            n = co_await socket_.async_read_some(asio::buffer(data, size),
                                                 asio::redirect_error(use_awaitable, ec));
        touch();
        if (ec) error_ = ec;
        co_return ec ? 0 : n;
    }

    template <class Buffers>
    awaitable<bool> write(const Buffers& buffers) {
        boost::system::error_code ec;
        touch();
        // Called before each partial write: every chunk that went out is activity.
        const auto progress = [this](const boost::system::error_code& e, std::size_t) {
            touch();
            return e ? std::size_t(0) : std::size_t(max_write_chunk);
        };
        if (tls_)
            co_await asio::async_write(*tls_, buffers, progress,
                                       asio::redirect_error(use_awaitable, ec));
        else
            co_await asio::async_write(socket_, buffers, progress,
                                       asio::redirect_error(use_awaitable, ec));
        touch();
        if (ec) error_ = ec;
        co_return !ec;
    }

    awaitable<void> sleep(std::chrono::milliseconds d) {
        timer_.expires_after(d);
        boost::system::error_code ec;
        co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }

    bool tls_active() const noexcept { return tls_ != nullptr; }

    // Octets the peer sent that wait to be read (raw: TLS records count too).
    std::size_t waiting() const {
        boost::system::error_code ec;
        const auto n = socket_.available(ec);
        return ec ? 0 : n;
    }

    void close() {
        boost::system::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }

    std::string peer() const {
        boost::system::error_code ec;
        const auto ep = socket_.remote_endpoint(ec);
        return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
    }

    // Why the last operation failed, for the session log.
    std::string failure() const {
        if (timed_out_) return "idle timeout (" + std::to_string(idle_.count()) + " s)";
        if (!error_ || error_ == asio::error::eof || error_ == asio::ssl::error::stream_truncated)
            return "peer closed";
        return error_.message();
    }

private:
    static constexpr std::size_t max_write_chunk = 256 * 1024;

    // The idle watchdog: every operation marks activity; one timer, re-armed only when it
    // fires, closes the connection once nothing happened for idle_ (RFC 1939 §3 autologout,
    // without UPDATE). Arming a timer per read and write cost a fifth of the session rate.
    void touch() {
        last_activity_ = std::chrono::steady_clock::now();
        if (!watching_ && idle_.count() > 0) watch(idle_);
    }

    void watch(std::chrono::steady_clock::duration after) {
        watching_ = true;
        watchdog_.expires_after(after);
        // A wait that completed just before the connection was destroyed still runs its
        // handler (with success, not operation_aborted): it must not touch a dead connection.
        watchdog_.async_wait(
            [this, alive = std::weak_ptr<char>(alive_)](boost::system::error_code ec) {
                if (ec || alive.expired()) return;
                watching_ = false;
                const auto quiet = std::chrono::steady_clock::now() - last_activity_;
                if (quiet >= idle_) {
                    timed_out_ = true;
                    close();
                } else {
                    watch(idle_ - quiet);
                }
            });
    }

    tcp::socket socket_;
    asio::steady_timer timer_;    // delays and drips
    asio::steady_timer watchdog_; // idle time
    std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
    bool watching_ = false;
    bool timed_out_ = false;
    boost::system::error_code error_;
    asio::ssl::context* tls_ctx_;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
    std::chrono::seconds idle_;
    std::shared_ptr<char> alive_ = std::make_shared<char>(); // expires with the connection
};

enum class delivered : std::uint8_t { ok, write_failed, scenario_close };

// Who is told what was sent: the recording and the observer.
struct write_watchers {
    recorder* rec = nullptr;
    connection_observer* observer = nullptr;
    std::uint64_t session = 0;

    void sent(std::span<const std::string_view> parts, std::size_t octets, bool tls,
              std::size_t replies_ended, std::size_t unsolicited) const {
        if (!rec && !observer) return;
        std::string bytes;
        for (auto b : slice(parts, 0, octets)) {
            const std::string_view v{static_cast<const char*>(b.data()), b.size()};
            if (rec) rec->server_bytes(v);
            if (observer) bytes += v;
        }
        if (observer) observer->server_bytes(session, bytes, tls, replies_ended, unsolicited);
    }
};

// Writes one action's bytes with its delivery fault. Records what was actually sent (a
// disconnect fault cuts a reply short).
awaitable<delivered> deliver(connection& conn, const server_action& a, const write_watchers& w,
                             std::string& scratch) {
    const fault& f = a.delivery;
    if (!f.any()) { // one reply, or several gathered: one write
        const bool ok = co_await conn.write(coalesce(a.parts, scratch));
        if (ok) w.sent(a.parts, a.size(), conn.tls_active(), a.replies, a.unsolicited);
        co_return ok ? delivered::ok : delivered::write_failed;
    }
    if (f.delay.count()) co_await conn.sleep(f.delay);
    const std::size_t size = a.size();
    const std::size_t end = f.disconnect_at ? std::min(*f.disconnect_at, size) : size;

    // Cut points: the split offsets and every drip_bytes.
    std::vector<std::size_t> cuts;
    for (auto s : f.split_at)
        if (s > 0 && s < end) cuts.push_back(s);
    if (f.drip_bytes)
        for (std::size_t s = f.drip_bytes; s < end; s += f.drip_bytes)
            cuts.push_back(s);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    cuts.push_back(end);

    std::size_t from = 0;
    bool ok = true;
    for (auto to : cuts) {
        if (to > from && !co_await conn.write(slice(a.parts, from, to))) {
            ok = false;
            break;
        }
        if (f.drip_bytes && f.drip_pause.count() && to < end) co_await conn.sleep(f.drip_pause);
        from = to;
    }
    const bool whole = ok && from == size;
    w.sent(a.parts, from, conn.tls_active(), whole ? a.replies : 0, whole ? a.unsolicited : 0);
    if (!ok) co_return delivered::write_failed;
    co_return f.disconnect_at ? delivered::scenario_close : delivered::ok;
}

} // namespace

awaitable<void> server::impl::run_connection(tcp::socket socket, bool implicit_tls) {
    const auto id = next_session.fetch_add(1);
    connection conn(std::move(socket), tls.get(), config.idle_timeout);
    const std::string tag = "session " + std::to_string(id) + " " + conn.peer();
    log(tag + " connected" + (implicit_tls ? " (pop3s)" : ""));

    std::unique_ptr<recorder> rec;
    if (options.record_dir) {
        const auto file = *options.record_dir / ("session-" + std::to_string(id) + ".pop3");
        rec = std::make_unique<recorder>(file, options.mask_credentials);
        if (!rec->good()) {
            log(tag + " cannot record to " + file.string());
            rec.reset();
        }
    }

    connection_observer* observer = options.observer.get();
    if (observer) observer->opened(id, implicit_tls);
    if (implicit_tls && !co_await conn.handshake()) {
        log(tag + " TLS handshake failed");
        conn.close();
        if (observer) {
            observer->tls_started(id, false);
            observer->closed(id, "TLS handshake failed");
        }
        co_return;
    }
    if (implicit_tls && observer) observer->tls_started(id, true);
    session_context ctx;
    ctx.tls_active = implicit_tls;
    ctx.tls_available = tls != nullptr && options.starttls;
    ctx.timestamp_seed = std::to_string(::getpid()) + "." + std::to_string(id);
    session s(config, std::move(ctx));

    const write_watchers watchers{rec.get(), observer, id};
    // Lock-step checking (hold_reply_end): a reply goes out but its last octet, and a client
    // that sends anything before that octet follows did not wait for the reply.
    const auto deliver_holding = [&](connection& c, const server_action& a, const write_watchers& w,
                                     std::string& buf) -> awaitable<delivered> {
        const auto hold = options.hold_reply_end;
        const std::size_t size = a.size();
        if (hold.count() == 0 || a.replies == 0 || a.delivery.disconnect_at ||
            size <= a.unsolicited)
            co_return co_await deliver(c, a, w, buf);
        // The cut: before the reply's last octet (injected bytes after it go with that octet).
        const std::size_t cut = size - a.unsolicited - 1;
        std::vector<std::string_view> head, tail;
        std::size_t base = 0;
        for (auto p : a.parts) {
            const auto split = std::clamp(cut, base, base + p.size()) - base;
            if (split > 0) head.push_back(p.substr(0, split));
            if (split < p.size()) tail.push_back(p.substr(split));
            base += p.size();
        }
        server_action first = a;
        first.parts = head;
        first.replies = 0;
        first.unsolicited = 0;
        if (!head.empty())
            if (const auto d = co_await deliver(c, first, w, buf); d != delivered::ok) co_return d;
        co_await c.sleep(hold);
        if (w.observer && c.waiting() > 0) w.observer->early_bytes(w.session);
        server_action rest;
        rest.what = server_action::type::write;
        rest.parts = tail;
        rest.replies = a.replies;
        rest.unsolicited = a.unsolicited;
        co_return co_await deliver(c, rest, w, buf);
    };

    std::vector<char> buffer(16 * 1024);
    std::string scratch; // coalesced small replies of one write
    std::string reason = "closed";
    auto action = s.start();
    bool active = true;
    while (active) {
        switch (action.what) {
        case server_action::type::write:
            switch (co_await deliver_holding(conn, action, watchers, scratch)) {
            case delivered::ok:
                // An idle connection keeps no large buffer from a burst of pipelined replies.
                if (scratch.capacity() > max_idle_scratch) std::string().swap(scratch);
                action = s.on_write_done();
                break;
            case delivered::write_failed:
                reason = "write failed: " + conn.failure();
                active = false;
                break;
            case delivered::scenario_close:
                reason = "disconnected by scenario";
                active = false;
                break;
            }
            break;
        case server_action::type::read: {
            const auto n = co_await conn.read(buffer.data(), buffer.size());
            if (n == 0) {
                reason = conn.failure();
                active = false;
                break;
            }
            if (rec) rec->client_bytes({buffer.data(), n});
            if (observer) observer->client_bytes(id, {buffer.data(), n}, conn.tls_active());
            action = s.on_read({buffer.data(), n});
            break;
        }
        case server_action::type::start_tls: {
            const bool ok = co_await conn.handshake();
            log(tag + (ok ? " STLS: TLS started" : " STLS: TLS handshake failed"));
            if (rec) rec->tls(ok);
            if (observer) observer->tls_started(id, ok);
            action = s.on_tls_done(ok);
            break;
        }
        case server_action::type::hang:
            log(tag + " hanging (scenario)");
            // Read and discard until the peer gives up or the idle timer fires.
            while (co_await conn.read(buffer.data(), buffer.size()) > 0) {
            }
            reason = "hung until: " + conn.failure();
            active = false;
            break;
        case server_action::type::update:
            co_await asio::co_spawn(
                *blocking,
                [&s]() -> awaitable<void> {
                    s.run_update();
                    co_return;
                },
                use_awaitable);
            action = s.on_update_done();
            break;
        case server_action::type::close: active = false; break;
        }
    }
    s.on_disconnect();
    conn.close();
    log(tag + " " + reason);
    if (observer) observer->closed(id, reason);
}

server::server(server_config config, server_options options) : impl_(std::make_unique<impl>()) {
    impl_->config = std::move(config);
    impl_->options = std::move(options);
}

server::~server() {
    stop();
}

void server::start() {
    auto& d = *impl_;
    if (d.running) return;
    if (d.options.record_dir) {
        std::error_code ec;
        std::filesystem::create_directories(*d.options.record_dir, ec);
        if (!std::filesystem::is_directory(*d.options.record_dir))
            throw std::runtime_error("cannot create the recording folder " +
                                     d.options.record_dir->string());
    }
    const unsigned n =
        d.options.threads ? d.options.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i)
        d.contexts.push_back(std::make_unique<asio::io_context>(1));
    d.blocking = std::make_unique<asio::thread_pool>(2);
    if (d.options.tls_listen || d.options.starttls) {
        d.identity = d.options.identity ? *d.options.identity : net::make_self_signed();
        d.tls = std::make_unique<asio::ssl::context>(net::make_server_context(d.identity));
    }
    d.plain_acceptor = std::make_unique<tcp::acceptor>(d.bind(d.options.listen));
    asio::co_spawn(*d.contexts[0], d.accept_loop(*d.plain_acceptor, false), asio::detached);
    if (d.options.tls_listen) {
        d.tls_acceptor = std::make_unique<tcp::acceptor>(d.bind(*d.options.tls_listen));
        asio::co_spawn(*d.contexts[0], d.accept_loop(*d.tls_acceptor, true), asio::detached);
    }
    for (auto& ctx : d.contexts) {
        d.threads.emplace_back([c = ctx.get()] {
            auto guard = asio::make_work_guard(*c);
            c->run();
        });
    }
    d.running = true;
}

void server::stop() {
    auto& d = *impl_;
    if (!d.running) return;
    d.running = false;
    for (auto& ctx : d.contexts)
        ctx->stop();
    for (auto& t : d.threads)
        t.join();
    d.threads.clear();
    // An UPDATE under way finishes (its session's frame is still alive) before the contexts and
    // their sessions are destroyed.
    d.blocking->join();
    d.blocking.reset();
    d.plain_acceptor.reset();
    d.tls_acceptor.reset();
    // Destroying the contexts destroys the suspended sessions, which release their locks.
    d.contexts.clear();
}

std::uint16_t server::port() const {
    return impl_->plain_acceptor ? impl_->plain_acceptor->local_endpoint().port() : 0;
}

std::optional<std::uint16_t> server::tls_port() const {
    if (!impl_->tls_acceptor) return std::nullopt;
    return impl_->tls_acceptor->local_endpoint().port();
}

const net::pem_identity& server::identity() const {
    return impl_->identity;
}
const server_config& server::config() const {
    return impl_->config;
}

} // namespace pop3::mock
