// pop3-fuzz client: the client direction's command line (client_mode.cpp), called by pop3-fuzz's
// main for `pop3-fuzz client ...`.
#pragma once

namespace pop3::fuzz_tool {

// The client direction's part of --help.
extern const char* const client_usage;

} // namespace pop3::fuzz_tool

// argv[0] is "client"; the options follow. Returns the exit code: 0 nothing found, 1 found,
// 2 a bad command line.
int pop3_fuzz_client_main(int argc, char** argv);
