// The verdict error (the runner cannot judge), the longer wait after a failed login, long lines
// judged by the linear matcher, and --starttls runs of the cases that do STLS themselves.
#include "pop3/conformance/runner.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <pop3/conformance/embedded.hpp>
#include <pop3/conformance/pattern.hpp>
#include <pop3/conformance/report.hpp>
#include <random>
#include <set>
#include <sstream>

using namespace pop3::conformance;
using namespace std::chrono_literals;

namespace {

// A peer that answers from a script and records how long the runner waited for each line.
class scripted final : public connection {
public:
    std::deque<received> replies;
    std::vector<std::chrono::milliseconds> waits;
    std::string sent;
    bool tls_ok = false;
    tls_problem problem;

    void send(std::string_view bytes) override { sent += bytes; }
    received read_line(std::chrono::milliseconds timeout) override {
        waits.push_back(timeout);
        if (replies.empty()) return {received::kind::timeout, {}, 0};
        auto r = replies.front();
        replies.pop_front();
        return r;
    }
    bool start_tls() override { return tls_ok; }
    tls_problem last_tls_problem() const override { return problem; }
    bool silent_for(std::chrono::milliseconds) override { return replies.empty(); }
    void close_now() override {}

    void reply(std::string line) { replies.push_back({received::kind::line, std::move(line), 0}); }
};

test_case one_case(const std::string& text) {
    static std::deque<std::vector<test_case>> keep; // results point at their case
    keep.push_back(parse_transcript(text, "t.pop3"));
    return keep.back().at(0);
}

run_options options() {
    run_options o;
    o.vars = {{"user", "user"}, {"pass", "pass"}};
    o.step_timeout = 100ms;
    return o;
}

const std::string header = "case: t/1\ntitle: t\nrfc: 1939 §5\n";

} // namespace

TEST_CASE("verdicts: a reply that does not come is an error, not a failure") {
    const auto tc = one_case(header + "S: +OK*\nC: NOOP\nS: +OK*\n");
    scripted peer;
    peer.reply("+OK ready");
    const auto r = run_case(tc, peer, options());
    CHECK(r.v == verdict::error);
    CHECK(r.timed_out);
    CHECK(r.reason == "no reply within 0.1 s");
    CHECK(r.line == 6);
}

TEST_CASE("verdicts: a case about closure or silence still fails on a timeout") {
    // !close: the peer must close; staying open past the step timeout is what is checked.
    const auto closing = one_case(header + "S: +OK*\nC: QUIT\nS: +OK*\n!close\n");
    scripted peer;
    peer.reply("+OK ready");
    peer.reply("+OK bye");
    const auto r = run_case(closing, peer, options());
    CHECK(r.v == verdict::fail);
    CHECK(r.reason == "the peer did not close the connection");
    // !no-reply: silence is the expected outcome.
    const auto quiet = one_case(header + "S: +OK*\n!no-reply 50\n");
    scripted silent;
    silent.reply("+OK ready");
    CHECK(run_case(quiet, silent, options()).v == verdict::pass);
}

TEST_CASE("verdicts: a transcript problem is an error") {
    const auto tc = one_case(header + "S: +OK*\nC: USER {nobody}\nS: +OK*\n");
    scripted peer;
    peer.reply("+OK ready");
    const auto r = run_case(tc, peer, options());
    CHECK(r.v == verdict::error);
    CHECK(r.reason.find("unknown variable {nobody}") != std::string::npos);
}

TEST_CASE("verdicts: a wrong reply still fails, with the wire line") {
    const auto tc = one_case(header + "S: +OK*\nC: NOOP\nS: +OK*\n");
    scripted peer;
    peer.reply("+OK ready");
    peer.reply("-ERR no");
    const auto r = run_case(tc, peer, options());
    CHECK(r.v == verdict::fail);
    CHECK(r.actual == "-ERR no");
}

