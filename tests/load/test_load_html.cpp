// pop3-load --html: the SVG helper (escaping, ticks), the page made from results built here (with
// hostile text), and the program writing it after a run against an in-process mock server: three
// kinds of chart, well-formed markup, no raw control bytes, a write error failing the run.
#include "pop3/load/svg.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <pop3/load/load.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <vector>

using namespace pop3;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size()))
        ++n;
    return n;
}

// Empty when `page` is well formed as XML (the page is written so that it is): every tag closed
// in order, entities only the five the writer uses, no control byte but tab and newline.
// Otherwise what is wrong, and where.
std::string markup_problem(const std::string& page) {
    std::vector<std::string> open;
    for (std::size_t i = 0; i < page.size(); ++i) {
        const auto c = static_cast<unsigned char>(page[i]);
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return "control byte at " + std::to_string(i);
        if (c == '&') {
            bool known = false;
            for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"})
                known = known || page.compare(i, std::string(e).size(), e) == 0;
            if (!known) return "bare & at " + std::to_string(i);
        }
        if (c == '>') return "bare > at " + std::to_string(i);
        if (c != '<') continue;
        const auto end = page.find('>', i);
        if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
        const std::string tag = page.substr(i + 1, end - i - 1);
        if (tag.find('<') != std::string::npos) return "< inside a tag at " + std::to_string(i);
        i = end;
        if (tag.starts_with("!DOCTYPE")) continue;
        if (tag.starts_with("/")) {
            if (open.empty() || open.back() != tag.substr(1))
                return "</" + tag.substr(1) + "> closes " +
                       (open.empty() ? "nothing" : open.back());
            open.pop_back();
            continue;
        }
        if (tag.ends_with("/")) continue;
        open.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    return open.empty() ? "" : "<" + open.back() + "> never closed";
}

load::options parse(std::vector<std::string> args) {
    return load::parse_args(args).opt;
}

} // namespace

