#include "pop3/mockserver/maildrop.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace pop3::mock;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("pop3kit-maildrop-" + std::to_string(::getpid()) +
                                                 "-" + std::to_string(counter++));
    temp_dir() { fs::create_directories(path); }
    ~temp_dir() { fs::remove_all(path); }
    static inline int counter = 0;
};

void write(const fs::path& p, std::string_view content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace

TEST_CASE("maildrop: messages get CRLF line ends and a stuffed wire form") {
    auto m = make_message("u", "Subject: x\n\n.dot\nend");
    CHECK(m->content == "Subject: x\r\n\r\n.dot\r\nend\r\n");
    CHECK(m->wire == "Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n");
    CHECK(m->headers() == "Subject: x\r\n\r\n");
    CHECK(m->body() == ".dot\r\nend\r\n");
    CHECK(m->octets() == m->content.size());
}

TEST_CASE("maildrop: a directory of .eml files, in name order, uids from file names") {
    temp_dir d;
    write(d.path / "2.eml", "Subject: two\r\n\r\nb\r\n");
    write(d.path / "1.eml", "Subject: one\r\n\r\na\r\n");
    write(d.path / ".hidden", "not a message");
    auto md = maildrop::open(d.path);
    CHECK(md->kind() == maildrop_kind::directory);
    const auto msgs = md->snapshot();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->uid == "1.eml");
    CHECK(msgs[1]->content == "Subject: two\r\n\r\nb\r\n");
}

TEST_CASE("maildrop: a Maildir reads cur/ then new/, uids without the :2, suffix") {
    temp_dir d;
    write(d.path / "cur" / "1700000000.M1P1.host:2,S", "Subject: seen\r\n\r\nx\r\n");
    write(d.path / "new" / "1700000001.M2P1.host", "Subject: new\r\n\r\ny\r\n");
    fs::create_directories(d.path / "tmp");
    auto md = maildrop::open(d.path);
    CHECK(md->kind() == maildrop_kind::maildir);
    const auto msgs = md->snapshot();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->uid == "1700000000.M1P1.host");
    CHECK(msgs[1]->uid == "1700000001.M2P1.host");
}

TEST_CASE("maildrop: mbox (mboxrd) splits on From lines and unquotes >From") {
    temp_dir d;
    write(d.path / "box", "From a@b Thu Jan  1 00:00:00 1970\nSubject: 1\n\n>From here\n\n"
                          "From c@d Thu Jan  1 00:00:00 1970\nSubject: 2\n\nbody\n");
    auto md = maildrop::open(d.path / "box");
    CHECK(md->kind() == maildrop_kind::mbox);
    const auto msgs = md->snapshot();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->content == "Subject: 1\r\n\r\nFrom here\r\n");
    CHECK(msgs[1]->content == "Subject: 2\r\n\r\nbody\r\n");
    write(d.path / "bad", "Subject: no From line\n");
    CHECK_THROWS_WITH(maildrop::open(d.path / "bad"),
                      Catch::Contains("mbox must start with a 'From ' line"));
}

TEST_CASE("maildrop: uids are stable across loads and unique for repeated content") {
    temp_dir d;
    write(d.path / "box", "From a\nSubject: same\n\nx\n\nFrom a\nSubject: same\n\nx\n");
    const auto first = maildrop::open(d.path / "box")->snapshot();
    const auto second = maildrop::open(d.path / "box")->snapshot();
    REQUIRE(first.size() == 2);
    CHECK(first[0]->uid == second[0]->uid);
    CHECK(first[1]->uid == second[1]->uid);
    CHECK(first[0]->uid != first[1]->uid);
    CHECK(first[1]->uid == first[0]->uid + "-2");
    CHECK(maildrop::generate(3, 100)->snapshot()[2]->uid ==
          maildrop::generate(3, 100)->snapshot()[2]->uid);
}

TEST_CASE("maildrop: generated messages have the asked size and dot lines") {
    auto msgs = maildrop::generate(4, 5000)->snapshot();
    REQUIRE(msgs.size() == 4);
    for (const auto& m : msgs) {
        CHECK(m->octets() == 5000);
        CHECK(m->content.find("\r\n.") != std::string::npos);
    }
}

TEST_CASE("maildrop: deletions persist to files only when asked") {
    temp_dir d;
    write(d.path / "1.eml", "Subject: one\r\n\r\na\r\n");
    write(d.path / "2.eml", "Subject: two\r\n\r\nb\r\n");
    auto md = maildrop::open(d.path);
    md->commit_deletions({"1.eml"}, false);
    CHECK(md->snapshot().size() == 1);
    CHECK(fs::exists(d.path / "1.eml"));
    md->commit_deletions({"2.eml"}, true);
    CHECK(md->snapshot().empty());
    CHECK_FALSE(fs::exists(d.path / "2.eml"));
}

TEST_CASE("maildrop: mbox deletions are persisted by rewriting the file") {
    temp_dir d;
    write(d.path / "box", "From a\nSubject: 1\n\nkeep\n>From quoted\n\nFrom b\nSubject: 2\n\ngo\n");
    auto md = maildrop::open(d.path / "box");
    REQUIRE(md->snapshot().size() == 2);
    md->commit_deletions({md->snapshot()[1]->uid}, true);
    const auto reloaded = maildrop::open(d.path / "box")->snapshot();
    REQUIRE(reloaded.size() == 1);
    CHECK(reloaded[0]->content == md->snapshot()[0]->content);
    CHECK(reloaded[0]->content == "Subject: 1\r\n\r\nkeep\r\nFrom quoted\r\n");
    CHECK(read(d.path / "box").find("go") == std::string::npos);
}

TEST_CASE("maildrop: one session at a time") {
    auto md = default_maildrop();
    CHECK(md->try_lock());
    CHECK_FALSE(md->try_lock());
    md->unlock();
    CHECK(md->try_lock());
}

TEST_CASE("maildrop: errors name the path") {
    CHECK_THROWS_WITH(maildrop::open("/nonexistent/pop3kit"),
                      Catch::Contains("/nonexistent/pop3kit"));
}

TEST_CASE("maildrop: a message without a final line end gets one, so sizes match what RETR sends") {
    auto m = make_message("u", "Subject: x\r\n\r\nhello");
    CHECK(m->content == "Subject: x\r\n\r\nhello\r\n");
    CHECK(m->wire == m->content + ".\r\n");
    CHECK(make_message("e", "")->content.empty());
}
