// Fixtures for any server (issue #13, item 3): the transcripts' maildrops written as a Maildir,
// an mbox or .eml files and read back by the mock server's loader (what pop3-mockserver
// --maildrop / --mbox serve) as exactly the embedded server's messages; `pop3-conformance
// fixtures DIR`; and --provision COMMAND: its substitutions, when it runs, and a failing or
// hanging command making the case an error, as a library and as a process against a mock server.
#include "pop3/conformance/fixtures.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <pop3/conformance/embedded.hpp>
#include <pop3/conformance/provision.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/server.hpp>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace pop3::conformance;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A scratch folder (tests/support/temp_dir.hpp); paths as strings.
struct scratch : pop3::test::temp_dir {
    const fs::path& dir = path;
    explicit scratch(const std::string&) {}
    std::string write(const std::string& name, const std::string& text) const {
        return temp_dir::write(name, text).string();
    }
};

std::vector<test_case> suite() {
    return load_transcripts(fs::path(POP3_SOURCE_DIR) / "conformance/transcripts");
}

// What the mock server serves from a fixture: pop3-mockserver --maildrop FOLDER (a Maildir or a
// folder of .eml files) or --mbox FOLDER/mbox, through the same loader.
std::vector<pop3::mock::message_ptr> load_back(const fs::path& folder, fixture_format f) {
    return pop3::mock::maildrop::open(f == fixture_format::mbox ? folder / "mbox" : folder)
        ->snapshot();
}

void check_same_messages(const std::vector<pop3::mock::message_ptr>& got,
                         const std::vector<pop3::mock::message_ptr>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("message " << i + 1);
        CHECK(got[i]->content == want[i]->content);
        CHECK(got[i]->wire == want[i]->wire); // what RETR sends, dot-stuffed
        CHECK(got[i]->octets() == want[i]->octets());
    }
}

std::size_t count_lines(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The line of a JSON report that holds the case `id`.
std::string json_case(const std::string& json, const std::string& id) {
    const auto at = json.find("{\"id\": \"" + id + "\"");
    if (at == std::string::npos) return "(no case " + id + ")";
    return json.substr(at, json.find('\n', at) - at);
}

} // namespace

TEST_CASE("fixtures: folder names, formats and the maildrops the suite names") {
    CHECK(fixture_folder_name("generate:3:500") == "generate-3-500");
    CHECK(fixture_folder_name("long-line:1048576") == "long-line-1048576");
    CHECK(fixture_folder_name("dots") == "dots");
    CHECK(fixture_folder_name("a/b c") == "a-b-c");
    CHECK(fixture_folder_name("..") == "maildrop-..");
    CHECK(fixture_folder_name("") == "maildrop-");
    for (auto f : {fixture_format::maildir, fixture_format::mbox, fixture_format::eml})
        CHECK(parse_fixture_format(to_string(f)) == f);
    CHECK_FALSE(parse_fixture_format("Maildir"));
    CHECK_FALSE(parse_fixture_format(""));

    const auto names = fixture_maildrops(suite());
    REQUIRE(names.size() >= 5);
    CHECK(names.front() == "default");
    for (const char* n : {"dots", "empty", "long-line:1048576", "generate:3:300"})
        CHECK(std::find(names.begin(), names.end(), n) != names.end());
    auto sorted = names;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}

TEST_CASE("fixtures: every maildrop of the suite, in every format, loads back as the embedded "
          "server's messages") {
    const scratch s("roundtrip");
    for (auto f : {fixture_format::maildir, fixture_format::mbox, fixture_format::eml}) {
        for (const auto& name : fixture_maildrops(suite())) {
            INFO(name << " as " << to_string(f));
            const auto want = embedded_messages(name);
            const auto folder = s.dir / to_string(f) / fixture_folder_name(name);
            // dots starts with a header-less message and ends with an empty one: an mbox
            // cannot hold it faithfully, and says so (the case is then an error, not judged).
            if (f == fixture_format::mbox && name == "dots") {
                CHECK_THROWS_WITH(write_fixture(folder, want, f),
                                  Catch::Contains("message 1 does not start with a header field"));
                continue;
            }
            write_fixture(folder, want, f);
            check_same_messages(load_back(folder, f), want);
        }
    }
    // The dots maildrop holds an empty body and an empty message: both survive Maildir and .eml.
    const auto dots = embedded_messages("dots");
    REQUIRE(dots.size() == 3);
    CHECK(dots[2]->content.empty());
}

