#include "pop3/fuzzer/campaign.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <pop3/conformance/transcript.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/planted_bug.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/mockserver/server.hpp>
#include <pop3/protocol/text.hpp>
#include <support/child_process.hpp>
#include <support/temp_dir.hpp>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace pop3::fuzzer;
using namespace std::chrono_literals;

namespace {

const std::vector<session_input>& seeds() {
    static const auto s = seeds_from_transcripts(
        pop3::conformance::load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts"), {});
    return s;
}

std::unique_ptr<pop3::mock::server> start_server(std::string_view scenario = {}) {
    auto config = pop3::mock::default_config();
    if (!scenario.empty()) config.faults = pop3::mock::parse_scenario(scenario, "broken.toml").sc;
    pop3::mock::server_options so;
    so.threads = 1;
    auto s = std::make_unique<pop3::mock::server>(config, so);
    s->start();
    return s;
}

target target_of(pop3::mock::server& s, bool starttls = false) {
    pop3::conformance::tls_settings tls;
    tls.ca_pem = s.identity().certificate;
    const auto port = s.port();
    target t;
    t.starttls = starttls;
    t.connect = [=] {
        return pop3::conformance::connect_socket("127.0.0.1", port, false, tls, 2000ms);
    };
    return t;
}

// A campaign of the seeds and `mutated` more sessions: the session count ends it, never the
// clock, so that a loaded machine runs the same sessions, only slower (ctest's TIMEOUT bounds it).
campaign_options options_for(std::uint64_t seed, std::size_t mutated) {
    campaign_options o;
    o.seed = seed;
    o.info.seed = seed;
    o.duration = std::chrono::hours(1);
    o.max_sessions = seeds().size() + mutated;
    o.exec.reply_timeout = 2000ms;
    o.exec.hang_timeout = 5000ms;
    return o;
}

std::string url(const pop3::mock::server& s) {
    return "pop3://user:pass@127.0.0.1:" + std::to_string(s.port());
}

std::string describe(const campaign_result& r) {
    std::string out;
    for (const auto& f : r.findings)
        out += f.what.key() + ": " + f.what.detail + "\n" + f.transcript + "\n";
    return out;
}

} // namespace

TEST_CASE("no finding against the correct mock server: seeds and 300 mutated sessions") {
    auto server = start_server();
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const auto r = run_campaign(seeds(), target_of(*server), options_for(seed, 300));
        INFO("seed " << seed << "\n" << describe(r));
        CHECK(r.findings.empty());
        CHECK(r.stats.sessions == seeds().size() + 300);
        CHECK(r.stats.transitions > 40);
        CHECK(r.stats.corpus > 20);
    }
    server->stop();
}

TEST_CASE("no finding against the correct mock server inside STLS") {
    auto server = start_server();
    const auto r = run_campaign(seeds(), target_of(*server, true), options_for(4, 300));
    INFO(describe(r));
    CHECK(r.findings.empty());
    CHECK(r.stats.transitions > 20);
    server->stop();
}

TEST_CASE("finds a broken server; its reproducer fails there and passes on a correct one") {
    struct planted {
        std::string scenario;
        std::string keyword;
        std::string or_keyword; // a line not certain to be one command
    };
    const planted bugs[] = {
        // DELE answered +OK whatever the number or the state.
        {"[[rule]]\ncommand = \"DELE\"\nreply = \"+OK message deleted\\r\\n\"\n", "DELE"},
        // STAT answered before login.
        {"[[rule]]\ncommand = \"STAT\"\nstate = \"authorization\"\nreply = \"+OK 3 312\\r\\n\"\n",
         "STAT"},
        // The connection drops 20 octets into every RETR reply.
        // (-ERR replies too: "RETR" without its argument is not a certain line, UNKNOWN).
        {"[[rule]]\ncommand = \"RETR\"\ndisconnect = 20\n", "RETR", "UNKNOWN"},
        // RETR's lines end in a bare LF.
        {"[[rule]]\ncommand = \"RETR\"\nbare_lf = true\n", "RETR"},
    };
    for (const auto& bug : bugs) {
        pop3::test::temp_dir dir;
        auto broken = start_server(bug.scenario);
        auto o = options_for(1, 600); // each is found among the seeds (session 2 to 153)
        o.findings_dir = dir.path;
        const auto r = run_campaign(seeds(), target_of(*broken), o);
        INFO(describe(r));
        REQUIRE(!r.findings.empty());
        for (const auto& f : r.findings) {
            CHECK((f.what.keyword == bug.keyword || f.what.keyword == bug.or_keyword));
            CHECK(std::filesystem::exists(f.file));
            CHECK(f.minimal.commands.size() <= 4); // minimised: login, STAT, the command
        }
        // Replayed by pop3-conformance: fails on the broken server, passes on a correct one.
        const auto on_broken = pop3::test::run_program(
            POP3_CONFORMANCE_BIN,
            {"server", "--no-color", "--transcripts", dir.path.string(), "--target", url(*broken)});
        INFO(on_broken.out << on_broken.err);
        CHECK(on_broken.status == 1);
        CHECK(on_broken.out.find("0 passed, " + std::to_string(r.findings.size()) + " failed") !=
              std::string::npos);
        broken->stop();
        auto correct = start_server();
        const auto on_correct = pop3::test::run_program(
            POP3_CONFORMANCE_BIN, {"server", "--no-color", "--transcripts", dir.path.string(),
                                   "--target", url(*correct)});
        INFO(on_correct.out << on_correct.err);
        CHECK(on_correct.status == 0);
        CHECK(on_correct.out.find(std::to_string(r.findings.size()) + " passed, 0 failed") !=
              std::string::npos);
        correct->stop();
    }
}

