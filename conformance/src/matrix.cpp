// The ecosystem matrix (matrix.hpp): runs' JSON results read back, grouped by direction and by
// case family, written as one HTML page and as Markdown tables.
#include "matrix.hpp"

#include "html_page.hpp"

// Boost.JSON, header-only: its implementation is compiled here, once.
#include <algorithm>
#include <boost/json/src.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

namespace pop3::conformance {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& why) {
    throw matrix_input_error(file.string() + ": " + why);
}

// A string member, or `fallback` when absent; another type is an error.
std::string member(const json::object& o, std::string_view key, const std::filesystem::path& file,
                   const std::string& where, const char* fallback = nullptr) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) {
        if (fallback) return fallback;
        bad(file, "not a pop3-conformance JSON: " + where + " has no \"" + std::string(key) + "\"");
    }
    if (!v->is_string())
        bad(file, "not a pop3-conformance JSON: " + where + "'s \"" + std::string(key) +
                      "\" is not a string");
    const auto& s = v->get_string();
    return std::string(s.data(), s.size());
}

bool is_verdict(std::string_view v) {
    return v == "passed" || v == "failed" || v == "skipped" || v == "error";
}

// A path inside an href: percent-encoded but for unreserved characters and '/'.
std::string url_path(const std::string& path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The run's HTML report as the page (in `page_dir`) links to it: relative when it can be.
std::string report_href(const std::filesystem::path& html, const std::filesystem::path& page_dir) {
    std::error_code ec;
    const auto target = std::filesystem::weakly_canonical(html, ec);
    if (ec) return url_path(html.string());
    const auto base = std::filesystem::weakly_canonical(page_dir.empty() ? "." : page_dir, ec);
    if (ec) return url_path(target.string());
    const auto rel = target.lexically_relative(base);
    return url_path(rel.empty() ? target.string() : rel.string());
}

// An outcome as a CSS class: "o-failed", "o-non-strict", "o-na" (n/a).
std::string outcome_class(const std::string& outcome) {
    std::string c = "o-";
    for (char ch : outcome)
        if ((ch >= 'a' && ch <= 'z') || ch == '-') c += ch;
    return c == "o-n" ? "o-na" : c;
}

// The short word of an outcome in a cell.
std::string short_word(const std::string& outcome) {
    if (outcome == "passed") return "pass";
    if (outcome == "failed") return "FAIL";
    if (outcome == "skipped") return "skip";
    if (outcome == "error") return "error";
    if (outcome == "inconclusive") return "inconcl.";
    return outcome; // n/a, info, non-strict, and any other
}

// The order outcomes are shown in a cell and its tooltip.
std::vector<std::string> display_order(const matrix_counts& c) {
    static constexpr std::string_view order[] = {"passed", "info",         "failed",  "non-strict",
                                                 "error",  "inconclusive", "skipped", "n/a"};
    std::vector<std::string> out;
    for (auto o : order)
        if (c.by_outcome.count(std::string(o))) out.emplace_back(o);
    for (const auto& [o, n] : c.by_outcome)
        if (std::find(std::begin(order), std::end(order), o) == std::end(order)) out.push_back(o);
    return out;
}

// Counts as the tooltip says them: "41 passed, 2 failed, 1 n/a".
std::string counts_text(const matrix_counts& c) {
    std::string s;
    for (const auto& o : display_order(c))
        s += (s.empty() ? "" : ", ") + std::to_string(c.by_outcome.at(o)) + " " + o;
    return s;
}

// A cell's text: each outcome's count and short word.
void count_spans(std::ostream& out, const matrix_counts& c) {
    bool first = true;
    for (const auto& o : display_order(c)) {
        out << (first ? "" : " ") << "<span class=\"k " << outcome_class(o) << "\">"
            << c.by_outcome.at(o) << "&#8201;" << html_text(short_word(o)) << "</span>";
        first = false;
    }
}

constexpr const char* matrix_style = R"(
body{max-width:none}
header{max-width:1400px}header p{margin:2px 0}
.mx-tools{margin:8px 0;display:flex;gap:8px;align-items:center}
table.mx{border-collapse:separate;border-spacing:0;font-size:13px}
table.mx th,table.mx td{border:solid var(--line);border-width:0 1px 1px 0;padding:2px 6px;
vertical-align:top}
table.mx tr>:first-child{border-left-width:1px}table.mx thead th{border-top-width:1px}
table.mx thead th{background:var(--soft);position:sticky;top:0;z-index:2;font-weight:600;
text-align:center;min-width:6em;max-width:11em;word-break:break-word}
table.mx thead th.n{white-space:nowrap;min-width:0}
table.mx thead th a{color:inherit}
table.mx th.fn{text-align:left;white-space:nowrap;font-weight:500;background:var(--bg);
position:sticky;left:0;z-index:1}
table.mx thead th.fn{z-index:3;background:var(--soft)}
table.mx th.fn code{font-size:12.5px}
table.mx td.n{text-align:right;color:var(--mute)}
table.mx tr.fam{cursor:pointer}
table.mx tr.fam:hover th.fn{background:var(--soft)}
table.mx tr.fam th.fn::before{content:"\25b8\00a0";color:var(--mute)}
table.mx tr.fam.open th.fn::before{content:"\25be\00a0"}
table.mx tr.all th,table.mx tr.all td{font-weight:600;border-bottom:2px solid var(--fg)}
table.mx tr.cs th.fn{padding-left:2.2em;font-weight:400;background:var(--soft)}
table.mx tr.cs th.fn code{font-size:12px}
table.mx tr.cs td{text-align:center;white-space:nowrap}
table.mx td.c a,table.mx tr.cs td a{color:inherit}
.k{white-space:nowrap}
td.o-passed,.legend .o-passed{background:#dafbe1}td.o-failed,.legend .o-failed{background:#ffebe9}
td.o-error,.legend .o-error{background:#fff8c5}td.o-non-strict,.legend .o-non-strict{background:#fff1e5}
td.o-inconclusive,td.o-skipped,.legend .o-inconclusive,.legend .o-skipped{background:#eaeef2}
td.o-info,.legend .o-info{background:#ddf4ff}td.o-na,.legend .o-na{background:#f6f8fa;color:var(--mute)}
.k.o-failed{color:var(--fail);font-weight:600}.k.o-error{color:var(--err);font-weight:600}
.k.o-non-strict{color:#bc4c00;font-weight:600}.k.o-passed{color:var(--pass)}
.k.o-skipped,.k.o-inconclusive,.k.o-na{color:var(--mute)}.k.o-info{color:var(--tls)}
.legend span{display:inline-block;padding:0 6px;margin-right:4px;border:1px solid var(--line)}
)";

constexpr const char* matrix_script = R"(
"use strict";
(function () {
  var fams = Array.prototype.slice.call(document.querySelectorAll("tr.fam"));
  var rowsOf = {};
  Array.prototype.forEach.call(document.querySelectorAll("tr.cs"), function (r) {
    (rowsOf[r.dataset.of] = rowsOf[r.dataset.of] || []).push(r);
    r.hidden = true;
  });
  function show(f, open) {
    f.classList.toggle("open", open);
    f.setAttribute("aria-expanded", open ? "true" : "false");
    (rowsOf[f.dataset.fam] || []).forEach(function (r) { r.hidden = !open; });
  }
  fams.forEach(function (f) {
    f.addEventListener("click", function (e) {
      if (e.target.closest("a")) return;
      show(f, !f.classList.contains("open"));
    });
    f.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); f.click(); }
    });
  });
  document.getElementById("mx-open").addEventListener("click", function () {
    fams.forEach(function (f) { show(f, true); });
  });
  document.getElementById("mx-close").addEventListener("click", function () {
    fams.forEach(function (f) { show(f, false); });
  });
  document.getElementById("mx-tools").hidden = false;
})();
)";

