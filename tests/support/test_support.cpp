// The test helpers themselves: a child process is killed and reaped when its object goes away,
// its outcome is exact, and a scratch folder is gone after its test.
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <sys/wait.h>

using namespace std::chrono_literals;

TEST_CASE("child_process: a child still running when its object goes away is killed and reaped") {
    pid_t pid = -1;
    {
        pop3::test::child_process sleeper("/bin/sleep", {"100"});
        pid = sleeper.pid();
        REQUIRE(pid > 0);
        CHECK(::kill(pid, 0) == 0); // running
    }
    // Reaped: no such process, and nothing left to wait for.
    errno = 0;
    CHECK(::kill(pid, 0) == -1);
    CHECK(errno == ESRCH);
    int ws = 0;
    CHECK(::waitpid(pid, &ws, WNOHANG) == -1);
    CHECK(errno == ECHILD);
}

TEST_CASE("child_process: finish() gives the exit code, stdout and stderr exactly") {
    const auto r = pop3::test::run_program(
        "/bin/sh", {"-c", "printf 'out\\n'; printf 'err\\n' >&2; printf 'more'; exit 3"});
    CHECK(r.status == 3);
    CHECK(r.out == "out\nmore");
    CHECK(r.err == "err\n");

    pop3::test::child_process c("/bin/sleep", {"100"});
    c.signal(SIGTERM);
    CHECK(c.finish().status == 128 + SIGTERM);
    CHECK(c.pid() == -1);
}

TEST_CASE("child_process: stop() and wait_exit() read stdout while they wait") {
    pop3::test::child_process c("/bin/sh", {"-c", "echo ready; exec sleep 100"});
    while (c.out().empty() && c.read_some(std::chrono::steady_clock::now() + 5s)) {
    }
    CHECK(c.out() == "ready\n");
    CHECK(c.stop(SIGINT) == 128 + SIGINT);
    CHECK(c.pid() == -1);
}

TEST_CASE("temp_dir: files written and read back; the folder is gone at the end") {
    std::filesystem::path kept;
    {
        const pop3::test::temp_dir d;
        kept = d.path;
        const auto p = d.write("a/b.txt", std::string("x\0y\r\n", 5));
        CHECK(p == d.path / "a" / "b.txt");
        CHECK(d.read("a/b.txt") == std::string("x\0y\r\n", 5));
        CHECK(pop3::test::read_text(p) == std::string("x\0y\r\n", 5));
        CHECK(pop3::test::read_text(d.path / "missing").empty());
        const pop3::test::temp_dir other;
        CHECK(other.path != d.path);
    }
    CHECK_FALSE(std::filesystem::exists(kept));
}