TEST_CASE("fixtures: Maildir names sort in message order and carry the exact sizes") {
    const scratch s("maildir");
    const auto msgs = embedded_messages("generate:12:300");
    write_fixture(s.dir / "g", msgs, fixture_format::maildir);
    CHECK(fs::is_directory(s.dir / "g/new"));
    CHECK(fs::is_directory(s.dir / "g/tmp"));
    CHECK(fs::is_empty(s.dir / "g/new"));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(s.dir / "g/cur"))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() == 12);
    for (std::size_t i = 0; i < files.size(); ++i) {
        const auto name = files[i].filename().string();
        INFO(name);
        // LF line ends, as an MDA stores them; S= the file, W= the message with CRLF.
        const auto size = fs::file_size(files[i]);
        CHECK(name.find(",S=" + std::to_string(size) + ",") != std::string::npos);
        CHECK(name.find(",W=" + std::to_string(msgs[i]->octets()) + ":2,") != std::string::npos);
        CHECK(name.ends_with(":2,"));
        CHECK(size + count_lines(msgs[i]->content) == msgs[i]->octets());
    }
    check_same_messages(load_back(s.dir / "g", fixture_format::maildir), msgs);
}

TEST_CASE("fixtures: mbox quotes From lines (mboxrd), and refuses what it cannot hold") {
    const scratch s("mbox");
    const std::vector<pop3::mock::message_ptr> msgs{
        pop3::mock::make_message("a", "Subject: a\r\n\r\nFrom here\r\n>From there\r\n"
                                      ">>From far\r\nFrom\r\n"),
        pop3::mock::make_message("e", "Subject: e\r\n\r\n.\r\n"),
        pop3::mock::make_message("h", "Subject: headers only\r\n"),
    };
    write_fixture(s.dir / "m", msgs, fixture_format::mbox);
    const auto text = s.read("m/mbox");
    CHECK(text.find("\n>From here\n>>From there\n>>>From far\nFrom\n") != std::string::npos);
    check_same_messages(load_back(s.dir / "m", fixture_format::mbox), msgs);
    // Servers read an empty message, or one without a header, each their own way (popa3d
    // refused the whole mbox; GNU Mailutils folded messages together).
    const auto empty = {msgs[0], pop3::mock::make_message("b", "")};
    CHECK_THROWS_WITH(write_fixture(s.dir / "x", empty, fixture_format::mbox),
                      "message 2 is empty, which an mbox cannot hold");
    const auto headless = {pop3::mock::make_message("c", "\r\nbody only\r\n")};
    CHECK_THROWS_WITH(write_fixture(s.dir / "y", headless, fixture_format::mbox),
                      Catch::Contains("message 1 does not start with a header field"));
    // An empty maildrop is an empty mbox.
    write_fixture(s.dir / "e", {}, fixture_format::mbox);
    CHECK(s.read("e/mbox").empty());
    CHECK(load_back(s.dir / "e", fixture_format::mbox).empty());
}

