// Fuzzes the reply reader (framing, status lines, response codes, multi-line bodies).
// Byte 0 picks the reply shape and the policy; byte 1 the split point. Invariants: reading in
// two chunks gives the same outcome as reading at once, no line exceeds its limit, and every
// error is a pop3::error.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/protocol/reply_reader.hpp>
#include <string>
#include <vector>

namespace {

struct outcome {
    std::error_code ec;
    std::string status;
    std::string body;
    std::size_t consumed = 0;
    bool operator==(const outcome&) const = default;
};

outcome read_reply(pop3::reply_shape shape, pop3::line_policy policy,
                   const std::vector<std::string_view>& chunks) {
    pop3::limits lim;
    lim.max_body_line = 4096;
    pop3::reply_reader reader(lim, policy);
    reader.start(shape);
    outcome out;
    std::string pending;
    for (auto chunk : chunks) {
        pending.append(chunk);
        while (!reader.complete()) {
            auto step = reader.read(pending, out.ec);
            if (step.event == pop3::reply_event::status) {
                out.status = std::string(reader.status().full_text);
                FUZZ_CHECK(step.consumed <= std::max(lim.max_reply_line, policy.tolerate_up_to));
            }
            out.body.append(step.data);
            pending.erase(0, step.consumed);
            out.consumed += step.consumed;
            if (out.ec == pop3::error::need_more) break;
            if (out.ec) {
                FUZZ_CHECK(out.ec.category() == pop3::error_category());
                return {out.ec, {}, {}, 0}; // partial output before an error depends on splits
            }
        }
    }
    if (!reader.complete()) {
        reader.finish(pending, out.ec);
        FUZZ_CHECK(out.ec && out.ec.category() == pop3::error_category());
        return {out.ec, {}, {}, 0};
    }
    out.ec.clear();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const auto mode = data[0];
    const auto shape = static_cast<pop3::reply_shape>(mode % 3);
    const auto policy = (mode & 4) ? pop3::line_policy::lenient(8192) : pop3::line_policy::strict();
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t cut = input.empty() ? 0 : data[1] % (input.size() + 1);

    const auto whole = read_reply(shape, policy, {input});
    const auto split = read_reply(shape, policy, {input.substr(0, cut), input.substr(cut)});
    FUZZ_CHECK(whole == split);
    return 0;
}
