#include "pop3/fuzzer/session_input.hpp"

#include <algorithm>
#include <pop3/conformance/transcript.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/protocol/transcript_text.hpp>
#include <set>

namespace pop3::fuzzer {
namespace {

// The value of a {…} variable of a C: line.
std::string variable(std::string_view name, const credentials& c) {
    using namespace std::string_literals;
    if (name == "user") return c.user;
    if (name == "pass") return c.pass;
    if (name == "plain") return base64_encode("\0"s + c.user + '\0' + c.pass);
    if (name == "b64user") return base64_encode(c.user);
    if (name == "b64pass") return base64_encode(c.pass);
    return "1"; // captures ({count}, {last}, …) and computed values ({apop(ts)}): any number
}

// A C: line's text as bytes: escapes resolved, variables filled in.
std::string expand(std::string_view text, const credentials& c) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '\\') {
            const auto e = transcript_unescape_at(text, i);
            out += e.byte;
            i += std::max<std::size_t>(e.length, 1);
        } else if (text[i] == '{') {
            const auto end = text.find('}', i);
            if (end == std::string_view::npos) {
                out += text.substr(i);
                break;
            }
            out += variable(text.substr(i + 1, end - i - 1), c);
            i = end + 1;
        } else {
            out += text[i++];
        }
    }
    return out;
}

bool is_login(std::string_view line) {
    const auto sp = line.find(' ');
    const auto kw = line.substr(0, sp);
    return iequals(kw, "PASS") || iequals(kw, "APOP") || iequals(kw, "AUTH");
}

} // namespace

std::size_t session_input::octets() const noexcept {
    std::size_t n = 0;
    for (const auto& c : commands)
        n += c.bytes.size();
    return n;
}

session_input login_prefix(const credentials& c) {
    session_input in;
    in.commands.push_back({"USER " + c.user + "\r\n", false});
    in.commands.push_back({"PASS " + c.pass + "\r\n", false});
    in.commands.push_back({"STAT\r\n", false});
    return in;
}

std::vector<session_input> seeds_from_transcripts(const std::vector<conformance::test_case>& cases,
                                                  const credentials& c) {
    std::vector<session_input> seeds{login_prefix(c)};
    std::set<std::string> seen{to_corpus_text(seeds[0])};
    const input_limits lim;
    auto add = [&](session_input in) {
        if (in.commands.empty() || in.commands.size() > lim.max_commands ||
            in.octets() > lim.max_octets)
            return;
        if (seen.insert(to_corpus_text(in)).second) seeds.push_back(std::move(in));
    };
    for (const auto& tc : cases) {
        if (tc.dir != conformance::direction::server) continue;
        session_input in;
        for (const auto& s : tc.steps) {
            if (s.what != conformance::step::kind::send) continue;
            auto bytes = expand(s.text, c);
            if (s.crlf) bytes += "\r\n";
            if (bytes.size() > lim.max_line) continue;
            in.commands.push_back({std::move(bytes), s.same_segment && !in.commands.empty()});
        }
        // The case's commands after its own login, behind the login prefix.
        const auto login = std::find_if(in.commands.begin(), in.commands.end(),
                                        [](const command& cmd) { return is_login(cmd.bytes); });
        if (login != in.commands.end() && login + 1 != in.commands.end()) {
            auto tail = login_prefix(c);
            tail.commands.insert(tail.commands.end(), login + 1, in.commands.end());
            tail.commands[3].same_write = false;
            add(std::move(tail));
        }
        add(std::move(in));
    }
    return seeds;
}

std::vector<std::string> vocabulary(const std::vector<session_input>& seeds) {
    std::set<std::string> words;
    for (const auto& s : seeds)
        for (const auto& cmd : s.commands)
            words.insert(cmd.bytes);
    return {words.begin(), words.end()};
}

std::vector<std::string> writes(const session_input& in) {
    std::vector<std::string> out;
    for (const auto& c : in.commands) {
        if (out.empty() || !c.same_write)
            out.push_back(c.bytes);
        else
            out.back() += c.bytes;
    }
    return out;
}

std::string to_corpus_text(const session_input& in) {
    std::string out;
    for (const auto& c : in.commands) {
        out += c.same_write ? "C+: " : "C: ";
        out += transcript_escape(c.bytes, false);
        out += '\n';
    }
    return out;
}

session_input parse_corpus_text(std::string_view text, const std::filesystem::path& file,
                                const input_limits& lim) {
    session_input in;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        const auto where = file.string() + ":" + std::to_string(number) + ": ";
        bool same = false;
        if (line.starts_with("C+: ")) {
            same = true;
            line.remove_prefix(4);
        } else if (line.starts_with("C: ")) {
            line.remove_prefix(3);
        } else {
            throw corpus_error(where + "expected 'C: ' or 'C+: ' and a command's bytes");
        }
        for (std::size_t i = 0; i < line.size(); ++i)
            if (line[i] == '\\') {
                const auto e = transcript_unescape_at(line, i);
                if (e.status != transcript_escape_status::ok)
                    throw corpus_error(where + "bad escape at column " + std::to_string(i + 5));
                i += e.length - 1;
            }
        auto bytes = transcript_unescape(line);
        if (bytes.empty()) throw corpus_error(where + "an empty command");
        if (bytes.size() > lim.max_line)
            throw corpus_error(where + "command longer than " + std::to_string(lim.max_line) +
                               " octets");
        in.commands.push_back({std::move(bytes), same && !in.commands.empty()});
        if (in.commands.size() > lim.max_commands)
            throw corpus_error(where + "more than " + std::to_string(lim.max_commands) +
                               " commands");
    }
    if (in.commands.empty()) throw corpus_error(file.string() + ": no commands");
    if (in.octets() > lim.max_octets)
        throw corpus_error(file.string() + ": more than " + std::to_string(lim.max_octets) +
                           " octets");
    return in;
}

} // namespace pop3::fuzzer
