#include "pop3/fuzzer/feedback.hpp"

namespace pop3::fuzzer {

std::size_t transition_set::add(const std::vector<transition>& ts) {
    std::size_t fresh = 0;
    for (const auto& t : ts)
        fresh += seen_.insert(t.key()).second;
    return fresh;
}

} // namespace pop3::fuzzer
