#include "pop3/conformance/baseline.hpp"

#include "file_text.hpp"
#include "pop3/conformance/client_runner.hpp"
#include "pop3/conformance/report.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <pop3/protocol/error.hpp>
#include <sstream>

namespace pop3::conformance {
namespace {

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
            ++i;
        const auto start = i;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t')
            ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

bool valid_section_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (c == '[' || c == ']' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
    return true;
}

std::string word_or_absent(const std::string& word) {
    return word.empty() ? std::string("absent") : word;
}

std::string where(const case_result& r) {
    return r.tc->file.string() + ":" + std::to_string(r.line ? r.line : r.tc->line);
}

// One case of the report: "ID: was -> now: reason at FILE:LINE".
void write_change(std::ostream& out, const verdict_change& c, bool show_verdicts) {
    out << "    " << c.id;
    if (show_verdicts)
        out << ": " << word_or_absent(c.expected_word) << " -> " << word_or_absent(c.now_word);
    if (c.result && c.result->v != verdict::pass) {
        out << ": " << escape_for_display(c.result->reason, 200);
        if (c.result->v == verdict::fail || c.result->v == verdict::error)
            out << " at " << where(*c.result);
    }
    out << "\n";
    if (c.result && c.result->v == verdict::fail) {
        if (!c.result->expected.empty())
            out << "        expected: " << escape_for_display(c.result->expected, 200) << "\n";
        if (!c.result->actual.empty())
            out << "          actual: " << escape_for_display(c.result->actual, 200) << "\n";
    }
}

} // namespace

std::optional<verdict> parse_verdict(std::string_view word) noexcept {
    for (auto v : {verdict::pass, verdict::fail, verdict::skip, verdict::error})
        if (word == to_string(v)) return v;
    for (std::string_view outcome : {"non-strict", "info", "n/a", "inconclusive"})
        if (word == outcome) return verdict_of_outcome(outcome);
    return std::nullopt;
}

std::string_view result_word(const case_result& r) noexcept {
    return r.outcome.empty() ? to_string(r.v) : std::string_view(r.outcome);
}

baseline parse_baseline(std::string_view text, const std::string& file,
                        const std::string& section) {
    auto fail = [&](std::size_t line, const std::string& why) -> baseline_error {
        return baseline_error(file + ":" + std::to_string(line) + ": " + why);
    };
    baseline b;
    b.name = section.empty() ? file : file + " [" + section + "]";
    std::map<std::string, std::size_t> sections; // name -> line of its header
    std::map<std::string, std::size_t> ids;      // in the current section -> line
    std::string current;                         // the current section's name
    bool in_section = false, found = false;
    std::size_t first_unsectioned = 0; // a case line before any header
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        const auto line = trim(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.empty() || line.front() == '#') continue;
        if (line.front() == '[') {
            const auto name = line.size() >= 2 && line.back() == ']'
                                  ? line.substr(1, line.size() - 2)
                                  : std::string_view{};
            if (!valid_section_name(name))
                throw fail(line_no, "expected a section header '[NAME]' (a name without spaces "
                                    "or brackets), got '" +
                                        escape_for_display(line) + "'");
            if (first_unsectioned)
                throw fail(first_unsectioned,
                           "a case line before the first [section] header (a file with sections "
                           "holds every case in one)");
            if (section.empty())
                throw fail(line_no, "the file has sections ([" + std::string(name) +
                                        "]): name the one to compare with (--expect-section)");
            const auto [it, inserted] = sections.emplace(name, line_no);
            if (!inserted)
                throw fail(line_no, "section [" + std::string(name) + "] again (first at line " +
                                        std::to_string(it->second) + ")");
            current = name;
            in_section = true;
            found = found || current == section;
            ids.clear();
            continue;
        }
        const auto w = words(line);
        if (w.size() != 2)
            throw fail(line_no, "expected 'ID VERDICT', got '" + escape_for_display(line) + "'");
        const auto v = parse_verdict(w[1]);
        if (!v)
            throw fail(line_no, "unknown verdict '" + escape_for_display(w[1]) +
                                    "' (passed, failed, skipped, error, non-strict, info, "
                                    "n/a or inconclusive)");
        const std::string id(w[0]);
        const auto [it, inserted] = ids.emplace(id, line_no);
        if (!inserted)
            throw fail(line_no, "case '" + id + "' again (first at line " +
                                    std::to_string(it->second) + ")");
        if (!in_section && !first_unsectioned) first_unsectioned = line_no;
        if (in_section ? current == section : section.empty())
            b.entries.push_back({id, *v, line_no, std::string(w[1])});
    }
    if (!section.empty() && !found) throw baseline_error(file + ": no section [" + section + "]");
    return b;
}

