#include "pop3/conformance/runner.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/credential_mask.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/reply.hpp>
#include <pop3/protocol/text.hpp>
#include <thread>

namespace pop3::conformance {
namespace {

using clock_type = std::chrono::steady_clock;

std::string describe(const received& r) {
    switch (r.what) {
    case received::kind::line: return r.line;
    case received::kind::eof: return "(connection closed)";
    case received::kind::timeout: return "(nothing: timed out)";
    case received::kind::bad_line: return "(unreadable line: " + r.line + ")";
    }
    return {};
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000);
    return buf;
}

// "-ERR [IN-USE] ...": RFC 2449 §8.1.2's code for a maildrop another session holds, also with
// a hierarchy under it ("[IN-USE/...]", RFC 2449 §8).
bool in_use(std::string_view line) {
    return line.size() >= 13 && line.starts_with("-ERR [") &&
           iequals(line.substr(6, 6), "IN-USE") && (line[12] == ']' || line[12] == '/');
}

// True when `bytes` hold a command line that logs in: PASS, APOP or AUTH.
bool sends_login(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto eol = bytes.find('\n');
        const auto line = bytes.substr(0, eol);
        for (std::string_view verb : {"PASS", "APOP", "AUTH"})
            if (line.size() >= verb.size() && iequals(line.substr(0, verb.size()), verb) &&
                (line.size() == verb.size() || line[verb.size()] == ' ' ||
                 line[verb.size()] == '\r'))
                return true;
        if (eol == std::string_view::npos) break;
        bytes.remove_prefix(eol + 1);
    }
    return false;
}

std::string deviation_text(std::uint8_t d) {
    std::string s;
    if (d & deviation_bare_lf) s += " line ended in LF without CR;";
    if (d & deviation_bare_cr) s += " CR inside the line;";
    if (d & deviation_nul) s += " NUL in the line;";
    if (d & deviation_missing_crlf) s += " no CRLF before the connection closed;";
    if (d & deviation_too_long) s += " line over the limit;";
    return s;
}

std::string tls_problem_text(const tls_problem& p) {
    std::string s;
    switch (p.kind) {
    case tls_failure::none: s = "TLS failed"; break;
    case tls_failure::plaintext_pending: s = "plaintext was pending before the handshake"; break;
    case tls_failure::certificate: s = "the runner could not verify the certificate"; break;
    case tls_failure::handshake: s = "the handshake failed"; break;
    }
    return p.detail.empty() ? s : s + " (" + p.detail + ")";
}

// The dialogue of a case for its evidence, bounded: the first lines and the last ones (where a
// failure is), each escaped and cut. Each line keeps who sent it, the TLS state and its time
// too, for the HTML report (lines()); text() is the evidence.
class dialogue {
public:
    void add(std::string_view who, std::string_view line, bool tls, double ms) {
        wire_line l;
        l.from = who[0];
        l.same_write = who.size() > 1 && who[1] == '+';
        l.tls = tls;
        l.ms = ms;
        l.text = escape_for_display(line, max_shown);
        std::string shown = std::string(who) + l.text;
        keep(std::move(shown), std::move(l));
    }
    void note(std::string text, bool tls, double ms) {
        wire_line l;
        l.tls = tls;
        l.ms = ms;
        l.text = text;
        keep(std::move(text), std::move(l));
    }
    std::string text() const {
        std::string out;
        for (const auto& l : first_)
            out += l.shown + "\n";
        if (const auto left_out = total_ - first_.size() - last_.size())
            out += "(" + std::to_string(left_out) + " lines not shown)\n";
        for (const auto& l : last_)
            out += l.shown + "\n";
        return out;
    }
    // The same lines, structured; the last one marked as where expected and actual part.
    std::vector<wire_line> lines(bool last_diverges) const {
        std::vector<wire_line> out;
        for (const auto& l : first_)
            out.push_back(l.line);
        if (const auto left_out = total_ - first_.size() - last_.size()) {
            wire_line gap;
            gap.text = "(" + std::to_string(left_out) + " lines not shown)";
            gap.left_out = left_out;
            gap.tls = out.empty() ? false : out.back().tls;
            gap.ms = out.empty() ? 0 : out.back().ms;
            out.push_back(std::move(gap));
        }
        for (const auto& l : last_)
            out.push_back(l.line);
        if (last_diverges && total_ > 0) out.back().marked = wire_line::mark::diverges;
        return out;
    }

private:
    struct entry {
        std::string shown; // the evidence's line: "C: USER x"
        wire_line line;
    };
    void keep(std::string shown, wire_line line) {
        ++total_;
        entry e{std::move(shown), std::move(line)};
        if (first_.size() < keep_first) {
            first_.push_back(std::move(e));
            return;
        }
        last_.push_back(std::move(e));
        if (last_.size() > keep_last) last_.pop_front();
    }
    static constexpr std::size_t keep_first = 12, keep_last = 48, max_shown = 200;
    std::vector<entry> first_;
    std::deque<entry> last_;
    std::size_t total_ = 0;
};