TEST_CASE("probe: a server without CAPA (RFC 2449 §5) is probed by trying") {
    scripted peer;
    for (const char* l : {"+OK ready", "-ERR unknown command", "+OK", "+OK in", "+OK 2 100", "+OK",
                          "1 a", "2 b", ".", "+OK", "Subject: x", "", ".", "+OK bye"})
        peer.reply(l);
    const auto facts = probe(peer, options());
    CHECK_FALSE(facts.capa);
    CHECK(facts.logged_in);
    CHECK(facts.caps.has("USER"));
    CHECK(facts.caps.has("UIDL"));
    CHECK(facts.caps.has("TOP"));
    CHECK(peer.sent == "CAPA\r\nUSER user\r\nPASS pass\r\nSTAT\r\nUIDL\r\nTOP 1 0\r\nQUIT\r\n");
    // A case that sends CAPA cannot judge it; one that needs UIDL runs.
    const auto about_capa = one_case(header + "S: +OK*\nC: CAPA\nS: +OK*\n");
    const auto capa_why = unmet_precondition(about_capa, facts, options());
    REQUIRE(capa_why);
    CHECK(capa_why->reason == "the server does not implement CAPA (it answered -ERR; RFC 2449 §5)");
    CHECK(capa_why->not_applicable);
    const auto needs_uidl = one_case(header + "requires: capa:UIDL\nS: +OK*\n");
    CHECK_FALSE(unmet_precondition(needs_uidl, facts, options()));
    const auto needs_capa = one_case(header + "requires: capa\nS: +OK*\n");
    CHECK(unmet_precondition(needs_capa, facts, options()));
}

TEST_CASE("probe: only -ERR to CAPA means it is not implemented") {
    // A server that hangs or closes on CAPA is judged by the CAPA cases, not excused.
    scripted silent; // CAPA gets nothing at all
    silent.reply("+OK ready");
    CHECK(probe(silent, options()).capa);
    scripted garbage;
    garbage.reply("+OK ready");
    garbage.reply("what?");
    CHECK(probe(garbage, options()).capa);
}

TEST_CASE("verdicts: !may-close lets the peer close there, and only there") {
    const auto tc = one_case(header + "S: +OK*\nC: PASS wrong\nS: -ERR*\n!may-close\n"
                                      "C: STAT\nS: -ERR*\nC: QUIT\nS: +OK*\n!close\n");
    SECTION("it closes after the -ERR: passed") {
        scripted peer;
        peer.reply("+OK ready");
        peer.reply("-ERR no");
        peer.replies.push_back({received::kind::eof, {}, 0});
        const auto r = run_case(tc, peer, options());
        CHECK(r.v == verdict::pass);
        CHECK(r.reason.starts_with("the peer closed at !may-close (line 7)"));
    }
    SECTION("it stays open and answers: judged as before") {
        scripted peer;
        peer.reply("+OK ready");
        peer.reply("-ERR no");
        peer.reply("+OK 1 10"); // STAT in AUTHORIZATION
        CHECK(run_case(tc, peer, options()).v == verdict::fail);
    }
    SECTION("a close after it answered is not allowed") {
        scripted peer;
        peer.reply("+OK ready");
        peer.reply("-ERR no");
        peer.reply("-ERR not yet");
        peer.replies.push_back({received::kind::eof, {}, 0});
        CHECK(run_case(tc, peer, options()).v == verdict::fail);
    }
}

TEST_CASE("verdicts: a failure and an error carry the dialogue, secrets masked") {
    SECTION("a failure: every line up to the one that failed") {
        const auto tc = one_case(header + "S: +OK*\nC: USER {user}\nS: +OK*\nC: PASS {pass}\n"
                                          "S: +OK*\nC: NOOP\nS: +OK*\n");
        scripted peer;
        peer.reply("+OK ready");
        peer.reply("+OK user");
        peer.reply("+OK in");
        peer.reply("-ERR \x1b[31mno");
        const auto r = run_case(tc, peer, options());
        CHECK(r.v == verdict::fail);
        CHECK(r.evidence == "S: +OK ready\nC: USER user\nS: +OK user\nC: PASS ****\n"
                            "S: +OK in\nC: NOOP\nS: -ERR \\x1B[31mno\n");
    }
    SECTION("an error: the silence is in the dialogue") {
        const auto tc = one_case(header + "S: +OK*\nC: NOOP\nS: +OK*\n");
        scripted peer;
        peer.reply("+OK ready");
        const auto r = run_case(tc, peer, options());
        CHECK(r.v == verdict::error);
        CHECK(r.evidence == "S: +OK ready\nC: NOOP\n(nothing within 0.1 s)\n");
    }
    SECTION("lines sent in one write are marked as the transcript marks them") {
        const auto tc = one_case(header + "S: +OK*\nC: STLS\nC+: CAPA\nS: +OK*\nC: NOOP\n"
                                          "S: +OK\n");
        scripted peer;
        peer.reply("+OK ready");
        peer.reply("+OK begin TLS");
        peer.reply("+OK capability list follows");
        const auto r = run_case(tc, peer, options());
        CHECK(r.v == verdict::fail);
        CHECK(r.evidence == "S: +OK ready\nC: STLS\nC+: CAPA\nS: +OK begin TLS\nC: NOOP\n"
                            "S: +OK capability list follows\n");
    }
    SECTION("a long dialogue: the first lines and the last ones") {
        std::string text = header + "S: +OK*\n";
        for (int i = 0; i < 100; ++i)
            text += "C: NOOP\nS: +OK*\n";
        text += "C: QUIT\nS: +OK bye\n";
        const auto tc = one_case(text);
        scripted peer;
        peer.reply("+OK ready");
        for (int i = 0; i < 100; ++i)
            peer.reply("+OK " + std::to_string(i));
        peer.reply("-ERR no");
        const auto r = run_case(tc, peer, options());
        REQUIRE(r.v == verdict::fail);
        // 203 lines: 12 first, 48 last, 143 between.
        CHECK(r.evidence.starts_with("S: +OK ready\nC: NOOP\nS: +OK 0\n"));
        CHECK(r.evidence.find("\n(143 lines not shown)\n") != std::string::npos);
        CHECK(r.evidence.ends_with("S: +OK 99\nC: QUIT\nS: -ERR no\n"));
    }
    SECTION("a pass carries none") {
        const auto tc = one_case(header + "S: +OK*\n");
        scripted peer;
        peer.reply("+OK ready");
        CHECK(run_case(tc, peer, options()).evidence.empty());
    }
}

