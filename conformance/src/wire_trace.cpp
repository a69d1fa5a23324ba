#include "wire_trace.hpp"

#include <algorithm>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/text.hpp>
#include <utility>

namespace pop3::conformance {
namespace {

// Bytes of the trace kept in full; past it, events keep their size and a short prefix.
constexpr std::size_t max_kept_octets = 512 * 1024;
constexpr std::size_t prefix_past_limit = 80;
// Events kept one per write; past this, a write of the same side on the same connection as the
// last event adds to it (an endless stream would otherwise grow the runner by its event count),
// and past the hard bound, data events are only counted.
constexpr std::size_t max_events = 20000;
constexpr std::size_t max_events_hard = 100000;
// Client lines kept for comparing a case with its control run.
constexpr std::size_t max_logged_commands = 10000;
// How much of a CAPA reply is kept to look for PIPELINING.
constexpr std::size_t max_capa_reply = 64 * 1024;
// A client "line" longer than this is cut: what matters is that it ended.
constexpr std::size_t max_client_line = 64 * 1024;
// RFC 2449 §4's command line, CRLF included; RFC 5034 §4 holds AUTH with an initial response to
// it.
constexpr std::size_t max_command_line = 255;

std::string keyword_of(std::string_view line) {
    std::string k;
    for (char ch : line) {
        if (ch == ' ' || ch == '\r' || ch == '\n') break;
        k += ascii_upper(ch);
    }
    return k;
}

std::optional<std::uint64_t> argument_of(std::string_view line) {
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    auto rest = line.substr(sp + 1);
    rest = rest.substr(0, rest.find_first_of(" \r\n"));
    return parse_decimal(rest);
}

// Whether the reply to `command` is multi-line when positive: the command table's
// expected_reply() (RFC 1939, 2449, 5034, 6856).
bool multi_line_reply(std::string_view command) {
    const command_info* c = find_command(keyword_of(command));
    const bool argument = command.find(' ') != std::string_view::npos;
    return c && c->reply(argument ? 1 : 0) == reply_shape::multi_line;
}

// The first octets of each of `count` replies that `bytes` holds from its start, answering
// `commands` in order: a positive multi-line reply runs to its ".\r\n" line (dot-stuffing
// keeps that unique), any other to its first line's end.
std::vector<std::string> reply_starts(std::string_view bytes,
                                      const std::vector<std::string>& commands, std::size_t count) {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t i = 0; i < count && i < commands.size() && at < bytes.size(); ++i) {
        const auto reply = bytes.substr(at);
        out.emplace_back(reply.substr(0, 4));
        const auto eol = reply.find("\r\n");
        if (eol == std::string_view::npos) break;
        std::size_t end = eol + 2;
        if (reply.starts_with("+OK") && multi_line_reply(commands[i])) {
            if (reply.substr(end).starts_with(".\r\n")) {
                end += 3;
            } else {
                const auto term = reply.find("\r\n.\r\n", eol);
                if (term == std::string_view::npos) break;
                end = term + 5;
            }
        }
        at += end;
    }
    return out;
}

} // namespace

std::string printable(std::string_view bytes, std::size_t limit) {
    std::string out;
    const auto shown = bytes.substr(0, limit);
    for (unsigned char ch : shown) {
        if (ch == '\r')
            out += "\\r";
        else if (ch == '\n')
            out += "\\n";
        else if (ch == '\\')
            out += "\\\\";
        else if (ch < 0x20 || ch >= 0x7f) { // also every octet >= 0x80: the JSON stays UTF-8
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[ch >> 4];
            out += hex[ch & 15];
        } else
            out += static_cast<char>(ch);
    }
    if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size()) + " octets)";
    return out;
}

wire_trace::wire_trace(settings s) : settings_(std::move(s)) {}

void wire_trace::next_run() {
    std::lock_guard g(mutex_);
    base_ = highest_;
}