class engine {
public:
    engine(const test_case& tc, connection& conn, const run_options& opt)
        : tc_(tc), conn_(conn), opt_(opt), vars_(opt.vars) {}

    case_result run() {
        case_result r;
        r.tc = &tc_;
        const auto t0 = clock_type::now();
        try {
            play(r);
        } catch (const run_error& e) {
            // A transcript problem or the runner's own limit: it cannot judge the peer.
            const bool pattern = current_ && (current_->what == step::kind::expect ||
                                              current_->what == step::kind::expect_any);
            std::string shown;
            if (pattern)
                shown = std::string(tc_.dir == direction::client ? "C" : "S") +
                        (current_->what == step::kind::expect ? ": " : "*: ") + current_->text;
            error(r, e.what(), failing_line_, shown);
        }
        r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
        // What a maintainer reads to check a verdict: the dialogue as it went.
        if (r.v == verdict::fail || r.v == verdict::error) r.evidence = dialogue_.text();
        // Every case's, for the HTML report; the last line is where a failed step parted.
        if (opt_.keep_dialogue)
            r.dialogue = dialogue_.lines((r.v == verdict::fail || r.v == verdict::error) &&
                                         !r.expected.empty() && !actual_unlogged_);
        return r;
    }

private:
    static void fail(case_result& r, std::string reason, std::string expected, std::string actual,
                     std::size_t line) {
        if (r.v != verdict::pass) return;
        r.v = verdict::fail;
        r.reason = std::move(reason);
        r.expected = std::move(expected);
        // Peer bytes are shown escaped (CR, LF, NUL, non-ASCII as \xHH): reports stay text.
        r.actual = escape_for_display(actual, 300);
        r.line = line;
    }

    // The runner cannot judge: counted apart, never as the peer's failure.
    static void error(case_result& r, std::string reason, std::size_t line,
                      std::string expected = {}, std::string actual = {}) {
        if (r.v == verdict::fail || r.v == verdict::error) return;
        r.v = verdict::error;
        r.reason = std::move(reason);
        r.expected = std::move(expected);
        r.actual = escape_for_display(actual, 300);
        r.line = line;
    }

    // How long the next reply may take: longer after a login command or a failed login.
    std::chrono::milliseconds reply_wait() const {
        return slow_reply_ ? opt_.step_timeout * failed_login_wait_factor : opt_.step_timeout;
    }

    double elapsed_ms() const {
        return std::chrono::duration<double, std::milli>(clock_type::now() - started_).count();
    }
    void say(std::string_view who, std::string_view line) {
        dialogue_.add(who, line, tls_, elapsed_ms());
    }
    void note(std::string text) { dialogue_.note(std::move(text), tls_, elapsed_ms()); }

