// The client fuzzing loop: generated cases run through the client conformance runner, kept by
// signature, judged by the runner's client-independent rules; findings minimised, replayed as a
// `pop3-conformance client` case would be, and written as client case files.
#include "pop3/fuzzer/client_campaign.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <pop3/conformance/transcript.hpp>
#include <set>

namespace pop3::fuzzer {
namespace {

namespace fs = std::filesystem;
using conformance::client_tls;
using conformance::single_case_run;

bool has_key(const client_input& in, std::string_view key) {
    return std::any_of(in.deviation.begin(), in.deviation.end(),
                       [&](const auto& kv) { return kv.first == key; });
}

// How a run ended, for signatures: the global rule broken, else each run's exit.
std::string outcome_of(const single_case_run& r) {
    if (!r.error.empty()) return "error";
    if (r.unsupported) return "unsupported";
    if (r.global) return "rule:" + r.global->rule;
    std::string s = r.served ? "" : "unserved ";
    for (const auto& p : r.runs)
        s += p.killed   ? "killed "
             : p.signal ? "signal" + std::to_string(p.signal) + " "
                        : "exit" + std::to_string(p.exit_code) + " ";
    return s;
}

// The client's commands as a signature: keywords, repeats folded ("RETR+"), bounded.
std::string commands_of(const single_case_run& r, std::size_t limit = 48) {
    std::string s, last;
    std::size_t n = 0;
    bool repeated = false;
    for (const auto& k : r.commands) {
        if (k == last) {
            if (!repeated) s += "+";
            repeated = true;
            continue;
        }
        if (++n > limit) break;
        s += (s.empty() ? "" : " ") + k;
        last = k;
        repeated = false;
    }
    return s;
}

std::string combination(const client_input& in) {
    return std::string(conformance::to_string(in.task)) + " " + in.login + " " +
           std::string(conformance::to_string(in.tls));
}

// The RFC text behind each kind, for the case's `rfc` and `why`.
struct kind_basis {
    const char* rfc;
    const char* why;
};

kind_basis basis_of(const std::string& kind) {
    if (kind == "plaintext-credentials")
        return {"2595 §2.2", "The client was asked to require TLS (tls = \"starttls\") but sent "
                             "credentials in plaintext (RFC 2595 §2.2, RFC 8314 §5)."};
    if (kind == "stls-injection")
        return {"2595 §4", "After \"+OK\" to STLS the next octets belong to the TLS handshake; "
                           "plaintext sent with the \"+OK\" must be discarded, and a client that "
                           "reads it as a reply inside TLS loses step (RFC 2595 §4, RFC 7817 §3)."};
    if (kind == "inexact-delivery")
        return {"1939 §3", "A message reaches the client whole, its end marked by the "
                           "terminating line (RFC 1939 §3); a delivered message must equal one "
                           "the server served, or not be delivered."};
    if (kind == "hang")
        return {"1939 §3", "The server had sent what it was going to send and waited for the "
                           "client: the client must end within its own timeout."};
    return {"1939 §3", "Whatever a server sends, a client must end in a clear error within "
                       "bounded time, memory and disk: never by a signal or a sanitizer report."};
}

std::string slug(std::string s) {
    for (auto& c : s)
        if (c == '/' || c == ' ') c = '-';
    return s;
}

// The case file's text for a case without a deviation (a control run).
client_input control_input(const client_input& in) {
    client_input c;
    c.task = in.task;
    c.login = in.login;
    c.tls = in.tls;
    c.family = "control";
    return c;
}

class campaign {
public:
    explicit campaign(const client_campaign_options& o)
        : o_(o), mut_(o.seed, o.choices), runner_(with_hold(o.run, std::chrono::milliseconds(0))),
          stls_runner_(with_hold(o.run, o.stls_hold)), replay_(replay_options(o)),
          started_(std::chrono::steady_clock::now()), last_status_(started_) {}

