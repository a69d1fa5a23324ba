#include "pop3/client/client.hpp"

#include "engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <iostream>
#include <optional>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/text.hpp>
#include <sys/mman.h>

namespace pop3 {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using detail::announced_octets;
using detail::shown;
using detail::split_lines;
using sansio::reply;
using sansio::request;

protocol_error::protocol_error(std::error_code ec, const std::string& what, std::string response,
                               response_code_kind kind, std::string code_text)
    : std::runtime_error(what), ec_(ec), response_(std::move(response)), kind_(kind),
      code_text_(std::move(code_text)) {}

namespace {

// One page fault per 2 MiB, not 4 KiB (docs/performance.md, "Huge pages for a buffered RETR").
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
    asio::io_context ioc{1};
    // The engine the asynchronous client runs too (engine.hpp): the one I/O loop, greeting
    // path and timeout path of both APIs.
    std::shared_ptr<async_client::state> st;
    client_options& opt;

    explicit impl(client_options o)
        : st(std::make_shared<async_client::state>(ioc.get_executor(), std::move(o))),
          opt(st->opt) {}

    // Runs one engine operation on this client's io_context to its end. An engine failure
    // becomes protocol_error with its diagnostics; anything else thrown inside (a user's sink)
    // leaves the connection out of step and propagates as it is.
    // A retr_many function or a sink that uses the client would start an operation inside the
    // running one and take its replies: refused before it is spawned (the exception leaving
    // the callback then leaves the connection unusable).
    struct not_reentered {
        bool& busy;
        explicit not_reentered(bool& b) : busy(b) {
            if (busy)
                throw std::logic_error("pop3::client: used from inside one of its own callbacks "
                                       "(a retr_many function or a sink); use it after the call "
                                       "returns");
            busy = true;
        }
        ~not_reentered() { busy = false; }
        not_reentered(const not_reentered&) = delete;
        not_reentered& operator=(const not_reentered&) = delete;
    };
    bool busy = false; // an operation is running

