#include "pop3/conformance/pattern.hpp"

#include "linear_match.hpp"

#include <optional>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/sasl.hpp>
#include <pop3/protocol/transcript_text.hpp>
#include <vector>

// Boost.Regex (header-only), not std::regex: libstdc++'s matcher recurses once per character,
// never gives up on backtracking (31 `*` before a {=…} ran for minutes: AFL++ found it), and
// overflows a signed integer on a backreference like \18446744073709551610 (UBSan). Boost's
// matcher keeps its own stack and throws after visiting max(N*S*S, min(N*N, 10^7)) states for
// a line of N octets and a regex of S (BOOST_REGEX_MAX_STATE_COUNT is set to 10^7 by CMake);
// match_one bounds N*S*S itself (max_regex_work), which Boost leaves open.
#include <boost/regex.hpp>

namespace pop3::conformance {
namespace {

// The escape at text[i] (a '\\'), in the one transcript alphabet (pop3/protocol/
// transcript_text.hpp); i moves to its last character.
char unescape(std::string_view text, std::size_t& i) {
    const auto e = transcript_unescape_at(text, i);
    i += e.length - 1;
    return e.byte;
}

const std::string& var(const variables& vars, const std::string& name) {
    const auto it = vars.find(name);
    if (it == vars.end())
        throw run_error("unknown variable {" + name + "} (not configured or captured yet)");
    return it->second;
}

std::string call(const std::string& expr, const variables& vars) {
    const auto open = expr.find('(');
    if (open == std::string::npos) {
        if (expr == "plain") {
            std::error_code ec;
            return base64_encode(sasl_encode_plain(var(vars, "user"), var(vars, "pass"), {}, ec));
        }
        if (expr == "b64user") return base64_encode(var(vars, "user"));
        if (expr == "b64pass") return base64_encode(var(vars, "pass"));
        return var(vars, expr);
    }
    if (expr.back() != ')') throw run_error("malformed {" + expr + "}");
    const auto fn = expr.substr(0, open);
    const auto arg = expr.substr(open + 1, expr.size() - open - 2);
    if (fn == "apop") return apop_digest(var(vars, arg), var(vars, "pass"));
    if (fn == "b64") return base64_encode(arg);
    if (fn == "cram") {
        std::string challenge;
        std::error_code ec;
        if (!base64_decode(var(vars, arg), challenge, ec))
            throw run_error("{cram(" + arg + ")}: not base64");
        return base64_encode(
            sasl_encode_cram_md5(var(vars, "user"), var(vars, "pass"), challenge, ec));
    }
    throw run_error("unknown function {" + expr + "} (apop, b64, cram, plain, b64user, b64pass)");
}

std::string regex_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

// Splits at unescaped " || " outside {…} (a regex may contain "||").
std::vector<std::string_view> alternatives(std::string_view pattern) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i + 4 <= pattern.size(); ++i) {
        if (pattern[i] == '\\') {
            ++i;
            continue;
        }
        if (pattern[i] == '{') {
            const auto close = find_closing_brace(pattern, i);
            if (close == std::string_view::npos) break; // match_one reports it
            i = close;
            continue;
        }
        if (pattern.substr(i, 4) == " || ") {
            out.push_back(pattern.substr(start, i - start));
            start = i + 4;
            i += 3;
        }
    }
    out.push_back(pattern.substr(start));
    return out;
}

// Literal text and '*' only: matched without a regex, for any length of line. Greedy glob with
// backtracking to the last '*', linear in practice.
bool glob_match(std::string_view pattern, std::string_view line) {
    // Split the pattern into literal pieces at unescaped '*'.
    std::vector<std::string> pieces(1);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '\\')
            pieces.back() += unescape(pattern, i);
        else if (pattern[i] == '*')
            pieces.emplace_back();
        else
            pieces.back() += pattern[i];
    }
    if (pieces.size() == 1) return line == pieces[0];
    if (!line.starts_with(pieces.front()) ||
        line.size() < pieces.front().size() + pieces.back().size() ||
        !line.ends_with(pieces.back()))
        return false;
    std::size_t pos = pieces.front().size();
    const std::size_t end = line.size() - pieces.back().size();
    for (std::size_t k = 1; k + 1 < pieces.size(); ++k) {
        const auto found = line.substr(0, end).find(pieces[k], pos);
        if (found == std::string_view::npos) return false;
        pos = found + pieces[k].size();
    }
    return pos <= end;
}

// ECMAScript as std::regex read it: Boost's ECMAScript is its Perl syntax, where '.' would
// match CR and LF and '^'/'$' every line of a multi-line subject.
constexpr auto regex_flags =
    boost::regex::ECMAScript | boost::regex::no_mod_s | boost::regex::no_mod_m;