TEST_CASE("verdicts: after PASS, APOP and AUTH, and after their -ERR, the runner waits longer") {
    const auto tc = one_case(header + "S: +OK*\nC: USER {user}\nS: +OK*\nC: PASS wrong\nS: -ERR*\n"
                                      "C: AUTH PLAIN\nS: + *\nC: {plain}\nS: +OK*\nC: NOOP\n"
                                      "S: +OK*\nC: APOP u d\nS: -ERR*\nC: NOOP\nS: +OK*\n"
                                      "C: NOOP\nS: +OK*\n");
    scripted peer;
    for (const char* line :
         {"+OK ready", "+OK", "-ERR [AUTH] wrong", "+ ", "+OK in", "+OK", "-ERR no", "+OK", "+OK"})
        peer.reply(line);
    const auto opt = options();
    const auto r = run_case(tc, peer, opt);
    CHECK(r.v == verdict::pass);
    const auto slow = opt.step_timeout * failed_login_wait_factor;
    const std::vector<std::chrono::milliseconds> expected = {
        opt.step_timeout, // greeting
        opt.step_timeout, // USER
        slow,             // PASS
        slow,             // AUTH PLAIN: the challenge
        slow,             // the SASL response: the outcome
        opt.step_timeout, // NOOP after a successful login
        slow,             // APOP
        slow,             // NOOP after APOP's -ERR: the auth penalty may delay it
        opt.step_timeout, // then back to the step timeout
    };
    CHECK(peer.waits == expected);
    CHECK(failed_login_wait_factor == 3);
}

namespace {

// A peer whose reply to the second PASS comes `delay` after it was asked for, in virtual time:
// a read with a shorter timeout times out and uses its timeout up.
class late_second_pass final : public connection {
public:
    explicit late_second_pass(std::chrono::milliseconds delay) : left_(delay) {}
    void send(std::string_view bytes) override {
        for (std::size_t at = 0; (at = bytes.find("PASS", at)) != std::string_view::npos; ++at)
            ++passes_;
    }
    received read_line(std::chrono::milliseconds timeout) override {
        if (lines_.empty()) return {received::kind::timeout, {}, 0};
        if (passes_ == 2 && lines_.front() == "+OK logged in" && left_ > timeout) {
            left_ -= timeout;
            return {received::kind::timeout, {}, 0};
        }
        auto line = lines_.front();
        lines_.pop_front();
        return {received::kind::line, line, 0};
    }
    bool start_tls() override { return false; }
    tls_problem last_tls_problem() const override { return {}; }
    bool silent_for(std::chrono::milliseconds) override { return lines_.empty(); }
    void close_now() override {}

private:
    std::chrono::milliseconds left_;
    int passes_ = 0;
    std::deque<std::string> lines_{"+OK ready", "+OK",           "-ERR [AUTH] wrong",
                                   "+OK",       "+OK logged in", "+OK bye"};
};

} // namespace

