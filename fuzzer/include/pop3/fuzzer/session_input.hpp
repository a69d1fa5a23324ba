// A fuzzing input: one POP3 session as a sequence of command lines, each with its segmenting
// (whether it goes in the same write as the line before it). Seeds come from the conformance
// transcripts' C: lines and a built-in login prefix; the corpus is stored one file per input.
#pragma once

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {
struct test_case;
}

namespace pop3::fuzzer {

// One command line as sent: its bytes, line terminator included ("STAT\r\n"; a mutation may
// leave a bare LF, a bare CR or no terminator at all).
struct command {
    std::string bytes;
    bool same_write = false; // sent in the same write as the previous command
};

struct session_input {
    std::vector<command> commands;
    std::size_t octets() const noexcept;
};

// The bounds every input is kept within (the mutator's and the corpus reader's).
struct input_limits {
    std::size_t max_commands = 48;
    std::size_t max_line = 2048;    // octets of one command, terminator included
    std::size_t max_octets = 16384; // of the whole session
};

// Credentials the seeds log in with.
struct credentials {
    std::string user = "user";
    std::string pass = "pass";
};

// USER, PASS, STAT: what most seeds start with (STAT tells the oracle the maildrop's size).
session_input login_prefix(const credentials& c);

// The C:, C+: and C=: lines of each server-direction case, with {user}, {pass}, {plain},
// {b64user}, {b64pass} filled in from `c` and any other {…} as "1"; plus the login prefix alone
// and the login prefix followed by each case's commands after its own login.
std::vector<session_input> seeds_from_transcripts(const std::vector<conformance::test_case>& cases,
                                                  const credentials& c);

// Every distinct command line of the seeds: what the mutator inserts.
std::vector<std::string> vocabulary(const std::vector<session_input>& seeds);

// The writes of a session: consecutive commands joined where same_write is set.
std::vector<std::string> writes(const session_input& in);

// Corpus file text: one line per command, "C: " (a new write) or "C+: " (same write) and the
// command's bytes in the transcript escape alphabet (terminator included, as \r\n).
std::string to_corpus_text(const session_input& in);
class corpus_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// Throws corpus_error "FILE:LINE: reason". Inputs over `lim` are refused.
session_input parse_corpus_text(std::string_view text, const std::filesystem::path& file,
                                const input_limits& lim);

} // namespace pop3::fuzzer
