#include "pop3/conformance/client_runner.hpp"

#include "memory_server.hpp"
#include "pop3/conformance/embedded.hpp"
#include "wire_trace.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <pop3/mockserver/server.hpp>
#include <pop3/net/tls.hpp>
#include <pop3/protocol/text.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace pop3::conformance {
namespace {

namespace fs = std::filesystem;

// The message fetch-new's second run must find (and only it).
mock::message_ptr new_message() {
    return mock::make_message("default-4",
                              "From: dave@pop3kit.test\r\nTo: user@pop3kit.test\r\n"
                              "Subject: New\r\n\r\nThis one arrived between runs.\r\n");
}

// Delivered files up to this size are compared with the server's messages.
constexpr std::uintmax_t max_compared_octets = 64 * 1024 * 1024;

// What the client declared it changes in a delivered message (.pop3kit-delivery).
struct delivery_changes {
    bool lf = false, from_line = false, trailing_newline = false;
    std::vector<std::string> headers;
};

delivery_changes read_declaration(const fs::path& out_dir) {
    delivery_changes d;
    std::ifstream in(out_dir / ".pop3kit-delivery");
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line == "lf")
            d.lf = true;
        else if (line == "from-line")
            d.from_line = true;
        else if (line == "trailing-newline")
            d.trailing_newline = true;
        else if (line.starts_with("header ")) {
            d.headers.push_back(line.substr(7));
        }
    }
    return d;
}

// Undoes what the client declared, on a message as the server had it (`original`) or as the
// client stored it: both end up comparable.
std::string normalize(std::string bytes, const delivery_changes& d, bool delivered) {
    if (d.lf) {
        std::string out;
        for (std::size_t i = 0; i < bytes.size(); ++i)
            if (!(bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n'))
                out += bytes[i];
        bytes = std::move(out);
    }
    if (delivered && d.from_line && bytes.starts_with("From ")) {
        const auto eol = bytes.find('\n');
        bytes.erase(0, eol == std::string::npos ? bytes.size() : eol + 1);
    }
    if (delivered && !d.headers.empty()) {
        // Header fields the client added at the top, with their continuation lines.
        while (true) {
            const auto colon = bytes.find(':');
            const auto eol = bytes.find('\n');
            if (colon == std::string::npos || eol == std::string::npos || colon > eol) break;
            const std::string_view name(bytes.data(), colon);
            if (std::none_of(d.headers.begin(), d.headers.end(),
                             [&](const std::string& h) { return iequals(h, name); }))
                break;
            auto end = eol + 1;
            while (end < bytes.size() && (bytes[end] == ' ' || bytes[end] == '\t')) {
                const auto next = bytes.find('\n', end);
                end = next == std::string::npos ? bytes.size() : next + 1;
            }
            bytes.erase(0, end);
        }
    }
    if (d.trailing_newline) {
        if (bytes.ends_with("\r\n"))
            bytes.resize(bytes.size() - 2);
        else if (bytes.ends_with("\n"))
            bytes.resize(bytes.size() - 1);
    }
    return bytes;
}

struct delivered_message {
    std::string name;
    std::string bytes;                  // as stored
    std::optional<std::size_t> matches; // index into the run's originals, when exact
    bool compared = true;               // false: too large for the runner to compare (not judged)
};

struct run_outcome {
    process_result process;
    std::vector<delivered_message> delivered;
    std::uintmax_t output_octets = 0;
    std::vector<std::string> expected;  // what a correct client delivers in this run
    std::vector<std::string> originals; // every message it could have delivered
};

// Everything one execution of a case (or its control run) showed.
// Octets in the regular files under `dir` (a client's output folder).
std::uintmax_t folder_octets(const fs::path& dir) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec))
            if (const auto n = it->file_size(ec); !ec) total += n;
    return total;
}

// What a client may write for what the server sent: twice it (line-end conversion, added
// headers) plus the slack.
std::uintmax_t output_bound(std::uintmax_t server_octets, std::uintmax_t slack) {
    return 2 * server_octets + slack;
}

// How a run ended, for exit lists and evidence: "0", "signal 11", "killed at the deadline".
std::string how_it_ended(const process_result& p) {
    if (p.killed) return "killed at the deadline";
    if (p.memory_killed) return "killed when its memory passed the limit";
    if (p.output_killed) return "killed when its output passed the bound";
    if (p.signal) return "signal " + std::to_string(p.signal);
    return std::to_string(p.exit_code);
}

struct observation {
    std::vector<run_outcome> runs; // two for fetch-new
    std::vector<wire_event> events;
    std::size_t dropped_events = 0; // writes past the trace's bound, not kept
    std::vector<rule_breach> breaches, notes;
    std::vector<wire_trace::command> commands;
    std::optional<wire_trace::deviated> deviated;
    bool unsolicited_seen = false;
    std::uint64_t server_octets = 0; // what the server sent, over every connection
    std::size_t connections = 0;
    bool deviation_served = false;
    std::optional<std::size_t> deviation_event;
    std::size_t left_in_maildrop = 0;
    std::string error; // the runner could not run it

