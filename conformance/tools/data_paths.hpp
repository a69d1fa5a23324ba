// Where pop3-conformance and pop3-fuzz find their data (transcripts, client cases, scenarios)
// when the command line does not say: one lookup for the build tree, an installed package and a
// relocated one.
#pragma once

#include <filesystem>

namespace pop3::conformance_tool {

struct data_paths {
    std::filesystem::path transcripts;  // default of --transcripts
    std::filesystem::path client_cases; // default of --cases
    std::filesystem::path scenarios;    // the embedded server's scenario files
};

// In order: $POP3KIT_DATA_DIR (DIR/transcripts, DIR/client-cases, DIR/scenarios); else the
// installed layout relative to this program, PROGRAM_DIR/../share/pop3kit (an install under
// /usr, or a package unpacked anywhere with dpkg -x), when it holds a transcripts folder; else
// the source tree this program was built from.
data_paths find_data_paths();

} // namespace pop3::conformance_tool
