// The fuzzing loop: runs the seeds, then mutated corpus inputs until the time or session budget
// is spent; keeps inputs that show new transitions; minimises each new finding and writes its
// reproducer.
#pragma once

#include "pop3/fuzzer/executor.hpp"
#include "pop3/fuzzer/reproducer.hpp"
#include "pop3/fuzzer/session_input.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pop3::fuzzer {

struct campaign_stats {
    std::size_t sessions = 0; // fuzzing sessions (seeds included, minimisation runs not)
    double seconds = 0;
    std::size_t corpus = 0;
    std::size_t transitions = 0;
    std::size_t findings = 0;
    std::size_t restarts = 0; // of a launched target, after it died
    std::size_t imported = 0; // corpus inputs other jobs wrote, run by this one
    // Sessions with lines pipelined behind an accepted STLS: checked for STARTTLS injection,
    // or left unchecked once those checks' waits had taken a tenth of the campaign's time.
    std::size_t injection_checked = 0;
    std::size_t injection_skipped = 0;
};

// The stats at one moment, for the report's charts (about every second, at most 1,024 kept:
// when full, every other one is dropped and the interval doubles).
struct campaign_sample {
    double seconds = 0;
    std::size_t sessions = 0, corpus = 0, transitions = 0, findings = 0;
};

struct campaign_options {
    std::uint64_t seed = 1;
    std::chrono::milliseconds duration{60000};
    std::optional<std::size_t> max_sessions; // stop after this many sessions too
    std::optional<std::size_t> max_findings; // and after this many findings
    std::size_t max_corpus = 1024;
    std::size_t minimise_runs = 200; // per finding
    std::chrono::milliseconds minimise_budget{60000};
    // After a session whose connection failed or ended unanswered, how long a new connection
    // may take to be greeted before the target counts as crashed. Its own bound, not the hang
    // timeout: a crashed target refuses at once, so only a slow one ever waits this long.
    std::chrono::milliseconds canary_timeout{15000};
    // With a launched target: how far its process tree's resident memory and open descriptors
    // may grow over their level after start-up, looked at every resource_interval. An input
    // is taken as the cause when running it `growth_runs` times (after a warm-up) grows them by
    // more than a 64th of the bound (at least 1 MiB) or 8 descriptors. A memory bound of 0:
    // memory is not judged (an ASan-built target's quarantine grows it whatever it does).
    long max_rss_growth_kib = 256 * 1024;
    std::size_t max_fd_growth = 256;
    std::chrono::milliseconds resource_interval{1000};
    std::size_t growth_runs = 256;
    exec_options exec;
    input_limits limits;
    reproducer_info info; // credentials, target label, seed
    // New corpus inputs are written here; every sync_interval, inputs other jobs wrote there
    // (--jobs, or another machine syncing the folder) are read, run and kept when new.
    std::optional<std::filesystem::path> corpus_dir;
    std::chrono::milliseconds sync_interval{10000};
    // Asked before a new finding is settled (with --jobs, by all jobs): false when another job
    // has it already.
    std::function<bool(const std::string& key)> claim_finding;
    std::optional<std::filesystem::path> findings_dir; // reproducers are written here
    std::chrono::milliseconds status_interval{5000};
    std::function<void(const campaign_stats&)> on_status; // every status_interval
    std::function<void(const std::string&)> on_finding;   // a line per new finding
};

struct reported_finding {
    finding what;
    session_input minimal;
    std::string transcript;     // the reproducer's text
    std::filesystem::path file; // where it was written (empty when not)
    double seconds = 0;         // into the campaign when it was first seen
    std::size_t session = 0;    // the session that showed it first
};

struct campaign_result {
    campaign_stats stats;
    bool pipelining = false; // the target advertised PIPELINING (pipelined hangs are judged)
    std::vector<campaign_sample> history;
    std::vector<reported_finding> findings;
};

campaign_result run_campaign(const std::vector<session_input>& seeds, const target& t,
                             const campaign_options& o);

// A file name's stem for an input: 16 hex digits of its FNV-1a hash.
std::string input_name(const session_input& in);

} // namespace pop3::fuzzer