    template <class T>
    T call(asio::awaitable<T> op) {
        const not_reentered guard(busy);
        std::optional<T> value;
        std::exception_ptr failure;
        bool done = false;
        asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e, T v) {
            done = true;
            if (e)
                failure = e;
            else
                value.emplace(std::move(v));
        });
        drive(done, failure);
        return std::move(*value);
    }
    void call(asio::awaitable<void> op) {
        const not_reentered guard(busy);
        std::exception_ptr failure;
        bool done = false;
        asio::co_spawn(ioc, std::move(op), [&](std::exception_ptr e) {
            done = true;
            failure = e;
        });
        drive(done, failure);
    }
    void drive(const bool& done, const std::exception_ptr& failure) {
        ioc.restart();
        while (!done && ioc.run_one() != 0) {
        }
        st->idle(); // the step timer's wait ends now: nothing is left to run
        ioc.poll();
        if (!failure) return;
        try {
            std::rethrow_exception(failure);
        } catch (const op_failure& f) {
            const auto& d = st->diag;
            throw protocol_error(std::error_code(f.ec), d.message, d.response, d.response_code,
                                 d.response_code_text);
        } catch (...) {
            st->session->mark_unusable();
            throw;
        }
    }

    [[noreturn]] void raise(std::error_code ec, const std::string& what) {
        st->session->mark_unusable();
        throw protocol_error(ec, what);
    }

    // Runs a batch through the engine; throws on I/O and protocol errors (not on -ERR).
    void run(std::span<request> batch) { call(st->run(batch)); }

    // RETR's "+OK n octets" must match what came (the connection stays in step either way). A
    // count that is no number ("-5", past 2^64-1) cannot match: it fails the same check.
    void check_octets(const reply& r, std::uint64_t received) const {
        if (!opt.verify_octet_counts) return;
        if (auto problem = detail::octet_count_problem(r.text, received); !problem.empty())
            throw protocol_error(error::octet_count_mismatch, problem, r.line);
    }

    // A -ERR: the message shows the line escaped; response() keeps it as it came.
    static void check_ok(const reply& r) {
        if (r.ok()) return;
        throw protocol_error(client_error::server_error, shown(r.line), r.line, r.code_kind,
                             r.code);
    }

    // RETR (and DELE) of each message, in order, for retr_many; PIPELINING is learned first.
    std::vector<request> retr_batch(std::span<const message_number> which, bool dele) {
        call(st->learn_capabilities_if_unknown()); // no CAPA (-ERR): lock-step
        std::vector<request> batch;
        batch.reserve(which.size() * (dele ? 2 : 1));
        for (const auto& w : which) {
            batch.push_back(make(command_id::retr, {w.str()}));
            if (dele) batch.push_back(make(command_id::dele, {w.str()}));
        }
        return batch;
    }

    request make(command_id id, std::initializer_list<std::string_view> args) {
        try {
            return st->make(id, args);
        } catch (const op_failure& f) { // nothing was sent: still usable
            throw protocol_error(std::error_code(f.ec), st->diag.message);
        }
    }

    reply command(command_id id, std::initializer_list<std::string_view> args,
                  const body_sink& sink = {}) {
        request r = make(id, args);
        r.sink = sink;
        run({&r, 1});
        check_ok(r.result);
        return std::move(r.result);
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {
    // Connects, reads the greeting and, with tls_mode::starttls, upgrades.
    impl_->call(impl_->st->connect());
}

client::client(client_options options, std::unique_ptr<client_transport> transport)
    : impl_(std::make_unique<impl>(std::move(options))) {
    auto& d = *impl_;
    if (d.opt.tls != tls_mode::none)
        throw protocol_error(std::make_error_code(std::errc::operation_not_supported),
                             "a client_transport carries plaintext only: TLS cannot start");
    d.st->transport = std::move(transport);
    d.st->connected = true;
    d.call(d.st->greet());
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
    return impl_->st->welcome;
}
void client::set_debuglevel(int level) noexcept {
    impl_->opt.debuglevel = level;
}
bool client::tls_active() const noexcept {
    return impl_->st->connected && impl_->st->tls != nullptr;
}
const capabilities& client::known_capabilities() const noexcept {
    return impl_->st->caps;
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
    const auto ts = apop_timestamp(impl_->st->welcome);
    if (!ts)
        throw protocol_error(error::no_apop_timestamp,
                             "APOP: the greeting has no <timestamp>: " + shown(impl_->st->welcome));
    const auto digest = apop_digest(*ts, secret);
    return impl_->command(command_id::apop, {name, digest}).line;
}

std::string client::auth(sasl_mechanism mechanism, std::string_view name, std::string_view secret) {
    auto& d = *impl_;
    std::string nonce;
    if (mechanism == sasl_mechanism::scram_sha_256 && (nonce = sasl_client::random_nonce()).empty())
        throw protocol_error(error::bad_sasl_message, "AUTH: no randomness for the SCRAM nonce");
    const auto stepper = sasl_client::make(mechanism, name, secret, d.opt.host, d.opt.port, nonce);
    std::error_code ec;
    std::string what;
    const auto args = stepper->auth_arguments(d.opt.protocol_limits.max_command_line, ec, what);
    if (ec) throw protocol_error(ec, what);
    request r = args.size() == 2 ? d.make(command_id::auth, {args[0], args[1]})
                                 : d.make(command_id::auth, {args[0]});
    while (true) {
        d.run({&r, 1});
        if (r.result.status != reply_status::continuation) break;
        auto answer = stepper->answer(r.result.challenge, d.opt.protocol_limits.max_sasl_line);
        if (answer.ec && !answer.cancel) d.raise(answer.ec, answer.what);
        if (answer.ec) {
            // Cancels the exchange ("*", RFC 5034 §4) so the connection stays in step.
            request cancel{"*\r\n", reply_shape::sasl};
            d.run({&cancel, 1});
            throw protocol_error(answer.ec, answer.what);
        }
        r = request{std::move(answer.line) + "\r\n", reply_shape::sasl};
        r.secret = true;
    }
    d.check_ok(r.result);
    if (const auto untrusted = stepper->accept_success(what)) throw protocol_error(untrusted, what);
    return r.result.line;
}

std::string client::stls() {
    return impl_->call(impl_->st->starttls());
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
    return impl_->call(impl_->st->learn_capabilities());
}

std::string client::quit() {
    const auto r = impl_->command(command_id::quit, {});
    close();
    return r.line;
}

void client::close() noexcept {
    impl_->st->close();
}

std::vector<message_result> client::retr_many(const std::vector<message_number>& which, bool dele) {
    auto& d = *impl_;
    auto batch = d.retr_batch(which, dele);
    for (auto& r : batch) // after the last push_back: the hooks refer to their request
        if (r.shape == reply_shape::multi_line) reserve_announced(r);
    d.run(batch);
    std::vector<message_result> out;
    try {
        for (auto& r : batch) {
            d.check_ok(r.result);
            if (r.shape == reply_shape::multi_line) {
                d.check_octets(r.result, r.result.body_octets);
                out.push_back({r.result.line, std::move(r.result.body), r.result.body_octets});
            }
        }
    } catch (const protocol_error&) {
        if (dele) undo_deletions();
        throw;
    }
    return out;
}

// After a batch with DELE that went wrong: RSET, so that a QUIT commits no deletion of a
// message the caller did not get (RFC 1939 §5: RSET unmarks every message). Best effort: if
// the connection cannot take it, no QUIT can commit anything either.
void client::undo_deletions() noexcept {
    try {
        rset();
    } catch (const std::exception&) {
        impl_->st->session->mark_unusable();
    }
}

void client::retr_many(const std::vector<message_number>& which, const message_fn& each,
                       bool dele) {
    auto& d = *impl_;
    // Replies come one after another, so one buffer holds the message being received.
    message_result current;
    std::exception_ptr first_problem;
    const auto problem = [&] {
        if (!first_problem) first_problem = std::current_exception();
    };
    const std::size_t bound = d.opt.max_buffered_body;
    // In slices: a request is a few hundred octets, and 10,000 of them at once were 4 MB of
    // fresh memory (page faults, most of this call's time in a VM); the pipeline drains once
    // per slice.
    constexpr std::size_t slice = 1024;
    for (std::size_t from = 0; from < which.size(); from += slice) {
        const auto part = std::span(which).subspan(from, std::min(slice, which.size() - from));
        auto batch = d.retr_batch(part, dele);
        std::size_t n = 0;
        for (auto& r : batch) {
            if (r.shape != reply_shape::multi_line) continue;
            r.sink = [&current, bound](std::string_view data) {
                if (current.content.size() + data.size() > bound)
                    throw protocol_error(client_error::reply_too_large,
                                         "a message grew past " + std::to_string(bound) +
                                             " octets (max_buffered_body); stream it into a "
                                             "sink instead");
                current.content.append(data);
            };
            r.on_complete = [&, number = part[n++]](sansio::reply& result) {
                bool intact = true;
                try {
                    d.check_ok(result);
                    d.check_octets(result, result.body_octets);
                } catch (const protocol_error&) {
                    problem();
                    intact = false;
                }
                // Outside the try: what the caller's function throws is the caller's, and ends
                // the batch.
                if (intact) {
                    current.response = result.line;
                    current.octets = result.body_octets;
                    each(number, current);
                }
                current.content.clear();
            };
        }
        d.run(batch);
        for (auto& r : batch) {
            if (r.shape == reply_shape::multi_line) continue;
            try {
                impl::check_ok(r.result); // a DELE's -ERR
            } catch (const protocol_error&) {
                problem();
            }
        }
    }
    if (!first_problem) return;
    if (dele) undo_deletions();
    std::rethrow_exception(first_problem);
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
