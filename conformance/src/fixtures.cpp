#include "pop3/conformance/fixtures.hpp"

#include "pop3/conformance/embedded.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace pop3::conformance {
namespace fs = std::filesystem;

namespace {

// The first line of the index: what marks a folder as written by write_fixtures().
constexpr std::string_view index_marker = "# pop3-conformance fixtures";

void write_file(const fs::path& file, std::string_view data) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(file.string() + ": cannot open for writing");
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.close();
    if (!out) throw std::runtime_error(file.string() + ": cannot write");
}

// The message as an MDA stores it: CRLF as LF (the mock server and Dovecot read both).
std::string to_lf(std::string_view content) {
    std::string out;
    out.reserve(content.size());
    for (std::size_t i = 0; i < content.size(); ++i)
        if (!(content[i] == '\r' && i + 1 < content.size() && content[i + 1] == '\n'))
            out += content[i];
    return out;
}

// A Maildir++ name: time.unique.host,S=size,W=size-with-CRLF:2, with the time counting the
// messages, so that names sort in message order (and Dovecot, which assigns UIDs in that order
// when it first scans the folder, keeps it). 10 digits for up to a million messages.
std::string maildir_name(std::size_t number, std::size_t file_octets, std::size_t crlf_octets) {
    return std::to_string(1420070400 + number) + ".M" + std::to_string(number) +
           "P1.pop3kit,S=" + std::to_string(file_octets) + ",W=" + std::to_string(crlf_octets) +
           ":2,";
}

// mboxrd: each message after a From_ line; a line that starts with ">*From " gets one more
// '>'; a blank line ends a message that has content (an empty message has none, so that it is
// read back as empty).
std::string mbox_text(const std::vector<mock::message_ptr>& messages) {
    std::string out;
    for (const auto& m : messages) {
        out += "From pop3kit@pop3kit.test Thu Jan  1 00:00:00 2015\n";
        const std::string lf = to_lf(m->content);
        std::string_view rest = lf;
        while (!rest.empty()) {
            const auto eol = rest.find('\n');
            const auto line = rest.substr(0, eol == std::string_view::npos ? rest.size() : eol + 1);
            rest.remove_prefix(line.size());
            const auto gt = line.find_first_not_of('>');
            if (gt != std::string_view::npos && line.substr(gt).starts_with("From ")) out += '>';
            out += line;
        }
        if (!lf.empty()) out += '\n';
    }
    return out;
}

} // namespace

// A server reads an mbox
// message's first lines as its header up to the first blank line, so a message that does not
// start with a header field comes back changed (a blank line added, or lines taken into the
// From_ line's header), and an empty message is a From_ line with nothing after it, which
// servers read differently (one refuses the whole mbox, one folds it into the message before).
// Found against popa3d and GNU Mailutils: a verdict on such a fixture would be about the file,
// not the server.
std::optional<std::string> mbox_cannot_hold(const std::vector<mock::message_ptr>& messages) {
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const std::string_view content = messages[i]->content;
        const std::string n = std::to_string(i + 1);
        if (content.empty()) return "message " + n + " is empty, which an mbox cannot hold";
        const auto first = content.substr(0, content.find_first_of("\r\n"));
        const auto colon = first.find(':');
        const bool field = colon != std::string_view::npos && colon > 0 &&
                           std::all_of(first.begin(), first.begin() + static_cast<long>(colon),
                                       [](char c) { return c > ' ' && c < 0x7f; });
        if (!field)
            return "message " + n +
                   " does not start with a header field, so an mbox server would read its "
                   "first lines as a header";
    }
    return std::nullopt;
}

std::optional<fixture_format> parse_fixture_format(std::string_view name) noexcept {
    if (name == "maildir") return fixture_format::maildir;
    if (name == "mbox") return fixture_format::mbox;
    if (name == "eml") return fixture_format::eml;
    return std::nullopt;
}

std::string_view to_string(fixture_format f) noexcept {
    switch (f) {
    case fixture_format::maildir: return "maildir";
    case fixture_format::mbox: return "mbox";
    case fixture_format::eml: return "eml";
    }
    return "maildir";
}

