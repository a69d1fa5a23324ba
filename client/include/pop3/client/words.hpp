// The client words: the commands pop3-client takes after the URL (stat, list [N], retr N,
// top N L, ...), parsed into steps. The one vocabulary of pop3-client (client/tools/) and of
// the conformance runner's in-process client (`client:` lines of transcripts,
// conformance/src/client_under_test.cpp); interop/adapters/pop3-client.py writes these words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3 {

enum class client_word { capa, stat, list, uidl, retr, top, dele, noop, rset, raw, quit };

// What follows a word on the command line.
enum class client_word_args {
    none,             // capa, stat, noop, rset, quit
    optional_number,  // list [N], uidl [N]: N taken when the next word starts with a digit
    number,           // retr N, dele N
    number_and_count, // top N L
    line,             // raw 'LINE'
};

struct client_word_info {
    std::string_view name; // lower case; words match it case-insensitively
    client_word word;
    client_word_args args;
};

// The table every parser of client words derives from, in pop3-client's --help order.
std::span<const client_word_info> client_words() noexcept;
// The entry named `name` (any case), or nullptr.
const client_word_info* find_client_word(std::string_view name) noexcept;

// Which words a caller offers: pop3-client has raw and no quit (it always QUITs at the end);
// the conformance client has quit and no raw. A word not offered is an unknown command.
struct client_word_set {
    bool raw = true;
    bool quit = false;
};

// One parsed command.
struct client_step {
    client_word word = client_word::noop;
    std::string number;      // the message number as given (empty: list or uidl of every one)
    std::uint64_t lines = 0; // top's L
    std::string line;        // raw's line, checked: not empty, no CR, LF or NUL, not STLS
};

// A bad command word or argument. what() is the message pop3-client prints, e.g.
// "unknown command 'frobnicate'", "retr: missing message number N",
// "top: expected a line count (0 or more), got 'x'".
class client_words_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// Parses the command at words[at] and its arguments, and moves `at` past them. An argument is
// the next word whatever it looks like ("retr --tls" is a bad message number), except that
// list's and uidl's optional N is taken only when the next word starts with a digit.
// Throws client_words_error.
client_step parse_client_step(std::span<const std::string_view> words, std::size_t& at,
                              client_word_set offered = {});

// Every word of `words` as commands, in order. Throws client_words_error.
std::vector<client_step> parse_client_steps(std::span<const std::string_view> words,
                                            client_word_set offered = {});

} // namespace pop3
