// pop3-conformance server --provision: loads the maildrop a case names into the test user's
// mailbox on a server under test, through a command the user gives (run with /bin/sh), with
// fixtures written for it (fixtures.hpp); the user's usual maildrop is put back before a case
// that needs it.
#pragma once

#include "pop3/conformance/fixtures.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pop3::conformance {

// How long a provisioning command may run before it is killed (the case is then an error).
inline constexpr std::chrono::milliseconds provision_timeout{60000};

// A value for /bin/sh: in single quotes, each ' written as '\''.
std::string shell_quote(std::string_view value);

struct command_result {
    bool ok = false;
    std::string reason; // when not ok, after "the command ": "exited 3", "did not finish
                        // within 60 s (killed)", "was killed by signal 9"
    std::string output; // what it wrote on stdout and stderr (the last 2000 octets)
};

// Runs `command` with /bin/sh in a process group of its own, stdin from /dev/null, stdout and
// stderr into `output_file` (read back into `output`); after `timeout` the group is killed.
// A command that leaves a process running in the background (a server it restarted) is not
// waited for.
command_result run_shell_command(const std::string& command, std::chrono::milliseconds timeout,
                                 const std::filesystem::path& output_file);

class provisioner {
public:
    // `command`: the template, with {user}, {maildrop} and {dir}. Fixtures are written into
    // `fixtures_dir` (created; the caller removes it), one folder per maildrop.
    provisioner(std::string command, std::string user, std::filesystem::path fixtures_dir,
                fixture_format format = fixture_format::maildir,
                std::chrono::milliseconds timeout = provision_timeout);

    // Before a case that names `maildrop`. Any maildrop but "default": its fixture is written
    // again and the command run, each time (the case before may have changed the mailbox).
    // "default": the command runs, with the fixture of pop3kit's default maildrop as {dir},
    // only when another maildrop was loaded since the start (or a command failed): it must put
    // the user's own maildrop back. nullopt when done, else the reason (the case is an error).
    std::optional<std::string> load(const std::string& maildrop);
    // After the run: the user's own maildrop back when another one is loaded.
    std::optional<std::string> restore() { return load("default"); }

    // The number of messages in the maildrop's fixture: what a case's `messages>=N` sees.
    std::size_t messages(const std::string& maildrop);
    // The command as run for `maildrop`: {user}, {maildrop} and {dir} replaced, shell-quoted.
    std::string command_for(const std::string& maildrop) const;
    std::filesystem::path folder_for(const std::string& maildrop) const;
    // The maildrop the last command loaded: "default" at the start, "" after a failure.
    const std::string& loaded() const noexcept { return loaded_; }

private:
    std::string command_, user_;
    std::filesystem::path dir_;
    fixture_format format_;
    std::chrono::milliseconds timeout_;
    std::string loaded_ = "default";
    std::map<std::string, std::size_t> counts_;
};

} // namespace pop3::conformance
