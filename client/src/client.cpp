#include "pop3/client/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <iostream>
#include <openssl/rand.h>
#include <optional>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/scram.hpp>
#include <pop3/protocol/text.hpp>
#include <sys/mman.h>

namespace pop3 {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using sansio::reply;
using sansio::request;

protocol_error::protocol_error(std::error_code ec, const std::string& what, std::string response,
                               response_code_kind kind, std::string code_text)
    : std::runtime_error(what), ec_(ec), response_(std::move(response)), kind_(kind),
      code_text_(std::move(code_text)) {}

namespace {

multiline split_lines(std::string response, std::string_view content, std::uint64_t octets) {
    multiline m{std::move(response), {}, octets};
    while (!content.empty()) {
        const auto eol = content.find('\n');
        auto line = content.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        m.lines.emplace_back(line);
        content.remove_prefix(eol == std::string_view::npos ? content.size() : eol + 1);
    }
    return m;
}

// What "+OK n octets" says: no count ("+OK message follows"), a count, or a count that is no
// number of octets ("+OK -5 octets", "+OK 18446744073709551616 octets").
struct octet_announcement {
    bool present = false; // the text has the form "TOKEN octets ..."
    std::optional<std::uint64_t> count;
};
octet_announcement announced(std::string_view text) {
    std::string_view rest = text;
    const auto token = next_token(rest);
    if (!iequals(next_token(rest), "octets")) return {};
    return {true, parse_decimal(token)};
}
// The announced size for buffer sizing and progress; 0 when unknown or malformed.
std::uint64_t announced_octets(std::string_view text) {
    return announced(text).count.value_or(0);
}

// Server text (a status line, a listing line) as it may appear in a message or in debug
// output: control and non-ASCII octets escaped, never written to a terminal raw.
std::string shown(std::string_view server_text) {
    return escape_for_display(server_text, std::string::npos);
}

// A large buffered RETR spent about as long taking the page faults of its fresh result buffer
// as receiving the message (22 ms of ~57 ms for 50 MB here, one fault per 4 KiB page).
// Transparent huge pages on the buffer's 2 MiB-aligned middle make that one fault per 2 MiB
// where THP is "madvise" (as on the machine measured) or "always"; elsewhere the advice is
// ignored. Faulting the pages in on a second thread (MADV_POPULATE_WRITE) was tried first: it
// competed with the server for the cores and was slower than huge pages alone. Only above
// glibc's largest mmap threshold (32 MiB), so the advice lands on the buffer's own mapping,
// which goes away with it, never on the shared heap.
void advise_huge_pages(char* data, std::size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::size_t min_size = 32u << 20;
    constexpr std::uintptr_t huge_page = 2u << 20; // x86-64 and arm64 with 4 KiB pages
    if (size < min_size) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge_page - 1) & ~(huge_page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(huge_page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)data;
    (void)size;
#endif
}

} // namespace

multiline message_result::as_lines() const {
    return split_lines(response, content, octets);
}

struct client::impl {
    client_options opt;
    asio::io_context ioc{1};
    tcp::socket socket{ioc};
    std::unique_ptr<asio::ssl::context> ssl_ctx;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
    sansio::client_session session;
    std::string welcome;
    capabilities caps;
    bool caps_known = false;
    bool closed = false;
    std::unique_ptr<client_transport> transport; // instead of the socket, when set

    explicit impl(client_options o)
        : opt(std::move(o)), session(sansio::session_options{opt.protocol_limits, opt.policy, 1,
                                                             opt.max_buffered_body}) {}

    std::ostream& debug() { return opt.debug_stream ? *opt.debug_stream : std::cerr; }

    [[noreturn]] void raise(std::error_code ec, const std::string& what) {
        session.mark_unusable();
        throw protocol_error(ec, what);
    }

    // Runs one asynchronous step (a write, a read, a handshake) to completion or until the
    // deadline. Each step gets the whole operation timeout: a long streamed RETR that keeps
    // moving never times out, a server that stops sending does.
    template <class Start>
    std::pair<std::error_code, std::size_t> step(Start&& start,
                                                 std::chrono::steady_clock::time_point deadline) {
        std::optional<std::pair<boost::system::error_code, std::size_t>> result;
        ioc.restart();
        start([&](boost::system::error_code ec, std::size_t n = 0) { result.emplace(ec, n); });
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left > left.zero()) ioc.run_for(left);
        if (!result) {
            boost::system::error_code ignored;
            socket.cancel(ignored);
            ioc.restart();
            ioc.run();
            return {make_error_code(error::timeout), 0};
        }
        auto [ec, n] = *result;
        // End of stream is not an error to the session: it sees 0 bytes.
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return {{}, 0};
        return {ec, n};
    }