    bool unsupported() const {
        return std::any_of(runs.begin(), runs.end(),
                           [](const run_outcome& r) { return r.process.unsupported; });
    }
    // Exit statuses of the runs, e.g. "0" or "0, 1", for comparing with the control run.
    std::string exits() const {
        std::string s;
        for (const auto& r : runs)
            s += (s.empty() ? "" : ", ") + how_it_ended(r.process);
        return s;
    }
};

// The identities of a whole client run: the CA the client trusts, and the certificates that
// it must refuse.
struct identities {
    net::pem_identity good = net::make_self_signed("localhost");
    net::pem_identity untrusted = net::make_self_signed("localhost");
    net::pem_identity expired = net::make_self_signed("localhost", {true, -2 * 86400, -86400});
    net::pem_identity wrong_name = net::make_self_signed("wrong-name.pop3kit.test", {false});
    const net::pem_identity& of(certificate_kind k) const {
        switch (k) {
        case certificate_kind::untrusted: return untrusted;
        case certificate_kind::expired: return expired;
        case certificate_kind::wrong_name: return wrong_name;
        case certificate_kind::good: break;
        }
        return good;
    }
};

class executor {
public:
    explicit executor(const client_run_options& o) : opt_(o) {
        if (opt_.work_dir.empty()) {
            std::string tmpl = (fs::temp_directory_path() / "pop3kit-clients-XXXXXX").string();
            if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a work folder");
            work_ = tmpl;
            owned_ = true;
        } else {
            work_ = opt_.work_dir;
            fs::create_directories(work_);
        }
        ca_file_ = work_ / "ca.pem";
        std::ofstream(ca_file_) << ids_.good.certificate;
    }
    ~executor() {
        std::error_code ec;
        if (owned_ && !std::getenv("POP3KIT_KEEP_WORK")) fs::remove_all(work_, ec);
    }

