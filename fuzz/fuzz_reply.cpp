// Fuzzes the reply reader (framing, status lines, response codes, multi-line bodies).
// Byte 0 picks the reply shape and the policy; byte 1 the split point. Invariants: reading in
// two chunks gives the same outcome as reading at once, no line exceeds its limit, and every
// error is a pop3::error.
#include "fuzz_check.hpp"

#include <cstdint>
#include <initializer_list>
#include <pop3/protocol/reply_reader.hpp>
#include <string>

namespace {

struct outcome {
    std::error_code ec;
    std::string status;
    std::string body;
    std::size_t consumed = 0;
    bool operator==(const outcome&) const = default;

    void clear() {
        ec.clear();
        status.clear();
        body.clear();
        consumed = 0;
    }
};

// Readers and buffers live across runs (start() resets a reader, clear() keeps capacity): at
// ~100,000 runs a second under ASan, allocations are most of the cost.
pop3::reply_reader& reader_for(bool lenient) {
    static const auto make = [](bool l) {
        pop3::limits lim;
        lim.max_body_line = 4096;
        return pop3::reply_reader(lim, l ? pop3::line_policy::lenient(8192)
                                         : pop3::line_policy::strict());
    };
    static pop3::reply_reader strict = make(false), relaxed = make(true);
    return lenient ? relaxed : strict;
}

void read_reply(pop3::reply_shape shape, bool lenient,
                std::initializer_list<std::string_view> chunks, outcome& out) {
    static std::string pending;
    auto& reader = reader_for(lenient);
    const auto limit = lenient ? std::size_t{8192} : pop3::limits{}.max_reply_line;
    reader.start(shape);
    out.clear();
    pending.clear();
    // Consumed bytes are skipped with an offset, not erased: erasing per body run is quadratic.
    std::size_t begin = 0;
    auto failed = [&](std::error_code ec) {
        FUZZ_CHECK(ec.category() == pop3::error_category());
        out.clear(); // partial output before an error depends on splits
        out.ec = ec;
    };
    for (auto chunk : chunks) {
        pending.erase(0, begin);
        begin = 0;
        pending.append(chunk);
        while (!reader.complete()) {
            auto step = reader.read(std::string_view(pending).substr(begin), out.ec);
            if (step.event == pop3::reply_event::status) {
                out.status.assign(reader.status().full_text);
                // SASL continuations may be as long as max_sasl_line; every other status line
                // keeps the status-line limit.
                const bool continuation =
                    reader.status().status == pop3::reply_status::continuation;
                FUZZ_CHECK(step.consumed <=
                           (continuation ? std::max(limit, pop3::limits{}.max_sasl_line) : limit));
            }
            out.body.append(step.data);
            begin += step.consumed;
            out.consumed += step.consumed;
            if (out.ec == pop3::error::need_more) break;
            if (out.ec) return failed(out.ec);
        }
    }
    if (!reader.complete()) {
        std::error_code ec;
        reader.finish(std::string_view(pending).substr(begin), ec);
        FUZZ_CHECK(static_cast<bool>(ec));
        return failed(ec);
    }
    out.ec.clear();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto mode = data[0];
    const auto shape = static_cast<pop3::reply_shape>(mode % 3);
    const bool lenient = (mode & 4) != 0;
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t cut = input.empty() ? 0 : data[1] % (input.size() + 1);

    static outcome whole, split;
    read_reply(shape, lenient, {input}, whole);
    read_reply(shape, lenient, {input.substr(0, cut), input.substr(cut)}, split);
    FUZZ_CHECK(whole == split);
    return 0;
}
