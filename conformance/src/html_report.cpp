// The HTML report (report.hpp, write_html): one self-contained page, readable without JS.
#include "html_page.hpp"
#include "pop3/conformance/json_text.hpp"
#include "pop3/conformance/report.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pop3::conformance {
namespace {

// A run of more lines than this from one side (a message body, a long listing) is folded: its
// first and last two lines stay, the rest opens on a click.
constexpr std::size_t fold_above = 10;

// Every text of the page goes through the one escaping (html_page.hpp).
std::string esc(std::string_view s, bool lines = false) {
    return html_text(s, lines);
}

// The RFC a section belongs to: "1939" of "1939 §5".
std::string rfc_of(const std::string& section) {
    const auto end = section.find_first_of(" \xc2");
    return section.substr(0, end);
}

std::string outcome_of(const case_result& r) {
    return r.outcome.empty() ? std::string(to_string(r.v)) : r.outcome;
}

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// A case's duration: "0.4 ms", "12 ms", "1.25 s".
std::string duration(double seconds) {
    if (seconds >= 1) return fixed(seconds, 2) + " s";
    return fixed(seconds * 1000, seconds < 0.01 ? 1 : 0) + " ms";
}

struct counts {
    std::size_t passed = 0, failed = 0, skipped = 0, not_applicable = 0, errors = 0;
    void add(const case_result& r) {
        switch (r.v) {
        case verdict::pass: ++passed; break;
        case verdict::fail: ++failed; break;
        case verdict::skip:
            ++skipped;
            not_applicable += r.outcome == outcome_not_applicable;
            break;
        case verdict::error: ++errors; break;
        }
    }
    std::size_t total() const { return passed + failed + skipped + errors; }
};

// The page's own rules, after the shared ones (html_page.hpp).
constexpr const char* style =
    R"(#filters{position:sticky;top:0;z-index:2;background:var(--bg);padding:8px 0;
border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:12px;align-items:center}
#filters input[type=search]{width:22em}
#cases{margin-top:8px}
details.case{border:1px solid var(--line);border-radius:6px;margin:4px 0;background:var(--bg)}
details.case>summary{cursor:pointer;padding:4px 8px;display:flex;gap:10px;align-items:baseline;
list-style-position:outside}
details.case>summary .id{font-family:ui-monospace,monospace;font-size:12.5px;min-width:22em}
details.case>summary .lv{font-size:12px;color:var(--mute);min-width:4.5em}
details.case>summary .rf{font-size:12px;color:var(--mute);min-width:6.5em}
details.case>summary .ti{flex:1}
details.case>summary .sec{font-size:12px;color:var(--mute);min-width:4.5em;text-align:right}
details.case[open]>summary{background:var(--soft);border-bottom:1px solid var(--line)}
.cb{padding:8px 12px}
table.kv{border-collapse:collapse;margin-bottom:8px}
table.kv th{text-align:left;vertical-align:top;padding:1px 12px 1px 0;color:var(--mute);
font-weight:500;white-space:nowrap}
table.kv td{padding:1px 0}
.ea{display:grid;grid-template-columns:1fr 1fr;gap:8px;margin:8px 0}
.ea>div{border:1px solid var(--line);border-radius:4px;padding:4px 8px}
.ea h4{margin:0 0 2px;font-size:12px;color:var(--mute);font-weight:600}
.ea .e pre{color:var(--pass)}.ea .a pre{color:var(--fail)}
.wire{border:1px solid var(--line);border-radius:4px;overflow:hidden}
.wire .l{display:grid;grid-template-columns:4.5em 2.4em 3.2em minmax(0,1fr);gap:0 8px;
padding:0 6px;border-top:1px solid #eef1f4}
.wire.k .l{grid-template-columns:4.5em 3.2em 2.4em 3.2em minmax(0,1fr)}
.wire.x .l{grid-template-columns:4.5em 2.4em 3.2em minmax(0,1fr) minmax(0,1fr)}
.wire.k.x .l{grid-template-columns:4.5em 3.2em 2.4em 3.2em minmax(0,1fr) minmax(0,1fr)}
.wire .l>i{font-style:normal;white-space:pre-wrap;word-break:break-all}
.wire .l>i:first-child,.wire.k .l>i:nth-child(2){color:var(--mute);text-align:right}
.wire .h{background:var(--soft);font-family:system-ui,sans-serif;font-size:12px}
.wire .h>*{font-weight:600}
.wire .c>b{color:#8250df}.wire .s>b{color:#0a3069}
.wire .r{color:var(--mute)}.wire .r>b+i+i{font-style:italic}
.wire .l>b+i{color:var(--mute)}.wire .t>b+i{color:var(--tls);font-weight:600}
.wire .dv{background:#fff8c5}.wire .br,.wire .xd{background:#ffebe9}
.wire .xd>b+i+i{color:var(--fail);font-weight:600}
.wire .l>b+i+i+i{color:var(--pass);font-weight:600}
.wire .mk{font-family:system-ui,sans-serif;font-size:11px;color:var(--fail);font-weight:600}
.wire details.fold>summary{cursor:pointer;color:var(--mute);padding:0 6px 0 12em;
font-style:italic;border-top:1px solid #eef1f4}
.legend{font-size:12px;color:var(--mute);margin:8px 0 2px}
details.ev>summary{cursor:pointer;color:var(--mute);margin-top:8px}
details.ev pre{background:var(--soft);padding:6px;border-radius:4px}
#none{padding:12px;color:var(--mute)}
button{font:inherit;font-size:13px}
)";

constexpr const char* script = R"(
"use strict";
(function () {
  var list = document.getElementById("cases");
  var rows = Array.prototype.slice.call(list.querySelectorAll("details.case"));
  var fv = document.getElementById("f-verdict"), fr = document.getElementById("f-rfc"),
      fl = document.getElementById("f-level"), fq = document.getElementById("f-text"),
      count = document.getElementById("f-count"), none = document.getElementById("none");
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  function apply() {
    var v = fv.value, rfc = fr.value, l = fl.value, q = fq.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r, i) {
      var d = r.dataset;
      var ok = (!v || d.v === v || d.o === v) && (!rfc || d.rfc === rfc) && (!l || d.l === l) &&
               (!q || texts[i].indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) n++;
    });
    count.textContent = n + " of " + rows.length + " cases shown";
    none.hidden = n !== 0;
  }
  [fv, fr, fl].forEach(function (e) { e.addEventListener("change", apply); });
  fq.addEventListener("input", apply);
  document.getElementById("f-reset").addEventListener("click", function () {
    fv.value = ""; fr.value = ""; fl.value = ""; fq.value = ""; apply();
  });
  function openAll(open) {
    rows.forEach(function (r) { if (!r.hidden) r.open = open; });
  }
  document.getElementById("f-open").addEventListener("click", function () { openAll(true); });
  document.getElementById("f-close").addEventListener("click", function () { openAll(false); });
  // A count in the summary tables sets the filters to the cases it counts.
  Array.prototype.forEach.call(document.querySelectorAll("a[data-f]"), function (a) {
    a.addEventListener("click", function () {
      var f = JSON.parse(a.getAttribute("data-f"));
      fv.value = f.v || ""; fr.value = f.rfc || ""; fl.value = f.l || ""; fq.value = "";
      apply();
    });
  });
  function openHash() {
    var t = location.hash && document.getElementById(location.hash.slice(1));
    if (t && t.tagName === "DETAILS") t.open = true;
  }
  window.addEventListener("hashchange", openHash);
  document.getElementById("filters").hidden = false;
  apply();
  openHash();
})();
)";

