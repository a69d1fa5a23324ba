// Writes a finding as a conformance transcript (docs/transcripts.md) that
// `pop3-conformance server --transcripts DIR --target URL` replays: it fails on the target that
// showed the finding and passes on a server that answers as the RFCs require.
#pragma once

#include "pop3/fuzzer/executor.hpp"
#include "pop3/fuzzer/oracle.hpp"
#include "pop3/fuzzer/session_input.hpp"

#include <string>

namespace pop3::fuzzer {

struct reproducer_info {
    credentials creds;  // USER/PASS lines with these become {user} / {pass}
    std::string target; // for the comment: the URL without its password
    std::uint64_t seed = 0;
    std::size_t session = 0; // the session that found it
};

// The transcript text of one case, id "fuzz/KIND/KEYWORD", from the session's exchanges up to
// and including the one that showed the finding.
std::string reproducer_text(const finding& f, const session_result& r, const reproducer_info& info);

} // namespace pop3::fuzzer
