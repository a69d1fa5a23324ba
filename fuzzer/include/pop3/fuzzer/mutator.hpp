// POP3-aware mutations of a session input: insert, drop, repeat and reorder commands, replace
// arguments from a dictionary of boundary values, change a line's terminator or the keyword's
// case, split or join writes (pipelining), and splice two corpus sessions. Deterministic: the
// same seed and the same calls give the same inputs.
#pragma once

#include "pop3/fuzzer/session_input.hpp"

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace pop3::fuzzer {

// Boundary values for arguments: 0, -1, 2^31, 2^32+1, 2^64+1, 1000-digit numbers, long strings,
// format strings, NUL, bare CR and LF, invalid UTF-8, base64 edge cases, …
const std::vector<std::string>& argument_dictionary();

class mutator {
public:
    // `vocabulary`: whole command lines to insert (from the seeds); `lim`: every result fits.
    mutator(std::uint64_t seed, std::vector<std::string> vocabulary, input_limits lim = {});

    // A mutated copy of `in` (1 to 4 mutations stacked); `corpus` gives splicing partners.
    session_input mutate(const session_input& in, std::span<const session_input> corpus);

    // A number in [0, n): the campaign picks inputs with the same generator.
    std::size_t pick(std::size_t n);

private:
    void mutate_once(session_input& in, std::span<const session_input> corpus);
    void fit(session_input& in) const;

    std::mt19937_64 rng_;
    std::vector<std::string> vocabulary_;
    input_limits lim_;
};

} // namespace pop3::fuzzer
