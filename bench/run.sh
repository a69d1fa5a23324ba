#!/usr/bin/env bash
# pop3kit's performance suite (issue 8): every figure side by side with a peer measured in the
# same run on the same machine, so that the ratios hold on a noisy machine.
#
#   bench/run.sh [--quick] [--no-dovecot] [--out FILE] [--build-dir DIR]
#
# Prints a table and writes bench/results.json (or FILE) and, next to it, bench/results.svg (the
# ratios as a bar chart); docs/performance.md documents them.
# Builds what it needs with the default preset (GCC 12, RelWithDebInfo) unless --build-dir is
# given, and installs the peers (Dovecot, python3 for poplib, curl, GNU time) when they are
# missing, which needs root, as does Dovecot's master process. Everything listens on 127.0.0.1
# only; every server it starts is stopped on exit. Each figure is the best of 3 runs (1 with
# --quick, which also shortens the session runs to 2 s: a check that the suite works, not a
# measurement; it writes build/bench-quick.json unless --out is given). --no-dovecot leaves
# out the Dovecot row (no root needed then).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() { sed -n '2,15s/^# \{0,1\}//p' "$0"; }
quick=0 dovecot=1 out= build=
while [ $# -gt 0 ]; do
    case $1 in
        --quick) quick=1 ;;
        --no-dovecot) dovecot=0 ;;
        --out) out=${2:?--out needs a file}; shift ;;
        --build-dir) build=${2:?--build-dir needs a folder}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
reps=3 seconds=10
[ $quick -eq 1 ] && reps=1 seconds=2
[ -n "$out" ] || { [ $quick -eq 1 ] && out=$root/build/bench-quick.json || out=$root/bench/results.json; }
mkdir -p "$(dirname "$out")"

