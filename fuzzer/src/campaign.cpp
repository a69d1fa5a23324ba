#include "pop3/fuzzer/campaign.hpp"

#include "pop3/fuzzer/launcher.hpp"
#include "pop3/fuzzer/minimiser.hpp"
#include "pop3/fuzzer/mutator.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/text.hpp>
#include <set>
#include <unistd.h>

namespace pop3::fuzzer {
namespace {

using clock_type = std::chrono::steady_clock;

void write_text(const std::filesystem::path& file, const std::string& text) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    // Written beside and renamed: a job reading the corpus folder sees whole files only.
    static std::atomic<std::uint64_t> writes{0};
    auto part = file;
    part += "." + std::to_string(::getpid()) + "-" + std::to_string(writes++) + ".part";
    {
        std::ofstream out(part, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush()) throw std::runtime_error(part.string() + ": cannot write");
    }
    std::filesystem::rename(part, file);
}

} // namespace

std::string input_name(const session_input& in) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : to_corpus_text(in)) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

campaign_result run_campaign(const std::vector<session_input>& seeds, const target& t,
                             const campaign_options& o) {
    campaign_result res;
    auto& st = res.stats;
    transition_set seen;
    std::vector<session_input> corpus;
    std::set<std::string> reported;
    mutator mut(o.seed, vocabulary(seeds), o.limits);
    // Whether pipelined lines must be answered: what the target's CAPA says.
    auto exec_opts = o.exec;
    exec_opts.pipelining = advertises_pipelining(t, o.exec.reply_timeout);
    res.pipelining = exec_opts.pipelining;
    const auto start = clock_type::now();
    auto next_status = start + o.status_interval;
    bool target_gone = false;

    const auto elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - start); };
    const auto out_of_budget = [&] {
        if (o.max_sessions && st.sessions >= *o.max_sessions) return true;
        if (o.max_findings && res.findings.size() >= *o.max_findings) return true;
        return elapsed() >= o.duration;
    };
    // A hang reported (here or by another job) is not waited for again: later sessions that
    // meet it end after the reply timeout (exec_options::known_hangs).
    const auto remember_hang = [&](const finding& f) {
        if (f.kind == finding_kind::hang || f.kind == finding_kind::pipelined_hang)
            exec_opts.known_hangs.insert(f.key());
    };
    double found_at = 0; // when the finding being settled was seen (minimising takes time)
    // `found` is the input as it was found, `minimal` what minimising left of it.
    const auto report = [&](const finding& f, const session_input& minimal,
                            const session_result& shown, const session_input& found) {
        auto info = o.info;
        info.session = st.sessions + 1;
        reported_finding rf{f,  minimal,  reproducer_text(f, shown, info),
                            {}, found_at, info.session};
        const auto stem = std::string(to_string(f.kind)) + "-" + f.keyword;
        if (o.findings_dir) {
            rf.file = *o.findings_dir / (stem + ".pop3");
            write_text(rf.file, rf.transcript);
            write_text(*o.findings_dir / (stem + ".input"), to_corpus_text(minimal));
            write_text(*o.findings_dir / (stem + ".found.input"), to_corpus_text(found));
        }
        if (o.on_finding)
            o.on_finding(stem + ": " + f.detail +
                         (rf.file.empty() ? "" : " -> " + rf.file.string()));
        res.findings.push_back(std::move(rf));
        st.findings = res.findings.size();
        remember_hang(f);
    };
    // A launched target that died is started again before the next session.
    const auto ensure_running = [&] {
        if (t.process && !t.process->running()) {
            t.process->start();
            ++st.restarts;
        }
    };
    // The command a process finding is about: the last line sent, by its keyword even when the
    // line is not certain (a crash on a 1,000-octet PASS is about PASS).
    const auto keyword_of = [](const session_result& r) -> std::string {
        if (r.exchanges.empty()) return r.connected ? "greeting" : "connect";
        const auto& ex = r.exchanges.back();
        if (ex.sasl) return "SASL-RESPONSE";
        auto text = std::string_view(ex.wire);
        text = text.substr(0, text.find_first_of("\r\n"));
        const auto* info = find_command(next_token(text));
        return info ? std::string(info->keyword) : "UNKNOWN";
    };
    // What the launched target's process did during the session: it died or wrote a
    // sanitizer's report. When the session saw the connection end, the process is given a
    // moment to be seen dead (a crash closes its sockets as it exits; servers also close
    // after errors, so the moment is short).
    const auto process_finding = [&](const session_result& r,
                                     std::chrono::milliseconds grace) -> std::optional<finding> {
        if (!t.process) return std::nullopt;
        const bool cut = !r.connected || r.closed;
        const auto ev = t.process->check(cut ? grace : std::chrono::milliseconds(0));
        if (!ev) return std::nullopt;
        return finding{ev->what == process_event::kind::died ? finding_kind::process_died
                                                             : finding_kind::sanitizer_report,
                       keyword_of(r), ev->detail, r.exchanges.empty() ? 0 : r.exchanges.size() - 1};
    };
    // A run for confirming and minimising: the session and the finding it shows.
    using rerun_fn =
        std::function<std::pair<session_result, std::optional<finding>>(const session_input&)>;
    // Confirming and minimising give a dying process a whole second (a core dump takes time):
    // a death seen late would be blamed on the next run.
    const rerun_fn rerun_session = [&](const session_input& in) {
        ensure_running();
        auto rr = run_session(in, t, exec_opts);
        auto f = process_finding(rr, std::chrono::milliseconds(1000));
        ensure_running();
        if (!f) f = rr.found;
        return std::pair{std::move(rr), std::move(f)};
    };
    // For a process finding: each run on a freshly started process, so that an input is
    // blamed only when it makes the process die (or report) on its own.
    const rerun_fn rerun_fresh = [&](const session_input& in) {
        t.process->start();
        return rerun_session(in);
    };
    // Confirms (a hang: once more), minimises and reports a finding not reported before.
    const auto settle = [&](const finding& f, const session_input& in, const session_result& r,
                            const rerun_fn& rerun) {
        found_at = elapsed().count();
        const auto key = f.key();
        if (reported.contains(key)) return;
        // A hang is a matter of time: a loaded machine can be slow once. It counts only when
        // the same input hangs again on the same command (AFL re-runs its hangs too).
        if (f.kind == finding_kind::hang || f.kind == finding_kind::pipelined_hang) {
            const auto again = rerun(in).second;
            if (!again || again->key() != key) return;
        }
        // Claimed once confirmed: with --jobs, the first job to confirm it reports it.
        reported.insert(key);
        if (o.claim_finding && !o.claim_finding(key)) {
            remember_hang(f);
            return;
        }
        const auto reproduces = [&](const session_input& cand) {
            const auto again = rerun(cand).second;
            return again && again->key() == key;
        };
        const auto minimal = minimise(in, f, reproduces, o.minimise_runs, o.minimise_budget);
        auto [shown, again] = rerun(minimal);
        if (again && again->key() == key)
            report(*again, minimal, shown, in);
        else
            report(f, in, r, in);
    };

    std::set<std::string> synced;     // corpus file names written or read
    std::deque<session_input> recent; // with --launch: the last inputs run (culprit search)
    const auto handle = [&](const session_input& in, const session_result& r) {
        if (auto pf = process_finding(r, std::chrono::milliseconds(50))) {
            ensure_running();
            if (reported.contains(pf->key())) return;
            // The process may have died of an earlier session (a crash seen late): the input
            // that makes it die again is the culprit, this one or one of the last before it.
            for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
                auto [again_r, again] = rerun_fresh(*it);
                if (again && (again->kind == finding_kind::process_died ||
                              again->kind == finding_kind::sanitizer_report)) {
                    settle(*again, *it, again_r, rerun_fresh);
                    return;
                }
            }
            // None does alone: still a crash, reported as seen.
            found_at = elapsed().count();
            pf->detail += " (no input of the last " + std::to_string(recent.size()) +
                          " sessions made it die again on its own)";
            if (reported.insert(pf->key()).second &&
                (!o.claim_finding || o.claim_finding(pf->key())))
                report(*pf, in, r, in);
            return;
        }
        if (!r.connected || r.closed_unanswered) {
            // The canary: a target that no longer greets a new connection has crashed.
            if (!target_greets(t, o.canary_timeout)) {
                finding f{finding_kind::stopped_accepting, keyword_of(r),
                          "the target no longer answers a new connection with a greeting",
                          r.exchanges.empty() ? 0 : r.exchanges.size() - 1};
                found_at = elapsed().count();
                if (reported.insert(f.key()).second &&
                    (!o.claim_finding || o.claim_finding(f.key())))
                    report(f, in, r, in);
                target_gone = true;
            }
            return;
        }
        if (r.found) {
            settle(*r.found, in, r, rerun_session);
            return;
        }
        if (seen.add(r.transitions) > 0 && corpus.size() < o.max_corpus) {
            corpus.push_back(in);
            if (o.corpus_dir) {
                const auto name = input_name(in) + ".input";
                synced.insert(name);
                write_text(*o.corpus_dir / name, to_corpus_text(in));
            }
        }
    };

    // Resources of a launched target: its level a moment after each start is the baseline.
    std::optional<conformance::tree_usage> baseline;
    auto next_resource = start + o.resource_interval;
    const long growth_kib = std::max<long>(1024, o.max_rss_growth_kib / 64);
    // Whether `in`, run growth_runs times on a fresh target after a warm-up, grows it.
    const auto grows = [&](const session_input& in, std::string& how) {
        t.process->start();
        for (std::size_t i = 0; i < 32 && t.process->running(); ++i)
            (void)run_session(in, t, exec_opts);
        const auto before = t.process->usage();
        for (std::size_t i = 0; i < o.growth_runs && t.process->running(); ++i)
            (void)run_session(in, t, exec_opts);
        if (t.process->check()) {
            ensure_running();
            return false;
        }
        const auto after = t.process->usage();
        how = std::to_string(o.growth_runs) + " runs of it after 32 grow the process from " +
              std::to_string(before.rss_kib) + " to " + std::to_string(after.rss_kib) +
              " KiB resident, " + std::to_string(before.fds) + " to " + std::to_string(after.fds) +
              " descriptors";
        return (o.max_rss_growth_kib > 0 && after.rss_kib - before.rss_kib > growth_kib) ||
               after.fds > before.fds + 8;
    };
    const auto check_resources = [&] {
        if (!t.process || !t.process->running() || clock_type::now() < next_resource) return;
        next_resource = clock_type::now() + o.resource_interval;
        const auto u = t.process->usage();
        if (!baseline) {
            if (clock_type::now() - t.process->started_at() >= std::chrono::seconds(2))
                baseline = u;
            return;
        }
        const bool over_rss =
            o.max_rss_growth_kib > 0 && u.rss_kib - baseline->rss_kib > o.max_rss_growth_kib;
        const bool over_fds = u.fds > baseline->fds + o.max_fd_growth;
        if (!over_rss && !over_fds) return;
        std::string what = over_rss
                               ? "resident memory grew from " + std::to_string(baseline->rss_kib) +
                                     " to " + std::to_string(u.rss_kib) + " KiB"
                               : "open descriptors grew from " + std::to_string(baseline->fds) +
                                     " to " + std::to_string(u.fds);
        baseline.reset();
        // Which of the last inputs makes it grow on its own: the most recent first.
        std::set<std::string> tried;
        for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
            if (!tried.insert(to_corpus_text(*it)).second) continue;
            std::string how;
            if (!grows(*it, how)) continue;
            // The session as a whole is the cause: its minimised commands say which.
            finding f{finding_kind::resource_growth, "session",
                      "the target's " + what + " since its start (bound " +
                          (over_rss ? std::to_string(o.max_rss_growth_kib) + " KiB"
                                    : std::to_string(o.max_fd_growth) + " descriptors") +
                          "); " + how,
                      0};
            const rerun_fn rerun_growth = [&](const session_input& cand) {
                std::string cand_how;
                const bool g = grows(cand, cand_how);
                auto rr = run_session(cand, t, exec_opts);
                finding again = f;
                again.detail = "the target's " + what + " since its start; " + cand_how;
                again.line = rr.exchanges.empty() ? 0 : rr.exchanges.size() - 1;
                return std::pair{std::move(rr), g ? std::optional<finding>(again) : std::nullopt};
            };
            settle(f, *it, run_session(*it, t, exec_opts), rerun_growth);
            break;
        }
        recent.clear();
        t.process->start(); // a fresh level
    };

    // The STARTTLS-injection check waits in silence; it may take a tenth of the campaign.
    double injection_seconds = 0;
    const auto run = [&](const session_input& in) {
        auto exec = exec_opts;
        if (injection_seconds > 0.1 * elapsed().count()) exec.injection_quiet = {};
        if (t.process) {
            recent.push_back(in);
            if (recent.size() > 16) recent.pop_front();
        }
        auto r = run_session(in, t, exec);
        if (r.injection_checked) ++st.injection_checked;
        if (r.injection_checked && !r.injection_no_tls)
            injection_seconds += std::chrono::duration<double>(exec.injection_quiet).count();
        if (r.injection_skipped) ++st.injection_skipped;
        return r;
    };
    double sample_every = 1.0, next_sample = 0;
    const auto sample = [&] {
        if (res.history.size() >= 1024) {
            std::vector<campaign_sample> half;
            for (std::size_t i = 0; i < res.history.size(); i += 2)
                half.push_back(res.history[i]);
            res.history = std::move(half);
            sample_every *= 2;
        }
        res.history.push_back({st.seconds, st.sessions, st.corpus, st.transitions, st.findings});
        next_sample = st.seconds + sample_every;
    };
    const auto tick = [&] {
        check_resources();
        st.seconds = elapsed().count();
        st.corpus = corpus.size();
        st.transitions = seen.size();
        if (st.seconds >= next_sample) sample();
        if (o.on_status && clock_type::now() >= next_status) {
            o.on_status(st);
            next_status = clock_type::now() + o.status_interval;
        }
    };
    for (const auto& s : seeds) {
        if (out_of_budget() || target_gone) break;
        handle(s, run(s));
        ++st.sessions;
        tick();
    }
    if (corpus.empty() && !seeds.empty()) corpus.push_back(seeds.front());
    if (o.corpus_dir) // the seeds read from it are known already
        for (const auto& s : seeds)
            synced.insert(input_name(s) + ".input");
    // Inputs that other jobs wrote to the corpus folder since the last look.
    auto next_sync = clock_type::now() + o.sync_interval;
    const auto sync = [&] {
        if (!o.corpus_dir || clock_type::now() < next_sync) return;
        next_sync = clock_type::now() + o.sync_interval;
        std::error_code ec;
        std::vector<std::filesystem::path> fresh;
        for (std::filesystem::directory_iterator it(*o.corpus_dir, ec), end; !ec && it != end;
             it.increment(ec))
            if (it->path().extension() == ".input" &&
                !synced.contains(it->path().filename().string()))
                fresh.push_back(it->path());
        std::sort(fresh.begin(), fresh.end());
        for (const auto& file : fresh) {
            synced.insert(file.filename().string());
            std::ifstream in(file, std::ios::binary);
            const std::string text((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
            try {
                const auto input = parse_corpus_text(text, file, o.limits);
                handle(input, run(input));
                ++st.sessions;
                ++st.imported;
            } catch (const corpus_error&) {
                // Not an input (files are written whole, by rename): skipped, not judged.
            }
            if (out_of_budget() || target_gone) return;
        }
    };
    while (!out_of_budget() && !target_gone && !corpus.empty()) {
        sync();
        const auto in = mut.mutate(corpus[mut.pick(corpus.size())], corpus);
        handle(in, run(in));
        ++st.sessions;
        tick();
    }
    st.seconds = elapsed().count();
    st.corpus = corpus.size();
    st.transitions = seen.size();
    sample();
    return res;
}

} // namespace pop3::fuzzer
