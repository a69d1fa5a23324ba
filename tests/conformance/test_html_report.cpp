// The HTML report (write_html): escaping, every case and count, no external resource, a
// structure whose tags balance, and the dialogue the runners keep for it (who, TLS, time, where
// expected and actual part).
#include "pop3/conformance/report.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <pop3/conformance/client_runner.hpp>
#include <regex>
#include <sstream>

using namespace pop3::conformance;
using namespace std::chrono_literals;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

test_case make_case(std::string id, std::string rfc, level lvl, std::string title = "t") {
    test_case tc;
    tc.id = std::move(id);
    tc.rfc = std::move(rfc);
    tc.lvl = lvl;
    tc.title = std::move(title);
    tc.file = "t.pop3";
    tc.line = 1;
    return tc;
}

wire_line line(char from, std::string text, bool tls = false, double ms = 0) {
    wire_line l;
    l.from = from;
    l.text = std::move(text);
    l.tls = tls;
    l.ms = ms;
    return l;
}

std::string html_of(const std::vector<case_result>& results, const std::string& title = "run") {
    std::ostringstream out;
    write_html(out, title, results);
    return out.str();
}

// A peer that answers from a script (as in test_verdicts.cpp).
class scripted final : public connection {
public:
    std::deque<received> replies;
    bool tls_ok = true;
    void send(std::string_view) override {}
    received read_line(std::chrono::milliseconds) override {
        if (replies.empty()) return {received::kind::timeout, {}, 0};
        auto r = replies.front();
        replies.pop_front();
        return r;
    }
    bool start_tls() override { return tls_ok; }
    bool silent_for(std::chrono::milliseconds) override { return replies.empty(); }
    void close_now() override {}
    void reply(std::string l) { replies.push_back({received::kind::line, std::move(l), 0}); }
};

const test_case& parsed(const std::string& text) {
    static std::deque<std::vector<test_case>> keep; // results point at their case
    keep.push_back(parse_transcript(text, "t.pop3"));
    return keep.back().at(0);
}

run_options options(bool keep_dialogue) {
    run_options o;
    o.vars = {{"user", "user"}, {"pass", "pass"}};
    o.step_timeout = 100ms;
    o.keep_dialogue = keep_dialogue;
    return o;
}

} // namespace

TEST_CASE("html report: every text is escaped, non-printable bytes as \\xHH", "[html]") {
    const auto tc =
        make_case("t/<script>", "1939 §5", level::must, "title with <b>bold</b> & \"q\"");
    case_result r;
    r.tc = &tc;
    r.v = verdict::fail;
    constexpr char reason[] = "reply <script>alert(1)</script> with \x00 and \x1b[31m";
    r.reason = std::string(reason, sizeof reason - 1);
    r.expected = "S: +OK*";
    r.actual = "-ERR <img src=x onerror=alert(1)>";
    r.evidence = "S: \x01raw\n";
    r.dialogue = {line('C', "STAT"), line('S', std::string("+OK \x00\x1b\x7f \xff\xfe", 10))};
    r.dialogue.back().marked = wire_line::mark::diverges;
    const auto html = html_of({r}, "run <title>");
    CHECK(html.find("<script>alert") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("<b>bold") == std::string::npos);
    CHECK(html.find("title with &lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot;") != std::string::npos);
    CHECK(html.find("<title>run &lt;title&gt;</title>") != std::string::npos);
    // No control octet reaches the page raw (LF excepted), nor invalid UTF-8.
    for (unsigned char c : html) {
        INFO(static_cast<int>(c));
        CHECK((c >= 0x20 || c == '\n' || c == '\t'));
        CHECK(c != 0x7f);
        CHECK(c != 0xff);
        CHECK(c != 0xfe);
    }
    CHECK(html.find("with \\x00 and \\x1b[31m") != std::string::npos);
    CHECK(html.find("+OK \\x00\\x1b\\x7f \\xff\\xfe") != std::string::npos);
    // Valid UTF-8 stays itself; the bidirectional controls do not.
    CHECK(html.find("RFC 1939 §5") != std::string::npos);
    auto bidi = r;
    bidi.reason = "a \xe2\x80\xae reversed";
    CHECK(html_of({bidi}).find("a \\u{202e} reversed") != std::string::npos);
    bidi.reason = "the Arabic letter mark \xd8\x9c too";
    CHECK(html_of({bidi}).find("mark \\u{061c} too") != std::string::npos);
    // Expected beside actual, on the line where they part.
    CHECK(html.find("expected: S: +OK*") != std::string::npos);
    CHECK(html.find("class=\"l s xd\"") != std::string::npos);
}

