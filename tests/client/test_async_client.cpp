#include "pop3/client/async_client.hpp"
#include "support/client_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <pop3/mockserver/server.hpp>
#include <thread>

using namespace pop3;
using namespace std::chrono_literals;
using pop3::test::running_server;
using pop3::test::with_rule;
namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// One user ("user", "pass") whose maildrop holds `count` generated messages of `size` octets.
mock::server_config generated(std::size_t count, std::size_t size) {
    auto c = mock::default_config();
    c.users = {{"user", "pass", mock::maildrop::generate(count, size)}};
    return c;
}

// Runs `io` until it has no work left; fails the test when that takes longer than `limit`.
void run_to_end(asio::io_context& io, std::chrono::steady_clock::duration limit = 30s) {
    io.run_for(limit);
    REQUIRE(io.stopped());
}

// Runs the coroutine `test` on `io` to its end, rethrowing what it throws.
template <class F>
void run_coroutine(asio::io_context& io, F test, std::chrono::steady_clock::duration limit = 30s) {
    bool finished = false;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { co_await test(); },
        [&](std::exception_ptr e) {
            finished = true;
            if (e) std::rethrow_exception(e);
        });
    run_to_end(io, limit);
    REQUIRE(finished);
}

// The error_code and value an operation completed with, inside a coroutine.
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

const credentials user_pass{"user", "pass"};

// Arguments are named, never braced temporaries inside a co_await expression: GCC 12 cannot
// keep an initializer_list's array across a co_await, and mishandles other braced temporaries
// there.
const std::vector<message_number> one_two_three{1, 2, 3};
const std::vector<message_number> one_missing_two{1, 99, 2};

const std::string first_message =
    "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n"
    "This is the pop3kit mock server's default maildrop.\r\n";

} // namespace

TEST_CASE("async_client: every operation against the mock server (coroutine)") {
    running_server s;
    asio::io_context io;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        async_client c(io.get_executor(), s.options());
        co_await c.async_connect(asio::use_awaitable);
        CHECK(c.greeting().starts_with("+OK pop3kit mock server ready <"));
        const auto caps = co_await c.async_capa(asio::use_awaitable);
        CHECK(caps.has("PIPELINING"));
        CHECK(c.known_capabilities().has("STLS"));
        {
            auto v1 = co_await c.async_utf8(asio::use_awaitable);
            CHECK(v1.starts_with("+OK"));
        }
        auto [login_ec, login_line] = co_await c.async_login(user_pass, tuple_awaitable);
        if (login_ec) FAIL(c.diag().message);
        CHECK(login_line.starts_with("+OK maildrop has 3 messages"));

        const auto st = co_await c.async_stat(asio::use_awaitable);
        CHECK(st.count == 3);
        const auto l = co_await c.async_list(asio::use_awaitable);
        REQUIRE(l.entries.size() == 3);
        CHECK(l.entries[0].octets == first_message.size());
        {
            auto v2 = co_await c.async_list(2, asio::use_awaitable);
            CHECK(v2.message == 2);
        }
        const auto u = co_await c.async_uidl(asio::use_awaitable);
        REQUIRE(u.entries.size() == 3);
        CHECK(u.entries[1].uid == "default-2");
        {
            auto v3 = co_await c.async_uidl("3", asio::use_awaitable);
            CHECK(v3.uid == "default-3");
        }

        const auto m = co_await c.async_retr(1, asio::use_awaitable);
        CHECK(m.content == first_message);
        CHECK(m.octets == first_message.size());
        CHECK(m.response == "+OK " + std::to_string(first_message.size()) + " octets");
        const auto dotted = co_await c.async_retr("2", asio::use_awaitable);
        CHECK(dotted.content.find("\r\n.\r\n..\r\n.hidden\r\n") != std::string::npos);

        std::string streamed;
        const async_body_sink collect = [&](std::string_view chunk, auto done) {
            streamed.append(chunk);
            std::move(done)(error_code{}); // completing inline is allowed
        };
        const auto line = co_await c.async_retr(1, collect, asio::use_awaitable);
        CHECK(line.starts_with("+OK"));
        CHECK(streamed == first_message);

        const auto top = co_await c.async_top(1, 0, asio::use_awaitable);
        CHECK(top.content ==
              "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n");

        {
            auto v4 = co_await c.async_noop(asio::use_awaitable);
            CHECK(v4 == "+OK");
        }
        auto [dele_ec, dele_line] = co_await c.async_dele(3, tuple_awaitable);
        if (dele_ec) FAIL(c.diag().message);
        CHECK(dele_line.starts_with("+OK"));
        {
            auto v5 = co_await c.async_stat(asio::use_awaitable);
            CHECK(v5.count == 2);
        }
        {
            auto v6 = co_await c.async_rset(asio::use_awaitable);
            CHECK(v6.starts_with("+OK"));
        }
        {
            auto v7 = co_await c.async_stat(asio::use_awaitable);
            CHECK(v7.count == 3);
        }

        const auto many = co_await c.async_retr_many(one_two_three, false, asio::use_awaitable);
        REQUIRE(many.size() == 3);
        CHECK(many[0].content == first_message);
        CHECK(many[1].content == dotted.content);

        {
            auto v8 = co_await c.async_quit(asio::use_awaitable);
            CHECK(v8.starts_with("+OK"));
        }
        // After QUIT the connection is closed.
        auto [ec, r] = co_await c.async_noop(tuple_awaitable);
        CHECK(ec == client_error::connection_unusable);
    });
}

