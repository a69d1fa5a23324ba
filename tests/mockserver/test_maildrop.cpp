#include "pop3/mockserver/maildrop.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <pop3/protocol/listings.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace pop3::mock;
namespace fs = std::filesystem;

namespace {

using pop3::test::temp_dir;

using pop3::test::read_text;
using pop3::test::write_file;

void append(const fs::path& p, std::string_view content) {
    std::ofstream(p, std::ios::binary | std::ios::app) << content;
}

std::vector<std::string> uids_of(const std::shared_ptr<maildrop>& md) {
    std::vector<std::string> uids;
    for (const auto& m : md->snapshot())
        uids.push_back(m->uid);
    return uids;
}

// The messages of `md` at these positions (0-based), as a session passes them to
// commit_deletions.
std::vector<message_ptr> pick(const std::shared_ptr<maildrop>& md,
                              std::initializer_list<std::size_t> at) {
    const auto all = md->snapshot();
    std::vector<message_ptr> out;
    for (auto i : at)
        out.push_back(all.at(i));
    return out;
}

// Each uid valid (RFC 1939 §7) and none repeated.
void check_unique_valid(const std::vector<std::string>& uids) {
    for (const auto& u : uids) {
        INFO(u);
        CHECK(pop3::is_valid_uid(u));
    }
    CHECK(std::set<std::string>(uids.begin(), uids.end()).size() == uids.size());
}

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

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
    write_file(d.path / "2.eml", "Subject: two\r\n\r\nb\r\n");
    write_file(d.path / "1.eml", "Subject: one\r\n\r\na\r\n");
    write_file(d.path / ".hidden", "not a message");
    auto md = maildrop::open(d.path);
    CHECK(md->kind() == maildrop_kind::directory);
    const auto msgs = md->snapshot();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->uid == "1.eml");
    CHECK(msgs[1]->content == "Subject: two\r\n\r\nb\r\n");
}

TEST_CASE("maildrop: a Maildir reads cur/ then new/, uids without the :2, suffix") {
    temp_dir d;
    write_file(d.path / "cur" / "1700000000.M1P1.host:2,S", "Subject: seen\r\n\r\nx\r\n");
    write_file(d.path / "new" / "1700000001.M2P1.host", "Subject: new\r\n\r\ny\r\n");
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
    write_file(d.path / "box", "From a@b Thu Jan  1 00:00:00 1970\nSubject: 1\n\n>From here\n\n"
                               "From c@d Thu Jan  1 00:00:00 1970\nSubject: 2\n\nbody\n");
    auto md = maildrop::open(d.path / "box");
    CHECK(md->kind() == maildrop_kind::mbox);
    const auto msgs = md->snapshot();
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0]->content == "Subject: 1\r\n\r\nFrom here\r\n");
    CHECK(msgs[1]->content == "Subject: 2\r\n\r\nbody\r\n");
    write_file(d.path / "bad", "Subject: no From line\n");
    CHECK_THROWS_WITH(maildrop::open(d.path / "bad"),
                      Catch::Contains("mbox must start with a 'From ' line"));
}

TEST_CASE("maildrop: uids are stable across loads and unique for repeated content") {
    temp_dir d;
    write_file(d.path / "box", "From a\nSubject: same\n\nx\n\nFrom a\nSubject: same\n\nx\n");
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
    write_file(d.path / "1.eml", "Subject: one\r\n\r\na\r\n");
    write_file(d.path / "2.eml", "Subject: two\r\n\r\nb\r\n");
    auto md = maildrop::open(d.path);
    md->commit_deletions(pick(md, {0}), false);
    CHECK(md->snapshot().size() == 1);
    CHECK(fs::exists(d.path / "1.eml"));
    md->commit_deletions(pick(md, {0}), true);
    CHECK(md->snapshot().empty());
    CHECK_FALSE(fs::exists(d.path / "2.eml"));
}

