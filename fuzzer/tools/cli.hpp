// pop3-fuzz's command-line pieces, shared by its two directions (pop3_fuzz.cpp, client_mode.cpp):
// the error for a bad command line (exit 2), option values checked with the option's name in the
// message, and the exit codes of what escapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <pop3/conformance/transcript.hpp>
#include <pop3/fuzzer/session_input.hpp>
#include <pop3/protocol/text.hpp>
#include <stdexcept>
#include <string>

namespace pop3::fuzz_tool {

struct cli_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Seconds in (0, hi].
inline double seconds_arg(const std::string& name, const std::string& v, double hi) {
    double d = 0;
    try {
        std::size_t used = 0;
        d = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
        throw cli_error(name + ": expected seconds, got '" + v + "'");
    }
    if (!(d > 0 && d <= hi))
        throw cli_error(name +
                        ": expected 0 < SECONDS <= " + std::to_string(static_cast<long>(hi)));
    return d;
}

// Seconds as given (seconds_arg) as a duration for the campaign's options.
inline std::chrono::milliseconds milliseconds_of(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// A whole number in [lo, hi].
inline std::uint64_t number_arg(const std::string& name, const std::string& v, std::uint64_t lo,
                                std::uint64_t hi) {
    const auto n = parse_decimal(v);
    if (!n || *n < lo || *n > hi)
        throw cli_error(name + ": expected a number from " + std::to_string(lo) + " to " +
                        std::to_string(hi) + ", got '" + v + "'");
    return *n;
}

// A report file (--json, --html), written whole.
inline void write_report(const std::string& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error(file + ": cannot write");
}

// Runs a direction's main: a bad command line or seed file is exit 2 (FILE:LINE: reason),
// anything else that escapes exit 1, each with its message on stderr.
template <class Run>
int guarded_main(Run&& run) {
    try {
        return run();
    } catch (const cli_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const conformance::transcript_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const fuzzer::corpus_error& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pop3-fuzz: %s\n", e.what());
        return 1;
    }
}

} // namespace pop3::fuzz_tool
