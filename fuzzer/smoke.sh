#!/usr/bin/env bash
# pop3-fuzz's smoke run (scripts/test.sh; docs/fuzzing.md): 30 s of each direction against
# pop3kit's own correct mock server and client, which must give no finding, then each against
# a planted bug of the bug bench, which must be found (a test build: POP3_PLANTED_BUGS).
#   fuzzer/smoke.sh [--build-dir DIR] [--seconds S]
# Prints "ok CHECK" or "FAIL CHECK: reason" per check; exits 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build/default seconds=30
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        *) echo "usage: fuzzer/smoke.sh [--build-dir DIR] [--seconds S]" >&2; exit 2 ;;
    esac
done
fuzz=$build/fuzzer/pop3-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }

# check NAME WANT_EXIT EXPECTED_FILE -- pop3-fuzz ARGS...: runs it, keeps its output.
check() {
    local name=$1 want=$2 file=$3
    shift 4
    "$fuzz" "$@" >"$work/$name.out" 2>"$work/$name.err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$name" "exit $rc, expected $want; $(tail -n 5 "$work/$name.out" "$work/$name.err" | tr '\n' ' ')"
    elif [ -n "$file" ] && [ ! -e "$file" ]; then
        fail "$name" "no $file; $(tail -n 5 "$work/$name.out" | tr '\n' ' ')"
    else
        ok "$name: $(grep -m1 'sessions in\|sessions, ' "$work/$name.out")"
    fi
}

check server-clean 0 "" -- server --duration "$seconds" --status 3600 \
    --findings "$work/server-clean"
check server-planted 1 "$work/server-planted/deleted-message-DELE.pop3" -- server \
    --duration "$seconds" --status 3600 --plant-bug dele-twice-ok --max-findings 1 \
    --findings "$work/server-planted"
check client-clean 0 "" -- client --duration "$seconds" --status 3600 \
    --findings "$work/client-clean"
# The families and tasks where an octet count is served: the client bench's setting for it.
POP3KIT_PLANTED_BUG=octet-count-crash check client-planted 1 "" -- client \
    --duration "$seconds" --status 3600 --findings "$work/client-planted" \
    --task status,fetch-all --login any --tls none --family stat/octets,list/listing
if [ "$failed" = 0 ] && ! ls "$work"/client-planted/*.toml >/dev/null 2>&1; then
    fail client-planted "no client case written in $work/client-planted"
fi
exit $failed
