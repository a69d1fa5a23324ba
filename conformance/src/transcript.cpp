#include "pop3/conformance/transcript.hpp"

#include "file_text.hpp"
#include "pop3/conformance/pattern.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/protocol/transcript_text.hpp>
#include <set>
#include <sstream>

namespace pop3::conformance {
namespace {

// maildrop: long-line:OCTETS — at most 4 MiB (the runner reads lines of up to 8 MiB).
constexpr std::uint64_t max_long_line = 4 * 1024 * 1024;

struct parser {
    const std::filesystem::path& file;
    std::size_t line_no = 0;

    [[noreturn]] void fail(const std::string& why) const {
        throw transcript_error(file.string() + ":" + std::to_string(line_no) + ": " + why);
    }

    unsigned millis(std::string_view arg, std::string_view directive) const {
        const auto v = parse_decimal(trim(arg));
        if (!v || *v > 600000)
            fail(std::string(directive) + " needs a duration in milliseconds (0-600000)");
        return static_cast<unsigned>(*v);
    }

    // Checks the {…} and escape syntax of a C:/S: text now, so that mistakes are reported with
    // their line before anything runs. In a pattern (a line the runner expects) {name=REGEX} is
    // a regex and is compiled; in a line it sends, '=' may be part of a function's argument.
    void check_text(std::string_view text, bool pattern) const {
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (c == '\\') {
                // The one escape alphabet (pop3/protocol/transcript_text.hpp).
                const auto e = transcript_unescape_at(text, i);
                switch (e.status) {
                case transcript_escape_status::ok: break;
                case transcript_escape_status::at_end: fail("'\\' at the end of the line");
                case transcript_escape_status::bad_hex: fail("\\x needs two hex digits");
                case transcript_escape_status::unknown:
                    fail(std::string("unknown escape '\\") + e.byte +
                         "' (use \\r \\n \\0 \\t \\xHH \\\\ \\* \\{ \\} \\|)");
                }
                i += e.length - 1;
            } else if (c == '{') {
                // Inside {…} is a name, a function or a regular expression: backslashes belong
                // to the regex, and a nested '{' is not allowed.
                const auto close = find_closing_brace(text, i);
                if (close == std::string_view::npos) fail("'{' without a closing '}'");
                const auto inner = text.substr(i + 1, close - i - 1);
                for (std::size_t k = 0; k < inner.size(); ++k) {
                    if (inner[k] == '\\')
                        ++k;
                    else if (const auto count = repetition_count_length(inner, k); count != 0)
                        k += count - 1;
                    else if (inner[k] == '{')
                        fail("'{' inside '{…}': only a regex repetition count ({2}, {1,70}, {3,}) "
                             "may stand there (\\x7B is a literal '{')");
                }
                if (const auto eq = inner.find('='); pattern && eq != std::string_view::npos)
                    if (const auto problem = regex_problem(inner.substr(eq + 1)); !problem.empty())
                        fail(problem);
                i = close;
            } else if (c == '}') {
                fail("'}' without '{' (escape it as \\})");
            }
        }
    }
};

} // namespace

std::string_view to_string(level l) noexcept {
    switch (l) {
    case level::must: return "MUST";
    case level::should: return "SHOULD";
    case level::may: return "MAY";
    }
    return "?";
}