bool wire_trace::add(std::uint64_t session, char who, bool tls, std::string_view bytes) {
    if (who == 'S') server_octets_ += bytes.size();
    const bool data = who == 'C' || who == 'S';
    if (data && events_.size() >= max_events) {
        auto& last = events_.back();
        if (last.connection == session && last.who == who && last.tls == tls) {
            last.octets += bytes.size();
            return true;
        }
    }
    // Every kind counts: a client that reconnects in a loop adds open and close events.
    if (events_.size() >= max_events_hard) {
        ++dropped_events_;
        return false;
    }
    wire_event e;
    e.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
               .count();
    e.connection = session;
    e.who = who;
    e.tls = tls;
    e.octets = bytes.size();
    const std::size_t keep =
        kept_octets_ < max_kept_octets ? bytes.size() : std::min(bytes.size(), prefix_past_limit);
    e.text.assign(bytes.substr(0, keep));
    kept_octets_ += keep;
    events_.push_back(std::move(e));
    return true;
}

void wire_trace::breach(std::string rule, std::string detail) {
    breaches_.push_back(
        {std::move(rule), std::move(detail), events_.empty() ? 0 : events_.size() - 1});
}

void wire_trace::opened(std::uint64_t session, bool implicit_tls) {
    std::lock_guard g(mutex_);
    const auto id = base_ + session;
    highest_ = std::max(highest_, id);
    connections_[id];
    add(id, 'O', false, implicit_tls ? "connected (implicit TLS port)" : "connected");
}

void wire_trace::tls_started(std::uint64_t session, bool ok) {
    std::lock_guard g(mutex_);
    add(base_ + session, 'T', ok, ok ? "TLS started" : "TLS handshake failed");
}

void wire_trace::early_bytes(std::uint64_t session) {
    std::lock_guard g(mutex_);
    connections_[base_ + session].early = true;
}

void wire_trace::closed(std::uint64_t session, std::string_view reason) {
    std::lock_guard g(mutex_);
    connections_[base_ + session].closed = true;
    add(base_ + session, 'X', false, reason);
}

void wire_trace::client_bytes(std::uint64_t session, std::string_view bytes, bool tls) {
    std::lock_guard g(mutex_);
    const auto id = base_ + session;
    add(id, 'C', tls, bytes);
    auto& c = connections_[id];
    for (char ch : bytes) {
        if (ch != '\n') {
            if (c.partial.size() < max_client_line) c.partial += ch;
            continue;
        }
        std::string line = std::move(c.partial);
        c.partial.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        client_line(id, c, line, tls);
    }
}