TEST_CASE("async_client: callbacks") {
    running_server s;
    asio::io_context io;
    async_client c(io.get_executor(), s.options());
    std::vector<std::string> steps;
    c.async_connect([&](error_code ec) {
        REQUIRE_FALSE(ec);
        steps.push_back("connected");
        c.async_login(user_pass, [&](error_code ec2, std::string line) {
            REQUIRE_FALSE(ec2);
            steps.push_back(line.substr(0, 3));
            c.async_stat([&](error_code ec3, stat_reply st) {
                REQUIRE_FALSE(ec3);
                steps.push_back(std::to_string(st.count));
                c.async_quit([&](error_code ec4, std::string) {
                    CHECK_FALSE(ec4);
                    steps.push_back("quit");
                });
            });
        });
    });
    // Nothing completes inside the initiating call.
    CHECK(steps.empty());
    run_to_end(io);
    CHECK(steps == std::vector<std::string>{"connected", "+OK", "3", "quit"});
}

TEST_CASE("async_client: futures, with the I/O on another thread") {
    running_server s;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    {
        async_client c(io.get_executor(), s.options());
        c.async_connect(asio::use_future).get();
        CHECK(c.async_login(user_pass, asio::use_future).get().starts_with("+OK"));
        CHECK(c.async_stat(asio::use_future).get().count == 3);
        CHECK(c.async_retr(1, asio::use_future).get().content == first_message);
        // An error becomes the future's exception.
        auto bad = c.async_retr(99, asio::use_future);
        try {
            bad.get();
            FAIL("no exception");
        } catch (const boost::system::system_error& e) {
            CHECK(e.code() == client_error::server_error);
        }
        CHECK(c.async_quit(asio::use_future).get().starts_with("+OK"));
    }
    work.reset();
    runner.join();
}

TEST_CASE("async_client: -ERR is server_error with the diagnostics; the connection stays usable") {
    running_server s;
    asio::io_context io;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        async_client c(io.get_executor(), s.options());
        co_await c.async_connect(asio::use_awaitable);
        const credentials wrong{"user", "nope"};
        auto [ec, line] = co_await c.async_login(wrong, tuple_awaitable);
        CHECK(ec == client_error::server_error);
        CHECK(std::error_code(ec).category() == client_error_category());
        CHECK(line.empty());
        CHECK(c.diag().response == "-ERR [AUTH] invalid user name or password");
        CHECK(c.diag().response_code == response_code_kind::auth);
        CHECK(c.diag().message == "-ERR [AUTH] invalid user name or password");
        {
            auto v9 = co_await c.async_login(user_pass, asio::use_awaitable);
            CHECK(v9.starts_with("+OK"));
        }
        CHECK(c.diag().message.empty()); // cleared by the next operation
        // A refused argument is refused before anything is sent: still usable.
        auto [ec2, r2] = co_await c.async_dele("1\r\nQUIT", tuple_awaitable);
        CHECK(ec2 == error::forbidden_char_in_argument);
        {
            auto v10 = co_await c.async_stat(asio::use_awaitable);
            CHECK(v10.count == 3);
        }
        // retr_many hands over the messages before the failure.
        auto [ec3, some] = co_await c.async_retr_many(one_missing_two, false, tuple_awaitable);
        CHECK(ec3 == client_error::server_error);
        CHECK(some.size() == 1);
        CHECK(c.diag().response.starts_with("-ERR"));
    });
}

