// pop3-fuzz --launch: the target as a process pop3-fuzz starts, watches and restarts. It runs
// `/bin/sh -c COMMAND` in a process group of its own, stdout and stderr to files; it knows when
// the process died (exit status or signal), when it wrote a sanitizer's report, and how much
// memory and how many descriptors the process tree holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <pop3/conformance/process_tree.hpp>
#include <string>
#include <sys/types.h>

namespace pop3::fuzzer {

struct launch_options {
    std::string command;
    std::filesystem::path work_dir; // stdout and stderr of each start go here
    std::string host = "127.0.0.1"; // where its port is tried
    // 0: learn the port from the program's stdout (a line with "listening" and HOST:PORT, as
    // pop3-mockserver prints; else a line holding only the port; else the first HOST:PORT).
    std::uint16_t port = 0;
    std::chrono::milliseconds startup_timeout{30000};
};

// What the process did that is a finding.
struct process_event {
    enum class kind : std::uint8_t { died, sanitizer };
    kind what = kind::died;
    std::string detail; // "killed by signal 6 (Aborted)", the report's first lines
};

class launched_target {
public:
    explicit launched_target(launch_options o);
    ~launched_target();
    launched_target(const launched_target&) = delete;
    launched_target& operator=(const launched_target&) = delete;

    // Starts the program (stopping a running one first) and waits until its port is known and
    // accepts connections. Throws std::runtime_error with its output's tail when it does not.
    void start();
    void stop();
    bool running() const noexcept { return pid_ > 0; }
    std::uint16_t port() const noexcept { return port_; }
    pid_t pid() const noexcept { return pid_; }
    std::size_t starts() const noexcept { return starts_; }

    // Whether it died (waiting up to `grace` for that) or wrote a sanitizer report since the
    // last call. A died process is reaped: start() it again.
    std::optional<process_event> check(std::chrono::milliseconds grace = {});

    // Resident KiB and open descriptors of the process tree (zeros when it is not running).
    conformance::tree_usage usage() const;
    std::chrono::steady_clock::time_point started_at() const noexcept { return started_at_; }

private:
    // How it ended, when it did within `grace` (then it is reaped).
    std::optional<std::string> died(std::chrono::milliseconds grace);
    std::string output_tail(const std::filesystem::path& file) const;

    launch_options o_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::size_t starts_ = 0;
    std::uintmax_t stderr_seen_ = 0; // octets of stderr already scanned
    std::chrono::steady_clock::time_point started_at_{};
};

// The port a program printed, by the rule of launch_options::port; nullopt when none yet.
std::optional<std::uint16_t> port_from_output(const std::string& text);

} // namespace pop3::fuzzer