    client_campaign_result run() {
        while (!finished()) {
            client_input in;
            if (corpus_.empty() || mut_.pick(10) < 4)
                in = mut_.generate();
            else
                in = mut_.mutate(corpus_[mut_.pick(corpus_.size())]);
            if (!usable(in)) {
                if (nothing_usable()) {
                    note("pop3-fuzz: the client can do none of the task, login and TLS "
                         "combinations asked for: nothing to fuzz");
                    break;
                }
                continue;
            }
            std::optional<conformance::client_case> c;
            try {
                c = client_case_of(in);
            } catch (const conformance::transcript_error& e) {
                note("pop3-fuzz: a generated case was refused (" + std::string(e.what()) +
                     "): skipped");
                continue;
            }
            const auto r = runner_for(in).run(*c);
            ++res_.stats.sessions;
            const auto signature = in.family + "|" + outcome_of(r) + "|" + commands_of(r);
            if (signatures_.insert(signature).second) {
                if (corpus_.size() < o_.max_corpus)
                    corpus_.push_back(in);
                else
                    corpus_[mut_.pick(corpus_.size())] = in;
            }
            if (const auto kind = finding_kind(in, r)) found(in, *kind, r);
            status(false);
        }
        status(true);
        return std::move(res_);
    }

private:
    static conformance::client_run_options with_hold(conformance::client_run_options o,
                                                     std::chrono::milliseconds hold) {
        o.hold = hold;
        return o;
    }

    // The replay's options; without a program of their own, the campaign's with the runner's
    // default hold.
    static conformance::client_run_options replay_options(const client_campaign_options& o) {
        if (!o.replay.program.command.empty() || o.replay.in_memory) return o.replay;
        return with_hold(o.run, conformance::client_run_options{}.hold);
    }

    // Replies are held back only where the lock-step rule is judged: at the STLS boundary.
    conformance::client_case_runner& runner_for(const client_input& in) {
        return in.family.starts_with("stls/") ? stls_runner_ : runner_;
    }

    bool finished() {
        if (o_.max_sessions && res_.stats.sessions >= *o_.max_sessions) return true;
        if (o_.stop_after_findings && res_.findings.size() >= *o_.stop_after_findings) return true;
        return std::chrono::steady_clock::now() - started_ >= o_.duration;
    }

    void note(const std::string& line) {
        if (o_.on_note) o_.on_note(line);
    }

    void status(bool final) {
        const auto now = std::chrono::steady_clock::now();
        res_.stats.seconds = std::chrono::duration<double>(now - started_).count();
        res_.stats.corpus = corpus_.size();
        res_.stats.signatures = signatures_.size();
        res_.stats.findings = res_.findings.size();
        if (final || now - last_status_ < o_.status_interval) return;
        last_status_ = now;
        if (o_.on_status) o_.on_status(res_.stats);
    }

    bool nothing_usable() const {
        const auto& ch = o_.choices;
        return controls_.size() == ch.tasks.size() * ch.logins.size() * ch.tls_modes.size() &&
               std::none_of(controls_.begin(), controls_.end(),
                            [](const auto& kv) { return kv.second; });
    }

    // Whether the client can do the input's task, login and TLS mode without any deviation:
    // its control run, once per combination. A combination it cannot do is not fuzzed.
    bool usable(const client_input& in) {
        const auto key = combination(in);
        const auto known = controls_.find(key);
        if (known != controls_.end()) return known->second;
        const auto c = client_case_of(control_input(in));
        const auto r = runner_.run(c);
        ++res_.stats.extra_runs;
        std::string problem;
        if (!r.error.empty())
            problem = "the runner could not run it: " + r.error;
        else if (r.unsupported)
            problem = "the adapter says the client cannot do it (125)";
        else if (r.global)
            problem = r.global->reason;
        else
            for (const auto& p : r.runs)
                if (p.killed || p.signal || p.exit_code != 0)
                    problem = "its run without deviation " +
                              std::string(p.killed   ? "was killed at the deadline"
                                          : p.signal ? "ended by a signal"
                                                     : "exited " + std::to_string(p.exit_code));
        controls_[key] = problem.empty();
        if (!problem.empty()) {
            res_.skipped.push_back(key + ": " + problem);
            note("pop3-fuzz: not fuzzing " + key + ": " + problem);
        }
        return problem.empty();
    }