void wire_trace::client_line(std::uint64_t id, connection_state& c, const std::string& line,
                             bool tls) {
    ++c.lines;
    const bool sasl_response = std::exchange(c.sasl_next, false);
    const std::string keyword = sasl_response ? std::string("*SASL*") : keyword_of(line);
    const bool quit = keyword == "QUIT";
    std::size_t log_index = std::string::npos;
    if (command_log_.size() < max_logged_commands) {
        log_index = command_log_.size();
        command_log_.push_back({id, sasl_response ? keyword : line});
    }
    const bool pipelining = settings_.pipelining || c.pipelining;
    // A client that gives up may say QUIT at any moment; anything else must wait for the end
    // of the reply to its previous line (RFC 1939 §3, and RFC 2449 §6.6 without PIPELINING).
    if (!pipelining && !quit && !c.lock_step_broken && (c.lines > c.replies || c.early)) {
        c.lock_step_broken = true;
        // The reply not yet ended: the oldest unanswered one, or (bytes that came while a
        // reply's last octet was held back) the one that ended just after them.
        const std::string held = c.lines > c.replies
                                     ? (c.replies == 0          ? std::string("greeting")
                                        : c.outstanding.empty() ? std::string("?")
                                                                : c.outstanding.front())
                                     : c.last_answered;
        const std::string unfinished =
            held == "greeting" ? held : "reply to \"" + printable(held, 60) + "\"";
        // After unsolicited plaintext any line-by-line reader loses step: a note, not a breach.
        auto& list = c.unsolicited ? notes_ : breaches_;
        list.push_back(
            {"lock-step",
             "on connection " + std::to_string(id) + " the client sent \"" + printable(line, 60) +
                 "\" before the server's " + unfinished +
                 " had ended; PIPELINING was not advertised, so a client that sends early has "
                 "lost step (it took injected or unfinished bytes for a reply)",
             events_.size() - 1});
    }
    c.early = false;
    // RFC 5034 §4: "If use of the initial response argument would cause the AUTH command to
    // exceed this length, the client MUST NOT use the initial response parameter".
    if (keyword == "AUTH" && line.size() + 2 > max_command_line &&
        line.find(' ', line.find(' ') + 1) != std::string::npos)
        breach("AUTH line over 255 octets",
               "the client sent AUTH with an initial response in a line of " +
                   std::to_string(line.size() + 2) +
                   " octets; RFC 5034 §4 keeps AUTH within RFC 2449 §4's 255 octets and says a "
                   "client MUST NOT use the initial response when it would not fit (it sends it "
                   "after the server's empty challenge instead)");
    if (settings_.tls_required && !tls &&
        (keyword == "USER" || keyword == "PASS" || keyword == "APOP" || keyword == "AUTH"))
        breach("credentials before TLS", "the client sent " + keyword +
                                             " in plaintext although it was required to use "
                                             "TLS (RFC 2595 §2.2, RFC 8314 §5)");
    const auto intact = [&](std::uint64_t n) {
        return retrieved_.count(n) && !settings_.damaged.count(n);
    };
    if (keyword == "RSET") c.deleted.clear();
    if (keyword == "DELE") {
        const auto n = argument_of(line);
        if (n) c.deleted.insert(*n);
        // In lock-step the client knew, when it sent DELE, whether the message had arrived
        // intact. A pipelining client may send DELE before the message's reply has come; it is
        // judged at QUIT, which is what commits a deletion (RFC 1939 §6).
        if (!pipelining && (!n || !intact(*n)) && !c.bad_dele) {
            breach("DELE of a damaged message",
                   "the client sent \"" + printable(line, 40) +
                       "\" for a message that did not arrive intact (a message is deleted only "
                       "once it is safely stored)");
            c.bad_dele = breaches_.size() - 1;
            c.bad_dele_reported = true;
        }
    }
    if (quit && c.bad_dele) {
        breaches_[*c.bad_dele].detail += ", and its QUIT committed the deletion";
        c.bad_dele.reset();
    }
    if (c.outstanding.size() < 1024) {
        c.outstanding.push_back(line);
        c.outstanding_log.push_back(log_index);
    }
}