// Boost's state bound grows with N*S*S (line length times regex length squared); past this the
// match is refused before it starts, so that a pathological one ends in about a second.
constexpr double max_regex_work = 5e7;

boost::regex compile(const std::string& re, std::string_view pattern) {
    try {
        return boost::regex(re, regex_flags);
    } catch (const std::runtime_error& e) { // boost::regex_error
        throw run_error("bad regular expression in pattern '" +
                        std::string(pattern.substr(0, 200)) + "': " + e.what());
    }
}

// Lines longer than this are not given to Boost's backtracking matcher but to the linear one
// (linear_match.hpp); patterns with {…} longer than this are refused.
constexpr std::size_t max_regex_line = 16 * 1024;
// The linear matcher's bound on NFA states × line octets (about a second).
constexpr double max_linear_work = 5e8;

// The pattern's parts for the linear matcher, or nullopt when it captures ({name=REGEX}: the
// linear matcher does not say where a group matched).
std::optional<std::vector<detail::pattern_part>> linear_parts(std::string_view pattern,
                                                              const variables& vars) {
    using detail::pattern_part;
    std::vector<pattern_part> parts;
    auto literal = [&]() -> std::string& {
        if (parts.empty() || parts.back().what != pattern_part::kind::literal)
            parts.push_back({pattern_part::kind::literal, {}});
        return parts.back().text;
    };
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            literal() += unescape(pattern, i);
        } else if (c == '*') {
            parts.push_back({pattern_part::kind::any, {}});
        } else if (c == '{') {
            const auto close = find_closing_brace(pattern, i);
            if (close == std::string_view::npos)
                throw run_error("'{' without a closing '}' in pattern '" +
                                std::string(pattern.substr(0, 80)) + "'");
            const std::string inner(pattern.substr(i + 1, close - i - 1));
            i = close;
            const auto eq = inner.find('=');
            if (eq == std::string::npos)
                literal() += call(inner, vars);
            else if (eq != 0)
                return std::nullopt;
            else
                parts.push_back({pattern_part::kind::regex, inner.substr(1)});
        } else {
            literal() += c;
        }
    }
    return parts;
}

// A line too long or a regex too costly for Boost's backtracking: the linear matcher, or an
// error (the runner cannot judge: never a failure).
bool match_long(std::string_view pattern, std::string_view line, variables& vars,
                const std::string& why) {
    if (const auto parts = linear_parts(pattern, vars))
        if (const auto matched = detail::linear_match(*parts, line, max_linear_work))
            return *matched;
    throw run_error("cannot judge a line of " + std::to_string(line.size()) +
                    " octets against pattern '" + std::string(pattern.substr(0, 200)) +
                    "': " + why +
                    ", and the linear matcher does not take it (a capture {name=…}, lookaround, "
                    "a backreference or \\b, or too many states)");
}

bool match_one(std::string_view pattern, std::string_view line, variables& vars) {
    if (pattern.find('{') == std::string_view::npos) return glob_match(pattern, line);
    // Bound the pattern: past this a regex match mostly runs into the state bound.
    if (pattern.size() > max_regex_line)
        throw run_error("a pattern with {…} longer than " + std::to_string(max_regex_line) +
                        " octets");
    if (line.size() > max_regex_line)
        return match_long(pattern, line, vars,
                          "too long for the backtracking matcher (over " +
                              std::to_string(max_regex_line) + " octets)");
    std::string re;
    std::vector<std::string> names; // capture group i+1 -> variable name ("" for none)
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\') {
            re += regex_escape(std::string(1, unescape(pattern, i)));
        } else if (c == '*') {
            // "**" means what "*" means; as two loops it would only make failing matches slower.
            if (!re.ends_with("[\\s\\S]*")) re += "[\\s\\S]*";
        } else if (c == '{') {
            const auto close = find_closing_brace(pattern, i);
            if (close == std::string_view::npos)
                throw run_error("'{' without a closing '}' in pattern '" +
                                std::string(pattern.substr(0, 80)) + "'");
            const std::string inner(pattern.substr(i + 1, close - i - 1));
            i = close;
            const auto eq = inner.find('=');
            if (eq == std::string::npos) {
                re += regex_escape(call(inner, vars));
            } else {
                re += "(" + inner.substr(eq + 1) + ")";
                names.push_back(inner.substr(0, eq));
            }
        } else {
            re += regex_escape(std::string(1, c));
        }
    }
    const auto compiled = compile(re, pattern);
    if (compiled.mark_count() != names.size())
        throw run_error("a regular expression in pattern '" + std::string(pattern.substr(0, 200)) +
                        "' has a capturing group of its own: use (?:…)");
    const double work = double(line.size()) * double(re.size()) * double(re.size());
    if (work > max_regex_work)
        return match_long(pattern, line, vars,
                          "a regex of " + std::to_string(re.size()) +
                              " octets is too costly for the backtracking matcher");
    boost::match_results<std::string_view::const_iterator> m;
    try {
        if (!boost::regex_match(line.begin(), line.end(), m, compiled)) return false;
    } catch (const std::runtime_error& e) { // the state bound, or no memory for the stack
        return match_long(pattern, line, vars,
                          std::string("the backtracking matcher gave up (") + e.what() + ")");
    }
    // Our groups are the only capturing ones: a pattern's own regex uses (?:…) (documented).
    for (std::size_t g = 0; g < names.size() && g + 1 < m.size(); ++g)
        if (!names[g].empty()) vars[names[g]] = m[static_cast<int>(g + 1)].str();
    return true;
}

} // namespace