TEST_CASE("maildrop: mbox deletions are persisted by rewriting the file") {
    temp_dir d;
    write_file(d.path / "box",
               "From a\nSubject: 1\n\nkeep\n>From quoted\n\nFrom b\nSubject: 2\n\ngo\n");
    auto md = maildrop::open(d.path / "box");
    REQUIRE(md->snapshot().size() == 2);
    md->commit_deletions(pick(md, {1}), true);
    const auto reloaded = maildrop::open(d.path / "box")->snapshot();
    REQUIRE(reloaded.size() == 1);
    CHECK(reloaded[0]->content == md->snapshot()[0]->content);
    CHECK(reloaded[0]->content == "Subject: 1\r\n\r\nkeep\r\nFrom quoted\r\n");
    CHECK(read_text(d.path / "box").find("go") == std::string::npos);
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

// ---- issue #14: reliability ------------------------------------------------------------------

TEST_CASE("maildrop: committing 100000 deletions takes linear time") {
    // QUIT after DELE of every message used to look each message up in the list of deleted
    // uids: 25 s for 100000 messages, with the maildrop's mutex held.
    std::vector<message_ptr> all;
    for (int i = 0; i < 100000; ++i)
        all.push_back(make_message("uid-" + std::to_string(i), "Subject: x\r\n\r\n"));
    auto md = std::make_shared<maildrop>(all);
    const std::vector<message_ptr> gone(all.begin(), all.end() - 1);
    const auto start = steady::now();
    md->commit_deletions(gone, false);
    const auto took = steady::now() - start;
    INFO("commit took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms");
    CHECK(took < 3s);
    REQUIRE(md->snapshot().size() == 1);
    CHECK(md->snapshot()[0] == all.back());
}

TEST_CASE("maildrop: deletion is per message, not per uid, and ignores strangers") {
    const auto a = make_message("same", "Subject: a\r\n\r\n");
    const auto b = make_message("same", "Subject: b\r\n\r\n");
    auto md = std::make_shared<maildrop>(std::vector<message_ptr>{a, b});
    md->commit_deletions({b, make_message("same", "Subject: stranger\r\n\r\n")}, false);
    REQUIRE(md->snapshot().size() == 1);
    CHECK(md->snapshot()[0] == a);
    md->commit_deletions({b}, false); // already gone: nothing happens
    CHECK(md->snapshot().size() == 1);
}

TEST_CASE("maildrop: in a plain folder ':' is part of the name: two files, two uids, one deleted") {
    temp_dir d;
    write_file(d.path / "note:1.eml", "Subject: one\r\n\r\n1\r\n");
    write_file(d.path / "note:2.eml", "Subject: two\r\n\r\n2\r\n");
    write_file(d.path / "zz.eml", "Subject: zz\r\n\r\nz\r\n");
    auto md = maildrop::open(d.path);
    CHECK(uids_of(md) == std::vector<std::string>{"note:1.eml", "note:2.eml", "zz.eml"});
    md->commit_deletions(pick(md, {1}), true);
    CHECK(md->snapshot().size() == 2);
    CHECK(fs::exists(d.path / "note:1.eml"));
    CHECK_FALSE(fs::exists(d.path / "note:2.eml"));
    CHECK(fs::exists(d.path / "zz.eml"));
}

TEST_CASE("maildrop: a Maildir name in new/ and in cur/ gives two stable, unique uids") {
    temp_dir d;
    write_file(d.path / "cur" / "X:2,S", "Subject: seen\r\n\r\nx\r\n");
    write_file(d.path / "cur" / "X:2,RS", "Subject: replied\r\n\r\nx\r\n");
    write_file(d.path / "new" / "X", "Subject: new\r\n\r\ny\r\n");
    write_file(d.path / "new" / "Y", "Subject: other\r\n\r\ny\r\n");
    fs::create_directories(d.path / "tmp");
    auto md = maildrop::open(d.path);
    const auto uids = uids_of(md);
    REQUIRE(uids.size() == 4);
    check_unique_valid(uids);
    CHECK(uids[3] == "Y"); // no collision: the name as it is
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(uids[i].starts_with("X-"));
    CHECK(uids_of(maildrop::open(d.path)) == uids); // the same on every load

    // Deleting one deletes one file.
    md->commit_deletions(pick(md, {2}), true);
    CHECK(md->snapshot().size() == 3);
    CHECK_FALSE(fs::exists(d.path / "new" / "X"));
    CHECK(fs::exists(d.path / "cur" / "X:2,S"));
    CHECK(fs::exists(d.path / "cur" / "X:2,RS"));
    CHECK(fs::exists(d.path / "new" / "Y"));
}

TEST_CASE("maildrop: uids are unique whatever the names (long names, equal contents)") {
    temp_dir d;
    const std::string long_name(80, 'n');
    write_file(d.path / (long_name + "1.eml"), "Subject: same\r\n\r\n");
    write_file(d.path / (long_name + "2.eml"), "Subject: same\r\n\r\n");
    write_file(d.path / "with space.eml", "Subject: same\r\n\r\n");
    write_file(d.path / "ok.eml", "Subject: same\r\n\r\n");
    const auto uids = uids_of(maildrop::open(d.path));
    REQUIRE(uids.size() == 4);
    check_unique_valid(uids);
    CHECK(uids == uids_of(maildrop::open(d.path)));
    CHECK(std::count(uids.begin(), uids.end(), "ok.eml") == 1);
}

TEST_CASE("maildrop: a plain folder serves *.eml only and counts the files it ignored") {
    temp_dir d;
    write_file(d.path / "1.eml", "Subject: one\r\n\r\n");
    write_file(d.path / "2.EML", "Subject: two\r\n\r\n");
    write_file(d.path / "README", "fixtures for the tests\n");
    write_file(d.path / "EXPECTED.md", "# what a client should see\n");
    write_file(d.path / ".hidden", "not counted");
    write_file(d.path / "sub" / "3.eml", "Subject: in a subfolder\r\n\r\n");
    auto md = maildrop::open(d.path);
    CHECK(uids_of(md) == std::vector<std::string>{"1.eml", "2.EML"});
    CHECK(md->ignored_files() == 2);
    CHECK(maildrop::open(d.path / "sub")->ignored_files() == 0);
    CHECK(md->clone()->ignored_files() == 2);
}

TEST_CASE("maildrop: clones share the messages, not the lock or the deletions") {
    auto md = default_maildrop();
    auto other = md->clone();
    CHECK(other->kind() == md->kind());
    CHECK(other->snapshot() == md->snapshot()); // the same pointers: nothing copied
    CHECK(md->try_lock());
    CHECK(other->try_lock());
    other->commit_deletions(pick(other, {0}), false);
    CHECK(other->snapshot().size() == 2);
    CHECK(md->snapshot().size() == 3);
}

namespace {

// An mbox as another program would write it: LF line ends, real From_ lines, a quoted line.
constexpr std::string_view mbox_one = "From alice@example.org Mon Jan  5 10:00:00 2015\n"
                                      "Subject: one\n\nfirst\n>From quoted\n\n";
constexpr std::string_view mbox_two = "From bob@example.org Tue Jan  6 11:00:00 2015\n"
                                      "Subject: two\n\nsecond\n\n";
constexpr std::string_view mbox_three = "From carol@example.org Wed Jan  7 12:00:00 2015\r\n"
                                        "Subject: three\r\n\r\nthird, in CRLF\r\n";

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (auto p : parts)
        s += p;
    return s;
}

} // namespace

