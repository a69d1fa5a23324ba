// Fuzzes the client's sans-I/O session (pop3::sansio::client_session) driven by server bytes.
// Leading bytes: [0] pipeline window (1-8), strict or lenient lines, small or RFC limits;
// [1] batch size (1-12); [2] read chunk size (0: as much as the session asks for);
// [3] an I/O error injected at that action (0: none); then one byte per request choosing its
// kind (greeting, USER, PASS, STAT, LIST, UIDL, RETR, TOP, CAPA, STLS, AUTH shapes, ...). The
// rest is what the server sends, in any number of replies: when a batch is done and bytes are
// left, the same batch runs again. After STLS's tls_handshake the rest counts as inside TLS.
// Invariants: the session writes exactly the request lines, in order, never more in flight than
// the window, nothing after an STLS line before its reply, and never a CR or LF except as each
// line's final CRLF; replies complete in order with one status each; a TLS handshake comes only
// right after an STLS +OK with nothing buffered; errors are pop3 errors or the injected one, and
// after one every start() fails with connection_unusable; without STLS or injected errors the
// outcome does not depend on how the bytes are split.
#include "fuzz_check.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <pop3/client/session.hpp>
#include <string>
#include <vector>

namespace {

using pop3::reply_shape;
using pop3::sansio::action;
using pop3::sansio::request;

constexpr std::size_t kinds = 26;

std::string line_of(std::string_view keyword, std::initializer_list<std::string_view> args) {
    std::string out;
    std::error_code ec;
    pop3::format_command(keyword, std::span<const std::string_view>(args.begin(), args.size()), out,
                         ec);
    FUZZ_CHECK(!ec);
    return out;
}

request make_request(std::uint8_t kind) {
    request r;
    switch (kind % kinds) {
    case 0: break; // greeting: nothing sent, a single-line reply expected
    case 1: r.line = line_of("USER", {"user"}); break;
    case 2: r.line = line_of("PASS", {"pass word"}), r.secret = true; break;
    case 3: r.line = line_of("STAT", {}); break;
    case 4: r.line = line_of("LIST", {}), r.shape = reply_shape::multi_line; break;
    case 5: r.line = line_of("LIST", {"1"}); break;
    case 6: r.line = line_of("UIDL", {}), r.shape = reply_shape::multi_line; break;
    case 7: r.line = line_of("UIDL", {"2"}); break;
    case 8:
    case 9: r.line = line_of("RETR", {"1"}), r.shape = reply_shape::multi_line; break;
    case 10: r.line = line_of("TOP", {"1", "0"}), r.shape = reply_shape::multi_line; break;
    case 11: r.line = line_of("CAPA", {}), r.shape = reply_shape::multi_line; break;
    case 12: r.line = line_of("STLS", {}), r.starts_tls = true; break;
    case 13: r.line = line_of("AUTH", {"PLAIN"}), r.shape = reply_shape::sasl; break;
    case 14:
        r.line = line_of("AUTH", {"PLAIN", "AHVzZXIAcGFzcw=="});
        r.shape = reply_shape::sasl, r.secret = true;
        break;
    case 15: r.line = "AHVzZXIAcGFzcw==\r\n", r.shape = reply_shape::sasl, r.secret = true; break;
    case 16: r.line = "*\r\n", r.shape = reply_shape::sasl; break;
    case 17: r.line = line_of("NOOP", {}); break;
    case 18: r.line = line_of("DELE", {"1"}); break;
    case 19: r.line = line_of("RSET", {}); break;
    case 20: r.line = line_of("QUIT", {}); break;
    case 21: r.line = line_of("APOP", {"user", "c4c9334bac560ecc979e58001b3e22fb"}); break;
    case 22: r.line = line_of("AUTH", {}), r.shape = reply_shape::multi_line; break;
    case 23: r.line = line_of("UTF8", {}); break;
    case 24: r.line = line_of("LANG", {}), r.shape = reply_shape::multi_line; break;
    default: r.line = "\r\n", r.shape = reply_shape::sasl, r.secret = true; break; // empty
    }
    return r;
}

struct setup {
    pop3::sansio::session_options options;
    std::vector<std::uint8_t> kinds;
    std::size_t chunk = 0; // 0: whatever the session offers
    std::size_t inject_at = 0;
    bool has_stls = false;
};

struct outcome {
    std::error_code ec;
    std::vector<std::string> replies; // status line, then body, of each completed request
    bool operator==(const outcome&) const = default;
};

const std::error_code injected_io = std::make_error_code(std::errc::connection_reset);
const std::error_code injected_tls = std::make_error_code(std::errc::protocol_error);

outcome drive(const setup& su, std::string_view server) {
    pop3::sansio::client_session s(su.options);
    const auto window = s.pipeline_window();
    const bool strict = !su.options.policy.allow_bare_cr;
    outcome out;

    std::vector<request> batch;
    std::vector<std::string> sunk; // body octets given to sinks
    std::size_t status_seen = 0;   // requests whose status line arrived
    std::size_t written = 0;       // requests covered by writes so far (greetings included)
    bool stls_pending = false;     // an STLS line was written and its reply is not in
    std::size_t pos = 0;           // server bytes handed to the session
    std::size_t actions = 0;
    std::error_code injected;

    const auto new_batch = [&] {
        batch.clear();
        sunk.assign(su.kinds.size(), {});
        status_seen = written = 0;
        for (std::size_t i = 0; i < su.kinds.size(); ++i) {
            batch.push_back(make_request(su.kinds[i]));
            auto& r = batch.back();
            r.on_status = [&, i](const pop3::sansio::reply& rep) {
                FUZZ_CHECK(i == status_seen); // in order, once each
                ++status_seen;
                if (batch[i].starts_tls && !rep.ok()) stls_pending = false;
            };
            if (su.kinds[i] % kinds == 9) r.sink = [&, i](std::string_view d) { sunk[i] += d; };
        }
    };
    new_batch();
    action a = s.start(batch);
    // Every action but the last makes progress: a read takes at least one octet, a write at least
    // one request, a handshake follows a reply.
    const std::size_t max_actions = server.size() + 8 * 3 * 12 + 16;
    for (int batches = 1; actions < max_actions; ++actions) {
        const bool inject = su.inject_at != 0 && actions + 1 == su.inject_at;
        switch (a.what) {
        case action::type::write: {
            FUZZ_CHECK(!stls_pending); // nothing in plaintext after STLS
            std::string_view w = a.write_data;
            FUZZ_CHECK(!w.empty());
            while (!w.empty()) {
                const auto end = w.find("\r\n");
                FUZZ_CHECK(end != std::string_view::npos);
                const auto line = w.substr(0, end + 2);
                FUZZ_CHECK(line.substr(0, end).find_first_of("\r\n") == std::string_view::npos);
                while (written < batch.size() && batch[written].line.empty())
                    ++written; // greetings: nothing to write
                FUZZ_CHECK(written < batch.size() && batch[written].line == line);
                if (batch[written].starts_tls) {
                    stls_pending = true;
                    FUZZ_CHECK(line.size() == w.size()); // STLS ends the write
                }
                ++written;
                w.remove_prefix(line.size());
            }
            FUZZ_CHECK(written - status_seen <= window);
            if (inject) {
                injected = injected_io;
                a = s.resume(injected, 0);
            } else {
                a = s.resume({}, a.write_data.size());
            }
            break;
        }
        case action::type::read: {
            FUZZ_CHECK(!a.read_into.empty());
            if (inject) {
                injected = injected_io;
                a = s.resume(injected, 0);
                break;
            }
            std::size_t n = std::min(server.size() - pos, a.read_into.size());
            if (su.chunk) n = std::min(n, su.chunk);
            std::memcpy(a.read_into.data(), server.data() + pos, n);
            pos += n;
            a = s.resume({}, n); // 0: end of stream
            break;
        }
        case action::type::tls_handshake: {
            // Only right after an STLS +OK, with nothing left over from plaintext.
            FUZZ_CHECK(stls_pending && status_seen > 0);
            const auto& r = batch[status_seen - 1];
            FUZZ_CHECK(r.starts_tls && r.result.ok());
            FUZZ_CHECK(s.buffered() == 0);
            stls_pending = false;
            if (inject) {
                injected = injected_tls;
                a = s.resume(injected, 0);
            } else {
                a = s.resume({}, 0); // what follows is "inside TLS"
            }
            break;
        }
        case action::type::done: {
            for (std::size_t i = 0; i < status_seen && i < batch.size(); ++i) {
                const auto& r = batch[i].result;
                out.replies.push_back(r.line);
                // After an error, how much of the body in progress arrived depends on splits.
                if (!a.ec || i + 1 < status_seen) out.replies.push_back(r.body + sunk[i]);
            }
            if (a.ec) {
                out.ec = a.ec;
                if (a.ec.category() == pop3::error_category() ||
                    a.ec.category() == pop3::client_error_category())
                    FUZZ_CHECK(a.ec != pop3::error::need_more &&
                               a.ec != pop3::client_error::connection_unusable);
                else
                    FUZZ_CHECK(a.ec == injected);
                if (injected) FUZZ_CHECK(a.ec == injected);
                if (a.ec == pop3::client_error::plaintext_after_stls) FUZZ_CHECK(stls_pending);
                FUZZ_CHECK(!s.usable());
                std::vector<request> again(1);
                const auto b = s.start(again);
                FUZZ_CHECK(b.what == action::type::done &&
                           b.ec == pop3::client_error::connection_unusable);
                return out;
            }
            FUZZ_CHECK(!injected);
            FUZZ_CHECK(status_seen == batch.size() && !stls_pending);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& q = batch[i];
                const auto& r = q.result;
                const std::string_view line = r.line;
                FUZZ_CHECK(line.starts_with("+OK") || line.starts_with("-ERR") ||
                           (q.shape == reply_shape::sasl && line.starts_with("+ ")));
                if (strict)
                    FUZZ_CHECK(line.find_first_of(std::string_view("\r\n\0", 3)) ==
                               std::string_view::npos);
                const bool has_body = q.shape == reply_shape::multi_line && r.ok();
                if (!has_body) FUZZ_CHECK(r.body.empty() && sunk[i].empty());
                if (q.sink) FUZZ_CHECK(r.body.empty() && sunk[i].size() == r.body_octets);
                if (!q.sink) FUZZ_CHECK(r.body.size() == r.body_octets);
            }
            FUZZ_CHECK(s.usable());
            if ((pos == server.size() && s.buffered() == 0) || batches == 8) return out;
            ++batches;
            new_batch();
            a = s.start(batch);
            break;
        }
        }
    }
    FUZZ_CHECK(false); // the session must finish: it always either reads or ends
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    setup su;
    su.options.pipeline_window = 1 + (data[0] & 7);
    if (data[0] & 8) su.options.policy = pop3::line_policy::lenient(4096);
    if (data[0] & 16) {
        su.options.protocol_limits.max_reply_line = 64;
        su.options.protocol_limits.max_body_line = 64;
        su.options.protocol_limits.max_sasl_line = 64;
    }
    const std::size_t n = 1 + data[1] % 12;
    su.chunk = data[2];
    su.inject_at = data[3];
    if (size < 4 + n) return 0;
    su.kinds.assign(data + 4, data + 4 + n);
    for (auto k : su.kinds)
        su.has_stls = su.has_stls || k % kinds == 12;
    const std::string_view server(reinterpret_cast<const char*>(data + 4 + n), size - 4 - n);

    const auto result = drive(su, server);
    if (!su.has_stls && su.inject_at == 0) {
        // Split independence: the same bytes in one read, and one octet at a time.
        auto other = su;
        other.chunk = su.chunk == 1 ? 0 : 1;
        FUZZ_CHECK(drive(other, server) == result);
    }
    return 0;
}
