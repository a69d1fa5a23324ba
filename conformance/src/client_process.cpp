// Running the client under test: a child per run (posix_spawn), in its own process group, waited
// for with wait4 (exit status, signal, peak memory) and killed as a group at the deadline; and
// pop3kit's client library as that child (library-client, sync or async) or in this process over
// memory (--in-memory), doing the task one way for all three.
#include "memory_server.hpp"
#include "pop3/conformance/client_runner.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <pop3/client/async_client.hpp>
#include <pop3/client/client.hpp>
#include <pop3/client/session.hpp>
#include <pop3/protocol/text.hpp>
#include <set>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace pop3::conformance {
namespace {

namespace fs = std::filesystem;

// The adapter contract's exit status for "this client cannot be asked for that".
constexpr int exit_unsupported = 125;
// The largest message the library's task accepts (a fetcher's configured size limit).
constexpr std::size_t library_max_message = 64 * 1024 * 1024;
// How much of a client's stdout and stderr is kept for the evidence.
constexpr std::size_t max_output_tail = 4096;
// How often a running client's memory and output are looked at: a client that grows either
// without bound is stopped at its limit instead of growing until the deadline (and the machine
// keeps its memory and disk).
constexpr std::chrono::milliseconds watch_interval{100};

// The resident size of the largest process in the tree under `root` (root included), in KiB,
// read from /proc (children lists of every thread, so a child started by any thread counts).
long largest_rss_kib(pid_t root) {
    long largest = 0;
    const long page_kib = ::sysconf(_SC_PAGESIZE) / 1024;
    std::vector<pid_t> todo{root};
    for (std::size_t i = 0; i < todo.size() && i < 4096; ++i) {
        const fs::path proc = "/proc/" + std::to_string(todo[i]);
        std::ifstream statm(proc / "statm");
        long size = 0, resident = 0;
        if (statm >> size >> resident) largest = std::max(largest, resident * page_kib);
        // Processes end while they are read: every step takes an error code, none throws.
        std::error_code ec;
        for (fs::directory_iterator it(proc / "task", ec), end; !ec && it != end;
             it.increment(ec)) {
            std::ifstream children(it->path() / "children");
            for (pid_t child = 0; children >> child;)
                todo.push_back(child);
        }
    }
    return largest;
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
}

std::string url_of(const run_request& r) {
    return std::string(r.tls == client_tls::implicit ? "pop3s" : "pop3") + "://" + r.user + ":" +
           r.password + "@" + r.host + ":" + std::to_string(r.port);
}

// The contract's values, by placeholder name (docs/client-conformance.md).
std::vector<std::pair<std::string, std::string>> contract_values(const run_request& r) {
    return {{"host", r.host},
            {"port", std::to_string(r.port)},
            {"user", r.user},
            {"pass", r.password},
            {"ca", r.ca_file.string()},
            {"task", std::string(to_string(r.task))},
            {"message", std::to_string(fetch_one_message)},
            {"login", r.login},
            {"tls", std::string(to_string(r.tls))},
            {"out", r.out_dir.string()},
            {"state", r.state_dir.string()},
            {"url", url_of(r)},
            {"timeout", std::to_string(r.client_timeout.count())}};
}

void write_file(const fs::path& file, std::string_view bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

struct library_result {
    int status = 0;      // the adapter's exit status: 0 done, 1 failed
    std::string message; // why it failed
};

client_options library_options(const run_request& r) {
    client_options o;
    o.host = r.host;
    o.port = r.port;
    o.connect_timeout = o.operation_timeout = r.client_timeout;
    // A mail fetcher's message size limit: a server's endless body is refused at it.
    o.max_buffered_body = library_max_message;
    o.tls = r.tls == client_tls::implicit   ? tls_mode::implicit
            : r.tls == client_tls::starttls ? tls_mode::starttls
                                            : tls_mode::none;
    o.tls_settings.ca_file = r.ca_file.string();
    return o;
}

credentials library_credentials(const run_request& r) {
    credentials who{r.user, r.password};
    if (r.login == "apop") {
        who.method = login_method::apop;
    } else if (r.login.starts_with("sasl:")) {
        who.method = login_method::sasl;
        who.mechanism = *parse_sasl_mechanism(std::string_view(r.login).substr(5));
    }
    return who;
}

// The task through the synchronous pop3::client.
class sync_library_session {
public:
    explicit sync_library_session(const run_request& r) : c_(library_options(r)) {}
    sync_library_session(const run_request& r, std::unique_ptr<client_transport> transport)
        : c_(library_options(r), std::move(transport)) {}
    void login(const credentials& who) {
        if (who.method == login_method::apop)
            c_.apop(who.user, who.secret);
        else if (who.method == login_method::sasl)
            c_.auth(who.mechanism, who.user, who.secret);
        else {
            c_.user(who.user);
            c_.pass_(who.secret);
        }
    }
    stat_reply stat() { return c_.stat(); }
    listing_result list() { return c_.list(); }
    uidl_result uidl() { return c_.uidl(); }
    message_result retr(message_number n) { return c_.retr(n); }
    void dele(message_number n) { c_.dele(n); }
    void quit() { c_.quit(); }

private:
    client c_;
};

// The task through pop3::async_client: every step an asynchronous operation completed on this
// thread's io_context, its error_code and diagnostics turned into the exception the task reports.
class async_library_session {
    // Starts one operation with a future as its completion token and runs the io_context until
    // it completed (defined before its callers: its return type is deduced).
    template <class Start>
    auto run(Start start) {
        auto done = start(boost::asio::use_future);
        io_.restart();
        io_.run();
        try {
            return done.get();
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error(c_.diag().message.empty() ? e.what() : c_.diag().message);
        }
    }

public:
    explicit async_library_session(const run_request& r)
        : c_(io_.get_executor(), library_options(r)) {
        run([&](auto token) { return c_.async_connect(token); });
    }
    void login(const credentials& who) {
        run([&](auto token) { return c_.async_login(who, token); });
    }
    stat_reply stat() {
        return run([&](auto token) { return c_.async_stat(token); });
    }
    listing_result list() {
        return run([&](auto token) { return c_.async_list(token); });
    }
    uidl_result uidl() {
        return run([&](auto token) { return c_.async_uidl(token); });
    }
    message_result retr(message_number n) {
        return run([&](auto token) { return c_.async_retr(n, token); });
    }
    void dele(message_number n) {
        run([&](auto token) { return c_.async_dele(n, token); });
    }
    void quit() {
        run([&](auto token) { return c_.async_quit(token); });
    }

private:
    boost::asio::io_context io_{1};
    async_client c_;
};

#if POP3_PLANTED_BUGS
// The bug bench (docs/fuzzing.md, "pop3-fuzz client"): client bugs planted on purpose for the
// client fuzzer to find, compiled only into test builds (POP3_PLANTED_BUGS) and chosen at run
// time by POP3KIT_PLANTED_BUG=NAME, which library_adapter_main reads. Each bug is here, alone:
//   octet-count-crash        abort() when a STAT, LIST or RETR octet count is above 2^63
//   truncated-delivery       a message that LIST announced as over 64 KiB is delivered without
//                            its last line (reached by a listing with a larger size, or an
//                            octet_delta on LIST: the message itself stays intact)
//   stls-plaintext-accepted  the session keeps plaintext sent after the STLS +OK and reads it
//                            as replies inside TLS (client/src/session.cpp)
struct planted_bugs {
    bool octet_count_crash = false;
    bool truncated_delivery = false;
};
planted_bugs planted; // set once, by library_adapter_main

void plant_bugs_from_environment() {
    const char* name = std::getenv("POP3KIT_PLANTED_BUG");
    const std::string_view bug = name ? name : "";
    planted.octet_count_crash = bug == "octet-count-crash";
    planted.truncated_delivery = bug == "truncated-delivery";
    sansio::plant_stls_plaintext_bug(bug == "stls-plaintext-accepted");
}

void planted_octet_count(std::uint64_t octets) {
    if (planted.octet_count_crash && octets > (std::uint64_t{1} << 63)) std::abort();
}

// RETR's "+OK n octets", when it says n.
void planted_retr_count(const std::string& response) {
    const auto space = response.find(' ');
    if (space == std::string::npos) return;
    const auto rest = response.substr(space + 1);
    if (const auto n = parse_decimal(rest.substr(0, rest.find(' ')))) planted_octet_count(*n);
}

void planted_truncation(std::string& content, std::uint64_t announced) {
    if (!planted.truncated_delivery || announced <= 64 * 1024 || content.size() < 2) return;
    const auto last = content.rfind('\n', content.size() - 2);
    content.resize(last == std::string::npos ? 0 : last + 1);
}
#else
void plant_bugs_from_environment() {}
void planted_octet_count(std::uint64_t) {}
void planted_retr_count(const std::string&) {}
void planted_truncation(std::string&, std::uint64_t) {}
#endif

// pop3kit's client library doing the task: 0 done, 1 failed (with the reason).
template <class Session, class... Transport>
library_result library_task(const run_request& r, Transport&&... transport) {
    try {
        Session c(r, std::forward<Transport>(transport)...);
        c.login(library_credentials(r));
        // `announced`: the size LIST gave (0: not asked).
        const auto save = [&](std::uint64_t n, std::uint64_t announced) {
            auto m = c.retr(n);
            planted_retr_count(m.response);
            planted_truncation(m.content, announced);
            write_file(r.out_dir / ("message-" + std::to_string(n)), m.content);
        };
        switch (r.task) {
        case client_task::status: planted_octet_count(c.stat().octets); break;
        case client_task::fetch_one: save(fetch_one_message, 0); break;
        case client_task::fetch_all:
        case client_task::delete_after_fetch:
            for (const auto& e : c.list().entries) {
                planted_octet_count(e.octets);
                save(e.message, e.octets);
                if (r.task == client_task::delete_after_fetch) c.dele(e.message);
            }
            break;
        case client_task::fetch_new: {
            const fs::path seen_file = r.state_dir / "seen-uids";
            std::set<std::string> seen;
            std::ifstream in(seen_file);
            for (std::string uid; std::getline(in, uid);)
                seen.insert(uid);
            std::vector<std::string> now;
            for (const auto& e : c.uidl().entries) {
                if (!seen.count(e.uid)) save(e.message, 0);
                now.push_back(e.uid);
            }
            c.quit();
            std::string text;
            for (const auto& uid : now)
                text += uid + "\n";
            write_file(seen_file, text);
            return {0, {}};
        }
        }
        c.quit();
        return {0, {}};
    } catch (const std::exception& e) {
        return {1, std::string("pop3kit client: ") + e.what()};
    }
}

// The logins the library does; the contract's other values the adapter declines (125).
bool library_login_known(const std::string& login) {
    return login == "any" || login == "user" || login == "apop" ||
           (login.starts_with("sasl:") && parse_sasl_mechanism(std::string_view(login).substr(5)));
}

std::optional<std::string> environment(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
}

} // namespace

std::string client_program::name() const {
    return title.empty() ? "pop3-conformance client: " + command : title;
}

int library_adapter_main(library_api api) {
    run_request r;
    const auto need = [](const char* name) {
        auto v = environment(name);
        if (!v) throw std::invalid_argument(std::string(name) + " is not set");
        return *v;
    };
    try {
        r.host = need("POP3KIT_HOST");
        const auto port = parse_decimal(need("POP3KIT_PORT"));
        if (!port || *port > 65535) throw std::invalid_argument("POP3KIT_PORT is no port");
        r.port = static_cast<std::uint16_t>(*port);
        r.user = need("POP3KIT_USER");
        r.password = need("POP3KIT_PASS");
        r.ca_file = need("POP3KIT_CA");
        r.login = need("POP3KIT_LOGIN");
        r.out_dir = need("POP3KIT_OUT");
        r.state_dir = need("POP3KIT_STATE");
        const auto task_name = need("POP3KIT_TASK");
        const auto tls_name = need("POP3KIT_TLS");
        const auto timeout = parse_decimal(environment("POP3KIT_TIMEOUT").value_or("5"));
        if (!timeout || *timeout == 0 || *timeout > 3600)
            throw std::invalid_argument("POP3KIT_TIMEOUT is no number of seconds");
        r.client_timeout = std::chrono::seconds(*timeout);
        const auto task = parse_client_task(task_name);
        const auto tls = parse_client_tls(tls_name);
        if (!task || !tls || !library_login_known(r.login)) return exit_unsupported;
        r.task = *task;
        r.tls = *tls;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr,
                     "pop3-conformance library-client: %s (run it as an adapter: "
                     "docs/client-conformance.md)\n",
                     e.what());
        return 2;
    }
    plant_bugs_from_environment();
    const auto done = api == library_api::async ? library_task<async_library_session>(r)
                                                : library_task<sync_library_session>(r);
    if (!done.message.empty()) {
        const std::string line = done.message + "\n";
        [[maybe_unused]] const auto n = ::write(2, line.data(), line.size());
    }
    return done.status;
}

