#include "pop3/protocol/command.hpp"

#include "pop3/protocol/text.hpp"

#include <utility>

namespace pop3 {
namespace {

constexpr std::uint8_t arg0 = 1;
constexpr auto single = reply_shape::single_line;
constexpr auto multi = reply_shape::multi_line;
constexpr auto sasl = reply_shape::sasl;
constexpr auto authorization = valid_states::authorization;
constexpr auto transaction = valid_states::transaction;
constexpr auto both = valid_states::both;

// keyword, min args, max args, last argument is rest of line, message-number arguments,
// reply without arguments, reply with arguments, the body is a message, valid states
constexpr auto table = std::to_array<command_info>({
    {command_id::user, "USER", 1, 1, false, 0, single, single, false, authorization},
    {command_id::pass, "PASS", 1, 1, true, 0, single, single, false, authorization},
    {command_id::apop, "APOP", 2, 2, false, 0, single, single, false, authorization},
    {command_id::auth, "AUTH", 0, 2, false, 0, multi, sasl, false, authorization},
    {command_id::rpop, "RPOP", 1, 1, false, 0, single, single, false, authorization},
    {command_id::stat, "STAT", 0, 0, false, 0, single, single, false, transaction},
    {command_id::list, "LIST", 0, 1, false, arg0, multi, single, false, transaction},
    {command_id::retr, "RETR", 1, 1, false, arg0, multi, multi, true, transaction},
    {command_id::dele, "DELE", 1, 1, false, arg0, single, single, false, transaction},
    {command_id::noop, "NOOP", 0, 0, false, 0, single, single, false, transaction},
    {command_id::rset, "RSET", 0, 0, false, 0, single, single, false, transaction},
    {command_id::top, "TOP", 2, 2, false, arg0, multi, multi, true, transaction},
    {command_id::uidl, "UIDL", 0, 1, false, arg0, multi, single, false, transaction},
    {command_id::quit, "QUIT", 0, 0, false, 0, single, single, false, both},
    {command_id::capa, "CAPA", 0, 0, false, 0, multi, multi, false, both},
    {command_id::stls, "STLS", 0, 0, false, 0, single, single, false, authorization},
    {command_id::utf8, "UTF8", 0, 0, false, 0, single, single, false, authorization},
    {command_id::lang, "LANG", 0, 1, false, 0, multi, single, false, both},
});

// One entry per command, in command_id order, so that info() is an index.
constexpr bool indexed_by_id() {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (static_cast<std::size_t>(table[i].id) != i) return false;
    return table.size() == static_cast<std::size_t>(command_id::unknown);
}
static_assert(indexed_by_id(), "the command table must list every command_id once, in order");

constexpr command_info unknown_info{
    command_id::unknown, "", 0, 255, false, 0, single, single, false, valid_states::none};

bool is_forbidden(char c) noexcept {
    return c == '\r' || c == '\n' || c == '\0';
}

void fail(std::error_code& ec, diagnostics* diag, error e, std::string_view why,
          std::string_view line) {
    ec = e;
    if (diag) diag->set(why, line);
}

} // namespace

std::span<const command_info> command_table() noexcept {
    return table;
}

const command_info* find_command(std::string_view keyword) noexcept {
    for (const auto& c : table)
        if (iequals(c.keyword, keyword)) return &c;
    return nullptr;
}

const command_info& info(command_id id) noexcept {
    const auto i = static_cast<std::size_t>(id);
    return i < table.size() ? table[i] : unknown_info;
}

reply_shape expected_reply(command_id id, std::size_t arg_count) noexcept {
    return info(id).reply(arg_count);
}

bool carries_listing(command_id id, std::size_t arg_count) noexcept {
    const auto& c = info(id);
    return c.reply(arg_count) == reply_shape::multi_line && !c.body_is_message;
}

void format_command(std::string_view keyword, std::span<const std::string_view> args,
                    std::string& out, std::error_code& ec, const limits& lim, diagnostics* diag) {
    out.clear();
    const command_info* known = find_command(keyword);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        for (char c : a) {
            if (is_forbidden(c))
                return fail(ec, diag, error::forbidden_char_in_argument,
                            "refusing to send an argument containing CR, LF or NUL", a);
        }
        const bool is_rest = known && known->last_arg_is_rest && i + 1 == args.size();
        if (a.empty() && !is_rest)
            return fail(ec, diag, error::wrong_argument_count, "refusing to send an empty argument",
                        keyword);
        if (!is_rest && a.find(' ') != std::string_view::npos)
            return fail(ec, diag, error::forbidden_char_in_argument,
                        "refusing to send an argument containing a space", a);
    }
    for (char c : keyword) {
        if (is_forbidden(c) || c == ' ')
            return fail(ec, diag, error::bad_keyword, "malformed command keyword", keyword);
    }
    if (keyword.empty()) return fail(ec, diag, error::empty_command, "empty command keyword", {});

