#include "pop3/mockserver/recorder.hpp"

#include <pop3/protocol/error.hpp>
#include <pop3/protocol/text.hpp>
#include <pop3/protocol/transcript_text.hpp>

namespace pop3::mock {

recorder::recorder(const std::filesystem::path& file, bool mask_credentials)
    : out_(file, std::ios::binary | std::ios::trunc), mask_(mask_credentials) {
    // A conformance transcript (docs/transcripts.md): pop3-conformance can parse and replay it.
    const auto id = file.stem().string();
    out_
        << "# pop3kit mock server session recording, a conformance transcript (docs/recording.md)\n"
        << "case: recorded/" << id << "\n"
        << "title: " << id << " as pop3-mockserver recorded it\n"
        << "rfc: recorded\n"
        << "level: MAY\n";
}

std::string recorder::mask_client_line(std::string_view line) {
    return mask_.client_line(line);
}

void recorder::emit(char who, std::string_view line, std::string_view bare_end) {
    if (who == 'C') {
        // A line that ended in a bare LF is sent raw (C=:), so a replay sends the same bytes.
        const auto text = transcript_escape(mask_client_line(line), false);
        if (bare_end.empty())
            out_ << "C: " << text << '\n';
        else
            out_ << "C=: " << text << "\\n\n";
    } else {
        mask_.server_line(line);
        if (!bare_end.empty()) out_ << "# the next server line ended in a bare LF\n";
        out_ << "S: " << transcript_escape(line, true) << '\n';
    }
}

// Bytes that are not a whole line yet (cut or never finished), for a note: a client's pass
// through the masking rule first, as a C: line would.
std::string recorder::shown_pending(char who, std::string_view bytes, std::size_t limit) {
    if (who == 'C') return escape_for_display(mask_client_line(bytes), limit);
    return escape_for_display(bytes, limit);
}

void recorder::feed(char who, std::string& pending, std::string_view bytes) {
    bool& skipping = who == 'C' ? client_skipping_ : server_skipping_;
    if (skipping) {
        // The rest of a line that was cut: not recorded (it may hold the rest of a password).
        const auto lf = bytes.find('\n');
        if (lf == std::string_view::npos) return;
        skipping = false;
        bytes.remove_prefix(lf + 1);
    }
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
    // such lines too): keep the start (masked), note the cut, skip the rest up to its LF.
    constexpr std::size_t max_pending = 64 * 1024;
    if (pending.size() > max_pending) {
        note(std::string(who == 'C' ? "client" : "server") + " line over " +
             std::to_string(max_pending) + " octets without LF, cut (the rest of it is skipped): " +
             shown_pending(who, pending, 200));
        pending.clear();
        skipping = true;
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
        note("incomplete server line: " + shown_pending('S', server_pending_, 1 << 20));
    if (!client_pending_.empty())
        note("incomplete client line: " + shown_pending('C', client_pending_, 1 << 20));
    note("end of session");
}

void recorder::tls(bool started) {
    if (started) {
        out_ << "!tls\n";
        out_.flush();
    } else {
        note("TLS handshake failed");
    }
}

void recorder::note(std::string_view text) {
    out_ << "# " << text << '\n';
    out_.flush();
}

} // namespace pop3::mock
