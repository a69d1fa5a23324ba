#include "pop3/fuzzer/campaign.hpp"

#include "pop3/fuzzer/minimiser.hpp"
#include "pop3/fuzzer/mutator.hpp"

#include <cstdio>
#include <fstream>
#include <set>

namespace pop3::fuzzer {
namespace {

using clock_type = std::chrono::steady_clock;

void write_text(const std::filesystem::path& file, const std::string& text) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error(file.string() + ": cannot write");
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
    const auto start = clock_type::now();
    auto next_status = start + o.status_interval;
    bool target_gone = false;

    const auto elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - start); };
    const auto out_of_budget = [&] {
        if (o.max_sessions && st.sessions >= *o.max_sessions) return true;
        return elapsed() >= o.duration;
    };
    const auto report = [&](const finding& f, const session_input& minimal,
                            const session_result& shown) {
        auto info = o.info;
        info.session = st.sessions + 1;
        reported_finding rf{f, minimal, reproducer_text(f, shown, info), {}};
        const auto stem = std::string(to_string(f.kind)) + "-" + f.keyword;
        if (o.findings_dir) {
            rf.file = *o.findings_dir / (stem + ".pop3");
            write_text(rf.file, rf.transcript);
            write_text(*o.findings_dir / (stem + ".input"), to_corpus_text(minimal));
        }
        if (o.on_finding)
            o.on_finding(stem + ": " + f.detail +
                         (rf.file.empty() ? "" : " -> " + rf.file.string()));
        res.findings.push_back(std::move(rf));
        st.findings = res.findings.size();
    };
    const auto handle = [&](const session_input& in, const session_result& r) {
        if (!r.connected || r.closed_unanswered) {
            // The canary: a target that no longer greets a new connection has crashed.
            if (!target_greets(t, o.canary_timeout)) {
                const auto kw = r.exchanges.empty()
                                    ? std::string("connect")
                                    : classify_line(r.exchanges.back().wire, false).keyword();
                finding f{finding_kind::stopped_accepting, kw,
                          "the target no longer answers a new connection with a greeting",
                          r.exchanges.empty() ? 0 : r.exchanges.size() - 1};
                if (reported.insert(f.key()).second) report(f, in, r);
                target_gone = true;
            }
            return;
        }
        if (r.found) {
            const auto key = r.found->key();
            if (reported.contains(key)) return;
            // A hang is a matter of time: a loaded machine can be slow once. It counts only when
            // the same input hangs again on the same command (AFL re-runs its hangs too).
            if (r.found->kind == finding_kind::hang) {
                const auto again = run_session(in, t, o.exec);
                if (!again.found || again.found->key() != key) return;
            }
            reported.insert(key);
            const auto reproduces = [&](const session_input& cand) {
                const auto again = run_session(cand, t, o.exec);
                return again.found && again.found->key() == key;
            };
            const auto minimal =
                minimise(in, *r.found, reproduces, o.minimise_runs, o.minimise_budget);
            auto shown = run_session(minimal, t, o.exec);
            if (shown.found && shown.found->key() == key)
                report(*shown.found, minimal, shown);
            else
                report(*r.found, in, r);
            return;
        }
        if (seen.add(r.transitions) > 0 && corpus.size() < o.max_corpus) {
            corpus.push_back(in);
            if (o.corpus_dir)
                write_text(*o.corpus_dir / (input_name(in) + ".input"), to_corpus_text(in));
        }
    };

    // The STARTTLS-injection check waits in silence; it may take a tenth of the campaign.
    double injection_seconds = 0;
    const auto run = [&](const session_input& in) {
        auto exec = o.exec;
        if (injection_seconds > 0.1 * elapsed().count()) exec.injection_quiet = {};
        auto r = run_session(in, t, exec);
        if (r.injection_checked)
            injection_seconds += std::chrono::duration<double>(exec.injection_quiet).count();
        return r;
    };
    const auto tick = [&] {
        st.seconds = elapsed().count();
        st.corpus = corpus.size();
        st.transitions = seen.size();
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
    while (!out_of_budget() && !target_gone && !corpus.empty()) {
        const auto in = mut.mutate(corpus[mut.pick(corpus.size())], corpus);
        handle(in, run(in));
        ++st.sessions;
        tick();
    }
    st.seconds = elapsed().count();
    st.corpus = corpus.size();
    st.transitions = seen.size();
    return res;
}

} // namespace pop3::fuzzer