std::vector<test_case> parse_transcript(std::string_view text, const std::filesystem::path& file) {
    parser p{file};
    std::vector<test_case> cases;
    std::set<std::string> ids;
    bool in_header = false;
    auto finish = [&] {
        if (cases.empty()) return;
        const auto& c = cases.back();
        const auto saved = p.line_no;
        p.line_no = c.line;
        if (c.title.empty()) p.fail("case '" + c.id + "' has no title:");
        if (c.rfc.empty()) p.fail("case '" + c.id + "' has no rfc:");
        if (c.steps.empty()) p.fail("case '" + c.id + "' has no dialogue");
        if (c.dir == direction::client && c.client_args.empty())
            p.fail("case '" + c.id +
                   "' plays against a client but has no client: line (what the client is asked to "
                   "do)");
        p.line_no = saved;
    };

    while (!text.empty()) {
        ++p.line_no;
        const auto eol = text.find('\n');
        std::string_view raw = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
        const auto line = trim(raw);
        if (line.empty() || line.front() == '#') continue;

        if (line.starts_with("case:")) {
            finish();
            test_case c;
            c.id = std::string(trim(line.substr(5)));
            c.file = file;
            c.line = p.line_no;
            if (c.id.empty() || c.id.find(' ') != std::string::npos)
                p.fail("case: needs an id without spaces");
            if (!ids.insert(c.id).second) p.fail("duplicate case id '" + c.id + "'");
            cases.push_back(std::move(c));
            in_header = true;
            continue;
        }
        if (cases.empty()) p.fail("expected 'case: ID' before anything else");
        auto& c = cases.back();

        // Dialogue lines: keep everything after "X: " exactly (only one space is eaten).
        auto dialogue = [&](std::string_view prefix,
                            bool pattern = false) -> std::optional<std::string> {
            if (!raw.starts_with(prefix)) return std::nullopt;
            auto rest = raw.substr(prefix.size());
            if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
            p.check_text(rest, pattern);
            return std::string(rest);
        };
        step s;
        s.line = p.line_no;
        // The runner sends its own side's lines and checks the peer's: C: lines are sent and
        // S: lines checked against a server; the other way round against a client.
        const bool vs_client = c.dir == direction::client;
        const char mine = vs_client ? 'S' : 'C';
        const char peer = vs_client ? 'C' : 'S';
        auto prefix = [](char who, std::string_view rest) {
            return std::string(1, who) + std::string(rest);
        };
        if (auto t = dialogue(prefix(peer, "*:"), true)) {
            s.what = step::kind::expect_any;
            s.text = *t;
        } else if (auto t1 = dialogue(prefix(peer, ":"), true)) {
            s.what = step::kind::expect;
            s.text = *t1;
        } else if (auto t2 = dialogue(prefix(mine, "+:"))) {
            if (c.steps.empty() || c.steps.back().what != step::kind::send)
                p.fail(prefix(mine, "+: must follow a ") +
                       prefix(mine, ": line (it continues the same write)"));
            s.text = *t2;
            s.same_segment = true;
        } else if (auto t3 = dialogue(prefix(mine, "=:"))) {
            s.text = *t3;
            s.crlf = false;
        } else if (auto t4 = dialogue(prefix(mine, ":"))) {
            s.text = *t4;
        } else if (dialogue(prefix(peer, "+:")) || dialogue(prefix(peer, "=:")) ||
                   dialogue(prefix(mine, "*:"))) {
            p.fail(vs_client
                       ? "against a client, the runner sends S:, S+:, S=: and checks C:, C*:"
                       : "against a server, the runner sends C:, C+:, C=: and checks S:, S*:");
        } else if (line.front() == '!') {
            std::string_view rest = line.substr(1);
            const auto name = next_token(rest);
            if (name == "tls")
                s.what = step::kind::tls;
            else if (name == "tls-or-close")
                s.what = step::kind::tls_or_close;
            else if (name == "close")
                s.what = step::kind::close;
            else if (name == "may-close")
                s.what = step::kind::may_close;
            else if (name == "hangup")
                s.what = step::kind::hangup;
            else if (name == "no-reply") {
                s.what = step::kind::no_reply;
                s.millis = p.millis(rest, "!no-reply");
            } else if (name == "wait") {
                s.what = step::kind::wait;
                s.millis = p.millis(rest, "!wait");
            } else {
                p.fail("unknown directive '!" + std::string(name) +
                       "' (use !tls, !tls-or-close, !close, !may-close, !hangup, !no-reply MS, "
                       "!wait MS)");
            }
        } else if (in_header) {
            const auto colon = line.find(':');
            if (colon == std::string_view::npos)
                p.fail("expected 'key: value', a C:/S: line or a !directive");
            const auto key = trim(line.substr(0, colon));
            const auto value = trim(line.substr(colon + 1));
            if (key == "title")
                c.title = std::string(value);
            else if (key == "rfc")
                c.rfc = std::string(value);
            else if (key == "level") {
                if (value == "MUST")
                    c.lvl = level::must;
                else if (value == "SHOULD")
                    c.lvl = level::should;
                else if (value == "MAY")
                    c.lvl = level::may;
                else
                    p.fail("level must be MUST, SHOULD or MAY");
            } else if (key == "requires") {
                std::string_view rest = value;
                while (!rest.empty()) {
                    const auto comma = rest.find(',');
                    const auto item = trim(rest.substr(0, comma));
                    rest = comma == std::string_view::npos ? std::string_view{}
                                                           : rest.substr(comma + 1);
                    const bool known = item.starts_with("capa:") || item.starts_with("sasl:") ||
                                       item.starts_with("messages>=") || item == "tls" ||
                                       item == "apop" || item == "embedded" || item == "capa";
                    if (!known)
                        p.fail("unknown requirement '" + std::string(item) +
                               "' (capa, capa:NAME, sasl:MECH, messages>=N, tls, apop, embedded)");
                    if (item.starts_with("messages>=") && !parse_decimal(item.substr(10)))
                        p.fail("messages>= needs a number");
                    c.requirements.emplace_back(item);
                }
            } else if (key == "tls") {
                if (value == "any")
                    c.tls = start_tls_mode::any;
                else if (value == "plain")
                    c.tls = start_tls_mode::plain;
                else if (value == "implicit")
                    c.tls = start_tls_mode::implicit;
                else
                    p.fail("tls must be any, plain or implicit");
            } else if (key == "maildrop") {
                const bool ok = value == "default" || value == "empty" || value == "dots" ||
                                value.starts_with("generate:") || value.starts_with("long-line:");
                if (!ok)
                    p.fail("maildrop must be default, empty, dots, long-line:OCTETS or "
                           "generate:COUNT:SIZE");
                if (value.starts_with("long-line:")) {
                    const auto octets = parse_decimal(value.substr(10));
                    if (!octets || *octets < 1 || *octets > max_long_line)
                        p.fail("long-line: needs OCTETS from 1 to " +
                               std::to_string(max_long_line));
                }
                if (value.starts_with("generate:")) {
                    // The limits of the mock server's --generate and of scenario files.
                    try {
                        (void)mock::parse_count_size(value.substr(9), "'maildrop: generate:'");
                    } catch (const mock::scenario_error& e) {
                        p.fail(e.what());
                    }
                }
                c.maildrop = std::string(value);
            } else if (key == "direction") {
                if (!c.steps.empty()) p.fail("direction: must come before the dialogue");
                if (value == "server")
                    c.dir = direction::server;
                else if (value == "client")
                    c.dir = direction::client;
                else
                    p.fail("direction must be server or client");
            } else if (key == "client") {
                c.client_args = std::string(value);
            } else if (key == "expect-client") {
                if (value == "ok")
                    c.client_outcome = client_expectation::ok;
                else if (value == "error")
                    c.client_outcome = client_expectation::error;
                else if (value == "any")
                    c.client_outcome = client_expectation::any;
                else
                    p.fail("expect-client must be ok, error or any");
            } else if (key == "scenario") {
                const bool ok =
                    !value.empty() && std::all_of(value.begin(), value.end(), [](char ch) {
                        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
                    });
                if (!ok) p.fail("scenario must name a file of mockserver/scenarios/ without .toml");
                c.scenario = std::string(value);
            } else {
                p.fail(
                    "unknown key '" + std::string(key) +
                    "' (title, rfc, level, requires, tls, maildrop, scenario, direction, client, "
                    "expect-client)");
            }
            continue;
        } else {
            p.fail("expected a C:, C+:, C=:, S:, S*: line or a !directive");
        }
        in_header = false;
        c.steps.push_back(std::move(s));
    }
    finish();
    return cases;
}

std::vector<test_case> load_transcripts(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_regular_file(dir)) {
        files.push_back(dir);
    } else {
        if (!std::filesystem::is_directory(dir))
            throw transcript_error(dir.string() + ": no such file or directory");
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
            if (e.is_regular_file() && e.path().extension() == ".pop3") files.push_back(e.path());
        std::sort(files.begin(), files.end());
    }
    std::vector<test_case> all;
    std::set<std::string> ids;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) throw transcript_error(f.string() + ": cannot open");
        std::stringstream ss;
        ss << in.rdbuf();
        for (auto& c : parse_transcript(ss.str(), f)) {
            if (!ids.insert(c.id).second)
                throw transcript_error(f.string() + ":" + std::to_string(c.line) + ": case id '" +
                                       c.id + "' is also used in another file");
            all.push_back(std::move(c));
        }
    }
    return all;
}

} // namespace pop3::conformance
