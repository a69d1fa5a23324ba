// Split-point testing: every parser must give the same result however its input is split.
// splits() yields the whole input, every two-chunk split and the byte-by-byte split; each chunk
// lives in an exactly sized heap buffer, so that an over-read is caught by ASan.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::test {

class exact_buffer {
public:
    explicit exact_buffer(std::string_view bytes)
        : data_(new char[bytes.size() ? bytes.size() : 1]), size_(bytes.size()) {
        if (size_) std::memcpy(data_.get(), bytes.data(), size_);
    }
    std::string_view view() const noexcept { return {data_.get(), size_}; }

private:
    std::unique_ptr<char[]> data_;
    std::size_t size_;
};

struct split {
    std::string name; // "whole", "split at 7", "byte by byte"
    std::vector<std::string_view> chunks;
};

inline std::vector<split> splits(std::string_view input) {
    std::vector<split> out;
    out.push_back({"whole", {input}});
    for (std::size_t i = 1; i < input.size(); ++i)
        out.push_back({"split at " + std::to_string(i), {input.substr(0, i), input.substr(i)}});
    if (input.size() > 2) {
        split bytes{"byte by byte", {}};
        for (std::size_t i = 0; i < input.size(); ++i)
            bytes.chunks.push_back(input.substr(i, 1));
        out.push_back(std::move(bytes));
    }
    return out;
}

// A receive buffer as a session keeps one: chunks are appended, consumed bytes dropped. view()
// hands out an exactly sized copy so that a parser reading past the end is caught.
class receive_buffer {
public:
    void append(std::string_view chunk) { pending_.append(chunk); }
    std::string_view view() {
        copy_ = std::make_unique<exact_buffer>(pending_);
        return copy_->view();
    }
    void consume(std::size_t n) { pending_.erase(0, n); }
    std::string_view rest() const noexcept { return pending_; }

private:
    std::string pending_;
    std::unique_ptr<exact_buffer> copy_;
};

} // namespace pop3::test
