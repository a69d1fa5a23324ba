// pop3-bench-micro: the protocol core's hot paths, for bench/README.md.
//   decoder: multi-line body decoding against a memchr scan of the same buffer (the physical
//            limit here: every byte must be looked at once)
//   reply:   status-line parsing, ns per reply
#include <chrono>
#include <cstdio>
#include <cstring>
#include <pop3/protocol/dot_codec.hpp>
#include <pop3/protocol/reply.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Keeps a result alive so the compiler cannot drop the work.
volatile std::uint64_t sink;

void decoder() {
    std::string body;
    for (int i = 0; body.size() < (64u << 20); ++i) {
        std::string line(76, static_cast<char>('a' + i % 26));
        if (i % 10 == 3) line[0] = '.';
        body += line + "\r\n";
    }
    std::string wire;
    pop3::dot_stuff(body, wire);
    const int rounds = 5;

    auto t0 = clock_type::now();
    std::uint64_t lines = 0;
    for (int r = 0; r < rounds; ++r) {
        const char* p = wire.data();
        const char* end = p + wire.size();
        while (const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p))) {
            ++lines;
            p = static_cast<const char*>(lf) + 1;
        }
    }
    const double memchr_s = seconds_since(t0);
    sink = lines;

    t0 = clock_type::now();
    std::uint64_t octets = 0;
    for (int r = 0; r < rounds; ++r) {
        pop3::body_decoder dec;
        std::string_view in = wire;
        std::error_code ec;
        while (!dec.done()) {
            const auto step = dec.decode(in, ec);
            octets += step.data.size();
            in.remove_prefix(step.consumed);
        }
    }
    const double decode_s = seconds_since(t0);
    sink = octets;
    const double gb = double(wire.size()) * rounds / 1e9;
    std::printf("decoder: %.2f GB/s, memchr scan: %.2f GB/s, ratio %.2f (goal >= 0.5)\n",
                gb / decode_s, gb / memchr_s, memchr_s / decode_s);
}

void reply() {
    const std::string_view lines[] = {"+OK 2 320", "-ERR [SYS/TEMP] try later",
                                      "+OK maildrop has 2 messages (320 octets)"};
    const int n = 10'000'000;
    std::error_code ec;
    auto t0 = clock_type::now();
    std::uint64_t ok = 0;
    for (int i = 0; i < n; ++i) {
        const auto s = pop3::parse_status_line(lines[i % 3], false, ec);
        ok += s.status == pop3::reply_status::ok;
    }
    const double parse_s = seconds_since(t0);
    sink = ok;

    // The whole reply path: framing, parsing, the owned copy of the status line.
    const std::string_view wire = "+OK 2 320\r\n";
    pop3::reply_reader reader;
    t0 = clock_type::now();
    for (int i = 0; i < n; ++i) {
        reader.start(pop3::reply_shape::single_line);
        ok += reader.read(wire, ec).consumed;
    }
    const double read_s = seconds_since(t0);
    sink = ok;
    std::printf("reply: parse_status_line %.1f ns per line; reply_reader %.1f ns per reply\n",
                parse_s * 1e9 / n, read_s * 1e9 / n);
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::puts("usage: pop3-bench-micro\nDecoder throughput against memchr, and status-line "
                  "parsing in ns per reply (bench/README.md).");
        return 0;
    }
    decoder();
    reply();
    return 0;
}