TEST_CASE("verdicts: a correct PASS answered 8 s after a failed one is never failed") {
    const auto tc = one_case(header + "S: +OK*\nC: USER {user}\nS: +OK*\nC: PASS wrong\nS: -ERR*\n"
                                      "C: USER {user}\nS: +OK*\nC: PASS {pass}\nS: +OK*\n"
                                      "C: QUIT\nS: +OK*\n");
    auto opt = options();
    opt.step_timeout = 5s; // the default
    late_second_pass penalised(8s);
    CHECK(run_case(tc, penalised, opt).v == verdict::pass);
    // Past even the longer wait, it is still not judged: an error, never a failure.
    late_second_pass silent(opt.step_timeout * failed_login_wait_factor * 3);
    const auto r = run_case(tc, silent, opt);
    CHECK(r.v == verdict::error);
}

TEST_CASE("verdicts: a login answered -ERR [IN-USE] is an error to retry, not a failure") {
    const auto tc = one_case(header + "S: +OK*\nC: USER {user}\nS: +OK*\nC: PASS {pass}\n"
                                      "S: +OK*\nC: STAT\nS: +OK*\n");
    scripted peer;
    for (const char* line : {"+OK ready", "+OK", "-ERR [IN-USE] Mailbox in use"})
        peer.reply(line);
    const auto r = run_case(tc, peer, options());
    CHECK(r.v == verdict::error);
    CHECK(r.maildrop_in_use);
    CHECK(r.reason.starts_with("the maildrop is in use (-ERR [IN-USE], RFC 2449 §8.1.2)"));
    scripted nested; // a code with a hierarchy under IN-USE (RFC 2449 §8)
    for (const char* line : {"+OK ready", "+OK", "-ERR [in-use/LOCKED] held"})
        nested.reply(line);
    CHECK(run_case(tc, nested, options()).maildrop_in_use);
    // Not after a login, it is the server's reply like any other.
    const auto stat = one_case(header + "S: +OK*\nC: STAT\nS: +OK*\n");
    scripted other;
    for (const char* line : {"+OK ready", "-ERR [IN-USE] odd"})
        other.reply(line);
    const auto wrong = run_case(stat, other, options());
    CHECK(wrong.v == verdict::fail);
    CHECK_FALSE(wrong.maildrop_in_use);
    // A case that expects it passes.
    const auto expects = one_case(header + "S: +OK*\nC: USER {user}\nS: +OK*\nC: PASS {pass}\n"
                                           "S: -ERR [IN-USE]*\n");
    scripted locked;
    for (const char* line : {"+OK ready", "+OK", "-ERR [IN-USE] Mailbox in use"})
        locked.reply(line);
    CHECK(run_case(expects, locked, options()).v == verdict::pass);
}

TEST_CASE("verdicts: TLS set-up problems on the runner's side are errors") {
    const auto tc = one_case(header + "tls: plain\nS: +OK*\nC: STLS\nS: +OK*\n!tls\nC: CAPA\n"
                                      "S: +OK*\n");
    scripted peer;
    peer.reply("+OK ready");
    peer.reply("+OK begin TLS");
    peer.problem = {tls_failure::certificate, "certificate not verified: self-signed"};
    auto r = run_case(tc, peer, options());
    CHECK(r.v == verdict::error);
    CHECK(r.reason.find("self-signed") != std::string::npos);
    // Plaintext after the +OK is the server's doing: RFC 2595 §4.
    scripted chatty;
    chatty.reply("+OK ready");
    chatty.reply("+OK begin TLS");
    chatty.problem = {tls_failure::plaintext_pending, {}};
    r = run_case(tc, chatty, options());
    CHECK(r.v == verdict::fail);
    // !tls-or-close: a refused handshake passes, an unverified certificate is not judged.
    const auto injection = one_case(header + "tls: plain\nS: +OK*\nC: STLS\nC+: NOOP\n"
                                             "S: +OK*\n!tls-or-close\nC: CAPA\nS: +OK*\n");
    scripted refusing;
    refusing.reply("+OK ready");
    refusing.reply("+OK begin TLS");
    refusing.problem = {tls_failure::handshake, "wrong version number"};
    CHECK(run_case(injection, refusing, options()).v == verdict::pass);
    scripted unverified;
    unverified.reply("+OK ready");
    unverified.reply("+OK begin TLS");
    unverified.problem = {tls_failure::certificate, "unable to get local issuer certificate"};
    CHECK(run_case(injection, unverified, options()).v == verdict::error);
    // --starttls set-up: STLS refused for the run is the run's problem.
    const auto any = one_case(header + "S: +OK*\nC: NOOP\nS: +OK*\n");
    scripted no_stls;
    no_stls.reply("+OK ready");
    no_stls.reply("-ERR no TLS today");
    auto opt = options();
    opt.tls = run_tls::starttls;
    r = run_case(any, no_stls, opt);
    CHECK(r.v == verdict::error);
    CHECK(r.reason == "STLS (for --starttls) refused");
}