    void make_tls_context() {
        try {
            ssl_ctx =
                std::make_unique<asio::ssl::context>(net::make_client_context(opt.tls_settings));
        } catch (const boost::system::system_error& e) {
            throw protocol_error(e.code(), "TLS set-up failed (CA, certificate or key): " +
                                               std::string(e.what()));
        }
    }

    std::error_code handshake(std::chrono::steady_clock::time_point deadline) {
        if (!ssl_ctx) make_tls_context();
        auto stream = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *ssl_ctx);
        if (auto ec = net::prepare_client_ssl(stream->native_handle(), opt.tls_settings, opt.host))
            return ec;
        tls = std::move(stream);
        auto [ec, n] = step(
            [&](auto handler) {
                tls->async_handshake(
                    asio::ssl::stream_base::client,
                    [handler](boost::system::error_code e) mutable { handler(e, 0); });
            },
            deadline);
        return ec;
    }

    // Runs a batch through the session; throws on I/O and protocol errors (not on -ERR). An
    // exception from anywhere inside (a user's sink, TLS set-up) leaves the connection out of
    // step, so it is marked unusable before it propagates.
    void run(std::span<request> batch) {
        try {
            run_unguarded(batch);
        } catch (...) {
            session.mark_unusable();
            throw;
        }
    }

    // One session action over the transport (no Asio): same contract as the socket path.
    std::pair<std::error_code, std::size_t> transport_step(const sansio::action& a) {
        std::size_t n = 0;
        switch (a.what) {
        case sansio::action::type::write:
            return {transport->write(a.write_data, opt.operation_timeout), a.write_data.size()};
        case sansio::action::type::read: {
            const auto ec = transport->read(a.read_into, n, opt.operation_timeout);
            return {ec, n};
        }
        case sansio::action::type::tls_handshake:
            return {std::make_error_code(std::errc::operation_not_supported), 0};
        case sansio::action::type::done: break;
        }
        return {{}, 0};
    }

    void run_unguarded(std::span<request> batch) {
        if (closed) raise(error::connection_unusable, "the connection is closed");
        if (opt.debuglevel > 0)
            for (const auto& r : batch)
                if (!r.line.empty())
                    debug() << "*cmd* " << (r.secret ? "****" : masked(r.line)) << '\n';
        auto a = session.start(batch);
        std::optional<std::chrono::steady_clock::time_point> first_octet;
        std::uint64_t received = 0;
        // The drip defence (min_transfer_rate): counted from the first octet, so that a server
        // that is slow to start answering (a failed-login penalty) is not taken for a drip.
        const auto check_rate = [&](const sansio::action& done, std::size_t n) {
            if (done.what != sansio::action::type::read || n == 0 || !opt.min_transfer_rate) return;
            const auto now = std::chrono::steady_clock::now();
            if (!first_octet) first_octet = now;
            received += n;
            const auto elapsed = now - *first_octet;
            if (elapsed <= opt.operation_timeout) return;
            const double seconds = std::chrono::duration<double>(elapsed).count();
            if (static_cast<double>(received) >=
                seconds * static_cast<double>(opt.min_transfer_rate))
                return;
            session.mark_unusable();
            throw protocol_error(make_error_code(error::timeout),
                                 "timed out: the server sent " + std::to_string(received) +
                                     " octets in " + std::to_string(static_cast<long>(seconds)) +
                                     " s (slower than min_transfer_rate, " +
                                     std::to_string(opt.min_transfer_rate) + " octets/s)");
        };
        while (a.what != sansio::action::type::done) {
            const auto deadline = std::chrono::steady_clock::now() + opt.operation_timeout;
            std::error_code ec;
            std::size_t n = 0;
            if (transport) {
                std::tie(ec, n) = transport_step(a);
                if (ec == error::timeout) {
                    session.mark_unusable();
                    throw protocol_error(ec, "timed out: no progress for " +
                                                 std::to_string(opt.operation_timeout.count()) +
                                                 " ms");
                }
                if (!ec) check_rate(a, n);
                a = session.resume(ec, n);
                continue;
            }
            switch (a.what) {
            case sansio::action::type::write:
                std::tie(ec, n) = step(
                    [&](auto handler) {
                        if (tls)
                            asio::async_write(*tls, asio::buffer(a.write_data), handler);
                        else
                            asio::async_write(socket, asio::buffer(a.write_data), handler);
                    },
                    deadline);
                break;
            case sansio::action::type::read:
                std::tie(ec, n) = step(
                    [&](auto handler) {
                        if (tls)
                            tls->async_read_some(
                                asio::buffer(a.read_into.data(), a.read_into.size()), handler);
                        else
                            socket.async_read_some(
                                asio::buffer(a.read_into.data(), a.read_into.size()), handler);
                    },
                    deadline);
                break;
            case sansio::action::type::tls_handshake: ec = handshake(deadline); break;
            case sansio::action::type::done: break;
            }
            if (ec == error::timeout) {
                session.mark_unusable();
                throw protocol_error(ec, "timed out: no progress for " +
                                             std::to_string(opt.operation_timeout.count()) + " ms");
            }
            if (!ec) check_rate(a, n);
            a = session.resume(ec, n);
        }
        if (a.ec) {
            // The diagnostics usually name the problem already: don't say it twice.
            const auto& d = session.diag();
            std::string what = a.ec.message();
            if (!d.message.empty())
                what = d.message.starts_with(what) ? d.to_string() : what + ": " + d.to_string();
            throw protocol_error(a.ec, what);
        }
        if (opt.debuglevel > 0)
            for (const auto& r : batch) {
                debug() << "*resp* " << shown(r.result.line) << '\n';
                if (opt.debuglevel > 1 && !r.result.body.empty())
                    for (const auto& l : split_lines({}, r.result.body, 0).lines)
                        debug() << "*get* " << shown(l) << '\n';
            }
    }

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

    // RETR's "+OK n octets" must match what came (the connection stays in step either way). A
    // count that is no number ("-5", past 2^64-1) cannot match: it fails the same check.
    void check_octets(const reply& r, std::uint64_t received) const {
        if (!opt.verify_octet_counts) return;
        const auto a = announced(r.text);
        if (!a.present) return;
        if (!a.count)
            throw protocol_error(error::octet_count_mismatch,
                                 "RETR: the server announced a malformed octet count: '" +
                                     shown(r.text) + "'",
                                 r.line);
        if (*a.count != received)
            throw protocol_error(error::octet_count_mismatch,
                                 "RETR: the server announced " + std::to_string(*a.count) +
                                     " octets and sent " + std::to_string(received),
                                 r.line);
    }

    // A -ERR: the message shows the line escaped; response() keeps it as it came.
    static void check_ok(const reply& r) {
        if (r.ok()) return;
        throw protocol_error(error::server_error, shown(r.line), r.line, r.code_kind, r.code);
    }

    // RETR (and DELE) of each message, in order, for retr_many; PIPELINING is learned first.
    std::vector<request> retr_batch(const std::vector<message_number>& which, bool dele) {
        if (!caps_known) {
            try {
                learn_capabilities();
            } catch (const protocol_error& e) {
                if (e.code() != error::server_error) throw; // no CAPA: lock-step
            }
        }
        std::vector<request> batch;
        batch.reserve(which.size() * (dele ? 2 : 1));
        for (const auto& w : which) {
            batch.push_back(make(command_id::retr, {w.str()}));
            if (dele) batch.push_back(make(command_id::dele, {w.str()}));
        }
        return batch;
    }

    request make(command_id id, std::initializer_list<std::string_view> args) {
        request r;
        std::error_code ec;
        diagnostics diag;
        std::vector<std::string_view> a(args);
        format_command(id, a, r.line, ec, opt.protocol_limits, &diag);
        if (ec) throw protocol_error(ec, diag.to_string()); // nothing was sent: still usable
        r.shape = expected_reply(id, a.size());
        r.listing = carries_listing(id, a.size());
        return r;
    }

    reply command(command_id id, std::initializer_list<std::string_view> args,
                  const body_sink& sink = {}) {
        request r = make(id, args);
        r.sink = sink;
        run({&r, 1});
        check_ok(r.result);
        return std::move(r.result);
    }

    void connect() {
        const auto deadline = std::chrono::steady_clock::now() + opt.connect_timeout;
        if (opt.port == 0) opt.port = opt.tls == tls_mode::implicit ? 995 : 110;
        tcp::resolver resolver(ioc);
        boost::system::error_code rec;
        const auto endpoints = resolver.resolve(opt.host, std::to_string(opt.port), rec);
        if (rec) throw protocol_error(rec, "cannot resolve " + opt.host + ": " + rec.message());
        auto [ec, n] = step(
            [&](auto handler) {
                asio::async_connect(socket, endpoints,
                                    [handler](boost::system::error_code e,
                                              const tcp::endpoint&) mutable { handler(e, 0); });
            },
            deadline);
        if (ec)
            throw protocol_error(ec, "cannot connect to " + opt.host + ":" +
                                         std::to_string(opt.port) + ": " + ec.message());
        socket.set_option(tcp::no_delay(true));
        if (opt.tls == tls_mode::implicit) {
            if (auto hec = handshake(deadline))
                throw protocol_error(hec, "TLS handshake with " + opt.host +
                                              " failed: " + hec.message());
        }
        request greeting;
        run({&greeting, 1});
        welcome = greeting.result.line;
        check_ok(greeting.result);
    }

    capabilities& learn_capabilities() {
        reply r = command(command_id::capa, {});
        caps.clear();
        for (const auto& line : split_lines({}, r.body, 0).lines) {
            std::error_code ec;
            diagnostics diag;
            caps.add_line(line, ec, &diag);
            if (ec) raise(ec, diag.to_string());
        }
        caps_known = true;
        session.set_pipeline_window(caps.has("PIPELINING") ? opt.pipeline_window : 1);
        return caps;
    }

    std::string starttls() {
        if (tls) throw protocol_error(error::tls_already_active, "STLS: TLS is already active");
        if (!caps_known) {
            try {
                learn_capabilities();
            } catch (const protocol_error& e) {
                if (e.code() != error::server_error) throw;
            }
        }
        if (!caps.has("STLS")) {
            session.mark_unusable(); // never go on in plaintext when TLS was asked for
            throw protocol_error(error::stls_unavailable,
                                 "STLS: the server does not advertise STLS");
        }
        // Set TLS up before asking: a bad CA or key file must fail while still in step.
        if (!ssl_ctx) make_tls_context();
        request r = make(command_id::stls, {});
        r.starts_tls = true;
        try {
            run({&r, 1});
        } catch (const protocol_error& e) {
            if (e.code().category() == error_category()) throw;
            throw protocol_error(e.code(),
                                 "STLS: TLS handshake with " + opt.host + " failed: " + e.what());
        }
        if (!r.result.ok()) {
            session.mark_unusable();
            throw protocol_error(error::stls_unavailable, "STLS refused: " + shown(r.result.line),
                                 r.result.line, r.result.code_kind, r.result.code);
        }
        // Capabilities learned in plaintext may have been forged: forget them and ask again
        // (RFC 2595 §4). A server that refuses CAPA inside TLS still has RFC 1939's commands.
        caps.clear();
        caps_known = false;
        try {
            learn_capabilities();
        } catch (const protocol_error& e) {
            if (e.code() != error::server_error) throw;
            caps.clear();
            caps_known = true;
            session.set_pipeline_window(1);
        }
        return r.result.line;
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
    impl_->connect();
    if (impl_->opt.tls == tls_mode::starttls) impl_->starttls();
}