std::string fixture_folder_name(std::string_view maildrop) {
    std::string name(maildrop);
    for (auto& c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            c = '-';
    // Never "", "." or "..": those name no folder of their own.
    if (name.find_first_not_of('.') == std::string::npos) name = "maildrop-" + name;
    return name;
}

std::vector<std::string> fixture_maildrops(const std::vector<test_case>& cases) {
    std::vector<std::string> names{"default"};
    for (const auto& c : cases)
        if (c.dir == direction::server &&
            std::find(names.begin(), names.end(), c.maildrop) == names.end())
            names.push_back(c.maildrop);
    return names;
}

void write_fixture(const fs::path& folder, const std::vector<mock::message_ptr>& messages,
                   fixture_format format) {
    std::error_code ec;
    fs::remove_all(folder, ec);
    if (ec) throw std::runtime_error(folder.string() + ": cannot remove: " + ec.message());
    fs::create_directories(folder, ec);
    if (ec) throw std::runtime_error(folder.string() + ": cannot create: " + ec.message());
    switch (format) {
    case fixture_format::maildir:
        for (const char* sub : {"cur", "new", "tmp"}) {
            fs::create_directory(folder / sub, ec);
            if (ec)
                throw std::runtime_error((folder / sub).string() +
                                         ": cannot create: " + ec.message());
        }
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const std::string lf = to_lf(messages[i]->content);
            write_file(folder / "cur" / maildir_name(i + 1, lf.size(), messages[i]->octets()), lf);
        }
        break;
    case fixture_format::mbox:
        if (const auto why = mbox_cannot_hold(messages)) throw std::runtime_error(*why);
        write_file(folder / "mbox", mbox_text(messages));
        break;
    case fixture_format::eml:
        for (std::size_t i = 0; i < messages.size(); ++i) {
            char name[32];
            std::snprintf(name, sizeof name, "%07zu.eml", i + 1);
            write_file(folder / name, messages[i]->content);
        }
        break;
    }
}

std::vector<std::pair<std::string, std::string>>
write_fixtures(const fs::path& dir, const std::vector<std::string>& maildrops,
               fixture_format format) {
    std::vector<std::pair<std::string, std::string>> left_out;
    std::error_code ec;
    const auto index = dir / fixture_index_name;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw std::invalid_argument(dir.string() + ": exists and is not a folder");
    if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec)) {
        // Only a folder written here before is written over: its subfolders are replaced.
        std::ifstream in(index);
        std::string first;
        if (!in || !std::getline(in, first) || !first.starts_with(index_marker))
            throw std::invalid_argument(
                dir.string() + ": not empty, and not a folder of pop3-conformance fixtures (no " +
                std::string(fixture_index_name) + " written by it); give a new or empty folder");
    }
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        throw std::invalid_argument(dir.string() + ": cannot create the folder" +
                                    (ec ? ": " + ec.message() : std::string()));

    std::string text = std::string(index_marker) + ": the transcripts' maildrops as " +
                       std::string(to_string(format)) + ", one folder per maildrop.\n" +
                       "# Load FOLDER as the test user's maildrop before the cases that name "
                       "MAILDROP (maildrop: in\n"
                       "# docs/transcripts.md); pop3-conformance server --provision COMMAND "
                       "does it case by case.\n";
    if (format == fixture_format::mbox) text += "# The mbox of a maildrop is FOLDER/mbox.\n";
    text += "# MAILDROP FOLDER MESSAGES OCTETS\n";
    for (const auto& name : maildrops) {
        const auto messages = embedded_messages(name);
        const auto folder = fixture_folder_name(name);
        if (format == fixture_format::mbox)
            if (const auto why = mbox_cannot_hold(messages)) {
                text += "# " + name + ": not written: " + *why + "\n";
                left_out.emplace_back(name, *why);
                continue;
            }
        write_fixture(dir / folder, messages, format);
        std::uint64_t octets = 0;
        for (const auto& m : messages)
            octets += m->octets();
        text += name + " " + folder + " " + std::to_string(messages.size()) + " " +
                std::to_string(octets) + "\n";
    }
    write_file(index, text);
    return left_out;
}

} // namespace pop3::conformance
