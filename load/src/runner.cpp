// The run: connections spread over shards, one io_context and one thread per shard, so that
// a shard's connections, counters and histograms are only ever touched by its own thread. Each
// connection is a coroutine running sessions back to back; replies are read through
// pop3::reply_reader, commands written by pop3::format_command. A ticker per shard enforces
// the operation timeout and the abort at the end by closing sockets.
#include "pop3/load/load.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <pop3/client/error.hpp>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <random>
#include <thread>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // GCC 12 false positive on coroutines
#endif

namespace pop3::load {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr auto stop_grace = 2s;        // in-flight commands may finish after the end
constexpr auto failure_backoff = 10ms; // a connection rests after a failed session
constexpr auto tick = 50ms;            // the timeout checks' granularity
constexpr std::size_t read_chunk = 32 * 1024;

struct environment {
    const options& opt;
    std::vector<tcp::endpoint> endpoints;
    net::tls_client_options tls;     // the run's TLS policy: verified unless --insecure
    ssl::context* tls_ctx = nullptr; // made from it once, for every connection
    clock_type::time_point end;
    clock_type::duration timeout{};
    std::atomic<bool> stop{false};
    std::atomic<bool> abort{false};

    bool stopping() const noexcept {
        return stop.load(std::memory_order_relaxed) || clock_type::now() >= end;
    }
};

enum class cut_reason : std::uint8_t { none, timeout, abort };
enum class result : std::uint8_t { ok, failed, cut };
enum class outcome : std::uint8_t { completed, failed, unfinished };

struct connection {
    connection(asio::io_context& ioc, unsigned n) : number(n), plain(ioc), rng(n) {}

    unsigned number; // 1-based
    tcp::socket plain;
    std::unique_ptr<ssl::stream<tcp::socket>> tls; // each TLS session gets a fresh one
    bool tls_active = false;
    bool busy = false; // an operation under the deadline is pending
    clock_type::time_point deadline;
    cut_reason cut = cut_reason::none;
    std::string failure; // the error that ended the session
    std::string detail;  // and its message
    diagnostics diag;
    std::string buf; // received, not yet consumed from pos
    std::size_t pos = 0;
    std::vector<char> chunk = std::vector<char>(read_chunk);
    reply_reader reader;
    std::minstd_rand rng;
    std::size_t endpoint = 0;                  // the one that accepted last
    std::array<std::string, step_count> lines; // fixed command lines, formatted once
    std::string line;