if [ $dovecot -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "bench/run.sh: the Dovecot row needs root (or pass --no-dovecot)" >&2
    exit 2
fi
peers=(python3 curl openssl time)
[ $dovecot -eq 1 ] && peers+=(dovecot-core dovecot-pop3d)
bash scripts/install-peers.sh "${peers[@]}"

if [ -z "$build" ]; then
    bash scripts/setup.sh >/dev/null
    build=$root/build/default
    [ -f "$build/build.ninja" ] || cmake --preset default >/dev/null
    cmake --build --preset default --target pop3-mockserver pop3-bench pop3-bench-client \
        pop3-bench-micro pop3-load pop3-fuzz >/dev/null
fi
build=$(cd "$build" && pwd)
server=$build/mockserver/pop3-mockserver
bench=$build/bench/pop3-bench
client=$build/bench/pop3-bench-client
micro=$build/bench/pop3-bench-micro
load=$build/load/pop3-load
fuzz=$build/fuzzer/pop3-fuzz
for p in "$server" "$bench" "$client" "$micro" "$load" "$fuzz"; do
    [ -x "$p" ] || { echo "bench/run.sh: $p is not built" >&2; exit 2; }
done

# Servers on the last core, clients on the first (ours and the peers alike): without pinning,
# the scheduler now and then puts both on one core, and a 30 ms measurement varies by half.
# The sessions/s row is the exception (see there).
pin_server=() pin_client=()
read -r first_cpu last_cpu < <(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[-1])')
if [ "$first_cpu" != "$last_cpu" ]; then
    pin_server=(taskset -c "$last_cpu") pin_client=(taskset -c "$first_cpu")
fi
client_side() { "${pin_client[@]}" "$@"; }

tmp=$(mktemp -d)
chmod 755 "$tmp" # Dovecot's processes (other users) must reach its files
pids=()
dovecot_conf=
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    [ -n "$dovecot_conf" ] && dovecot -c "$dovecot_conf" stop 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------------------------------------
# Helpers.

# start_server NAME ARGS...: pop3-mockserver as its own process; sets $port and $server_pid.
start_server() {
    local log=$tmp/$1.out
    shift
    "${pin_server[@]}" "$server" --quiet "$@" >"$log" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
    for _ in $(seq 1 600); do
        grep -q '^listening pop3 ' "$log" 2>/dev/null && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening pop3 .*:\([0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] || { echo "bench/run.sh: the mock server did not start: $(cat "$log")" >&2; exit 1; }
}
stop_server() {
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    local kept=() p
    for p in "${pids[@]}"; do [ "$p" = "$server_pid" ] || kept+=("$p"); done
    pids=("${kept[@]}") # a stopped server's pid may be reused by then: never signal it again
}

# number REGEX: the first group of REGEX (sed -E) in the last line of stdin that matches.
number() { sed -nE "s#.*$1.*#\1#p" | tail -1; }

# best_of VAR higher|lower REGEX COMMAND...: runs COMMAND $reps times in this shell (so that the
# servers it starts are known to the cleanup), sets VAR to the best figure. `set -e` does not
# reach inside a COMMAND that is a function (it runs under `||`): those return their failures.
best_of() {
    local var=$1 better=$2 regex=$3 best= v
    shift 3
    for _ in $(seq 1 "$reps"); do
        "$@" > "$tmp/run.out" 2>&1 || { echo "bench/run.sh: failed: $*: $(cat "$tmp/run.out")" >&2; exit 1; }
        v=$(number "$regex" < "$tmp/run.out")
        [ -n "$v" ] || { echo "bench/run.sh: no figure from: $*: $(cat "$tmp/run.out")" >&2; exit 1; }
        if [ -z "$best" ] || python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if (a > b if sys.argv[3] == "higher" else a < b) else 1)' "$v" "$best" "$better"; then
            best=$v
        fi
    done
    printf -v "$var" '%s' "$best"
}

# row ID BETTER UNIT PEER PEER_VALUE OURS GOAL WHAT: one line of the table (tab-separated).
# BETTER is higher|lower; GOAL is "ratio>=X", "ours>=X", "ours<X" or "-".
row() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$tmp/rows.tsv"
    echo "  $1: ours $6 $3, $4 $5 $3" >&2
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

: > "$tmp/rows.tsv"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2

# ---------------------------------------------------------------------------------------------
echo "== core: multi-line decoder against memchr; reply-line parsing" >&2
client_side "$micro" > "$tmp/micro.out"
decoder=$(number 'decoder: ([0-9.]+) GB/s' < "$tmp/micro.out")
memchr=$(number 'memchr scan: ([0-9.]+) GB/s' < "$tmp/micro.out")
row decoder higher GB/s "memchr scan" "$memchr" "$decoder" "ratio>=0.5" \
    "multi-line decoder throughput (64 MB of 76-octet lines, in memory)"
reply_ns=$(number 'reply_reader ([0-9.]+) ns' < "$tmp/micro.out")
# The peer: poplib's own reply-line handling (_getresp: readline, length check, CRLF strip,
# status test) over the same kind of line, from memory.
poplib_ns=$(client_side python3 - <<'PY'
import io, poplib, time
class P(poplib.POP3):
    def __init__(self, data):
        self.file = io.BytesIO(data); self._debugging = 0
n = 200000
p = P(b"+OK 2 320\r\n" * n)
t = time.perf_counter()
for _ in range(n):
    p._getresp()
print(f"{(time.perf_counter() - t) / n * 1e9:.1f}")
PY
)
row reply_parse lower ns "poplib _getresp" "$poplib_ns" "$reply_ns" "-" \
    "reply-line parsing, ns per reply (status line framed, parsed, copied out)"

# ---------------------------------------------------------------------------------------------
echo "== RETR of one 50 MB message" >&2
start_server retr --user u:p --generate 1:52428800
"$bench" retr "$port" u p 1 >/dev/null # warm-up: the server's first RETR of a message is slower
poplib_retr() {
    client_side python3 - "$port" <<'PY'
import poplib, sys, time
c = poplib.POP3("127.0.0.1", int(sys.argv[1]))
c.user("u"); c.pass_("p")
t = time.perf_counter(); resp, lines, octets = c.retr(1); dt = time.perf_counter() - t
print(f"poplib: {octets / dt / 1e6:.1f} MB/s")
c.quit()
PY
}
# Whole sessions, process start to exit, for curl and for ours alike (curl has no way to time
# the RETR alone).
whole_session() { # COMMAND...: MB/s of 50 MB over the whole process
    client_side python3 - "$@" <<'PY'
import subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(f"session: {52428800 / (time.perf_counter() - t) / 1e6:.1f} MB/s")
PY
}
best_of ours_buffered higher 'retr: [0-9]+ octets in [0-9.]+ s = ([0-9.]+) MB/s' client_side "$client" "$port" u p 1
best_of peer_poplib higher 'poplib: ([0-9.]+) MB/s' poplib_retr
row retr_50mb_vs_poplib higher MB/s "poplib retr()" "$peer_poplib" "$ours_buffered" "ratio>=10" \
    "RETR 50 MB: buffered retr() against poplib's retr() (the RETR alone)"
best_of ours_session higher 'session: ([0-9.]+) MB/s' whole_session "$client" "$port" u p 1 stream
best_of peer_curl higher 'session: ([0-9.]+) MB/s' whole_session curl -s -o /dev/null "pop3://u:p@127.0.0.1:$port/1"
row retr_50mb_vs_curl higher MB/s "curl" "$peer_curl" "$ours_session" "ratio>=1" \
    "RETR 50 MB: whole process (connect, login, RETR into a discarding sink, quit) against curl -o /dev/null"
stop_server

# ---------------------------------------------------------------------------------------------
echo "== 10,000 messages of 2 KB in one session" >&2
many() { # WINDOW [stream]: a fresh server each time (the session's own maildrop lock)
    start_server many --user u:p --generate 10000:2048
    local rc=0
    client_side "$client" many "$port" u p 10000 "$@" || rc=$?
    stop_server
    return $rc
}
poplib_many() {
    start_server many --user u:p --generate 10000:2048
    local rc=0
    client_side python3 - "$port" <<'PY' || rc=$?
import poplib, sys, time
c = poplib.POP3("127.0.0.1", int(sys.argv[1]))
c.user("u"); c.pass_("p")
t = time.perf_counter()
for i in range(1, 10001):
    c.retr(i)
print(f"poplib: {10000 / (time.perf_counter() - t):.0f} messages/s")
c.quit()
PY
    stop_server
    return $rc
}
best_of peer_many higher 'poplib: ([0-9.]+) messages/s' poplib_many
best_of lockstep higher '= ([0-9.]+) messages/s' many 1
best_of pipelined higher '= ([0-9.]+) messages/s' many default
best_of pipelined_streamed higher '= ([0-9.]+) messages/s' many default stream
row retr_10k_lockstep higher messages/s "poplib retr() loop" "$peer_many" "$lockstep" "-" \
    "RETR of 10,000 messages of 2 KB in one session, lock-step (retr_many, window 1)"
row retr_10k_pipelined_kept higher messages/s "poplib retr() loop" "$peer_many" "$pipelined" "-" \
    "RETR of 10,000 messages of 2 KB in one session, pipelined, all kept (retr_many returning a vector, the default window)"
row retr_10k_pipelined higher messages/s "poplib retr() loop" "$peer_many" "$pipelined_streamed" "ratio>=20" \
    "RETR of 10,000 messages of 2 KB in one session, pipelined (retr_many handing each message to a callback, the default window)"

# ---------------------------------------------------------------------------------------------
echo "== 100 concurrent sessions of 100 messages: async client on one thread, poplib in 100 threads" >&2
async_users=()
for i in $(seq 0 99); do async_users+=(--user "u$i:p"); done
async_many() { # a fresh server each time: no maildrop lock left from the last run
    start_server async "${async_users[@]}" --generate 100:2048
    local rc=0
    client_side "$client" async "$port" u p 100 100 || rc=$?
    stop_server
    return $rc
}
poplib_threads() {
    start_server async "${async_users[@]}" --generate 100:2048
    local rc=0
    client_side python3 - "$port" <<'PY' || rc=$?
import poplib, sys, threading, time
port = int(sys.argv[1])
fetched = []
def session(i):
    c = poplib.POP3("127.0.0.1", port)
    c.user(f"u{i}"); c.pass_("p")
    for m in range(1, 101):
        c.retr(m)
    c.quit()
    fetched.append(100)
t = time.perf_counter()
threads = [threading.Thread(target=session, args=(i,)) for i in range(100)]
for th in threads: th.start()
for th in threads: th.join()
print(f"poplib: {sum(fetched) / (time.perf_counter() - t):.0f} messages/s")
PY
    stop_server
    return $rc
}
best_of peer_threads higher 'poplib: ([0-9.]+) messages/s' poplib_threads
best_of ours_async higher '= ([0-9.]+) messages/s' async_many
row async_100_sessions higher messages/s "poplib retr(), 100 threads" "$peer_threads" "$ours_async" \
    "ratio>=1.5" \
    "100 sessions at once, each RETR of 100 messages of 2 KB: pop3::async_client on one thread (retr_many, pipelined) against poplib in 100 threads"

# ---------------------------------------------------------------------------------------------
echo "== streaming RETR of 1 GB: peak RSS" >&2
start_server big --user u:p --generate 1:1073741824
ours_rss=$(client_side /usr/bin/time -f 'peak %M KB' "$client" "$port" u p 1 stream 2>&1 | number 'peak ([0-9]+) KB')
curl_rss=$(client_side /usr/bin/time -f 'peak %M KB' curl -s -o /dev/null "pop3://u:p@127.0.0.1:$port/1" 2>&1 | number 'peak ([0-9]+) KB')
stop_server
mb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1024:.1f}')" "$1"; }
row rss_1gb lower MB "curl -o /dev/null" "$(mb "$curl_rss")" "$(mb "$ours_rss")" "ours<32" \
    "streaming RETR of 1 GB: peak RSS of the client process (MB = 2^20 octets)"

