// The embedded server's set-up for a case: pop3kit's mock server with user "user"/"pass", the
// maildrop the case names, and its scenario.
#pragma once

#include "pop3/conformance/transcript.hpp"

#include <filesystem>
#include <pop3/mockserver/config.hpp>

namespace pop3::conformance {

// default, empty, dots, long-line:OCTETS or generate:COUNT:SIZE (docs/transcripts.md).
std::shared_ptr<mock::maildrop> embedded_maildrop(const std::string& spec);
// Its messages, in order: what the embedded server serves for the maildrop, and what the
// fixtures written for other servers hold (fixtures.hpp).
std::vector<mock::message_ptr> embedded_messages(const std::string& spec);
// Throws mock::scenario_error when the case's scenario file is bad or missing.
mock::server_config embedded_config(const test_case& tc,
                                    const std::filesystem::path& scenarios_dir);

} // namespace pop3::conformance
