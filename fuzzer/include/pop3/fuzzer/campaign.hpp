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
};

struct campaign_options {
    std::uint64_t seed = 1;
    std::chrono::milliseconds duration{60000};
    std::optional<std::size_t> max_sessions; // stop after this many sessions too
    std::size_t max_corpus = 1024;
    std::size_t minimise_runs = 200; // per finding
    std::chrono::milliseconds minimise_budget{60000};
    // After a session whose connection failed or ended unanswered, how long a new connection
    // may take to be greeted before the target counts as crashed. Its own bound, not the hang
    // timeout: a crashed target refuses at once, so only a slow one ever waits this long.
    std::chrono::milliseconds canary_timeout{15000};
    exec_options exec;
    input_limits limits;
    reproducer_info info;                              // credentials, target label, seed
    std::optional<std::filesystem::path> corpus_dir;   // new corpus inputs are written here
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
};

struct campaign_result {
    campaign_stats stats;
    std::vector<reported_finding> findings;
};

campaign_result run_campaign(const std::vector<session_input>& seeds, const target& t,
                             const campaign_options& o);

// A file name's stem for an input: 16 hex digits of its FNV-1a hash.
std::string input_name(const session_input& in);

} // namespace pop3::fuzzer