    observation execute(const client_case& c, bool with_deviation, const std::string& tag) {
        observation obs;
        try {
            run(c, with_deviation, tag, obs);
        } catch (const std::exception& e) {
            obs.error = e.what();
        }
        return obs;
    }

private:
    void run(const client_case& c, bool with_deviation, const std::string& tag, observation& obs) {
        const fs::path dir = work_ / tag;
        std::error_code ec;
        fs::remove_all(dir, ec);
        fs::create_directories(dir / "state");

        auto config = mock::default_config();
        auto mail = embedded_maildrop(c.server.maildrop);
        config.users[0].mail = mail;
        config.users[0].password = c.server.password;
        config.apop = c.server.apop;
        config.user_command = c.server.user_command;
        config.mechanisms = c.server.mechanisms;
        config.pipelining = c.server.pipelining;
        config.resp_codes = c.server.resp_codes;
        config.login_delay = c.server.login_delay;
        config.idle_timeout = std::chrono::seconds(60);
        wire_trace::settings ts;
        ts.pipelining = c.server.pipelining;
        ts.tls_required = c.tls == client_tls::starttls;
        ts.damaged.insert(c.breaks.begin(), c.breaks.end());
        if (with_deviation && c.deviation) {
            mock::rule r = *c.deviation;
            r.served = std::make_shared<std::atomic<std::size_t>>(0); // this execution's count
            ts.served = r.served;
            config.faults.rules.push_back(std::move(r));
        }
        auto trace = std::make_shared<wire_trace>(ts);

        const bool twice = c.task == client_task::fetch_new;
        for (int k = 1; k <= (twice ? 2 : 1); ++k) {
            run_outcome out;
            for (const auto& m : mail->snapshot())
                out.originals.push_back(m->content);
            if (k == 2) {
                // Between the runs a message arrives: the second run must fetch it, only it.
                auto now = mail->snapshot();
                now.push_back(new_message());
                mail = std::make_shared<mock::maildrop>(now);
                config.users[0].mail = mail;
                out.originals.push_back(new_message()->content);
                out.expected = {new_message()->content};
            } else if (c.task != client_task::status) {
                const auto all = mail->snapshot();
                if (c.task != client_task::fetch_one)
                    for (const auto& m : all)
                        out.expected.push_back(m->content);
                else if (all.size() >= fetch_one_message)
                    out.expected.push_back(all[fetch_one_message - 1]->content);
            }
            if (opt_.in_memory) {
                trace->next_run();
                run_request req = request_of(c, dir, k);
                fs::create_directories(req.out_dir);
                out.process = run_library_in_memory(req, config, *trace,
                                                    !c.server.pipelining && opt_.hold.count() > 0);
                collect(req.out_dir, out);
                obs.runs.push_back(std::move(out));
                if (obs.runs.back().process.unsupported) break;
                continue;
            }
            mock::server_options so;
            so.listen = "127.0.0.1:0";
            if (c.tls == client_tls::implicit) so.tls_listen = "127.0.0.1:0";
            so.starttls = c.server.stls;
            so.identity = ids_.of(c.server.certificate);
            so.threads = 1;
            so.observer = trace;
            so.hold_reply_end = c.server.pipelining ? std::chrono::milliseconds(0) : opt_.hold;
            mock::server server(config, so);
            server.start();
            trace->next_run();

            run_request req = request_of(c, dir, k);
            req.port = c.tls == client_tls::implicit ? *server.tls_port() : server.port();
            fs::create_directories(req.out_dir);
            const auto over_output = [&] {
                return folder_octets(req.out_dir) >
                       output_bound(trace->server_octets(), opt_.output_slack_octets);
            };
            out.process = run_client_program(opt_.program, req, opt_.deadline, opt_.max_memory_kib,
                                             over_output);
            // A client that ended while a reply's last octet was held back must not escape the
            // lock-step rule: the server finishes that reply and reads what the client sent
            // early, until every connection has closed (bounded by the hold and a margin).
            if (so.hold_reply_end.count() > 0) {
                const auto until = std::chrono::steady_clock::now() + so.hold_reply_end +
                                   std::chrono::milliseconds(250);
                while (!trace->all_closed() && std::chrono::steady_clock::now() < until)
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            server.stop();
            collect(req.out_dir, out);
            obs.runs.push_back(std::move(out));
            if (obs.runs.back().process.unsupported) break;
        }
        obs.left_in_maildrop = mail->snapshot().size();
        obs.events = trace->events();
        obs.breaches = trace->breaches();
        obs.notes = trace->notes();
        obs.commands = trace->command_log();
        obs.deviated = trace->deviated_command();
        obs.unsolicited_seen = trace->unsolicited_seen();
        obs.dropped_events = trace->dropped_events();
        obs.server_octets = trace->server_octets();
        obs.connections = trace->connections();
        obs.deviation_event = trace->deviation_event();
        // Counted when the reply was made: a reply cut short (a drip killed at the deadline)
        // was served all the same, though its bytes may never have reached the trace.
        obs.deviation_served = ts.served && ts.served->load() > 0;
    }

    // The contract's values for run `k` of case `c` (the port is the server's).
    run_request request_of(const client_case& c, const fs::path& dir, int k) const {
        run_request req;
        req.task = c.task;
        req.login = c.login;
        req.password = c.server.password;
        req.tls = c.tls;
        req.ca_file = ca_file_;
        req.out_dir = dir / ("out-" + std::to_string(k));
        req.state_dir = dir / "state";
        req.client_timeout = opt_.client_timeout;
        return req;
    }

    static void collect(const fs::path& out_dir, run_outcome& out) {
        const auto changes = read_declaration(out_dir);
        std::vector<std::string> originals;
        for (const auto& o : out.originals)
            originals.push_back(normalize(o, changes, false));
        std::vector<fs::path> files;
        std::error_code ec;
        for (fs::recursive_directory_iterator it(out_dir, ec), end; !ec && it != end;
             it.increment(ec)) {
            if (it->is_regular_file() && !it->path().filename().string().starts_with("."))
                files.push_back(it->path());
        }
        out.output_octets = folder_octets(out_dir);
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            delivered_message m;
            m.name = f.filename().string();
            // A file larger than any message the runner serves whole (a deviation's huge line
            // made it) is not read: it cannot be compared, so it is not judged.
            const auto size = fs::file_size(f, ec);
            if (size > max_compared_octets) {
                m.compared = false;
                m.bytes.assign("(" + std::to_string(size) + " octets, not compared)");
                out.delivered.push_back(std::move(m));
                continue;
            }
            std::ifstream in(f, std::ios::binary);
            std::string bytes(size, '\0');
            in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            m.bytes = std::move(bytes);
            const auto n = normalize(m.bytes, changes, true);
            for (std::size_t i = 0; i < originals.size(); ++i)
                if (originals[i] == n) m.matches = i;
            out.delivered.push_back(std::move(m));
        }
        // Expected messages compare normalized too.
        for (auto& e : out.expected)
            e = normalize(e, changes, false);
        for (auto& o : out.originals)
            o = normalize(o, changes, false);
    }

    const client_run_options& opt_;
    identities ids_;
    fs::path work_, ca_file_;
    bool owned_ = false;
};

// ---- judging ----

// The delivered messages as a sorted list of their normalized bytes (for comparing with what
// a run should deliver).
std::vector<std::string> delivered_set(const run_outcome& r) {
    std::vector<std::string> out;
    for (const auto& d : r.delivered)
        out.push_back(d.matches ? r.originals[*d.matches] : "\x01" + d.bytes);
    std::sort(out.begin(), out.end());
    return out;
}