# ---------------------------------------------------------------------------------------------
echo "== sessions/s, login+STAT+LIST+UIDL+QUIT, pop3-load, 32 connections, ${seconds} s" >&2
# The same maildrops for both servers: users u1..u32, 10 messages of 2000 octets, as Maildirs.
python3 - "$tmp/mail" <<'PY'
import os, sys
root = sys.argv[1]
for u in range(1, 33):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(f"{root}/u{u}/{sub}", exist_ok=True)
    for n in range(1, 11):
        body = (f"Subject: message {n}\r\n\r\n" + ("x" * 76 + "\r\n") * 30)[:1998] + "\r\n"
        with open(f"{root}/u{u}/cur/{n}.bench:2,", "w", newline="") as f:
            f.write(body)
PY
load_run() { # PORT: sessions/s
    rm -f "$tmp/load.json"
    "$load" --target "pop3://u%d:p@127.0.0.1:$1" --connections 32 --duration "$seconds" \
        --mix login,stat,list,uidl,quit --quiet --json "$tmp/load.json" >/dev/null || return 1
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"load: {d['sessions_per_s']:.1f} sessions/s, {d['sessions']['failed']} failed\")" "$tmp/load.json"
}
# pop3-fuzz server's sessions/s against the mock server here, and against Dovecot below (issue
# 15: the figure against Dovecot in the same run). A finding is no failure of the run (exit 1).
fuzz_run() { # URL CA: sessions/s
    rm -f "$tmp/fuzz.json"
    local rc=0
    client_side "$fuzz" server --target "$1" --ca "$2" --duration "$seconds" --status 3600 \
        --findings "$tmp/fuzz-findings" --json "$tmp/fuzz.json" >/dev/null 2>&1 || rc=$?
    [ $rc -le 1 ] || return 1
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"fuzz: {d['sessions_per_second']} sessions/s, {len(d['findings'])} findings\")" "$tmp/fuzz.json"
}
start_server fuzz --cert-out "$tmp/fuzz-cert.pem"
best_of ours_fuzz higher 'fuzz: ([0-9.]+) sessions/s' fuzz_run "pop3://user:pass@127.0.0.1:$port" "$tmp/fuzz-cert.pem"
stop_server

