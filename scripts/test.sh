#!/usr/bin/env bash
# Quick start (2): set up, build and run every test — formatting check, the default build
# (GCC 12, warnings as errors) and the ASan+UBSan build (clang 14), each with ctest, the Debian
# package unpacked into a clean root and used there (scripts/package-test.sh), pop3-fuzz's smoke
# run (fuzzer/smoke.sh: 30 s per direction against pop3kit's own, and a planted bug each), a 60 s
# soak/chaos run against the ASan+UBSan mock server (soak/run.sh, docs/soak.md), then the
# interop stage against real POP3 software (interop/run.sh, docs/interop.md), and a smoke run of
# the performance suite (bench/run.sh --quick: every row is measured; the figures are not judged
# on a shared CI machine).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage prints its start time in seconds since this script began (CI has a time limit;
# the figures tell which stage grew).
stage() { echo "== [$SECONDS s] $*"; }
bash scripts/setup.sh

stage "format check (.clang-format)"
bash scripts/check-format.sh

for preset in ci asan; do
    stage "build and test: $preset"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset"
    ctest --preset "$preset" -j 2
done

stage "package: build the .deb, unpack it into a clean root, use it (scripts/package-test.sh, docs/packaging.md)"
bash scripts/package-test.sh

stage "fuzz smoke: pop3-fuzz server and client against pop3kit's own, then a planted bug each (fuzzer/smoke.sh, docs/fuzzing.md)"
bash fuzzer/smoke.sh --build-dir build/ci

stage "soak: 60 s of mixed and hostile sessions against the ASan+UBSan mock server (docs/soak.md; 127.0.0.1 only)"
bash soak/run.sh --build-dir build/asan

stage "interop: Dovecot, poplib, curl, fetchmail, mpop, and them as clients under test (127.0.0.1 only)"
bash interop/run.sh --build-dir build/ci

stage "performance suite, smoke run (bench/run.sh --quick; figures in docs/performance.md)"
bash bench/run.sh --quick --build-dir build/ci --out build/ci/bench-results.json
stage "done"