TEST_CASE("fixtures: write_fixtures writes the folders and the index, and refuses a foreign "
          "folder") {
    const scratch s("all");
    const std::vector<std::string> names{"default", "dots", "empty", "generate:2:400"};
    write_fixtures(s.dir / "fx", names, fixture_format::eml);
    const auto index = s.read("fx/index.txt");
    CHECK(index.starts_with("# pop3-conformance fixtures"));
    CHECK(index.find("\ndefault default 3 ") != std::string::npos);
    CHECK(index.find("\ndots dots 3 ") != std::string::npos);
    CHECK(index.find("\nempty empty 0 0\n") != std::string::npos);
    CHECK(index.find("\ngenerate:2:400 generate-2-400 2 ") != std::string::npos);
    CHECK(fs::exists(s.dir / "fx/dots/0000001.eml"));
    CHECK(fs::is_empty(s.dir / "fx/empty"));
    // Written again (another format): the folders are replaced.
    write_fixtures(s.dir / "fx", names, fixture_format::maildir);
    CHECK_FALSE(fs::exists(s.dir / "fx/dots/0000001.eml"));
    check_same_messages(load_back(s.dir / "fx/dots", fixture_format::maildir),
                        embedded_messages("dots"));
    // As mbox, the maildrop an mbox cannot hold is left out, and the index says why.
    write_fixtures(s.dir / "mb", names, fixture_format::mbox);
    CHECK(s.read("mb/index.txt")
              .find("\n# dots: not written: message 1 does not start with a "
                    "header field") != std::string::npos);
    CHECK_FALSE(fs::exists(s.dir / "mb/dots"));
    CHECK(fs::exists(s.dir / "mb/default/mbox"));
    // A folder with other things in it, or a file, is refused.
    s.write("mine/notes.txt", "mine\n");
    CHECK_THROWS_AS(write_fixtures(s.dir / "mine", names, fixture_format::maildir),
                    std::invalid_argument);
    CHECK(s.read("mine/notes.txt") == "mine\n");
    s.write("file", "x");
    CHECK_THROWS_AS(write_fixtures(s.dir / "file", names, fixture_format::maildir),
                    std::invalid_argument);
}

TEST_CASE("fixtures: pop3-conformance fixtures DIR as a process") {
    const scratch s("cli");
    auto run = [](std::vector<std::string> args) {
        args.insert(args.begin(), {"60", POP3_CONFORMANCE_BIN, "fixtures"});
        return pop3::test::run_program("/usr/bin/timeout", args);
    };
    auto r = run({(s.dir / "md").string()});
    CHECK(r.status == 0);
    CHECK(r.out.find("dots -> " + (s.dir / "md/dots").string()) != std::string::npos);
    const auto names = fixture_maildrops(suite());
    CHECK(count_lines(s.read("md/index.txt")) == names.size() + 4);
    for (const auto& n : names) {
        INFO(n);
        check_same_messages(
            load_back(s.dir / "md" / fixture_folder_name(n), fixture_format::maildir),
            embedded_messages(n));
    }
    r = run({(s.dir / "mb").string(), "--format", "mbox", "--only", "rfc1939/3/*"});
    CHECK(r.status == 0);
    CHECK(r.out.find("  dots: not written: message 1 does not start with a header field") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(s.dir / "mb/dots"));
    CHECK(fs::is_regular_file(s.dir / "mb/default/mbox"));
    CHECK_FALSE(fs::exists(s.dir / "mb/empty")); // only rfc1939/5 and 7 cases name it

    // A bad format or DIR: exit code 2 and the reason.
    r = run({(s.dir / "x").string(), "--format", "maildirs"});
    CHECK(r.status == 2);
    CHECK(r.err.find("unknown fixture format 'maildirs'") != std::string::npos);
    s.write("file", "x");
    r = run({(s.dir / "file").string()});
    CHECK(r.status == 2);
    CHECK(r.err.find("exists and is not a folder") != std::string::npos);
    s.write("mine/notes.txt", "mine\n");
    r = run({(s.dir / "mine").string()});
    CHECK(r.status == 2);
    CHECK(r.err.find("not a folder of pop3-conformance fixtures") != std::string::npos);
    r = run({});
    CHECK(r.status == 2);
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"server", "--provision", "true"});
    CHECK(r.status == 2);
    CHECK(r.err.find("--provision goes with 'server --target URL'") != std::string::npos);
    r = pop3::test::run_program(POP3_CONFORMANCE_BIN, {"server", "--fixture-format", "mbox"});
    CHECK(r.status == 2);
}

