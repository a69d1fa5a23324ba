#include "pop3/client/words.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

using pop3::client_step;
using pop3::client_word;
using pop3::client_word_set;
using pop3::client_words_error;

namespace {

std::vector<client_step> parse(std::vector<std::string_view> words, client_word_set offered = {}) {
    return pop3::parse_client_steps(words, offered);
}

// The message of the client_words_error that parsing `words` throws ("" when none).
std::string error_of(std::vector<std::string_view> words, client_word_set offered = {}) {
    try {
        parse(words, offered);
    } catch (const client_words_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("words: the table names every word once, in lower case") {
    std::vector<std::string_view> names;
    for (const auto& info : pop3::client_words()) {
        CHECK(std::find(names.begin(), names.end(), info.name) == names.end());
        names.push_back(info.name);
        for (const char c : info.name)
            CHECK((c >= 'a' && c <= 'z'));
        CHECK(pop3::find_client_word(info.name) == &info);
    }
    CHECK(names.size() == 11);
    CHECK(pop3::find_client_word("RETR")->word == client_word::retr);
    CHECK(pop3::find_client_word("Uidl")->word == client_word::uidl);
    CHECK(pop3::find_client_word("retrieve") == nullptr);
    CHECK(pop3::find_client_word("") == nullptr);
}

TEST_CASE("words: every command with its arguments") {
    const auto steps = parse({"capa", "stat", "list", "list", "3", "uidl", "uidl", "12", "retr",
                              "1", "top", "2", "0", "dele", "4", "noop", "rset", "raw", "LIST 1"});
    REQUIRE(steps.size() == 12);
    CHECK(steps[0].word == client_word::capa);
    CHECK(steps[1].word == client_word::stat);
    CHECK((steps[2].word == client_word::list && steps[2].number.empty()));
    CHECK((steps[3].word == client_word::list && steps[3].number == "3"));
    CHECK((steps[4].word == client_word::uidl && steps[4].number.empty()));
    CHECK((steps[5].word == client_word::uidl && steps[5].number == "12"));
    CHECK((steps[6].word == client_word::retr && steps[6].number == "1"));
    CHECK((steps[7].word == client_word::top && steps[7].number == "2" && steps[7].lines == 0));
    CHECK((steps[8].word == client_word::dele && steps[8].number == "4"));
    CHECK(steps[9].word == client_word::noop);
    CHECK(steps[10].word == client_word::rset);
    CHECK((steps[11].word == client_word::raw && steps[11].line == "LIST 1"));
}

TEST_CASE("words: command words are case-insensitive; numbers are kept as given") {
    const auto steps = parse({"STAT", "Retr", "007", "TOP", "1", "18446744073709551615"});
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].word == client_word::stat);
    CHECK((steps[1].word == client_word::retr && steps[1].number == "007"));
    CHECK((steps[2].word == client_word::top && steps[2].lines == 18446744073709551615u));
}

TEST_CASE("words: list's and uidl's N is taken only when the next word starts with a digit") {
    auto steps = parse({"list", "stat"});
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].number.empty());
    steps = parse({"uidl", "retr", "2"});
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].number.empty());
    CHECK(steps[1].number == "2");
    // A word starting with a digit is N, and must be a message number.
    CHECK(error_of({"list", "0"}) == "list: expected a message number (1 or more), got '0'");
    CHECK(error_of({"uidl", "2x"}) == "uidl: expected a message number (1 or more), got '2x'");
}

TEST_CASE("words: parse_client_step stops after its arguments") {
    const std::vector<std::string_view> words = {"top", "3", "5", "--verbose", "retr", "1"};
    std::size_t at = 0;
    const auto s = pop3::parse_client_step(words, at);
    CHECK(s.word == client_word::top);
    CHECK(at == 3);
    at = 4;
    CHECK(pop3::parse_client_step(words, at).number == "1");
    CHECK(at == 6);
    // An argument is the next word whatever it looks like.
    at = 0;
    const std::vector<std::string_view> option_next = {"retr", "--tls"};
    CHECK_THROWS_WITH(pop3::parse_client_step(option_next, at),
                      "retr: expected a message number (1 or more), got '--tls'");
}

TEST_CASE("words: bad words are refused with pop3-client's messages") {
    CHECK(error_of({"frobnicate"}) == "unknown command 'frobnicate'");
    CHECK(error_of({"stat", "STATUS"}) == "unknown command 'STATUS'");
    CHECK(error_of({"retr"}) == "retr: missing message number N");
    CHECK(error_of({"DELE"}) == "dele: missing message number N");
    CHECK(error_of({"dele", "x"}) == "dele: expected a message number (1 or more), got 'x'");
    CHECK(error_of({"retr", "0"}) == "retr: expected a message number (1 or more), got '0'");
    CHECK(error_of({"retr", "-1"}) == "retr: expected a message number (1 or more), got '-1'");
    CHECK(error_of({"retr", ""}) == "retr: expected a message number (1 or more), got ''");
    CHECK(error_of({"top"}) == "top: missing message number N");
    CHECK(error_of({"top", "1"}) == "top: missing line count L (top N L)");
    CHECK(error_of({"top", "1", "-1"}) == "top: expected a line count (0 or more), got '-1'");
    CHECK(error_of({"top", "1", "99999999999999999999"}) ==
          "top: expected a line count (0 or more), got '99999999999999999999'");
    CHECK(error_of({"raw"}) == "raw: missing the command line to send");
    CHECK(error_of({"raw", ""}) == "raw: empty command line");
    CHECK(error_of({"raw", "NOOP\r\nDELE 1"}) == "raw: the line contains CR, LF or NUL");
    CHECK(error_of({"raw", std::string_view("NOOP\0", 5)}) ==
          "raw: the line contains CR, LF or NUL");
    CHECK(error_of({"raw", "stls"}) == "raw: STLS cannot be sent raw (use --starttls)");
    CHECK(error_of({"raw", "STLS now"}) == "raw: STLS cannot be sent raw (use --starttls)");
    CHECK(error_of({"raw", "STLSX"}).empty());
}

TEST_CASE("words: raw and quit only where offered") {
    // pop3-client: raw, no quit (it QUITs after the last command).
    CHECK(error_of({"quit"}) == "unknown command 'quit'");
    // The conformance client: quit, no raw.
    const client_word_set conformance{.raw = false, .quit = true};
    CHECK(error_of({"raw", "NOOP"}, conformance) == "unknown command 'raw'");
    const auto steps = parse({"stat", "QUIT"}, conformance);
    REQUIRE(steps.size() == 2);
    CHECK(steps[1].word == client_word::quit);
}