// One direction's table.
void write_group_table(std::ostream& out, const matrix_group& g, std::size_t group_index,
                       const std::filesystem::path& page_dir) {
    out << "<section>\n<h2>" << (g.client ? "Clients" : "Servers") << "</h2>\n<p class=\"mute\">"
        << g.runs.size() << (g.runs.size() == 1 ? " run, " : " runs, ") << g.families.size()
        << " case families, " << g.cases << " cases ("
        << (g.client ? "pop3-conformance client: the client under test against pop3kit's mock "
                       "server"
                     : "pop3-conformance server: pop3kit against the server under test")
        << ").</p>\n<table class=\"mx\" id=\"mx-" << group_index
        << "\">\n<thead><tr><th class=\"fn\">case family</th><th class=\"n\">cases</th>";
    for (const auto* r : g.runs) {
        out << "<th title=\"" << html_text(r->title + " (" + r->json.string() + ")") << "\">";
        if (r->html)
            out << "<a href=\"" << html_text(report_href(*r->html, page_dir)) << "\">"
                << html_text(r->name) << "</a>";
        else
            out << html_text(r->name);
        out << "</th>";
    }
    out << "</tr></thead>\n<tbody>\n";
    // The totals first.
    out << "<tr class=\"all\"><th class=\"fn\">all</th><td class=\"n\">" << g.cases << "</td>";
    for (const auto* r : g.runs) {
        matrix_counts all;
        for (const auto& c : r->cases)
            all.add(c);
        out << "<td class=\"c " << outcome_class(all.worst()) << "\" title=\""
            << html_text(r->name + ": " + counts_text(all)) << "\">";
        count_spans(out, all);
        out << "</td>";
    }
    out << "</tr>\n";
    for (std::size_t fi = 0; fi < g.families.size(); ++fi) {
        const auto& f = g.families[fi];
        const auto key = std::to_string(group_index) + "-" + std::to_string(fi);
        out << "<tr class=\"fam\" data-fam=\"" << key
            << "\" tabindex=\"0\" aria-expanded=\"false\"><th class=\"fn\"><code>"
            << html_text(f.name) << "</code></th><td class=\"n\">" << f.cases.size() << "</td>";
        for (const auto* r : g.runs) {
            const auto counts = family_counts(*r, f);
            if (!counts) {
                out << "<td></td>";
                continue;
            }
            out << "<td class=\"c " << outcome_class(counts->worst()) << "\" title=\""
                << html_text(r->name + ", " + f.name + ": " + counts_text(*counts)) << "\">";
            count_spans(out, *counts);
            out << "</td>";
        }
        out << "</tr>\n";
        for (const auto& id : f.cases) {
            std::string title;
            for (const auto* r : g.runs)
                if (const auto it = r->by_id.find(id); it != r->by_id.end()) {
                    const auto& c = r->cases[it->second];
                    title = c.level.empty() ? c.title : "[" + c.level + "] " + c.title;
                    break;
                }
            out << "<tr class=\"cs\" data-of=\"" << key << "\"><th class=\"fn\" title=\""
                << html_text(title) << "\"><code>" << html_text(id) << "</code></th><td></td>";
            for (const auto* r : g.runs) {
                const auto it = r->by_id.find(id);
                if (it == r->by_id.end()) {
                    out << "<td></td>";
                    continue;
                }
                const auto& c = r->cases[it->second];
                std::string tip = r->name + ": " + c.outcome;
                if (!c.reason.empty()) tip += ": " + c.reason;
                out << "<td class=\"" << outcome_class(c.outcome) << "\" title=\"" << html_text(tip)
                    << "\">";
                if (r->html)
                    out << "<a href=\"" << html_text(report_href(*r->html, page_dir)) << "#c"
                        << c.index << "\">" << html_text(short_word(c.outcome)) << "</a>";
                else
                    out << html_text(short_word(c.outcome));
                out << "</td>";
            }
            out << "</tr>\n";
        }
    }
    out << "</tbody>\n</table>\n</section>\n";
}

