#include "pop3/mockserver/maildrop.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <pop3/protocol/digest.hpp>
#include <pop3/protocol/dot_codec.hpp>
#include <pop3/protocol/text.hpp>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace pop3::mock {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_uid = 70; // RFC 1939 §7

std::string normalize_crlf(std::string_view raw) {
    std::string out;
    out.reserve(raw.size() + raw.size() / 32);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) out += '\r';
        out += raw[i];
    }
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error(p.string() + ": cannot open for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

std::runtime_error system_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// The regular files of a folder that are not hidden, in name order.
std::vector<fs::path> sorted_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string().front() != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

bool is_eml(const fs::path& p) {
    const std::string name = p.filename().string();
    return name.size() > 4 && iequals(std::string_view(name).substr(name.size() - 4), ".eml");
}

bool is_valid_uid(std::string_view uid) noexcept {
    return !uid.empty() && uid.size() <= max_uid &&
           std::all_of(uid.begin(), uid.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

// A Maildir file name without its info (":2,flags", or the experimental ":1,..."): the part
// that stays when the file moves from new/ to cur/ or its flags change.
std::string maildir_unique(std::string name) {
    const auto colon = name.rfind(':');
    if (colon != std::string::npos &&
        (name.compare(colon + 1, 2, "2,") == 0 || name.compare(colon + 1, 2, "1,") == 0))
        name.resize(colon);
    return name;
}

std::string hash_uid(std::string_view content) {
    return to_hex(sha256(content)).substr(0, 32);
}

// Makes unique-ids unique within a maildrop, whatever the names. Every message whose uid is
// shared gets instead that uid (cut to 61 characters), "-" and 8 hex digits of a hash of its
// key, a name unique to the message in its maildrop: the result depends on the message, not on
// its position. Should that still collide, later messages get "-2", "-3", ... in maildrop order.
void make_unique(std::vector<std::string>& uids, const std::vector<std::string>& keys) {
    std::unordered_map<std::string, std::size_t> count;
    for (const auto& u : uids)
        ++count[u];
    for (std::size_t i = 0; i < uids.size(); ++i)
        if (count[uids[i]] > 1)
            uids[i] = uids[i].substr(0, max_uid - 9) + "-" + to_hex(sha256(keys[i])).substr(0, 8);
    std::unordered_set<std::string> seen;
    for (auto& u : uids) {
        for (int n = 2; !seen.insert(u).second; ++n) {
            const auto suffix = "-" + std::to_string(n);
            const auto base = u.substr(0, max_uid - suffix.size());
            if (seen.insert(base + suffix).second) {
                u = base + suffix;
                break;
            }
        }
    }
}

std::shared_ptr<message> build_message(std::string uid, std::string_view raw, fs::path source) {
    auto m = std::make_shared<message>();
    m->uid = std::move(uid);
    m->content = normalize_crlf(raw);
    // The wire form ends every line in CRLF; so must the content, or the sizes LIST announces
    // would differ from what RETR sends (RFC 1939 §5: the exact size).
    if (!m->content.empty() && !m->content.ends_with("\r\n")) m->content += "\r\n";
    m->wire.reserve(m->content.size() + m->content.size() / 64 + 8);
    dot_stuff(m->content, m->wire);
    m->source = std::move(source);
    return m;
}

// Files of a directory or Maildir. The uid is the file name (for a Maildir without its info)
// when that is a valid unique-id, else a hash of the content; `keys` name each file uniquely
// within the maildrop.
std::shared_ptr<maildrop> from_files(const std::vector<fs::path>& files,
                                     const std::vector<std::string>& keys, maildrop_kind kind,
                                     const fs::path& source) {
    std::vector<std::string> raws;
    std::vector<std::string> uids;
    for (const auto& f : files) {
        raws.push_back(read_file(f));
        auto name = f.filename().string();
        if (kind == maildrop_kind::maildir) name = maildir_unique(std::move(name));
        uids.push_back(is_valid_uid(name) ? std::move(name) : hash_uid(raws.back()));
    }
    make_unique(uids, keys);
    std::vector<message_ptr> msgs;
    for (std::size_t i = 0; i < files.size(); ++i)
        msgs.push_back(build_message(std::move(uids[i]), raws[i], files[i]));
    return std::make_shared<maildrop>(std::move(msgs), kind, source);
}

// ---- mbox ----------------------------------------------------------------------------------

// The messages of an mbox as they are in the file: each from its "From " line up to the next
// one, the blank line before it included.
std::vector<std::string_view> split_mbox(std::string_view raw, const fs::path& file) {
    if (!raw.empty() && !raw.starts_with("From "))
        throw std::runtime_error(file.string() + ":1: mbox must start with a 'From ' line");
    std::vector<std::string_view> chunks;
    std::size_t start = 0;
    while (start < raw.size()) {
        const auto next = raw.find("\nFrom ", start);
        const auto end = next == std::string_view::npos ? raw.size() : next + 1;
        chunks.push_back(raw.substr(start, end - start));
        start = end;
    }
    return chunks;
}

// What identifies an mbox message in its file: its octets without the line ends at its end,
// which a program appending mail after it may add to (the blank line before a "From ").
std::string mbox_digest(std::string_view chunk) {
    while (!chunk.empty() && (chunk.back() == '\n' || chunk.back() == '\r'))
        chunk.remove_suffix(1);
    return sha256(chunk);
}

// mboxrd: the message is what follows its From_ line; ">From " lines lose one '>'; the blank
// line before the next "From " belongs to the mbox, not to the message.
std::string mbox_body(std::string_view chunk) {
    const auto first_eol = chunk.find('\n');
    std::string_view rest =
        first_eol == std::string_view::npos ? std::string_view() : chunk.substr(first_eol + 1);
    std::string body;
    body.reserve(rest.size());
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        auto line = rest.substr(0, eol == std::string_view::npos ? rest.size() : eol + 1);
        rest.remove_prefix(line.size());
        std::size_t gt = 0;
        while (gt < line.size() && line[gt] == '>')
            ++gt;
        if (gt > 0 && line.substr(gt).starts_with("From ")) line.remove_prefix(1);
        body.append(line);
    }
    if (body.ends_with("\r\n\r\n"))
        body.resize(body.size() - 2);
    else if (body.ends_with("\n\n"))
        body.resize(body.size() - 1);
    return body;
}

struct unique_fd {
    int fd = -1;
    unique_fd() = default;
    explicit unique_fd(int f) : fd(f) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() {
        if (fd >= 0) ::close(fd);
    }
};

// The locks of a program that changes an mbox, taken in the usual order: an fcntl write lock on
// the file, then the dot-lock FILE.lock created with O_EXCL. Each is retried until the
// deadline. Where the system has them the fcntl lock is an open-file-description lock: it also
// excludes the other threads of this process, and closing another descriptor of the file does
// not drop it.
class mbox_lock {
public:
    mbox_lock(const fs::path& file, std::chrono::milliseconds timeout)
        : file_(file), fd_(::open(file.c_str(), O_RDWR | O_CLOEXEC)) {
        if (fd_.fd < 0) throw system_error(file.string() + ": cannot open for rewriting");
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        auto wait = [&](const std::string& why) {
            if (std::chrono::steady_clock::now() >= deadline) throw std::runtime_error(why);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        };
        struct flock fl = {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
        constexpr int set_lock = F_OFD_SETLK;
#else
        constexpr int set_lock = F_SETLK;
#endif
        while (::fcntl(fd_.fd, set_lock, &fl) != 0) {
            if (errno != EACCES && errno != EAGAIN && errno != EINTR)
                throw system_error(file.string() + ": cannot lock (fcntl)");
            wait(file.string() + ": locked by another program (fcntl)");
        }
        const std::string dot = file.string() + ".lock";
        for (;;) {
            const int l = ::open(dot.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (l >= 0) {
                ::close(l);
                break;
            }
            if (errno != EEXIST) throw system_error(dot + ": cannot create the lock file");
            wait(dot + ": held by another program (remove it if it is stale)");
        }
        dot_lock_ = dot;
    }
    ~mbox_lock() {
        ::unlink(dot_lock_.c_str());
    } // then fd_ closes, which drops the fcntl lock
    mbox_lock(const mbox_lock&) = delete;
    mbox_lock& operator=(const mbox_lock&) = delete;

    int fd() const noexcept {
        return fd_.fd;
    }

    // The file as it is now, read through the locked descriptor.
    std::string read_all() const {
        std::string data;
        char buf[65536];
        for (off_t at = 0;;) {
            const auto n = ::pread(fd_.fd, buf, sizeof buf, at);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw system_error(file_.string() + ": cannot read");
            if (n == 0) return data;
            data.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
    }

private:
    fs::path file_;
    unique_fd fd_;
    std::string dot_lock_;
};

void write_all(int fd, std::string_view data, const std::string& name) {
    while (!data.empty()) {
        const auto n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_error(name + ": cannot write");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Removes these messages from the mbox, under its locks: the file is read again, so mail
// added since the maildrop was loaded stays; every other message keeps its octets (From_ line,
// quoting, line ends); the result goes to a temporary file renamed over the mbox. A message
// that is no longer in the file as it was loaded (changed, or removed by another program) is
// left alone.
void rewrite_mbox(const fs::path& file, const std::vector<message_ptr>& removed,
                  std::chrono::milliseconds timeout) {
    const mbox_lock lock(file, timeout);
    const std::string raw = lock.read_all();
    std::unordered_map<std::string, std::size_t> wanted;
    for (const auto& m : removed)
        ++wanted[m->mbox_digest];
    std::string out;
    out.reserve(raw.size());
    bool changed = false;
    for (const auto chunk : split_mbox(raw, file)) {
        const auto it = wanted.find(mbox_digest(chunk));
        if (it != wanted.end() && it->second > 0) {
            --it->second;
            changed = true;
        } else {
            out.append(chunk);
        }
    }
    if (!changed) return;

    static std::atomic<unsigned> counter{0};
    const std::string tmp = file.string() + ".pop3kit-" + std::to_string(::getpid()) + "-" +
                            std::to_string(counter++) + ".tmp";
    struct stat st = {};
    if (::fstat(lock.fd(), &st) != 0) throw system_error(file.string() + ": cannot stat");
    unique_fd t(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (t.fd < 0) throw system_error(tmp + ": cannot create");
    try {
        // The rewritten mbox keeps the mode (and, when allowed, the owner) of the original.
        (void)::fchown(t.fd, st.st_uid, st.st_gid);
        if (::fchmod(t.fd, st.st_mode & 07777) != 0) throw system_error(tmp + ": cannot chmod");
        write_all(t.fd, out, tmp);
        // Never rename a half-written file over the mbox.
        if (::fsync(t.fd) != 0) throw system_error(tmp + ": cannot sync");
        if (::rename(tmp.c_str(), file.c_str()) != 0)
            throw system_error(tmp + ": cannot rename over " + file.string());
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    const fs::path parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    if (const unique_fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        dir.fd >= 0)
        (void)::fsync(dir.fd);
}

} // namespace

std::string_view message::headers() const noexcept {
    const auto blank = content.find("\r\n\r\n");
    if (blank == std::string::npos) return content;
    return std::string_view(content).substr(0, blank + 4);
}

std::string_view message::body() const noexcept {
    return std::string_view(content).substr(headers().size());
}

message_ptr make_message(std::string uid, std::string_view raw, fs::path source) {
    return build_message(std::move(uid), raw, std::move(source));
}

std::vector<std::string> content_uids(const std::vector<std::string_view>& contents) {
    std::vector<std::string> uids;
    std::unordered_map<std::string, int> seen;
    for (auto c : contents) {
        auto uid = hash_uid(c);
        if (const int n = ++seen[uid]; n > 1) uid += "-" + std::to_string(n);
        uids.push_back(std::move(uid));
    }
    return uids;
}

maildrop::maildrop(std::vector<message_ptr> messages, maildrop_kind kind, fs::path source)
    : messages_(std::move(messages)), kind_(kind), source_(std::move(source)) {}

std::shared_ptr<maildrop> maildrop::from_directory(const fs::path& dir) {
    if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    std::vector<fs::path> files;
    std::vector<std::string> keys;
    std::size_t ignored = 0;
    for (auto& f : sorted_files(dir)) {
        if (!is_eml(f)) {
            ++ignored;
            continue;
        }
        keys.push_back(f.filename().string());
        files.push_back(std::move(f));
    }
    auto md = from_files(files, keys, maildrop_kind::directory, dir);
    md->ignored_files_ = ignored;
    return md;
}

std::shared_ptr<maildrop> maildrop::from_maildir(const fs::path& dir) {
    if (!fs::is_directory(dir / "cur") || !fs::is_directory(dir / "new"))
        throw std::runtime_error(dir.string() + ": not a Maildir (needs cur/ and new/)");
    std::vector<fs::path> files;
    std::vector<std::string> keys;
    for (const char* sub : {"cur", "new"}) {
        for (auto& f : sorted_files(dir / sub)) {
            keys.push_back(std::string(sub) + "/" + maildir_unique(f.filename().string()));
            files.push_back(std::move(f));
        }
    }
    return from_files(files, keys, maildrop_kind::maildir, dir);
}

std::shared_ptr<maildrop> maildrop::from_mbox(const fs::path& file) {
    const std::string raw = read_file(file);
    const auto chunks = split_mbox(raw, file);
    std::vector<std::string> bodies;
    bodies.reserve(chunks.size());
    for (const auto chunk : chunks)
        bodies.push_back(mbox_body(chunk));
    const std::vector<std::string_view> views(bodies.begin(), bodies.end());
    const auto uids = content_uids(views);
    std::vector<message_ptr> msgs;
    msgs.reserve(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        auto m = build_message(uids[i], bodies[i], {});
        m->mbox_digest = mbox_digest(chunks[i]);
        msgs.push_back(std::move(m));
    }
    return std::make_shared<maildrop>(std::move(msgs), maildrop_kind::mbox, file);
}

std::shared_ptr<maildrop> maildrop::generate(std::size_t count, std::size_t size) {
    std::vector<message_ptr> msgs;
    msgs.reserve(count);
    for (std::size_t i = 1; i <= count; ++i) {
        std::string m =
            "From: generator@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: message " +
            std::to_string(i) + "\r\nMessage-ID: <" + std::to_string(i) +
            ".generated@pop3kit.test>\r\n\r\n";
        // Body lines of 76 characters; every tenth starts with '.' to exercise stuffing.
        std::size_t line = 0;
        while (m.size() + 2 < size) {
            const std::size_t n = std::min<std::size_t>(76, size - m.size() - 2);
            std::string text(n, static_cast<char>('a' + (line % 26)));
            if (line % 10 == 3) text[0] = '.';
            m += text;
            m += "\r\n";
            ++line;
        }
        msgs.push_back(make_message("gen-" + std::to_string(i) + "-" + std::to_string(size), m));
    }
    return std::make_shared<maildrop>(std::move(msgs), maildrop_kind::generated);
}

std::shared_ptr<maildrop> maildrop::open(const fs::path& path) {
    if (fs::is_directory(path)) {
        if (fs::is_directory(path / "cur") && fs::is_directory(path / "new"))
            return from_maildir(path);
        return from_directory(path);
    }
    if (fs::is_regular_file(path)) return from_mbox(path);
    throw std::runtime_error(path.string() + ": no such file or directory");
}

std::shared_ptr<maildrop> maildrop::clone() const {
    auto copy = std::make_shared<maildrop>(snapshot(), kind_, source_);
    copy->ignored_files_ = ignored_files_;
    copy->lock_timeout_ = lock_timeout_;
    return copy;
}

bool maildrop::try_lock() {
    std::lock_guard g(mutex_);
    if (locked_) return false;
    locked_ = true;
    return true;
}

void maildrop::unlock() {
    std::lock_guard g(mutex_);
    locked_ = false;
}

std::vector<message_ptr> maildrop::snapshot() const {
    std::lock_guard g(mutex_);
    return messages_;
}

void maildrop::commit_deletions(const std::vector<message_ptr>& gone, bool persist) {
    if (gone.empty()) return;
    // By identity: two messages are never confused, whatever their uids or contents. The
    // caller's pointers keep the messages alive, so no address is reused during the call.
    std::unordered_set<const message*> wanted;
    wanted.reserve(gone.size());
    for (const auto& m : gone)
        wanted.insert(m.get());
    auto is_wanted = [&](const message_ptr& m) { return wanted.contains(m.get()); };

    std::unique_lock writing(persist_mutex_, std::defer_lock);
    if (persist) writing.lock();
    std::vector<message_ptr> removed;
    {
        std::lock_guard g(mutex_);
        for (const auto& m : messages_)
            if (is_wanted(m)) removed.push_back(m);
    }
    if (removed.empty()) return;
    // The file work runs without mutex_: sessions on other threads keep logging in and reading
    // snapshots meanwhile. If it throws, the maildrop still holds every message.
    if (persist) persist_deletions(removed);
    std::lock_guard g(mutex_);
    std::erase_if(messages_, is_wanted);
}

void maildrop::persist_deletions(const std::vector<message_ptr>& removed) {
    switch (kind_) {
    case maildrop_kind::directory:
    case maildrop_kind::maildir:
        for (const auto& m : removed) {
            std::error_code ec;
            fs::remove(m->source, ec); // a file already gone is as good as deleted
        }
        break;
    case maildrop_kind::mbox: rewrite_mbox(source_, removed, lock_timeout_); break;
    case maildrop_kind::memory:
    case maildrop_kind::generated: break;
    }
}

std::shared_ptr<maildrop> default_maildrop() {
    const std::string_view raws[] = {
        "From: alice@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Welcome\r\n\r\n"
        "This is the pop3kit mock server's default maildrop.\r\n",
        "From: bob@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Dots\r\n\r\n"
        "The next lines start with dots:\r\n.\r\n..\r\n.hidden\r\nend\r\n",
        "From: carol@pop3kit.test\r\nTo: user@pop3kit.test\r\nSubject: Empty body\r\n\r\n",
    };
    std::vector<message_ptr> msgs;
    int n = 0;
    for (auto r : raws)
        msgs.push_back(make_message("default-" + std::to_string(++n), r));
    return std::make_shared<maildrop>(std::move(msgs));
}

} // namespace pop3::mock
