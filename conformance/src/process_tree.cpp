#include "pop3/conformance/process_tree.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace pop3::conformance {
namespace {

namespace fs = std::filesystem;

fs::path proc_of(pid_t pid) {
    return "/proc/" + std::to_string(pid);
}

long resident_kib(pid_t pid) {
    static const long page_kib = ::sysconf(_SC_PAGESIZE) / 1024;
    std::ifstream statm(proc_of(pid) / "statm");
    long size = 0, resident = 0;
    return statm >> size >> resident ? resident * page_kib : 0;
}

// Whether the file holds `needle`, read in chunks that overlap by its length (a runtime
// linked in is in the executable's symbol table; an executable is read at most once per look).
bool file_contains(const fs::path& file, std::string_view needle) {
    std::ifstream in(file, std::ios::binary);
    std::string buf(1u << 20, '\0');
    std::size_t kept = 0;
    while (in) {
        in.read(buf.data() + kept, static_cast<std::streamsize>(buf.size() - kept));
        const auto have = kept + static_cast<std::size_t>(in.gcount());
        if (std::string_view(buf.data(), have).find(needle) != std::string_view::npos) return true;
        kept = std::min(have, needle.size() - 1);
        std::copy(buf.data() + have - kept, buf.data() + have, buf.data());
    }
    return false;
}

bool maps_asan_runtime(pid_t pid) {
    std::ifstream maps(proc_of(pid) / "maps");
    for (std::string line; std::getline(maps, line);)
        if (line.find("/libasan.so") != std::string::npos ||
            line.find("libclang_rt.asan") != std::string::npos)
            return true;
    return false;
}

} // namespace

std::vector<pid_t> process_tree(pid_t root) {
    std::vector<pid_t> todo{root};
    for (std::size_t i = 0; i < todo.size() && todo.size() < 4096; ++i) {
        std::error_code ec;
        for (fs::directory_iterator it(proc_of(todo[i]) / "task", ec), end; !ec && it != end;
             it.increment(ec)) {
            std::ifstream children(it->path() / "children");
            for (pid_t child = 0; children >> child;)
                todo.push_back(child);
        }
    }
    return todo;
}

long largest_rss_kib(pid_t root) {
    long largest = 0;
    for (auto pid : process_tree(root))
        largest = std::max(largest, resident_kib(pid));
    return largest;
}

tree_usage tree_usage_of(pid_t root) {
    tree_usage u;
    for (auto pid : process_tree(root)) {
        u.rss_kib += resident_kib(pid);
        std::error_code ec;
        for (fs::directory_iterator it(proc_of(pid) / "fd", ec), end; !ec && it != end;
             it.increment(ec))
            ++u.fds;
    }
    return u;
}

bool runs_address_sanitizer(pid_t root) {
    for (auto pid : process_tree(root)) {
        if (maps_asan_runtime(pid)) return true;
        if (file_contains(proc_of(pid) / "exe", "__asan_init")) return true;
    }
    return false;
}

} // namespace pop3::conformance