client::client(client_options options, std::unique_ptr<client_transport> transport)
    : impl_(std::make_unique<impl>(std::move(options))) {
    auto& d = *impl_;
    if (d.opt.tls != tls_mode::none)
        throw protocol_error(std::make_error_code(std::errc::operation_not_supported),
                             "a client_transport carries plaintext only: TLS cannot start");
    d.transport = std::move(transport);
    request greeting;
    d.run({&greeting, 1});
    d.welcome = greeting.result.line;
    impl::check_ok(greeting.result);
}

client::client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : client([&] {
          client_options o;
          o.host = std::move(host);
          o.port = port;
          o.connect_timeout = o.operation_timeout = timeout;
          return o;
      }()) {}

client::~client() {
    close();
}

const std::string& client::getwelcome() const noexcept {
    return impl_->welcome;
}
void client::set_debuglevel(int level) noexcept {
    impl_->opt.debuglevel = level;
}
bool client::tls_active() const noexcept {
    return impl_->tls != nullptr;
}
const capabilities& client::known_capabilities() const noexcept {
    return impl_->caps;
}

std::string client::user(std::string_view name) {
    return impl_->command(command_id::user, {name}).line;
}
std::string client::pass_(std::string_view password) {
    return impl_->command(command_id::pass, {password}).line;
}
std::string client::rpop(std::string_view name) {
    return impl_->command(command_id::rpop, {name}).line;
}

