#include "pop3/fuzzer/launcher.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <netdb.h>
#include <pop3/conformance/process_tree.hpp>
#include <pop3/protocol/error.hpp>
#include <pop3/protocol/text.hpp>
#include <spawn.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace pop3::fuzzer {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// How much of a report is quoted, and how much stderr is scanned per look (a chatty target
// logs; the markers are in the report's first line).
constexpr std::size_t report_lines = 6;
constexpr std::size_t max_scan = 1u << 20;
constexpr std::string_view sanitizer_markers[] = {
    "ERROR: AddressSanitizer",   "ERROR: LeakSanitizer",     "ERROR: MemorySanitizer",
    "ERROR: HWAddressSanitizer", "WARNING: ThreadSanitizer", "runtime error: ",
};

std::string read_file(const fs::path& file, std::uintmax_t from, std::size_t most) {
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(most, '\0');
    in.read(text.data(), static_cast<std::streamsize>(most));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

bool port_accepts(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return false;
    bool ok = false;
    for (auto* a = res; a && !ok; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        ::close(fd);
    }
    ::freeaddrinfo(res);
    return ok;
}

std::optional<std::uint16_t> port_in(std::string_view token) {
    const auto colon = token.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    auto digits = token.substr(colon + 1); // "2110," ends at the first non-digit
    std::size_t n = 0;
    while (n < digits.size() && is_digit(digits[n]))
        ++n;
    if (n == 0) return std::nullopt;
    const auto v = parse_decimal(digits.substr(0, n));
    if (!v || *v == 0 || *v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*v);
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> out;
    while (!line.empty()) {
        const auto w = next_token(line);
        if (!w.empty()) out.push_back(w);
    }
    return out;
}

} // namespace

std::optional<std::uint16_t> port_from_output(const std::string& text) {
    std::vector<std::string_view> lines;
    std::string_view rest(text);
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        if (nl == std::string_view::npos) break; // a line still being written
        auto line = rest.substr(0, nl);
        if (line.ends_with('\r')) line.remove_suffix(1);
        lines.push_back(line);
        rest.remove_prefix(nl + 1);
    }
    for (auto line : lines) {
        std::string upper;
        for (char c : line)
            upper += ascii_upper(c);
        if (upper.find("LISTENING") == std::string::npos) continue;
        for (auto w : split_words(line))
            if (auto p = port_in(w)) return p;
    }
    for (auto line : lines) {
        const auto v = parse_decimal(line);
        if (!line.empty() && v && *v > 0 && *v <= 65535) return static_cast<std::uint16_t>(*v);
    }
    for (auto line : lines)
        for (auto w : split_words(line))
            if (auto p = port_in(w)) return p;
    return std::nullopt;
}