baseline read_baseline(const std::filesystem::path& file, const std::string& section) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw baseline_error(file.string() + ": cannot read: a directory");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw baseline_error(file.string() + ": cannot read: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw baseline_error(file.string() + ": cannot read");
    return parse_baseline(text.str(), file.string(), section);
}

baseline_comparison compare_with_baseline(const baseline& expected,
                                          const std::vector<case_result>& results,
                                          const std::set<std::string>& suite) {
    baseline_comparison c;
    std::map<std::string_view, const baseline_entry*> want;
    for (const auto& e : expected.entries)
        want.emplace(e.id, &e);
    std::set<std::string_view> ran;
    for (const auto& r : results) {
        ran.insert(r.tc->id);
        const auto it = want.find(r.tc->id);
        verdict_change ch{r.tc->id, std::nullopt, r.v, {}, std::string(result_word(r)), &r, 0};
        if (it != want.end()) {
            ch.expected = it->second->v;
            ch.expected_word = it->second->word;
            ch.baseline_line = it->second->line;
            // "skipped" matches "n/a": a baseline written before server cases could be n/a
            // keeps matching. No other finer word is matched by its verdict's (a baseline's
            // "passed" does not hide an "info", nor "failed" a "non-strict").
            if (it->second->word == ch.now_word ||
                (it->second->word == "skipped" && ch.now_word == outcome_not_applicable)) {
                ++c.matched;
                continue;
            }
        }
        if (r.v == verdict::fail)
            c.new_failures.push_back(std::move(ch));
        else if (!ch.expected)
            c.added.push_back(std::move(ch));
        else if (*ch.expected == verdict::fail && r.v == verdict::pass)
            c.fixed.push_back(std::move(ch));
        else
            c.changed.push_back(std::move(ch));
    }
    for (const auto& e : expected.entries) {
        if (ran.contains(e.id)) continue;
        if (suite.contains(e.id))
            ++c.not_run;
        else
            c.vanished.push_back({e.id, e.v, std::nullopt, e.word, {}, nullptr, e.line});
    }
    return c;
}

void write_baseline_report(std::ostream& out, const baseline& expected,
                           const baseline_comparison& c) {
    const auto n = c.differences();
    if (n) {
        out << "baseline " << expected.name << ": " << n
            << (n == 1 ? " difference" : " differences") << "\n";
        auto group = [&](const std::vector<verdict_change>& changes, const char* heading,
                         bool show_verdicts) {
            if (changes.empty()) return;
            out << "  " << heading << ":\n";
            for (const auto& ch : changes)
                write_change(out, ch, show_verdicts);
        };
        group(c.new_failures,
              "new failures (expected passed, skipped, error or absent; now failed)", true);
        group(c.fixed, "fixed (expected failed, now passed)", false);
        group(c.changed, "other changed verdicts", true);
        group(c.added, "new cases (not in the baseline)", true);
        if (!c.vanished.empty()) {
            out << "  no longer in the suite (in the baseline, not among the transcripts):\n";
            for (const auto& ch : c.vanished)
                out << "    " << ch.id << " (was " << word_or_absent(ch.expected_word) << ", line "
                    << ch.baseline_line << ")\n";
        }
        out << "baseline: " << n << (n == 1 ? " difference" : " differences") << " from "
            << expected.name << "\n";
    } else {
        out << "baseline: matches " << expected.name << " (" << c.matched
            << (c.matched == 1 ? " verdict" : " verdicts") << ")\n";
    }
}

void write_baseline(std::ostream& out, const std::vector<case_result>& results,
                    std::string_view mode, const std::string& section) {
    out << "# pop3-conformance " << mode
        << " verdicts, one line per case: ID VERDICT (passed, failed, skipped\n"
           "# or error; client cases: non-strict, info, n/a, inconclusive too). Check a run "
           "against it with --expect FILE, rewrite it with "
           "--update-expect FILE.\n";
    if (!section.empty()) out << "[" << section << "]\n";
    for (const auto& r : results)
        out << r.tc->id << " " << result_word(r) << "\n";
}

} // namespace pop3::conformance
