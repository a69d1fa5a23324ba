#include "pop3/fuzzer/mutator.hpp"

#include <catch2/catch.hpp>
#include <pop3/conformance/transcript.hpp>

using namespace pop3::fuzzer;

namespace {

std::vector<session_input> seeds() {
    static const auto s = seeds_from_transcripts(
        pop3::conformance::load_transcripts(POP3_SOURCE_DIR "/conformance/transcripts"), {});
    return s;
}

std::vector<std::string> run(std::uint64_t seed, std::size_t n) {
    const auto corpus = seeds();
    mutator m(seed, vocabulary(corpus));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(to_corpus_text(m.mutate(corpus[m.pick(corpus.size())], corpus)));
    return out;
}

} // namespace

TEST_CASE("seeds come from the transcripts' C: lines and the login prefix") {
    const auto s = seeds();
    REQUIRE(s.size() > 100);
    CHECK(to_corpus_text(s[0]) == "C: USER user\\r\\n\nC: PASS pass\\r\\n\nC: STAT\\r\\n\n");
    bool raw_split = false, pipelined = false;
    for (const auto& in : s)
        for (const auto& c : in.commands) {
            raw_split = raw_split || c.bytes == "ST";
            pipelined = pipelined || c.same_write;
            CHECK(c.bytes.find('{') == std::string::npos); // variables filled in
        }
    CHECK(raw_split);
    CHECK(pipelined);
}

TEST_CASE("the mutator is deterministic for a seed") {
    CHECK(run(7, 500) == run(7, 500));
    CHECK(run(7, 500) != run(8, 500));
}

TEST_CASE("mutated inputs stay within their bounds") {
    const input_limits lim;
    const auto corpus = seeds();
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        mutator m(seed, vocabulary(corpus), lim);
        session_input in = corpus[0];
        for (int i = 0; i < 3000; ++i) {
            in = m.mutate(i % 7 == 0 ? corpus[m.pick(corpus.size())] : in, corpus);
            REQUIRE(!in.commands.empty());
            REQUIRE(in.commands.size() <= lim.max_commands);
            REQUIRE(in.octets() <= lim.max_octets);
            REQUIRE(!in.commands.front().same_write);
            for (const auto& c : in.commands) {
                REQUIRE(!c.bytes.empty());
                REQUIRE(c.bytes.size() <= lim.max_line);
            }
        }
    }
}

TEST_CASE("the dictionary holds the boundary values") {
    const auto& d = argument_dictionary();
    for (std::string v :
         {"0", "-1", "2147483648", "4294967297", "18446744073709551617", "%s%n%s%n%x%x"})
        CHECK(std::find(d.begin(), d.end(), v) != d.end());
    CHECK(std::find(d.begin(), d.end(), std::string(1000, '9')) != d.end());
    CHECK(std::find(d.begin(), d.end(), std::string("a\0b", 3)) != d.end());
}

TEST_CASE("corpus text round-trips every byte and reports FILE:LINE") {
    session_input in;
    in.commands.push_back({std::string("USER a\0b\r\n", 10), false});
    in.commands.push_back({"LIST {1} \\ \xff\r", true});
    in.commands.push_back({"NOOP\n", false});
    const auto text = to_corpus_text(in);
    const auto back = parse_corpus_text(text, "x.input", {});
    REQUIRE(back.commands.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(back.commands[i].bytes == in.commands[i].bytes);
        CHECK(back.commands[i].same_write == in.commands[i].same_write);
    }
    CHECK_THROWS_WITH(parse_corpus_text("C: NOOP\\r\\n\nS: +OK\n", "x.input", {}),
                      "x.input:2: expected 'C: ' or 'C+: ' and a command's bytes");
    CHECK_THROWS_WITH(parse_corpus_text("C: A\\q\n", "x.input", {}),
                      "x.input:1: bad escape at column 6");
    CHECK_THROWS_WITH(parse_corpus_text("# nothing\n", "x.input", {}), "x.input: no commands");
}
