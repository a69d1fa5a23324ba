#include "pop3/protocol/line.hpp"

#include <cstring>

namespace pop3 {
namespace {

void fail(std::error_code& ec, diagnostics* diag, error e, std::string_view line) {
    ec = e;
    if (diag) diag->set(make_error_code(e).message(), line);
}

// Checks the body of a line (terminator already removed) for bare CR and NUL.
std::uint8_t scan_deviations(std::string_view text) noexcept {
    std::uint8_t found = deviation_none;
    for (char c : text) {
        if (c == '\r')
            found |= deviation_bare_cr;
        else if (c == '\0')
            found |= deviation_nul;
    }
    return found;
}

// Applies the policy: returns the error for the first forbidden deviation, if any.
error forbidden(std::uint8_t found, const line_policy& policy) noexcept {
    if ((found & deviation_bare_lf) && !policy.allow_bare_lf) return error::bare_lf;
    if ((found & deviation_bare_cr) && !policy.allow_bare_cr) return error::bare_cr;
    if ((found & deviation_nul) && !policy.allow_nul) return error::nul_in_line;
    return error{};
}

framed_line check(framed_line line, std::size_t limit, const line_policy& policy,
                  std::error_code& ec, diagnostics* diag) {
    line.deviations |= scan_deviations(line.text);
    if (line.consumed > limit) line.deviations |= deviation_too_long;
    if (auto e = forbidden(line.deviations, policy); e != error{}) {
        fail(ec, diag, e, line.text);
        return {};
    }
    if ((line.deviations & deviation_too_long) && line.consumed > policy.tolerate_up_to) {
        fail(ec, diag, error::line_too_long, line.text);
        return {};
    }
    ec.clear();
    return line;
}

} // namespace

framed_line frame_line(std::string_view input, std::size_t limit, const line_policy& policy,
                       std::error_code& ec, diagnostics* diag) {
    // Never look further than the longest line we could accept: bounds the work per call.
    const std::size_t window = std::min(input.size(), std::max(limit, policy.tolerate_up_to));
    const void* lf = window ? std::memchr(input.data(), '\n', window) : nullptr;
    if (!lf) {
        if (window == std::max(limit, policy.tolerate_up_to)) {
            fail(ec, diag, error::line_too_long, input.substr(0, window));
        } else {
            ec = error::need_more;
        }
        return {};
    }
    const auto end = static_cast<std::size_t>(static_cast<const char*>(lf) - input.data());
    framed_line line;
    line.consumed = end + 1;
    if (end > 0 && input[end - 1] == '\r') {
        line.text = input.substr(0, end - 1);
    } else {
        line.text = input.substr(0, end);
        line.deviations = deviation_bare_lf;
    }
    return check(line, limit, policy, ec, diag);
}

framed_line frame_final_line(std::string_view input, std::size_t limit, const line_policy& policy,
                             std::error_code& ec, diagnostics* diag) {
    if (!policy.allow_missing_crlf) {
        fail(ec, diag, error::missing_crlf_at_eof, input);
        return {};
    }
    framed_line line{input, input.size(), deviation_missing_crlf};
    // A trailing CR is the first half of a terminator that never came, not part of the text.
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    return check(line, limit, policy, ec, diag);
}

std::uint8_t deviation_of(std::error_code ec) noexcept {
    if (ec.category() != error_category()) return deviation_none;
    switch (static_cast<error>(ec.value())) {
    case error::bare_lf: return deviation_bare_lf;
    case error::bare_cr: return deviation_bare_cr;
    case error::nul_in_line: return deviation_nul;
    case error::line_too_long: return deviation_too_long;
    case error::missing_crlf_at_eof: return deviation_missing_crlf;
    default: return deviation_none;
    }
}

} // namespace pop3
