// For the programs' main() only (pop3-client, pop3-mockserver, pop3-conformance, pop3-load,
// pop3-fuzz), never for library code: checks that a program's standard output was written.
// Output that cannot be written (a full disk, `> /dev/full`, a closed pipe) must fail the
// program, not end in exit code 0. Header-only and in the lowest layer, so that every program
// reaches it.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

namespace pop3 {

// Flushes std::cout and stdout. True when everything written to them so far arrived; otherwise
// prints `PROGRAM: cannot write to standard output: REASON` on stderr and returns false.
inline bool flush_stdout(std::string_view program) noexcept {
    errno = 0;
    std::cout.flush(); // synchronised with stdio: this flushes stdout, and may fail first
    const bool flushed = std::fflush(stdout) == 0;
    const int err = errno;
    if (flushed && std::ferror(stdout) == 0 && !std::cout.fail()) return true;
    std::fprintf(stderr, "%.*s: cannot write to standard output%s%s\n",
                 static_cast<int>(program.size()), program.data(), err != 0 ? ": " : "",
                 err != 0 ? std::strerror(err) : "");
    return false;
}

// The exit code of a program that ends with `code`: `code`, or 1 when it is 0 and standard
// output could not be written (flush_stdout says why on stderr).
inline int exit_code_after_stdout(std::string_view program, int code) noexcept {
    return flush_stdout(program) || code != 0 ? code : 1;
}

} // namespace pop3
