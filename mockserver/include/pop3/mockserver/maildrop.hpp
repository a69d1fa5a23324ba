// Maildrops for the mock server: messages with stable unique-ids, loaded from a directory of
// .eml files, a Maildir, an mbox file, or generated; shared by sessions with a lock per user.
#pragma once

#include <chrono>
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
    // An mbox message: the SHA-256 (32 raw octets) of its octets in the file, its From_ line and
    // original line ends included, trailing CR and LF left out. A rewrite of the mbox finds the
    // message again by it.
    std::string mbox_digest;

    std::uint64_t octets() const noexcept { return content.size(); }
    // Headers (up to and including the blank line) and body, split at the first empty line.
    std::string_view headers() const noexcept;
    std::string_view body() const noexcept;
};

using message_ptr = std::shared_ptr<const message>;

// Builds a message: normalises LF to CRLF, stuffs, and keeps `uid`.
message_ptr make_message(std::string uid, std::string_view raw, std::filesystem::path source = {});

// Stable unique-ids: the same content gives the same uid across runs, wherever it is in the
// maildrop. Derived from a SHA-256 of the content; the Nth repeat of identical content gets a
// "-N" suffix (N >= 2), so only deleting an earlier identical copy changes a uid.
std::vector<std::string> content_uids(const std::vector<std::string_view>& contents);

enum class maildrop_kind { memory, directory, maildir, mbox, generated };

// A user's maildrop. Thread-safe: sessions on several threads lock it, read a snapshot and
// commit deletions. Unique-ids are unique within the maildrop (RFC 1939 §7); docs/scenarios.md
// (`maildrop`) gives the rules for each kind.
class maildrop {
public:
    maildrop() = default;
    explicit maildrop(std::vector<message_ptr> messages, maildrop_kind kind = maildrop_kind::memory,
                      std::filesystem::path source = {});

    // Loaders. Errors throw std::runtime_error naming the path and the problem.
    // A directory serves its *.eml files (case-insensitive) in name order; other files are
    // counted in ignored_files(), hidden files and subfolders are passed over.
    static std::shared_ptr<maildrop> from_directory(const std::filesystem::path& dir);
    // cur/ then new/, every file that is not hidden.
    static std::shared_ptr<maildrop> from_maildir(const std::filesystem::path& dir);
    // mboxrd: messages start at "From " lines.
    static std::shared_ptr<maildrop> from_mbox(const std::filesystem::path& file);
    static std::shared_ptr<maildrop> generate(std::size_t count, std::size_t size);
    // A directory holding cur/ and new/ is a Maildir, any other directory is .eml files, a file
    // is an mbox.
    static std::shared_ptr<maildrop> open(const std::filesystem::path& path);

    // Another maildrop with the same messages (shared, not copied), kind and source, but its own
    // lock and its own deletions: two users of one folder are two mailboxes. Do not let two
    // clones write deletions back to one source; share one maildrop for that.
    std::shared_ptr<maildrop> clone() const;

    // Takes the maildrop for one session (RFC 1939 §8: an exclusive-access lock). False when
    // another session holds it.
    bool try_lock();
    void unlock();
    // The messages now in the maildrop.
    std::vector<message_ptr> snapshot() const;
    // UPDATE state: removes these messages (the pointers snapshot() gave; others are ignored)
    // and, when `persist`, deletes them from the source: the files of a directory or Maildir, or
    // their octets in the mbox (under an fcntl lock and FILE.lock, re-reading the file so that
    // mail added meanwhile is kept). Linear in the size of the maildrop. Synchronous, and safe
    // on any thread; the file work holds no lock that snapshot() or try_lock() wait for. Throws
    // std::runtime_error when the source cannot be rewritten, and then removes nothing.
    void commit_deletions(const std::vector<message_ptr>& gone, bool persist);

    maildrop_kind kind() const noexcept { return kind_; }
    const std::filesystem::path& source() const noexcept { return source_; }
    // Files from_directory() did not serve because they are not named *.eml.
    std::size_t ignored_files() const noexcept { return ignored_files_; }
    // How long a commit to an mbox waits for its locks (fcntl, then FILE.lock) before it gives up
    // (default 10 s). Set it before sessions use the maildrop.
    void set_lock_timeout(std::chrono::milliseconds t) noexcept { lock_timeout_ = t; }

private:
    void persist_deletions(const std::vector<message_ptr>& removed);

    mutable std::mutex mutex_;
    std::mutex persist_mutex_; // one commit at a time writes to the source
    std::vector<message_ptr> messages_;
    bool locked_ = false;
    maildrop_kind kind_ = maildrop_kind::memory;
    std::filesystem::path source_;
    std::size_t ignored_files_ = 0;
    std::chrono::milliseconds lock_timeout_{10000};
};

// The small maildrop that the server serves when given none: three messages, one of which has
// lines starting with '.', so that dot-stuffing is exercised from the first run.
std::shared_ptr<maildrop> default_maildrop();

} // namespace pop3::mock