// A count cell of a summary table: a link that filters to those cases (with JS).
void count_cell(std::ostream& out, std::size_t n, const std::string& filter) {
    if (n == 0) {
        out << "<td class=\"z\">0</td>";
        return;
    }
    out << "<td><a href=\"#cases\" data-f=\"" << esc(filter) << "\">" << n << "</a></td>";
}

std::string filter_json(const std::string& v, const std::string& rfc, const std::string& l) {
    std::string s = "{";
    const auto add = [&](const char* k, const std::string& val) {
        if (val.empty()) return;
        if (s.size() > 1) s += ",";
        s += std::string("\"") + k + "\":" + json_escape(val);
    };
    add("v", v);
    add("rfc", rfc);
    add("l", l);
    return s + "}";
}

void count_row(std::ostream& out, const std::string& label, const counts& c, const std::string& rfc,
               const std::string& l) {
    out << "<tr><th>" << esc(label) << "</th>";
    count_cell(out, c.passed, filter_json("passed", rfc, l));
    count_cell(out, c.failed, filter_json("failed", rfc, l));
    count_cell(out, c.skipped, filter_json("skipped", rfc, l));
    count_cell(out, c.not_applicable, filter_json("n/a", rfc, l));
    count_cell(out, c.errors, filter_json("error", rfc, l));
    count_cell(out, c.total(), filter_json("", rfc, l));
    out << "</tr>\n";
}

