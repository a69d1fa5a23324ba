#include "pop3/conformance/provision.hpp"

#include "pop3/conformance/embedded.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <pop3/protocol/error.hpp>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace pop3::conformance {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t output_kept = 2000;

std::string tail_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = std::move(ss).str();
    if (s.size() > output_kept) s.erase(0, s.size() - output_kept);
    return s;
}

} // namespace

std::string shell_quote(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

command_result run_shell_command(const std::string& command, std::chrono::milliseconds timeout,
                                 const fs::path& output_file) {
    command_result result;
    // Opened before fork: the child only calls async-signal-safe functions.
    const int out = ::open(output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        result.reason = "could not start (" + output_file.string() + ": cannot create)";
        return result;
    }
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out);
        if (in >= 0) ::close(in);
        result.reason = "could not start (fork failed)";
        return result;
    }
    if (pid == 0) {
        ::setpgid(0, 0); // its own group: a timeout kills what it started, not only the shell
        if (in >= 0) ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out);
    if (in >= 0) ::close(in);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) {
            result.reason = "could not be waited for";
            result.output = tail_of(output_file);
            return result;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            char secs[32];
            std::snprintf(secs, sizeof secs, "%g", static_cast<double>(timeout.count()) / 1000);
            result.reason = std::string("did not finish within ") + secs + " s (killed)";
            result.output = tail_of(output_file);
            return result;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    result.output = tail_of(output_file);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        result.ok = true;
    } else if (WIFEXITED(status)) {
        result.reason = "exited " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        result.reason = "was killed by signal " + std::to_string(WTERMSIG(status));
    } else {
        result.reason = "ended abnormally";
    }
    return result;
}

provisioner::provisioner(std::string command, std::string user, fs::path fixtures_dir,
                         fixture_format format, std::chrono::milliseconds timeout)
    : command_(std::move(command)), user_(std::move(user)),
      dir_(fs::absolute(std::move(fixtures_dir))), format_(format), timeout_(timeout) {}

fs::path provisioner::folder_for(const std::string& maildrop) const {
    return dir_ / fixture_folder_name(maildrop);
}

std::string provisioner::command_for(const std::string& maildrop) const {
    // One pass: a value that holds "{dir}" is not replaced again.
    std::string out;
    for (std::size_t i = 0; i < command_.size();) {
        bool replaced = false;
        for (const auto& [name, value] : {std::pair<std::string_view, std::string>{"{user}", user_},
                                          {"{maildrop}", maildrop},
                                          {"{dir}", folder_for(maildrop).string()}}) {
            if (std::string_view(command_).substr(i).starts_with(name)) {
                out += shell_quote(value);
                i += name.size();
                replaced = true;
                break;
            }
        }
        if (!replaced) out += command_[i++];
    }
    return out;
}

std::size_t provisioner::messages(const std::string& maildrop) {
    auto it = counts_.find(maildrop);
    if (it == counts_.end())
        it = counts_.emplace(maildrop, embedded_messages(maildrop).size()).first;
    return it->second;
}

std::optional<std::string> provisioner::load(const std::string& maildrop) {
    if (maildrop == "default" && loaded_ == "default") return std::nullopt;
    const std::string what = "could not provision maildrop '" + maildrop + "': ";
    loaded_.clear(); // until the command has succeeded: the mailbox is in an unknown state
    try {
        fs::create_directories(dir_);
        // Written again each time: the command may have moved or changed the folder.
        write_fixture(folder_for(maildrop), embedded_messages(maildrop), format_);
    } catch (const std::exception& e) {
        return what + "the fixture could not be written: " + e.what();
    }
    const auto command = command_for(maildrop);
    const auto r = run_shell_command(command, timeout_, dir_ / ".provision-output");
    if (!r.ok) {
        std::string output = r.output;
        while (!output.empty() && (output.back() == '\n' || output.back() == '\r'))
            output.pop_back();
        if (output.size() > 400) output = "..." + output.substr(output.size() - 400);
        return what + "the command " + r.reason + ": " + command +
               (output.empty() ? std::string()
                               : " (output: " + escape_for_display(output, 2000) + ")");
    }
    loaded_ = maildrop;
    return std::nullopt;
}

} // namespace pop3::conformance