    // Runs `in` and says whether it shows `kind` again.
    bool shows(const client_input& in, const std::string& kind, std::string* reason = nullptr) {
        std::optional<conformance::client_case> c;
        try {
            c = client_case_of(in);
        } catch (const conformance::transcript_error&) {
            return false; // a key the case needs was dropped
        }
        const auto r = runner_for(in).run(*c);
        ++res_.stats.extra_runs;
        const auto k = finding_kind(in, r);
        if (k == kind && reason) *reason = r.global ? r.global->reason : sanitizer_line(r);
        return k == kind;
    }

    static std::string sanitizer_line(const single_case_run& r) {
        for (const auto& p : r.runs) {
            for (const char* what : {"ERROR: AddressSanitizer", "runtime error:",
                                     "ERROR: LeakSanitizer", "ERROR: MemorySanitizer"}) {
                const auto at = p.output.find(what);
                if (at != std::string::npos)
                    return "a sanitizer report: " +
                           shown(p.output.substr(at, p.output.find('\n', at) - at), 200);
            }
        }
        return "a sanitizer report";
    }

    // Drops deviation keys, then simplifies the login and TLS mode, while `kind` still shows.
    client_input minimise(client_input in, const std::string& kind) {
        const auto drawn = in.deviation;
        in = minimise_keys(std::move(in), kind);
        redescribe_after_minimising(in, drawn);
        return in;
    }

    client_input minimise_keys(client_input in, const std::string& kind) {
        std::size_t budget = o_.minimise_runs;
        bool progress = true;
        while (progress && budget > 0) {
            progress = false;
            for (std::size_t i = in.deviation.size(); i-- > 1 && budget > 0;) {
                client_input fewer = in;
                fewer.deviation.erase(fewer.deviation.begin() + static_cast<std::ptrdiff_t>(i));
                --budget;
                if (shows(fewer, kind)) {
                    in = std::move(fewer);
                    progress = true;
                }
            }
        }
        const bool needs_tls = kind == "plaintext-credentials" || kind == "stls-injection";
        const auto offered = [&](const auto& list, const auto& value) {
            return std::find(list.begin(), list.end(), value) != list.end();
        };
        if (budget > 0 && in.login != "any" && offered(o_.choices.logins, std::string("any"))) {
            client_input s = in;
            s.login = "any";
            --budget;
            if (usable(s) && shows(s, kind)) in = std::move(s);
        }
        if (budget > 0 && !needs_tls && in.tls != client_tls::none &&
            offered(o_.choices.tls_modes, client_tls::none)) {
            client_input s = in;
            s.tls = client_tls::none;
            --budget;
            if (usable(s) && shows(s, kind)) in = std::move(s);
        }
        return in;
    }

