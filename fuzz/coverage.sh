#!/usr/bin/env bash
# Source coverage of the fuzz corpus: builds every replay_<target> with clang 14 source-based
# coverage (-fprofile-instr-generate -fcoverage-mapping) in build/coverage, replays
# corpus/<target> and corpus/regressions/<target>, and prints llvm-cov-14's line coverage of
# protocol/, client/ and mockserver/ (all targets together, then per target).
#
#   fuzz/coverage.sh [TARGET...]        (default: every target in fuzz/CMakeLists.txt)
#
# The HTML report: llvm-cov-14 show -format=html -output-dir=build/coverage/html \
#   -instr-profile=build/coverage/all.profdata <objects>   (the objects are printed below).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build/coverage
flags="-fprofile-instr-generate -fcoverage-mapping"

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    # shellcheck disable=SC2207
    targets=($(sed -nE '/^set\(POP3_FUZZ_TARGETS/,/\)/p' fuzz/CMakeLists.txt |
        sed -E 's/set\(POP3_FUZZ_TARGETS//; s/\)//'))
fi

if [[ ! -f $build/build.ninja ]]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DPOP3_BUILD_TESTS=ON \
        -DPOP3_BUILD_EXAMPLES=OFF -DPOP3_BUILD_FUZZERS=OFF >/dev/null
fi
cmake --build "$build" --target "${targets[@]/#/replay_}" >/dev/null

rm -rf "$build/profiles"
mkdir -p "$build/profiles"
objects=()
for t in "${targets[@]}"; do
    # One process per input, so that an input that still aborts (a regression not yet fixed)
    # loses only its own profile.
    failed=0 i=0
    while IFS= read -r -d '' f; do
        i=$((i + 1))
        { LLVM_PROFILE_FILE="$root/$build/profiles/$t-$i.profraw" "$build/fuzz/replay_$t" "$f" \
            >/dev/null </dev/null; } 2>/dev/null || failed=$((failed + 1))
    done < <(find "corpus/$t" "corpus/regressions/$t" -type f ! -name '.*' -print0 | sort -z)
    [[ $failed -eq 0 ]] || echo "coverage.sh: $failed input(s) of $t fail (unfixed findings)" >&2
    llvm-profdata-14 merge -sparse "$build/profiles/$t"-*.profraw -o "$build/profiles/$t.profdata"
    objects+=("$build/fuzz/replay_$t")
done
# The replay main and LLVMFuzzerTestOneInput differ between binaries ("mismatched data"); the
# library functions they share are the same code, so their counts add up.
llvm-profdata-14 merge -sparse "$build"/profiles/*.profraw -o "$build/all.profdata" 2>/dev/null

# Line coverage per source folder, from llvm-cov's JSON summary. Only files linked into some
# replay binary are known to llvm-cov (e.g. not mockserver/src/server.cpp, the socket listener).
summary() { # label profdata objects...
    local label=$1 profdata=$2 first=$3
    shift 3
    llvm-cov-14 export -summary-only -instr-profile="$profdata" "$first" "${@/#/-object=}" \
        2>/dev/null |
        python3 -c '
import json, sys
root, label = sys.argv[1], sys.argv[2]
totals = {d: [0, 0] for d in ("protocol", "client", "mockserver")}
for f in json.load(sys.stdin)["data"][0]["files"]:
    rel = f["filename"][len(root) + 1:] if f["filename"].startswith(root + "/") else ""
    top = rel.split("/")[0]
    if top in totals:
        totals[top][0] += f["summary"]["lines"]["covered"]
        totals[top][1] += f["summary"]["lines"]["count"]
cells = []
for d, (c, n) in totals.items():
    cells.append("%s/ %s" % (d, "%d/%d %.1f%%" % (c, n, 100.0 * c / n) if n else "-"))
print("  %-15s %s" % (label, "   ".join(cells)))
' "$root" "$label"
}

echo "line coverage of the corpus (llvm-cov-14, $(date -u +%Y-%m-%d)), covered/lines:"
summary "all targets" "$build/all.profdata" "${objects[@]}"
for i in "${!targets[@]}"; do
    summary "${targets[$i]}" "$build/profiles/${targets[$i]}.profdata" "${objects[$i]}"
done
others=("${objects[@]:1}")
echo "HTML: llvm-cov-14 show -format=html -output-dir=$build/html" \
    "-instr-profile=$build/all.profdata ${objects[0]} ${others[*]/#/-object=}"