// Markdown text in a table cell: the characters that would end the cell or start markup,
// escaped; line breaks as spaces.
std::string md_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n' || c == '\r') {
            out += ' ';
            continue;
        }
        if (c == '|' || c == '\\' || c == '*' || c == '_' || c == '`' || c == '[' || c == ']' ||
            c == '<' || c == '>')
            out += '\\';
        out += c;
    }
    return out;
}

std::string md_cell(const std::optional<matrix_counts>& c) {
    if (!c) return "";
    std::string s = std::to_string(c->passed) + " / " +
                    (c->failed ? "**" + std::to_string(c->failed) + "**" : "0") + " / " +
                    std::to_string(c->not_applicable);
    if (const auto other = c->skipped - c->not_applicable)
        s += " +" + std::to_string(other) + " skipped";
    if (c->errors) s += " +" + std::to_string(c->errors) + " error";
    return s;
}

// The order of the rows: digit runs compared as numbers, so that rfc1939/4 comes before
// rfc1939/10 and rfc2449/6.9 before rfc2449/8.1.2.
bool natural_less(std::string_view a, std::string_view b) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            std::size_t ei = i, ej = j;
            while (ei < a.size() && digit(a[ei]))
                ++ei;
            while (ej < b.size() && digit(b[ej]))
                ++ej;
            auto x = a.substr(i, ei - i), y = b.substr(j, ej - j);
            while (x.size() > 1 && x[0] == '0')
                x.remove_prefix(1);
            while (y.size() > 1 && y[0] == '0')
                y.remove_prefix(1);
            if (x.size() != y.size()) return x.size() < y.size();
            if (x != y) return x < y;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

} // namespace