    // The runner's own lines are client lines against a server, server lines against a client.
    // Lines after the first of one write are marked as the transcript marks them (C+:), so
    // that a maintainer sees what arrived in one segment (the injection cases).
    void log_sent(std::string_view bytes) {
        const bool client = tc_.dir != direction::client;
        for (bool first = true; !bytes.empty(); first = false) {
            const auto lf = bytes.find('\n');
            auto line = bytes.substr(0, lf);
            bytes.remove_prefix(lf == std::string_view::npos ? bytes.size() : lf + 1);
            if (line.ends_with('\r')) line.remove_suffix(1);
            if (client) {
                say(first ? "C: " : "C+: ", mask_.client_line(line));
            } else {
                mask_.server_line(line);
                say(first ? "S: " : "S+: ", line);
            }
        }
    }

    void log_received(const received& got) {
        const bool from_client = tc_.dir == direction::client;
        const std::string who = from_client ? "C: " : "S: ";
        switch (got.what) {
        case received::kind::line:
            if (from_client) {
                say(who, mask_.client_line(got.line));
            } else {
                mask_.server_line(got.line);
                say(who, got.line);
            }
            break;
        case received::kind::eof: note("(the peer closed the connection)"); break;
        case received::kind::timeout:
            note("(nothing within " + seconds_text(last_wait_) + ")");
            break;
        case received::kind::bad_line: note(describe(got)); break;
        }
    }

    void sent(std::string_view bytes) {
        log_sent(bytes);
        // The SASL exchange after AUTH ("+ " challenges) and the step after a login's -ERR wait
        // as long as the login command itself.
        slow_reply_ = sends_login(bytes) || login_failed_ || in_sasl_;
        login_failed_ = in_sasl_ = false;
        after_send_ = true;
    }

    void seen(const received& got) {
        if (!slow_reply_ || got.what != received::kind::line) return;
        login_failed_ = got.line.starts_with("-ERR");
        in_sasl_ = got.line == "+" || got.line.starts_with("+ ");
    }

    // A reply that did not come: the runner cannot say the peer is wrong (it may be slow).
    void no_reply(case_result& r, const step& s, const std::string& shown) {
        error(r,
              budget_spent_
                  ? "the case's time budget of " + seconds_text(case_budget()) + " ran out"
                  : "no reply within " + seconds_text(last_wait_),
              s.line, shown, "(nothing)");
        r.timed_out = !budget_spent_;
    }

