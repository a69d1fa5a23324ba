// The transcripts' named maildrops (dots, empty, generate:COUNT:SIZE, ...) written as files that
// any server can load: a Maildir, an mbox or a folder of .eml files per maildrop, holding exactly
// the messages the embedded server serves (embedded_messages).
#pragma once

#include "pop3/conformance/transcript.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <pop3/mockserver/maildrop.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pop3::conformance {

// maildir: FOLDER/cur/ (one file per message, LF line ends, Maildir++ names with S= and W=
// that sort in message order), FOLDER/new/ and FOLDER/tmp/ empty. mbox: FOLDER/mbox, mboxrd,
// LF line ends. eml: FOLDER/NNNNNNN.eml, the message exactly (CRLF), in name order.
enum class fixture_format : std::uint8_t { maildir, mbox, eml };

std::optional<fixture_format> parse_fixture_format(std::string_view name) noexcept;
std::string_view to_string(fixture_format f) noexcept;

// The folder name of a maildrop: what a file system takes anywhere (letters, digits, '.', '-',
// '_'), every other character as '-': generate:3:500 is generate-3-500.
std::string fixture_folder_name(std::string_view maildrop);

// The maildrops the server-direction cases name, "default" first, then in the order of their
// first use.
std::vector<std::string> fixture_maildrops(const std::vector<test_case>& cases);

// Writes `messages` into `folder` (created; a folder already there is replaced). Throws
// std::runtime_error naming the path when a file cannot be written.
// Why an mbox cannot hold these messages faithfully (an empty message, one that does not start
// with a header field), or nullopt. write_fixture refuses such an mbox; write_fixtures leaves
// such a maildrop out and says why in its index.
std::optional<std::string> mbox_cannot_hold(const std::vector<mock::message_ptr>& messages);

void write_fixture(const std::filesystem::path& folder,
                   const std::vector<mock::message_ptr>& messages, fixture_format format);

// The name of the index file write_fixtures() puts in its folder: one line per maildrop,
// "MAILDROP FOLDER MESSAGES OCTETS", after '#' comment lines.
inline constexpr std::string_view fixture_index_name = "index.txt";

// Writes each maildrop (embedded_messages) into dir/fixture_folder_name(maildrop), and the
// index. `dir` is created when missing; it must be empty or a folder this function wrote before
// (it has the index), else std::invalid_argument. File errors throw std::runtime_error.
// Returns the maildrops left out (an mbox cannot hold them: mbox_cannot_hold), each with why.
std::vector<std::pair<std::string, std::string>>
write_fixtures(const std::filesystem::path& dir, const std::vector<std::string>& maildrops,
               fixture_format format);

} // namespace pop3::conformance
