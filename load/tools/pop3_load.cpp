// pop3-load: a POP3 load generator. N connections run sessions made of a command mix for S
// seconds; the report gives rates, latency percentiles per command and errors by kind. See
// --help and docs/load.md; the command line is a contract (issue 8).
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <pop3/load/load.hpp>
#include <pop3/protocol/program_output.hpp>
#include <pop3/version.hpp>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace {

std::atomic<int> interrupts{0};

extern "C" void on_signal(int) {
    interrupts.fetch_add(1);
}

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

// Each connection is a descriptor: raise the soft limit to the hard one.
void raise_fd_limit(unsigned connections) {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur != RLIM_INFINITY && connections + 32 > r.rlim_cur)
        std::fprintf(stderr, "pop3-load: warning: %u connections but only %llu descriptors\n",
                     connections, static_cast<unsigned long long>(r.rlim_cur));
}

} // namespace

int main(int argc, char** argv) {
    using namespace pop3::load;
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && args[0] == "--version") {
        std::printf("pop3-load %s\n", pop3::version);
        return pop3::exit_code_after_stdout("pop3-load", 0);
    }
    parsed_args parsed;
    try {
        parsed = parse_args(args);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "pop3-load: %s\n(pop3-load --help for usage)\n", e.what());
        return 2;
    }
    if (parsed.help) {
        std::fputs(usage_text, stdout);
        return pop3::exit_code_after_stdout("pop3-load", 0);
    }
    const options& opt = parsed.opt;
    install_signals();
    raise_fd_limit(opt.connections);

    const bool tty = ::isatty(STDERR_FILENO) == 1;
    bool progress_shown = false;
    auto show = [&](const progress& p) {
        if (opt.quiet) return;
        std::fprintf(stderr, "%s%7.1f s  sessions %llu  commands %llu  errors %llu%s",
                     tty ? "\r" : "", p.elapsed, static_cast<unsigned long long>(p.sessions),
                     static_cast<unsigned long long>(p.commands),
                     static_cast<unsigned long long>(p.errors), tty ? "   " : "\n");
        std::fflush(stderr);
        progress_shown = true;
    };

    results r;
    try {
        r = run(opt, interrupts, show);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "pop3-load: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-load: %s\n", e.what());
        return 2;
    }
    if (progress_shown && tty) std::fputs("\n", stderr);

    int code = exit_code(r);
    if (opt.json_file == "-")
        std::fputs(format_json(opt, r).c_str(), stdout);
    else if (opt.html_file == "-")
        std::fputs(format_html(opt, r).c_str(), stdout);
    else
        std::fputs(format_report(opt, r).c_str(), stdout);
    // The files: one that cannot be written fails the run (exit 1), after the others.
    auto write = [&](const std::string& file, const std::string& text) {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            std::fprintf(stderr, "pop3-load: cannot write %s\n", file.c_str());
            code = 1;
        }
    };
    if (!opt.json_file.empty() && opt.json_file != "-") write(opt.json_file, format_json(opt, r));
    if (!opt.html_file.empty() && opt.html_file != "-") write(opt.html_file, format_html(opt, r));
    // The report is the run's result: one that cannot be written (> /dev/full) fails it.
    return pop3::exit_code_after_stdout("pop3-load", code);
}