void count_table(std::ostream& out, const char* caption, const char* first,
                 const std::vector<std::pair<std::string, counts>>& rows, bool by_rfc,
                 const counts& all) {
    out << "<table class=\"n\"><caption>" << caption << "</caption>\n<thead><tr><th>" << first
        << "</th><th>passed</th><th>failed</th><th>skipped</th><th>of which n/a</th>"
           "<th>error</th><th>total</th></tr></thead>\n<tbody>\n";
    for (const auto& [key, c] : rows)
        count_row(out, by_rfc ? "RFC " + key : key, c, by_rfc ? key : "", by_rfc ? "" : key);
    out << "</tbody>\n<tfoot>";
    count_row(out, "all", all, "", "");
    out << "</tfoot></table>\n";
}

// One line: its time, its connection (client cases), who sent it, the TLS state, the line and,
// where expected and actual part, the expected line beside it. Short cells (<i>, <b> for the
// sender) keep the page small: a run has thousands of lines.
void wire_row(std::ostream& out, const wire_line& l, const case_result& r, bool connections,
              bool with_expected) {
    const char side = l.from == 'C' ? 'c' : l.from == 'S' ? 's' : 'r';
    out << "<div class=\"l " << side << (l.tls ? " t" : "");
    switch (l.marked) {
    case wire_line::mark::diverges: out << " xd"; break;
    case wire_line::mark::deviation: out << " dv"; break;
    case wire_line::mark::breach: out << " br"; break;
    case wire_line::mark::none: break;
    }
    out << "\"><i>+" << fixed(l.ms, 1) << "</i>";
    if (connections) {
        out << "<i>";
        if (l.connection) out << "#" << l.connection;
        out << "</i>";
    }
    out << "<b>";
    if (l.from == 'C' || l.from == 'S')
        out << l.from << (l.same_write ? "+" : "");
    else
        out << "&#183;";
    out << "</b><i>" << (l.tls ? "TLS" : "plain") << "</i><i>" << esc(l.text);
    switch (l.marked) {
    case wire_line::mark::deviation:
        out << " <span class=\"mk\">&#8592; the deviation</span>";
        break;
    case wire_line::mark::breach: out << " <span class=\"mk\">&#8592; the breach</span>"; break;
    case wire_line::mark::diverges:
        out << " <span class=\"mk\">&#8592; " << (r.v == verdict::error ? "not judged" : "differs")
            << "</span>";
        break;
    case wire_line::mark::none: break;
    }
    out << "</i>";
    if (with_expected) {
        out << "<i>";
        if (l.marked == wire_line::mark::diverges) out << "expected: " << esc(r.expected);
        out << "</i>";
    }
    out << "</div>\n";
}

