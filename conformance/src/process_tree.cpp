#include "pop3/conformance/process_tree.hpp"

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

} // namespace pop3::conformance
