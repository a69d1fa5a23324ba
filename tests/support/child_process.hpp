// A program under test as a child process: stdout through a pipe, stderr into a temporary
// file, stdin from /dev/null. For the tests of the command-line tools.
#pragma once

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace pop3::test {

struct program_outcome {
    int status = -1; // exit code, or 128 + signal
    std::string out, err;
};

class child_process {
public:
    child_process(const std::string& program, const std::vector<std::string>& args) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        err_ = std::tmpfile();
        REQUIRE(err_);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_adddup2(&fa, ::fileno(err_), 2);
        std::vector<std::string> words{program};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words)
            argv.push_back(w.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(fds[1]);
        out_fd_ = fds[0];
        REQUIRE(rc == 0);
    }
    ~child_process() {
        if (out_fd_ >= 0) ::close(out_fd_);
        if (err_) std::fclose(err_);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    void signal(int sig) { ::kill(pid_, sig); }

    // Reads stdout to its end, waits for the exit, then reads stderr.
    program_outcome finish() {
        program_outcome o;
        char buf[65536];
        for (;;) {
            const auto n = ::read(out_fd_, buf, sizeof buf);
            if (n > 0)
                o.out.append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EINTR)
                break;
        }
        int ws = 0;
        while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
        }
        o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        std::rewind(err_);
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, err_)) > 0)
            o.err.append(buf, n);
        return o;
    }

private:
    pid_t pid_ = 0;
    int out_fd_ = -1;
    std::FILE* err_ = nullptr;
};

inline program_outcome run_program(const std::string& program,
                                   const std::vector<std::string>& args) {
    return child_process(program, args).finish();
}

} // namespace pop3::test