    // Each step waits at most the step timeout, and a whole case at most case_budget: a peer
    // that sends an endless body cannot keep an S*: step (or the run) going forever.
    received next_line() {
        if (pushed_back_) return *std::exchange(pushed_back_, std::nullopt);
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - clock_type::now());
        if (left.count() <= 0) {
            budget_spent_ = true;
            return {received::kind::timeout, {}, 0};
        }
        last_wait_ = std::min(reply_wait(), left);
        budget_spent_ = last_wait_ < reply_wait();
        auto got = conn_.read_line(last_wait_);
        if (got.what != received::kind::timeout) budget_spent_ = false;
        seen(got);
        log_received(got);
        return got;
    }

    std::chrono::milliseconds case_budget() const {
        return std::max<std::chrono::milliseconds>(std::chrono::seconds(60),
                                                   opt_.step_timeout * 12);
    }

    // Reads one line for an S: step; false (with the failure recorded) when it is not a clean
    // line matching `pattern`.
    bool expect(case_result& r, const step& s, const std::string& pattern) {
        const auto got = next_line();
        if (got.what == received::kind::eof && may_close_) {
            // The peer closed where the case allows it (!may-close): nothing more to judge, and
            // the report says what was not exercised.
            finished_ = true;
            r.reason = "the peer closed at !may-close (line " + std::to_string(may_close_line_) +
                       "), as the RFC allows; the rest of the case was not exercised";
            return false;
        }
        const std::string shown =
            std::string(tc_.dir == direction::client ? "C: " : "S: ") + pattern;
        if (got.what == received::kind::timeout) {
            no_reply(r, s, shown);
            return false;
        }
        if (got.what == received::kind::bad_line) {
            // The only line the lenient framing refuses is one past the runner's own limit.
            error(r, "cannot read the line: " + got.line + " (the runner's limit)", s.line, shown,
                  describe(got));
            return false;
        }
        if (got.what != received::kind::line) {
            fail(r, "no line", shown, describe(got), s.line);
            return false;
        }
        // The first line after we sent something is a status line (512 octets with CRLF,
        // RFC 2449 §4) from a server, or a command line (255 octets) from a client.
        const bool first_after_send = std::exchange(after_send_, false);
        const std::size_t limit = tc_.dir == direction::client ? 255 : 512;
        if ((first_after_send || tc_.dir == direction::client) && got.line.size() + 2 > limit) {
            fail(r,
                 "line of " + std::to_string(got.line.size() + 2) + " octets with CRLF, over the " +
                     std::to_string(limit) + " of RFC 2449 §4",
                 shown, got.line, s.line);
            return false;
        }
        if (got.deviations & ~deviation_too_long) {
            fail(r, "malformed line:" + deviation_text(got.deviations), shown, got.line, s.line);
            return false;
        }
        if (!match_line(pattern, got.line, vars_) && tc_.dir == direction::server && slow_reply_ &&
            in_use(got.line)) {
            // Authentication worked (§8.1.2) but another session holds the maildrop: the
            // server is right, and the case cannot run now.
            error(r,
                  "the maildrop is in use (-ERR [IN-USE], RFC 2449 §8.1.2): another session "
                  "holds it, most likely the previous case's, still ending",
                  s.line, shown, got.line);
            r.maildrop_in_use = true;
            return false;
        }
        if (!match_line(pattern, got.line, vars_)) {
            fail(r,
                 tc_.dir == direction::client ? "command does not match" : "reply does not match",
                 shown, got.line, s.line);
            return false;
        }
        may_close_ = false; // it answered: it stayed open
        return true;
    }

    // With --starttls, the steps before the first C: (the greeting) are matched, then STLS and
    // the handshake happen, then the dialogue goes on inside TLS.
    void play(case_result& r) {
        const auto& steps = tc_.steps;
        bool upgraded = opt_.tls != run_tls::starttls || tc_.tls != start_tls_mode::any ||
                        tc_.dir == direction::client;
        for (std::size_t i = 0; i < steps.size() && r.v == verdict::pass && !finished_; ++i) {
            const step& s = steps[i];
            failing_line_ = s.line;
            current_ = &s;
            if (!upgraded && s.what == step::kind::send) {
                // The run's own set-up, not what the case checks: a problem here is an error.
                upgraded = true;
                conn_.send("STLS\r\n");
                log_sent("STLS\r\n");
                const auto got = next_line();
                if (got.what != received::kind::line || !got.line.starts_with("+OK"))
                    return error(r, "STLS (for --starttls) refused", s.line, "S: +OK*",
                                 describe(got));
                note("(TLS handshake for --starttls)");
                if (!conn_.start_tls())
                    return error(r,
                                 "TLS after STLS (for --starttls) could not start: " +
                                     tls_problem_text(conn_.last_tls_problem()),
                                 s.line);
                tls_ = true;
            }
            switch (s.what) {
            case step::kind::send: {
                std::string bytes = expand(s.text, vars_) + (s.crlf ? "\r\n" : "");
                while (i + 1 < steps.size() && steps[i + 1].what == step::kind::send &&
                       steps[i + 1].same_segment) {
                    ++i;
                    bytes += expand(steps[i].text, vars_) + (steps[i].crlf ? "\r\n" : "");
                }
                conn_.send(bytes);
                sent(bytes);
                break;
            }
            case step::kind::expect: expect(r, s, s.text); break;
            case step::kind::expect_any:
                while (true) {
                    auto got = next_line();
                    variables trial = vars_;
                    // A lone "." always ends a multi-line reply: S*: never swallows it.
                    if (got.what == received::kind::line && got.line != "." &&
                        !(got.deviations & ~deviation_too_long) &&
                        match_line(s.text, got.line, trial)) {
                        vars_ = std::move(trial);
                        continue;
                    }
                    pushed_back_ = std::move(got);
                    break;
                }
                break;
            case step::kind::tls:
                note("(TLS handshake)");
                if (!conn_.start_tls()) {
                    const auto why = conn_.last_tls_problem();
                    if (why.kind == tls_failure::plaintext_pending)
                        fail(r,
                             "plaintext was pending after STLS (it would have been read as if "
                             "inside TLS; RFC 2595 §4: TLS begins right after the +OK's CRLF)",
                             "!tls", "no TLS", s.line);
                    else // the runner cannot tell whose side broke the handshake
                        error(r, "TLS could not start: " + tls_problem_text(why), s.line, "!tls",
                              "no TLS");
                } else {
                    tls_ = true;
                }
                break;
            case step::kind::tls_or_close:
                // Either outcome is safe: TLS starts and the dialogue goes on inside it, or the
                // peer refuses the handshake (e.g. it took injected bytes for TLS) and the case
                // ends here, passed. Unless the runner itself could not verify the certificate:
                // then it has not seen what the peer does, and cannot say "passed".
                note("(TLS handshake, or the peer closes)");
                if (!conn_.start_tls()) {
                    const auto why = conn_.last_tls_problem();
                    if (why.kind == tls_failure::certificate)
                        error(r, "TLS could not start: " + tls_problem_text(why), s.line,
                              "!tls-or-close", "no TLS");
                    return;
                }
                tls_ = true;
                break;
            case step::kind::close: {
                const auto got = next_line();
                if (got.what != received::kind::eof)
                    fail(r, "the peer did not close the connection", "!close", describe(got),
                         s.line);
                break;
            }
            case step::kind::may_close:
                may_close_ = true;
                may_close_line_ = s.line;
                break;
            case step::kind::hangup:
                note("(the runner closes the connection)");
                conn_.close_now();
                break;
            case step::kind::no_reply:
                // A timeout an S*: step pushed back is silence, not something sent.
                if (pushed_back_ && pushed_back_->what == received::kind::timeout)
                    pushed_back_.reset();
                if (pushed_back_ || !conn_.silent_for(std::chrono::milliseconds(s.millis))) {
                    // What came is read here, not logged: no line of the dialogue shows it.
                    actual_unlogged_ = !pushed_back_;
                    fail(
                        r, "the peer sent something", "!no-reply " + std::to_string(s.millis),
                        describe(pushed_back_ ? *pushed_back_ : conn_.read_line(opt_.step_timeout)),
                        s.line);
                }
                break;
            case step::kind::wait:
                std::this_thread::sleep_for(std::chrono::milliseconds(s.millis));
                break;
            }
        }
    }

    const test_case& tc_;
    connection& conn_;
    const run_options& opt_;
    variables vars_;
    credential_mask mask_;
    dialogue dialogue_;
    std::optional<received> pushed_back_;
    std::size_t failing_line_ = 0;
    const step* current_ = nullptr;
    bool after_send_ = false;
    bool slow_reply_ = false, login_failed_ = false, in_sasl_ = false;
    bool budget_spent_ = false;
    bool actual_unlogged_ = false; // the failing step's actual is in no line of the dialogue
    bool may_close_ = false;       // !may-close: a close before the next matched line ends the case
    bool finished_ = false;        // ... and it did
    std::size_t may_close_line_ = 0;
    std::chrono::milliseconds last_wait_{0};
    clock_type::time_point deadline_ = clock_type::now() + case_budget();
    clock_type::time_point started_ = clock_type::now();
    // Inside TLS: from the start on an implicit-TLS connection (where the tool runs such cases),
    // from a handshake that worked otherwise.
    bool tls_ = opt_.tls == run_tls::implicit || tc_.tls == start_tls_mode::implicit;
};

