#include "pop3/client/words.hpp"

#include <array>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/text.hpp>

namespace pop3 {
namespace {

using w = client_word;
using a = client_word_args;

constexpr std::array words_table{
    client_word_info{"capa", w::capa, a::none},
    client_word_info{"stat", w::stat, a::none},
    client_word_info{"list", w::list, a::optional_number},
    client_word_info{"uidl", w::uidl, a::optional_number},
    client_word_info{"retr", w::retr, a::number},
    client_word_info{"top", w::top, a::number_and_count},
    client_word_info{"dele", w::dele, a::number},
    client_word_info{"noop", w::noop, a::none},
    client_word_info{"rset", w::rset, a::none},
    client_word_info{"raw", w::raw, a::line},
    client_word_info{"quit", w::quit, a::none},
};

bool offered_word(client_word word, client_word_set offered) noexcept {
    if (word == w::raw) return offered.raw;
    if (word == w::quit) return offered.quit;
    return true;
}

std::string message_number_arg(std::string_view command, const std::string_view* arg) {
    if (!arg) throw client_words_error(std::string(command) + ": missing message number N");
    if (!parse_message_number(*arg))
        throw client_words_error(std::string(command) +
                                 ": expected a message number (1 or more), got '" +
                                 std::string(*arg) + "'");
    return std::string(*arg);
}

} // namespace

std::span<const client_word_info> client_words() noexcept {
    return words_table;
}

const client_word_info* find_client_word(std::string_view name) noexcept {
    for (const auto& info : words_table)
        if (iequals(info.name, name)) return &info;
    return nullptr;
}

client_step parse_client_step(std::span<const std::string_view> words, std::size_t& at,
                              client_word_set offered) {
    const auto word = words[at++];
    const auto* info = find_client_word(word);
    if (!info || !offered_word(info->word, offered))
        throw client_words_error("unknown command '" + std::string(word) + "'");
    const auto next = [&]() -> const std::string_view* {
        return at < words.size() ? &words[at] : nullptr;
    };
    const auto name = info->name;
    client_step s;
    s.word = info->word;
    switch (info->args) {
    case a::none: break;
    case a::optional_number:
        if (const auto* n = next(); n && !n->empty() && n->front() >= '0' && n->front() <= '9') {
            s.number = message_number_arg(name, n);
            ++at;
        }
        break;
    case a::number:
        s.number = message_number_arg(name, next());
        ++at;
        break;
    case a::number_and_count: {
        s.number = message_number_arg(name, next());
        ++at;
        const auto* count = next();
        if (!count) throw client_words_error("top: missing line count L (top N L)");
        const auto lines = parse_decimal(*count);
        if (!lines)
            throw client_words_error("top: expected a line count (0 or more), got '" +
                                     std::string(*count) + "'");
        s.lines = *lines;
        ++at;
        break;
    }
    case a::line: {
        const auto* l = next();
        if (!l) throw client_words_error("raw: missing the command line to send");
        ++at;
        if (l->empty()) throw client_words_error("raw: empty command line");
        if (l->find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
            throw client_words_error("raw: the line contains CR, LF or NUL");
        std::string_view rest = *l;
        if (iequals(next_token(rest), "STLS"))
            throw client_words_error("raw: STLS cannot be sent raw (use --starttls)");
        s.line = std::string(*l);
        break;
    }
    }
    return s;
}

std::vector<client_step> parse_client_steps(std::span<const std::string_view> words,
                                            client_word_set offered) {
    std::vector<client_step> steps;
    for (std::size_t at = 0; at < words.size();)
        steps.push_back(parse_client_step(words, at, offered));
    return steps;
}

} // namespace pop3
