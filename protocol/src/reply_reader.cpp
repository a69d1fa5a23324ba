#include "pop3/protocol/reply_reader.hpp"

namespace pop3 {

void reply_reader::start(reply_shape shape) noexcept {
    shape_ = shape;
    phase_ = phase::status;
    status_ = {};
    status_text_.clear();
    body_.reset();
    deviations_ = 0;
}

reply_reader::step reply_reader::read(std::string_view input, std::error_code& ec,
                                      diagnostics* diag) {
    switch (phase_) {
    case phase::status: {
        const bool sasl = shape_ == reply_shape::sasl;
        const auto limit =
            sasl ? std::max(limits_.max_reply_line, limits_.max_sasl_line) : limits_.max_reply_line;
        const auto line = frame_line(input, limit, policy_, ec, diag);
        if (ec) return {};
        deviations_ |= line.deviations;
        status_text_.assign(line.text);
        status_ = parse_status_line(status_text_, sasl, ec, diag);
        if (ec) return {};
        // Only a SASL continuation may use the longer SASL line limit: a final +OK or -ERR is a
        // status line like any other (RFC 2449 §4: 512 octets).
        if (sasl && status_.status != reply_status::continuation &&
            line.consumed > limits_.max_reply_line && line.consumed > policy_.tolerate_up_to) {
            ec = error::line_too_long;
            if (diag) diag->set("status line exceeds its configured limit", status_text_);
            return {};
        }
        const bool has_body =
            shape_ == reply_shape::multi_line && status_.status == reply_status::ok;
        phase_ = has_body ? phase::body : phase::complete;
        return {line.consumed, reply_event::status, {}};
    }
    case phase::body: {
        const auto s = body_.decode(input, ec, diag);
        if (ec && ec != error::need_more) return {};
        if (!s.data.empty()) {
            ec.clear();
            return {s.consumed, reply_event::body, s.data};
        }
        if (body_.done()) {
            phase_ = phase::complete;
            return {s.consumed, reply_event::end, {}};
        }
        return {s.consumed, reply_event::none, {}};
    }
    case phase::complete: break;
    }
    ec.clear();
    return {};
}

void reply_reader::finish(std::string_view leftover, std::error_code& ec, diagnostics* diag) const {
    switch (phase_) {
    case phase::complete: ec.clear(); return;
    case phase::body: body_.finish(ec, diag); return;
    case phase::status:
        ec = leftover.empty() ? error::eof_in_reply : error::missing_crlf_at_eof;
        if (diag)
            diag->set(leftover.empty() ? "connection closed while waiting for a reply"
                                       : "connection closed in the middle of a status line",
                      leftover);
        return;
    }
}

} // namespace pop3