TEST_CASE("verdicts: errors are counted apart and do not decide the exit status") {
    test_case must, should;
    must.id = "a/must";
    must.rfc = "1939 §5";
    must.title = "t";
    must.lvl = level::must;
    should = must;
    should.id = "a/should";
    should.lvl = level::should;
    std::vector<case_result> rs = {{&must, verdict::pass},
                                   {&must, verdict::error, "no reply within 5 s"},
                                   {&should, verdict::error, "no reply within 5 s"},
                                   {&must, verdict::skip, "needs TLS"}};
    const auto s = summarize(rs);
    CHECK(s.errors == 2);
    CHECK(s.failed == 0);
    CHECK(exit_status(s, false) == 0);
    CHECK(exit_status(s, true) == 0);
    std::ostringstream console, junit, json;
    write_console(console, "t", rs, false);
    const auto text = console.str();
    // The last line is the counts, with the errors appended; the skipped MUST case is named.
    CHECK(text.ends_with("\n1 passed, 0 failed, 1 skipped, 2 errors\n"));
    CHECK(text.find("skipped MUST cases:\n  a/must: needs TLS\n") != std::string::npos);
    CHECK(text.find("error (not judged): no reply within 5 s") != std::string::npos);
    write_junit(junit, "t", rs);
    CHECK(junit.str().find("<error message=\"no reply within 5 s\">") != std::string::npos);
    CHECK(junit.str().find("errors=\"2\"") != std::string::npos);
    write_json(json, "t", rs);
    CHECK(json.str().find("\"errors\": 2") != std::string::npos);
    CHECK(json.str().find("\"result\": \"error\"") != std::string::npos);
    // No errors: the line is exactly as before (scripts read it).
    std::ostringstream plain;
    write_console(plain, "t", {{&should, verdict::pass}}, false);
    CHECK(plain.str().ends_with("\n1 passed, 0 failed, 0 skipped\n"));
}

