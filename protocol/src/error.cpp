#include "pop3/protocol/error.hpp"

#include <cstdio>

namespace pop3 {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "pop3"; }

    std::string message(int value) const override {
        switch (static_cast<error>(value)) {
        case error::need_more: return "more input is needed";
        case error::line_too_long: return "line exceeds its configured limit";
        case error::bare_lf: return "line ends in LF without CR";
        case error::bare_cr: return "CR not followed by LF inside a line";
        case error::nul_in_line: return "NUL octet in a line";
        case error::missing_crlf_at_eof: return "input ended in the middle of a line";
        case error::eof_in_reply: return "connection closed before the reply was complete";
        case error::bad_status_indicator: return "reply does not start with +OK or -ERR";
        case error::unexpected_continuation: return "SASL continuation where none was expected";
        case error::bad_stat_reply: return "malformed STAT reply";
        case error::bad_scan_listing: return "malformed scan listing";
        case error::bad_uid_listing: return "malformed unique-id listing";
        case error::bad_capa_line: return "malformed CAPA line";
        case error::no_apop_timestamp: return "greeting carries no APOP timestamp";
        case error::octet_count_mismatch: return "body size differs from the announced octet count";
        case error::forbidden_char_in_argument: return "argument contains CR, LF or NUL";
        case error::command_too_long: return "command line exceeds its configured limit";
        case error::empty_command: return "empty command line";
        case error::bad_keyword: return "malformed command keyword";
        case error::unknown_command: return "unknown command";
        case error::wrong_argument_count: return "wrong number of arguments";
        case error::bad_message_number: return "malformed message number";
        case error::bad_number: return "malformed number";
        case error::bad_base64: return "malformed base64";
        case error::bad_sasl_message: return "malformed SASL message";
        case error::sasl_cancelled: return "SASL exchange cancelled";
        }
        return "unknown pop3 error";
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

std::string escape_for_display(std::string_view bytes, std::size_t limit) {
    std::string out;
    out.reserve(bytes.size() < limit ? bytes.size() : limit);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (out.size() >= limit) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(bytes[i]);
        switch (c) {
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\0': out += "\\0"; break;
        case '\\': out += "\\\\"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                char hex[5];
                std::snprintf(hex, sizeof hex, "\\x%02X", c);
                out += hex;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out;
}

void diagnostics::set(std::string_view what, std::string_view line, std::size_t at) {
    message.assign(what);
    offending = escape_for_display(line);
    offset = at;
}

std::string diagnostics::to_string() const {
    std::string s = message;
    if (!offending.empty()) {
        s += ": '";
        s += offending;
        s += '\'';
    }
    if (offset != 0) {
        s += " at offset ";
        s += std::to_string(offset);
    }
    return s;
}

} // namespace pop3