TEST_CASE("async_client: APOP and every SASL mechanism") {
    running_server s;
    asio::io_context io;
    std::vector<credentials> logins{{"user", "pass", login_method::apop}};
    for (auto mech :
         {sasl_mechanism::plain, sasl_mechanism::login, sasl_mechanism::cram_md5,
          sasl_mechanism::xoauth2, sasl_mechanism::oauthbearer, sasl_mechanism::scram_sha_256})
        logins.push_back({"user", "pass", login_method::sasl, mech});
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        for (const auto& who : logins) {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            auto [login_ec, v11] = co_await c.async_login(who, tuple_awaitable);
            if (login_ec)
                FAIL_CHECK("login " << static_cast<int>(who.method) << " "
                                    << sasl_mechanism_name(who.mechanism) << ": "
                                    << c.diag().message);
            CHECK(v11.starts_with("+OK maildrop"));
            {
                auto v12 = co_await c.async_stat(asio::use_awaitable);
                CHECK(v12.count == 3);
            }
            co_await c.async_quit(asio::use_awaitable);
        }
        // A wrong SCRAM password is refused, and the exchange leaves the connection in step.
        async_client c(io.get_executor(), s.options());
        co_await c.async_connect(asio::use_awaitable);
        const credentials wrong{"user", "nope", login_method::sasl, sasl_mechanism::scram_sha_256};
        const credentials right{"user", "pass", login_method::sasl, sasl_mechanism::cram_md5};
        auto [ec, line] = co_await c.async_login(wrong, tuple_awaitable);
        CHECK(ec);
        const auto again = co_await c.async_login(right, asio::use_awaitable);
        CHECK(again.starts_with("+OK maildrop"));
    });
}

TEST_CASE("async_client: TLS (STLS, tls_mode::starttls, implicit) is verified") {
    asio::io_context io;
    SECTION("async_stls") {
        running_server s;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            CHECK_FALSE(c.tls_active());
            {
                auto v14 = co_await c.async_stls(asio::use_awaitable);
                CHECK(v14.starts_with("+OK"));
            }
            CHECK(c.tls_active());
            CHECK_FALSE(c.known_capabilities().has("STLS")); // learned again inside TLS
            co_await c.async_login(user_pass, asio::use_awaitable);
            {
                auto v15 = co_await c.async_retr(1, asio::use_awaitable);
                CHECK(v15.content == first_message);
            }
            auto [ec, line] = co_await c.async_stls(tuple_awaitable);
            CHECK(ec == client_error::tls_already_active);
        });
    }
    SECTION("tls_mode::starttls in async_connect") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            co_await c.async_connect(asio::use_awaitable);
            CHECK(c.tls_active());
            co_await c.async_login(user_pass, asio::use_awaitable);
            {
                auto v16 = co_await c.async_stat(asio::use_awaitable);
                CHECK(v16.count == 3);
            }
        });
    }
    SECTION("implicit TLS") {
        running_server s(mock::default_config(), true);
        auto o = s.options();
        o.port = *s.srv.tls_port();
        o.tls = tls_mode::implicit;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            co_await c.async_connect(asio::use_awaitable);
            CHECK(c.tls_active());
            CHECK(c.greeting().starts_with("+OK"));
            co_await c.async_login(user_pass, asio::use_awaitable);
            {
                auto v17 = co_await c.async_list(asio::use_awaitable);
                CHECK(v17.entries.size() == 3);
            }
        });
    }
    SECTION("a self-signed server is refused without its CA") {
        running_server s;
        auto o = s.options();
        o.tls = tls_mode::starttls;
        o.tls_settings.ca_pem.clear();
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            auto [ec] = co_await c.async_connect(tuple_awaitable);
            CHECK(ec);
            CHECK_THAT(c.diag().message, Catch::Contains("certificate verify failed"));
        });
    }
    SECTION("STLS not advertised: never goes on in plaintext") {
        auto cfg = mock::default_config();
        cfg.faults.capabilities_authorization = std::vector<std::string>{"USER", "UIDL"};
        running_server s(cfg);
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            auto [ec, line] = co_await c.async_stls(tuple_awaitable);
            CHECK(ec == client_error::stls_unavailable);
            auto [ec2, line2] = co_await c.async_noop(tuple_awaitable);
            CHECK(ec2 == client_error::connection_unusable);
        });
    }
    SECTION("response injection after the STLS +OK") {
        running_server s(with_rule("STLS", {.append = "+OK injected\r\n"}));
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            auto [ec, line] = co_await c.async_stls(tuple_awaitable);
            CHECK(ec == client_error::plaintext_after_stls);
        });
    }
}

