#!/usr/bin/env bash
# Builds the fuzz targets the OSS-Fuzz / ClusterFuzzLite way (.clusterfuzzlite/build.sh calls
# this): compilers and flags from $CC, $CXX, $CFLAGS, $CXXFLAGS, the engine from
# $LIB_FUZZING_ENGINE, and into $OUT for each target:
#   <target>                   the fuzzer (fuzzer_<target> renamed)
#   <target>_seed_corpus.zip   corpus/<target> and corpus/regressions/<target>
#   <target>.dict              fuzz/pop3.dict
#   <target>.options           libFuzzer options ([libfuzzer] dict, max_len)
# Extra CMake arguments (e.g. -DOPENSSL_ROOT_DIR=...) come from $POP3_CMAKE_ARGS.
# Outside a builder it defaults to clang-14 and libFuzzer and writes to build/oss-fuzz/out.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-clang-14}
CXX=${CXX:-clang++-14}
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:-$src/build/oss-fuzz/out}
build=${WORK:-$src/build/oss-fuzz}/cmake
mkdir -p "$OUT" "$build"

# shellcheck disable=SC2086
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
    -DPOP3_BUILD_FUZZERS=ON -DPOP3_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
    -DPOP3_BUILD_TESTS=OFF -DPOP3_BUILD_EXAMPLES=OFF ${POP3_CMAKE_ARGS:-}

targets=$(sed -nE '/^set\(POP3_FUZZ_TARGETS/,/\)/p' "$src/fuzz/CMakeLists.txt" |
    sed -E 's/set\(POP3_FUZZ_TARGETS//; s/\)//')
# shellcheck disable=SC2046,SC2086
cmake --build "$build" --target $(printf 'fuzzer_%s ' $targets)

for t in $targets; do
    cp "$build/fuzz/fuzzer_$t" "$OUT/$t"
    rm -f "$OUT/${t}_seed_corpus.zip"
    (cd "$src/corpus" && find "$t" "regressions/$t" -type f ! -name '.*' -print |
        zip -q -j -@ "$OUT/${t}_seed_corpus.zip")
    cp "$src/fuzz/pop3.dict" "$OUT/$t.dict"
    max_len=4096
    [[ $t == scenario ]] && max_len=65536
    printf '[libfuzzer]\ndict = %s.dict\nmax_len = %s\ntimeout = 25\n' "$t" "$max_len" \
        >"$OUT/$t.options"
done
echo "oss_fuzz_build.sh: $(wc -w <<<"$targets") targets in $OUT"
