// Maildrops for the mock server: messages with stable unique-ids, loaded from a directory of
// .eml files, a Maildir, an mbox file, or generated; shared by sessions with a lock per user.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::mock {

// One message, immutable once loaded. `content` has CRLF line ends; `wire` is the dot-stuffed
// form with the terminator, computed once so that RETR of a large message copies nothing.
struct message {
    std::string uid;
    std::string content;
    std::string wire;
    std::filesystem::path source; // file it came from (empty for mbox and generated messages)

    std::uint64_t octets() const noexcept { return content.size(); }
    // Headers (up to and including the blank line) and body, split at the first empty line.
    std::string_view headers() const noexcept;
    std::string_view body() const noexcept;
};

using message_ptr = std::shared_ptr<const message>;

// Builds a message: normalises LF to CRLF, stuffs, and keeps `uid`.
message_ptr make_message(std::string uid, std::string_view raw, std::filesystem::path source = {});

// Stable unique-ids: the same content in the same position gives the same uid across runs.
// Derived from a SHA-256 of the content; a repeat of identical content gets a "-N" suffix.
std::vector<std::string> content_uids(const std::vector<std::string_view>& contents);

enum class maildrop_kind { memory, directory, maildir, mbox, generated };

// A user's maildrop. Thread-safe: sessions on several threads lock it, read a snapshot and
// commit deletions.
class maildrop {
public:
    maildrop() = default;
    explicit maildrop(std::vector<message_ptr> messages, maildrop_kind kind = maildrop_kind::memory,
                      std::filesystem::path source = {});

    // Loaders. Errors throw std::runtime_error naming the path and the problem.
    static std::shared_ptr<maildrop> from_directory(const std::filesystem::path& dir);
    static std::shared_ptr<maildrop> from_maildir(const std::filesystem::path& dir);
    static std::shared_ptr<maildrop> from_mbox(const std::filesystem::path& file);
    static std::shared_ptr<maildrop> generate(std::size_t count, std::size_t size);
    // A directory holding cur/ and new/ is a Maildir, any other directory is .eml files, a file
    // is an mbox.
    static std::shared_ptr<maildrop> open(const std::filesystem::path& path);

    // Takes the maildrop for one session (RFC 1939 §8: an exclusive-access lock). False when
    // another session holds it.
    bool try_lock();
    void unlock();
    // The messages now in the maildrop.
    std::vector<message_ptr> snapshot() const;
    // UPDATE state: removes these messages (by uid) and, when `persist`, from the source.
    void commit_deletions(const std::vector<std::string>& uids, bool persist);

    maildrop_kind kind() const noexcept { return kind_; }

private:
    void persist_deletions(const std::vector<message_ptr>& removed);

    mutable std::mutex mutex_;
    std::vector<message_ptr> messages_;
    bool locked_ = false;
    maildrop_kind kind_ = maildrop_kind::memory;
    std::filesystem::path source_;
};

// The small maildrop that the server serves when given none: three messages, one of which has
// lines starting with '.', so that dot-stuffing is exercised from the first run.
std::shared_ptr<maildrop> default_maildrop();

} // namespace pop3::mock