TEST_CASE("provision: the command's substitutions, shell-quoted, and when it runs") {
    const scratch s("prov");
    const auto log = s.dir / "log";
    // Each call records its three values and what {dir} holds at that moment.
    provisioner p("printf '%s|%s|%s|' {user} {maildrop} {dir} >> " + shell_quote(log.string()) +
                      " && ls {dir}/cur | wc -l >> " + shell_quote(log.string()),
                  "o'brien $(x) \"q\"", s.dir / "fx");
    CHECK(p.command_for("dots").find("'o'\\''brien $(x) \"q\"' 'dots' '") != std::string::npos);
    CHECK(p.folder_for("generate:2:400") == s.dir / "fx/generate-2-400");
    CHECK(p.messages("generate:5:100") == 5);
    CHECK(p.messages("empty") == 0);

    CHECK(p.loaded() == "default");
    CHECK_FALSE(p.load("default")); // nothing loaded yet: the user's maildrop is in place
    CHECK_FALSE(fs::exists(log));
    CHECK_FALSE(p.load("dots"));
    CHECK_FALSE(p.load("dots")); // every case gets a fresh copy
    CHECK_FALSE(p.load("default"));
    CHECK_FALSE(p.load("default"));
    CHECK_FALSE(p.load("generate:2:400"));
    CHECK_FALSE(p.restore());
    CHECK_FALSE(p.restore());
    const std::string dir = (s.dir / "fx").string();
    CHECK(s.read("log") == "o'brien $(x) \"q\"|dots|" + dir + "/dots|3\n" +
                               "o'brien $(x) \"q\"|dots|" + dir + "/dots|3\n" +
                               "o'brien $(x) \"q\"|default|" + dir + "/default|3\n" +
                               "o'brien $(x) \"q\"|generate:2:400|" + dir + "/generate-2-400|2\n" +
                               "o'brien $(x) \"q\"|default|" + dir + "/default|3\n");
    CHECK(p.loaded() == "default");

    // A value holding "{dir}" is not replaced again.
    provisioner q("echo {user}", "{dir}", s.dir / "fx");
    CHECK(q.command_for("dots") == "echo '{dir}'");
}

TEST_CASE("provision: a command that fails or hangs is reported, with its output") {
    const scratch s("fail");
    provisioner p("echo 'no such mailbox' >&2; echo {maildrop}; exit 3", "user", s.dir / "fx");
    auto why = p.load("dots");
    REQUIRE(why);
    CHECK(why->starts_with("could not provision maildrop 'dots': the command exited 3: echo "));
    CHECK(why->find("(output: no such mailbox\\ndots)") != std::string::npos);
    CHECK(p.loaded().empty());
    // The mailbox is in an unknown state: the next default case restores it first.
    why = p.load("default");
    REQUIRE(why);
    CHECK(why->starts_with("could not provision maildrop 'default': the command exited 3"));

    provisioner slow("sleep 10", "user", s.dir / "fx", fixture_format::maildir, 300ms);
    const auto t0 = std::chrono::steady_clock::now();
    why = slow.load("empty");
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    REQUIRE(why);
    CHECK(why->find("the command did not finish within 0.3 s (killed): sleep 10") !=
          std::string::npos);

    // A command that leaves a process in the background is not waited for.
    provisioner daemon("sleep 3 & exit 0", "user", s.dir / "fx");
    const auto t1 = std::chrono::steady_clock::now();
    CHECK_FALSE(daemon.load("empty"));
    CHECK(std::chrono::steady_clock::now() - t1 < 2s);

    // A fixture that cannot be written is reported too.
    s.write("blocked", "a file where the fixtures folder should be");
    provisioner blocked("true", "user", s.dir / "blocked");
    why = blocked.load("dots");
    REQUIRE(why);
    CHECK(why->starts_with("could not provision maildrop 'dots': the fixture could not be "
                           "written: "));
}