std::string client::apop(std::string_view name, std::string_view secret) {
    const auto ts = apop_timestamp(impl_->welcome);
    if (!ts)
        throw protocol_error(error::no_apop_timestamp,
                             "APOP: the greeting has no <timestamp>: " + shown(impl_->welcome));
    const auto digest = apop_digest(*ts, secret);
    return impl_->command(command_id::apop, {name, digest}).line;
}

std::string client::auth(sasl_mechanism mechanism, std::string_view name, std::string_view secret) {
    auto& d = *impl_;
    std::error_code ec;
    diagnostics diag;
    std::optional<std::string> initial;
    std::optional<scram_client> scram;
    switch (mechanism) {
    case sasl_mechanism::plain: initial = sasl_encode_plain(name, secret, {}, ec); break;
    case sasl_mechanism::xoauth2: initial = sasl_encode_xoauth2(name, secret, ec); break;
    case sasl_mechanism::oauthbearer:
        initial = sasl_encode_oauthbearer(name, secret, d.opt.host, d.opt.port, ec);
        break;
    case sasl_mechanism::scram_sha_256: {
        unsigned char random[24];
        if (RAND_bytes(random, sizeof random) != 1)
            throw protocol_error(error::bad_sasl_message,
                                 "AUTH: no randomness for the SCRAM nonce");
        scram.emplace(name, secret,
                      base64_encode({reinterpret_cast<const char*>(random), sizeof random}));
        initial = scram->client_first();
        break;
    }
    case sasl_mechanism::login:
    case sasl_mechanism::cram_md5: break;
    }
    if (ec) throw protocol_error(ec, "AUTH: cannot encode the credentials: " + ec.message());
    const std::string mech(sasl_mechanism_name(mechanism));

    // RFC 5034 §4: use the initial response only when the AUTH line stays within 255 octets.
    std::string encoded_initial;
    if (initial) encoded_initial = initial->empty() ? "=" : base64_encode(*initial);
    const bool send_initial = initial && 5 + mech.size() + 1 + encoded_initial.size() + 2 <=
                                             d.opt.protocol_limits.max_command_line;
    request r = send_initial ? d.make(command_id::auth, {mech, encoded_initial})
                             : d.make(command_id::auth, {mech});
    // Cancels the exchange ("*", RFC 5034 §4) so the connection stays in step, then throws.
    auto abort_exchange = [&](std::error_code why, const std::string& what) {
        request cancel{"*\r\n", reply_shape::sasl};
        d.run({&cancel, 1});
        throw protocol_error(why, what);
    };
    int round = 0;
    bool server_verified = false;
    // SCRAM: 0 send client-first, 1 answer server-first, 2 check server-final, 3 done.
    int scram_stage = send_initial ? 1 : 0;
    while (true) {
        d.run({&r, 1});
        if (r.result.status != reply_status::continuation) break;
        if (++round > 8) d.raise(error::bad_sasl_message, "AUTH: too many server challenges");
        std::string challenge;
        if (!base64_decode(r.result.challenge, challenge, ec))
            abort_exchange(error::bad_base64, "AUTH: malformed base64 in the server challenge");
        std::string response;
        switch (mechanism) {
        case sasl_mechanism::login:
            response = round == 1 ? std::string(name) : std::string(secret);
            break;
        case sasl_mechanism::cram_md5:
            response = sasl_encode_cram_md5(name, secret, challenge, ec);
            if (ec)
                abort_exchange(ec, "AUTH CRAM-MD5: cannot encode the response: " + ec.message());
            break;
        case sasl_mechanism::scram_sha_256:
            switch (scram_stage++) {
            case 0: response = *initial; break;
            case 1:
                response = scram->client_final(challenge, ec, &diag);
                if (ec) abort_exchange(ec, "AUTH SCRAM-SHA-256: " + shown(diag.message));
                break;
            case 2:
                if (!scram->verify_server_final(challenge, ec, &diag))
                    abort_exchange(ec, "AUTH SCRAM-SHA-256: " + shown(diag.message));
                server_verified = true; // answered with an empty response (RFC 5034 §4)
                break;
            default:
                abort_exchange(error::bad_sasl_message, "AUTH SCRAM-SHA-256: unexpected challenge");
            }
            break;
        default:
            if (!send_initial && round == 1)
                response = *initial;
            else
                response.clear(); // an error challenge (XOAUTH2): answer empty, get the -ERR
        }
        r = request{base64_encode(response) + "\r\n", reply_shape::sasl};
        r.secret = true;
        if (r.line.size() > d.opt.protocol_limits.max_sasl_line)
            abort_exchange(error::command_too_long, "AUTH: response exceeds the SASL line limit");
    }
    d.check_ok(r.result);
    if (scram && !server_verified)
        throw protocol_error(error::bad_sasl_message,
                             "AUTH SCRAM-SHA-256: +OK without the server's proof (server-final)");
    return r.result.line;
}

