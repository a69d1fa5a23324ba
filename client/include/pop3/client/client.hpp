// pop3::client — the POP3 client library's public API. Everything Python's poplib offers
// (docs/poplib.md maps each call), with verified TLS by default, SASL, pipelining, response
// codes, streaming RETR and timeouts. Errors throw pop3::protocol_error. It runs the engine
// pop3::async_client (async_client.hpp) runs, to the end of each call.
#pragma once

#include "pop3/client/session.hpp"

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <pop3/net/tls_client_options.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/sasl.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pop3 {

using sansio::body_sink;

// The one exception type of the client, like poplib's error_proto: a -ERR reply, a protocol
// violation, a TLS refusal, a timeout or a lost connection. code() says which.
class protocol_error : public std::runtime_error {
public:
    protocol_error(std::error_code ec, const std::string& what, std::string response = {},
                   response_code_kind kind = response_code_kind::none, std::string code_text = {});

    std::error_code code() const noexcept { return ec_; }
    // The server's status line when the error is a -ERR reply (poplib's error_proto argument).
    const std::string& response() const noexcept { return response_; }
    // RFC 2449/3206 response code of a -ERR reply (IN-USE, LOGIN-DELAY, SYS/TEMP, ...).
    response_code_kind response_code() const noexcept { return kind_; }
    const std::string& response_code_text() const noexcept { return code_text_; }
    // IN-USE, LOGIN-DELAY and SYS/TEMP: worth retrying later.
    bool is_transient() const noexcept {
        return kind_ == response_code_kind::in_use || kind_ == response_code_kind::login_delay ||
               kind_ == response_code_kind::sys_temp;
    }

private:
    std::error_code ec_;
    std::string response_;
    response_code_kind kind_;
    std::string code_text_;
};

enum class tls_mode { none, implicit, starttls };

// verify (on by default), ca_file, ca_dir, ca_pem, cert_file (poplib's certfile), key_file
// (poplib's keyfile) and server_name (verified and sent as SNI; default: the host): the options
// of pop3::net's one TLS client policy, which every client in pop3kit shares.
using tls_options = net::tls_client_options;

struct client_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0; // 0: 110, or 995 with implicit TLS
    tls_mode tls = tls_mode::none;
    tls_options tls_settings;
    // On by default: a dead server never hangs the caller.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(30);
    std::chrono::milliseconds operation_timeout = std::chrono::seconds(60);
    // A server that keeps a connection alive by dripping octets (one every few seconds) never
    // trips operation_timeout: once a reply's first octet came, a reply still slower than this
    // many octets a second after operation_timeout has passed fails as a timeout. 0: off.
    std::size_t min_transfer_rate = 1024;
    limits protocol_limits;
    // Commands in flight when the server advertises PIPELINING; 1 forces lock-step. 64 keeps
    // both ends busy for small messages: at 32 each batch was a ping-pong (docs/performance.md).
    std::size_t pipeline_window = 64;
    // How strictly server lines are framed: strict (the default) refuses bare LF, bare CR and
    // NUL; line_policy::lenient() accepts them.
    line_policy policy = line_policy::strict();
    // A reply kept in memory (retr(), list(), uidl(), capa(), ...) may not grow past this;
    // retr() and top() into a sink stream with no limit. Listings (list(), uidl(), capa(),
    // lang_list(), raw() of a listing) are held to protocol_limits.max_listing_octets (64 MiB)
    // as well.
    std::size_t max_buffered_body = std::size_t{1} << 30;
    // RETR: when the reply says "+OK n octets", the message must be n octets long; a count that
    // is no number ("+OK -5 octets") fails too. Off: neither is checked.
    bool verify_octet_counts = true;
    int debuglevel = 0;
    std::ostream* debug_stream = nullptr; // default std::cerr
};

// A message number, given as a number or as a string (poplib accepts both).
class message_number {
public:
    message_number(std::uint64_t n) : text_(std::to_string(n)) {}
    message_number(int n) : text_(std::to_string(n)) {}
    message_number(std::string_view s) : text_(s) {}
    message_number(const char* s) : text_(s) {}
    message_number(const std::string& s) : text_(s) {}
    const std::string& str() const noexcept { return text_; }

private:
    std::string text_;
};

// poplib's shape of a multi-line reply: the response line, the body lines, the octet count.
struct multiline {
    std::string response;
    std::vector<std::string> lines; // without CRLF, dot-unstuffed
    std::uint64_t octets = 0;       // as poplib counts: line lengths plus 2 per line
};

struct listing_result {
    std::string response;
    std::vector<scan_entry> entries;
    multiline raw;
};

struct uidl_entry {
    std::uint64_t message = 0;
    std::string uid;
};
struct uidl_result {
    std::string response;
    std::vector<uidl_entry> entries;
    multiline raw;
};

struct message_result {
    std::string response;
    std::string content;      // the message exactly as received after unstuffing (CRLF lines)
    std::uint64_t octets = 0; // octets of content
    multiline as_lines() const;
};

// Streaming: each run of message octets; progress gets octets so far and the announced total
// (0 when the server did not say "+OK n octets").
using progress_fn = std::function<void(std::uint64_t received, std::uint64_t announced)>;