users=()
for u in $(seq 1 32); do users+=(--user "u$u:p"); done
# Not pinned: Dovecot is several processes (master, auth, login, pop3) and loses ~40% when held
# to one core; the scheduler places both servers, and pop3-load, as it likes.
pinned=("${pin_server[@]}")
pin_server=()
start_server sessions "${users[@]}" --maildrop "$tmp/mail"
pin_server=("${pinned[@]}")
best_of ours_sessions higher 'load: ([0-9.]+) sessions/s' load_run "$port"
stop_server
if [ $dovecot -eq 1 ]; then
    mkdir -p "$tmp/dv"
    cp -r "$tmp/mail" "$tmp/dv/mail"
    chown -R nobody:nogroup "$tmp/dv/mail"
    : > "$tmp/dv/passwd"
    for u in $(seq 1 32); do echo "u$u:{PLAIN}p" >> "$tmp/dv/passwd"; done
    chown root:dovecot "$tmp/dv/passwd" && chmod 640 "$tmp/dv/passwd"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$tmp/dv/key.pem" -out "$tmp/dv/cert.pem" -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
    dv_port=$(free_port) dv_tls_port=$(free_port)
    # The interop stage's configuration, with a Maildir per user and process reuse ("high-
    # performance mode": login and pop3 processes serve many sessions each).
    sed -e "s|@DIR@|$tmp/dv|g" -e "s/@UID@/$(id -u nobody)/" \
        -e "s/@GID@/$(getent group nogroup | cut -d: -f3)/" \
        -e "s/@PORT_PLAIN@/$dv_port/" -e "s/@PORT_TLS@/$dv_tls_port/" \
        -e "s|^mail_location = .*|mail_location = maildir:$tmp/dv/mail/%u|" \
        -e "s|^instance_name = .*|instance_name = pop3kit-bench|" \
        interop/dovecot.conf.in > "$tmp/dv/dovecot.conf"
    cat >> "$tmp/dv/dovecot.conf" <<'CONF'