TEST_CASE("html report: every case and the counts per verdict, RFC and level", "[html]") {
    std::deque<test_case> cases;
    std::vector<case_result> results;
    const auto add = [&](std::string id, std::string rfc, level l, verdict v,
                         std::string outcome = {}) {
        cases.push_back(make_case(std::move(id), std::move(rfc), l));
        case_result r;
        r.tc = &cases.back();
        r.v = v;
        r.outcome = std::move(outcome);
        results.push_back(std::move(r));
    };
    add("rfc1939/a", "1939 §5", level::must, verdict::pass);
    add("rfc1939/b", "1939 §7", level::must, verdict::fail);
    add("rfc1939/c", "1939 §7", level::should, verdict::fail);
    add("rfc2449/d", "2449 §6.3", level::may, verdict::skip, "n/a");
    add("rfc2449/e", "2449 §5", level::must, verdict::error);
    add("rfc2595/f", "2595 §4", level::should, verdict::pass);
    const auto html = html_of(results);
    for (const auto& c : cases)
        CHECK(html.find("<span class=\"id\">" + c.id + "</span>") != std::string::npos);
    CHECK(occurrences(html, "<details class=\"case\"") == results.size());
    CHECK(occurrences(html, "data-v=\"passed\"") == 2);
    CHECK(occurrences(html, "data-v=\"failed\"") == 2);
    CHECK(occurrences(html, "data-v=\"skipped\"") == 1);
    CHECK(occurrences(html, "data-o=\"n/a\"") == 1);
    CHECK(occurrences(html, "data-v=\"error\"") == 1);
    CHECK(html.find(">2 passed<") != std::string::npos);
    CHECK(html.find(">2 failed<") != std::string::npos);
    CHECK(html.find(">1 skipped<") != std::string::npos);
    CHECK(html.find(">1 error<") != std::string::npos);
    // Per RFC (1939: 1 passed, 2 failed, 3 in all) and per level (MUST: 1, 1, 0, 0, 1).
    const std::regex rfc1939(R"(<tr><th>RFC 1939</th><td><a[^>]*>1</a></td><td><a[^>]*>2</a></td>)"
                             R"(<td class="z">0</td><td class="z">0</td><td class="z">0</td>)"
                             R"(<td><a[^>]*>3</a></td></tr>)");
    CHECK(std::regex_search(html, rfc1939));
    const std::regex must(R"(<tr><th>MUST</th><td><a[^>]*>1</a></td><td><a[^>]*>1</a></td>)"
                          R"(<td class="z">0</td><td class="z">0</td><td><a[^>]*>1</a></td>)");
    CHECK(std::regex_search(html, must));
    // The filters offer each RFC, each level and the finer outcomes.
    for (const char* option :
         {"<option value=\"1939\">", "<option value=\"2449\">", "<option value=\"2595\">",
          "<option value=\"MUST\">", "<option value=\"MAY\">", "<option value=\"n/a\">"})
        CHECK(html.find(option) != std::string::npos);
}

