#include "pop3/client/session.hpp"
#include "support/splits.hpp"

#include <catch2/catch.hpp>
#include <cstring>

using namespace pop3;
using namespace pop3::sansio;

namespace {

// Plays the server for a client_session: serves `chunks` to its reads in order and records
// what it writes. Optionally fails the I/O step number `fail_at` with `fail_with`, or reports
// EOF when the chunks run out.
struct scripted_peer {
    std::vector<std::string_view> chunks;
    std::size_t next_chunk = 0;
    std::string written;
    int steps = 0;
    int fail_at = -1;
    std::error_code fail_with = std::make_error_code(std::errc::connection_reset);
    int handshakes = 0;

    action run(client_session& s, std::span<request> batch) {
        action a = s.start(batch);
        while (a.what != action::type::done) {
            if (steps++ == fail_at) {
                a = s.resume(fail_with, 0);
                continue;
            }
            switch (a.what) {
            case action::type::write:
                written.append(a.write_data);
                a = s.resume({}, a.write_data.size());
                break;
            case action::type::read: {
                if (next_chunk == chunks.size()) {
                    a = s.resume({}, 0); // EOF
                    break;
                }
                auto& c = chunks[next_chunk];
                const auto n = std::min(c.size(), a.read_into.size());
                std::memcpy(a.read_into.data(), c.data(), n);
                c.remove_prefix(n);
                if (c.empty()) ++next_chunk;
                a = s.resume({}, n);
                break;
            }
            case action::type::tls_handshake:
                ++handshakes;
                a = s.resume({}, 0);
                break;
            case action::type::done: break;
            }
        }
        return a;
    }
};

request cmd(std::string line, reply_shape shape = reply_shape::single_line) {
    request r;
    r.line = std::move(line);
    r.shape = shape;
    return r;
}

} // namespace

TEST_CASE("client session: greeting then a command, lock-step") {
    client_session s;
    scripted_peer peer{{"+OK POP3 ready <1.2@x>\r\n", "+OK send PASS\r\n"}};
    request greeting;
    REQUIRE_FALSE(peer.run(s, {&greeting, 1}).ec);
    CHECK(greeting.result.line == "+OK POP3 ready <1.2@x>");
    request user = cmd("USER a\r\n");
    REQUIRE_FALSE(peer.run(s, {&user, 1}).ec);
    CHECK(peer.written == "USER a\r\n");
    CHECK(user.result.ok());
    CHECK(user.result.text == "send PASS");
}

TEST_CASE("client session: -ERR with a response code is a reply, not a failure") {
    client_session s;
    scripted_peer peer{{"-ERR [IN-USE] locked\r\n"}};
    request r = cmd("PASS x\r\n");
    REQUIRE_FALSE(peer.run(s, {&r, 1}).ec);
    CHECK_FALSE(r.result.ok());
    CHECK(r.result.code_kind == response_code_kind::in_use);
    CHECK(r.result.code == "IN-USE");
    CHECK(s.usable());
}

TEST_CASE("client session: pipelining writes up to the window, replies arrive in order") {
    client_session s;
    s.set_pipeline_window(3);
    std::vector<request> batch;
    for (int i = 1; i <= 5; ++i)
        batch.push_back(cmd("RETR " + std::to_string(i) + "\r\n", reply_shape::multi_line));
    std::string replies;
    for (int i = 1; i <= 5; ++i)
        replies += "+OK\r\nmessage " + std::to_string(i) + "\r\n.\r\n";
    scripted_peer peer{{replies}};
    REQUIRE_FALSE(peer.run(s, batch).ec);
    CHECK(peer.written == "RETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nRETR 5\r\n");
    for (int i = 0; i < 5; ++i)
        CHECK(batch[i].result.body == "message " + std::to_string(i + 1) + "\r\n");
}

TEST_CASE("client session: the window bounds what is in flight") {
    client_session s;
    s.set_pipeline_window(2);
    std::vector<request> batch = {cmd("NOOP\r\n"), cmd("NOOP\r\n"), cmd("NOOP\r\n")};
    // Serve one reply per read, and look at what was written before each read.
    scripted_peer peer{{"+OK\r\n", "+OK\r\n", "+OK\r\n"}};
    std::vector<std::size_t> written_before_read;
    action a = s.start(batch);
    while (a.what != action::type::done) {
        if (a.what == action::type::write) {
            peer.written.append(a.write_data);
            a = s.resume({}, a.write_data.size());
        } else {
            written_before_read.push_back(peer.written.size());
            auto& c = peer.chunks[peer.next_chunk++];
            std::memcpy(a.read_into.data(), c.data(), c.size());
            a = s.resume({}, c.size());
        }
    }
    REQUIRE_FALSE(a.ec);
    CHECK(written_before_read == std::vector<std::size_t>{12, 18, 18});
}

