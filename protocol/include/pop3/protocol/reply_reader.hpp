// reply_reader: reads one whole reply (status line, then the dot-terminated body when the
// command's reply shape has one) from bytes as they arrive. The client session, the
// conformance runner and the fuzzers read replies through it.
#pragma once

#include "pop3/protocol/command.hpp"
#include "pop3/protocol/dot_codec.hpp"
#include "pop3/protocol/error.hpp"
#include "pop3/protocol/limits.hpp"
#include "pop3/protocol/line.hpp"
#include "pop3/protocol/reply.hpp"

#include <string>
#include <string_view>
#include <system_error>

namespace pop3 {

enum class reply_event : std::uint8_t {
    none,   // nothing yet (ec is need_more)
    status, // the status line is in status(); complete() tells whether a body follows
    body,   // `data` holds message octets (dot-unstuffed, CRLF line ends kept)
    end,    // the body's terminator was read; the reply is complete
};

class reply_reader {
public:
    explicit reply_reader(const limits& lim = {}, line_policy policy = line_policy::strict())
        : limits_(lim), policy_(policy), body_(lim.max_body_line, policy) {}
    // status() holds views into the reader's own copy of the status line: a copied or moved
    // reader would point into the other one's (or a dead) buffer.
    reply_reader(const reply_reader&) = delete;
    reply_reader& operator=(const reply_reader&) = delete;

    // Prepares for the next reply, expected in `shape`. The greeting is single_line.
    void start(reply_shape shape) noexcept;

    struct step {
        std::size_t consumed = 0;
        reply_event event = reply_event::none;
        std::string_view data; // for reply_event::body: a view into the input
    };

    // Consumes bytes of `input` up to the next event. Never consumes past the end of the
    // reply: what follows belongs to the next one (pipelining). ec: need_more, or a
    // protocol error with diag filled; clear on an event.
    step read(std::string_view input, std::error_code& ec, diagnostics* diag = nullptr);

    // End of stream: eof_in_reply when a reply was started and is not complete (a partial
    // status line counts as missing_crlf_at_eof).
    void finish(std::string_view leftover, std::error_code& ec, diagnostics* diag = nullptr) const;

    const status_line& status() const noexcept { return status_; }
    bool complete() const noexcept { return phase_ == phase::complete; }
    bool in_body() const noexcept { return phase_ == phase::body; }
    const body_decoder& body() const noexcept { return body_; }
    std::uint8_t deviations() const noexcept { return deviations_ | body_.deviations(); }

private:
    enum class phase : std::uint8_t { status, body, complete };

    limits limits_;
    line_policy policy_;
    reply_shape shape_ = reply_shape::single_line;
    phase phase_ = phase::status;
    std::string status_text_; // owned copy, so status_ stays valid after the input is dropped
    status_line status_;
    body_decoder body_;
    std::uint8_t deviations_ = 0;
};

} // namespace pop3
