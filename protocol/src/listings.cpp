#include "pop3/protocol/listings.hpp"

#include "pop3/protocol/text.hpp"

namespace pop3 {
namespace {

template <class T>
T fail(std::error_code& ec, diagnostics* diag, error e, std::string_view why,
       std::string_view line) {
    ec = e;
    if (diag) diag->set(why, line);
    return T{};
}

// "n m" followed by nothing or by a space and anything (shared by STAT and scan listings).
bool parse_two_numbers(std::string_view text, std::uint64_t& a, std::uint64_t& b) noexcept {
    std::string_view rest = text;
    const auto first = parse_decimal(next_token(rest));
    if (!first || rest.empty()) return false;
    const auto second = parse_decimal(next_token(rest));
    if (!second) return false;
    a = *first;
    b = *second;
    return true;
}

} // namespace

stat_reply parse_stat(std::string_view text, std::error_code& ec, diagnostics* diag) {
    stat_reply r;
    if (!parse_two_numbers(text, r.count, r.octets))
        return fail<stat_reply>(ec, diag, error::bad_stat_reply,
                                "STAT reply must be '+OK count octets'", text);
    ec.clear();
    return r;
}

scan_entry parse_scan_listing(std::string_view line, std::error_code& ec, diagnostics* diag) {
    scan_entry r;
    if (!parse_two_numbers(line, r.message, r.octets) || r.message == 0)
        return fail<scan_entry>(ec, diag, error::bad_scan_listing,
                                "scan listing must be 'message octets'", line);
    ec.clear();
    return r;
}

bool is_valid_uid(std::string_view uid, const limits& lim) noexcept {
    if (uid.empty() || uid.size() > lim.max_uid_length) return false;
    for (char ch : uid) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

uid_entry parse_uid_listing(std::string_view line, std::error_code& ec, const limits& lim,
                            diagnostics* diag) {
    std::string_view rest = line;
    const auto msg = parse_decimal(next_token(rest));
    if (!msg || *msg == 0 || !is_valid_uid(rest, lim))
        return fail<uid_entry>(ec, diag, error::bad_uid_listing,
                               "unique-id listing must be 'message uid', uid 1-" +
                                   std::to_string(lim.max_uid_length) + " octets of 0x21-0x7E",
                               line);
    ec.clear();
    return {*msg, rest};
}

void capabilities::add_line(std::string_view line, std::error_code& ec, diagnostics* diag) {
    std::string_view rest = line;
    const auto keyword = next_token(rest);
    bool ok = !keyword.empty();
    for (char ch : keyword) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7e) ok = false;
    }
    if (!ok) {
        fail<int>(ec, diag, error::bad_capa_line, "CAPA line must start with a capability keyword",
                  line);
        return;
    }
    std::vector<std::string> args;
    while (!rest.empty()) {
        const auto a = next_token(rest);
        if (!a.empty()) args.emplace_back(a); // tolerate repeated spaces between arguments
    }
    for (auto& e : entries_) {
        if (iequals(e.first, keyword)) {
            e.second = std::move(args);
            ec.clear();
            return;
        }
    }
    entries_.emplace_back(std::string(keyword), std::move(args));
    ec.clear();
}

const std::vector<std::string>* capabilities::find(std::string_view keyword) const noexcept {
    for (const auto& e : entries_)
        if (iequals(e.first, keyword)) return &e.second;
    return nullptr;
}

bool capabilities::has_argument(std::string_view keyword,
                                std::string_view argument) const noexcept {
    if (const auto* args = find(keyword)) {
        for (const auto& a : *args)
            if (iequals(a, argument)) return true;
    }
    return false;
}

} // namespace pop3