bool delivered_as_expected(const run_outcome& r) {
    auto want = r.expected;
    std::sort(want.begin(), want.end());
    return delivered_set(r) == want;
}

// Whether a control run shows the client can do the task; the reason when not.
std::optional<std::string> control_failure(const client_case& c, const observation& o) {
    if (!o.error.empty()) return "the control run could not be run: " + o.error;
    if (o.unsupported()) return "the adapter says the client cannot do this";
    for (std::size_t i = 0; i < o.runs.size(); ++i) {
        const auto& r = o.runs[i].process;
        const std::string which = o.runs.size() > 1 ? " (run " + std::to_string(i + 1) + ")" : "";
        if (r.killed) return "the control run" + which + " did not end before the deadline";
        if (r.memory_killed)
            return "the control run" + which + " was killed when its memory passed the limit";
        if (r.output_killed)
            return "the control run" + which + " was killed when its output passed the bound";
        if (r.signal)
            return "the control run" + which + " ended by signal " + std::to_string(r.signal);
        if (r.exit_code != 0)
            return "the control run" + which + " exited " + std::to_string(r.exit_code);
        if (!delivered_as_expected(o.runs[i]))
            return "the control run" + which + " delivered " +
                   std::to_string(o.runs[i].delivered.size()) + " message(s), not the " +
                   std::to_string(o.runs[i].expected.size()) + " expected exactly";
    }
    if (c.task == client_task::delete_after_fetch && o.left_in_maildrop != 0)
        return "the control run left " + std::to_string(o.left_in_maildrop) +
               " message(s) in the maildrop";
    return std::nullopt;
}

std::string describe_delivery(const run_outcome& r) {
    if (r.delivered.empty()) return "nothing";
    std::string s;
    for (const auto& d : r.delivered) {
        if (!s.empty()) s += "; ";
        s += d.name + (d.matches ? " = message " + std::to_string(*d.matches + 1) + " exactly"
                       : !d.compared
                           ? " " + d.bytes
                           : " (" + std::to_string(d.bytes.size()) + " octets) equals no message");
    }
    return s;
}

std::string format_event(const wire_event& e) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(1);
    s << "  +" << e.ms << " ms #" << e.connection << (e.tls ? " tls " : " ") << e.who << ": ";
    if (e.who == 'C' || e.who == 'S')
        s << printable(e.text, 200)
          << (e.text.size() < e.octets && e.text.size() <= 200
                  ? " ... (" + std::to_string(e.octets) + " octets)"
                  : "");
    else
        s << e.text;
    if (e.deviation) s << "   <== the deviation";
    return s.str();
}

std::string evidence_of(const client_case& c, const observation& o, const observation* control,
                        std::optional<std::size_t> focus) {
    std::ostringstream s;
    s << "task " << to_string(c.task) << ", login " << c.login << ", tls " << to_string(c.tls);
    if (c.deviation)
        s << "; deviation: role " << mock::reply_role_name(*c.deviation->role)
          << (c.deviation->message ? " of message " + std::to_string(*c.deviation->message) : "")
          << (o.deviation_served ? " (served)" : " (never reached)");
    s << "\n";
    for (std::size_t i = 0; i < o.runs.size(); ++i) {
        const auto& r = o.runs[i];
        s << "run " << i + 1 << ": exit " << how_it_ended(r.process);
        s.setf(std::ios::fixed);
        s.precision(2);
        s << " after " << r.process.seconds << " s, peak memory " << r.process.max_rss_kib / 1024
          << " MiB, output " << r.output_octets << " octets; delivered: " << describe_delivery(r)
          << "\n";
    }
    if (control) s << "control run: exit " << control->exits() << "\n";
    for (const auto& n : o.notes)
        s << "note (not judged): " << n.rule << ": " << n.detail << "\n";
    // The dialogue around the point of interest (the first breach, else the deviation).
    const auto& ev = o.events;
    if (!ev.empty()) {
        const std::size_t at =
            std::min(focus.value_or(o.deviation_event.value_or(0)), ev.size() - 1);
        const std::size_t from = at > 6 ? at - 6 : 0;
        const std::size_t to = std::min(ev.size(), at + 10);
        s << "wire (events " << from + 1 << "-" << to << " of " << ev.size()
          << (o.dropped_events ? " and " + std::to_string(o.dropped_events) + " not kept" : "")
          << "):\n";
        for (std::size_t i = from; i < to; ++i)
            s << format_event(ev[i]) << "\n";
    }
    for (const auto& r : o.runs) {
        if (r.process.output.empty()) continue;
        auto tail = r.process.output;
        if (tail.size() > 600) tail = "..." + tail.substr(tail.size() - 600);
        s << "client output: " << printable(tail, 600) << "\n";
        break;
    }
    return s.str();
}