    out.append(keyword);
    for (auto a : args) {
        out += ' ';
        out.append(a);
    }
    out += "\r\n";
    if (out.size() > lim.max_command_line) {
        out.clear();
        return fail(ec, diag, error::command_too_long,
                    "command line would exceed " + std::to_string(lim.max_command_line) + " octets",
                    keyword);
    }
    ec.clear();
}

void format_command(command_id id, std::span<const std::string_view> args, std::string& out,
                    std::error_code& ec, const limits& lim, diagnostics* diag) {
    format_command(info(id).keyword, args, out, ec, lim, diag);
}

std::optional<std::uint64_t> parse_message_number(std::string_view s) noexcept {
    const auto n = parse_decimal(s);
    if (!n || *n == 0) return std::nullopt;
    return n;
}

parsed_command parse_command(std::string_view line, std::error_code& ec, diagnostics* diag) {
    parsed_command cmd;
    auto bad = [&](error e, std::string_view why) {
        fail(ec, diag, e, why, line);
        return cmd;
    };
    if (line.empty()) return bad(error::empty_command, "empty command line");
    for (char c : line)
        if (is_forbidden(c))
            return bad(error::forbidden_char_in_argument, "CR, LF or NUL in command");

    std::string_view rest = line;
    cmd.keyword = next_token(rest);
    const bool had_space = cmd.keyword.size() < line.size();
    if (cmd.keyword.size() < 3 || cmd.keyword.size() > 4)
        return bad(error::bad_keyword, "command keyword must be 3 or 4 characters");
    for (char c : cmd.keyword) {
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c)))
            return bad(error::bad_keyword, "command keyword must be letters or digits");
    }
    cmd.info = find_command(cmd.keyword);
    if (!cmd.info) return bad(error::unknown_command, "unknown command");
    cmd.id = cmd.info->id;

    // Split the arguments, each separated by exactly one space.
    if (had_space) {
        while (true) {
            if (cmd.arg_count == cmd.info->max_args)
                return bad(error::wrong_argument_count, "too many arguments");
            const bool last = cmd.arg_count + 1 == cmd.info->max_args;
            std::string_view arg =
                (last && cmd.info->last_arg_is_rest) ? std::exchange(rest, {}) : next_token(rest);
            if (arg.empty() && !(last && cmd.info->last_arg_is_rest))
                return bad(error::wrong_argument_count,
                           "empty argument (two spaces, or a space at the end of the line)");
            const bool more = arg.data() + arg.size() < line.data() + line.size();
            cmd.args[cmd.arg_count++] = arg;
            if (!more) break;
        }
    }
    if (cmd.arg_count < cmd.info->min_args)
        return bad(error::wrong_argument_count, "missing argument");

    for (std::size_t i = 0; i < cmd.arg_count; ++i) {
        if ((cmd.info->message_number_args >> i & 1) && !parse_message_number(cmd.args[i]))
            return bad(error::bad_message_number,
                       "message number must be a positive decimal number");
    }
    if (cmd.id == command_id::top && !parse_decimal(cmd.args[1]))
        return bad(error::bad_number, "TOP line count must be a non-negative decimal number");
    ec.clear();
    return cmd;
}

} // namespace pop3