int outcome_rank(std::string_view outcome, std::string_view verdict) {
    static constexpr std::string_view order[] = {"failed",  "error", "non-strict", "inconclusive",
                                                 "skipped", "info",  "n/a",        "passed"};
    for (int i = 0; i < 8; ++i)
        if (order[i] == outcome) return i;
    if (!verdict.empty() && verdict != outcome) return outcome_rank(verdict);
    return 4; // an outcome this program does not know: as a skip
}

void matrix_counts::add(const matrix_case& c) {
    if (c.result == "passed")
        ++passed;
    else if (c.result == "failed")
        ++failed;
    else if (c.result == "skipped") {
        ++skipped;
        not_applicable += c.outcome == "n/a";
    } else
        ++errors;
    ++by_outcome[c.outcome];
}

std::string matrix_counts::worst() const {
    std::string w;
    int rank = 100;
    for (const auto& [o, n] : by_outcome)
        if (const auto r = outcome_rank(o); n && r < rank) {
            rank = r;
            w = o;
        }
    return w;
}

std::string case_family(std::string_view id) {
    std::string_view prefix;
    if (id.substr(0, 7) == "client/") {
        prefix = id.substr(0, 7);
        id.remove_prefix(7);
    }
    // Without the case's own (last) component, at most two components.
    const auto last = id.rfind('/');
    if (last != std::string_view::npos) id = id.substr(0, last);
    const auto first = id.find('/');
    if (first != std::string_view::npos) {
        const auto second = id.find('/', first + 1);
        if (second != std::string_view::npos) id = id.substr(0, second);
    }
    return std::string(prefix) + std::string(id);
}

matrix_run parse_matrix_run(std::string_view json_text, const std::filesystem::path& source,
                            std::string name) {
    json::parse_options po;
    po.allow_invalid_utf8 = true; // a reason or an id may quote a peer's raw octets
    po.max_depth = 8;
    boost::system::error_code ec;
    const auto doc = json::parse(json::string_view(json_text.data(), json_text.size()), ec,
                                 json::storage_ptr(), po);
    if (ec) bad(source, "not JSON: " + ec.message());
    const auto* top = doc.if_object();
    if (!top) bad(source, "not a pop3-conformance JSON: not an object");
    matrix_run run;
    run.json = source;
    run.title = member(*top, "title", source, "the file");
    const auto* cases = top->if_contains("cases");
    if (!cases || !cases->is_array())
        bad(source, "not a pop3-conformance JSON: no \"cases\" array");
    if (!top->contains("passed") || !top->contains("failed"))
        bad(source, "not a pop3-conformance JSON: no \"passed\" and \"failed\" counts");
    std::size_t index = 0;
    bool client_ids = !cases->get_array().empty();
    for (const auto& v : cases->get_array()) {
        ++index;
        const std::string where = "case " + std::to_string(index);
        const auto* o = v.if_object();
        if (!o) bad(source, "not a pop3-conformance JSON: " + where + " is not an object");
        matrix_case c;
        c.index = index;
        c.id = member(*o, "id", source, where);
        if (c.id.empty()) bad(source, "not a pop3-conformance JSON: " + where + " has an empty id");
        const std::string at = "case " + c.id;
        c.result = member(*o, "result", source, at);
        if (!is_verdict(c.result))
            bad(source,
                at + ": unknown result '" + c.result + "' (passed, failed, skipped or error)");
        c.outcome = member(*o, "outcome", source, at, "");
        if (c.outcome.empty()) c.outcome = c.result;
        c.title = member(*o, "title", source, at, "");
        c.rfc = member(*o, "rfc", source, at, "");
        c.level = member(*o, "level", source, at, "");
        c.reason = member(*o, "reason", source, at, "");
        if (!run.by_id.emplace(c.id, run.cases.size()).second)
            bad(source, at + ": the id appears twice");
        client_ids = client_ids && c.id.rfind("client/", 0) == 0;
        run.cases.push_back(std::move(c));
    }
    run.client = run.title.rfind("pop3-conformance client", 0) == 0 || client_ids;
    run.name = name.empty() ? source.stem().string() : std::move(name);
    auto html = source;
    html.replace_extension(".html");
    std::error_code fs_ec;
    if (std::filesystem::is_regular_file(html, fs_ec)) run.html = html;
    return run;
}

matrix_run read_matrix_run(const std::filesystem::path& file, std::string name) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) bad(file, "is a folder");
    std::ifstream in(file, std::ios::binary);
    if (!in) bad(file, std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) bad(file, "cannot read");
    return parse_matrix_run(text.str(), file, std::move(name));
}

