// A log that never blocks the threads that write to it: lines go into a bounded queue that one
// thread writes to a file descriptor, each line in one write(2), whole. When the reader is too
// slow (stderr is a pipe nobody reads), lines past the bound are dropped and counted, and the
// count is logged once the writer catches up. Serving must never wait for a log reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace pop3::mock {

class line_log {
public:
    // Lines longer than this are cut (a pipe takes up to PIPE_BUF octets in one atomic write).
    static constexpr std::size_t max_line = 4000;

    explicit line_log(int fd, std::size_t max_queued_lines = 4096);
    // Writes what is queued; gives up after two seconds in which the reader took nothing.
    ~line_log();
    line_log(const line_log&) = delete;
    line_log& operator=(const line_log&) = delete;

    // Thread-safe; never waits for the file descriptor. A newline is added.
    void write(std::string_view line);
    // Lines dropped so far because the queue was full.
    std::uint64_t dropped() const;

private:
    struct state;
    std::shared_ptr<state> state_; // shared with the writer thread, which may outlive us
};

} // namespace pop3::mock