TEST_CASE("n/a: a case about what the server does not offer is told apart from a gap of the run") {
    target_facts facts;
    facts.capa = facts.logged_in = facts.greeted = facts.capa_read = true;
    facts.messages = 2;
    std::error_code ec;
    facts.caps.add_line("USER", ec);
    // The unmet precondition of a case that must have one.
    const auto why = [](const test_case& c, const target_facts& f) {
        const auto unmet = unmet_precondition(c, f, options());
        REQUIRE(unmet);
        return *unmet;
    };
    const auto lang = one_case(header + "requires: capa:LANG\nS: +OK*\n");
    const auto lang_why = unmet_precondition(lang, facts, options());
    REQUIRE(lang_why);
    CHECK(lang_why->reason == "the server does not advertise LANG");
    CHECK(lang_why->not_applicable);
    const auto apop = one_case(header + "requires: apop\nS: +OK*\n");
    REQUIRE(unmet_precondition(apop, facts, options()));
    CHECK(why(apop, facts).not_applicable);
    const auto cram = one_case(header + "requires: sasl:CRAM-MD5\nS: +OK*\n");
    REQUIRE(unmet_precondition(cram, facts, options()));
    CHECK(why(cram, facts).not_applicable);
    // A case for the embedded server only does not apply to another server.
    const auto scenario = one_case(header + "scenario: in-use\nS: +OK*\n");
    REQUIRE(unmet_precondition(scenario, facts, options()));
    CHECK(why(scenario, facts).not_applicable);
    const auto embedded = one_case(header + "requires: embedded\nS: +OK*\n");
    REQUIRE(unmet_precondition(embedded, facts, options()));
    CHECK(why(embedded, facts).not_applicable);
    // What the probe could not learn is a gap, never n/a: CAPA's answer not read whole, the
    // greeting missing, a CAPA-less server whose login failed (so nothing was tried).
    auto unread = facts;
    unread.capa_read = false;
    CHECK_FALSE(why(lang, unread).not_applicable);
    CHECK(why(lang, unread).reason == "the probe could not learn whether the server offers LANG");
    unread.greeted = false;
    CHECK_FALSE(why(apop, unread).not_applicable);
    auto capa_less = facts;
    capa_less.capa = capa_less.logged_in = false;
    const auto needs_uidl = one_case(header + "requires: capa:UIDL\nS: +OK*\n");
    CHECK_FALSE(why(needs_uidl, capa_less).not_applicable);
    capa_less.logged_in = true;
    CHECK(why(needs_uidl, capa_less).not_applicable);
    const auto about_capa = one_case(header + "S: +OK*\nC: CAPA\nS: +OK*\n");
    CHECK(why(about_capa, capa_less).not_applicable);
    capa_less.capa_read = false; // no greeting, no CAPA answer: nothing is known
    CHECK_FALSE(why(about_capa, capa_less).not_applicable);
    // A case that does STLS itself, in a plain run, against a server offering STLS: what is
    // not offered before TLS may be inside it.
    auto with_stls = facts;
    with_stls.stls_offered = with_stls.tls = true;
    const auto sasl_in_tls =
        one_case(header + "tls: plain\nrequires: tls, capa:SASL\nS: +OK*\nC: STLS\nS: +OK*\n");
    const auto in_tls_why = unmet_precondition(sasl_in_tls, with_stls, options());
    REQUIRE(in_tls_why);
    CHECK_FALSE(in_tls_why->not_applicable);
    CHECK(in_tls_why->reason.starts_with("the server does not offer SASL before TLS"));
    // USER is offered before TLS: the case runs.
    const auto user_in_tls =
        one_case(header + "tls: plain\nrequires: tls, capa:USER\nS: +OK*\nC: STLS\nS: +OK*\n");
    CHECK_FALSE(unmet_precondition(user_in_tls, with_stls, options()));
    // A case that starts in TLS is judged on the same CAPA as before.
    REQUIRE(unmet_precondition(lang, with_stls, options()));
    CHECK(why(lang, with_stls).not_applicable);
    // What the run could not arrange is a gap, not n/a.
    const auto fixture = one_case(header + "maildrop: dots\nS: +OK*\n");
    REQUIRE(unmet_precondition(fixture, facts, options()));
    CHECK_FALSE(why(fixture, facts).not_applicable);
    const auto many = one_case(header + "requires: messages>=3\nS: +OK*\n");
    REQUIRE(unmet_precondition(many, facts, options()));
    CHECK_FALSE(why(many, facts).not_applicable);

    // The reports keep the counts line and tell the two apart.
    test_case must = lang;
    must.lvl = level::must;
    test_case gap = must;
    gap.id = "t/2";
    std::vector<case_result> rs = {{&must, verdict::skip, lang_why->reason},
                                   {&gap, verdict::skip, "needs the embedded mock server"}};
    rs[0].outcome = outcome_not_applicable;
    const auto s = summarize(rs);
    CHECK(s.skipped == 2);
    CHECK(s.not_applicable == 1);
    std::ostringstream console, json, junit;
    write_console(console, "t", rs, false);
    const auto text = console.str();
    CHECK(text.find("skipped MUST cases:\n  t/2: needs the embedded mock server\n") !=
          std::string::npos);
    CHECK(text.find("n/a MUST cases (the server does not offer what they test):\n"
                    "  t/1: the server does not advertise LANG\n") != std::string::npos);
    CHECK(text.ends_with("\n0 passed, 0 failed, 2 skipped\n"));
    write_json(json, "t", rs);
    CHECK(json.str().find("\"not_applicable\": 1") != std::string::npos);
    CHECK(json.str().find("\"outcome\": \"n/a\"") != std::string::npos);
    write_junit(junit, "t", rs);
    CHECK(junit.str().find("<skipped message=\"n/a: the server does not advertise LANG\"/>") !=
          std::string::npos);
}