TEST_CASE("async_client: RETR into a sink waits for the sink (back-pressure)") {
    // Two messages of 3 MB: many reads each.
    running_server s(generated(2, 3'000'000));
    asio::io_context io;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        async_client c(io.get_executor(), s.options());
        co_await c.async_connect(asio::use_awaitable);
        co_await c.async_login(user_pass, asio::use_awaitable);
        const auto expected = co_await c.async_retr(2, asio::use_awaitable);
        REQUIRE(expected.octets == 3'000'000);

        asio::steady_timer later(io);
        bool in_sink = false;
        int calls = 0;
        std::string got;
        async_body_sink sink = [&](std::string_view chunk, auto done) {
            CHECK_FALSE(in_sink); // never called again before `done`
            in_sink = true;
            ++calls;
            got.append(chunk);
            later.expires_after(1ms);
            later.async_wait([&, d = std::move(done)](error_code) mutable {
                in_sink = false;
                std::move(d)(error_code{});
            });
        };
        const auto line = co_await c.async_retr(2, sink, asio::use_awaitable);
        CHECK(line == expected.response);
        CHECK(calls > 1);
        CHECK(got == expected.content);

        // A sink that fails ends the operation with its error; the connection is out of step.
        async_body_sink failing = [](std::string_view, auto done) {
            std::move(done)(make_error_code(boost::system::errc::no_space_on_device));
        };
        auto [ec, l2] = co_await c.async_retr(1, failing, tuple_awaitable);
        CHECK(ec == boost::system::errc::no_space_on_device);
        auto [ec2, l3] = co_await c.async_noop(tuple_awaitable);
        CHECK(ec2 == client_error::connection_unusable);
    });
}

TEST_CASE("async_client: cancellation mid-RETR ends that operation only") {
    // The message drips (4 KiB every 2 ms): its RETR takes over a second.
    mock::fault drip;
    drip.drip_bytes = 4096;
    drip.drip_pause = 2ms;
    auto cfg = generated(1, 3'000'000);
    mock::rule r;
    r.command = "RETR";
    r.delivery = drip;
    cfg.faults.rules.push_back(r);
    running_server slow(cfg);
    running_server other;
    asio::io_context io;

    SECTION("buffered RETR, cancelled from a timer") {
        async_client c(io.get_executor(), slow.options());
        async_client bystander(io.get_executor(), other.options());
        asio::cancellation_signal signal;
        std::optional<error_code> result;
        bool bystander_done = false;
        const auto started = std::chrono::steady_clock::now();
        asio::steady_timer timer(io);
        c.async_connect([&](error_code ec) {
            REQUIRE_FALSE(ec);
            c.async_login(user_pass, [&](error_code ec2, std::string) {
                REQUIRE_FALSE(ec2);
                c.async_retr(1, asio::bind_cancellation_slot(signal.slot(),
                                                             [&](error_code ec3, message_result m) {
                                                                 result = ec3;
                                                                 CHECK(m.content.empty());
                                                             }));
                timer.expires_after(100ms);
                timer.async_wait(
                    [&](error_code) { signal.emit(asio::cancellation_type::terminal); });
            });
        });
        // Another session on the same thread goes on undisturbed.
        bystander.async_connect([&](error_code ec) {
            REQUIRE_FALSE(ec);
            bystander.async_login(user_pass, [&](error_code ec2, std::string) {
                REQUIRE_FALSE(ec2);
                bystander.async_retr_many(one_two_three, false,
                                          [&](error_code ec3, std::vector<message_result> m) {
                                              CHECK_FALSE(ec3);
                                              CHECK(m.size() == 3);
                                              bystander_done = true;
                                          });
            });
        });
        run_to_end(io);
        REQUIRE(result);
        CHECK(*result == asio::error::operation_aborted);
        CHECK(std::chrono::steady_clock::now() - started < 1s);
        CHECK(bystander_done);
        // The reply was cut: the connection is out of step.
        std::optional<error_code> after;
        c.async_noop([&](error_code ec, std::string) { after = ec; });
        io.restart();
        run_to_end(io);
        CHECK(after == make_error_code(client_error::connection_unusable));
    }
    SECTION("RETR into a sink, cancelled once the first octets are in (coroutine)") {
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), slow.options());
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            asio::cancellation_signal signal;
            std::size_t got = 0;
            async_body_sink sink = [&](std::string_view chunk, auto done) {
                got += chunk.size();
                signal.emit(asio::cancellation_type::terminal);
                std::move(done)(error_code{});
            };
            auto [ec, line] = co_await c.async_retr(
                1, sink, asio::bind_cancellation_slot(signal.slot(), tuple_awaitable));
            CHECK(ec == asio::error::operation_aborted);
            CHECK(got > 0);
            CHECK(got < 3'000'000);
        });
    }
    SECTION("a cancellation slot bound to a finished operation cancels nothing later") {
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), other.options());
            asio::cancellation_signal signal;
            co_await c.async_connect(
                asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable));
            signal.emit(asio::cancellation_type::terminal);
            {
                auto v18 = co_await c.async_login(user_pass, asio::use_awaitable);
                CHECK(v18.starts_with("+OK"));
            }
        });
    }
}

