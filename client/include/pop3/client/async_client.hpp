// pop3::async_client — the client library on any Asio executor: every operation takes any
// completion token (a callback, use_awaitable, use_future, deferred, ...), completes with an
// error_code (no exception) and leaves a client_diagnostics behind; a terminal cancellation
// through the handler's cancellation slot ends it, and every I/O step has its timeout. Many
// clients share one thread. It runs the one engine of the client library, which the
// synchronous pop3::client runs too; docs/async-client.md shows it in each completion style.
#pragma once

#include "pop3/client/client.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pop3 {

// How async_login authenticates.
enum class login_method { user_pass, apop, sasl };

struct credentials {
    std::string user;
    // The password; APOP's shared secret; the OAuth token for XOAUTH2 and OAUTHBEARER.
    std::string secret;
    login_method method = login_method::user_pass;
    sasl_mechanism mechanism = sasl_mechanism::plain; // with login_method::sasl
};

// What an operation that failed leaves behind besides its error_code (cleared when the next
// operation starts).
struct client_diagnostics {
    // One sentence, as protocol_error::what() would say it; server text in it is escaped.
    std::string message;
    // For client_error::server_error: the server's -ERR line as it came, and its RFC 2449 /
    // RFC 3206 response code.
    std::string response;
    response_code_kind response_code = response_code_kind::none;
    std::string response_code_text;

    // IN-USE, LOGIN-DELAY and SYS/TEMP: worth retrying later.
    bool is_transient() const noexcept {
        return response_code == response_code_kind::in_use ||
               response_code == response_code_kind::login_delay ||
               response_code == response_code_kind::sys_temp;
    }
    void clear() noexcept {
        message.clear();
        response.clear();
        response_code = response_code_kind::none;
        response_code_text.clear();
    }
};

// A message sink with back-pressure: called with each run of message octets, in order; the
// client reads from the server again only once `done` has been called, and `chunk` stays valid
// until then. Calling `done` with an error ends the operation with that error (the connection
// is then out of step). `done` may be called from within the sink or later, on any thread that
// may touch the client's executor.
using async_body_sink =
    std::function<void(std::string_view chunk,
                       boost::asio::any_completion_handler<void(boost::system::error_code)> done)>;

class async_client {
public:
    using executor_type = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;

    // options: the same as pop3::client's (host, port, tls, timeouts, limits, pipeline window,
    // max_buffered_body, verify_octet_counts, debuglevel and debug_stream).
    explicit async_client(executor_type executor, client_options options = {});
    // Closes the connection; an operation still running completes with operation_aborted.
    ~async_client();
    async_client(const async_client&) = delete;
    async_client& operator=(const async_client&) = delete;

    executor_type get_executor() const noexcept;

    // Arguments are copied before the initiating function returns. Every operation below
    // completes with the error_code first: a pop3::client_error
    // (server_error for -ERR, timeout, connection_closed, stls_unavailable, ...), a pop3::error
    // (a malformed reply), boost::asio::error::operation_aborted (cancelled or closed), or an
    // Asio, OpenSSL or system code (connection and TLS failures); diag() says more. On error
    // the value is empty, except for async_retr_many (the messages before the failure). One
    // operation at a time: another one started meanwhile fails with
    // boost::asio::error::already_started. Only terminal cancellation is supported: it leaves
    // the connection out of step, and every later operation fails with connection_unusable.

