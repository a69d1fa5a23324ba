// Internal to the client library: the one engine both clients run. async_client::state owns a
// connection (a socket, its TLS stream, or a client_transport) and its sans-I/O
// client_session, and runs every I/O step of both APIs: connect and greeting, batches of
// requests with their timeouts, the drip defence and debug output, TLS and STLS, CAPA, the
// commands. Its operations are C++20 coroutines that fail by throwing op_failure with the
// diagnostics already in `diag`; async_client completes handlers from them, pop3::client runs
// them on its own io_context and throws protocol_error.
#pragma once

#include "pop3/client/async_client.hpp"
#include "pop3/client/sasl_client.hpp"
#include "reply_text.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/apop.hpp>

namespace pop3 {

namespace detail {

inline constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

// How an engine operation fails: the state's diagnostics are already set.
struct op_failure {
    boost::system::error_code ec;
};

} // namespace detail

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using detail::op_failure;
using detail::shown;
using detail::split_lines;
using detail::tuple_awaitable;
using sansio::reply;
using sansio::request;

struct async_client::state : std::enable_shared_from_this<state> {
    executor_type executor;
    client_options opt;
    tcp::resolver resolver;
    tcp::socket socket;
    asio::steady_timer timer;
    std::unique_ptr<asio::ssl::context> ssl_ctx;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
    // Instead of the socket (pop3::client over a client_transport): blocking steps, no TLS.
    std::unique_ptr<client_transport> transport;
    std::unique_ptr<sansio::client_session> session;
    std::string welcome;
    capabilities caps;
    bool caps_known = false;
    bool connected = false;
    bool busy = false;
    client_diagnostics diag;
    // The deadline of the I/O step in progress (see arm()).
    std::chrono::steady_clock::time_point deadline;
    bool in_step = false, watching = false, timed_out = false;
    std::uint64_t watch_number = 0;
    // Message octets parsed but not yet taken by an async_body_sink.
    std::string pending_body;
    // async_retr_many's messages so far.
    std::vector<message_result> partial_messages;

    state(executor_type ex, client_options o)
        : executor(std::move(ex)), opt(std::move(o)), resolver(executor), socket(executor),
          timer(executor), session(std::make_unique<sansio::client_session>(session_options())) {
        if (opt.port == 0) opt.port = opt.tls == tls_mode::implicit ? 995 : 110;
    }

    sansio::session_options session_options() const {
        return {opt.protocol_limits, opt.policy, 1, opt.max_buffered_body};
    }

    // --- failing -----------------------------------------------------------------------------

    // Fails the operation; the connection is out of step from now on.
    [[noreturn]] void broken(error_code ec, std::string what) {
        session->mark_unusable();
        diag.message = std::move(what);
        throw op_failure{ec};
    }

    // A protocol-core parse of what the server sent: `parse(ec, diag)`; a malformed reply
    // leaves the connection unusable (broken).
    template <class Parse>
    auto parsed(Parse parse) {
        std::error_code ec;
        diagnostics d;
        auto value = parse(ec, d);
        if (ec) broken(ec, d.to_string());
        return value;
    }
    // Fails the operation; the connection stays in step (a -ERR, a refused argument).
    [[noreturn]] void refused(error_code ec, std::string what) {
        diag.message = std::move(what);
        throw op_failure{ec};
    }
    void check_ok(const reply& r) {
        if (r.ok()) return;
        diag.response = r.line;
        diag.response_code = r.code_kind;
        diag.response_code_text = r.code;
        refused(client_error::server_error, shown(r.line));
    }

    // --- the I/O step timeout ----------------------------------------------------------------

