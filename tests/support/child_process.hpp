// A program under test as a child process: stdout through a pipe, stderr into a temporary
// file, stdin from /dev/null, no other descriptor of the test inherited. The one copy for the
// tests of the command-line tools: a child still running when its object goes away (the test
// failed, threw, or never stopped it) is killed and reaped.
#pragma once

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace pop3::test {

struct program_outcome {
    int status = -1; // exit code, or 128 + signal
    std::string out, err;
};

// How a test starts a program beyond its arguments.
struct spawn_options {
    // stderr into a pipe that nobody reads (a CI log collector that stalls), instead of a file.
    bool stderr_unread_pipe = false;
    std::optional<rlim_t> max_open_files; // RLIMIT_NOFILE, set right after the start
};

class child_process {
public:
    using clock = std::chrono::steady_clock;

    child_process(const std::string& program, const std::vector<std::string>& args,
                  spawn_options options = {})
        : name_(std::filesystem::path(program).filename().string()) {
        // The destructor does not run when the constructor fails: clean up here.
        try {
            spawn(program, args, options);
        } catch (...) {
            cleanup();
            close_err_file();
            throw;
        }
    }
    ~child_process() {
        cleanup();
        close_err_file();
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    // The child's process id; -1 once it has been reaped.
    pid_t pid() const noexcept { return pid_; }

    // Sends `sig` unless the child has been reaped.
    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    // Reads stdout to its end, waits for the exit (however long), then reads stderr.
    program_outcome finish() {
        REQUIRE(pid_ > 0);
        while (read_some(std::nullopt)) {
        }
        program_outcome o;
        o.status = *reap(0);
        o.out = out_;
        o.err = err();
        return o;
    }

    // Sends `sig` and waits for the exit; see wait_exit.
    int stop(int sig = SIGTERM, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        REQUIRE(pid_ > 0);
        REQUIRE(::kill(pid_, sig) == 0);
        return wait_exit(limit);
    }

    // Waits for the process to end by itself within `limit`, reading all its stdout; kills it
    // and FAILs when it does not. Returns the exit code, or 128 + signal.
    int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        REQUIRE(pid_ > 0);
        const auto until = clock::now() + limit;
        while (read_some(until)) {
        }
        while (true) {
            if (const auto status = reap(WNOHANG)) return *status;
            if (clock::now() >= until) {
                cleanup();
                INFO("stderr: " << err());
                FAIL(name_ << " did not exit in time; killed");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // Appends what stdout has to out(), waiting for it until `until` (without one: as long as
    // it takes); false on EOF, error or when `until` has passed.
    bool read_some(std::optional<clock::time_point> until) {
        if (out_fd_ < 0) return false;
        int wait_ms = -1;
        if (until) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(*until - clock::now());
            if (left.count() <= 0) return false;
            wait_ms = static_cast<int>(left.count());
        }
        pollfd p{out_fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, wait_ms);
        if (r < 0) return errno == EINTR;
        if (r == 0) return false;
        char buf[65536];
        const auto n = ::read(out_fd_, buf, sizeof buf);
        if (n > 0) {
            out_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        return n < 0 && errno == EINTR;
    }

    // stdout as read so far.
    const std::string& out() const { return out_; }
    // stderr as written so far ("" with stderr_unread_pipe).
    std::string err() const {
        std::string text;
        if (!err_) return text;
        char buf[4096];
        const int fd = ::fileno(err_);
        off_t at = 0;
        ssize_t n = 0;
        while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
            text.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
        return text;
    }

    // CPU time (user + system) the child has used so far.
    std::chrono::milliseconds cpu_time() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(in)), {});
        std::istringstream fields(stat.substr(stat.rfind(')') + 2));
        std::string field;
        unsigned long long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && fields >> field; ++i) {
            if (i == 14) utime = std::stoull(field);
            if (i == 15) stime = std::stoull(field);
        }
        return std::chrono::milliseconds((utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK));
    }

private:
    void spawn(const std::string& program, const std::vector<std::string>& args,
               const spawn_options& options) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        out_fd_ = fds[0];
        child_out_fd_ = fds[1];
        err_ = std::tmpfile();
        REQUIRE(err_);
        int err_fd = ::fileno(err_);
        if (options.stderr_unread_pipe) {
            int errs[2];
            REQUIRE(::pipe2(errs, O_CLOEXEC) == 0);
            unread_err_fd_ = errs[0]; // kept open, never read
            child_err_fd_ = err_fd = errs[1];
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, child_out_fd_, 1);
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
        // No inherited sockets or files: a client socket of the test must close when it closes.
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        std::vector<std::string> words{program};
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words)
            argv.push_back(w.data());
        argv.push_back(nullptr);
        pid_t pid = -1;
        // Signals at their defaults and none blocked, whatever the test runner inherited (a
        // shell without job control starts background jobs with SIGINT ignored).
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t defaults, none;
        sigemptyset(&defaults);
        for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE})
            sigaddset(&defaults, sig);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        const int rc = posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        close_fd(child_out_fd_);
        close_fd(child_err_fd_);
        if (rc != 0) FAIL("cannot run " << program);
        pid_ = pid;
        if (options.max_open_files) {
            const rlimit limit{*options.max_open_files, *options.max_open_files};
            REQUIRE(::prlimit(pid_, RLIMIT_NOFILE, &limit, nullptr) == 0);
        }
    }

    // The exit status once the child has ended (with WNOHANG, nullopt while it runs).
    std::optional<int> reap(int flags) {
        int ws = 0;
        while (true) {
            const pid_t r = ::waitpid(pid_, &ws, flags);
            if (r == pid_) break;
            if (r == 0) return std::nullopt;
            if (errno != EINTR) FAIL("waitpid failed");
        }
        pid_ = -1;
        return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }

    // Kills and reaps the child if it still runs; closes the descriptors. stderr's file stays
    // open for err().
    void cleanup() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int ws = 0;
            while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
        }
        close_fd(child_out_fd_);
        close_fd(child_err_fd_);
        close_fd(unread_err_fd_);
        close_fd(out_fd_);
    }
    void close_err_file() {
        if (err_) std::fclose(err_);
        err_ = nullptr;
    }
    static void close_fd(int& fd) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    std::string name_;
    pid_t pid_ = -1;
    int out_fd_ = -1, child_out_fd_ = -1;
    int unread_err_fd_ = -1, child_err_fd_ = -1;
    std::FILE* err_ = nullptr;
    std::string out_;
};

inline program_outcome run_program(const std::string& program,
                                   const std::vector<std::string>& args) {
    return child_process(program, args).finish();
}

} // namespace pop3::test