TEST_CASE("svg: text is escaped; control bytes and broken UTF-8 are replaced") {
    CHECK(load::svg::escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
    CHECK(load::svg::escape(std::string("x\0y\x1b\x7f", 5)) ==
          "x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK(load::svg::escape("caf\xC3\xA9") == "caf\xC3\xA9");                           // é stays
    CHECK(load::svg::escape("\xC3") == "\xEF\xBF\xBD");                                 // cut short
    CHECK(load::svg::escape("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                 // overlong
    CHECK(load::svg::escape("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
    CHECK(load::svg::escape("tab\tnewline\n") == "tab\tnewline\n");
}

TEST_CASE("svg: ticks are round numbers inside the range") {
    using load::svg::axis;
    CHECK(load::svg::ticks(axis{0, 10, false, "", {}}) == std::vector<double>{0, 2, 4, 6, 8, 10});
    CHECK(load::svg::ticks(axis{0, 1.4, false, "", {}}) == std::vector<double>{0, 0.5, 1});
    CHECK(load::svg::ticks(axis{0, 0.7, false, "", {}}) == std::vector<double>{0, 0.2, 0.4, 0.6});
    const auto log = load::svg::ticks(axis{0.05, 120, true, "", {}});
    CHECK(log == std::vector<double>{0.1, 1, 10, 100});
    const auto fine = load::svg::ticks(axis{0.3, 4, true, "", {}});
    CHECK(fine == std::vector<double>{0.5, 1, 2});
    CHECK(load::svg::short_number(12500) == "12.5k");
    CHECK(load::svg::short_number(2) == "2");
    CHECK(load::svg::short_number(0.25) == "0.25");
    CHECK(load::svg::short_number(-0.0) == "0");
    CHECK_FALSE(std::signbit(load::svg::ticks(axis{0, 10, false, "", {}}).front())); // not "-0"
}

TEST_CASE("svg: a chart is one well-formed <svg> element with its title, bars and lines") {
    load::svg::chart c("t <1>");
    c.x_axis({0, 10, false, "x & y", {}});
    c.y_axis({0, 5, false, "", {}});
    c.bar(1, 2, 3, "tip \"quoted\"", "#123456");
    c.line({{0, 1}, {5, 2}, {10, 2}}, "series", "red", true);
    c.x_marker(4, "p50", "#555", 1);
    const std::string s = c.render("chart test");
    CHECK(markup_problem(s).empty());
    CHECK(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart test\""));
    CHECK(s.find("<title>t &lt;1&gt;</title>") != std::string::npos);
    CHECK(s.find("tip &quot;quoted&quot;") != std::string::npos);
    CHECK(s.find("x &amp; y") != std::string::npos);
    CHECK(occurrences(s, "<rect") == 2);     // the bar and the legend's swatch
    CHECK(occurrences(s, "<polyline") == 2); // the series and the axes
}

TEST_CASE("pop3-load: the HTML page shows the results, hostile text escaped") {
    auto opt = parse({"--target", "pop3://u%d:p@127.0.0.1:1110", "--connections", "2", "--mix",
                      "login,stat,quit", "--html", "x.html"});
    CHECK(opt.html_file == "x.html");
    load::results r;
    for (std::uint64_t v = 1; v <= 1000; ++v) {
        r.latency[static_cast<std::size_t>(load::step::stat)].record(v * 1000);
        r.latency[static_cast<std::size_t>(load::step::session)].record(v * 50000);
    }
    r.sessions_completed = 1000;
    r.sessions_failed = 3;
    r.elapsed = 2;
    r.errors["connection_reset"] = 3;
    r.first_text["connection_reset"] = "reset <by> peer & \x01 friends";
    r.err_replies["PASS [AUTH]"] = 5;
    r.first_text["PASS [AUTH]"] = "</td></table><script>alert(1)</script>";
    r.timeline = {{0, 0, 0, 0}, {1, 600, 1, 2}, {2, 1000, 3, 5}};
    const std::string page = load::format_html(opt, r);
    INFO(page);
    CHECK(markup_problem(page).empty());
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(occurrences(page, "<svg ") == 2 + 6); // two over time, one per latency row
    CHECK(occurrences(page, "class=\"chart sessions-rate\"") == 1);
    CHECK(occurrences(page, "class=\"chart errors-rate\"") == 1);
    // connect, USER, PASS, STAT, QUIT, session
    CHECK(occurrences(page, "class=\"chart latency\"") == 6);
    CHECK(occurrences(page, "no data") == 4); // USER, PASS, QUIT and connect were not recorded
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("&lt;/td&gt;&lt;/table&gt;&lt;script&gt;") != std::string::npos);
    CHECK(page.find("reset &lt;by&gt; peer &amp; \xEF\xBF\xBD friends") != std::string::npos);
    CHECK(page.find("pop3://u{n}:****@127.0.0.1:1110") != std::string::npos);
    // The timeline's rates: 600/s, then 400/s; errors 1/s then 2/s.
    CHECK(page.find("mean 500.0/s") != std::string::npos);
    CHECK(page.find("p50 0.50") != std::string::npos); // the STAT marker: 1 µs .. 1 ms
}

TEST_CASE("pop3-load --html: a run against the mock server writes the page with its charts") {
    mock::server_config config = mock::default_config();
    config.users.clear();
    for (int i = 1; i <= 2; ++i)
        config.users.push_back({"u" + std::to_string(i), "p", mock::maildrop::generate(5, 1000)});
    mock::server_options listen;
    listen.threads = 1;
    mock::server srv(std::move(config), listen);
    srv.start();
    const std::string target = "pop3://u%d:p@127.0.0.1:" + std::to_string(srv.port());
    const test::temp_dir d;
    const auto html = d.path / "run.html";

    const auto r = test::run_program(
        POP3_LOAD_BIN, {"--target", target, "--connections", "2", "--duration", "1.5", "--quiet",
                        "--mix", "login,stat,retr,quit", "--html", html.string()});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("sessions/s") != std::string::npos); // the text report still on stdout
    const std::string page = test::read_text(html);
    INFO(page.substr(0, 2000));
    CHECK(markup_problem(page).empty());
    CHECK(page.starts_with("<!DOCTYPE html>"));
    CHECK(page.ends_with("</html>\n"));
    CHECK(occurrences(page, "<svg ") == occurrences(page, "</svg>"));
    CHECK(occurrences(page, "class=\"chart sessions-rate\"") == 1);
    CHECK(occurrences(page, "class=\"chart errors-rate\"") == 1);
    // connect USER PASS STAT RETR QUIT session, each with bars
    CHECK(occurrences(page, "class=\"chart latency\"") == 7);
    CHECK(occurrences(page, "no data") == 0);
    CHECK(occurrences(page, "<rect ") > 7);
    CHECK(page.find("no errors") != std::string::npos);
    // Self-contained: the only URL is the SVG namespace.
    CHECK(occurrences(page, "http") == occurrences(page, "http://www.w3.org/2000/svg"));
    CHECK(page.find("<script") == std::string::npos);

    // "-": the page on stdout instead of the text; a page that cannot be written fails the run.
    const auto out = test::run_program(
        POP3_LOAD_BIN, {"--target", target, "--duration", "0.3", "--quiet", "--html", "-"});
    CHECK(out.status == 0);
    CHECK(out.out.starts_with("<!DOCTYPE html>"));
    CHECK(markup_problem(out.out).empty());
    const auto full = test::run_program(
        POP3_LOAD_BIN, {"--target", target, "--duration", "0.3", "--quiet", "--html", "/dev/full"});
    CHECK(full.status == 1);
    CHECK(full.err.find("pop3-load: cannot write /dev/full") != std::string::npos);
    const auto both =
        test::run_program(POP3_LOAD_BIN, {"--target", target, "--json", "-", "--html", "-"});
    CHECK(both.status == 2);
    const auto help = test::run_program(POP3_LOAD_BIN, {"--help"});
    CHECK(help.out.find("--html FILE") != std::string::npos);
}