    // Each I/O step must end by its deadline. One timer watches the deadlines of an operation's
    // steps: a step only moves the deadline, and the timer, when it fires early, waits again
    // for the deadline of the step then in progress. So a step costs no timer operation, and an
    // operation one wait and one cancel (idle()).
    void arm(std::chrono::milliseconds timeout) {
        deadline = std::chrono::steady_clock::now() + timeout;
        in_step = true;
        timed_out = false;
        if (!watching || timer.expiry() > deadline) watch();
    }
    // Ends the step; true when its deadline passed first.
    bool disarm() {
        in_step = false;
        return timed_out;
    }
    // The operation is over: stop watching.
    void idle() {
        in_step = false;
        if (!watching) return;
        watching = false;
        ++watch_number;
        timer.cancel();
    }
    void watch() {
        watching = true;
        timer.expires_at(deadline);
        timer.async_wait([weak = weak_from_this(), number = ++watch_number](error_code ec) {
            const auto self = weak.lock();
            if (!self || self->watch_number != number) return; // superseded or gone
            self->watching = false;
            if (ec || !self->in_step) return;
            if (std::chrono::steady_clock::now() < self->deadline) {
                self->watch(); // the deadline moved on with a later step
                return;
            }
            self->timed_out = true;
            error_code ignored;
            self->socket.cancel(ignored);
            self->resolver.cancel();
        });
    }

    // A terminal cancellation of the operation (its handler's slot): the step it cut is lost.
    asio::awaitable<void> check_cancelled() {
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            broken(asio::error::operation_aborted, "the operation was cancelled");
    }

    // --- TLS ---------------------------------------------------------------------------------

    void make_tls_context() {
        if (ssl_ctx) return;
        try {
            ssl_ctx =
                std::make_unique<asio::ssl::context>(net::make_client_context(opt.tls_settings));
        } catch (const boost::system::system_error& e) {
            refused(e.code(),
                    "TLS set-up failed (CA, certificate or key): " + std::string(e.what()));
        }
    }

    // The handshake as one I/O step: the error, or none.
    asio::awaitable<error_code> handshake(std::chrono::milliseconds timeout) {
        make_tls_context();
        auto stream = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *ssl_ctx);
        if (auto ec = net::prepare_client_ssl(stream->native_handle(), opt.tls_settings, opt.host))
            co_return error_code(ec);
        tls = std::move(stream);
        arm(timeout);
        auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
        if (disarm()) co_return error_code(client_error::timeout);
        co_return ec;
    }

    // --- the engine: one batch of requests through the session -------------------------------

    std::ostream& debug() { return opt.debug_stream ? *opt.debug_stream : std::cerr; }

    // A command line as debug output may show it: no password, APOP digest or SASL response.
    static std::string masked(std::string_view line) {
        std::string_view l = line.substr(0, line.find("\r\n"));
        std::string_view rest = l;
        const auto kw = next_token(rest);
        if (iequals(kw, "PASS")) return "PASS ****";
        if (iequals(kw, "APOP")) return "APOP " + std::string(next_token(rest)) + " ****";
        if (iequals(kw, "AUTH") && !rest.empty()) {
            const auto mech = next_token(rest);
            return "AUTH " + std::string(mech) + (rest.empty() ? "" : " ****");
        }
        return std::string(l);
    }

    // Hands pending_body to the sink and waits until it is taken.
    asio::awaitable<void> drain(const async_body_sink& sink) {
        auto [ec] = co_await asio::async_initiate<decltype(tuple_awaitable), void(error_code)>(
            [this, &sink](auto handler) {
                // `done` may be called inline: it then completes through a post.
                sink(pending_body,
                     asio::any_completion_handler<void(error_code)>(
                         [h = std::move(handler), ex = executor](error_code e) mutable {
                             asio::post(ex, asio::append(std::move(h), e));
                         }));
            },
            tuple_awaitable);
        pending_body.clear();
        co_await check_cancelled();
        if (ec) broken(ec, "the message sink failed: " + ec.message());
    }