std::string client::stls() {
    return impl_->starttls();
}
std::string client::utf8() {
    return impl_->command(command_id::utf8, {}).line;
}

std::string client::lang(std::optional<std::string_view> language) {
    if (!language) return impl_->command(command_id::lang, {"*"}).line;
    return impl_->command(command_id::lang, {*language}).line;
}

std::vector<std::string> client::lang_list() {
    const auto r = impl_->command(command_id::lang, {});
    return split_lines({}, r.body, 0).lines;
}

stat_reply client::stat() {
    const auto r = impl_->command(command_id::stat, {});
    std::error_code ec;
    diagnostics diag;
    const auto s = parse_stat(r.text, ec, &diag);
    if (ec) impl_->raise(ec, diag.to_string());
    return s;
}

std::string client::stat_response() {
    return impl_->command(command_id::stat, {}).line;
}

listing_result client::list() {
    auto r = impl_->command(command_id::list, {});
    listing_result out{r.line, {}, split_lines(r.line, r.body, r.body_octets)};
    for (const auto& line : out.raw.lines) {
        std::error_code ec;
        diagnostics diag;
        out.entries.push_back(parse_scan_listing(line, ec, &diag));
        if (ec) impl_->raise(ec, diag.to_string());
    }
    return out;
}

std::string client::list(message_number which) {
    return impl_->command(command_id::list, {which.str()}).line;
}