TEST_CASE("maildrop: an mbox rewrite keeps the other messages byte for byte") {
    temp_dir d;
    const auto box = d.path / "box";
    write_file(box, cat({mbox_one, mbox_two, mbox_three}));
    auto md = maildrop::open(box);
    REQUIRE(md->snapshot().size() == 3);
    md->commit_deletions(pick(md, {1}), true);
    CHECK(read_text(box) == cat({mbox_one, mbox_three}));
    md->commit_deletions(pick(md, {1}), true); // the last one
    CHECK(read_text(box) == mbox_one);
    CHECK_FALSE(fs::exists(d.path / "box.lock"));
    CHECK(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()) == 1);
}

TEST_CASE("maildrop: mail appended to the mbox during a session survives the commit") {
    temp_dir d;
    const auto box = d.path / "box";
    write_file(box, cat({mbox_one, mbox_two}));
    auto md = maildrop::open(box);
    append(box, mbox_three); // delivered while the session runs
    md->commit_deletions(pick(md, {0}), true);
    CHECK(read_text(box) == cat({mbox_two, mbox_three}));
    // A message appended after a last message that had no blank line still finds it.
    write_file(box, "From a\nSubject: a\n\na");
    md = maildrop::open(box);
    append(box, "\n\nFrom b\nSubject: b\n\nb\n");
    md->commit_deletions(pick(md, {0}), true);
    CHECK(read_text(box) == "From b\nSubject: b\n\nb\n");
}

TEST_CASE("maildrop: an mbox message changed or removed by another program is not deleted") {
    temp_dir d;
    const auto box = d.path / "box";
    write_file(box, cat({mbox_one, mbox_two}));
    auto md = maildrop::open(box);
    const std::string changed = "From bob@example.org Tue Jan  6 11:00:00 2015\n"
                                "Status: RO\nSubject: two\n\nsecond\n\n";
    write_file(box, cat({mbox_one, changed}));
    md->commit_deletions(pick(md, {1}), true);
    CHECK(read_text(box) == cat({mbox_one, changed}));
    CHECK(md->snapshot().size() == 1); // gone from this maildrop all the same
}