TEST_CASE("long lines: a 1 MiB line is judged by the linear matcher, in bounded time") {
    variables v;
    const std::string stuffed = ".." + std::string((1 << 20) - 1, 'x');
    const std::string unstuffed = "." + std::string(1 << 20, 'x');
    const std::string plain(1 << 20, 'y');
    const std::string any_server = "{=(?:[^.].*)?|\\.\\..*}"; // rfc1939/3/dot-stuffing/any-server
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(match_line(any_server, stuffed, v));
    CHECK(match_line(any_server, plain, v));
    CHECK_FALSE(match_line(any_server, unstuffed, v));
    CHECK(match_line("{=\\.\\.[!-~]*}", stuffed, v));
    CHECK(match_line("..x*{=x{3}}", stuffed, v));
    CHECK_FALSE(match_line("..x*{=x{3}}z", stuffed, v));
    CHECK(match_line("{=[xy]+} || nope", plain, v));
    // Linear work is seconds even in the sanitizer build on a loaded machine (10 s seen); a
    // quadratic matcher would take hours over 1 MiB. The bound tells them apart, not the speed.
    CHECK(std::chrono::steady_clock::now() - t0 < 120s);
    // What the linear matcher cannot take throws run_error: the verdict error, never a failure.
    CHECK_THROWS_AS(match_line("{=(?!\\.)[\\s\\S]*}", plain, v), run_error);
    CHECK_THROWS_AS(match_line("{n=y*}", plain, v), run_error);
}

TEST_CASE("long lines: the linear matcher agrees with Boost.Regex on short lines") {
    // Regex pieces the transcripts use, combined at random, against lines made of the bytes
    // that make a difference (separators, dots, digits, word and space characters).
    const std::vector<std::string> pieces = {
        ".",        "\\.",      "[^.]",  "[!-~]", "\\d",    "\\D",      "\\w",         "\\W",
        "\\s",      "\\S",      "a",     "b",     " ",      "x*",       "a+",          "b?",
        "[ab]{2}",  "\\d{1,3}", "a{2,}", ".*",    "(?:ab)", "(?:a|b)*", "(?:[^.].*)?", "\\.\\..*",
        "[\\s\\S]", "[-a]",     "[a-]",  "\\x41", "[+\\-]", "^",        "$",           "(?:a|)",
        "x*?",      "[^\\d]",   "\\|",   "\\*"};
    const std::string alphabet("ab .x19A_-+|*\t\f\r\0\x85\xff", 19);
    std::mt19937 rng(13);
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n)(rng);
    };
    std::size_t compared = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string re;
        for (std::size_t k = 0, n = 1 + pick(3); k < n; ++k)
            re += pieces[pick(pieces.size() - 1)];
        if (pick(4) == 0) re += "|" + pieces[pick(pieces.size() - 1)];
        const std::string pattern =
            (pick(2) == 0 ? "a*" : "") + ("{=" + re + "}") + (pick(2) == 0 ? "*" : "");
        if (!regex_problem(re).empty()) continue;
        for (int l = 0; l < 8; ++l) {
            std::string line;
            for (std::size_t k = 0, n = pick(6); k < n; ++k)
                line += alphabet[pick(alphabet.size() - 1)];
            variables v;
            bool boost_says = false;
            try {
                boost_says = match_line(pattern, line, v);
            } catch (const run_error&) {
                continue;
            }
            const auto linear = match_line_linear(pattern, line, v);
            if (!linear) continue;
            ++compared;
            INFO("pattern " << pattern << " line '" << line << "' (" << line.size() << " octets)");
            CHECK(*linear == boost_says);
        }
    }
    CHECK(compared > 10000);
}

namespace {

struct starttls_run {
    std::set<std::string> passed, failed, skipped, errors;
};

// Every case that does STLS itself (tls: plain), on a --starttls run against the mock server in
// memory, correct or with the STARTTLS injection flaw (mockserver/scenarios/
// stls-command-injection.toml sets the same fault).
starttls_run run_plain_cases_under_starttls(bool injection_flaw) {
    auto opt = options();
    opt.tls = run_tls::starttls;
    opt.step_timeout = 5s;
    starttls_run out;
    for (const auto& c : load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts")) {
        if (c.dir != direction::server || c.tls != start_tls_mode::plain) continue;
        auto config = embedded_config(c, POP3_SOURCE_DIR "/mockserver/scenarios");
        if (injection_flaw) config.faults.stls_keeps_plaintext = true;
        auto probe_conn = connect_memory(config);
        auto facts = probe(*probe_conn, opt);
        facts.embedded = true;
        facts.tls = true;
        if (auto why = unmet_precondition(c, facts, opt)) {
            out.skipped.insert(c.id);
            continue;
        }
        auto conn = connect_memory(config);
        const auto r = run_case(c, *conn, opt);
        INFO(c.id << ": " << r.reason);
        (r.v == verdict::pass   ? out.passed
         : r.v == verdict::fail ? out.failed
         : r.v == verdict::skip ? out.skipped
                                : out.errors)
            .insert(c.id);
    }
    return out;
}

} // namespace

