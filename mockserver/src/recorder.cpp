#include "pop3/mockserver/recorder.hpp"

#include <pop3/protocol/error.hpp>
#include <pop3/protocol/text.hpp>

namespace pop3::mock {

recorder::recorder(const std::filesystem::path& file, bool mask_credentials)
    : out_(file, std::ios::binary | std::ios::trunc), mask_(mask_credentials) {
    out_ << "# pop3kit mock server session recording\n";
}

std::string recorder::mask_client_line(std::string_view line) {
    std::string_view rest = line;
    const auto keyword = next_token(rest);
    if (in_sasl_) return mask_ ? "****" : std::string(line);
    if (iequals(keyword, "AUTH")) {
        const auto mech = next_token(rest);
        in_sasl_ = !mech.empty(); // a bare AUTH only lists the mechanisms
        if (mask_ && !rest.empty()) return std::string(keyword) + " " + std::string(mech) + " ****";
        return std::string(line);
    }
    if (!mask_) return std::string(line);
    if (iequals(keyword, "PASS")) return std::string(keyword) + " ****";
    if (iequals(keyword, "APOP"))
        return std::string(keyword) + " " + std::string(next_token(rest)) + " ****";
    return std::string(line);
}

void recorder::emit(char who, std::string_view line, std::string_view bare_end) {
    if (who == 'C') {
        out_ << "C: " << escape_for_display(mask_client_line(line) + std::string(bare_end), 1 << 20)
             << '\n';
    } else {
        if (in_sasl_ && (line.starts_with("+OK") || line.starts_with("-ERR"))) in_sasl_ = false;
        out_ << "S: " << escape_for_display(std::string(line) + std::string(bare_end), 1 << 20)
             << '\n';
    }
}

void recorder::feed(char who, std::string& pending, std::string_view bytes) {
    pending.append(bytes);
    std::size_t start = 0;
    while (true) {
        const auto lf = pending.find('\n', start);
        if (lf == std::string::npos) break;
        auto line = std::string_view(pending).substr(start, lf - start);
        const bool crlf = !line.empty() && line.back() == '\r';
        if (crlf) line.remove_suffix(1);
        emit(who, line, crlf ? "" : "\n"); // a bare LF stays visible as \n
        start = lf + 1;
    }
    pending.erase(0, start);
    // A peer that never sends LF must not grow the recorder without bound (the session skips
    // such lines too): keep the start, note the cut.
    constexpr std::size_t max_pending = 64 * 1024;
    if (pending.size() > max_pending) {
        note(std::string(who == 'C' ? "client" : "server") + " line over " +
             std::to_string(max_pending) +
             " octets without LF, cut: " + escape_for_display(pending.substr(0, 200), 200));
        pending.clear();
    }
    out_.flush();
}

void recorder::client_bytes(std::string_view bytes) {
    feed('C', client_pending_, bytes);
}

void recorder::server_bytes(std::string_view part1, std::string_view part2) {
    feed('S', server_pending_, part1);
    feed('S', server_pending_, part2);
}

recorder::~recorder() {
    // Bytes after the last line end: a reply cut short, or a command never finished.
    if (!server_pending_.empty())
        note("incomplete server line: " + escape_for_display(server_pending_, 1 << 20));
    if (!client_pending_.empty())
        note("incomplete client line: " + escape_for_display(client_pending_, 1 << 20));
}

void recorder::note(std::string_view text) {
    out_ << "# " << text << '\n';
    out_.flush();
}

} // namespace pop3::mock