TEST_CASE("client session: the commands freed by one read go out in one write") {
    client_session s;
    s.set_pipeline_window(4);
    std::vector<request> batch;
    for (int i = 1; i <= 8; ++i)
        batch.push_back(cmd("NOOP\r\n"));
    // The first read brings three whole replies and part of the fourth.
    scripted_peer peer{{"+OK\r\n+OK\r\n+OK\r\n+O", "K\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n"}};
    std::vector<std::string> writes;
    action a = s.start(batch);
    while (a.what != action::type::done) {
        if (a.what == action::type::write) {
            writes.emplace_back(a.write_data);
            a = s.resume({}, a.write_data.size());
        } else {
            auto& c = peer.chunks[peer.next_chunk++];
            std::memcpy(a.read_into.data(), c.data(), c.size());
            a = s.resume({}, c.size());
        }
    }
    REQUIRE_FALSE(a.ec);
    // Not one write per reply: the window is topped up once each read is consumed.
    const auto noops = [](int n) {
        std::string out;
        while (n-- > 0)
            out += "NOOP\r\n";
        return out;
    };
    CHECK(writes == std::vector<std::string>{noops(4), noops(3), noops(1)});
}
TEST_CASE("client session: replies survive any split of the server's bytes") {
    const std::string wire = "+OK 2 320\r\n+OK\r\n..a\r\nb\r\n.\r\n-ERR [SYS/TEMP] x\r\n";
    for (const auto& sp : test::splits(wire)) {
        INFO(sp.name);
        client_session s;
        s.set_pipeline_window(3);
        std::vector<request> batch = {cmd("STAT\r\n"), cmd("RETR 1\r\n", reply_shape::multi_line),
                                      cmd("DELE 9\r\n")};
        scripted_peer peer{sp.chunks};
        REQUIRE_FALSE(peer.run(s, batch).ec);
        CHECK(batch[0].result.text == "2 320");
        CHECK(batch[1].result.body == ".a\r\nb\r\n");
        CHECK(batch[1].result.body_octets == 7);
        CHECK(batch[2].result.code_kind == response_code_kind::sys_temp);
    }
}

TEST_CASE("client session: streaming into a sink") {
    client_session s;
    std::string streamed;
    request r = cmd("RETR 1\r\n", reply_shape::multi_line);
    r.sink = [&](std::string_view d) { streamed.append(d); };
    scripted_peer peer{{"+OK\r\nline 1\r\n..", "line 2\r\n.\r\n"}};
    REQUIRE_FALSE(peer.run(s, {&r, 1}).ec);
    CHECK(streamed == "line 1\r\n.line 2\r\n");
    CHECK(r.result.body.empty());
}

TEST_CASE("client session: a listing is held to max_listing_octets, a message is not") {
    // 10 lines of 10 octets: over a 64-octet listing limit, under a 1000-octet body limit.
    std::string body;
    for (int i = 1; i <= 10; ++i)
        body += std::to_string(i % 10) + " 1234567\r\n";
    const std::string wire = "+OK\r\n" + body + ".\r\n";
    session_options o;
    o.protocol_limits.max_listing_octets = 64;
    o.max_buffered_body = 1000;
    for (const auto& sp : test::splits(wire)) {
        INFO(sp.name);
        client_session s(o);
        request listing = cmd("LIST\r\n", reply_shape::multi_line);
        listing.listing = true;
        scripted_peer peer{sp.chunks};
        CHECK(peer.run(s, {&listing, 1}).ec == client_error::reply_too_large);
        CHECK(s.diag().message.find("max_listing_octets") != std::string::npos);
        CHECK_FALSE(s.usable());

        client_session s2(o);
        request message = cmd("RETR 1\r\n", reply_shape::multi_line);
        scripted_peer peer2{sp.chunks};
        REQUIRE_FALSE(peer2.run(s2, {&message, 1}).ec);
        CHECK(message.result.body == body);
    }
    // The smaller of the two limits holds.
    o.max_buffered_body = 50;
    client_session s(o);
    request listing = cmd("LIST\r\n", reply_shape::multi_line);
    listing.listing = true;
    scripted_peer peer{{wire}};
    CHECK(peer.run(s, {&listing, 1}).ec == client_error::reply_too_large);
    CHECK(s.diag().message.find("max_buffered_body") != std::string::npos);
}