// True when upper-cased transcript text holds a secret: the password, or a digest or SASL
// response made from it.
bool has_secret(std::string_view upper) {
    for (std::string_view secret : {"{PASS}", "{PLAIN}", "{B64PASS}", "{APOP(", "{CRAM("})
        if (upper.find(secret) != std::string_view::npos) return true;
    return false;
}

// True when one of the case's own commands is CAPA (one sent in the same write after another
// command, as after QUIT, is not).
bool sends_capa(const test_case& tc) {
    return std::any_of(tc.steps.begin(), tc.steps.end(), [](const step& s) {
        return s.what == step::kind::send && !s.same_segment &&
               iequals(s.text.substr(0, s.text.find(' ')), "CAPA");
    });
}

// True when the case sends a login (PASS, APOP, AUTH or a credential function) before it has
// sent STLS. What it sends after STLS and before its TLS step (in the same write, in a later
// segment, after the +OK) is an attacker's injection, which a correct server discards.
bool logs_in_before_tls(const test_case& tc) {
    std::string sent; // the plaintext stream so far, upper-cased
    for (const auto& s : tc.steps) {
        if (s.what == step::kind::tls || s.what == step::kind::tls_or_close) return false;
        if (s.what != step::kind::send) continue;
        for (char c : s.text)
            sent += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const auto stls = sent.find("STLS");
        const std::string_view before =
            std::string_view(sent).substr(0, stls == std::string::npos ? sent.size() : stls);
        if (has_secret(before)) return true;
        if (sends_login(s.text) && stls == std::string::npos) return true;
        if (stls != std::string::npos) return false;
        if (s.crlf) sent += "\r\n";
    }
    return false;
}

