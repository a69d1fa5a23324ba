#!/usr/bin/env bash
# pop3kit's soak/chaos stage (issue 14): 60 s of mixed and hostile POP3 sessions against
# pop3-mockserver built with ASan+UBSan, then checks (docs/soak.md): no sanitizer report,
# memory back near its baseline, no fd leak, no maildrop lock left held, --persist deletions
# exactly those of completed QUITs, every server alive and stopping on SIGTERM with exit 0.
#
#   soak/run.sh [--build-dir DIR] [--quick] [--duration S] [--seed N] [--keep] [soak.py options]
#
#   --build-dir DIR  take DIR/mockserver/pop3-mockserver (default build/asan; it is not built
#                    here: scripts/test.sh builds it, or cmake --build build/asan --target
#                    pop3-mockserver)
#   --quick          15 s of load instead of 60 (development)
#   --duration S     seconds of load
#   --seed N         repeat a run's random choices (every run prints its seed)
#   --keep           keep the work folder (maildrops, server logs) and print its path; it is
#                    also kept (without the maildrops) when a check fails
#   --weights K=N,…  change session-kind weights, e.g. flood-stall=0 (development); with
#   --workers N, --idle-workers N and --idle-timeout S, passed to soak/soak.py (--help there)
#
# Everything listens on 127.0.0.1, on ports the kernel picks; every server this stage starts is
# stopped when it ends, however it ends. Prints "ok CHECK" / "FAIL CHECK: reason" and
# "soak: N passed, N failed" last; exits 1 when a check failed, 2 when it could not run.
# The figures also go to DIR/soak-results.json.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

build_dir=build/asan
keep=0
pass=()
while [ $# -gt 0 ]; do
    case $1 in
        --build-dir) build_dir=${2:?--build-dir needs a folder}; shift ;;
        --keep) keep=1 ;;
        --duration | --seed | --workers | --idle-workers | --idle-timeout | --weights)
            pass+=("$1" "${2:?$1 needs a value}"); shift ;;
        --quick) pass+=("$1") ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

MOCK=$build_dir/mockserver/pop3-mockserver
if [ ! -x "$MOCK" ]; then
    echo "soak: $MOCK is missing (build it: cmake --build $build_dir --target pop3-mockserver)" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "soak: python3 is missing" >&2; exit 2; }

TMP=$(mktemp -d /tmp/pop3kit-soak.XXXXXX)
driver=
code=2
cleanup() {
    local pid
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        kill -TERM "$driver" 2>/dev/null
        wait "$driver" 2>/dev/null
    fi
    # The servers soak.py started: it stops them itself, even on TERM; this is the safety net
    # (a pid counts while it is a pop3-mockserver, a zombie's cmdline is empty).
    local left=()
    if [ -f "$TMP/pids" ]; then
        while read -r pid; do
            if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'pop3-mockserver'; then
                kill -TERM "$pid" 2>/dev/null && left+=("$pid")
            fi
        done <"$TMP/pids"
    fi
    for pid in "${left[@]}"; do
        for _ in $(seq 50); do
            tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'pop3-mockserver' || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ "$keep" -eq 1 ] || [ "$code" -ne 0 ]; then
        [ "$keep" -eq 1 ] || rm -rf "$TMP/maildrop"
        echo "soak: kept $TMP (server logs in */stderr, sanitizer reports in sanitizer/)"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$build_dir"
# In the background, so that an INT or TERM runs the trap at once.
python3 soak/soak.py --server "$MOCK" --work "$TMP" --json "$build_dir/soak-results.json" \
    "${pass[@]}" &
driver=$!
wait "$driver"
code=$?
driver=
exit $code