TEST_CASE("html report: self-contained and well-formed", "[html]") {
    const auto tc = make_case("t/1", "1939 §5", level::must, "see https://example.org/x");
    case_result r;
    r.tc = &tc;
    r.v = verdict::fail;
    r.expected = "S: +OK";
    r.actual = "-ERR";
    for (int i = 0; i < 30; ++i)
        r.dialogue.push_back(line('S', "body line " + std::to_string(i), true, i));
    r.dialogue[15].marked = wire_line::mark::diverges;
    const auto html = html_of({r, r});
    // No resource from anywhere else: every href is a fragment or data:, no src at all, no CSS
    // url() or @import; a CSP forbids any load the page might still try.
    CHECK(html.find(" src=") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    const std::regex href(R"(href="([^"]*)\")");
    std::size_t hrefs = 0;
    for (std::sregex_iterator it(html.begin(), html.end(), href), end; it != end; ++it) {
        const auto target = (*it)[1].str();
        INFO(target);
        CHECK((target.starts_with("#") || target.starts_with("data:")));
        ++hrefs;
    }
    CHECK(hrefs > 0);
    CHECK(html.find("Content-Security-Policy\" content=\"default-src 'none'") != std::string::npos);
    // The text of the case may name a URL; it is text, never a link.
    CHECK(html.find("see https://example.org/x") != std::string::npos);
    CHECK(html.find("\"https://") == std::string::npos);
    CHECK(html.find("\"http://") == std::string::npos);
    // The main structure's tags balance.
    CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    CHECK(html.ends_with("</html>\n"));
    for (const std::string tag :
         {"html", "head", "body", "style", "script", "section", "main", "details", "summary", "div",
          "table", "tr", "span", "pre", "select", "label", "i", "b"}) {
        INFO(tag);
        const auto opened = occurrences(html, "<" + tag + ">") + occurrences(html, "<" + tag + " ");
        CHECK(opened > 0);
        CHECK(opened == occurrences(html, "</" + tag + ">"));
    }
    // A long run of lines is folded; the fold holding the line where they part is open.
    CHECK(occurrences(html, "<details class=\"fold\" open><summary>26 more lines from S") == 2);
    r.dialogue[15].marked = wire_line::mark::none;
    CHECK(html_of({r}).find("<details class=\"fold\"><summary>26 more lines") != std::string::npos);
    // Each line shows its time, sender and TLS state.
    CHECK(html.find("<div class=\"l s t\"><i>+3.0</i><b>S</b><i>TLS</i><i>body line 3</i><i></i>"
                    "</div>") != std::string::npos);
}

TEST_CASE("html report: the server runner keeps each case's dialogue when asked", "[html]") {
    const auto& tc = parsed("case: t/1\ntitle: t\nrfc: 1939 §5\n"
                            "S: +OK*\nC: STLS\nS: +OK*\n!tls\nC: USER {user}\nS: +OK*\n"
                            "C: PASS {pass}\nS: +OK*\nC: STAT\nS: +OK 2 *\n");
    const auto play = [&](bool keep) {
        scripted peer;
        for (const char* l : {"+OK ready", "+OK begin TLS", "+OK user", "+OK pass", "+OK 3 300"})
            peer.reply(l);
        return run_case(tc, peer, options(keep));
    };
    const auto kept = play(true);
    const auto plain = play(false);
    REQUIRE(kept.v == verdict::fail);
    CHECK(plain.dialogue.empty());
    // The evidence (console, JUnit, JSON) is the same either way.
    CHECK(kept.evidence == plain.evidence);
    INFO(kept.evidence);
    CHECK(kept.evidence.find("C: PASS ****") != std::string::npos);
    REQUIRE(kept.dialogue.size() == 10);
    CHECK(kept.dialogue[0].from == 'S');
    CHECK(kept.dialogue[0].text == "+OK ready");
    CHECK_FALSE(kept.dialogue[0].tls);
    CHECK(kept.dialogue[1].from == 'C');
    CHECK(kept.dialogue[1].text == "STLS");
    CHECK(kept.dialogue[3].from == 'R');
    CHECK(kept.dialogue[3].text == "(TLS handshake)");
    CHECK_FALSE(kept.dialogue[3].tls);
    CHECK(kept.dialogue[4].tls); // USER, inside TLS
    CHECK(kept.dialogue[6].text == "PASS ****");
    CHECK(kept.dialogue.back().text == "+OK 3 300");
    CHECK(kept.dialogue.back().marked == wire_line::mark::diverges);
    for (std::size_t i = 0; i + 1 < kept.dialogue.size(); ++i) {
        CHECK(kept.dialogue[i].marked == wire_line::mark::none);
        CHECK(kept.dialogue[i].ms <= kept.dialogue[i + 1].ms);
    }
    const auto html = html_of({kept});
    CHECK(html.find("PASS ****") != std::string::npos);
    CHECK(html.find("expected: S: +OK 2 *") != std::string::npos);
    CHECK(occurrences(html, "<i>TLS</i>") == 6 + 1); // and the header's
}

TEST_CASE("html report: the client runner keeps each case's dialogue when asked",
          "[html][client-runner]") {
    static std::vector<client_case> keep; // results point into their cases
    keep = parse_client_cases(R"(
[[case]]
id = "client/t/x"
title = "t"
rfc = "1939 §3"
level = "MUST"
task = "status"
expect = "notice"
[case.deviation]
role = "stat"
reply = "-ERR no\r\n"
)",
                              "cases.toml");
    client_run_options o;
    o.program.command = std::string("exec python3 '") + POP3_SOURCE_DIR +
                        "/tests/conformance/broken_client.py' pipeline";
    o.deadline = 20s;
    o.keep_dialogue = true;
    const auto results = run_client_cases(keep, o);
    REQUIRE(results.size() == 1);
    const auto& r = results[0];
    INFO(r.reason << "\n" << r.evidence);
    CHECK(r.v == verdict::fail);
    REQUIRE_FALSE(r.dialogue.empty());
    CHECK(r.dialogue.front().from == 'R'); // connected
    CHECK(r.dialogue.front().connection == 1);
    bool client = false, server = false, breach = false;
    for (const auto& l : r.dialogue) {
        client = client || l.from == 'C';
        server = server || l.from == 'S';
        breach = breach || l.marked == wire_line::mark::breach;
    }
    CHECK(client);
    CHECK(server);
    CHECK(breach);
    const auto html = html_of(results);
    CHECK(html.find("&#8592; the breach") != std::string::npos);
    CHECK(html.find("<summary>evidence</summary>") != std::string::npos);
}

TEST_CASE("html report: a summary link's filter is JSON, whatever the RFC's text", "[html]") {
    // The RFC text comes from a transcript's header: a quote or a backslash in it must not end
    // the filter's JSON string (the link would do nothing, or filter on something else).
    const auto tc = make_case("t/q", "1939\"x\\y §5", level::must);
    case_result r;
    r.tc = &tc;
    r.v = verdict::pass;
    const auto html = html_of({r});
    CHECK(html.find("&quot;rfc&quot;:&quot;1939\\&quot;x\\\\y&quot;") != std::string::npos);
}
