// pop3-bench-client: RETR through pop3kit's client library, for bench/README.md.
//   pop3-bench-client PORT USER PASS N [stream]   RETR message N (buffered, or streamed into a
//                                                 sink that discards it), prints MB/s
//   pop3-bench-client many PORT USER PASS COUNT WINDOW   RETR messages 1..COUNT with
//                                                 retr_many (WINDOW 1 = lock-step), messages/s
#include <chrono>
#include <cstdio>
#include <cstring>
#include <pop3/client/client.hpp>
#include <string>

int main(int argc, char** argv) {
    using clock_type = std::chrono::steady_clock;
    try {
        if (argc >= 7 && std::strcmp(argv[1], "many") == 0) {
            pop3::client_options o;
            o.port = static_cast<std::uint16_t>(std::stoi(argv[2]));
            o.pipeline_window = static_cast<std::size_t>(std::stoi(argv[6]));
            pop3::client c(o);
            c.user(argv[3]);
            c.pass_(argv[4]);
            const int count = std::stoi(argv[5]);
            std::vector<pop3::message_number> which;
            for (int i = 1; i <= count; ++i)
                which.emplace_back(i);
            const auto t0 = clock_type::now();
            const auto msgs = c.retr_many(which);
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf("retr_many: %zu messages in %.3f s = %.0f messages/s (window %s)\n",
                        msgs.size(), secs, double(msgs.size()) / secs, argv[6]);
            c.quit();
            return 0;
        }
        if (argc >= 5) {
            pop3::client_options o;
            o.port = static_cast<std::uint16_t>(std::stoi(argv[1]));
            pop3::client c(o);
            c.user(argv[2]);
            c.pass_(argv[3]);
            const bool stream = argc >= 6 && std::strcmp(argv[5], "stream") == 0;
            std::uint64_t octets = 0;
            const auto t0 = clock_type::now();
            if (stream) {
                c.retr(argv[4], [&](std::string_view d) { octets += d.size(); });
            } else {
                octets = c.retr(argv[4]).content.size();
            }
            const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf("retr%s: %llu octets in %.3f s = %.0f MB/s\n", stream ? " (streamed)" : "",
                        static_cast<unsigned long long>(octets), secs, double(octets) / secs / 1e6);
            c.quit();
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-bench-client: %s\n", e.what());
        return 1;
    }
    std::fputs(
        "usage: pop3-bench-client PORT USER PASS N [stream] | many PORT USER PASS COUNT WINDOW\n",
        stderr);
    return 2;
}