namespace {

// The process groups of the running targets, for the handler below (async-signal-safe: fixed
// slots, atomics, kill, signal, raise).
constexpr std::size_t max_watched = 64;
std::atomic<pid_t> watched[max_watched];

extern "C" void stop_targets_and_die(int sig) {
    for (auto& w : watched)
        if (const pid_t p = w.load(); p > 0) ::kill(-p, SIGKILL);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

void watch(pid_t pid) {
    static std::once_flag handlers;
    std::call_once(handlers, [] {
        // Interrupted (Ctrl-C, a CI timeout's SIGTERM), pop3-fuzz stops the targets it started:
        // they are in process groups of their own, which the terminal's signal does not reach.
        for (int sig : {SIGINT, SIGTERM, SIGHUP})
            ::signal(sig, stop_targets_and_die);
    });
    for (auto& w : watched) {
        pid_t none = 0;
        if (w.compare_exchange_strong(none, pid)) return;
    }
}

void unwatch(pid_t pid) {
    for (auto& w : watched) {
        pid_t p = pid;
        if (w.compare_exchange_strong(p, 0)) return;
    }
}

} // namespace

launched_target::launched_target(launch_options o) : o_(std::move(o)) {}

launched_target::~launched_target() {
    stop();
}

void launched_target::start() {
    stop();
    fs::create_directories(o_.work_dir);
    const auto out = o_.work_dir / "stdout.log";
    const auto err = o_.work_dir / "stderr.log";
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_init(&attr);
    // Its own process group: stopping it stops whatever it started.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::string sh = "sh", dash_c = "-c", command = o_.command;
    char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        throw std::runtime_error("--launch: cannot start /bin/sh: " +
                                 std::string(std::strerror(rc)));
    pid_ = pid;
    watch(pid);
    ++starts_;
    stderr_seen_ = 0;
    port_ = o_.port;

    const auto deadline = clock_type::now() + o_.startup_timeout;
    while (true) {
        if (auto e = died({})) {
            throw std::runtime_error("--launch: the program ended before it listened: " + *e +
                                     output_tail(err));
        }
        if (port_ == 0) {
            if (auto p = port_from_output(read_file(out, 0, 64 * 1024))) port_ = *p;
        }
        if (port_ != 0 && port_accepts(o_.host, port_)) {
            started_at_ = clock_type::now();
            return;
        }
        if (clock_type::now() > deadline) {
            stop();
            throw std::runtime_error(
                "--launch: the program did not " +
                std::string(port_ == 0 ? "print its port" : "accept connections") + " within " +
                std::to_string(o_.startup_timeout.count() / 1000) + " s" + output_tail(err));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void launched_target::stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    const auto deadline = clock_type::now() + std::chrono::seconds(2);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0 && clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(-pid_, SIGKILL); // whatever is left of the group
    ::waitpid(pid_, &status, WNOHANG);
    ::waitpid(pid_, &status, 0);
    unwatch(pid_);
    pid_ = -1;
}

std::optional<std::string> launched_target::died(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return std::nullopt;
    const auto deadline = clock_type::now() + grace;
    while (true) {
        int status = 0;
        const pid_t done = ::waitpid(pid_, &status, WNOHANG);
        if (done == pid_) {
            ::kill(-pid_, SIGKILL); // what it started
            unwatch(pid_);
            pid_ = -1;
            if (WIFSIGNALED(status))
                return "the target's process was killed by signal " +
                       std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) +
                       ")";
            const int code = WEXITSTATUS(status);
            // A shell in front of the server (COMMAND without exec) says signal N as 128+N.
            return "the target's process exited with status " + std::to_string(code) +
                   (code > 128 && code < 128 + 65
                        ? " (a shell's report of signal " + std::to_string(code - 128) + ", " +
                              ::strsignal(code - 128) + ")"
                        : "");
        }
        if ((done < 0 && errno != EINTR) || clock_type::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::optional<process_event> launched_target::check(std::chrono::milliseconds grace) {
    std::optional<process_event> died_event;
    if (auto d = died(grace)) died_event = process_event{process_event::kind::died, *d};

    // A sanitizer's report: stderr is scanned from where the last look ended (a little before,
    // so that a marker cut by the last look is whole).
    const auto err = o_.work_dir / "stderr.log";
    std::error_code ec;
    const auto size = fs::file_size(err, ec);
    if (!ec && size > stderr_seen_) {
        const auto seen = stderr_seen_;
        const auto from = seen > 64 ? seen - 64 : 0;
        const auto text = read_file(err, from, max_scan);
        stderr_seen_ = from + text.size();
        for (auto marker : sanitizer_markers) {
            // Only a marker that ends in the new part: one in the overlap was reported already.
            auto at = text.find(marker);
            while (at != std::string::npos && from + at + marker.size() <= seen)
                at = text.find(marker, at + 1);
            if (at == std::string::npos) continue;
            auto start = text.rfind('\n', at);
            start = start == std::string::npos ? 0 : start + 1;
            auto end = start;
            for (std::size_t i = 0; i < report_lines && end != std::string::npos; ++i)
                end = text.find('\n', end + 1);
            process_event e{process_event::kind::sanitizer,
                            "the target wrote a sanitizer report: " +
                                escape_for_display(text.substr(start, end == std::string::npos
                                                                          ? std::string::npos
                                                                          : end - start),
                                                   600)};
            if (died_event) e.detail += "; " + died_event->detail;
            return e;
        }
    }
    return died_event;
}

conformance::tree_usage launched_target::usage() const {
    return pid_ > 0 ? conformance::tree_usage_of(pid_) : conformance::tree_usage{};
}

std::string launched_target::output_tail(const fs::path& file) const {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec || size == 0) return "";
    const auto from = size > 2048 ? size - 2048 : 0;
    return "; its stderr ends: " + escape_for_display(read_file(file, from, 2048), 2048);
}

} // namespace pop3::fuzzer
