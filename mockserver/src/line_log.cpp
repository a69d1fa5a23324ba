#include "pop3/mockserver/line_log.hpp"

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace pop3::mock {

struct line_log::state {
    int fd;
    std::size_t max_queued;
    std::mutex mutex;
    std::condition_variable wake, done_cv;
    std::deque<std::string> queue;
    std::uint64_t dropped = 0, dropped_reported = 0;
    bool stopping = false, done = false;

    // Writes all of `text`, waiting for the reader in short polls; false when the reader is
    // gone or, while stopping, took nothing for `patience`.
    bool write_all(std::string_view text) {
        constexpr auto patience = std::chrono::seconds(2);
        auto last_progress = std::chrono::steady_clock::now();
        while (!text.empty()) {
            pollfd p{fd, POLLOUT, 0};
            const int ready = ::poll(&p, 1, 100);
            if (ready < 0 && errno != EINTR) return false;
            if (ready > 0) {
                if (p.revents & (POLLERR | POLLNVAL)) return false;
                const auto n = ::write(fd, text.data(), text.size());
                if (n < 0 && errno != EINTR && errno != EAGAIN) return false;
                if (n > 0) {
                    text.remove_prefix(static_cast<std::size_t>(n));
                    last_progress = std::chrono::steady_clock::now();
                }
            }
            std::lock_guard g(mutex);
            if (stopping && std::chrono::steady_clock::now() - last_progress > patience)
                return false;
        }
        return true;
    }

    void run() {
        std::unique_lock lock(mutex);
        while (true) {
            wake.wait(lock, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) break; // stopping, all written
            std::string line;
            if (dropped != dropped_reported) {
                line = "(" + std::to_string(dropped - dropped_reported) +
                       " log lines dropped: the log reader was too slow)\n";
                dropped_reported = dropped;
            } else {
                line = std::move(queue.front());
                queue.pop_front();
            }
            lock.unlock();
            const bool ok = write_all(line);
            lock.lock();
            if (!ok) break;
        }
        done = true;
        done_cv.notify_all();
    }
};

line_log::line_log(int fd, std::size_t max_queued_lines) : state_(std::make_shared<state>()) {
    state_->fd = fd;
    state_->max_queued = max_queued_lines;
    // The writer takes no signals: they stay with the threads the program chose for them.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    std::thread([s = state_] { s->run(); }).detach();
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

line_log::~line_log() {
    std::unique_lock lock(state_->mutex);
    state_->stopping = true;
    state_->wake.notify_all();
    // The writer gives up by itself after its patience; wait a little longer than that.
    state_->done_cv.wait_for(lock, std::chrono::seconds(5), [&] { return state_->done; });
}

void line_log::write(std::string_view line) {
    std::string text(line.substr(0, max_line));
    text += '\n';
    {
        std::lock_guard g(state_->mutex);
        if (state_->queue.size() >= state_->max_queued) {
            ++state_->dropped;
            return;
        }
        state_->queue.push_back(std::move(text));
    }
    state_->wake.notify_one();
}

std::uint64_t line_log::dropped() const {
    std::lock_guard g(state_->mutex);
    return state_->dropped;
}

} // namespace pop3::mock
