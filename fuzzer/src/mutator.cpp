#include "pop3/fuzzer/mutator.hpp"

#include <algorithm>
#include <pop3/protocol/text.hpp>

namespace pop3::fuzzer {
namespace {

// The command keywords, and a line's parts: keyword, arguments, terminator.
constexpr std::string_view keywords[] = {"USER", "PASS", "APOP", "AUTH", "STAT", "LIST",
                                         "RETR", "DELE", "NOOP", "RSET", "TOP",  "UIDL",
                                         "QUIT", "CAPA", "STLS", "UTF8", "LANG"};

struct split_line {
    std::string body; // without the terminator
    std::string eol;
};

split_line split(const std::string& bytes) {
    std::size_t end = bytes.size();
    while (end > 0 && (bytes[end - 1] == '\r' || bytes[end - 1] == '\n'))
        --end;
    return {bytes.substr(0, end), bytes.substr(end)};
}

std::vector<std::string> tokens(const std::string& body) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto sp = body.find(' ', start);
        out.push_back(body.substr(start, sp - start));
        if (sp == std::string::npos) break;
        start = sp + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += ' ';
        out += parts[i];
    }
    return out;
}

} // namespace

const std::vector<std::string>& argument_dictionary() {
    static const std::vector<std::string> dict = [] {
        using namespace std::string_literals;
        std::vector<std::string> d = {
            "0",
            "1",
            "2",
            "3",
            "4",
            "-1",
            "-0",
            "+1",
            "01",
            "1a",
            "0x1",
            "1e3",
            "2147483647",
            "2147483648",
            "4294967295",
            "4294967296",
            "4294967297",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "18446744073709551617",
            std::string(1000, '9'),
            "1" + std::string(999, '0'),
            std::string(40, 'A'),
            std::string(240, 'A'), // a command line just under RFC 2449's 255 octets
            std::string(300, 'A'),
            std::string(1024, 'A'),
            "%s%n%s%n%x%x",
            "%99999999d",
            "a\0b"s,
            "\0"s,
            "1\r",
            "1\r2",
            "1\n",
            "\xC3\x28",
            "\xFF\xFE\xFD",
            "\xED\xA0\x80",
            "=",
            "*",
            "====",
            "A===",
            "AAAA",
            "AHVzZXIAcGFzcw==",
            "AHVzZXIAcGFzcw",
            "!!!!",
            "..",
            ".",
            "",
            " ",
            "\t",
            "1 2",
            "PLAIN",
            "LOGIN",
            "CRAM-MD5",
            "SCRAM-SHA-256",
            "XOAUTH2",
            "user",
            "pass",
        };
        return d;
    }();
    return dict;
}

mutator::mutator(std::uint64_t seed, std::vector<std::string> vocabulary, input_limits lim)
    : rng_(seed), vocabulary_(std::move(vocabulary)), lim_(lim) {
    if (vocabulary_.empty()) vocabulary_.push_back("NOOP\r\n");
}

std::size_t mutator::pick(std::size_t n) {
    if (n <= 1) return 0;
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
}

session_input mutator::mutate(const session_input& in, std::span<const session_input> corpus) {
    session_input out = in;
    const std::size_t rounds = 1 + pick(4);
    for (std::size_t i = 0; i < rounds; ++i)
        mutate_once(out, corpus);
    fit(out);
    return out;
}

void mutator::mutate_once(session_input& in, std::span<const session_input> corpus) {
    auto& cmds = in.commands;
    const auto& dict = argument_dictionary();
    auto random_command = [&] { return command{vocabulary_[pick(vocabulary_.size())], false}; };
    if (cmds.empty()) {
        cmds.push_back(random_command());
        return;
    }
    const std::size_t at = pick(cmds.size());
    switch (pick(12)) {
    case 0: // insert a command from the vocabulary
        cmds.insert(cmds.begin() + static_cast<std::ptrdiff_t>(pick(cmds.size() + 1)),
                    random_command());
        break;
    case 1: // insert a keyword, alone or with a dictionary argument
    {
        const auto kw = std::string(keywords[pick(std::size(keywords))]);
        const auto line = pick(3) == 0 ? kw : kw + " " + dict[pick(dict.size())];
        cmds.insert(cmds.begin() + static_cast<std::ptrdiff_t>(pick(cmds.size() + 1)),
                    command{line + "\r\n", false});
        break;
    }
    case 2: // drop a command
        cmds.erase(cmds.begin() + static_cast<std::ptrdiff_t>(at));
        break;
    case 3: // repeat a command 1 to 8 times
    {
        const auto c = cmds[at];
        const std::size_t n = 1 + pick(8);
        cmds.insert(cmds.begin() + static_cast<std::ptrdiff_t>(at) + 1, n, c);
        break;
    }
    case 4: // reorder: swap two commands
        std::swap(cmds[at], cmds[pick(cmds.size())]);
        break;
    case 5: // move a command elsewhere
    {
        const auto c = cmds[at];
        cmds.erase(cmds.begin() + static_cast<std::ptrdiff_t>(at));
        cmds.insert(cmds.begin() + static_cast<std::ptrdiff_t>(pick(cmds.size() + 1)), c);
        break;
    }
    case 6: // replace (or add) an argument with a boundary value
    case 7: {
        auto parts = split(cmds[at].bytes);
        auto toks = tokens(parts.body);
        const auto value = dict[pick(dict.size())];
        if (toks.size() <= 1 || pick(4) == 0)
            toks.push_back(value);
        else
            toks[1 + pick(toks.size() - 1)] = value;
        cmds[at].bytes = join(toks) + (parts.eol.empty() ? "\r\n" : parts.eol);
        break;
    }
    case 8: // the line terminator: bare LF, bare CR, none, or CRLF back
    {
        auto parts = split(cmds[at].bytes);
        constexpr std::string_view eols[] = {"\n", "\r", "", "\r\n", "\r\r\n"};
        cmds[at].bytes = parts.body + std::string(eols[pick(std::size(eols))]);
        break;
    }
    case 9: // the keyword's case
    {
        auto& b = cmds[at].bytes;
        for (std::size_t i = 0; i < b.size() && b[i] != ' ' && b[i] != '\r'; ++i)
            if (b[i] >= 'A' && b[i] <= 'Z' && pick(2) == 0) b[i] = static_cast<char>(b[i] + 32);
        break;
    }
    case 10: // pipelining: join a command to the write before it, or split it off
        cmds[at].same_write = at > 0 && !cmds[at].same_write;
        if (pick(3) == 0)
            for (std::size_t i = 1; i < cmds.size(); ++i)
                cmds[i].same_write = pick(2) == 0;
        break;
    case 11: // splice: a prefix of this session and a suffix of another
    {
        if (corpus.empty()) break;
        const auto& other = corpus[pick(corpus.size())].commands;
        if (other.empty()) break;
        const std::size_t from = pick(other.size());
        cmds.resize(at + 1);
        cmds.insert(cmds.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
    }
    }
}

void mutator::fit(session_input& in) const {
    auto& cmds = in.commands;
    for (auto& c : cmds)
        if (c.bytes.size() > lim_.max_line) c.bytes.resize(lim_.max_line);
    std::erase_if(cmds, [](const command& c) { return c.bytes.empty(); });
    if (cmds.size() > lim_.max_commands) cmds.resize(lim_.max_commands);
    while (!cmds.empty() && in.octets() > lim_.max_octets)
        cmds.pop_back();
    if (cmds.empty()) cmds.push_back({"NOOP\r\n", false});
    cmds.front().same_write = false;
}

} // namespace pop3::fuzzer