service auth {
  client_limit = 2000
}
service pop3-login {
  service_count = 0
}
service pop3 {
  service_count = 0
}
CONF
    dovecot_conf=$tmp/dv/dovecot.conf
    dovecot -c "$dovecot_conf"
    wait_port "$dv_port" || { echo "bench/run.sh: Dovecot did not start" >&2; exit 1; }
    best_of dovecot_sessions higher 'load: ([0-9.]+) sessions/s' load_run "$dv_port"
    best_of dovecot_fuzz higher 'fuzz: ([0-9.]+) sessions/s' fuzz_run "pop3://u1:p@127.0.0.1:$dv_port" "$tmp/dv/cert.pem"
    dovecot -c "$dovecot_conf" stop
    dovecot_conf=
    row sessions_vs_dovecot higher sessions/s "Dovecot $(dovecot --version | cut -d' ' -f1), process reuse" \
        "$dovecot_sessions" "$ours_sessions" "ratio>=3" \
        "sessions/s of login+STAT+LIST+UIDL+QUIT, pop3-load, 32 connections, ${seconds} s"
    row fuzz_sessions higher sessions/s "the same against Dovecot $(dovecot --version | cut -d' ' -f1)" \
        "$dovecot_fuzz" "$ours_fuzz" "ours>=1000" \
        "pop3-fuzz server sessions/s against pop3-mockserver, one job, ${seconds} s"
else
    row fuzz_sessions higher sessions/s "Dovecot (not measured: --no-dovecot)" "-" \
        "$ours_fuzz" "ours>=1000" \
        "pop3-fuzz server sessions/s against pop3-mockserver, one job, ${seconds} s"
    row sessions_vs_dovecot higher sessions/s "Dovecot (not measured: --no-dovecot)" "-" \
        "$ours_sessions" "ratio>=3" \
        "sessions/s of login+STAT+LIST+UIDL+QUIT, pop3-load, 32 connections, ${seconds} s"
fi

# ---------------------------------------------------------------------------------------------
echo "== concurrent idle connections held by the mock server" >&2
start_server idle --user u:p --generate 1:100
idle_out=$(client_side "$bench" idle "$port" 10000) || true # exit 1 when one failed: held < N
stop_server
held=$(number 'idle: ([0-9]+) connections held' <<<"$idle_out")
grep -q 'server responsive: yes' <<<"$idle_out" || held=0
row idle_connections higher connections "-" "-" "$held" "ours>=10000" \
    "idle connections held at once by the mock server (each greeted, then a full session still served)"

# ---------------------------------------------------------------------------------------------
status=0
python3 bench/report.py "$tmp/rows.tsv" "$out" "$quick" || status=$?
# The chart of the ratios next to the JSON (bench/results.svg, build/bench-quick.svg), which
# docs/performance.md shows; drawn also when a figure is missing (exit 1 above, kept).
if [ $status -le 1 ]; then # 1: a figure missing, the JSON written
    python3 bench/report.py --svg "$out" "${out%.json}.svg"
    echo "written: ${out%.json}.svg"
fi
exit $status