std::vector<matrix_group> group_runs(const std::vector<matrix_run>& runs) {
    std::vector<matrix_group> groups;
    for (const bool client : {false, true}) {
        matrix_group g;
        g.client = client;
        std::map<std::string, std::size_t> family_at;
        std::set<std::string> seen;
        for (const auto& r : runs) {
            if (r.client != client) continue;
            g.runs.push_back(&r);
            for (const auto& c : r.cases) {
                if (!seen.insert(c.id).second) continue;
                const auto name = case_family(c.id);
                auto [it, fresh] = family_at.emplace(name, g.families.size());
                if (fresh) g.families.push_back({name, {}});
                g.families[it->second].cases.push_back(c.id);
            }
        }
        g.cases = seen.size();
        std::stable_sort(g.families.begin(), g.families.end(),
                         [](const auto& x, const auto& y) { return natural_less(x.name, y.name); });
        if (!g.runs.empty()) groups.push_back(std::move(g));
    }
    return groups;
}

std::optional<matrix_counts> family_counts(const matrix_run& run,
                                           const matrix_group::family& family) {
    std::optional<matrix_counts> counts;
    for (const auto& id : family.cases)
        if (const auto it = run.by_id.find(id); it != run.by_id.end()) {
            if (!counts) counts.emplace();
            counts->add(run.cases[it->second]);
        }
    return counts;
}

void write_matrix_html(std::ostream& out, const std::string& title,
                       const std::vector<matrix_run>& runs, const std::filesystem::path& page_dir) {
    write_html_head(out, title, matrix_style);
    const auto groups = group_runs(runs);
    out << "<header>\n<h1>" << html_text(title) << "</h1>\n<p class=\"mute\">" << runs.size()
        << (runs.size() == 1 ? " run" : " runs")
        << " side by side: a column per run, a row per case family (the case id's leading "
           "components); each cell counts the family's cases per outcome and is coloured by "
           "the worst. A click on a family shows its cases; a case's outcome links to it in "
           "the run's report, its reason is the tooltip. A blank cell: the run has none of "
           "those cases. Written by pop3-conformance matrix (docs/transcripts.md).</p>\n"
           "<p class=\"legend\">";
    for (const char* o :
         {"passed", "info", "n/a", "skipped", "inconclusive", "non-strict", "error", "failed"}) {
        const std::string s = o;
        out << "<span class=\"" << outcome_class(s) << "\">" << html_text(s) << "</span>";
    }
    out << "</p>\n</header>\n"
           "<div class=\"mx-tools\" id=\"mx-tools\" hidden>"
           "<button type=\"button\" id=\"mx-open\">open all families</button>"
           "<button type=\"button\" id=\"mx-close\">close all</button></div>\n";
    for (std::size_t i = 0; i < groups.size(); ++i)
        write_group_table(out, groups[i], i, page_dir);
    out << "<script>" << matrix_script << "</script>\n</body>\n</html>\n";
}

void write_matrix_markdown(std::ostream& out, const std::vector<matrix_run>& runs) {
    const auto groups = group_runs(runs);
    out << "Each cell: passed / failed / n/a cases of the family in the run (failed in bold; "
           "\"+N skipped\" and \"+N error\" when there are any); blank: the run has none of "
           "them. Generated by `pop3-conformance matrix`.\n";
    for (const auto& g : groups) {
        out << "\n**" << (g.client ? "Clients" : "Servers") << "** (" << g.cases
            << " cases):\n\n| case family | cases |";
        for (const auto* r : g.runs)
            out << " " << md_text(r->name) << " |";
        out << "\n|---|---:|";
        for (std::size_t i = 0; i < g.runs.size(); ++i)
            out << "---|";
        out << "\n| **all** | " << g.cases << " |";
        for (const auto* r : g.runs) {
            matrix_counts all;
            for (const auto& c : r->cases)
                all.add(c);
            out << " " << md_cell(all) << " |";
        }
        out << "\n";
        for (const auto& f : g.families) {
            const bool plain = f.name.find_first_of("`|\\\n\r") == std::string::npos;
            out << "| " << (plain ? "`" + f.name + "`" : md_text(f.name)) << " | " << f.cases.size()
                << " |";
            for (const auto* r : g.runs)
                out << " " << md_cell(family_counts(*r, f)) << " |";
            out << "\n";
        }
    }
}

} // namespace pop3::conformance
