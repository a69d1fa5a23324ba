// A scratch folder for one test, made fresh and removed at its end, with helpers to write and
// read files in it. The one copy for every test (each used to have its own).
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace pop3::test {

// The whole file, as bytes ("" when it cannot be read).
inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

// Writes `content` to `p`, making its folders as needed.
inline void write_file(const std::filesystem::path& p, std::string_view content) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

struct temp_dir {
    std::filesystem::path path;

    temp_dir() {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("pop3kit-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    // Writes `content` to `relative` (folders made as needed); returns the file's path.
    std::filesystem::path write(const std::string& relative, std::string_view content) const {
        const auto p = path / relative;
        write_file(p, content);
        return p;
    }
    std::string read(const std::string& relative) const { return read_text(path / relative); }
};

} // namespace pop3::test