void write_dialogue(std::ostream& out, const case_result& r) {
    const auto& lines = r.dialogue;
    const bool with_expected = !r.expected.empty();
    bool connections = false;
    for (const auto& l : lines)
        connections = connections || l.connection != 0;
    const bool server_run = r.tc->dir != direction::client;
    out << "<p class=\"legend\">Wire dialogue: C "
        << (server_run ? "pop3-conformance" : "the client under test") << ", S "
        << (server_run ? "the server under test" : "pop3kit's mock server")
        << "; C+ / S+ a line sent in the same write as the one before; &#183; the runner's "
           "notes; time in ms since the case began.</p>\n";
    out << "<div class=\"wire" << (connections ? " k" : "") << (with_expected ? " x" : "")
        << "\">\n<div class=\"l h\"><i>ms</i>" << (connections ? "<i>conn</i>" : "")
        << "<b>from</b><i>TLS</i><i>line</i>" << (with_expected ? "<i>expected</i>" : "")
        << "</div>\n";
    for (std::size_t i = 0; i < lines.size();) {
        // A run of lines from one side on one connection.
        std::size_t j = i + 1;
        if (lines[i].from != 'R')
            while (j < lines.size() && lines[j].from == lines[i].from &&
                   lines[j].connection == lines[i].connection)
                ++j;
        if (j - i <= fold_above) {
            for (; i < j; ++i)
                wire_row(out, lines[i], r, connections, with_expected);
            continue;
        }
        const std::size_t fold_from = i + 2, fold_to = j - 2;
        bool marked = false;
        for (std::size_t k = fold_from; k < fold_to; ++k)
            marked = marked || lines[k].marked != wire_line::mark::none;
        for (; i < fold_from; ++i)
            wire_row(out, lines[i], r, connections, with_expected);
        out << "<details class=\"fold\"" << (marked ? " open" : "") << "><summary>"
            << fold_to - fold_from << " more lines from " << lines[fold_from].from
            << "</summary>\n";
        for (; i < fold_to; ++i)
            wire_row(out, lines[i], r, connections, with_expected);
        out << "</details>\n";
        for (; i < j; ++i)
            wire_row(out, lines[i], r, connections, with_expected);
    }
    out << "</div>\n";
}

void write_case(std::ostream& out, const case_result& r, std::size_t index) {
    const auto& tc = *r.tc;
    const std::string v(to_string(r.v));
    const std::string outcome = outcome_of(r);
    const std::string lvl(to_string(tc.lvl));
    out << "<details class=\"case\" id=\"c" << index << "\" data-v=\"" << esc(v) << "\" data-o=\""
        << esc(outcome) << "\" data-rfc=\"" << esc(rfc_of(tc.rfc)) << "\" data-l=\"" << esc(lvl)
        << "\">\n<summary><span class=\"b " << esc(v) << "\">" << esc(outcome)
        << "</span><span class=\"id\">" << esc(tc.id) << "</span><span class=\"lv\">" << esc(lvl)
        << "</span><span class=\"rf\">RFC " << esc(tc.rfc) << "</span><span class=\"ti\">"
        << esc(tc.title) << "</span><span class=\"sec\">" << duration(r.seconds)
        << "</span></summary>\n<div class=\"cb\">\n<table class=\"kv\">\n";
    out << "<tr><th>id</th><td><code>" << esc(tc.id) << "</code> <a href=\"#c" << index
        << "\" class=\"mute\">link</a></td></tr>\n";
    out << "<tr><th>requirement</th><td>" << esc(tc.title) << "</td></tr>\n";
    out << "<tr><th>RFC</th><td>RFC " << esc(tc.rfc) << "</td></tr>\n";
    out << "<tr><th>level</th><td>" << esc(lvl) << "</td></tr>\n";
    out << "<tr><th>transcript</th><td><code>" << esc(tc.file.string()) << ":"
        << (r.line ? r.line : tc.line) << "</code></td></tr>\n";
    out << "<tr><th>verdict</th><td><span class=\"b " << esc(v) << "\">" << esc(v) << "</span>"
        << (outcome != v ? " outcome: " + esc(outcome) : std::string())
        << (r.retried ? " (retried once)" : "") << "</td></tr>\n";
    if (!r.reason.empty())
        out << "<tr><th>reason</th><td>" << (r.v == verdict::error ? "not judged: " : "")
            << esc(r.reason) << "</td></tr>\n";
    out << "<tr><th>time</th><td>" << duration(r.seconds) << "</td></tr>\n</table>\n";
    if (!r.expected.empty() || !r.actual.empty())
        out << "<div class=\"ea\"><div class=\"e\"><h4>expected (transcript line "
            << (r.line ? r.line : tc.line) << ")</h4><pre>" << esc(r.expected, true)
            << "</pre></div><div class=\"a\"><h4>actual</h4><pre>" << esc(r.actual, true)
            << "</pre></div></div>\n";
    if (!r.dialogue.empty()) write_dialogue(out, r);
    // The evidence text: the dialogue itself for a server case (shown above when kept); for a
    // client case the exit, the delivered messages and the trace around the point of interest.
    if (!r.evidence.empty() && (r.dialogue.empty() || tc.dir == direction::client))
        out << "<details class=\"ev\"" << (r.dialogue.empty() ? " open" : "")
            << "><summary>evidence</summary><pre>" << esc(r.evidence, true) << "</pre></details>\n";
    out << "</div>\n</details>\n";
}

} // namespace

