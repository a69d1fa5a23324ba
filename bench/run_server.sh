#!/usr/bin/env bash
# Mock-server and client benchmarks (issues 3 and 4). Starts pop3-mockserver as its own process
# on 127.0.0.1, runs pop3-bench / pop3-bench-client / poplib / curl against it, and stops it.
# Usage: bench/run_server.sh [build-dir]   (default build/default; build it first)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/default}
server=$build/mockserver/pop3-mockserver
bench=$build/bench/pop3-bench
client=$build/bench/pop3-bench-client
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# start_server NAME ARGS...: starts pop3-mockserver, waits for its port, sets $port.
start_server() {
    local out=$tmp/$1.out
    shift
    "$server" --quiet "$@" >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 600); do
        grep -q '^listening pop3 ' "$out" 2>/dev/null && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening pop3 .*:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] || { echo "server did not start: $(cat "$out")"; exit 1; }
}

ulimit -n "$(ulimit -Hn)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== idle connections (goal: >= 10000)"
start_server idle --user u:p --generate 1:100
"$bench" idle "$port" 10000

echo "== sessions/s login+STAT+LIST+UIDL+QUIT (goal: >= 2700, 3x Dovecot with process reuse)"
users=()
for i in $(seq 1 32); do users+=(--user "u$i:p"); done
start_server sessions "${users[@]}" --generate 10:2000
"$bench" sessions "$port" 10 32 u p

echo "== RETR of one 50 MB message"
start_server retr --user u:p --generate 1:52428800
"$bench" retr "$port" u p 1
"$client" "$port" u p 1
"$client" "$port" u p 1 stream
python3 - "$port" <<'PY'
import poplib, sys, time
c = poplib.POP3("127.0.0.1", int(sys.argv[1]))
c.user("u"); c.pass_("p")
t = time.monotonic(); resp, lines, octets = c.retr(1); dt = time.monotonic() - t
print(f"poplib retr: {octets} octets in {dt:.3f} s = {octets/dt/1e6:.0f} MB/s")
c.quit()
PY
python3 - "$port" <<'PY'
import subprocess, sys, time
t = time.monotonic()
subprocess.run(["curl", "-s", "-o", "/dev/null", f"pop3://u:p@127.0.0.1:{sys.argv[1]}/1"], check=True)
dt = time.monotonic() - t
print(f"curl retr: 52428800 octets in {dt:.3f} s = {52428800/dt/1e6:.0f} MB/s (whole session)")
PY

echo "== streaming RETR of 1 GB: peak RSS of pop3-bench-client (goal: < 32 MB)"
start_server big --user u:p --generate 1:1073741824
/usr/bin/time -f "peak RSS %M KB" "$client" "$port" u p 1 stream

echo "== 10000 messages of 2 KB in one session: lock-step vs pipelined"
start_server many --user u:p --generate 10000:2048
"$client" many "$port" u p 10000 1
start_server many2 --user u:p --generate 10000:2048
"$client" many "$port" u p 10000 32
start_server many3 --user u:p --generate 10000:2048
python3 - "$port" <<'PY'
import poplib, sys, time
c = poplib.POP3("127.0.0.1", int(sys.argv[1]))
c.user("u"); c.pass_("p")
t = time.monotonic()
for i in range(1, 10001):
    c.retr(i)
dt = time.monotonic() - t
print(f"poplib retr x10000: {dt:.3f} s = {10000/dt:.0f} messages/s")
c.quit()
PY
