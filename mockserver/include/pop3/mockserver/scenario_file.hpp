// Scenario files: the TOML format of docs/scenarios.md, read into a `scenario` plus the users it
// declares. Every mistake in a hand-written file is refused with a `FILE:LINE: problem` message.
#pragma once

#include "pop3/mockserver/scenario.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pop3::mock {

// A [[user]] table. At most one of `maildrop` and `generate` is set; neither means the default
// maildrop.
struct user_spec {
    std::string name;
    std::string password;
    // Resolved against the scenario file's folder when relative (lexically; nothing is opened).
    std::optional<std::filesystem::path> maildrop;
    std::optional<std::pair<std::size_t, std::size_t>> generate; // COUNT, SIZE
    std::size_t source_line = 0;
};

struct scenario_file {
    scenario sc;
    std::vector<user_spec> users;
    std::string description; // the optional top-level `description`, empty when absent
};

// A scenario file that cannot be read or is wrong. what() is `FILE:LINE: problem`, or
// `FILE: problem` when no line applies (the file cannot be opened).
class scenario_error : public std::runtime_error {
public:
    using runtime_error::runtime_error;
};

// Reads and parses `file`. `scenario::file` is set to `file`, messages name it as given.
scenario_file load_scenario(const std::filesystem::path& file);

// Parses scenario text without touching the filesystem. `name_for_messages` prefixes every
// message, gives the default scenario name (its stem) and the folder that relative maildrop
// paths resolve against. Throws only scenario_error, whatever the bytes.
scenario_file parse_scenario(std::string_view text, const std::filesystem::path& name_for_messages);

// Client-case files (docs/client-conformance.md) are TOML too, read here: `[[case]]` tables
// whose keys hold strings, integers, booleans or arrays of strings or of integers, each with an
// optional `[case.server]` table of such keys and an optional `[case.deviation]`: a [[rule]]
// that names a `role` (served once: `once` is set). The meaning of the other keys is the
// caller's, which reports its own problems with their lines.
struct case_value {
    std::variant<std::string, std::int64_t, bool, std::vector<std::string>,
                 std::vector<std::int64_t>>
        value;
    std::size_t line = 0;
};

struct case_table {
    std::size_t line = 0; // of the [[case]] header
    std::map<std::string, case_value> keys;
    std::map<std::string, case_value> server;
    std::optional<rule> deviation;
};

// Throws scenario_error `FILE:LINE: problem` for TOML errors, nesting, keys of other types,
// tables other than [case.server] and [case.deviation], top-level keys other than [[case]],
// and any problem of the deviation's rule.
std::vector<case_table> parse_case_tables(std::string_view text,
                                          const std::filesystem::path& name_for_messages);
std::vector<case_table> load_case_tables(const std::filesystem::path& file);

// How deeply a scenario file may nest: each part of a dotted key or table header counts one
// level, and an array's elements (of [[table]] too) one more: in `[server.capabilities]`,
// `authorization = ["USER"]` is 3 and "USER" 4.
// Deeper files are refused before toml++ sees them: it builds and walks nested tables
// recursively, so a few thousand levels would overflow the stack.
inline constexpr std::size_t max_scenario_depth = 16;

// Largest `huge_line` of a [[rule]]: the line is built in memory for each reply.
inline constexpr std::size_t max_huge_line = std::size_t{1} << 30; // 1 GiB

// Largest values parse_count_size accepts.
inline constexpr std::size_t max_generate_count = 1'000'000;
inline constexpr std::size_t max_generate_size = std::size_t{1} << 30;      // 1 GiB a message
inline constexpr std::uint64_t max_generate_total = std::uint64_t{1} << 32; // 4 GiB in all

// Parses "COUNT:SIZE" (decimal, e.g. "3:1000") for generated maildrops. On error throws
// scenario_error `<subject> must be COUNT:SIZE ... (got "...")`; the CLI passes "--generate", the
// scenario parser "FILE:LINE: 'generate'".
std::pair<std::size_t, std::size_t> parse_count_size(std::string_view text,
                                                     std::string_view subject = "generate");

} // namespace pop3::mock