// True when a secret (the password, or a digest or response made from it) is among the bytes
// sent before the case's TLS step, injected after STLS or not: on the wire in plaintext.
bool secret_before_tls(const test_case& tc) {
    for (const auto& s : tc.steps) {
        if (s.what == step::kind::tls || s.what == step::kind::tls_or_close) return false;
        if (s.what != step::kind::send) continue;
        std::string upper;
        for (char c : s.text)
            upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (has_secret(upper)) return true;
    }
    return false;
}

} // namespace

std::optional<unmet> unmet_precondition(const test_case& tc, const target_facts& facts,
                                        const run_options& opt) {
    const auto gap = [](std::string why) { return unmet{std::move(why), false}; };
    const auto not_offered = [](std::string why) { return unmet{std::move(why), true}; };
    if (tc.maildrop != "default" && !facts.embedded && !facts.provisioned)
        return gap("needs maildrop '" + tc.maildrop +
                   "', which only the embedded server can arrange, or --provision COMMAND");
    // A case for pop3kit's own server (a scenario makes it misbehave on purpose, to give a
    // reply no correct server gives on demand, or to prove the runner catches it) says nothing
    // about another server.
    if (!tc.scenario.empty() && !facts.embedded)
        return not_offered("needs the embedded server misbehaving as scenario '" + tc.scenario +
                           "'");
    // A case that does STLS itself runs on the plain connection of a --starttls run: that is
    // its point (the STARTTLS injection cases). Only a log-in before its own STLS is left out,
    // since a --starttls run never logs in in plaintext (and the server may refuse it).
    if (tc.tls == start_tls_mode::plain && opt.tls == run_tls::implicit)
        return gap("starts in plaintext (it does STLS itself); this run uses implicit TLS");
    if (tc.tls == start_tls_mode::plain && opt.tls == run_tls::starttls && logs_in_before_tls(tc))
        return gap("logs in in plaintext before its own STLS; a --starttls run does not send the "
                   "password in plaintext (run without --starttls)");
    // An injected login carries the password too: the plain run checks it.
    if (tc.tls == start_tls_mode::plain && opt.tls == run_tls::starttls && secret_before_tls(tc))
        return gap(
            "sends the password in plaintext (injected after STLS, before TLS); a "
            "--starttls run does not send the password in plaintext (run without --starttls)");
    if (tc.tls == start_tls_mode::implicit && opt.tls != run_tls::implicit && !facts.embedded)
        return gap("needs the implicit-TLS port (run with --tls)");
    if (opt.tls == run_tls::starttls && !facts.stls_offered)
        return gap("the server does not advertise STLS");
    // RFC 2449 §5: "An -ERR response indicates the capability command is not implemented".
    // A case about CAPA (one that sends it) cannot judge such a server.
    if (!facts.capa && !facts.embedded &&
        (sends_capa(tc) || std::find(tc.requirements.begin(), tc.requirements.end(), "capa") !=
                               tc.requirements.end()))
        return facts.capa_read
                   ? not_offered("the server does not implement CAPA (it answered -ERR; RFC 2449 "
                                 "§5)")
                   : gap("the probe could not read the server's answer to CAPA");
    // What a server offers is known from its CAPA (a CAPA-less one's USER, UIDL and TOP from
    // trying them after logging in); a case does not become n/a on what the probe missed.
    // A case that does STLS itself in a plain run is checked against the CAPA before TLS,
    // while a server may offer USER or a mechanism only inside TLS (RFC 2595 §4).
    const bool caps_known = facts.embedded || (facts.capa_read && (facts.capa || facts.logged_in));
    const bool caps_before_tls_only = !facts.embedded && tc.tls == start_tls_mode::plain &&
                                      opt.tls == run_tls::plain && facts.stls_offered;
    const auto not_advertised = [&](std::string what) {
        if (!caps_known) return gap("the probe could not learn whether the server offers " + what);
        if (caps_before_tls_only)
            return gap("the server does not offer " + what +
                       " before TLS, and may inside TLS (this case does STLS itself; a "
                       "--starttls run learns what is offered inside TLS)");
        return not_offered("the server does not advertise " + what);
    };
    for (const auto& req : tc.requirements) {
        if (req == "embedded" && !facts.embedded)
            return not_offered("needs the embedded mock server");
        if (req == "tls" && !facts.tls) return gap("needs TLS (STLS or an implicit-TLS port)");
        if (req == "apop" && !facts.apop)
            return facts.embedded || facts.greeted
                       ? not_offered("the greeting has no APOP timestamp")
                       : gap("the probe did not get the greeting");
        if (req.starts_with("capa:") && !facts.caps.has(req.substr(5)))
            return not_advertised(req.substr(5));
        if (req.starts_with("sasl:") && !facts.caps.has_argument("SASL", req.substr(5)))
            return not_advertised("SASL " + req.substr(5));
        if (req.starts_with("messages>=")) {
            const auto n = parse_decimal(req.substr(10)).value_or(0);
            if (!facts.logged_in) return gap("could not log in to count messages");
            if (facts.messages < n)
                return gap("needs " + std::to_string(n) + " messages, the maildrop has " +
                           std::to_string(facts.messages));
        }
    }
    return std::nullopt;
}