process_result run_library_in_memory(const run_request& request, const mock::server_config& config,
                                     mock::connection_observer& observer, bool hold_reply_end) {
    process_result res;
    res.started = true;
    if (!library_login_known(request.login)) {
        res.unsupported = true;
        res.exit_code = exit_unsupported;
        return res;
    }
    const auto started = std::chrono::steady_clock::now();
    auto link = std::make_shared<memory_link>();
    // The server waits for the client at most this long at a time; the client's own timeout
    // ends it first.
    const auto wait_limit = std::chrono::milliseconds(request.client_timeout) * 2;
    std::thread server(
        [&] { serve_in_memory(config, *link, observer, hold_reply_end, wait_limit); });
    // Whatever the task does, the link closes and the server thread is joined.
    struct joined {
        memory_link& link;
        std::thread& thread;
        ~joined() {
            link.close();
            thread.join();
        }
    };
    library_result done;
    {
        const joined guard{*link, server};
        done = library_task<sync_library_session>(request, link->client_end());
    }
    res.exit_code = done.status;
    res.output = done.message;
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
}

process_result run_client_program(const client_program& program, const run_request& request,
                                  std::chrono::milliseconds deadline, long max_memory_kib,
                                  const std::function<bool()>& over_output) {
    process_result res;
    std::string command = program.command;
    for (const auto& [name, value] : contract_values(request))
        replace_all(command, "{" + name + "}", value);
    // stdout and stderr go to a file, read back for the evidence.
    const fs::path log =
        request.out_dir.parent_path() / (request.out_dir.filename().string() + ".log");
    // posix_spawn, not fork: the child shares nothing of the runner's memory before exec, so
    // wait4's peak memory is the client's own (a forked child's would include the runner's),
    // and no runner thread's lock can be held in it.
    // The runner's environment (POP3KIT_CLIENT and the like included), with the contract's
    // variables set.
    std::vector<std::string> contract;
    for (const auto& [name, value] : contract_values(request)) {
        std::string var = "POP3KIT_";
        for (char ch : name)
            var += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
        contract.push_back(var + "=" + value);
    }
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        const std::string_view var(*e);
        const auto name = var.substr(0, var.find('=') + 1);
        if (std::none_of(contract.begin(), contract.end(),
                         [&](const std::string& c) { return c.starts_with(name); }))
            env_strings.emplace_back(var);
    }
    env_strings.insert(env_strings.end(), contract.begin(), contract.end());
    std::vector<char*> envp;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "sh", dash_c = "-c";
    char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_init(&attr);
    // Its own process group: the deadline kills the client, not only the shell.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    const auto started = std::chrono::steady_clock::now();
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (spawned != 0) {
        res.output = "cannot start /bin/sh: " + std::string(std::strerror(spawned));
        return res;
    }
    res.started = true;
    int status = 0;
    rusage usage{};
    auto next_look = started + watch_interval;
    long watched_kib = 0;
    while (true) {
        const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) break;
        const auto now = std::chrono::steady_clock::now();
        bool over_memory = false, over_disk = false;
        if (now >= next_look) {
            next_look = now + watch_interval;
            try {
                if (max_memory_kib > 0) {
                    watched_kib = std::max(watched_kib, largest_rss_kib(pid));
                    over_memory = watched_kib > max_memory_kib;
                }
                over_disk = over_output && over_output();
            } catch (const std::exception&) {
                // A look that failed says nothing; the deadline still bounds the run.
            }
        }
        if (over_memory || over_disk || now - started > deadline) {
            ::kill(-pid, SIGKILL);
            ::wait4(pid, &status, 0, &usage);
            (over_memory ? res.memory_killed : over_disk ? res.output_killed : res.killed) = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(-pid, SIGKILL); // whatever the adapter left running in its group
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // A spawned child starts with its parent's peak (Linux carries the old memory's high-water
    // mark across exec), so a figure not above the runner's own peak says nothing of the
    // client: 0, not judged.
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    res.max_rss_kib = usage.ru_maxrss > self.ru_maxrss ? usage.ru_maxrss : 0;
    res.max_rss_kib = std::max(res.max_rss_kib, watched_kib);
    if (!res.killed && !res.memory_killed && !res.output_killed) {
        if (WIFEXITED(status)) {
            res.exit_code = WEXITSTATUS(status);
            if (res.exit_code > 128 && res.exit_code < 128 + 65) res.signal = res.exit_code - 128;
            res.unsupported = res.exit_code == exit_unsupported;
        } else if (WIFSIGNALED(status)) {
            res.signal = WTERMSIG(status);
        }
    }
    std::ifstream in(log, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    res.output = text.size() > max_output_tail ? text.substr(text.size() - max_output_tail) : text;
    return res;
}

} // namespace pop3::conformance
