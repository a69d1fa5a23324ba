// Delta debugging over commands: drops chunks of commands while the finding (same kind, same
// command) still reproduces; then over bytes: cuts each long line's arguments to the shortest
// prefix that still reproduces it. Within a bound of session runs.
#pragma once

#include "pop3/fuzzer/oracle.hpp"
#include "pop3/fuzzer/session_input.hpp"

#include <chrono>
#include <cstddef>
#include <functional>

namespace pop3::fuzzer {

// `reproduces(in)` runs `in` and says whether it shows `f` again. At most `max_runs` calls,
// and none started after `budget` has passed (a hang costs a hang timeout per run).
session_input minimise(const session_input& in, const finding& f,
                       const std::function<bool(const session_input&)>& reproduces,
                       std::size_t max_runs = 200,
                       std::chrono::milliseconds budget = std::chrono::seconds(60));

} // namespace pop3::fuzzer
