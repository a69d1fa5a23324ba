#include "pop3/client/async_client.hpp"

#include "engine.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <pop3/net/tls_client.hpp>
#include <pop3/protocol/apop.hpp>

namespace pop3 {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using detail::shown;
using detail::split_lines;
using sansio::reply;
using sansio::request;

namespace {

using state_ptr = std::shared_ptr<async_client::state>;

// Runs `op` as the operation of `st` and completes `handler` (error_code and, unless it takes
// none, the value) on the handler's associated executor; the handler's cancellation slot is
// connected to the operation. A failure leaves its diagnostics in st->diag and hands over an
// empty value (retr_many: the messages before the failure).
template <class T, class Handler, class Op>
void launch(const state_ptr& st, Handler handler, Op op) {
    auto deliver = [](Handler h, const async_client::executor_type& ex, error_code ec, T value) {
        const auto hex = asio::get_associated_executor(h, ex);
        if constexpr (std::is_same_v<Handler, asio::any_completion_handler<void(error_code)>>)
            asio::dispatch(hex, asio::append(std::move(h), ec));
        else
            asio::dispatch(hex, asio::append(std::move(h), ec, std::move(value)));
    };
    if (st->busy) {
        asio::post(st->executor, [h = std::move(handler), ex = st->executor, deliver]() mutable {
            deliver(std::move(h), ex, asio::error::already_started, T{});
        });
        return;
    }
    st->busy = true;
    st->diag.clear();
    const auto slot = asio::get_associated_cancellation_slot(handler);
    auto body = [](state_ptr s, Op o) -> asio::awaitable<std::pair<error_code, T>> {
        error_code ec;
        std::optional<T> value;
        try {
            value.emplace(co_await o(*s));
        } catch (const op_failure& f) {
            ec = f.ec;
        } catch (const boost::system::system_error& e) {
            ec = e.code();
            s->session->mark_unusable();
            s->diag.message = e.what();
        } catch (const std::exception& e) {
            ec = make_error_code(boost::system::errc::io_error);
            s->session->mark_unusable();
            s->diag.message = e.what();
        }
        s->idle();
        s->busy = false;
        if (!value) {
            value.emplace();
            if constexpr (std::is_same_v<T, std::vector<message_result>>)
                *value = std::move(s->partial_messages);
        }
        s->partial_messages.clear();
        co_return std::pair<error_code, T>{ec, std::move(*value)};
    };
    asio::co_spawn(st->executor, body(st, std::move(op)),
                   asio::bind_cancellation_slot(slot, [h = std::move(handler), st, deliver](
                                                          std::exception_ptr e,
                                                          std::pair<error_code, T> result) mutable {
                       if (e) { // only when the coroutine could not even start its body
                           st->busy = false;
                           st->session->mark_unusable();
                           result.first = asio::error::operation_aborted;
                       }
                       deliver(std::move(h), st->executor, result.first, std::move(result.second));
                   }));
}

} // namespace

async_client::async_client(executor_type executor, client_options options)
    : state_(std::make_shared<state>(std::move(executor), std::move(options))) {}

async_client::~async_client() {
    state_->close();
}

async_client::executor_type async_client::get_executor() const noexcept {
    return state_->executor;
}
const std::string& async_client::greeting() const noexcept {
    return state_->welcome;
}
const client_diagnostics& async_client::diag() const noexcept {
    return state_->diag;
}
const capabilities& async_client::known_capabilities() const noexcept {
    return state_->caps;
}
bool async_client::tls_active() const noexcept {
    return state_->connected && state_->tls != nullptr;
}
void async_client::close() noexcept {
    state_->close();
}

void async_client::start_connect(asio::any_completion_handler<void(error_code)> h) {
    launch<bool>(state_, std::move(h), [](state& s) -> asio::awaitable<bool> {
        co_await s.connect();
        co_return true;
    });
}

void async_client::start_login(credentials who, handler<std::string> h) {
    launch<std::string>(state_, std::move(h),
                        [who = std::move(who)](state& s) { return s.login(who); });
}
void async_client::start_stat(handler<stat_reply> h) {
    launch<stat_reply>(state_, std::move(h), [](state& s) { return s.stat(); });
}
void async_client::start_list(handler<listing_result> h) {
    launch<listing_result>(state_, std::move(h), [](state& s) { return s.list(); });
}
void async_client::start_list_one(const message_number& which, handler<scan_entry> h) {
    launch<scan_entry>(state_, std::move(h), [w = which](state& s) { return s.list_one(w); });
}
void async_client::start_uidl(handler<uidl_result> h) {
    launch<uidl_result>(state_, std::move(h), [](state& s) { return s.uidl(); });
}
void async_client::start_uidl_one(const message_number& which, handler<uidl_entry> h) {
    launch<uidl_entry>(state_, std::move(h), [w = which](state& s) { return s.uidl_one(w); });
}
void async_client::start_retr(const message_number& which, handler<message_result> h) {
    launch<message_result>(state_, std::move(h), [w = which](state& s) { return s.retr(w); });
}
void async_client::start_retr_sink(const message_number& which, async_body_sink sink,
                                   handler<std::string> h) {
    launch<std::string>(state_, std::move(h), [w = which, k = std::move(sink)](state& s) mutable {
        return s.retr_sink(w, std::move(k));
    });
}
void async_client::start_top(const message_number& which, std::uint64_t lines,
                             handler<message_result> h) {
    launch<message_result>(state_, std::move(h),
                           [w = which, lines](state& s) { return s.top(w, lines); });
}
void async_client::start_dele(const message_number& which, handler<std::string> h) {
    launch<std::string>(state_, std::move(h), [w = which](state& s) { return s.dele(w); });
}
void async_client::start_simple(simple_command what, handler<std::string> h) {
    launch<std::string>(state_, std::move(h), [what](state& s) -> asio::awaitable<std::string> {
        switch (what) {
        case simple_command::noop: co_return (co_await s.command(command_id::noop)).line;
        case simple_command::rset: co_return (co_await s.command(command_id::rset)).line;
        case simple_command::utf8: co_return (co_await s.command(command_id::utf8)).line;
        case simple_command::stls: co_return co_await s.starttls();
        case simple_command::quit: {
            auto line = (co_await s.command(command_id::quit)).line;
            s.close();
            co_return line;
        }
        }
        co_return std::string();
    });
}
void async_client::start_capa(handler<capabilities> h) {
    launch<capabilities>(state_, std::move(h), [](state& s) { return s.learn_capabilities(); });
}
void async_client::start_retr_many(std::vector<message_number> which, bool dele,
                                   handler<std::vector<message_result>> h) {
    launch<std::vector<message_result>>(
        state_, std::move(h), [w = which, dele](state& s) { return s.retr_many(w, dele); });
}

} // namespace pop3
