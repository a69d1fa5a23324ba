// pop3-fuzz's reports: --json (the figures, the stats over time, the findings) and --html (one
// self-contained page: the figures, the findings, and the stats over time as inline SVG charts
// drawn with pop3-load's chart writer).
#pragma once

#include <pop3/fuzzer/campaign.hpp>
#include <pop3/fuzzer/client_campaign.hpp>
#include <string>

namespace pop3::fuzz_tool {

struct run_info {
    std::string direction = "server";
    std::string target;  // shown: the URL without its password
    std::string options; // the command line's options, shown
    unsigned jobs = 1;
};

std::string format_json(const run_info& run, const fuzzer::campaign_result& r);
std::string format_html(const run_info& run, const fuzzer::campaign_result& r);
// pop3-fuzz client --json: the figures and the findings (`target` is the client's command).
std::string format_client_json(const run_info& run, const fuzzer::client_campaign_result& r);

} // namespace pop3::fuzz_tool