std::size_t repetition_count_length(std::string_view text, std::size_t pos) noexcept {
    constexpr std::size_t max_digits = 4;
    if (pos >= text.size() || text[pos] != '{') return 0;
    std::size_t i = pos + 1;
    const auto digits = [&] {
        const std::size_t from = i;
        while (i < text.size() && i - from < max_digits + 1 && text[i] >= '0' && text[i] <= '9')
            ++i;
        return i - from;
    };
    const auto first = digits();
    if (first == 0 || first > max_digits) return 0;
    if (i < text.size() && text[i] == ',') {
        ++i;
        if (digits() > max_digits) return 0;
    }
    return i < text.size() && text[i] == '}' ? i + 1 - pos : 0;
}

std::size_t find_closing_brace(std::string_view text, std::size_t open) noexcept {
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        if (text[i] == '\\')
            ++i;
        else if (const auto count = repetition_count_length(text, i); count != 0)
            i += count - 1;
        else if (text[i] == '}')
            return i;
    }
    return std::string_view::npos;
}

std::string expand(std::string_view text, const variables& vars) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            out += unescape(text, i);
        } else if (c == '{') {
            const auto close = find_closing_brace(text, i);
            if (close == std::string_view::npos) throw run_error("'{' without a closing '}'");
            out += call(std::string(text.substr(i + 1, close - i - 1)), vars);
            i = close;
        } else {
            out += c;
        }
    }
    return out;
}

std::string regex_problem(std::string_view regex) {
    // Backreferences and recursion could only name the runner's own capture groups (a
    // pattern's groups do not capture), so they would mean something other than what their
    // author sees; only non-capturing groups and lookaround are allowed after "(?".
    bool in_class = false;
    for (std::size_t i = 0; i < regex.size(); ++i) {
        const char c = regex[i];
        if (c == '\\' && i + 1 < regex.size()) {
            const char e = regex[++i];
            if ((e >= '1' && e <= '9') || e == 'g' || e == 'k')
                return "backreference '\\" + std::string(1, e) +
                       "' in {…}: not supported (the runner's own groups are the only capturing "
                       "ones)";
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
            if (i + 1 < regex.size() && regex[i + 1] == '^') ++i;
            if (i + 1 < regex.size() && regex[i + 1] == ']') ++i; // "[]…]": ']' is a member
        } else if (c == '(' && regex.substr(i + 1, 1) == "?") {
            const auto kind = regex.substr(i + 2, 2);
            if (!kind.starts_with(":") && !kind.starts_with("=") && !kind.starts_with("!") &&
                kind != "<=" && kind != "<!")
                return "'(?" + std::string(kind.substr(0, 1)) +
                       "' in {…}: only (?:…), (?=…), (?!…), (?<=…) and (?<!…) are supported";
        }
    }
    try {
        const auto compiled = compile("(" + std::string(regex) + ")", regex);
        if (compiled.mark_count() != 1)
            return "a capturing group inside {…}: use (?:…) (the runner's own group is the only "
                   "capturing one)";
        return {};
    } catch (const run_error& e) {
        return e.what();
    }
}

std::optional<bool> match_line_linear(std::string_view pattern, std::string_view line,
                                      const variables& vars) {
    bool any = false;
    for (auto alt : alternatives(pattern)) {
        const auto parts = linear_parts(alt, vars);
        if (!parts) return std::nullopt;
        const auto matched = detail::linear_match(*parts, line, max_linear_work);
        if (!matched) return std::nullopt;
        any = any || *matched;
    }
    return any;
}

bool match_line(std::string_view pattern, std::string_view line, variables& vars) {
    for (auto alt : alternatives(pattern)) {
        variables trial = vars;
        if (match_one(alt, line, trial)) {
            vars = std::move(trial);
            return true;
        }
    }
    return false;
}

} // namespace pop3::conformance