TEST_CASE("a server that stops answering after the third RSET is a hang") {
    auto broken = start_server("[[rule]]\ncommand = \"RSET\"\noccurrence = 3\nhang = true\n");
    // Seeds 1-4 found it after 388 to 2,225 sessions (2026-12-05); the campaign ends with it.
    auto o = options_for(1, 5000);
    o.max_findings = 1;
    // Short, since every session that reaches the third RSET waits this long. A slow reply on a
    // loaded machine is not taken for a hang: a hang is reported only when the same input hangs
    // again, and the canary after a closed connection has its own bound (15 s).
    o.exec.reply_timeout = 200ms;
    o.exec.hang_timeout = 600ms;
    o.minimise_budget = 15s;
    const auto r = run_campaign(seeds(), target_of(*broken), o);
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    const auto& f = r.findings[0];
    CHECK(f.what.key() == "hang/RSET");
    CHECK(f.what.detail.find("' within 600 ms, the connection open") != std::string::npos);
    CHECK(f.transcript.find("case: fuzz/hang/RSET\n") != std::string::npos);
    CHECK(f.transcript.ends_with("S: +OK* || -ERR*\n"));
    broken->stop();
}

TEST_CASE("pop3-fuzz: exit codes, status and summary") {
    using pop3::test::run_program;
    pop3::test::temp_dir dir;
    CHECK(run_program(POP3_FUZZ_BIN, {"--help"}).status == 0);
    auto bad = run_program(POP3_FUZZ_BIN, {"server", "--duration", "x"});
    CHECK(bad.status == 2);
    CHECK(bad.err == "pop3-fuzz: --duration: expected seconds, got 'x'\n");
    CHECK(run_program(POP3_FUZZ_BIN, {"server", "--bogus"}).status == 2);
    CHECK(run_program(POP3_FUZZ_BIN, {}).status == 2);
    dir.write("corpus/bad.input", "C: NOOP\\r\\n\nX: what\n");
    bad = run_program(POP3_FUZZ_BIN, {"server", "--corpus", (dir.path / "corpus").string()});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("bad.input:2: expected 'C: ' or 'C+: '") != std::string::npos);

    // --duration far off: the session count ends each run, not the clock.
    const auto ok =
        run_program(POP3_FUZZ_BIN, {"server", "--sessions", "600", "--duration", "3600",
                                    "--findings", (dir.path / "f1").string(), "--seed", "5"});
    INFO(ok.out << ok.err);
    CHECK(ok.status == 0);
    CHECK(ok.out.find("600 sessions in") == 0);
    CHECK(ok.out.find("findings 0") != std::string::npos);
    CHECK(ok.err.find("pop3-fuzz: done: ") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path / "f1"));

    const auto scenario =
        dir.write("broken.toml", "[[rule]]\ncommand = \"RETR\"\nstate = \"authorization\"\n"
                                 "reply = \"+OK 5 octets\\r\\nhello\\r\\n.\\r\\n\"\n");
    const auto found = run_program(POP3_FUZZ_BIN, {"server", "--sessions", "600", "--duration",
                                                   "3600", "--scenario", scenario.string(),
                                                   "--findings", (dir.path / "f2").string()});
    INFO(found.out << found.err);
    CHECK(found.status == 1);
    CHECK(found.err.find("pop3-fuzz: finding wrong-state-RETR: 'RETR") != std::string::npos);
    CHECK(std::filesystem::exists(dir.path / "f2" / "wrong-state-RETR.pop3"));
    CHECK(std::filesystem::exists(dir.path / "f2" / "wrong-state-RETR.input"));
    // The input as it was found, beside the minimised one: at least as long, and a RETR in it.
    auto found_input = dir.read("f2/wrong-state-RETR.found.input");
    CHECK(found_input.size() >= dir.read("f2/wrong-state-RETR.input").size());
    for (auto& c : found_input)
        c = pop3::ascii_upper(c);
    CHECK(found_input.find("RETR") != std::string::npos);

    // A greeting that is not a status line is a finding; a target that refuses is exit 1.
    const auto greeting = dir.write(
        "greeting.toml", "[[rule]]\ncommand = \"greeting\"\nreply = \"POP3 ready\\r\\n\"\n");
    const auto bad_greeting = run_program(
        POP3_FUZZ_BIN, {"server", "--sessions", "50", "--duration", "3600", "--scenario",
                        greeting.string(), "--findings", (dir.path / "f3").string()});
    INFO(bad_greeting.out << bad_greeting.err);
    CHECK(bad_greeting.status == 1);
    CHECK(std::filesystem::exists(dir.path / "f3" / "bad-status-line-greeting.pop3"));
    const auto refused =
        run_program(POP3_FUZZ_BIN, {"server", "--target", "pop3://u:p@127.0.0.1:1"});
    CHECK(refused.status == 1);
    CHECK(refused.err.find("pop3-fuzz: cannot connect to 127.0.0.1:1") == 0);
}