TEST_CASE("maildrop: mbox uids survive the deletion of an earlier message, -N suffixes too") {
    temp_dir d;
    const auto box = d.path / "box";
    const std::string dup1 = "From x Thu Jan  8 00:00:00 2015\nSubject: dup\n\nsame\n\n";
    const std::string dup2 = "From y Fri Jan  9 00:00:00 2015\nSubject: dup\n\nsame\n\n";
    write_file(box, cat({mbox_one, mbox_two, dup1, dup2, mbox_three}));
    auto md = maildrop::open(box);
    const auto before = uids_of(md);
    REQUIRE(before.size() == 5);
    check_unique_valid(before);
    CHECK(before[3] == before[2] + "-2");
    md->commit_deletions(pick(md, {0}), true);
    const auto after = uids_of(maildrop::open(box));
    CHECK(after == std::vector<std::string>(before.begin() + 1, before.end()));
    CHECK(uids_of(md) == after);
}

TEST_CASE("maildrop: the mbox commit waits for FILE.lock without holding up the maildrop") {
    temp_dir d;
    const auto box = d.path / "box";
    const auto dot = d.path / "box.lock";
    write_file(box, cat({mbox_one, mbox_two}));
    auto md = maildrop::open(box);
    md->set_lock_timeout(10s);
    write_file(dot, ""); // another program is changing the mbox
    REQUIRE(md->try_lock());
    const auto gone = pick(md, {0});
    auto commit = std::async(std::launch::async, [&] { md->commit_deletions(gone, true); });
    CHECK(commit.wait_for(300ms) == std::future_status::timeout); // it waits
    // ... and while it waits, the maildrop answers: another user's login is not held up.
    const auto start = steady::now();
    CHECK(md->snapshot().size() == 2);
    CHECK_FALSE(md->try_lock());
    CHECK(steady::now() - start < 2s); // not the 10 s the commit may wait
    CHECK(read_text(box) == cat({mbox_one, mbox_two}));
    append(box, mbox_three); // the other program's change, then it unlocks
    fs::remove(dot);
    REQUIRE(commit.wait_for(5s) == std::future_status::ready);
    commit.get();
    CHECK(read_text(box) == cat({mbox_two, mbox_three}));
    CHECK(md->snapshot().size() == 1);
    CHECK_FALSE(fs::exists(dot));
}

TEST_CASE("maildrop: an mbox lock never released: the commit fails, nothing is deleted") {
    temp_dir d;
    const auto box = d.path / "box";
    write_file(box, cat({mbox_one, mbox_two}));
    auto md = maildrop::open(box);
    md->set_lock_timeout(200ms);
    SECTION("a dot-lock") {
        write_file(d.path / "box.lock", "");
        CHECK_THROWS_WITH(md->commit_deletions(pick(md, {0}), true),
                          Catch::Contains("box.lock: held by another program"));
        CHECK(fs::exists(d.path / "box.lock")); // not ours to remove
        fs::remove(d.path / "box.lock");
    }
    SECTION("an fcntl lock") {
        const int fd = ::open(box.c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        struct flock fl = {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        REQUIRE(::fcntl(fd, F_OFD_SETLK, &fl) == 0);
        CHECK_THROWS_WITH(md->commit_deletions(pick(md, {0}), true),
                          Catch::Contains("locked by another program (fcntl)"));
        ::close(fd);
        CHECK_FALSE(fs::exists(d.path / "box.lock"));
    }
    CHECK(read_text(box) == cat({mbox_one, mbox_two}));
    CHECK(md->snapshot().size() == 2);
    md->set_lock_timeout(5s);
    md->commit_deletions(pick(md, {0}), true); // free again: it works
    CHECK(read_text(box) == mbox_two);
}

TEST_CASE("maildrop: identical mbox messages: deleting one leaves the other") {
    temp_dir d;
    const auto box = d.path / "box";
    write_file(box, cat({mbox_two, mbox_two}));
    auto md = maildrop::open(box);
    const auto uids = uids_of(md);
    REQUIRE(uids.size() == 2);
    CHECK(uids[1] == uids[0] + "-2");
    md->commit_deletions(pick(md, {1}), true);
    CHECK(read_text(box) == mbox_two);
    CHECK(uids_of(md) == std::vector<std::string>{uids[0]});
}