    // Resolves and connects (connect_timeout bounds the connection and an implicit-TLS
    // handshake), reads the greeting (greeting()), and with tls_mode::starttls upgrades with
    // STLS. void(error_code)
    template <class Token>
    auto async_connect(Token&& token) {
        return initiate<void(error_code)>(token, [this](auto h) { start_connect(std::move(h)); });
    }
    // USER/PASS, APOP (with the greeting's timestamp) or AUTH with any SASL mechanism. The
    // value is the server's final +OK line. void(error_code, std::string)
    template <class Token>
    auto async_login(const credentials& who, Token&& token) {
        return initiate<void(error_code, std::string)>(
            token, [this, w = who](auto h) mutable { start_login(std::move(w), std::move(h)); });
    }
    // void(error_code, stat_reply)
    template <class Token>
    auto async_stat(Token&& token) {
        return initiate<void(error_code, stat_reply)>(token,
                                                      [this](auto h) { start_stat(std::move(h)); });
    }
    // LIST: void(error_code, listing_result)
    template <class Token>
    auto async_list(Token&& token) {
        return initiate<void(error_code, listing_result)>(
            token, [this](auto h) { start_list(std::move(h)); });
    }
    // LIST n: void(error_code, scan_entry)
    template <class Token>
    auto async_list(const message_number& which, Token&& token) {
        return initiate<void(error_code, scan_entry)>(token, [this, w = which](auto h) mutable {
            start_list_one(std::move(w), std::move(h));
        });
    }
    // UIDL: void(error_code, uidl_result)
    template <class Token>
    auto async_uidl(Token&& token) {
        return initiate<void(error_code, uidl_result)>(
            token, [this](auto h) { start_uidl(std::move(h)); });
    }
    // UIDL n: void(error_code, uidl_entry)
    template <class Token>
    auto async_uidl(const message_number& which, Token&& token) {
        return initiate<void(error_code, uidl_entry)>(token, [this, w = which](auto h) mutable {
            start_uidl_one(std::move(w), std::move(h));
        });
    }
    // RETR into memory (bounded by max_buffered_body; "+OK n octets" is checked):
    // void(error_code, message_result)
    template <class Token>
    auto async_retr(const message_number& which, Token&& token) {
        return initiate<void(error_code, message_result)>(
            token, [this, w = which](auto h) mutable { start_retr(std::move(w), std::move(h)); });
    }
    // RETR into a sink, with back-pressure and constant memory. The value is the +OK line.
    // void(error_code, std::string)
    template <class Token>
    auto async_retr(const message_number& which, const async_body_sink& sink, Token&& token) {
        return initiate<void(error_code, std::string)>(
            token, [this, w = which, s = sink](auto h) mutable {
                start_retr_sink(std::move(w), std::move(s), std::move(h));
            });
    }
    // TOP n lines: void(error_code, message_result)
    template <class Token>
    auto async_top(const message_number& which, std::uint64_t lines, Token&& token) {
        return initiate<void(error_code, message_result)>(
            token, [this, w = which, lines](auto h) mutable {
                start_top(std::move(w), lines, std::move(h));
            });
    }
    // DELE, NOOP, RSET, UTF8 (RFC 6856), STLS (RFC 2595; capabilities are learned again
    // inside TLS), QUIT (then the connection is closed): the +OK line.
    // void(error_code, std::string)
    template <class Token>
    auto async_dele(const message_number& which, Token&& token) {
        return initiate<void(error_code, std::string)>(
            token, [this, w = which](auto h) mutable { start_dele(std::move(w), std::move(h)); });
    }
    template <class Token>
    auto async_noop(Token&& token) {
        return simple(simple_command::noop, std::forward<Token>(token));
    }
    template <class Token>
    auto async_rset(Token&& token) {
        return simple(simple_command::rset, std::forward<Token>(token));
    }
    template <class Token>
    auto async_utf8(Token&& token) {
        return simple(simple_command::utf8, std::forward<Token>(token));
    }
    template <class Token>
    auto async_stls(Token&& token) {
        return simple(simple_command::stls, std::forward<Token>(token));
    }
    template <class Token>
    auto async_quit(Token&& token) {
        return simple(simple_command::quit, std::forward<Token>(token));
    }
    // CAPA (known_capabilities() keeps it): void(error_code, capabilities)
    template <class Token>
    auto async_capa(Token&& token) {
        return initiate<void(error_code, capabilities)>(
            token, [this](auto h) { start_capa(std::move(h)); });
    }
    // Many RETRs (each followed by DELE when `dele`), pipelined in a window of
    // pipeline_window commands when the server advertises PIPELINING (CAPA is asked first when
    // it was not yet), in lock-step otherwise. Messages in order.
    // void(error_code, std::vector<message_result>)
    template <class Token>
    auto async_retr_many(const std::vector<message_number>& which, bool dele, Token&& token) {
        return initiate<void(error_code, std::vector<message_result>)>(
            token, [this, w = which, dele](auto h) mutable {
                start_retr_many(std::move(w), dele, std::move(h));
            });
    }

    // The greeting line, once connected.
    const std::string& greeting() const noexcept;
    // What the last failed operation left behind.
    const client_diagnostics& diag() const noexcept;
    // Capabilities learned by the last CAPA (forgotten after STLS).
    const capabilities& known_capabilities() const noexcept;
    bool tls_active() const noexcept;
    // Closes the connection at once (no QUIT): a running operation ends with operation_aborted.
    void close() noexcept;

    struct state;

private:
    enum class simple_command { noop, rset, utf8, stls, quit };

    template <class Signature, class Token, class Start>
    static auto initiate(Token& token, Start start) {
        return boost::asio::async_initiate<Token, Signature>(
            [](auto handler, Start s) {
                std::move(s)(boost::asio::any_completion_handler<Signature>(std::move(handler)));
            },
            token, std::move(start));
    }
    template <class Token>
    auto simple(simple_command what, Token&& token) {
        return initiate<void(error_code, std::string)>(
            token, [this, what](auto h) { start_simple(what, std::move(h)); });
    }

    template <class T>
    using handler = boost::asio::any_completion_handler<void(error_code, T)>;
    void start_connect(boost::asio::any_completion_handler<void(error_code)> h);
    void start_login(credentials who, handler<std::string> h);
    void start_stat(handler<stat_reply> h);
    void start_list(handler<listing_result> h);
    void start_list_one(const message_number& which, handler<scan_entry> h);
    void start_uidl(handler<uidl_result> h);
    void start_uidl_one(const message_number& which, handler<uidl_entry> h);
    void start_retr(const message_number& which, handler<message_result> h);
    void start_retr_sink(const message_number& which, async_body_sink sink, handler<std::string> h);
    void start_top(const message_number& which, std::uint64_t lines, handler<message_result> h);
    void start_dele(const message_number& which, handler<std::string> h);
    void start_simple(simple_command what, handler<std::string> h);
    void start_capa(handler<capabilities> h);
    void start_retr_many(std::vector<message_number> which, bool dele,
                         handler<std::vector<message_result>> h);

    std::shared_ptr<state> state_;
};

} // namespace pop3