    // Runs the session's actions until the batch is done. Message octets of a request whose
    // sink appends to pending_body go to `sink` between reads, which is the back-pressure.
    asio::awaitable<void> run(std::span<request> batch, const async_body_sink* sink = nullptr) {
        if (!connected) broken(client_error::connection_unusable, "the connection is closed");
        if (opt.debuglevel > 0)
            for (const auto& r : batch)
                if (!r.line.empty())
                    debug() << "*cmd* " << (r.secret ? "****" : masked(r.line)) << '\n';
        auto a = session->start(batch);
        std::optional<std::chrono::steady_clock::time_point> first_octet;
        std::uint64_t received = 0;
        while (true) {
            if (sink && !pending_body.empty()) co_await drain(*sink);
            if (a.what == sansio::action::type::done) break;
            error_code ec;
            std::size_t n = 0;
            bool late = false;
            switch (a.what) {
            case sansio::action::type::write:
                if (transport) {
                    ec = transport->write(a.write_data, opt.operation_timeout);
                    n = a.write_data.size();
                    late = ec == client_error::timeout;
                    break;
                }
                arm(opt.operation_timeout);
                if (tls)
                    std::tie(ec, n) = co_await asio::async_write(*tls, asio::buffer(a.write_data),
                                                                 tuple_awaitable);
                else
                    std::tie(ec, n) = co_await asio::async_write(socket, asio::buffer(a.write_data),
                                                                 tuple_awaitable);
                late = disarm();
                break;
            case sansio::action::type::read: {
                if (transport) {
                    ec = transport->read(a.read_into, n, opt.operation_timeout);
                    late = ec == client_error::timeout;
                    break;
                }
                arm(opt.operation_timeout);
                const auto into = asio::buffer(a.read_into.data(), a.read_into.size());
                if (tls)
                    std::tie(ec, n) = co_await tls->async_read_some(into, tuple_awaitable);
                else
                    std::tie(ec, n) = co_await socket.async_read_some(into, tuple_awaitable);
                late = disarm();
                break;
            }
            case sansio::action::type::tls_handshake:
                if (transport) { // a client_transport carries plaintext only
                    ec = make_error_code(boost::system::errc::operation_not_supported);
                    break;
                }
                ec = co_await handshake(opt.operation_timeout);
                late = ec == client_error::timeout;
                break;
            case sansio::action::type::done: break;
            }
            co_await check_cancelled();
            if (!connected)
                broken(asio::error::operation_aborted, "the connection was closed (close())");
            if (late)
                broken(client_error::timeout, "timed out: no progress for " +
                                                  std::to_string(opt.operation_timeout.count()) +
                                                  " ms");
            if (ec && a.what == sansio::action::type::tls_handshake)
                broken(ec, "STLS: TLS handshake with " + opt.host + " failed: " + ec.message());
            // End of stream is not an error to the session: it sees 0 bytes.
            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) ec = {};
            if (!ec && a.what == sansio::action::type::read && n > 0 && opt.min_transfer_rate) {
                // The drip defence, counted from the first octet (see client_options).
                const auto now = std::chrono::steady_clock::now();
                if (!first_octet) first_octet = now;
                received += n;
                const auto elapsed = now - *first_octet;
                const double seconds = std::chrono::duration<double>(elapsed).count();
                if (elapsed > opt.operation_timeout &&
                    static_cast<double>(received) <
                        seconds * static_cast<double>(opt.min_transfer_rate))
                    broken(client_error::timeout,
                           "timed out: the server sent " + std::to_string(received) +
                               " octets in " + std::to_string(static_cast<long>(seconds)) +
                               " s (slower than min_transfer_rate, " +
                               std::to_string(opt.min_transfer_rate) + " octets/s)");
            }
            a = session->resume(ec, n);
        }
        if (a.ec) {
            // The diagnostics usually name the problem already: don't say it twice.
            const auto& d = session->diag();
            std::string what = a.ec.message();
            if (!d.message.empty())
                what = d.message.starts_with(what) ? d.to_string() : what + ": " + d.to_string();
            diag.message = std::move(what);
            throw op_failure{a.ec};
        }
        if (opt.debuglevel > 0)
            for (const auto& r : batch) {
                debug() << "*resp* " << shown(r.result.line) << '\n';
                if (opt.debuglevel > 1 && !r.result.body.empty())
                    for (const auto& l : split_lines({}, r.result.body, 0).lines)
                        debug() << "*get* " << shown(l) << '\n';
            }
    }

    request make(command_id id, std::initializer_list<std::string_view> args) {
        request r;
        std::error_code ec;
        diagnostics d;
        std::vector<std::string_view> a(args);
        format_command(id, a, r.line, ec, opt.protocol_limits, &d);
        if (ec) refused(ec, d.to_string()); // nothing was sent: still in step
        r.shape = expected_reply(id, a.size());
        r.listing = carries_listing(id, a.size());
        return r;
    }

    // One command and its reply, which must be +OK. (The arguments are no braced list: GCC 12
    // cannot keep an initializer_list's array across a co_await.)
    template <class... Args>
    asio::awaitable<reply> command(command_id id, const Args&... args) {
        return send(make(id, {std::string_view(args)...}));
    }
    asio::awaitable<reply> send(request r) {
        co_await run({&r, 1});
        check_ok(r.result);
        co_return std::move(r.result);
    }

    // --- the operations ----------------------------------------------------------------------

    asio::awaitable<void> connect() {
        if (connected) close();
        tls.reset();
        session = std::make_unique<sansio::client_session>(session_options());
        caps.clear();
        caps_known = false;
        welcome.clear();
        const std::string where = opt.host + ":" + std::to_string(opt.port);
        arm(opt.connect_timeout);
        auto [rec, endpoints] =
            co_await resolver.async_resolve(opt.host, std::to_string(opt.port), tuple_awaitable);
        if (disarm()) refused(client_error::timeout, "timed out resolving " + opt.host);
        co_await check_cancelled();
        if (rec) refused(rec, "cannot resolve " + opt.host + ": " + rec.message());
        arm(opt.connect_timeout);
        auto [ec, endpoint] = co_await asio::async_connect(socket, endpoints, tuple_awaitable);
        (void)endpoint;
        if (disarm()) {
            close();
            refused(client_error::timeout, "timed out connecting to " + where);
        }
        co_await check_cancelled();
        if (ec) {
            close();
            refused(ec, "cannot connect to " + where + ": " + ec.message());
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        connected = true;
        if (opt.tls == tls_mode::implicit) {
            const auto hec = co_await handshake(opt.connect_timeout);
            co_await check_cancelled();
            if (hec) broken(hec, "TLS handshake with " + opt.host + " failed: " + hec.message());
        }
        co_await greet();
        if (opt.tls == tls_mode::starttls) co_await starttls();
    }

    // The one greeting path: the first reply of every connection, socket or transport.
    asio::awaitable<void> greet() {
        request greeting;
        co_await run({&greeting, 1});
        welcome = greeting.result.line;
        check_ok(greeting.result);
    }

    asio::awaitable<capabilities> learn_capabilities() {
        const reply r = co_await command(command_id::capa);
        caps.clear();
        for (const auto& line : split_lines({}, r.body, 0).lines)
            parsed([&](std::error_code& ec, diagnostics& d) {
                caps.add_line(line, ec, &d);
                return 0;
            });
        caps_known = true;
        session->set_pipeline_window(caps.has("PIPELINING") ? opt.pipeline_window : 1);
        co_return caps;
    }

    // CAPA unless known; a server without CAPA (-ERR) has RFC 1939's commands, in lock-step.
    asio::awaitable<void> learn_capabilities_if_unknown() {
        if (caps_known) co_return;
        try {
            co_await learn_capabilities();
        } catch (const op_failure& f) {
            if (f.ec != client_error::server_error) throw;
            diag.clear();
            caps.clear();
            caps_known = true;
            session->set_pipeline_window(1);
        }
    }

    asio::awaitable<std::string> starttls() {
        if (tls) refused(client_error::tls_already_active, "STLS: TLS is already active");
        if (!caps_known) {
            try {
                co_await learn_capabilities();
            } catch (const op_failure& f) {
                if (f.ec != client_error::server_error) throw;
                diag.clear();
            }
        }
        if (!caps.has("STLS")) // never go on in plaintext when TLS was asked for
            broken(client_error::stls_unavailable, "STLS: the server does not advertise STLS");
        // Set TLS up before asking: a bad CA or key file must fail while still in step.
        make_tls_context();
        request r = make(command_id::stls, {});
        r.starts_tls = true;
        co_await run({&r, 1});
        if (!r.result.ok()) {
            diag.response = r.result.line;
            diag.response_code = r.result.code_kind;
            diag.response_code_text = r.result.code;
            broken(client_error::stls_unavailable, "STLS refused: " + shown(r.result.line));
        }
        // Capabilities learned in plaintext may have been forged: forget them and ask again
        // (RFC 2595 §4). A server that refuses CAPA inside TLS still has RFC 1939's commands.
        caps.clear();
        caps_known = false;
        co_await learn_capabilities_if_unknown();
        co_return r.result.line;
    }

    asio::awaitable<std::string> login(credentials who) {
        switch (who.method) {
        case login_method::user_pass:
            co_await command(command_id::user, who.user);
            co_return (co_await command(command_id::pass, who.secret)).line;
        case login_method::apop: {
            const auto ts = apop_timestamp(welcome);
            if (!ts)
                refused(error::no_apop_timestamp,
                        "APOP: the greeting has no <timestamp>: " + shown(welcome));
            const auto digest = apop_digest(*ts, who.secret);
            co_return (co_await command(command_id::apop, who.user, digest)).line;
        }
        case login_method::sasl: break;
        }
        co_return co_await auth(who);
    }

    asio::awaitable<std::string> auth(const credentials& who) {
        std::string nonce;
        if (who.mechanism == sasl_mechanism::scram_sha_256 &&
            (nonce = sasl_client::random_nonce()).empty())
            refused(error::bad_sasl_message, "AUTH: no randomness for the SCRAM nonce");
        const auto stepper =
            sasl_client::make(who.mechanism, who.user, who.secret, opt.host, opt.port, nonce);
        std::error_code ec;
        std::string what;
        const auto args = stepper->auth_arguments(opt.protocol_limits.max_command_line, ec, what);
        if (ec) refused(ec, what);
        request r = args.size() == 2 ? make(command_id::auth, {args[0], args[1]})
                                     : make(command_id::auth, {args[0]});
        while (true) {
            co_await run({&r, 1});
            if (r.result.status != reply_status::continuation) break;
            auto answer = stepper->answer(r.result.challenge, opt.protocol_limits.max_sasl_line);
            if (answer.ec && !answer.cancel) broken(answer.ec, answer.what);
            if (answer.ec) {
                // Cancels the exchange ("*", RFC 5034 §4) so the connection stays in step.
                request cancel{"*\r\n", reply_shape::sasl};
                co_await run({&cancel, 1});
                refused(answer.ec, answer.what);
            }
            r = request{std::move(answer.line) + "\r\n", reply_shape::sasl};
            r.secret = true;
        }
        check_ok(r.result);
        if (const auto untrusted = stepper->accept_success(what)) refused(untrusted, what);
        co_return r.result.line;
    }

    asio::awaitable<stat_reply> stat() {
        const reply r = co_await command(command_id::stat);
        co_return parsed(
            [&](std::error_code& ec, diagnostics& d) { return parse_stat(r.text, ec, &d); });
    }

    asio::awaitable<listing_result> list() {
        reply r = co_await command(command_id::list);
        listing_result out{r.line, {}, split_lines(r.line, r.body, r.body_octets)};
        for (const auto& line : out.raw.lines)
            out.entries.push_back(parsed([&](std::error_code& ec, diagnostics& d) {
                return parse_scan_listing(line, ec, &d);
            }));
        co_return out;
    }

    asio::awaitable<scan_entry> list_one(message_number which) {
        const reply r = co_await command(command_id::list, which.str());
        co_return parsed([&](std::error_code& ec, diagnostics& d) {
            return parse_scan_listing(r.text, ec, &d);
        });
    }

    asio::awaitable<uidl_result> uidl() {
        reply r = co_await command(command_id::uidl);
        uidl_result out{r.line, {}, split_lines(r.line, r.body, r.body_octets)};
        for (const auto& line : out.raw.lines) {
            const auto e = parsed([&](std::error_code& ec, diagnostics& d) {
                return parse_uid_listing(line, ec, opt.protocol_limits, &d);
            });
            out.entries.push_back({e.message, std::string(e.uid)});
        }
        co_return out;
    }

    asio::awaitable<uidl_entry> uidl_one(message_number which) {
        const reply r = co_await command(command_id::uidl, which.str());
        const auto e = parsed([&](std::error_code& ec, diagnostics& d) {
            return parse_uid_listing(r.text, ec, opt.protocol_limits, &d);
        });
        co_return uidl_entry{e.message, std::string(e.uid)};
    }

    void check_octets(const reply& r, std::uint64_t received) {
        if (!opt.verify_octet_counts) return;
        if (auto problem = detail::octet_count_problem(r.text, received); !problem.empty()) {
            diag.response = r.line;
            refused(error::octet_count_mismatch, std::move(problem));
        }
    }

    // A buffered message's body is sized once from "+OK n octets" (capped: the number comes
    // from the server), as the synchronous client does.
    static void reserve_announced(request& r) {
        r.on_status = [&r](const reply& status) {
            constexpr std::uint64_t max_reserve = 256u << 20;
            r.result.body.reserve(std::min(detail::announced_octets(status.text), max_reserve));
        };
    }

    asio::awaitable<message_result> retr(message_number which) {
        request r = make(command_id::retr, {which.str()});
        reserve_announced(r);
        co_await run({&r, 1});
        check_ok(r.result);
        check_octets(r.result, r.result.body_octets);
        co_return message_result{r.result.line, std::move(r.result.body), r.result.body_octets};
    }

    asio::awaitable<std::string> retr_sink(message_number which, async_body_sink sink) {
        request r = make(command_id::retr, {which.str()});
        std::uint64_t received = 0;
        r.sink = [this, &received](std::string_view data) {
            pending_body.append(data);
            received += data.size();
        };
        pending_body.clear();
        co_await run({&r, 1}, &sink);
        check_ok(r.result);
        check_octets(r.result, received);
        co_return r.result.line;
    }

    asio::awaitable<std::string> dele(message_number which) {
        co_return (co_await command(command_id::dele, which.str())).line;
    }

    asio::awaitable<message_result> top(message_number which, std::uint64_t lines) {
        reply r = co_await command(command_id::top, which.str(), std::to_string(lines));
        co_return message_result{r.line, std::move(r.body), r.body_octets};
    }

    // The messages so far go to partial_messages, which a failure hands over.
    asio::awaitable<std::vector<message_result>> retr_many(std::vector<message_number> which,
                                                           bool dele) {
        co_await learn_capabilities_if_unknown();
        std::vector<request> batch;
        batch.reserve(which.size() * (dele ? 2 : 1));
        for (const auto& w : which) {
            batch.push_back(make(command_id::retr, {w.str()}));
            if (dele) batch.push_back(make(command_id::dele, {w.str()}));
        }
        for (auto& r : batch) // after the last push_back: the hooks refer to their request
            if (r.shape == reply_shape::multi_line) reserve_announced(r);
        co_await run(batch);
        auto& out = partial_messages;
        out.clear();
        out.reserve(which.size());
        for (auto& r : batch) {
            check_ok(r.result);
            if (r.shape == reply_shape::multi_line) {
                check_octets(r.result, r.result.body_octets);
                out.push_back({r.result.line, std::move(r.result.body), r.result.body_octets});
            }
        }
        co_return std::move(out);
    }

    // Closes at once: an I/O step in progress completes, and its operation ends with
    // operation_aborted (run() sees `connected` false).
    void close() noexcept {
        if (transport) {
            if (connected) transport->close();
            connected = false;
            return;
        }
        error_code ignored;
        socket.close(ignored);
        resolver.cancel();
        connected = false; // the TLS stream stays: an operation may still be inside it
    }
};

} // namespace pop3
