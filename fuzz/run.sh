#!/usr/bin/env bash
# Runs one fuzzing campaign and merges what it found into the corpus.
#
#   fuzz/run.sh TARGET [SECONDS=600] [JOBS=1]
#
# Builds fuzzer_TARGET with the `fuzz` preset (clang 14, libFuzzer+ASan+UBSan) if needed, runs
# libFuzzer in fork mode (-fork=JOBS) with fuzz/pop3.dict for SECONDS over corpus/TARGET, then
# merges the new inputs that add coverage into corpus/TARGET, each named by its SHA-256.
# Prints exec/s, cov: (edges) and the number of inputs added. Crashes are left in
# build/fuzz/runs/TARGET/ (crash-*, timeout-*, oom-*); see docs/fuzzing.md for what to do next.
set -euo pipefail

target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [JOBS]}
seconds=${2:-600}
jobs=${3:-1}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
corpus=corpus/$target
[[ -f fuzz/fuzz_$target.cpp ]] || { echo "run.sh: no fuzz/fuzz_$target.cpp" >&2; exit 2; }
mkdir -p "$corpus"

[[ -f build/fuzz/build.ninja ]] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "fuzzer_$target" >/dev/null
fuzzer=$root/build/fuzz/fuzz/fuzzer_$target

work=$root/build/fuzz/runs/$target
rm -rf "$work/new" "$work/merged" "$work/merge.txt"
mkdir -p "$work/new" "$work/merged"
touch "$work/started"
log=$work/fuzz.log

# Fork mode: new inputs land in the first directory, crashes under -artifact_prefix. -timeout
# catches super-linear behaviour (the apop target builds 256 KiB greetings on purpose).
# ASan's quarantine is cut from 256 MB to 64 MB: a fork-mode job runs thousands of inputs, and
# with the default the transcript target's jobs grew past -rss_limit_mb (1 GB after its 841
# seeds; 136 MB with 16 MB) and reported out-of-memory on inputs that peak at 65 MB on their own.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}
status=0
"$fuzzer" -fork="$jobs" -max_total_time="$seconds" -dict=fuzz/pop3.dict -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/new" "$corpus" >"$log" 2>&1 || status=$?

# Merge: a fresh directory seeded with the corpus, then the new inputs that add coverage.
cp "$corpus"/* "$work/merged/" 2>/dev/null || true
"$fuzzer" -merge=1 -dict=fuzz/pop3.dict "$work/merged" "$work/new" >"$work/merge.txt" 2>&1
added=0
for f in "$work/merged"/*; do
    [[ -f $f ]] || continue
    name=$(sha256sum "$f" | cut -c1-64)
    if [[ ! -e $corpus/$name ]]; then
        cp "$f" "$corpus/$name"
        added=$((added + 1))
    fi
done

# The last status line of the run ("#N: cov: C ft: F corp: ... exec/s: E ...").
last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1 || true)
cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
runs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
elapsed=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
# Fork mode's own exec/s field is per job and often 0: total runs over elapsed time instead.
execs=
if [[ -n $runs && ${elapsed:-0} -gt 0 ]]; then execs=$((runs / elapsed)); fi
# This run's findings only: those of earlier runs stay in $work until someone deals with them.
crashes=$(find "$work" -maxdepth 1 -newer "$work/started" \( -name 'crash-*' -o -name 'timeout-*' \
    -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)

echo "target=$target seconds=$seconds jobs=$jobs runs=${runs:-?} exec/s=${execs:-?}" \
    "cov=${cov:-?} ft=${ft:-?} corpus=$(find "$corpus" -type f | wc -l) new_inputs=$added" \
    "findings=$crashes"
if [[ $status -ne 0 || $crashes -ne 0 ]]; then
    echo "run.sh: libFuzzer exited with $status; findings in $work (log: $log)" >&2
    exit 1
fi
