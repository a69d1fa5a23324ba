// See data_paths.hpp. The compile definitions come from conformance/CMakeLists.txt.
#include "data_paths.hpp"

#include <cstdlib>
#include <system_error>

namespace pop3::conformance_tool {

namespace fs = std::filesystem;

namespace {

data_paths under(const fs::path& dir) {
    return {dir / "transcripts", dir / "client-cases", dir / "scenarios"};
}

} // namespace

data_paths find_data_paths() {
    if (const char* env = std::getenv("POP3KIT_DATA_DIR"); env != nullptr && *env != '\0')
        return under(env);
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto installed = (self.parent_path() / POP3_BIN_TO_DATA).lexically_normal();
        if (fs::is_directory(installed / "transcripts", ec)) return under(installed);
    }
    return {POP3_DEFAULT_TRANSCRIPTS, POP3_DEFAULT_CLIENT_CASES, POP3_SCENARIOS_DIR};
}

} // namespace pop3::conformance_tool
