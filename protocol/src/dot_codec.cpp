#include "pop3/protocol/dot_codec.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace pop3 {
namespace {

// First octet in [p, end) that is LF, CR or NUL — the only octets the decoder must look at
// inside a line. SSE2 checks 16 octets per step; this is the decoder's hot loop.
const char* find_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i nul = _mm_setzero_si128();
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)),
                                         _mm_cmpeq_epi8(v, nul));
        if (const int mask = _mm_movemask_epi8(hit))
            return p + __builtin_ctz(static_cast<unsigned>(mask));
        p += 16;
    }
#endif
    for (; p < end; ++p)
        if (*p == '\n' || *p == '\r' || *p == '\0') return p;
    return end;
}

constexpr std::string_view lone_cr = "\r";

} // namespace

void body_decoder::reset() noexcept {
    state_ = state::line_start;
    prev_cr_ = false;
    line_len_ = 0;
    octets_ = wire_octets_ = lines_ = 0;
    deviations_ = 0;
}

// Records a deviation the policy tolerates, or fails. Returns false when decoding must stop.
bool body_decoder::deviate(std::uint8_t what, std::error_code& ec, diagnostics* diag,
                           std::string_view near) {
    const bool allowed = (what == deviation_bare_lf && policy_.allow_bare_lf) ||
                         (what == deviation_bare_cr && policy_.allow_bare_cr) ||
                         (what == deviation_nul && policy_.allow_nul) ||
                         (what == deviation_too_long && line_len_ <= policy_.tolerate_up_to);
    if (allowed) {
        deviations_ |= what;
        return true;
    }
    const error e = what == deviation_bare_lf   ? error::bare_lf
                    : what == deviation_bare_cr ? error::bare_cr
                    : what == deviation_nul     ? error::nul_in_line
                                                : error::line_too_long;
    ec = e;
    if (diag) diag->set(make_error_code(e).message() + " in multi-line body", near, wire_octets_);
    return false;
}

body_decoder::step body_decoder::decode(std::string_view input, std::error_code& ec,
                                        diagnostics* diag) {
    const char* const begin = input.data();
    const char* const end = begin + input.size();
    const char* p = begin;
    const char* run = nullptr; // start of the data run being returned

    auto finish_step = [&](const char* consumed_to, const char* run_end) {
        wire_octets_ += static_cast<std::uint64_t>(consumed_to - begin);
        step s{static_cast<std::size_t>(consumed_to - begin), {}};
        if (run) s.data = std::string_view(run, static_cast<std::size_t>(run_end - run));
        octets_ += s.data.size();
        return s;
    };
    auto fail = [&] {
        run = nullptr;
        return finish_step(begin, begin);
    };
    const std::size_t hard_limit = std::max(max_line_, policy_.tolerate_up_to);

    while (p < end) {
        switch (state_) {
        case state::done: ec.clear(); return finish_step(p, p);

        case state::line_start:
            line_len_ = 0;
            prev_cr_ = false;
            if (*p == '.') {
                // Remove the stuffing dot (or start of the terminator); the run ends before it.
                state_ = state::after_dot;
                line_len_ = 1;
                const char* dot = p++;
                if (run) {
                    ec.clear();
                    return finish_step(p, dot);
                }
                continue;
            }
            state_ = state::in_line;
            break;

        case state::after_dot:
            if (*p == '\r') {
                state_ = state::after_dot_cr;
                ++line_len_;
                ++p;
                continue;
            }
            if (*p == '\n') { // ".\n": a terminator with a bare LF
                if (!deviate(deviation_bare_lf, ec, diag, ".\\n")) return fail();
                state_ = state::done;
                ec.clear();
                return finish_step(p + 1, p + 1);
            }
            state_ = state::in_line; // the dot was stuffing; the line goes on from here
            break;

        case state::after_dot_cr:
            if (*p == '\n') {
                state_ = state::done;
                ec.clear();
                return finish_step(p + 1, p + 1);
            }
            // ".\r" then something else: the CR was bare and is message data.
            if (!deviate(deviation_bare_cr, ec, diag, ".\r")) return fail();
            state_ = state::in_line;
            wire_octets_ += static_cast<std::uint64_t>(p - begin);
            octets_ += 1;
            ec.clear();
            return {static_cast<std::size_t>(p - begin), lone_cr};

        case state::in_line: {
            if (!run) run = p;
            if (prev_cr_ && *p != '\n') {
                prev_cr_ = false;
                if (!deviate(deviation_bare_cr, ec, diag, std::string_view(run, p - run)))
                    return fail();
            }
            const std::size_t budget = hard_limit > line_len_ ? hard_limit - line_len_ : 0;
            const char* scan_end = end - p > static_cast<std::ptrdiff_t>(budget) ? p + budget : end;
            const char* hit = find_special(p, scan_end);
            line_len_ += static_cast<std::size_t>(hit - p);
            p = hit;
            if (p == scan_end) {
                if (p != end || line_len_ >= hard_limit) { // the line cannot end within the limit
                    line_len_ = hard_limit + 1;
                    deviate(deviation_too_long, ec, diag, std::string_view(run, p - run));
                    return fail();
                }
                break;
            }
            ++line_len_;
            const char c = *p++;
            if (c == '\0') {
                if (!deviate(deviation_nul, ec, diag, std::string_view(run, p - run)))
                    return fail();
                break;
            }
            if (c == '\r') {
                prev_cr_ = true;
                // The common case, CRLF in the same input, ends the line here rather than on the
                // next pass of the scan (one special octet per line instead of two).
                if (p == end || *p != '\n') break;
                ++p;
                ++line_len_;
            }
            // An LF, or a CR with its LF: the line ends.
            if (!prev_cr_ && !deviate(deviation_bare_lf, ec, diag, std::string_view(run, p - run)))
                return fail();
            if (line_len_ > max_line_ &&
                !deviate(deviation_too_long, ec, diag, std::string_view(run, p - run)))
                return fail();
            prev_cr_ = false;
            ++lines_;
            state_ = state::line_start;
            break;
        }
        }
    }
    if (state_ == state::done) {
        ec.clear();
    } else {
        ec = error::need_more;
    }
    return finish_step(p, p);
}

void body_decoder::finish(std::error_code& ec, diagnostics* diag) const {
    if (state_ == state::done) {
        ec.clear();
        return;
    }
    ec = error::eof_in_reply;
    if (diag)
        diag->set("connection closed inside a multi-line body, before the terminating '.'", {},
                  wire_octets_);
}

void dot_stuffer::encode(std::string_view chunk, std::string& out) {
    if (chunk.empty()) return;
    empty_ = false;
    out.reserve(out.size() + chunk.size() + chunk.size() / 64 + 4);
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    while (p < end) {
        if (at_line_start_ && *p == '.') out += '.';
        at_line_start_ = false;
        const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
        const char* stop = lf ? static_cast<const char*>(lf) : end;
        if (stop > p) prev_cr_ = stop[-1] == '\r';
        out.append(p, stop);
        if (!lf) break;
        if (options_.normalize_bare_lf && !prev_cr_) out += '\r';
        out += '\n';
        prev_cr_ = false;
        at_line_start_ = true;
        p = stop + 1;
    }
}

void dot_stuffer::finish(std::string& out) {
    if (!empty_ && !at_line_start_) out += prev_cr_ ? "\n" : "\r\n";
    out += ".\r\n";
    reset();
}

void dot_stuff(std::string_view body, std::string& out, stuffing_options options) {
    dot_stuffer s(options);
    s.encode(body, out);
    s.finish(out);
}

} // namespace pop3