TEST_CASE("commands pipelined after STLS and answered inside TLS are found (RFC 2595 §4)") {
    // Regression: the check waits inside TLS for replies nobody asked for. TLS 1.3 session
    // tickets arrive there first; they once made the read block for the socket's timeout and
    // end as EOF, so that the injection was never seen.
    pop3::test::temp_dir dir;
    auto broken = start_server("[server]\nstls_keeps_plaintext = true\n");
    auto o = options_for(1, 2000);
    o.findings_dir = dir.path / "found";
    const auto r = run_campaign(seeds(), target_of(*broken), o);
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    const auto& f = r.findings[0];
    CHECK(f.what.key() == "stls-injection/STLS");
    CHECK(f.minimal.commands.size() == 2); // STLS and one command in its write
    CHECK(f.transcript.find("tls: plain\n") != std::string::npos);
    CHECK(f.transcript.ends_with("S: +OK*\n!tls-or-close\n!no-reply 500\n"));
    CHECK(r.stats.injection_checked > 0);

    const auto ca = dir.path / "ca.pem";
    const auto replay = [&](const pop3::mock::server& s) {
        std::ofstream(ca, std::ios::trunc) << s.identity().certificate;
        return pop3::test::run_program(POP3_CONFORMANCE_BIN,
                                       {"server", "--no-color", "--transcripts",
                                        (dir.path / "found").string(), "--target", url(s), "--ca",
                                        ca.string()});
    };
    const auto on_broken = replay(*broken);
    INFO(on_broken.out << on_broken.err);
    CHECK(on_broken.out.find("0 passed, 1 failed") != std::string::npos);
    broken->stop();
    auto correct = start_server();
    const auto on_correct = replay(*correct);
    INFO(on_correct.out << on_correct.err);
    CHECK(on_correct.out.find("1 passed, 0 failed") != std::string::npos);
    correct->stop();
}

namespace {

session_input input_of(std::initializer_list<std::pair<const char*, bool>> lines) {
    session_input in;
    for (const auto& [bytes, same] : lines)
        in.commands.push_back({bytes, same});
    return in;
}

} // namespace

