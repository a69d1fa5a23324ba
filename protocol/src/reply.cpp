#include "pop3/protocol/reply.hpp"

#include "pop3/protocol/text.hpp"

namespace pop3 {
namespace {

// RFC 2449 §3: schar = %x21-2E / %x30-5C / %x5E-7F, a resp-level is 1*schar, levels are
// separated by '/'. Returns false for anything else, in which case the bracket is plain text.
bool is_valid_code(std::string_view code) noexcept {
    if (code.empty() || code.front() == '/' || code.back() == '/') return false;
    char prev = 0;
    for (char ch : code) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '/') {
            if (prev == '/') return false;
        } else if (c < 0x21 || c > 0x7f || c == ']') {
            return false;
        }
        prev = ch;
    }
    return true;
}

void split_code(status_line& s) noexcept {
    s.text = s.full_text;
    if (s.full_text.empty() || s.full_text.front() != '[') return;
    const auto close = s.full_text.find(']');
    if (close == std::string_view::npos) return;
    const auto code = s.full_text.substr(1, close - 1);
    if (!is_valid_code(code)) return;
    s.code = {code, classify_response_code(code)};
    s.text = s.full_text.substr(close + 1);
    if (!s.text.empty() && s.text.front() == ' ') s.text.remove_prefix(1);
}

} // namespace

response_code_kind classify_response_code(std::string_view code) noexcept {
    const auto slash = code.find('/');
    const auto top = code.substr(0, slash);
    if (iequals(top, "SYS")) {
        if (slash == std::string_view::npos) return response_code_kind::sys_other;
        const auto sub = code.substr(slash + 1);
        const auto sub_top = sub.substr(0, sub.find('/'));
        if (iequals(sub_top, "TEMP")) return response_code_kind::sys_temp;
        if (iequals(sub_top, "PERM")) return response_code_kind::sys_perm;
        return response_code_kind::sys_other;
    }
    if (iequals(top, "IN-USE")) return response_code_kind::in_use;
    if (iequals(top, "LOGIN-DELAY")) return response_code_kind::login_delay;
    if (iequals(top, "AUTH")) return response_code_kind::auth;
    if (iequals(top, "UTF8")) return response_code_kind::utf8;
    return code.empty() ? response_code_kind::none : response_code_kind::other;
}

status_line parse_status_line(std::string_view line, bool continuation_allowed, std::error_code& ec,
                              diagnostics* diag) {
    status_line s;
    auto rest_after = [&](std::string_view indicator) -> bool {
        if (!line.starts_with(indicator)) return false;
        const auto rest = line.substr(indicator.size());
        if (rest.empty()) return true;
        if (rest.front() != ' ') return false;
        s.full_text = rest.substr(1);
        return true;
    };

    if (rest_after("+OK")) {
        s.status = reply_status::ok;
        split_code(s);
    } else if (rest_after("-ERR")) {
        s.status = reply_status::err;
        split_code(s);
    } else if (continuation_allowed && (line == "+" || line.starts_with("+ "))) {
        s.status = reply_status::continuation;
        s.challenge = line.size() > 2 ? line.substr(2) : std::string_view{};
    } else {
        const bool looks_like_continuation = line == "+" || line.starts_with("+ ");
        ec = looks_like_continuation ? error::unexpected_continuation : error::bad_status_indicator;
        if (diag) diag->set(make_error_code(static_cast<error>(ec.value())).message(), line);
        return {};
    }
    ec.clear();
    return s;
}

} // namespace pop3