// Bytes to and from a server without a socket: tests, fuzzers and the in-memory conformance
// replay hand the client one of these. Plain only (no TLS); each call may block until data
// is there or `timeout` passes.
class client_transport {
public:
    virtual ~client_transport() = default;
    virtual std::error_code write(std::string_view data, std::chrono::milliseconds timeout) = 0;
    // Reads some bytes into `into`; n = 0 with no error is end of stream.
    virtual std::error_code read(std::span<char> into, std::size_t& n,
                                 std::chrono::milliseconds timeout) = 0;
    virtual void close() noexcept = 0;
};

class client {
public:
    // Connects, reads the greeting, and (tls_mode::starttls) upgrades with STLS.
    explicit client(client_options options);
    // Over a transport instead of a socket (host and port are not used; TLS cannot start).
    client(client_options options, std::unique_ptr<client_transport> transport);
    // poplib.POP3(host, port, timeout)
    client(std::string host, std::uint16_t port = 110,
           std::chrono::milliseconds timeout = std::chrono::seconds(60));
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    const std::string& getwelcome() const noexcept;
    void set_debuglevel(int level) noexcept;

    // AUTHORIZATION
    std::string user(std::string_view name);
    std::string pass_(std::string_view password);
    std::string apop(std::string_view name, std::string_view secret);
    std::string rpop(std::string_view name);
    // SASL (RFC 5034), with an initial response when it fits in 255 octets. `secret` is the
    // password, or the OAuth token for XOAUTH2 and OAUTHBEARER.
    std::string auth(sasl_mechanism mechanism, std::string_view name, std::string_view secret);
    std::string stls();
    std::string utf8();
    std::string lang(std::optional<std::string_view> language = std::nullopt);
    std::vector<std::string> lang_list();

    // TRANSACTION
    stat_reply stat();
    std::string stat_response(); // the raw "+OK n m" line
    listing_result list();
    std::string list(message_number which);
    scan_entry list_one(message_number which);
    message_result retr(message_number which);
    // Streams the message into `sink` with constant memory.
    std::string retr(message_number which, const body_sink& sink, const progress_fn& progress = {});
    message_result top(message_number which, std::uint64_t lines);
    std::string top(message_number which, std::uint64_t lines, const body_sink& sink);
    std::string dele(message_number which);
    std::string noop();
    std::string rset();
    uidl_result uidl();
    std::string uidl(message_number which);
    uidl_entry uidl_one(message_number which);

    // Any state
    capabilities capa();
    std::string quit();
    void close() noexcept;

    // Pipelining (RFC 2449): many RETRs (and optional DELEs) in a bounded window when the
    // server advertises PIPELINING, lock-step otherwise. Results come in order.
    std::vector<message_result> retr_many(const std::vector<message_number>& which,
                                          bool dele = false);
    // The same, streaming: each message that arrived whole and as announced goes to `each` as
    // soon as it is in, in one buffer reused for every message (valid during the call), so
    // memory does not grow with the batch and no message is allocated on its own; a message
    // is still bounded by max_buffered_body. A RETR answered -ERR or with another size than
    // "+OK n octets" is not handed over; after the batch the first such problem is raised as
    // the buffered form raises it. What `each` throws ends the batch and leaves the connection
    // unusable; `each` must not use the client (std::logic_error). With `dele`, either form
    // sends RSET before it raises a problem, so that no QUIT deletes a message the caller did
    // not get.
    using message_fn = std::function<void(message_number which, const message_result& message)>;
    void retr_many(const std::vector<message_number>& which, const message_fn& each,
                   bool dele = false);
    // Any callable: a lambda without captures would otherwise also convert to the buffered
    // form's `bool dele` (through a function pointer) and make the call ambiguous.
    template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, message_fn> &&
             std::invocable<
                 F&, message_number,
                 const message_result&>) void retr_many(const std::vector<message_number>& which,
                                                        F&& each, bool dele = false) {
        retr_many(which, message_fn(std::forward<F>(each)), dele);
    }

    // Sends a raw command line and returns the reply (multi-line when `multi`).
    sansio::reply raw(std::string_view line, bool multi = false);

    bool tls_active() const noexcept;
    // Capabilities learned by the last capa() (forgotten after STLS).
    const capabilities& known_capabilities() const noexcept;

private:
    void undo_deletions() noexcept;

    struct impl;
    std::unique_ptr<impl> impl_;
};

// RFC 2384 pop:// URLs, and the pop3:// / pop3s:// forms the tools take:
// pop://user;auth=MECH@host:port, pop3://user:pass@host:port, pop3s://...
struct pop_url {
    std::string scheme; // "pop", "pop3" or "pop3s"
    std::string user;
    std::string password;
    std::string auth; // "" or "*" or a mechanism name (;AUTH=)
    std::string host;
    std::uint16_t port = 0;     // the URL's, or the scheme's default (110, 995)
    bool explicit_port = false; // the URL named a port
};
// Throws std::invalid_argument naming the problem (never showing the password).
pop_url parse_pop_url(std::string_view url);
// The URL as a message may show it, well-formed or not: the password (after the user and ':',
// up to the last '@') becomes "****". Without "://" (pop3:/u:pw@h, u:pw@h) everything between
// the scheme and the last '@' is masked, user included.
std::string redact_pop_url(std::string_view url);

} // namespace pop3