TEST_CASE("client session: a failure injected at each step ends the batch and the connection") {
    const std::vector<std::string_view> chunks = {"+OK\r\n", "+OK 1 2\r\n", "+OK\r\nx\r\n.\r\n"};
    // Count the steps of a clean run first.
    int total = 0;
    {
        client_session s;
        std::vector<request> batch = {cmd("NOOP\r\n"), cmd("STAT\r\n"),
                                      cmd("RETR 1\r\n", reply_shape::multi_line)};
        scripted_peer peer{chunks};
        REQUIRE_FALSE(peer.run(s, batch).ec);
        total = peer.steps;
    }
    REQUIRE(total >= 6);
    for (int step = 0; step < total; ++step) {
        INFO("failing step " << step);
        client_session s;
        std::vector<request> batch = {cmd("NOOP\r\n"), cmd("STAT\r\n"),
                                      cmd("RETR 1\r\n", reply_shape::multi_line)};
        scripted_peer peer{chunks};
        peer.fail_at = step;
        const auto a = peer.run(s, batch);
        CHECK(a.ec == std::errc::connection_reset);
        CHECK_FALSE(s.usable());
        request again = cmd("NOOP\r\n");
        CHECK(s.start({&again, 1}).ec == client_error::connection_unusable);
    }
}

TEST_CASE("client session: EOF at each point of a reply is a clear error") {
    const std::string wire = "+OK\r\nbody\r\n.\r\n";
    for (std::size_t cut = 0; cut < wire.size(); ++cut) {
        INFO("EOF after " << cut << " bytes");
        client_session s;
        request r = cmd("RETR 1\r\n", reply_shape::multi_line);
        scripted_peer peer{{std::string_view(wire).substr(0, cut)}};
        if (cut == 0) peer.chunks.clear();
        const auto a = peer.run(s, {&r, 1});
        CHECK((a.ec == error::eof_in_reply || a.ec == error::missing_crlf_at_eof));
        CHECK_FALSE(s.usable());
    }
}

TEST_CASE("client session: protocol errors mark the connection unusable") {
    for (std::string_view bad : {"+ERR x\r\n", "+ok\r\n", "OK\r\n", "+OK\n"}) {
        INFO(bad);
        client_session s;
        request r = cmd("NOOP\r\n");
        scripted_peer peer{{bad}};
        CHECK(peer.run(s, {&r, 1}).ec);
        CHECK_FALSE(s.usable());
        CHECK_FALSE(s.diag().message.empty());
    }
}

TEST_CASE("client session: STLS") {
    SECTION("+OK then the handshake, nothing sent after STLS in the same write") {
        client_session s;
        s.set_pipeline_window(8);
        request stls = cmd("STLS\r\n");
        stls.starts_tls = true;
        std::vector<request> batch = {std::move(stls), cmd("CAPA\r\n", reply_shape::multi_line)};
        scripted_peer peer{{"+OK go\r\n", "+OK\r\nSTLS\r\n.\r\n"}};
        REQUIRE_FALSE(peer.run(s, batch).ec);
        CHECK(peer.handshakes == 1);
        CHECK(peer.written == "STLS\r\nCAPA\r\n");
    }
    SECTION("bytes after the STLS +OK are refused (response injection)") {
        client_session s;
        request stls = cmd("STLS\r\n");
        stls.starts_tls = true;
        scripted_peer peer{{"+OK go\r\n+OK injected\r\n"}};
        const auto a = peer.run(s, {&stls, 1});
        CHECK(a.ec == client_error::plaintext_after_stls);
        CHECK(peer.handshakes == 0);
        CHECK_FALSE(s.usable());
    }
    SECTION("-ERR: no handshake") {
        client_session s;
        request stls = cmd("STLS\r\n");
        stls.starts_tls = true;
        scripted_peer peer{{"-ERR no\r\n"}};
        REQUIRE_FALSE(peer.run(s, {&stls, 1}).ec);
        CHECK(peer.handshakes == 0);
        CHECK_FALSE(stls.result.ok());
    }
}

TEST_CASE(
    "client session: nothing after STLS is written before the handshake, whatever the window") {
    client_session s;
    s.set_pipeline_window(8);
    request stls = cmd("STLS\r\n");
    stls.starts_tls = true;
    std::vector<request> batch = {std::move(stls), cmd("USER u\r\n"), cmd("PASS p\r\n")};
    std::string written_before_handshake;
    action a = s.start(batch);
    std::vector<std::string_view> replies = {"+OK go\r\n", "+OK\r\n+OK\r\n"};
    std::size_t next = 0;
    bool handshaken = false;
    std::string written;
    while (a.what != action::type::done) {
        switch (a.what) {
        case action::type::write:
            written.append(a.write_data);
            if (!handshaken) written_before_handshake.append(a.write_data);
            a = s.resume({}, a.write_data.size());
            break;
        case action::type::read: {
            REQUIRE(next < replies.size());
            const auto r = replies[next++];
            std::memcpy(a.read_into.data(), r.data(), r.size());
            a = s.resume({}, r.size());
            break;
        }
        case action::type::tls_handshake:
            handshaken = true;
            a = s.resume({}, 0);
            break;
        case action::type::done: break;
        }
    }
    REQUIRE_FALSE(a.ec);
    CHECK(written_before_handshake == "STLS\r\n");
    CHECK(written == "STLS\r\nUSER u\r\nPASS p\r\n");
}