void wire_trace::server_bytes(std::uint64_t session, std::string_view bytes, bool tls,
                              std::size_t replies_ended, std::size_t unsolicited) {
    std::lock_guard g(mutex_);
    const auto id = base_ + session;
    const bool kept = add(id, 'S', tls, bytes);
    if (settings_.served) {
        const auto now = settings_.served->load();
        if (now != served_seen_) {
            served_seen_ = now;
            // Past the trace's bound the write was only counted: no event to point at.
            if (kept) {
                events_.back().deviation = true;
                if (!deviation_event_) deviation_event_ = events_.size() - 1;
            }
            if (!deviated_) {
                auto& dc = connections_[id];
                deviated_ = deviated{id, std::nullopt};
                if (dc.replies > 0 && !dc.outstanding_log.empty() &&
                    dc.outstanding_log.front() != std::string::npos)
                    deviated_->command = dc.outstanding_log.front();
            }
        }
    }
    auto& c = connections_[id];
    // A write that ends several replies (replies gathered under PIPELINING) and starts the
    // first of them: the start of each is found by the shape of the command it answers.
    std::vector<std::string> starts;
    if (replies_ended > 1 && c.reply_start.empty() && c.replies > 0)
        starts = reply_starts(bytes, c.outstanding, replies_ended);
    if (c.reply_start.size() < 4) c.reply_start += bytes.substr(0, 4 - c.reply_start.size());
    // What a CAPA reply advertises is what the client may rely on, whatever the server's
    // set-up (a deviation may add PIPELINING): keep its text to look for it.
    if (!c.outstanding.empty() && keyword_of(c.outstanding.front()) == "CAPA" &&
        c.reply_text.size() < max_capa_reply)
        c.reply_text += bytes.substr(0, max_capa_reply - c.reply_text.size());
    for (std::size_t i = 0; i < replies_ended; ++i) {
        if (i < starts.size()) c.reply_start = starts[i];
        const bool ok = c.reply_start.starts_with("+OK");
        const std::string reply_started = std::move(c.reply_start);
        c.reply_start.clear();
        if (c.replies++ == 0 || c.outstanding.empty()) { // the greeting, or unasked
            if (unsolicited) c.unsolicited = unsolicited_seen_ = true;
            continue;
        }
        const std::string answered = c.outstanding.front();
        c.outstanding.erase(c.outstanding.begin());
        c.last_answered = answered;
        // QUIT commits the deletions when the server takes it, after the replies before it
        // went out: a pipelining client's DELE of a message whose RETR reply had not yet come
        // is judged here (RFC 1939 §6).
        if (keyword_of(answered) == "QUIT" && !c.bad_dele_reported)
            for (auto n : c.deleted)
                if (!retrieved_.count(n) || settings_.damaged.count(n)) {
                    breach("DELE of a damaged message",
                           "the client's QUIT committed the deletion of message " +
                               std::to_string(n) +
                               ", which did not arrive intact (RFC 1939 §6: QUIT removes the "
                               "messages marked deleted)");
                    break;
                }
        c.outstanding_log.erase(c.outstanding_log.begin());
        // A "+ " continuation: the client's next line is a SASL response.
        c.sasl_next = reply_started.starts_with("+ ");
        if (keyword_of(answered) == "CAPA") {
            for (std::size_t at = 0;
                 (at = c.reply_text.find("\nPIPELINING", at)) != std::string::npos; ++at) {
                const char next = at + 11 < c.reply_text.size() ? c.reply_text[at + 11] : '\r';
                if (next == '\r' || next == '\n' || next == ' ') c.pipelining = true;
            }
            c.reply_text.clear();
        }
        // Bytes injected after STLS's +OK are the client's to discard (RFC 2595 §4, the
        // STARTTLS injection class); elsewhere they are unsolicited lines.
        if (unsolicited && keyword_of(answered) != "STLS") c.unsolicited = unsolicited_seen_ = true;
        if (ok && keyword_of(answered) == "RETR")
            if (const auto n = argument_of(answered); n && !settings_.damaged.count(*n))
                retrieved_.insert(*n);
    }
}

std::vector<wire_event> wire_trace::events() const {
    std::lock_guard g(mutex_);
    return events_;
}

std::size_t wire_trace::dropped_events() const {
    std::lock_guard g(mutex_);
    return dropped_events_;
}

std::uintmax_t wire_trace::server_octets() const {
    std::lock_guard g(mutex_);
    return server_octets_;
}

std::vector<rule_breach> wire_trace::breaches() const {
    std::lock_guard g(mutex_);
    return breaches_;
}

std::vector<rule_breach> wire_trace::notes() const {
    std::lock_guard g(mutex_);
    return notes_;
}

std::vector<wire_trace::command> wire_trace::command_log() const {
    std::lock_guard g(mutex_);
    return command_log_;
}

std::optional<wire_trace::deviated> wire_trace::deviated_command() const {
    std::lock_guard g(mutex_);
    return deviated_;
}

bool wire_trace::unsolicited_seen() const {
    std::lock_guard g(mutex_);
    return unsolicited_seen_;
}

std::size_t wire_trace::connections() const {
    std::lock_guard g(mutex_);
    return connections_.size();
}

bool wire_trace::all_closed() const {
    std::lock_guard g(mutex_);
    return std::all_of(connections_.begin(), connections_.end(),
                       [](const auto& c) { return c.second.closed; });
}

std::optional<std::size_t> wire_trace::deviation_event() const {
    std::lock_guard g(mutex_);
    return deviation_event_;
}

} // namespace pop3::conformance
