// Fuzzes the conformance transcript parser (pop3::conformance::parse_transcript) and, for every
// case it accepts, the text resolver and the pattern matcher: expand() over each send step's text
// (C:, C+:, C=: against a server; S:, S+:, S=: against a client) with the variables user, pass,
// ts (an APOP timestamp) and ch (a base64 CRAM-MD5 challenge), and match_line() of each expect
// step's pattern (S:, S*: against a server; C:, C*: against a client) against a fixed line and
// against the step's own text, with the captures of a case carried from step to step as the
// runner does. No mode bytes: the whole input is one transcript file.
// Invariants: only transcript_error escapes the parser and its message starts with the file
// name; an accepted transcript obeys the format (case ids unique, non-empty and without spaces;
// every case has a title, an rfc and a dialogue; a client-direction case has its client: words;
// a same-segment send follows a send; step lines increase); only run_error escapes expand and
// match_line; text without '\' and '{' expands to itself; a pattern without '*', '\', '{' and
// '|' matches its own text. Inputs over 64 KiB are skipped; a pattern with '{' (a regex) is not
// matched against a line over 1000 octets: such a match may run to the matcher's state bound
// (a quarter of a second), which would starve the rest of the search.
#include "fuzz_check.hpp"

#include <cstdint>
#include <filesystem>
#include <pop3/conformance/pattern.hpp>
#include <pop3/conformance/transcript.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace conf = pop3::conformance;

constexpr std::string_view file_name = "fuzz/case.pop3";
constexpr std::size_t max_regex_line = 1000;
constexpr std::string_view fixed_line = "+OK 2 320 <1896.697170952@dbc.mtview.ca.us>";

conf::variables base_variables() {
    return {
        {"user", "mrose"},
        {"pass", "tanstaaf"},
        {"ts", "<1896.697170952@dbc.mtview.ca.us>"},
        // base64 of "<1896.697170952@postoffice.reston.mci.net>" (RFC 2195)
        {"ch", "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"},
    };
}

void check_case(const conf::test_case& c, std::set<std::string>& ids) {
    FUZZ_CHECK(!c.id.empty() && c.id.find(' ') == std::string::npos);
    FUZZ_CHECK(ids.insert(c.id).second);
    FUZZ_CHECK(!c.title.empty() && !c.rfc.empty() && !c.steps.empty());
    FUZZ_CHECK(c.file == std::filesystem::path(file_name));
    if (c.dir == conf::direction::client) FUZZ_CHECK(!c.client_args.empty());
    std::size_t line = c.line;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
        const auto& s = c.steps[i];
        FUZZ_CHECK(s.line > line);
        line = s.line;
        if (s.same_segment)
            FUZZ_CHECK(s.what == conf::step::kind::send && i > 0 &&
                       c.steps[i - 1].what == conf::step::kind::send);
        if (s.what != conf::step::kind::send) FUZZ_CHECK(s.crlf && !s.same_segment);
        if (s.what != conf::step::kind::no_reply && s.what != conf::step::kind::wait)
            FUZZ_CHECK(s.millis == 0);
        else
            FUZZ_CHECK(s.millis <= 600000);
    }
}

bool plain_text(std::string_view s) {
    return s.find_first_of("\\{") == std::string_view::npos;
}

// Runs match_line unless the recursion guard says no; run_error is a verdict, not a finding.
void try_match(std::string_view pattern, std::string_view line, conf::variables& vars) {
    if (pattern.find('{') != std::string_view::npos && line.size() > max_regex_line) return;
    try {
        const auto before = vars;
        const bool matched = conf::match_line(pattern, line, vars);
        if (!matched) FUZZ_CHECK(vars == before); // a failed match stores no capture
    } catch (const conf::run_error&) {
    }
}

void run_case(const conf::test_case& c) {
    auto vars = base_variables();
    for (const auto& s : c.steps) {
        if (s.what == conf::step::kind::send) {
            try {
                const auto out = conf::expand(s.text, vars);
                if (plain_text(s.text)) FUZZ_CHECK(out == s.text);
            } catch (const conf::run_error&) {
            }
        } else if (s.what == conf::step::kind::expect || s.what == conf::step::kind::expect_any) {
            try_match(s.text, fixed_line, vars);
            if (s.text.find_first_of("*\\{|") == std::string::npos) {
                auto copy = vars;
                FUZZ_CHECK(conf::match_line(s.text, s.text, copy));
            } else {
                try_match(s.text, s.text, vars);
            }
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<conf::test_case> cases;
    try {
        cases = conf::parse_transcript(text, std::string(file_name));
    } catch (const conf::transcript_error& e) {
        FUZZ_CHECK(std::string_view(e.what()).starts_with(std::string(file_name) + ":"));
        return 0;
    }
    std::set<std::string> ids;
    for (const auto& c : cases) {
        check_case(c, ids);
        run_case(c);
    }
    return 0;
}