scan_entry client::list_one(message_number which) {
    const auto r = impl_->command(command_id::list, {which.str()});
    std::error_code ec;
    diagnostics diag;
    const auto e = parse_scan_listing(r.text, ec, &diag);
    if (ec) impl_->raise(ec, diag.to_string());
    return e;
}

// Sizes a buffered RETR's body once from "+OK n octets" (capped: the number comes from the
// server). Growing it by appends instead cost a reallocation per doubling; for 10,000
// pipelined 2 KB messages, malloc and its page faults were half of the client's time.
static void reserve_announced(request& r) {
    r.on_status = [&r](const reply& status) {
        constexpr std::uint64_t max_reserve = 256u << 20;
        auto& body = r.result.body;
        body.reserve(std::min(announced_octets(status.text), max_reserve));
        advise_huge_pages(body.data(), body.capacity());
    };
}

message_result client::retr(message_number which) {
    request r = impl_->make(command_id::retr, {which.str()});
    reserve_announced(r);
    impl_->run({&r, 1});
    impl::check_ok(r.result);
    impl_->check_octets(r.result, r.result.body_octets);
    return {r.result.line, std::move(r.result.body), r.result.body_octets};
}

std::string client::retr(message_number which, const body_sink& sink, const progress_fn& progress) {
    request r = impl_->make(command_id::retr, {which.str()});
    std::uint64_t received = 0, announced = 0;
    r.on_status = [&](const reply& status) { announced = announced_octets(status.text); };
    r.sink = [&](std::string_view data) {
        sink(data);
        received += data.size();
        if (progress) progress(received, announced);
    };
    impl_->run({&r, 1});
    impl::check_ok(r.result);
    impl_->check_octets(r.result, received);
    return r.result.line;
}

message_result client::top(message_number which, std::uint64_t lines) {
    auto r = impl_->command(command_id::top, {which.str(), std::to_string(lines)});
    return {r.line, std::move(r.body), r.body_octets};
}

std::string client::top(message_number which, std::uint64_t lines, const body_sink& sink) {
    return impl_->command(command_id::top, {which.str(), std::to_string(lines)}, sink).line;
}

std::string client::dele(message_number which) {
    return impl_->command(command_id::dele, {which.str()}).line;
}
std::string client::noop() {
    return impl_->command(command_id::noop, {}).line;
}
std::string client::rset() {
    return impl_->command(command_id::rset, {}).line;
}

