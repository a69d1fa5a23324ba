#include "pop3/mockserver/maildrop.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <pop3/protocol/digest.hpp>
#include <pop3/protocol/dot_codec.hpp>
#include <sstream>
#include <stdexcept>

namespace pop3::mock {
namespace fs = std::filesystem;

namespace {

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

std::vector<fs::path> sorted_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string().front() != '.')
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

bool is_uid_char(char c) noexcept {
    return c >= 0x21 && c <= 0x7e;
}

// A file name (without a Maildir ":2,flags" suffix) is a fine uid when it is valid and short.
std::optional<std::string> uid_from_name(std::string name) {
    if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    if (name.empty() || name.size() > 70 || !std::all_of(name.begin(), name.end(), is_uid_char))
        return std::nullopt;
    return name;
}

std::shared_ptr<maildrop> from_files(const std::vector<fs::path>& files, maildrop_kind kind,
                                     const fs::path& source) {
    std::vector<std::string> raws;
    std::vector<std::string_view> views;
    for (const auto& f : files)
        raws.push_back(read_file(f));
    for (const auto& r : raws)
        views.push_back(r);
    const auto hashed = content_uids(views);
    std::vector<message_ptr> msgs;
    for (std::size_t i = 0; i < files.size(); ++i) {
        auto uid = uid_from_name(files[i].filename().string()).value_or(hashed[i]);
        msgs.push_back(make_message(std::move(uid), raws[i], files[i]));
    }
    return std::make_shared<maildrop>(std::move(msgs), kind, source);
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

std::vector<std::string> content_uids(const std::vector<std::string_view>& contents) {
    std::vector<std::string> uids;
    std::map<std::string, int> seen;
    for (auto c : contents) {
        auto uid = to_hex(sha256(c)).substr(0, 32);
        if (const int n = ++seen[uid]; n > 1) uid += "-" + std::to_string(n);
        uids.push_back(std::move(uid));
    }
    return uids;
}

maildrop::maildrop(std::vector<message_ptr> messages, maildrop_kind kind, fs::path source)
    : messages_(std::move(messages)), kind_(kind), source_(std::move(source)) {}

std::shared_ptr<maildrop> maildrop::from_directory(const fs::path& dir) {
    if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a directory");
    return from_files(sorted_files(dir), maildrop_kind::directory, dir);
}

std::shared_ptr<maildrop> maildrop::from_maildir(const fs::path& dir) {
    if (!fs::is_directory(dir / "cur") || !fs::is_directory(dir / "new"))
        throw std::runtime_error(dir.string() + ": not a Maildir (needs cur/ and new/)");
    auto files = sorted_files(dir / "cur");
    for (auto& f : sorted_files(dir / "new"))
        files.push_back(std::move(f));
    return from_files(files, maildrop_kind::maildir, dir);
}

std::shared_ptr<maildrop> maildrop::from_mbox(const fs::path& file) {
    const std::string raw = read_file(file);
    // mboxrd: messages start at "From " lines; ">From " lines in bodies lose one '>'.
    std::vector<std::string> bodies;
    std::size_t pos = 0;
    if (!raw.empty() && !raw.starts_with("From "))
        throw std::runtime_error(file.string() + ":1: mbox must start with a 'From ' line");
    while (pos < raw.size()) {
        const auto eol = raw.find('\n', pos);
        const auto line_end = eol == std::string::npos ? raw.size() : eol + 1;
        std::string_view line(raw.data() + pos, line_end - pos);
        if (line.starts_with("From ")) {
            bodies.emplace_back();
        } else {
            std::size_t gt = 0;
            while (gt < line.size() && line[gt] == '>')
                ++gt;
            if (gt > 0 && line.substr(gt).starts_with("From ")) line.remove_prefix(1);
            bodies.back().append(line);
        }
        pos = line_end;
    }
    // The blank line before each "From " separator belongs to the mbox, not the message.
    for (auto& b : bodies) {
        if (b.ends_with("\r\n\r\n"))
            b.resize(b.size() - 2);
        else if (b.ends_with("\n\n"))
            b.resize(b.size() - 1);
    }
    std::vector<std::string_view> views(bodies.begin(), bodies.end());
    const auto uids = content_uids(views);
    std::vector<message_ptr> msgs;
    for (std::size_t i = 0; i < bodies.size(); ++i)
        msgs.push_back(make_message(uids[i], bodies[i]));
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

void maildrop::commit_deletions(const std::vector<std::string>& uids, bool persist) {
    std::vector<message_ptr> removed;
    {
        std::lock_guard g(mutex_);
        auto gone = [&](const message_ptr& m) {
            return std::find(uids.begin(), uids.end(), m->uid) != uids.end();
        };
        for (const auto& m : messages_)
            if (gone(m)) removed.push_back(m);
        std::erase_if(messages_, gone);
        if (persist && !removed.empty()) persist_deletions(removed);
    }
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
    case maildrop_kind::mbox: {
        // Rewrite the mbox with what is left (mboxrd quoting of "From " lines).
        const auto tmp = source_.string() + ".pop3kit-tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (!out) throw std::runtime_error(tmp + ": cannot write");
            for (const auto& m : messages_) {
                out << "From pop3kit@localhost Thu Jan  1 00:00:00 1970\r\n";
                std::string_view rest = m->content;
                while (!rest.empty()) {
                    const auto eol = rest.find('\n');
                    auto line =
                        rest.substr(0, eol == std::string_view::npos ? rest.size() : eol + 1);
                    std::size_t gt = 0;
                    while (gt < line.size() && line[gt] == '>')
                        ++gt;
                    if (line.substr(gt).starts_with("From ")) out << '>';
                    out << line;
                    rest.remove_prefix(line.size());
                }
                out << "\r\n";
            }
            out.flush();
            // Never rename a half-written file over the mbox.
            if (!out) throw std::runtime_error(tmp + ": could not write the rewritten mbox");
        }
        fs::rename(tmp, source_);
        break;
    }
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