    tcp::socket& socket() noexcept { return tls ? tls->next_layer() : plain; }
};

struct shard {
    asio::io_context ioc{1};
    std::vector<std::unique_ptr<connection>> conns;
    results res;
    std::atomic<std::uint64_t> sessions{0}, commands{0}, errors{0}; // for the progress line
    std::atomic<std::uint64_t> err_replies{0}; // of errors, the -ERR replies (the timeline)
    std::atomic<std::size_t> active{0};        // connections still running
};

std::string_view pop3_error_name(std::error_code ec) {
    static constexpr std::string_view names[] = {"need_more",
                                                 "line_too_long",
                                                 "bare_lf",
                                                 "bare_cr",
                                                 "nul_in_line",
                                                 "missing_crlf_at_eof",
                                                 "eof_in_reply",
                                                 "bad_status_indicator",
                                                 "unexpected_continuation",
                                                 "bad_stat_reply",
                                                 "bad_scan_listing",
                                                 "bad_uid_listing",
                                                 "bad_capa_line",
                                                 "no_apop_timestamp",
                                                 "octet_count_mismatch",
                                                 "forbidden_char_in_argument",
                                                 "command_too_long",
                                                 "empty_command",
                                                 "bad_keyword",
                                                 "unknown_command",
                                                 "wrong_argument_count",
                                                 "bad_message_number",
                                                 "bad_number",
                                                 "bad_base64",
                                                 "bad_sasl_message",
                                                 "sasl_cancelled"};
    static_assert(std::size(names) == static_cast<std::size_t>(error::last_error));
    const auto v = static_cast<std::size_t>(ec.value());
    if (ec.category() == error_category() && v >= 1 && v <= std::size(names)) return names[v - 1];
    static constexpr std::string_view client_names[] = {
        "server_error",         "connection_unusable", "stls_unavailable", "tls_already_active",
        "plaintext_after_stls", "connection_closed",   "timeout",          "reply_too_large"};
    static_assert(std::size(client_names) == static_cast<std::size_t>(client_error::last));
    if (ec.category() == client_error_category() && v >= 1 && v <= std::size(client_names))
        return client_names[v - 1];
    return "protocol_error";
}

std::string io_error_name(const boost::system::error_code& ec) {
    namespace e = asio::error;
    if (ec == e::eof || ec == ssl::error::stream_truncated) return "connection_closed";
    if (ec == e::connection_refused) return "connection_refused";
    if (ec == e::connection_reset) return "connection_reset";
    if (ec == e::connection_aborted) return "connection_aborted";
    if (ec == e::broken_pipe) return "broken_pipe";
    if (ec == e::timed_out) return "timeout";
    if (ec == e::host_unreachable) return "host_unreachable";
    if (ec == e::network_unreachable) return "network_unreachable";
    if (ec == e::no_descriptors) return "too_many_open_files";
    if (ec == e::no_buffer_space) return "no_buffer_space";
    if (ec == boost::system::errc::address_not_available) return "address_not_available";
    if (ec.category() == asio::error::get_ssl_category()) return "tls_error";
    std::string name = ec.category().name();
    return name + "_" + std::to_string(ec.value());
}

void arm(const environment& env, connection& c) {
    c.busy = true;
    c.deadline =
        env.timeout.count() ? clock_type::now() + env.timeout : clock_type::time_point::max();
}

// After an operation: ok, or why not (an error names the session's failure).
result settle(connection& c, const boost::system::error_code& ec, std::string_view what = {}) {
    c.busy = false;
    if (c.cut == cut_reason::abort) return result::cut;
    if (c.cut == cut_reason::timeout) {
        c.failure = "timeout";
        c.detail = "no progress for the --timeout";
        return result::failed;
    }
    if (!ec) return result::ok;
    c.failure = what.empty() ? io_error_name(ec) : std::string(what);
    c.detail = ec.message();
    return result::failed;
}

std::uint64_t nanoseconds(clock_type::duration d) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

asio::awaitable<result> connect(environment& env, connection& c) {
    boost::system::error_code last;
    for (std::size_t i = 0; i < env.endpoints.size(); ++i) {
        const auto at = (c.endpoint + i) % env.endpoints.size();
        arm(env, c);
        auto [ec] = co_await c.socket().async_connect(env.endpoints[at], use_tuple);
        if (!ec && c.cut == cut_reason::none) {
            c.busy = false;
            c.endpoint = at;
            boost::system::error_code ignored;
            c.socket().set_option(tcp::no_delay(true), ignored);
            co_return result::ok;
        }
        if (c.cut != cut_reason::none) co_return settle(c, ec);
        last = ec;
        boost::system::error_code ignored;
        c.socket().close(ignored);
    }
    co_return settle(c, last);
}

asio::awaitable<result> handshake(environment& env, connection& c) {
    arm(env, c);
    auto [ec] = co_await c.tls->async_handshake(ssl::stream_base::client, use_tuple);
    const auto r = settle(c, ec, "tls_handshake");
    if (r == result::ok) c.tls_active = true;
    co_return r;
}

asio::awaitable<result> send(environment& env, connection& c, std::string_view line) {
    arm(env, c);
    boost::system::error_code ec;
    if (c.tls_active)
        std::tie(ec, std::ignore) =
            co_await asio::async_write(*c.tls, asio::buffer(line), use_tuple);
    else
        std::tie(ec, std::ignore) =
            co_await asio::async_write(c.socket(), asio::buffer(line), use_tuple);
    co_return settle(c, ec);
}

// Reads one reply into c.reader; body octets are counted, and (for LIST) body lines.
asio::awaitable<result> read_reply(environment& env, shard& sh, connection& c, reply_shape shape,
                                   std::uint64_t* lines = nullptr) {
    c.reader.start(shape);
    for (;;) {
        std::error_code ec;
        while (!c.reader.complete()) {
            const auto st = c.reader.read(std::string_view(c.buf).substr(c.pos), ec, &c.diag);
            c.pos += st.consumed;
            if (st.event == reply_event::body) {
                sh.res.body_octets += st.data.size();
                if (lines)
                    *lines += static_cast<std::uint64_t>(
                        std::count(st.data.begin(), st.data.end(), '\n'));
            }
            if (ec) break;
        }
        if (c.reader.complete()) co_return result::ok;
        if (ec != error::need_more) {
            c.failure = pop3_error_name(ec);
            c.detail = c.diag.to_string();
            co_return result::failed;
        }
        c.buf.erase(0, c.pos);
        c.pos = 0;
        arm(env, c);
        boost::system::error_code rec;
        std::size_t n = 0;
        if (c.tls_active)
            std::tie(rec, n) = co_await c.tls->async_read_some(asio::buffer(c.chunk), use_tuple);
        else
            std::tie(rec, n) =
                co_await c.socket().async_read_some(asio::buffer(c.chunk), use_tuple);
        if (rec == asio::error::eof || rec == ssl::error::stream_truncated) {
            if (c.cut != cut_reason::none) co_return settle(c, rec);
            c.busy = false;
            c.failure = "connection_closed";
            c.detail = "the server closed the connection";
            if (!c.buf.empty() || c.reader.in_body()) {
                std::error_code fe;
                c.reader.finish(c.buf, fe, &c.diag);
                if (fe) {
                    c.failure = pop3_error_name(fe);
                    c.detail = c.diag.to_string();
                }
            }
            co_return result::failed;
        }
        if (const auto r = settle(c, rec); r != result::ok) co_return r;
        sh.res.received_octets += n;
        c.buf.append(c.chunk.data(), n);
    }
}

bool multi_line(step s) {
    return s == step::capa || s == step::list || s == step::uidl || s == step::retr;
}

// Sends one command and reads its reply, recording latency and -ERR. The reply's status is in
// c.reader.status() when the result is ok.
asio::awaitable<result> command(environment& env, shard& sh, connection& c, step s,
                                std::string_view line, std::uint64_t* lines = nullptr) {
    const auto t0 = clock_type::now();
    if (auto r = co_await send(env, c, line); r != result::ok) co_return r;
    const auto shape = multi_line(s) ? reply_shape::multi_line : reply_shape::single_line;
    if (auto r = co_await read_reply(env, sh, c, shape, lines); r != result::ok) co_return r;
    sh.res.latency[static_cast<std::size_t>(s)].record(nanoseconds(clock_type::now() - t0));
    ++sh.res.commands;
    sh.commands.fetch_add(1, std::memory_order_relaxed);
    const auto& st = c.reader.status();
    if (st.status != reply_status::ok) {
        std::string key(step_name(s));
        if (st.code.present()) key += " [" + std::string(st.code.text) + "]";
        if (++sh.res.err_replies[key] == 1)
            sh.res.first_text.emplace(key, escape_for_display(st.text, 100));
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        sh.err_replies.fetch_add(1, std::memory_order_relaxed);
    }
    co_return result::ok;
}

std::error_code new_tls_stream(environment& env, shard& sh, connection& c) {
    c.tls = std::make_unique<ssl::stream<tcp::socket>>(sh.ioc, *env.tls_ctx);
    return net::prepare_client_ssl(c.tls->native_handle(), env.tls, env.opt.url.host);
}

asio::awaitable<outcome> session(environment& env, shard& sh, connection& c) {
    c.cut = cut_reason::none;
    c.failure.clear();
    c.detail.clear();
    c.buf.clear();
    c.pos = 0;
    c.tls_active = false;
    if (env.tls_ctx) {
        if (const auto ec = new_tls_stream(env, sh, c)) {
            c.failure = "tls_handshake";
            c.detail = "cannot verify or send '" + env.opt.url.host +
                       "' as the server name: " + ec.message();
            co_return outcome::failed;
        }
    }
    auto fail = [](result r) { return r == result::cut ? outcome::unfinished : outcome::failed; };

    const auto session_start = clock_type::now();
    if (auto r = co_await connect(env, c); r != result::ok) co_return fail(r);
    auto connect_time = clock_type::now() - session_start;
    if (env.opt.tls == tls_choice::implicit) {
        const auto t = clock_type::now();
        if (auto r = co_await handshake(env, c); r != result::ok) co_return fail(r);
        sh.res.latency[static_cast<std::size_t>(step::tls)].record(
            nanoseconds(clock_type::now() - t));
    }
    const auto greeting_start = clock_type::now();
    if (auto r = co_await read_reply(env, sh, c, reply_shape::single_line); r != result::ok)
        co_return fail(r);
    connect_time += clock_type::now() - greeting_start;
    sh.res.latency[static_cast<std::size_t>(step::connect)].record(nanoseconds(connect_time));
    if (c.reader.status().status != reply_status::ok) {
        if (++sh.res.err_replies["greeting"] == 1)
            sh.res.first_text.emplace("greeting", escape_for_display(c.reader.status().text, 100));
        sh.errors.fetch_add(1, std::memory_order_relaxed);
        sh.err_replies.fetch_add(1, std::memory_order_relaxed);
        co_return outcome::failed;
    }

    if (env.opt.tls == tls_choice::starttls) {
        if (env.stopping()) co_return outcome::unfinished;
        if (auto r = co_await command(env, sh, c, step::stls, "STLS\r\n"); r != result::ok)
            co_return fail(r);
        if (c.reader.status().status != reply_status::ok) co_return outcome::failed;
        if (c.pos != c.buf.size()) { // bytes after the +OK, before the handshake
            c.failure = "plaintext_after_stls";
            c.detail = "bytes after the STLS +OK, before the TLS handshake";
            co_return outcome::failed;
        }
        const auto t = clock_type::now();
        if (auto r = co_await handshake(env, c); r != result::ok) co_return fail(r);
        sh.res.latency[static_cast<std::size_t>(step::tls)].record(
            nanoseconds(clock_type::now() - t));
    }

    std::uint64_t known = 0; // messages announced by the last STAT or LIST
    std::uint64_t pick = 0;  // RETR/DELE's message, chosen once per session
    for (step s : env.opt.plan) {
        if (env.stopping()) co_return outcome::unfinished;
        std::string_view line = c.lines[static_cast<std::size_t>(s)];
        if (s == step::retr || s == step::dele) {
            if (pick == 0)
                pick = env.opt.message ? *env.opt.message
                       : known == 0    ? 1
                                    : std::uniform_int_distribution<std::uint64_t>(1, known)(c.rng);
            c.line = (s == step::retr ? "RETR " : "DELE ") + std::to_string(pick) + "\r\n";
            line = c.line;
        }
        std::uint64_t listed = 0;
        const auto r = co_await command(env, sh, c, s, line, s == step::list ? &listed : nullptr);
        if (r != result::ok) co_return fail(r);
        const auto& st = c.reader.status();
        if (st.status != reply_status::ok) {
            if (s == step::user || s == step::pass) co_return outcome::failed;
            continue;
        }
        if (s == step::stat) {
            std::error_code ec;
            const auto parsed = parse_stat(st.full_text, ec);
            if (!ec) known = parsed.count;
        } else if (s == step::list) {
            known = listed;
        }
    }
    sh.res.latency[static_cast<std::size_t>(step::session)].record(
        nanoseconds(clock_type::now() - session_start));
    co_return outcome::completed;
}

asio::awaitable<void> run_connection(environment& env, shard& sh, connection& c) {
    asio::steady_timer rest(sh.ioc);
    while (!env.stopping()) {
        const auto o = co_await session(env, sh, c);
        boost::system::error_code ignored;
        c.socket().close(ignored);
        c.busy = false;
        switch (o) {
        case outcome::completed:
            ++sh.res.sessions_completed;
            sh.sessions.fetch_add(1, std::memory_order_relaxed);
            break;
        case outcome::unfinished: ++sh.res.sessions_unfinished; break;
        case outcome::failed:
            ++sh.res.sessions_failed;
            if (!c.failure.empty()) {
                if (++sh.res.errors[c.failure] == 1) sh.res.first_text.emplace(c.failure, c.detail);
                sh.errors.fetch_add(1, std::memory_order_relaxed);
            }
            if (!env.stopping()) {
                rest.expires_after(failure_backoff);
                co_await rest.async_wait(use_tuple);
            }
            break;
        }
    }
}

// Closes the sockets of operations past their deadline, or of all of them on abort.
asio::awaitable<void> ticker(environment& env, shard& sh) {
    asio::steady_timer t(sh.ioc);
    while (sh.active.load() > 0) {
        t.expires_after(tick);
        co_await t.async_wait(use_tuple);
        const auto now = clock_type::now();
        const bool abort = env.abort.load();
        for (auto& c : sh.conns) {
            if (!c->busy || c->cut != cut_reason::none) continue;
            if (abort)
                c->cut = cut_reason::abort;
            else if (c->deadline <= now)
                c->cut = cut_reason::timeout;
            else
                continue;
            boost::system::error_code ignored;
            c->socket().close(ignored);
        }
    }
}

void format_line(std::string& out, command_id id, std::span<const std::string_view> args,
                 std::string_view what) {
    std::error_code ec;
    diagnostics diag;
    format_command(id, args, out, ec, {}, &diag);
    if (ec)
        throw usage_error("cannot send " + std::string(what) + ": " +
                          (diag.message.empty() ? ec.message() : diag.message));
}

} // namespace