TEST_CASE("a pipelined line that gets no reply is a finding only when PIPELINING is advertised") {
    // Courier and Cyrus drop a command pipelined behind a login; they advertise PIPELINING, so
    // that breaks RFC 2449 §6.6. A server that does not advertise it need not read ahead.
    for (bool advertised : {false, true}) {
        auto config = pop3::mock::default_config();
        config.pipelining = advertised;
        config.faults =
            pop3::mock::parse_scenario("[[rule]]\ncommand = \"STAT\"\nhang = true\n", "s.toml").sc;
        pop3::mock::server_options so;
        so.threads = 1;
        pop3::mock::server server(config, so);
        server.start();
        const auto t = target_of(server);
        CHECK(advertises_pipelining(t, 2000ms) == advertised);
        exec_options o;
        o.reply_timeout = 500ms;
        o.hang_timeout = 1500ms; // a slow USER on a loaded machine is not taken for the hang
        o.pipelining = advertised;
        const auto pipelined = run_session(
            input_of({{"USER user\r\n", false}, {"PASS pass\r\n", true}, {"STAT\r\n", true}}), t,
            o);
        if (advertised) {
            REQUIRE(pipelined.found);
            CHECK(pipelined.found->key() == "pipelined-hang/STAT");
        } else {
            CHECK_FALSE(pipelined.found);
            // Nor is its silence waited for past the reply timeout: nothing could come of it.
            auto unhurried = o;
            unhurried.hang_timeout = 60s; // waited for, the test would end by its ctest TIMEOUT
            const auto started = std::chrono::steady_clock::now();
            const auto again = run_session(
                input_of({{"USER user\r\n", false}, {"PASS pass\r\n", true}, {"STAT\r\n", true}}),
                t, unhurried);
            CHECK(std::chrono::steady_clock::now() - started < 30s);
            CHECK_FALSE(again.found);
        }
        // Sent alone, STAT must be answered either way.
        const auto alone = run_session(
            input_of({{"USER user\r\n", false}, {"PASS pass\r\n", false}, {"STAT\r\n", false}}), t,
            o);
        REQUIRE(alone.found);
        CHECK(alone.found->key() == "hang/STAT");
        server.stop();
    }
}

TEST_CASE("a hang already reported is not waited for again") {
    // Courier answers about 2 sessions a second; each session that met a hang reported long
    // before cost another --hang-timeout.
    auto server = start_server("[[rule]]\ncommand = \"STAT\"\nhang = true\n");
    const auto t = target_of(*server);
    exec_options o;
    o.reply_timeout = 300ms;
    o.hang_timeout = 60s; // waited for, the test would end by its ctest TIMEOUT
    o.known_hangs = {"hang/STAT"};
    const auto login = std::pair{"USER user\r\n", false};
    const auto started = std::chrono::steady_clock::now();
    const auto known =
        run_session(input_of({login, {"PASS pass\r\n", false}, {"STAT\r\n", false}}), t, o);
    CHECK(std::chrono::steady_clock::now() - started < 30s);
    CHECK_FALSE(known.found);
    // Another command's hang is still waited for and reported.
    o.hang_timeout = 1500ms;
    o.known_hangs = {"hang/NOOP", "pipelined-hang/STAT"};
    const auto other =
        run_session(input_of({login, {"PASS pass\r\n", false}, {"STAT\r\n", false}}), t, o);
    REQUIRE(other.found);
    CHECK(other.found->key() == "hang/STAT");
    server->stop();
}

TEST_CASE("a session whose STARTTLS-injection check is left out says so") {
    auto server = start_server();
    const auto t = target_of(*server);
    exec_options o;
    const auto in = input_of({{"STLS\r\n", false}, {"CAPA\r\n", true}});
    const auto checked = run_session(in, t, o);
    CHECK(checked.injection_checked);
    CHECK_FALSE(checked.injection_skipped);
    CHECK_FALSE(checked.found);
    o.injection_quiet = {};
    const auto skipped = run_session(in, t, o);
    CHECK_FALSE(skipped.injection_checked);
    CHECK(skipped.injection_skipped);
    CHECK_FALSE(skipped.found);
    server->stop();
}