TEST_CASE("starttls: cases that do STLS themselves run in a --starttls run and catch injection") {
    const auto correct = run_plain_cases_under_starttls(false);
    CHECK(correct.failed.empty());
    CHECK(correct.errors.empty());
    // Only the cases that send the password in plaintext before their own TLS are left out, by
    // name: those that log in before STLS, and the injected login (the plain run has it).
    for (const auto& id : correct.skipped) {
        INFO(id);
        CHECK((id == "rfc2595/4/STLS/transaction" || id == "rfc2595/4/STLS/transaction-capa" ||
               id == "security/starttls/injection-login"));
    }
    for (const auto& id : {"security/starttls/injection-user", "security/starttls/injection-noop",
                           "security/starttls/injection-quit", "rfc2595/4/STLS/injection"}) {
        INFO(id);
        CHECK(correct.passed.count(id) == 1);
    }
    const auto broken = run_plain_cases_under_starttls(true);
    CHECK(broken.errors.empty());
    CHECK(broken.skipped == correct.skipped);
    for (const auto& id : {"security/starttls/injection-user", "security/starttls/injection-noop",
                           "security/starttls/injection-quit", "rfc2595/4/STLS/injection"}) {
        INFO(id);
        CHECK(broken.failed.count(id) == 1);
    }
    for (const auto& id : broken.failed) {
        INFO(id);
        CHECK((id.starts_with("security/") || id.starts_with("rfc2595/4/STLS/injection")));
    }
}

TEST_CASE("starttls: unmet_precondition skips only the password in plaintext on --starttls runs") {
    target_facts facts;
    facts.embedded = facts.tls = facts.stls_offered = facts.logged_in = true;
    auto opt = options();
    opt.tls = run_tls::starttls;
    const auto injection = one_case(header + "tls: plain\nS: +OK*\nC=: ST\nC=: LS\\r\\n\n"
                                             "C+: NOOP\nS: +OK*\n!tls-or-close\n");
    CHECK_FALSE(unmet_precondition(injection, facts, opt));
    const auto after_ok = one_case(header + "tls: plain\nS: +OK*\nC: STLS\nS: +OK*\n"
                                            "C: USER {user}\nC+: STAT\n!tls-or-close\n");
    CHECK_FALSE(unmet_precondition(after_ok, facts, opt));
    // An injected password is still the password, on the wire in plaintext.
    const auto injected_login = one_case(header + "tls: plain\nS: +OK*\nC: STLS\n"
                                                  "C+: PASS {pass}\nS: +OK*\n!tls-or-close\n");
    const auto injected_why = unmet_precondition(injected_login, facts, opt);
    REQUIRE(injected_why);
    CHECK(injected_why->reason.starts_with("sends the password in plaintext (injected after STLS"));
    CHECK_FALSE(injected_why->not_applicable);
    CHECK_FALSE(unmet_precondition(injected_login, facts, options()));
    const auto login = one_case(header + "tls: plain\nS: +OK*\nC: USER {user}\nS: +OK*\n"
                                         "C: PASS {pass}\nS: +OK*\nC: STLS\nS: -ERR*\n");
    const auto why = unmet_precondition(login, facts, opt);
    REQUIRE(why);
    CHECK(why->reason.find("logs in in plaintext") != std::string::npos);
    CHECK_FALSE(unmet_precondition(login, facts, options()));
    opt.tls = run_tls::implicit;
    CHECK(unmet_precondition(injection, facts, opt));
}

TEST_CASE("long lines: the 1 MiB long-line case catches a server that does not stuff it") {
    const auto cases = load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts");
    const auto it = std::find_if(cases.begin(), cases.end(), [](const test_case& c) {
        return c.id == "rfc1939/3/dot-stuffing/long-line";
    });
    REQUIRE(it != cases.end());
    const auto opt = options();
    auto config = embedded_config(*it, POP3_SOURCE_DIR "/mockserver/scenarios");
    auto conn = connect_memory(config);
    CHECK(run_case(*it, *conn, opt).v == verdict::pass);
    pop3::mock::rule unstuffed;
    unstuffed.command = "RETR";
    unstuffed.change.replace = "+OK\r\nSubject: one long line\r\n\r\n." +
                               std::string((1 << 20) - 1, 'x') + "\r\nend\r\n.\r\n";
    config.faults.rules.push_back(unstuffed);
    auto broken = connect_memory(config);
    const auto r = run_case(*it, *broken, opt);
    CHECK(r.v == verdict::fail);
    CHECK(r.reason == "reply does not match");
}