results run(const options& opt, const std::atomic<int>& interrupts,
            const std::function<void(const progress&)>& on_progress) {
    environment env{opt};
    {
        asio::io_context ioc;
        tcp::resolver resolver(ioc);
        boost::system::error_code ec;
        const auto found = resolver.resolve(opt.url.host, std::to_string(opt.url.port), ec);
        if (ec) throw std::runtime_error("cannot resolve '" + opt.url.host + "': " + ec.message());
        for (const auto& e : found) {
            if (!opt.allow_remote && !e.endpoint().address().is_loopback())
                throw usage_error("refusing target: '" + opt.url.host + "' resolves to " +
                                  e.endpoint().address().to_string() +
                                  ", not a loopback address (--allow-remote)");
            env.endpoints.push_back(e.endpoint());
        }
        if (env.endpoints.empty()) throw std::runtime_error("'" + opt.url.host + "': no address");
    }
    std::unique_ptr<ssl::context> tls_ctx;
    if (opt.tls != tls_choice::none) {
        env.tls.verify = !opt.insecure;
        env.tls.ca_file = opt.ca_file;
        try {
            tls_ctx = std::make_unique<ssl::context>(net::make_client_context(env.tls));
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("TLS set-up failed (--ca " + opt.ca_file + "): " + e.what());
        }
        env.tls_ctx = tls_ctx.get();
    }
    env.timeout = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(opt.timeout));

    std::vector<std::unique_ptr<shard>> shards;
    for (unsigned t = 0; t < opt.threads; ++t)
        shards.push_back(std::make_unique<shard>());
    for (unsigned i = 0; i < opt.connections; ++i) {
        auto& sh = *shards[i % opt.threads];
        auto c = std::make_unique<connection>(sh.ioc, i + 1);
        const std::string user = user_for(opt, i + 1);
        const std::string_view user_arg[] = {user};
        const std::string_view pass_arg[] = {opt.url.password};
        auto& l = c->lines;
        for (step s : opt.plan) {
            auto& out = l[static_cast<std::size_t>(s)];
            switch (s) {
            case step::user: format_line(out, command_id::user, user_arg, "USER " + user); break;
            case step::pass: format_line(out, command_id::pass, pass_arg, "PASS"); break;
            case step::capa: out = "CAPA\r\n"; break;
            case step::stat: out = "STAT\r\n"; break;
            case step::list: out = "LIST\r\n"; break;
            case step::uidl: out = "UIDL\r\n"; break;
            case step::noop: out = "NOOP\r\n"; break;
            case step::rset: out = "RSET\r\n"; break;
            case step::quit: out = "QUIT\r\n"; break;
            default: break;
            }
        }
        sh.conns.push_back(std::move(c));
    }

    const auto start = clock_type::now();
    env.end = start + std::chrono::duration_cast<clock_type::duration>(
                          std::chrono::duration<double>(opt.duration));
    for (auto& sh : shards) {
        sh->active = sh->conns.size();
        for (auto& c : sh->conns)
            asio::co_spawn(sh->ioc, run_connection(env, *sh, *c),
                           [s = sh.get()](std::exception_ptr e) {
                               if (e) {
                                   try {
                                       std::rethrow_exception(e);
                                   } catch (const std::exception& x) {
                                       ++s->res.errors[std::string("internal: ") + x.what()];
                                   }
                               }
                               s->active.fetch_sub(1);
                           });
        asio::co_spawn(sh->ioc, ticker(env, *sh), [](std::exception_ptr) {});
    }
    std::vector<std::thread> threads;
    for (auto& sh : shards)
        threads.emplace_back([s = sh.get()] { s->ioc.run(); });

    auto collect = [&](clock_type::time_point now) {
        progress p;
        p.elapsed = std::chrono::duration<double>(now - start).count();
        for (auto& sh : shards) {
            p.sessions += sh->sessions.load(std::memory_order_relaxed);
            p.commands += sh->commands.load(std::memory_order_relaxed);
            p.errors += sh->errors.load(std::memory_order_relaxed);
        }
        return p;
    };
    // The timeline: one sample a second, thinned to every other one (and the interval doubled)
    // whenever it fills up, so that a long run keeps constant memory.
    std::vector<sample> timeline{sample{}};
    clock_type::duration sample_every = 1s;
    auto next_sample = start + sample_every;
    auto take_sample = [&](clock_type::time_point now) {
        sample s;
        s.t = std::chrono::duration<double>(now - start).count();
        for (auto& sh : shards) {
            s.sessions += sh->sessions.load(std::memory_order_relaxed);
            // errors counts both kinds; relaxed loads may see a -ERR in one and not the other.
            const auto replies = sh->err_replies.load(std::memory_order_relaxed);
            const auto both = sh->errors.load(std::memory_order_relaxed);
            s.errors += both > replies ? both - replies : 0;
            s.err_replies += replies;
        }
        timeline.push_back(s);
        while (next_sample <= now) // a late sample does not make the next ones early
            next_sample += sample_every;
        if (timeline.size() < results::max_samples) return;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < timeline.size(); i += 2)
            timeline[kept++] = timeline[i];
        timeline.resize(kept);
        sample_every *= 2;
    };
    auto stop_time = env.end;
    bool interrupted = false, aborted = false;
    auto next_progress = start + 1s;
    for (;;) {
        std::this_thread::sleep_for(env.stop ? 5ms : 20ms);
        const auto now = clock_type::now();
        const int signals = interrupts.load();
        if (!env.stop && (signals > 0 || now >= env.end)) {
            env.stop = true;
            stop_time = std::min(now, env.end);
            interrupted = signals > 0 && now < env.end;
        }
        if (env.stop && !env.abort && (signals >= 2 || now - stop_time >= stop_grace)) {
            env.abort = true;
            aborted = true;
        }
        bool done = true;
        for (auto& sh : shards)
            done = done && sh->active.load() == 0;
        if (done) break;
        if (now >= next_sample && !env.stop) take_sample(now);
        if (now >= next_progress && !env.stop) {
            if (on_progress) on_progress(collect(now));
            next_progress += 1s;
        }
    }
    for (auto& t : threads)
        t.join();

    results total;
    for (auto& sh : shards)
        total.merge(sh->res);
    total.elapsed = std::chrono::duration<double>(stop_time - start).count();
    total.interrupted = interrupted;
    total.aborted = aborted;
    // The last sample, at the stop, counts what finished in the grace period too; one taken
    // just before it would make a sliver of an interval, so it gives way.
    if (timeline.size() > 1 &&
        total.elapsed - timeline.back().t < std::chrono::duration<double>(sample_every).count() / 4)
        timeline.pop_back();
    timeline.push_back(sample{total.elapsed, total.sessions_completed, total.error_count(),
                              total.err_reply_count()});
    total.timeline = std::move(timeline);
    return total;
}

} // namespace pop3::load