case_result run_case(const test_case& tc, connection& conn, const run_options& opt) {
    return engine(tc, conn, opt).run();
}

target_facts probe(connection& conn, const run_options& opt) {
    target_facts f;
    // Bounded reads: a hostile or broken server cannot keep the probe going.
    auto line = [&] { return conn.read_line(opt.step_timeout); };
    auto ok = [&](int wait_factor = 1) {
        const auto l = conn.read_line(opt.step_timeout * wait_factor);
        return l.what == received::kind::line && l.line.starts_with("+OK");
    };
    auto read_capa = [&] {
        f.caps.clear();
        conn.send("CAPA\r\n");
        const auto status = conn.read_line(opt.step_timeout);
        // Only -ERR says "not implemented" (RFC 2449 §5); a server that hangs, closes or sends
        // garbage on CAPA is judged by the CAPA cases, not excused from them.
        f.capa = !(status.what == received::kind::line && status.line.starts_with("-ERR"));
        f.capa_read = !f.capa;
        if (status.what != received::kind::line || !status.line.starts_with("+OK")) return;
        for (int n = 0; n < 10000; ++n) {
            const auto l = line();
            if (l.what != received::kind::line) break;
            if (l.line == ".") {
                f.capa_read = true;
                break;
            }
            std::error_code ec;
            f.caps.add_line(l.line, ec);
        }
    };
    const auto greeting = line();
    if (greeting.what != received::kind::line) return f;
    f.greeted = true;
    f.apop = apop_timestamp(greeting.line).has_value();
    read_capa();
    f.stls_offered = f.caps.has("STLS");
    f.tls = f.stls_offered || opt.tls == run_tls::implicit;
    if (opt.tls == run_tls::starttls) {
        // Never send the password in plaintext on a run that asked for STARTTLS.
        if (!f.caps.has("STLS")) return f;
        conn.send("STLS\r\n");
        if (!ok() || !conn.start_tls()) return f;
        read_capa();
    }
    const auto user = opt.vars.find("user");
    const auto pass = opt.vars.find("pass");
    if (user == opt.vars.end() || pass == opt.vars.end()) return f;
    // One command at a time: PIPELINING may not be offered (RFC 2449 §6.6).
    conn.send("USER " + user->second + "\r\n");
    if (!ok()) return f;
    conn.send("PASS " + pass->second + "\r\n");
    if (!ok(failed_login_wait_factor)) return f;
    conn.send("STAT\r\n");
    const auto stat = line();
    std::error_code ec;
    const auto st = stat.line.starts_with("+OK ")
                        ? parse_stat(std::string_view(stat.line).substr(4), ec)
                        : stat_reply{};
    if (stat.line.starts_with("+OK ") && !ec) {
        f.messages = st.count;
        f.logged_in = true;
    } else {
        // STAT is broken: count LIST's lines instead, so that the cases that check STAT run
        // (and fail) rather than being skipped.
        conn.send("LIST\r\n");
        if (ok()) {
            for (int n = 0; n < 1000000; ++n) {
                const auto l = line();
                if (l.what != received::kind::line || l.line == ".") break;
                ++f.messages;
            }
            f.logged_in = true;
        }
    }
    if (f.logged_in && !f.capa) {
        // No CAPA: what the cases need to know, learned by trying. USER/PASS just worked.
        std::error_code cap_ec;
        f.caps.add_line("USER", cap_ec);
        auto multi_line_ok = [&](const std::string& command) {
            conn.send(command + "\r\n");
            if (!ok()) return false;
            for (int n = 0; n < 1000000; ++n) {
                const auto l = line();
                if (l.what != received::kind::line) return false;
                if (l.line == ".") return true;
            }
            return false;
        };
        if (multi_line_ok("UIDL")) f.caps.add_line("UIDL", cap_ec);
        if (f.messages > 0 && multi_line_ok("TOP 1 0")) f.caps.add_line("TOP", cap_ec);
    }
    conn.send("QUIT\r\n");
    line();
    return f;
}

summary summarize(const std::vector<case_result>& results) {
    summary s;
    for (const auto& r : results) {
        if (r.v == verdict::pass) ++s.passed;
        if (r.v == verdict::skip) ++s.skipped;
        if (r.v == verdict::skip && r.outcome == outcome_not_applicable) ++s.not_applicable;
        if (r.v == verdict::error) ++s.errors;
        if (r.v == verdict::fail) {
            ++s.failed;
            if (r.tc->lvl == level::must) ++s.must_failed;
            if (r.tc->lvl == level::should) ++s.should_failed;
        }
    }
    return s;
}

int exit_status(const summary& s, bool strict) {
    if (s.must_failed) return 1;
    if (strict && s.should_failed) return 1;
    return 0;
}

} // namespace pop3::conformance