    void found(const client_input& in, const std::string& kind, const single_case_run& r) {
        const auto fold = kind + "|" + in.family;
        if (!folded_.insert(fold).second) return;
        auto& cases = files_[kind];
        if (cases.size() >= o_.max_cases_per_kind) return;
        const std::size_t session = res_.stats.sessions;
        const double seen_at =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        std::string reason = r.global ? r.global->reason : sanitizer_line(r);
        const auto minimal = minimise(in, kind);
        const auto basis = basis_of(kind);
        case_text_info info;
        info.id = "client/fuzz/" + kind + "/" + slug(in.family);
        info.title = kind + ": " + shown(describe(minimal), 120) + " (found by pop3-fuzz client)";
        info.rfc = basis.rfc;
        info.why = basis.why;
        info.comments = {
            "pop3-fuzz client finding: " + kind + " (" + in.family + ")",
            "seen: " + reason,
            "deviation: " + describe(minimal),
            "client: " +
                (o_.client_label.empty() ? std::string("(the runner's)") : o_.client_label),
            "--seed " + std::to_string(o_.seed) + ", session " + std::to_string(session) +
                "; minimised from " + std::to_string(in.deviation.size()) + " to " +
                std::to_string(minimal.deviation.size()) + " deviation keys",
            "the client's commands: " + commands_of(r, 40),
            "Replay: pop3-conformance client --cases DIR --command TEMPLATE" +
                std::string(kind == "sanitizer" ? " (with ASAN_OPTIONS=abort_on_error=1 and "
                                                  "UBSAN_OPTIONS=abort_on_error=1, so that the "
                                                  "report ends the client by a signal)"
                                                : "")};
        const auto text = client_case_toml(minimal, info);
        // A finding is reported only when the case, as written, fails again the way
        // `pop3-conformance client` runs it (control run, the default hold); a sanitizer report,
        // which the runner does not judge, must show again in a second run.
        bool confirmed = false;
        if (kind == "sanitizer") {
            confirmed = shows(minimal, kind);
        } else {
            for (int attempt = 0; attempt < 2 && !confirmed; ++attempt) {
                const auto replayed = conformance::parse_client_cases(text, info.id);
                const auto results = conformance::run_client_cases(replayed, replay_);
                ++res_.stats.extra_runs;
                confirmed = results.size() == 1 && results.front().outcome == "failed";
            }
        }
        if (!confirmed) {
            note("pop3-fuzz: " + kind + " (" + in.family + ") seen in session " +
                 std::to_string(session) + " did not show again when replayed: not reported (" +
                 reason + ")");
            return;
        }
        cases.push_back(text);
        client_finding f;
        f.kind = kind;
        f.family = in.family;
        f.detail = reason;
        f.minimal = minimal;
        f.case_id = info.id;
        f.seed = o_.seed;
        f.session = session;
        f.seconds = seen_at;
        if (o_.findings_dir) {
            fs::create_directories(*o_.findings_dir);
            f.file = *o_.findings_dir / (kind + ".toml");
            std::string all = "# Client cases found by pop3-fuzz client (docs/fuzzing.md); "
                              "format: docs/client-conformance.md.\n";
            for (const auto& t : cases)
                all += "\n" + t;
            std::ofstream out(f.file, std::ios::binary);
            out << all;
            if (!out) throw std::runtime_error("cannot write " + f.file.string());
        }
        if (o_.on_finding) {
            o_.on_finding(kind + " (" + in.family + ") in session " + std::to_string(session) +
                          " after " + std::to_string(static_cast<long>(seen_at)) + " s: " + reason +
                          (f.file.empty() ? std::string() : " -> " + f.file.string()));
        }
        res_.findings.push_back(std::move(f));
    }

    const client_campaign_options& o_;
    client_mutator mut_;
    conformance::client_case_runner runner_, stls_runner_;
    conformance::client_run_options replay_;
    std::chrono::steady_clock::time_point started_, last_status_;
    client_campaign_result res_;
    std::vector<client_input> corpus_;
    std::set<std::string> signatures_;
    std::map<std::string, bool> controls_;
    std::set<std::string> folded_;
    std::map<std::string, std::vector<std::string>> files_; // kind -> its cases' text
};

} // namespace

std::optional<std::string> finding_kind(const client_input& in, const single_case_run& r) {
    if (!r.error.empty() || r.unsupported) return std::nullopt;
    for (const auto& p : r.runs)
        for (const char* what : {"ERROR: AddressSanitizer", "runtime error:",
                                 "ERROR: LeakSanitizer", "ERROR: MemorySanitizer"})
            if (p.output.find(what) != std::string::npos) return "sanitizer";
    if (!r.global) return std::nullopt;
    const auto& rule = r.global->rule;
    if (rule == "signal") return "signal";
    if (rule == "memory") return "memory";
    if (rule == "output") return "output";
    // Killed at the deadline: a finding only when the deviation cannot have kept the client
    // waiting (the server had sent its replies whole and waited for the client).
    if (rule == "deadline") return in.stalls ? std::nullopt : std::optional<std::string>("hang");
    // The runner applies exact-or-absent only to cases that say the damage is detectable,
    // which generated cases say when the deviation kept the messages' bytes.
    if (rule == "inexact delivery" && in.intact) return "inexact-delivery";
    if (rule == "credentials before TLS") return "plaintext-credentials";
    // Lock-step is judged elsewhere only as far as a deviation cannot explain it: after STLS's
    // +OK with plaintext appended, a command sent early inside TLS means the client read that
    // plaintext as a reply.
    if (rule == "lock-step" && r.breach_in_tls && has_key(in, "append") &&
        in.family.starts_with("stls/"))
        return "stls-injection";
    return std::nullopt;
}

client_campaign_result run_client_campaign(const client_campaign_options& o) {
    campaign c(o);
    return c.run();
}

} // namespace pop3::fuzzer