// The wire dialogue line by line for the HTML report: each connection's bytes of each side
// joined into lines (a reply's last octet may come in a write of its own), with the time, the
// TLS state and the connection; the deviation's line and the breach's (`focus`) marked. Bounded:
// the first lines, those around the first mark and the last ones.
std::vector<wire_line> dialogue_of(const observation& o, std::optional<std::size_t> focus) {
    struct stream {
        std::string partial;
        wire_line::mark pending = wire_line::mark::none;
    };
    std::map<std::pair<std::uint64_t, char>, stream> streams;
    std::vector<wire_line> lines;
    const auto push = [&](const wire_event& e, char from, std::string_view text, bool same,
                          stream* st) {
        wire_line l;
        l.from = from;
        l.same_write = same;
        l.tls = e.tls;
        l.ms = e.ms;
        l.connection = e.connection;
        l.text = from == 'R' ? std::string(text) : printable(text, 200);
        if (st) l.marked = std::exchange(st->pending, wire_line::mark::none);
        lines.push_back(std::move(l));
    };
    const auto flush = [&](const wire_event& e, std::uint64_t connection) {
        for (char who : {'C', 'S'}) {
            auto it = streams.find({connection, who});
            if (it == streams.end() || it->second.partial.empty()) continue;
            push(e, who, it->second.partial + " (no line end)", false, &it->second);
            it->second.partial.clear();
        }
    };
    for (std::size_t i = 0; i < o.events.size(); ++i) {
        const auto& e = o.events[i];
        const auto m = focus && *focus == i                           ? wire_line::mark::breach
                       : o.deviation_event && *o.deviation_event == i ? wire_line::mark::deviation
                                                                      : wire_line::mark::none;
        if (e.who != 'C' && e.who != 'S') {
            if (e.who == 'X') flush(e, e.connection);
            const std::string what = e.who == 'X'   ? "connection closed: " + printable(e.text, 200)
                                     : e.who == 'E' ? "early bytes: " + printable(e.text, 200)
                                                    : printable(e.text, 200);
            push(e, 'R', what, false, nullptr);
            if (m != wire_line::mark::none) lines.back().marked = m;
            continue;
        }
        auto& st = streams[{e.connection, e.who}];
        if (m != wire_line::mark::none && st.pending == wire_line::mark::none) st.pending = m;
        bool first = true;
        for (char ch : e.text) {
            if (ch != '\n') {
                if (st.partial.size() < 64 * 1024) st.partial += ch;
                continue;
            }
            std::string line = std::move(st.partial);
            st.partial.clear();
            if (!line.empty() && line.back() == '\r') line.pop_back();
            push(e, e.who, line, !first, &st);
            first = false;
        }
        if (e.text.size() < e.octets)
            push(e, 'R',
                 "(" + std::to_string(e.octets - e.text.size()) + " more octets of this write " +
                     "not kept)",
                 false, nullptr);
    }
    if (!o.events.empty())
        for (const auto& [key, st] : streams)
            if (!st.partial.empty()) flush(o.events.back(), key.first);
    // Bounded: the first lines, a window around the first mark, the last lines.
    constexpr std::size_t keep_first = 20, before_mark = 15, after_mark = 30, keep_last = 60;
    if (lines.size() <= keep_first + before_mark + after_mark + keep_last) return lines;
    std::vector<bool> keep(lines.size(), false);
    for (std::size_t i = 0; i < keep_first; ++i)
        keep[i] = true;
    for (std::size_t i = lines.size() - keep_last; i < lines.size(); ++i)
        keep[i] = true;
    const auto marked = std::find_if(lines.begin(), lines.end(), [](const wire_line& l) {
        return l.marked != wire_line::mark::none;
    });
    if (marked != lines.end()) {
        const auto at = static_cast<std::size_t>(marked - lines.begin());
        for (std::size_t i = at > before_mark ? at - before_mark : 0;
             i < std::min(lines.size(), at + after_mark); ++i)
            keep[i] = true;
    }
    std::vector<wire_line> out;
    for (std::size_t i = 0; i < lines.size();) {
        if (keep[i]) {
            out.push_back(std::move(lines[i++]));
            continue;
        }
        std::size_t j = i;
        while (j < lines.size() && !keep[j])
            ++j;
        wire_line gap;
        gap.left_out = j - i;
        gap.text = "(" + std::to_string(j - i) + " lines not shown)";
        gap.tls = lines[i].tls;
        gap.ms = lines[i].ms;
        gap.connection = lines[i].connection;
        out.push_back(std::move(gap));
        i = j;
    }
    return out;
}

