// Fuzzes the command line parser (server side) and the formatter (client side, the
// command-injection defence). Byte 0 picks the limit on command lines and the mode: parse the
// rest as one line, or split it at 0x1F into a keyword and arguments for format_command.
// Invariants: a parsed command formats back to the very line it came from whenever the line fits
// the limit, and parses back to the same id and arguments; format_command never emits CR, LF or
// NUL inside the line, always ends it with CRLF, and never exceeds limits.max_command_line;
// every error is a pop3::error.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/protocol/command.hpp>
#include <string>
#include <vector>

namespace {

bool clean_line(const std::string& out) {
    if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) return false;
    return out.find_first_of(std::string_view("\r\n\0", 3)) == out.size() - 2;
}

// Formats, checks the wire form, and parses it back. Returns the formatting error.
std::error_code format_and_check(std::string_view keyword, std::span<const std::string_view> args,
                                 const pop3::limits& lim) {
    std::string out = "stale";
    std::error_code ec;
    pop3::diagnostics diag;
    pop3::format_command(keyword, args, out, ec, lim, &diag);
    if (ec) {
        FUZZ_CHECK(ec.category() == pop3::error_category());
        FUZZ_CHECK(!diag.message.empty());
        FUZZ_CHECK(out.empty()); // nothing half-formatted can reach the wire
        return ec;
    }
    FUZZ_CHECK(clean_line(out));
    FUZZ_CHECK(out.size() <= lim.max_command_line);

    // The same through the command_id overload, for known keywords.
    if (const auto* known = pop3::find_command(keyword); known && known->keyword == keyword) {
        std::string again;
        std::error_code ec2;
        pop3::format_command(known->id, args, again, ec2, lim);
        FUZZ_CHECK(!ec2 && again == out);
    }

    const std::string_view line(out.data(), out.size() - 2);
    std::error_code pec;
    const auto back = pop3::parse_command(line, pec);
    if (pec) {
        // The formatter does not know arities or number syntax; the parser does. It never finds
        // a character the formatter should have refused.
        FUZZ_CHECK(pec.category() == pop3::error_category());
        FUZZ_CHECK(pec != pop3::error::forbidden_char_in_argument);
        FUZZ_CHECK(pec != pop3::error::empty_command);
        return {};
    }
    FUZZ_CHECK(back.keyword == keyword);
    if (back.arg_count == args.size())
        for (std::size_t i = 0; i < args.size(); ++i)
            FUZZ_CHECK(back.args[i] == args[i]);
    return {};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = data[0];
    pop3::limits lim;
    if (mode & 0x40) lim.max_command_line = 6 + (mode & 0x3f) * 4; // 6..258: small limits too
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    if (!(mode & 0x80)) {
        std::error_code ec;
        pop3::diagnostics diag;
        const auto cmd = pop3::parse_command(input, ec, &diag);
        if (ec) {
            FUZZ_CHECK(ec.category() == pop3::error_category());
            FUZZ_CHECK(!diag.message.empty());
            if (ec == pop3::error::unknown_command) FUZZ_CHECK(cmd.id == pop3::command_id::unknown);
            return 0;
        }
        FUZZ_CHECK(cmd.info != nullptr && cmd.info->id == cmd.id);
        FUZZ_CHECK(cmd.arg_count >= cmd.info->min_args && cmd.arg_count <= cmd.info->max_args);
        FUZZ_CHECK(cmd.keyword.size() >= 3 && cmd.keyword.size() <= 4);
        for (std::size_t i = 0; i < cmd.arg_count; ++i) {
            const auto a = cmd.args[i];
            FUZZ_CHECK(a.data() >= input.data() &&
                       a.data() + a.size() <= input.data() + input.size());
            if (cmd.info->message_number_args >> i & 1)
                FUZZ_CHECK(pop3::parse_message_number(a).has_value());
        }
        const auto shape = pop3::expected_reply(cmd.id, cmd.arg_count);
        FUZZ_CHECK(static_cast<int>(shape) <= 2);

        // Round trip: the canonical line comes back byte for byte when it fits.
        std::string out;
        std::error_code fec;
        pop3::format_command(cmd.keyword, cmd.arguments(), out, fec, lim);
        if (input.size() + 2 <= lim.max_command_line) {
            FUZZ_CHECK(!fec);
            FUZZ_CHECK(out.size() == input.size() + 2 && out.starts_with(input));
            std::error_code ec2;
            const auto back =
                pop3::parse_command(std::string_view(out).substr(0, input.size()), ec2);
            FUZZ_CHECK(!ec2 && back.id == cmd.id && back.arg_count == cmd.arg_count);
            for (std::size_t i = 0; i < cmd.arg_count; ++i)
                FUZZ_CHECK(back.args[i] == cmd.args[i]);
        } else {
            FUZZ_CHECK(fec == pop3::error::command_too_long);
        }
        format_and_check(cmd.keyword, cmd.arguments(), lim);
        return 0;
    }

    // Formatter mode: keyword 0x1F arg 0x1F arg ...
    std::vector<std::string_view> parts;
    std::string_view rest = input;
    while (true) {
        const auto sep = rest.find('\x1f');
        parts.push_back(rest.substr(0, sep));
        if (sep == std::string_view::npos) break;
        rest.remove_prefix(sep + 1);
    }
    const std::string_view keyword = parts.front();
    const std::span<const std::string_view> args(parts.data() + 1, parts.size() - 1);
    const auto ec = format_and_check(keyword, args, lim);
    // CR, LF or NUL anywhere is always refused (which rule reports it depends on the order).
    bool forbidden = false;
    for (auto p : parts)
        forbidden = forbidden || p.find_first_of(std::string_view("\r\n\0", 3)) != p.npos;
    if (forbidden) FUZZ_CHECK(ec);
    return 0;
}
