#include "pop3/fuzzer/minimiser.hpp"

namespace pop3::fuzzer {

session_input minimise(const session_input& in, const finding&,
                       const std::function<bool(const session_input&)>& reproduces,
                       std::size_t max_runs, std::chrono::milliseconds budget) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    const auto more = [&](std::size_t runs) {
        return runs < max_runs && std::chrono::steady_clock::now() < deadline;
    };
    session_input best = in;
    std::size_t runs = 0;
    std::size_t chunk = best.commands.size() / 2;
    if (chunk == 0) chunk = 1;
    while (more(runs) && !best.commands.empty()) {
        bool removed = false;
        for (std::size_t start = 0; start < best.commands.size() && more(runs);) {
            session_input candidate = best;
            const auto first = candidate.commands.begin() + static_cast<std::ptrdiff_t>(start);
            const auto count = std::min(chunk, candidate.commands.size() - start);
            candidate.commands.erase(first, first + static_cast<std::ptrdiff_t>(count));
            if (candidate.commands.empty()) {
                start += count;
                continue;
            }
            candidate.commands.front().same_write = false;
            ++runs;
            if (reproduces(candidate)) {
                best = std::move(candidate);
                removed = true;
            } else {
                start += count;
            }
        }
        if (chunk == 1 && !removed) break;
        if (!removed) chunk = std::max<std::size_t>(1, chunk / 2);
    }

    // Then over bytes: each line's arguments cut to the shortest prefix that still shows it
    // (a binary search: a length bug shows at every length from its bound up), keyword and
    // terminator kept.
    for (auto& cmd : best.commands) {
        auto& bytes = cmd.bytes;
        std::size_t end = bytes.size();
        while (end > 0 && (bytes[end - 1] == '\r' || bytes[end - 1] == '\n'))
            --end;
        const auto space = bytes.find(' ');
        if (space == std::string::npos || space >= end || end - space < 16) continue;
        const std::string eol = bytes.substr(end);
        std::size_t lo = space + 1, hi = end; // the prefix of length hi shows it
        while (lo < hi && more(runs)) {
            const auto mid = lo + (hi - lo) / 2;
            const auto keep = bytes;
            bytes = keep.substr(0, mid) + eol;
            ++runs;
            const bool shows = reproduces(best);
            bytes = keep;
            if (shows)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (hi < end) bytes = bytes.substr(0, hi) + eol;
    }
    return best;
}

} // namespace pop3::fuzzer