// A command as compared between a run and its control run: the keyword, and the message
// number of commands about one message.
std::string comparable(const std::string& line) {
    std::string keyword;
    for (char ch : line.substr(0, line.find(' ')))
        keyword += ascii_upper(ch);
    if (keyword == "RETR" || keyword == "DELE" || keyword == "TOP" || keyword == "LIST" ||
        keyword == "UIDL") {
        const auto rest = line.find(' ');
        if (rest != std::string::npos)
            keyword += " " + line.substr(rest + 1, line.find(' ', rest + 1) - rest - 1);
    }
    return keyword;
}

// The client's next command on the deviated reply's connection ("" when it sent none: it
// closed or was cut off). What it does next shows whether it took the reply for a success.
std::string next_on_connection(const std::vector<wire_trace::command>& log, std::uint64_t conn,
                               std::optional<std::size_t> after) {
    for (std::size_t i = after ? *after + 1 : 0; i < log.size(); ++i)
        if (log[i].connection == conn) return comparable(log[i].line);
    return {};
}

std::string next_after_deviation(const observation& o) {
    if (!o.deviated) return {};
    return next_on_connection(o.commands, o.deviated->connection, o.deviated->command);
}

// In the control run: the command after the first one like the deviated one (the same
// keyword and message), or after the greeting.
std::string next_in_control(const observation& o, const observation& control) {
    if (!o.deviated) return {};
    if (!o.deviated->command) {
        if (control.commands.empty()) return {};
        return next_on_connection(control.commands, control.commands.front().connection,
                                  std::nullopt);
    }
    const auto wanted = comparable(o.commands[*o.deviated->command].line);
    for (std::size_t i = 0; i < control.commands.size(); ++i)
        if (comparable(control.commands[i].line) == wanted)
            return next_on_connection(control.commands, control.commands[i].connection, i);
    return "(none: the control run never sent " + wanted + ")";
}

// The global rules (docs/client-conformance.md, "Global rules"): the first one the run broke,
// judged before the case's own expectation and whatever its level; nullopt when none.
std::optional<global_verdict> global_rules(const client_case& c, const observation& o,
                                           const client_run_options& opt) {
    const auto breach = [](verdict v, std::string outcome, std::string rule, std::string reason,
                           std::optional<std::size_t> focus = std::nullopt) {
        return std::optional<global_verdict>(
            global_verdict{v, std::move(outcome), std::move(reason), std::move(rule), focus});
    };
    for (std::size_t i = 0; i < o.runs.size(); ++i) {
        const auto& p = o.runs[i].process;
        if (p.max_rss_kib > opt.max_memory_kib)
            return breach(verdict::fail, "failed", "memory",
                          "the client's memory grew to " + std::to_string(p.max_rss_kib / 1024) +
                              " MiB (limit " + std::to_string(opt.max_memory_kib / 1024) + " MiB" +
                              (p.memory_killed ? ", where the runner stopped it" : "") +
                              "): a server's say-so must not grow a client without bound");
        // A huge but finite reply at full speed that outlasted the deadline: the runner's
        // limit, not the client's fault (it may have been storing it correctly).
        if (p.killed && c.deviation && c.deviation->change.huge_line &&
            !c.deviation->change.endless_body && !c.deviation->delivery.any())
            return breach(verdict::error, "error", "runner limit",
                          "the client was still receiving the " +
                              std::to_string(c.deviation->change.huge_line) +
                              "-octet line when the runner's deadline (" +
                              std::to_string(opt.deadline.count() / 1000) +
                              " s) ended the run; give a longer --deadline to judge it");
        if (p.killed)
            return breach(verdict::fail, "failed", "deadline",
                          "the client did not end within " +
                              std::to_string(opt.deadline.count() / 1000) +
                              " s and was killed (a client must end within its timeout)");
        if (p.signal)
            return breach(verdict::fail, "failed", "signal",
                          "the client was ended by signal " + std::to_string(p.signal) + " (" +
                              ::strsignal(p.signal) +
                              "): bad input from a server must end in a clear error");
        // Storing what the server sent is no fault, however large; writing more than it sent
        // (a loop appending blank lines) is.
        // The watch compared the output with what the server had sent by then, which is less
        // than the whole case's (a later run's bytes): its kill stands as the verdict.
        const auto disk_bound = output_bound(o.server_octets, opt.output_slack_octets);
        const std::string slack = std::to_string(opt.output_slack_octets) + " octets";
        if (p.output_killed || o.runs[i].output_octets > disk_bound)
            return breach(verdict::fail, "failed", "output",
                          "the client wrote " + std::to_string(o.runs[i].output_octets) +
                              " octets of mail, more than twice the octets the server had sent " +
                              (p.output_killed
                                   ? "by then plus " + slack + ", and was stopped there"
                                   : "(" + std::to_string(o.server_octets) + ") plus " + slack) +
                              ": a client must not write without bound");
    }
    if (!o.breaches.empty()) {
        const auto& b = o.breaches.front();
        return breach(verdict::fail, "failed", b.rule, b.rule + ": " + b.detail, b.event);
    }
    // Exact or absent — unless the server made that undetectable: a case that says so
    // (`detectable = false`, e.g. a lone "." inside a body), or unsolicited lines that a
    // line-by-line reader takes for the next reply (reported in the evidence instead).
    if (c.detectable && !o.unsolicited_seen)
        for (const auto& run : o.runs)
            for (const auto& d : run.delivered)
                if (!d.matches && d.compared)
                    return breach(verdict::fail, "failed", "inexact delivery",
                                  "the client delivered " + d.name +
                                      ", which equals none of the server's messages: a delivered "
                                      "message must be exact or absent");
    return std::nullopt;
}

