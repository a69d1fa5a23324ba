// A process and its descendants, as /proc shows them: what the client runner and pop3-fuzz
// --launch watch of a program they started (its memory, its open descriptors).
#pragma once

#include <cstddef>
#include <sys/types.h>
#include <vector>

namespace pop3::conformance {

// `root` and every process below it (children lists of every thread, so a child started by
// any thread counts), at most 4,096. Processes end while they are read: none of this throws.
std::vector<pid_t> process_tree(pid_t root);

// The resident size of the largest process of the tree, in KiB.
long largest_rss_kib(pid_t root);

// Resident KiB and open descriptors, summed over the tree.
struct tree_usage {
    long rss_kib = 0;
    std::size_t fds = 0;
};
tree_usage tree_usage_of(pid_t root);

// Whether a process of the tree runs AddressSanitizer, whose quarantine and allocator caches
// grow a process's memory whatever it does: its runtime is mapped as a library (GCC's libasan,
// clang's shared runtime) or linked into the executable (clang's default), which then holds the
// symbol __asan_init. False when it cannot tell.
bool runs_address_sanitizer(pid_t root);

} // namespace pop3::conformance