TEST_CASE("provision: pop3-conformance server --target --provision as a process") {
    const scratch s("run");
    // Cases of our own against a mock server serving the default maildrop (3 messages): the
    // command cannot load anything into it (it reads its maildrop at startup), so these cases
    // check only the greeting; what is checked is that they run, after the command.
    s.write("t/cases.pop3",
            "case: t/generated\ntitle: t\nrfc: 1939 §4\nmaildrop: generate:5:100\n"
            "requires: messages>=5\nS: +OK*\nC: QUIT\nS: +OK*\n\n"
            "case: t/default\ntitle: t\nrfc: 1939 §4\nrequires: messages>=3\n"
            "S: +OK*\nC: QUIT\nS: +OK*\n\n"
            "case: t/empty\ntitle: t\nrfc: 1939 §4\nmaildrop: empty\nS: +OK*\nC: QUIT\nS: +OK*\n\n"
            "case: t/embedded\ntitle: t\nrfc: 1939 §4\nmaildrop: dots\nrequires: embedded\n"
            "S: +OK*\n");
    pop3::mock::server_options so;
    so.threads = 1;
    pop3::mock::server server(pop3::mock::default_config(), so);
    server.start();
    const std::string target = "pop3://user:pass@127.0.0.1:" + std::to_string(server.port());
    const auto log = (s.dir / "log").string();
    auto run = [&](std::vector<std::string> args) {
        std::vector<std::string> words{"60",
                                       POP3_CONFORMANCE_BIN,
                                       "server",
                                       "--no-color",
                                       "--target",
                                       target,
                                       "--transcripts",
                                       (s.dir / "t").string(),
                                       "--json",
                                       (s.dir / "r.json").string()};
        words.insert(words.end(), args.begin(), args.end());
        auto r = pop3::test::run_program("/usr/bin/timeout", words);
        r.out += "\n" + s.read("r.json");
        return r;
    };

    // Without --provision the cases that name a maildrop are skipped, saying why.
    auto r = run({});
    CHECK(r.status == 0);
    CHECK(json_case(r.out, "t/generated")
              .find("\"result\": \"skipped\", \"reason\": \"needs "
                    "maildrop 'generate:5:100', which only the "
                    "embedded server can arrange, or --provision "
                    "COMMAND\"") != std::string::npos);
    CHECK(json_case(r.out, "t/default").find("\"passed\"") != std::string::npos);

    // With it they run, after the command; the default maildrop comes back before t/default
    // and at the end; a case skipped for another reason loads nothing.
    r = run({"--provision", "printf '%s %s %s\\n' {user} {maildrop} {dir} >> " + log});
    CHECK(r.status == 0);
    INFO(r.out << r.err);
    for (const char* id : {"t/generated", "t/default", "t/empty"})
        CHECK(json_case(r.out, id).find("\"result\": \"passed\"") != std::string::npos);
    CHECK(json_case(r.out, "t/embedded").find("\"skipped\"") != std::string::npos);
    const auto calls = s.read("log");
    const auto dir = calls.substr(calls.find('/'), calls.find("/generate-5-100") - calls.find('/'));
    CHECK(calls == "user generate:5:100 " + dir + "/generate-5-100\nuser default " + dir +
                       "/default\nuser empty " + dir + "/empty\nuser default " + dir +
                       "/default\n");
    CHECK_FALSE(fs::exists(dir)); // the run's fixtures are removed at the end

    // A command that fails makes the cases that needed it errors, never failures.
    r = run({"--provision", "exit 4", "--fixture-format", "mbox"});
    CHECK(r.status == 0);
    CHECK(json_case(r.out, "t/generated")
              .find("\"result\": \"error\", \"reason\": \"could not provision maildrop "
                    "'generate:5:100': the command exited 4: exit 4\"") != std::string::npos);
    CHECK(json_case(r.out, "t/default").find("\"result\": \"error\"") != std::string::npos);
    CHECK(r.out.find("0 passed, 0 failed, 1 skipped, 3 errors") != std::string::npos);
    CHECK(r.err.find("the user's own maildrop was not put back: could not provision maildrop "
                     "'default'") != std::string::npos);
}