case_result judge(const client_case& c, const observation& o, const observation* control,
                  std::optional<std::string> control_problem, const client_run_options& opt) {
    case_result r;
    r.tc = &c.meta;
    const auto set = [&](verdict v, std::string outcome, std::string reason,
                         std::optional<std::size_t> focus = std::nullopt) {
        r.v = v;
        r.outcome = std::move(outcome);
        r.reason = std::move(reason);
        r.evidence = evidence_of(c, o, control, focus);
        if (opt.keep_dialogue) r.dialogue = dialogue_of(o, focus);
        return r;
    };
    if (!o.error.empty())
        return set(verdict::error, "error", "the runner could not run the case: " + o.error);
    if (control_problem)
        return set(verdict::skip, "inconclusive",
                   "the client cannot do this task without any deviation: " + *control_problem);
    if (o.unsupported())
        return set(verdict::skip, "n/a", "the adapter says the client cannot be asked for this");
    if (auto g = global_rules(c, o, opt)) return set(g->v, g->outcome, g->reason, g->focus);
    if (c.deviation && !o.deviation_served)
        return set(verdict::skip, "n/a",
                   "the client never reached the deviation's role (" +
                       std::string(mock::reply_role_name(*c.deviation->role)) +
                       "): it took another path");
    if (c.expect == expectation::info)
        return set(verdict::pass, "info",
                   "reported, not judged (the RFC binds the server here): the client exited " +
                       o.exits() + " and delivered " +
                       describe_delivery(o.runs.empty() ? run_outcome{} : o.runs.back()));
    bool met = true;
    std::string why_not;
    if (c.expect == expectation::proceed) {
        for (const auto& run : o.runs)
            if (!delivered_as_expected(run)) met = false;
        if (o.exits() != control->exits()) met = false;
        if (c.task == client_task::delete_after_fetch &&
            o.left_in_maildrop != control->left_in_maildrop)
            met = false;
        if (!met)
            why_not = "the client did not end as in its control run (exit " + o.exits() +
                      ", control " + control->exits() + "; delivered " +
                      describe_delivery(o.runs.back()) + ")";
    } else { // notice
        const bool exit_differs = o.exits() != control->exits();
        bool damaged_missing = false;
        if (!c.breaks.empty()) {
            damaged_missing = true;
            for (const auto& run : o.runs) {
                const auto want = delivered_set(run);
                for (const auto& d : run.delivered)
                    for (auto b : c.breaks)
                        if (d.matches && *d.matches + 1 == b) damaged_missing = false;
                // The others are there, exactly.
                std::size_t others = 0;
                for (const auto& e : run.expected) {
                    bool damaged = false;
                    for (auto b : c.breaks)
                        if (b <= run.originals.size() && run.originals[b - 1] == e) damaged = true;
                    if (!damaged) ++others;
                }
                if (run.delivered.size() != others) damaged_missing = false;
            }
        }
        const bool stopped = next_after_deviation(o) != next_in_control(o, *control);
        met = exit_differs || damaged_missing || stopped;
        if (!met) {
            const auto next = next_after_deviation(o);
            why_not = "the client did not notice: it exited " + o.exits() +
                      " as in its control run, delivered " + describe_delivery(o.runs.back()) +
                      ", and its next command after the deviated reply was " +
                      (next.empty() ? std::string("none") : "\"" + next + "\"") +
                      ", as after a good reply in the control run";
        }
    }
    if (met) return set(verdict::pass, "passed", {});
    if (!c.why.empty()) why_not += " — " + c.why;
    switch (c.meta.lvl) {
    case level::must: return set(verdict::fail, "failed", why_not);
    case level::should: return set(verdict::fail, "non-strict", why_not);
    case level::may: return set(verdict::pass, "info", why_not);
    }
    return r;
}

} // namespace

verdict verdict_of_outcome(std::string_view outcome) noexcept {
    if (outcome == "passed" || outcome == "info") return verdict::pass;
    if (outcome == "failed" || outcome == "non-strict") return verdict::fail;
    if (outcome == "n/a" || outcome == "inconclusive" || outcome == "skipped") return verdict::skip;
    return verdict::error;
}