void write_html(std::ostream& out, const std::string& title,
                const std::vector<case_result>& results) {
    counts all;
    std::map<std::string, counts> by_rfc;
    std::map<level, counts> by_level;
    std::set<std::string> finer; // outcomes other than the verdict words
    for (const auto& r : results) {
        all.add(r);
        by_rfc[rfc_of(r.tc->rfc)].add(r);
        by_level[r.tc->lvl].add(r);
        if (outcome_of(r) != to_string(r.v)) finer.insert(outcome_of(r));
    }
    const auto s = summarize(results);
    write_html_head(out, title, style);
    out << "<header>\n<h1>" << esc(title) << "</h1>\n<p class=\"mute\">" << results.size()
        << " cases; MUST failed: " << s.must_failed << ", SHOULD failed: " << s.should_failed
        << ". Written by pop3-conformance (docs/transcripts.md, docs/client-conformance.md).</p>\n"
        << "</header>\n";
    out << "<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"tot\">"
        << "<span class=\"b passed\">" << all.passed << " passed</span>"
        << "<span class=\"b failed\">" << all.failed << " failed</span>"
        << "<span class=\"b skipped\">" << all.skipped << " skipped</span>"
        << "<span class=\"b error\">" << all.errors << " error" << (all.errors == 1 ? "" : "s")
        << "</span><span class=\"mute\">(" << all.not_applicable
        << " of the skipped are n/a: the peer does not offer what they test; errors are cases "
           "the runner could not judge)</span></p>\n<div class=\"grids\">\n";
    count_table(out, "per RFC", "RFC",
                std::vector<std::pair<std::string, counts>>(by_rfc.begin(), by_rfc.end()), true,
                all);
    std::vector<std::pair<std::string, counts>> levels;
    for (const auto& [l, c] : by_level)
        levels.emplace_back(std::string(to_string(l)), c);
    count_table(out, "per level", "level", levels, false, all);
    out << "</div>\n</section>\n";

    out << "<h2>Cases</h2>\n<div id=\"filters\" hidden>\n"
           "<label>verdict <select id=\"f-verdict\"><option value=\"\">all</option>";
    for (const char* w : {"passed", "failed", "skipped", "error"})
        out << "<option value=\"" << w << "\">" << w << "</option>";
    for (const auto& o : finer)
        out << "<option value=\"" << esc(o) << "\">" << esc(o) << "</option>";
    out << "</select></label>\n<label>RFC <select id=\"f-rfc\"><option value=\"\">all</option>";
    for (const auto& [rfc, c] : by_rfc)
        out << "<option value=\"" << esc(rfc) << "\">RFC " << esc(rfc) << "</option>";
    out << "</select></label>\n<label>level <select id=\"f-level\"><option value=\"\">all</option>";
    for (const auto& [l, c] : by_level)
        out << "<option value=\"" << to_string(l) << "\">" << to_string(l) << "</option>";
    out << "</select></label>\n<label>text <input type=\"search\" id=\"f-text\" "
           "placeholder=\"id, title, reason, wire line\"></label>\n"
           "<button type=\"button\" id=\"f-reset\">reset</button>\n"
           "<button type=\"button\" id=\"f-open\">open shown</button>\n"
           "<button type=\"button\" id=\"f-close\">close all</button>\n"
           "<span id=\"f-count\" class=\"mute\"></span>\n</div>\n<main id=\"cases\">\n";
    for (std::size_t i = 0; i < results.size(); ++i)
        write_case(out, results[i], i + 1);
    out << "<p id=\"none\" hidden>No case matches the filters.</p>\n</main>\n<script>" << script
        << "</script>\n</body>\n</html>\n";
}

} // namespace pop3::conformance
