#include "pop3/mockserver/planted_bug.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <pop3/protocol/text.hpp>
#include <vector>

namespace pop3::mock {
namespace {

struct named_bug {
    planted_bug bug;
    std::string_view name;
};

// The one table of names (in enum order: to_string indexes it).
constexpr std::array<named_bug, 14> names = {{
    {planted_bug::list_crash_2g, "list-crash-2g"},
    {planted_bug::rset_hang_3, "rset-hang-3"},
    {planted_bug::stls_keeps_plaintext, "stls-keeps-plaintext"},
    {planted_bug::dele_twice_ok, "dele-twice-ok"},
    {planted_bug::number_wraps_2_32, "number-wraps-2^32"},
    {planted_bug::noop_leak, "noop-leak"},
    {planted_bug::pass_crash_300, "pass-crash-300"},
    {planted_bug::unstuffed_dot, "unstuffed-dot"},
    {planted_bug::uidl_changes_after_rset, "uidl-changes-after-rset"},
    {planted_bug::long_err_echo, "long-err-echo"},
    {planted_bug::bare_lf_listing, "bare-lf-listing"},
    {planted_bug::list_shows_deleted, "list-shows-deleted"},
    {planted_bug::stat_counts_deleted, "stat-counts-deleted"},
    {planted_bug::capa_unterminated_transaction, "capa-unterminated-transaction"},
}};

static_assert(
    [] {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (static_cast<std::size_t>(names[i].bug) != i) return false;
        return true;
    }(),
    "the names are in enum order");

constexpr std::array<planted_bug, names.size()> all = [] {
    std::array<planted_bug, names.size()> bugs{};
    for (std::size_t i = 0; i < names.size(); ++i)
        bugs[i] = names[i].bug;
    return bugs;
}();

#if POP3_PLANTED_BUGS

bool has(std::span<const planted_bug> planted, planted_bug bug) noexcept {
    return std::find(planted.begin(), planted.end(), bug) != planted.end();
}

// `line` is KEYWORD SP ARGUMENT, the keyword case-insensitive; the argument, else nullopt.
std::optional<std::string_view> argument_of(std::string_view line, std::string_view keyword) {
    if (line.size() <= keyword.size() || line[keyword.size()] != ' ' ||
        !iequals(line.substr(0, keyword.size()), keyword))
        return std::nullopt;
    return line.substr(keyword.size() + 1);
}

// Whether `digits` is a decimal number of at least 2^31, however long.
bool at_least_2g(std::string_view digits) noexcept {
    if (digits.empty()) return false;
    std::uint64_t value = 0;
    bool big = false;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        if (!big) value = value * 10 + static_cast<std::uint64_t>(c - '0');
        big = big || value >= (std::uint64_t{1} << 31);
    }
    return big;
}

// noop-leak's blocks: never freed, reachable for as long as the process lives.
constexpr std::size_t leak_block = 64 * 1024;
std::mutex leak_mutex;
std::vector<std::unique_ptr<char[]>>* leaked = nullptr;

#endif

} // namespace

std::string_view to_string(planted_bug bug) noexcept {
    const auto i = static_cast<std::size_t>(bug);
    return i < names.size() ? names[i].name : std::string_view("unknown");
}

std::optional<planted_bug> parse_planted_bug(std::string_view name) noexcept {
    for (const auto& n : names)
        if (n.name == name) return n.bug;
    return std::nullopt;
}

std::span<const planted_bug> all_planted_bugs() noexcept {
    return all;
}

bool planted_bugs_compiled() noexcept {
#if POP3_PLANTED_BUGS
    return true;
#else
    return false;
#endif
}

std::optional<planted_bug> planted_crash_due(std::span<const planted_bug> planted,
                                             session_state state, std::string_view line) noexcept {
#if POP3_PLANTED_BUGS
    // LIST's handler converts the number to an int and indexes with it: 2^31 and beyond are
    // negative, far outside the array.
    if (state == session_state::transaction && has(planted, planted_bug::list_crash_2g))
        if (const auto arg = argument_of(line, "LIST"); arg && at_least_2g(*arg))
            return planted_bug::list_crash_2g;
    // PASS's handler copies the password into char[300] without looking at its length.
    if (state == session_state::authorization && has(planted, planted_bug::pass_crash_300))
        if (const auto arg = argument_of(line, "PASS"); arg && arg->size() >= 300)
            return planted_bug::pass_crash_300;
#else
    (void)planted;
    (void)state;
    (void)line;
#endif
    return std::nullopt;
}

void planted_noop_leak() {
#if POP3_PLANTED_BUGS
    auto bytes = std::make_unique_for_overwrite<char[]>(leak_block);
    std::memset(bytes.get(), 0x5a, leak_block); // touched: the pages count in the resident size
    const std::lock_guard lock(leak_mutex);
    if (!leaked) leaked = new std::vector<std::unique_ptr<char[]>>;
    leaked->push_back(std::move(bytes));
#endif
}

std::size_t planted_noop_leaked_octets() noexcept {
#if POP3_PLANTED_BUGS
    const std::lock_guard lock(leak_mutex);
    return leaked ? leaked->size() * leak_block : 0;
#else
    return 0;
#endif
}

} // namespace pop3::mock