namespace {

// Calls work(0..count-1) on `jobs` threads (the calling one among them).
template <class Work>
void parallel_for(std::size_t count, unsigned jobs, Work work) {
    std::atomic<std::size_t> next{0};
    const auto loop = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < count;)
            work(i);
    };
    std::vector<std::thread> helpers;
    for (unsigned j = 1; j < std::max(jobs, 1u) && j < count; ++j)
        helpers.emplace_back(loop);
    loop();
    for (auto& t : helpers)
        t.join();
}

struct control_run {
    observation obs;
    std::optional<std::string> problem; // why the client cannot do the task
};

} // namespace

namespace {

// Why a case cannot be judged in memory: the link is plaintext and has no clock.
std::optional<std::string> not_in_memory(const client_case& c) {
    if (c.tls != client_tls::none) return "TLS does not run in memory";
    if (c.deviation) {
        const auto& f = c.deviation->delivery;
        if (f.delay.count() || f.drip_bytes || f.drip_pause.count() || !f.split_at.empty())
            return "a timed or segmented delivery does not run in memory";
    }
    return std::nullopt;
}

} // namespace

struct client_case_runner::impl {
    explicit impl(client_run_options o) : opt(std::move(o)), ex(opt) {}
    client_run_options opt;
    executor ex;
};

client_case_runner::client_case_runner(client_run_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

client_case_runner::~client_case_runner() = default;

single_case_run client_case_runner::run(const client_case& c) {
    // The runs share one folder: each run empties it first, so the disk holds one at a time.
    const auto o = impl_->ex.execute(c, true, "single");
    single_case_run s;
    client_case as_info = c;
    as_info.expect = expectation::info;
    s.result = judge(as_info, o, nullptr, std::nullopt, impl_->opt);
    s.result.tc = &c.meta;
    s.error = o.error;
    s.unsupported = o.unsupported();
    s.served = o.deviation_served;
    if (o.error.empty() && !s.unsupported) s.global = global_rules(c, o, impl_->opt);
    if (s.global && s.global->focus && *s.global->focus < o.events.size())
        s.breach_in_tls = o.events[*s.global->focus].tls;
    for (const auto& cmd : o.commands) {
        std::string keyword;
        for (char ch : cmd.line.substr(0, cmd.line.find(' ')))
            keyword += ascii_upper(ch);
        s.commands.push_back(std::move(keyword));
    }
    for (const auto& r : o.runs)
        s.runs.push_back(r.process);
    s.server_octets = o.server_octets;
    return s;
}

std::vector<case_result> run_client_cases(const std::vector<client_case>& cases,
                                          const client_run_options& options) {
    executor ex(options);
    const auto runs_here = [&](const client_case& c) {
        return !options.in_memory || !not_in_memory(c);
    };
    // One control run per control key, in the order the cases first need them.
    std::map<std::string, std::size_t> control_of;
    std::vector<const client_case*> control_cases;
    for (const auto& c : cases)
        if (runs_here(c) && control_of.emplace(c.control_key(), control_cases.size()).second)
            control_cases.push_back(&c);
    std::vector<control_run> controls(control_cases.size());
    parallel_for(control_cases.size(), options.jobs, [&](std::size_t i) {
        client_case control = *control_cases[i];
        control.server.certificate = certificate_kind::good;
        control.deviation.reset();
        control.breaks.clear();
        controls[i].obs = ex.execute(control, false, "control-" + std::to_string(i + 1));
        controls[i].problem = control_failure(control, controls[i].obs);
    });

    std::vector<case_result> results(cases.size());
    std::mutex progress;
    parallel_for(cases.size(), options.jobs, [&](std::size_t i) {
        const auto& c = cases[i];
        if (options.on_start) {
            std::lock_guard g(progress);
            options.on_start(c);
        }
        const auto started = std::chrono::steady_clock::now();
        case_result r;
        if (!runs_here(c)) {
            r.tc = &c.meta;
            r.v = verdict::skip;
            r.outcome = "n/a";
            r.reason = "not run in memory (--in-memory): " + *not_in_memory(c);
        } else {
            const auto& control = controls[control_of.at(c.control_key())];
            observation o;
            if (!control.problem) o = ex.execute(c, true, "case-" + std::to_string(i + 1));
            r = judge(c, o, &control.obs, control.problem, options);
            if (control.problem) {
                r.evidence = evidence_of(c, control.obs, nullptr, std::nullopt);
                if (options.keep_dialogue) r.dialogue = dialogue_of(control.obs, std::nullopt);
            }
        }
        r.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        results[i] = std::move(r);
        if (options.on_result) {
            std::lock_guard g(progress);
            options.on_result(results[i]);
        }
    });
    return results;
}

} // namespace pop3::conformance
