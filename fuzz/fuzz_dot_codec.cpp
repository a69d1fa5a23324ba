// Fuzzes the dot-stuffing codec. Invariants: decoding does not depend on how the input is split
// (chunk sizes come from the input), and encoding any body then decoding it gives it back.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/protocol/dot_codec.hpp>
#include <string>

namespace {

struct decoded {
    std::error_code ec;
    std::string body;
    bool operator==(const decoded&) const = default;
};

decoded decode(std::string_view wire, std::size_t chunk, pop3::line_policy policy) {
    pop3::body_decoder dec(1 << 16, policy);
    decoded out;
    while (!wire.empty() && !dec.done()) {
        auto piece = wire.substr(0, chunk);
        wire.remove_prefix(piece.size());
        while (!piece.empty() && !dec.done()) {
            auto step = dec.decode(piece, out.ec);
            out.body.append(step.data);
            piece.remove_prefix(step.consumed);
            if (out.ec == pop3::error::need_more) break;
            if (out.ec) return {out.ec, {}};
        }
        if (!piece.empty()) FUZZ_CHECK(dec.done()); // only bytes after the terminator remain
    }
    if (!dec.done()) {
        dec.finish(out.ec);
        FUZZ_CHECK(out.ec == pop3::error::eof_in_reply);
        return {out.ec, {}};
    }
    FUZZ_CHECK(dec.octets() == out.body.size());
    out.ec.clear();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t chunk = 1 + data[0] % 17;
    const auto policy =
        (data[0] & 0x80) ? pop3::line_policy::lenient(1 << 16) : pop3::line_policy::strict();
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    // Split independence on arbitrary wire bytes.
    FUZZ_CHECK(decode(input, input.size() + 1, policy) == decode(input, chunk, policy));

    // Round trip: treat the input as a message body.
    std::string wire;
    pop3::dot_stuff(input, wire, {.normalize_bare_lf = (data[0] & 0x40) != 0});
    const auto back = decode(wire, chunk, pop3::line_policy::lenient(1 << 20));
    FUZZ_CHECK(!back.ec);
    if (!(data[0] & 0x40)) {
        // Without normalisation the body comes back byte for byte, plus the CRLF that the
        // encoder adds to an unterminated last line.
        std::string expected(input);
        if (!expected.empty() && expected.back() != '\n')
            expected += expected.back() == '\r' ? "\n" : "\r\n";
        FUZZ_CHECK(back.body == expected);
    }
    return 0;
}