uidl_result client::uidl() {
    auto r = impl_->command(command_id::uidl, {});
    uidl_result out{r.line, {}, split_lines(r.line, r.body, r.body_octets)};
    for (const auto& line : out.raw.lines) {
        std::error_code ec;
        diagnostics diag;
        const auto e = parse_uid_listing(line, ec, impl_->opt.protocol_limits, &diag);
        if (ec) impl_->raise(ec, diag.to_string());
        out.entries.push_back({e.message, std::string(e.uid)});
    }
    return out;
}

std::string client::uidl(message_number which) {
    return impl_->command(command_id::uidl, {which.str()}).line;
}

uidl_entry client::uidl_one(message_number which) {
    const auto r = impl_->command(command_id::uidl, {which.str()});
    std::error_code ec;
    diagnostics diag;
    const auto e = parse_uid_listing(r.text, ec, impl_->opt.protocol_limits, &diag);
    if (ec) impl_->raise(ec, diag.to_string());
    return {e.message, std::string(e.uid)};
}

capabilities client::capa() {
    return impl_->learn_capabilities();
}

std::string client::quit() {
    const auto r = impl_->command(command_id::quit, {});
    close();
    return r.line;
}

void client::close() noexcept {
    auto& d = *impl_;
    if (d.closed) return;
    d.closed = true;
    if (d.transport) {
        d.transport->close();
        return;
    }
    boost::system::error_code ec;
    d.socket.shutdown(tcp::socket::shutdown_both, ec);
    d.socket.close(ec);
}

std::vector<message_result> client::retr_many(const std::vector<message_number>& which, bool dele) {
    auto& d = *impl_;
    auto batch = d.retr_batch(which, dele);
    for (auto& r : batch) // after the last push_back: the hooks refer to their request
        if (r.shape == reply_shape::multi_line) reserve_announced(r);
    d.run(batch);
    std::vector<message_result> out;
    for (auto& r : batch) {
        d.check_ok(r.result);
        if (r.shape == reply_shape::multi_line) {
            d.check_octets(r.result, r.result.body_octets);
            out.push_back({r.result.line, std::move(r.result.body), r.result.body_octets});
        }
    }
    return out;
}

void client::retr_many(const std::vector<message_number>& which, const message_fn& each,
                       bool dele) {
    auto& d = *impl_;
    auto batch = d.retr_batch(which, dele);
    // Replies come one after another, so one buffer holds the message being received.
    message_result current;
    std::exception_ptr first_problem;
    const std::size_t bound = d.opt.max_buffered_body;
    std::size_t n = 0;
    for (auto& r : batch) {
        if (r.shape != reply_shape::multi_line) continue;
        r.sink = [&current, bound](std::string_view data) {
            if (current.content.size() + data.size() > bound)
                throw protocol_error(error::reply_too_large,
                                     "a message grew past " + std::to_string(bound) +
                                         " octets (max_buffered_body); stream it into a sink "
                                         "instead");
            current.content.append(data);
        };
        r.on_complete = [&, which = which[n++]](sansio::reply& result) {
            try {
                d.check_ok(result);
                d.check_octets(result, result.body_octets);
                current.response = result.line;
                current.octets = result.body_octets;
                each(which, current);
            } catch (const protocol_error&) {
                if (!first_problem) first_problem = std::current_exception();
            }
            current.content.clear();
        };
    }
    d.run(batch);
    if (first_problem) std::rethrow_exception(first_problem);
    for (auto& r : batch)
        impl::check_ok(r.result); // a DELE's -ERR
}

sansio::reply client::raw(std::string_view line, bool multi) {
    for (char c : line)
        if (c == '\r' || c == '\n' || c == '\0')
            throw protocol_error(error::forbidden_char_in_argument,
                                 "raw: the line contains CR, LF or NUL");
    request r{std::string(line) + "\r\n",
              multi ? reply_shape::multi_line : reply_shape::single_line};
    if (multi) { // a listing is bounded as such, whichever way it was asked for
        std::string_view rest = line;
        const auto* known = find_command(next_token(rest));
        std::size_t args = 0;
        while (!rest.empty()) {
            next_token(rest);
            ++args;
        }
        r.listing = known && carries_listing(known->id, args);
    }
    impl_->run({&r, 1});
    return std::move(r.result);
}

} // namespace pop3