TEST_CASE("async_client: timeouts") {
    asio::io_context io;
    SECTION("a reply that never comes") {
        running_server s(with_rule("STAT", {}, {.hang = true}));
        auto o = s.options();
        o.operation_timeout = 300ms;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            const auto started = std::chrono::steady_clock::now();
            auto [ec, st] = co_await c.async_stat(tuple_awaitable);
            CHECK(ec == client_error::timeout);
            CHECK(std::chrono::steady_clock::now() - started < 3s);
            CHECK_THAT(c.diag().message, Catch::Contains("timed out"));
            auto [ec2, line] = co_await c.async_noop(tuple_awaitable);
            CHECK(ec2 == client_error::connection_unusable);
        });
    }
    SECTION("a greeting that never comes") {
        // A listening socket that nobody accepts: the kernel completes the connection.
        asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
        client_options o;
        o.host = "127.0.0.1";
        o.port = silent.local_endpoint().port();
        o.operation_timeout = 200ms;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            auto [ec] = co_await c.async_connect(tuple_awaitable);
            CHECK(ec == client_error::timeout);
        });
    }
    SECTION("a connection refused is the system's error, not a timeout") {
        std::uint16_t port;
        {
            asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
            port = closed.local_endpoint().port();
        }
        client_options o;
        o.host = "127.0.0.1";
        o.port = port;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            auto [ec] = co_await c.async_connect(tuple_awaitable);
            CHECK(ec == asio::error::connection_refused);
            CHECK_THAT(c.diag().message, Catch::Contains("cannot connect to 127.0.0.1:"));
        });
    }
}

TEST_CASE("async_client: limits and checks of the synchronous client apply") {
    asio::io_context io;
    SECTION("max_buffered_body") {
        running_server s;
        auto o = s.options();
        o.max_buffered_body = 10;
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), o);
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            auto [ec, m] = co_await c.async_retr(1, tuple_awaitable);
            CHECK(ec == client_error::reply_too_large);
        });
    }
    SECTION("the announced octet count") {
        running_server s(with_rule("RETR", {.octet_delta = 5}));
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            auto [ec, m] = co_await c.async_retr(1, tuple_awaitable);
            CHECK(ec == error::octet_count_mismatch);
            {
                auto v19 = co_await c.async_noop(asio::use_awaitable);
                CHECK(v19 == "+OK");
            } // still in step
        });
    }
    SECTION("a malformed reply leaves the connection unusable") {
        running_server s(with_rule("STAT", {.replace = "+OK one two\r\n"}));
        run_coroutine(io, [&]() -> asio::awaitable<void> {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            auto [ec, st] = co_await c.async_stat(tuple_awaitable);
            CHECK(ec == error::bad_stat_reply);
            auto [ec2, line] = co_await c.async_noop(tuple_awaitable);
            CHECK(ec2 == client_error::connection_unusable);
        });
    }
    SECTION("one operation at a time") {
        running_server s;
        async_client c(io.get_executor(), s.options());
        std::optional<error_code> first, second;
        c.async_connect([&](error_code ec) { first = ec; });
        c.async_noop([&](error_code ec, std::string) { second = ec; });
        run_to_end(io);
        CHECK(first == error_code{});
        CHECK(second == make_error_code(asio::error::already_started));
    }
}