namespace {

// A server of one connection, played by `play` on its socket in a thread of its own: for what
// no mock server does, such as closing with the client's bytes unread (which resets).
class one_connection_server {
public:
    explicit one_connection_server(std::function<void(int)> play) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 1) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, play = std::move(play)] {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            play(c);
            ::close(c);
        });
    }
    ~one_connection_server() {
        ::shutdown(fd_, SHUT_RDWR); // ends an accept still waiting
        thread_.join();
        ::close(fd_);
    }
    one_connection_server(const one_connection_server&) = delete;
    one_connection_server& operator=(const one_connection_server&) = delete;

    target plain_target() const {
        target t;
        t.connect = [port = port_] {
            return pop3::conformance::connect_socket("127.0.0.1", port, false, {}, 2000ms);
        };
        return t;
    }

    static void send_all(int c, std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    static void read_exactly(int c, std::size_t n) {
        char buf[256];
        while (n > 0) {
            const auto got = ::recv(c, buf, std::min(n, sizeof buf), 0);
            if (got <= 0) return;
            n -= static_cast<std::size_t>(got);
        }
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

} // namespace

TEST_CASE("a reset by a server that closed with lines unread is not judged as a cut reply") {
    // Mailutils, sent "CAPA\r\nSTLS\r\nQUIT\r\n" in one write, answered CAPA and STLS and
    // closed with QUIT unread: a reset, which made this side's kernel drop the rest of CAPA's
    // reply. It was reported as closed-mid-reply/CAPA.
    using server = one_connection_server;
    const auto play = [](int c) {
        server::send_all(c, "+OK ready\r\n");
        server::read_exactly(c, 6);             // "CAPA\r\n"; what follows stays unread
        server::send_all(c, "+OK\r\nUSER\r\n"); // a multi-line reply cut short
    };
    exec_options o;
    o.reply_timeout = 2000ms;
    {
        server s(play);
        const auto r =
            run_session(input_of({{"CAPA\r\n", false}, {"NOOP\r\n", true}}), s.plain_target(), o);
        INFO((r.found ? r.found->detail : ""));
        CHECK_FALSE(r.found);
        CHECK(r.closed);
    }
    // The same when what is unread is a line that goes on in the next write (not sent yet).
    {
        server s(play);
        const auto r = run_session(input_of({{"CAPA\r\n", false}, {"NOOP", true}, {"\r\n", false}}),
                                   s.plain_target(), o);
        INFO((r.found ? r.found->detail : ""));
        CHECK_FALSE(r.found);
    }
    // Nothing left unread, the close is orderly: a reply cut short is a finding.
    {
        server s(play);
        const auto r = run_session(input_of({{"CAPA\r\n", false}}), s.plain_target(), o);
        REQUIRE(r.found);
        CHECK(r.found->key() == "closed-mid-reply/CAPA");
    }
}

TEST_CASE("a reproducer sends the lines that followed the finding's line in its write") {
    // Mailutils' cut CAPA reply needed the STLS and QUIT behind it; its reproducer sent CAPA
    // alone, and so passed.
    auto broken = start_server("[[rule]]\ncommand = \"RETR\"\nstate = \"authorization\"\n"
                               "reply = \"+OK 5 octets\\r\\nhello\\r\\n.\\r\\n\"\n");
    const auto r = run_session(input_of({{"RETR 1\r\n", false}, {"NOOP\r\n", true}}),
                               target_of(*broken), exec_options{});
    REQUIRE(r.found);
    CHECK(r.found->key() == "wrong-state/RETR");
    CHECK(r.rest_of_write == std::vector<std::string>{"NOOP\r\n"});
    const auto text = reproducer_text(*r.found, r, {});
    INFO(text);
    CHECK(text.ends_with("S: +OK*\nC: RETR 1\nC+: NOOP\nS: -ERR*\n"));
    broken->stop();
}

TEST_CASE("a session the target closed on keeps the lines sent after that line") {
    // A crash's reproducer is the session up to the line the target closed on: the lines behind
    // it in its write were sent too and may be what crashed it.
    using server = one_connection_server;
    server s([](int c) {
        server::send_all(c, "+OK ready\r\n");
        server::read_exactly(c, 6); // "CAPA\r\n", then closes unanswered
    });
    const auto r = run_session(input_of({{"CAPA\r\n", false}, {"NOOP\r\n", true}}),
                               s.plain_target(), exec_options{});
    CHECK_FALSE(r.found);
    CHECK(r.closed);
    REQUIRE(r.exchanges.size() == 1);
    CHECK(r.rest_of_write == std::vector<std::string>{"NOOP\r\n"});
}

TEST_CASE("a body that stops is a hang that quotes the status line it came after") {
    // Cyrus answered a pipelined CAPA with STAT's "+OK 6 140548"; the finding said only that
    // CAPA's body stopped, which misled its reader.
    auto broken =
        start_server("[[rule]]\ncommand = \"CAPA\"\nreply = \"+OK caps\\r\\nTOP\\r\\n\"\n");
    exec_options o;
    o.reply_timeout = 300ms;
    o.hang_timeout = 1000ms;
    const auto r = run_session(input_of({{"CAPA\r\n", false}}), target_of(*broken), o);
    REQUIRE(r.found);
    CHECK(r.found->key() == "hang/CAPA");
    CHECK_THAT(r.found->detail, Catch::Contains("('+OK caps', 5 octets of body) stopped"));
    broken->stop();
}

TEST_CASE("STARTTLS injection: a handshake refused after STLS counts as checked") {
    // Dovecot answers STLS with lines pipelined behind it, then fails the handshake: the lines
    // were not taken as commands inside TLS. Such sessions once counted as neither checked nor
    // skipped.
    using server = one_connection_server;
    server s([](int c) {
        server::send_all(c, "+OK ready\r\n");
        server::read_exactly(c, 12); // "STLS\r\nCAPA\r\n"
        server::send_all(c, "+OK Begin TLS negotiation now.\r\n");
    });
    const auto r = run_session(input_of({{"STLS\r\n", false}, {"CAPA\r\n", true}}),
                               s.plain_target(), exec_options{});
    CHECK_FALSE(r.found);
    CHECK(r.injection_checked);
    CHECK(r.injection_no_tls);
    CHECK_FALSE(r.injection_skipped);
}

TEST_CASE("lines pipelined behind a refused STLS are not judged") {
    // Cyrus discards what comes with an STLS it refuses (inside TLS already): RFC 2595 §4 says
    // the client must not send it, so no reply to it is certain. Once, CAPA's "hang" was blamed.
    auto server = start_server();
    const auto r = run_session(input_of({{"STLS\r\n", false}, {"CAPA\r\n", true}}),
                               target_of(*server, true), exec_options{});
    CHECK_FALSE(r.found);
    REQUIRE(r.exchanges.size() == 1);
    CHECK(r.exchanges[0].wire == "STLS\r\n");
    CHECK(r.exchanges[0].status == pop3::reply_status::err);
    server->stop();
}

TEST_CASE("the reply to a line over 255 octets is not judged; to a shorter one it is") {
    if (!pop3::mock::planted_bugs_compiled()) {
        WARN("skipped: this build has no planted bugs (POP3_PLANTED_BUGS)");
        return;
    }
    auto config = pop3::mock::default_config();
    config.planted = {pop3::mock::planted_bug::long_err_echo}; // echoes the line twice
    pop3::mock::server_options so;
    so.threads = 1;
    pop3::mock::server server(config, so);
    server.start();
    const auto t = target_of(server);
    // Dovecot answers a 1,007-octet LIST with 1,033 octets: the command broke RFC 2449 §4 first.
    const auto over = "LIST " + std::string(300, '9') + "\r\n";
    CHECK_FALSE(run_session(input_of({{over.c_str(), false}}), t, exec_options{}).found);
    const auto under = "LIST " + std::string(240, 'x') + "\r\n";
    const auto r = run_session(input_of({{under.c_str(), false}}), t, exec_options{});
    REQUIRE(r.found);
    CHECK(r.found->key() == "long-status-line/LIST"); // named by its keyword, not UNKNOWN
    server.stop();
}

TEST_CASE("an endless body is judged against the size LIST gave; without one it only ends") {
    // RFC 1939 sets no size limit on a message: a 70 MB mail on a test account is no finding.
    // Against LIST's size it is: more than twice that (and 64 KiB) without the terminator.
    auto server = start_server("[[rule]]\ncommand = \"RETR\"\nendless_body = true\n");
    const auto t = target_of(*server);
    exec_options o;
    o.max_reply_octets = 1u << 20;
    const auto unknown = run_session(
        input_of({{"USER user\r\n", false}, {"PASS pass\r\n", false}, {"RETR 1\r\n", false}}), t,
        o);
    CHECK_FALSE(unknown.found);
    const auto known = run_session(input_of({{"USER user\r\n", false},
                                             {"PASS pass\r\n", false},
                                             {"LIST\r\n", false},
                                             {"RETR 1\r\n", false}}),
                                   t, o);
    REQUIRE(known.found);
    CHECK(known.found->key() == "unterminated-body/RETR");
    CHECK(known.found->detail.find("(LIST gave the message 122)") != std::string::npos);
    server->stop();
}
