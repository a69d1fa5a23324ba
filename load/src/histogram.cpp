#include "pop3/load/load.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pop3::load {
namespace {

constexpr unsigned sub_bits = 7;
constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits; // 128
// Exact buckets 0..127, then 128 per power of two from 2^7 to 2^63.
constexpr std::size_t bucket_total = sub_count + (64 - sub_bits) * sub_count;

} // namespace

std::string_view step_name(step s) noexcept {
    static constexpr std::array<std::string_view, step_count> names = {
        "connect", "TLS",  "STLS", "USER", "PASS", "CAPA", "STAT",   "LIST",
        "UIDL",    "RETR", "DELE", "NOOP", "RSET", "QUIT", "session"};
    return names[static_cast<std::size_t>(s)];
}

histogram::histogram() : buckets_(bucket_total, 0) {}

std::size_t histogram::bucket_of(std::uint64_t ns) noexcept {
    if (ns < sub_count) return static_cast<std::size_t>(ns);
    const unsigned top = static_cast<unsigned>(std::bit_width(ns)) - 1; // >= 7
    const unsigned shift = top - sub_bits;
    return static_cast<std::size_t>(sub_count + std::uint64_t{shift} * sub_count +
                                    ((ns >> shift) - sub_count));
}

std::uint64_t histogram::bucket_low(std::size_t bucket) noexcept {
    if (bucket < sub_count) return bucket;
    const std::uint64_t shift = (bucket - sub_count) / sub_count;
    const std::uint64_t sub = (bucket - sub_count) % sub_count;
    return (sub_count + sub) << shift;
}

std::uint64_t histogram::bucket_width(std::size_t bucket) noexcept {
    if (bucket < sub_count) return 1;
    return std::uint64_t{1} << ((bucket - sub_count) / sub_count);
}

void histogram::record(std::uint64_t ns) noexcept {
    ++buckets_[bucket_of(ns)];
    ++count_;
    max_ = std::max(max_, ns);
}

void histogram::merge(const histogram& other) {
    for (std::size_t i = 0; i < buckets_.size(); ++i)
        buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
}

std::uint64_t histogram::percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    if (rank == count_) return max_;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        seen += buckets_[i];
        if (seen >= rank) return std::min(bucket_low(i) + bucket_width(i) / 2, max_);
    }
    return max_;
}

void results::merge(const results& o) {
    for (std::size_t i = 0; i < step_count; ++i)
        latency[i].merge(o.latency[i]);
    sessions_completed += o.sessions_completed;
    sessions_failed += o.sessions_failed;
    sessions_unfinished += o.sessions_unfinished;
    commands += o.commands;
    body_octets += o.body_octets;
    received_octets += o.received_octets;
    for (const auto& [k, v] : o.errors)
        errors[k] += v;
    for (const auto& [k, v] : o.err_replies)
        err_replies[k] += v;
    for (const auto& [k, v] : o.first_text)
        first_text.emplace(k, v);
    elapsed = std::max(elapsed, o.elapsed);
    interrupted = interrupted || o.interrupted;
    aborted = aborted || o.aborted;
}

std::uint64_t results::error_count() const {
    std::uint64_t n = 0;
    for (const auto& [k, v] : errors)
        n += v;
    return n;
}

std::uint64_t results::err_reply_count() const {
    std::uint64_t n = 0;
    for (const auto& [k, v] : err_replies)
        n += v;
    return n;
}

} // namespace pop3::load