TEST_CASE("async_client: RETR and DELE pipelined, then QUIT deletes") {
    running_server s(generated(20, 5000));
    asio::io_context io;
    run_coroutine(io, [&]() -> asio::awaitable<void> {
        std::vector<message_number> all;
        for (int i = 1; i <= 20; ++i)
            all.emplace_back(i);
        {
            async_client c(io.get_executor(), s.options());
            co_await c.async_connect(asio::use_awaitable);
            co_await c.async_login(user_pass, asio::use_awaitable);
            const auto messages = co_await c.async_retr_many(all, true, asio::use_awaitable);
            REQUIRE(messages.size() == 20);
            for (const auto& m : messages)
                CHECK(m.octets == 5000);
            CHECK(messages[4].content.find("Subject: message 5\r\n") != std::string::npos);
            co_await c.async_quit(asio::use_awaitable);
        }
        async_client c(io.get_executor(), s.options());
        co_await c.async_connect(asio::use_awaitable);
        co_await c.async_login(user_pass, asio::use_awaitable);
        {
            auto v20 = co_await c.async_stat(asio::use_awaitable);
            CHECK(v20.count == 0);
        }
    });
}

TEST_CASE("async_client: 1,000 concurrent sessions on one thread") {
    constexpr int sessions = 1000;
    auto cfg = mock::default_config();
    cfg.users.clear();
    for (int i = 0; i < sessions; ++i)
        cfg.users.push_back(
            {"user" + std::to_string(i), "pass", mock::maildrop::generate(3, 1000)});
    running_server s(std::move(cfg), false, 2);
    asio::io_context io(1);
    int ok = 0;
    std::vector<std::string> failures;
    for (int i = 0; i < sessions; ++i) {
        asio::co_spawn(
            io,
            [&, i]() -> asio::awaitable<void> {
                async_client c(io.get_executor(), s.options());
                co_await c.async_connect(asio::use_awaitable);
                const credentials who{"user" + std::to_string(i), "pass"};
                co_await c.async_login(who, asio::use_awaitable);
                const auto st = co_await c.async_stat(asio::use_awaitable);
                const auto messages =
                    co_await c.async_retr_many(one_two_three, false, asio::use_awaitable);
                co_await c.async_quit(asio::use_awaitable);
                if (st.count == 3 && messages.size() == 3 && messages[2].octets == 1000) ++ok;
            },
            [&](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    failures.push_back(x.what());
                }
            });
    }
    run_to_end(io, 120s);
    CHECK(failures.empty());
    if (!failures.empty()) INFO("first failure: " << failures.front());
    CHECK(ok == sessions);
}

TEST_CASE("async_client: close() or destruction ends a running operation with operation_aborted") {
    const bool implicit_tls = GENERATE(false, true);
    running_server s(with_rule("STAT", {}, {.hang = true}), implicit_tls);
    auto o = s.options();
    if (implicit_tls) {
        o.port = *s.srv.tls_port();
        o.tls = tls_mode::implicit;
    }
    asio::io_context io;
    std::optional<error_code> result;
    auto c = std::make_unique<async_client>(io.get_executor(), o);
    c->async_connect([&](error_code ec) {
        REQUIRE_FALSE(ec);
        c->async_login(user_pass, [&](error_code ec2, std::string) {
            REQUIRE_FALSE(ec2);
            c->async_stat([&](error_code ec3, stat_reply) { result = ec3; });
            asio::post(io, [&] { c.reset(); }); // while STAT waits for its reply
        });
    });
    run_to_end(io, 10s);
    CHECK_FALSE(c);
    CHECK(result == make_error_code(asio::error::operation_aborted));
}

TEST_CASE("async_client: deferred operations start when invoked") {
    running_server s;
    asio::io_context io;
    async_client c(io.get_executor(), s.options());
    auto connect = c.async_connect(asio::deferred);
    std::optional<error_code> connected;
    std::move(connect)([&](error_code ec) { connected = ec; });
    run_to_end(io);
    CHECK(connected == error_code{});
    CHECK(c.greeting().starts_with("+OK"));
}
