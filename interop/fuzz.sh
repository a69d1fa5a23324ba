#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called only through the trap and "${kind}_campaign"
# pop3-fuzz campaigns against real POP3 software (issue 15; docs/fuzzing.md, "Against real
# servers"), on 127.0.0.1 only:
#
#   servers  dovecot courier cyrus popa3d mailutils: each started by
#            interop/servers/NAME/start.sh into a fresh folder with the interop maildrop
#            (interop/gen_maildrop.py, as interop/run.sh makes it), then
#            pop3-fuzz server --target pop3://USER:PASS@127.0.0.1:PORT --ca CA (plain mode: the
#            sessions send STLS themselves), then stopped with stop.sh;
#   clients  poplib curl fetchmail mpop: pop3-fuzz client --command through
#            interop/adapters/NAME.py (docs/client-adapters.md), with Debian's /usr/bin/python3.
#            Combinations of task, login and TLS mode an adapter cannot do are skipped by the
#            campaign itself (its "not fuzzed" list).
#
# usage: interop/fuzz.sh [--build-dir DIR] [--seconds S] [--only NAME,...] [--out DIR]
#                        [--jobs-parallel 1|2]
#   --build-dir DIR     take pop3-fuzz from DIR/fuzzer/ (default build/default); nothing is built
#   --seconds S         each campaign's --duration (default 600)
#   --only NAME,...     these targets only (default: all nine, servers first)
#   --out DIR           results (default: a new mktemp folder /tmp/pop3kit-fuzz.XXXXXX, kept);
#                       DIR/NAME must not exist yet. Made mode 755: the servers' own users
#                       (nobody, cyrus, popa3d) must traverse it, so DIR's parents must be too
#   --jobs-parallel N   1 (default): one campaign at a time; 2: the servers one after another
#                       and, beside them, the clients one after another
#
# Per target, in OUT/NAME/: run.json (pop3-fuzz --json; the servers' also run.html), stdout.txt
# (pop3-fuzz's summary), stderr.txt (its status lines and findings), findings/ (the minimised
# reproducers: NAME.pop3 transcripts for servers, KIND.toml client cases for clients; only when
# something was found), times.txt (start and end, UTC, with the load average), exit (pop3-fuzz's
# exit code: 0 nothing found, 1 found something), version; servers also server/ (start.sh's
# folder: config, logs, server.env), start.log, stop.log. OUT/summary.txt has one line per
# target, also printed at the end.
#
# Exit code: 0 when every campaign ran (findings are not a failure of this script: read them),
# 1 when a target could not be started or its campaign did not run, 2 for a bad command line.
# Needs root (the servers' start.sh). Interrupted (Ctrl-C, SIGTERM), it stops the campaigns
# and every server it started.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
HERE=$ROOT/interop
# server_env, urlenc
# shellcheck source=interop/common.sh
. "$HERE/common.sh"
PY=/usr/bin/python3
SERVERS=(dovecot courier cyrus popa3d mailutils)
CLIENTS=(poplib curl fetchmail mpop)

usage() { sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
bad() { echo "fuzz.sh: $* (try --help)" >&2; exit 2; }

build_dir=$ROOT/build/default
seconds=600
only=
out=
parallel=1
while [ $# -gt 0 ]; do
    arg=$1
    shift
    case $arg in
        --build-dir | --seconds | --only | --out | --jobs-parallel)
            [ $# -gt 0 ] || bad "$arg needs a value" ;;&
        --build-dir) build_dir=$1; shift ;;
        --seconds) seconds=$1; shift ;;
        --only) only=$1; shift ;;
        --out) out=$1; shift ;;
        --jobs-parallel) parallel=$1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) bad "unknown argument '$arg'" ;;
    esac
done
case $seconds in '' | *[!0-9]* | 0) bad "--seconds wants a whole number of seconds above 0, not '$seconds'" ;; esac
case $parallel in 1 | 2) ;; *) bad "--jobs-parallel is 1 or 2, not '$parallel'" ;; esac

is_server() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }
is_client() { [[ " ${CLIENTS[*]} " == *" $1 "* ]]; }
servers=()
clients=()
if [ -z "$only" ]; then
    servers=("${SERVERS[@]}")
    clients=("${CLIENTS[@]}")
else
    for name in ${only//,/ }; do
        if is_server "$name"; then
            [[ " ${servers[*]} " == *" $name "* ]] || servers+=("$name")
        elif is_client "$name"; then
            [[ " ${clients[*]} " == *" $name "* ]] || clients+=("$name")
        else
            bad "unknown target '$name' for --only (servers: ${SERVERS[*]}; clients: ${CLIENTS[*]})"
        fi
    done
fi
[ $((${#servers[@]} + ${#clients[@]})) -gt 0 ] || bad "--only names no target"

[ "$(id -u)" -eq 0 ] || { echo "fuzz.sh: must run as root (the servers' start.sh)" >&2; exit 2; }
[ -x "$PY" ] || { echo "fuzz.sh: $PY missing (Debian's python3)" >&2; exit 2; }
BUILD=$(cd "$build_dir" 2>/dev/null && pwd) || bad "no folder $build_dir"
FUZZ=$BUILD/fuzzer/pop3-fuzz
[ -x "$FUZZ" ] || { echo "fuzz.sh: $FUZZ is missing (--build-dir $build_dir)" >&2; exit 2; }

if [ -z "$out" ]; then
    out=$(mktemp -d /tmp/pop3kit-fuzz.XXXXXX) || exit 2
fi
mkdir -p "$out" || exit 2
OUT=$(cd "$out" && pwd)
for name in "${servers[@]}" "${clients[@]}"; do
    [ ! -e "$OUT/$name" ] || bad "$OUT/$name exists already: choose a new --out, or remove it"
done
chmod 755 "$OUT"
if [ ${#servers[@]} -gt 0 ] && ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$OUT"; then
    echo "fuzz.sh: the servers' users cannot reach $OUT (a parent folder is closed): choose another --out" >&2
    exit 2
fi
case $OUT/ in /var/*) [ ${#servers[@]} -eq 0 ] ||
    { echo "fuzz.sh: --out must not be under /var (popa3d's start.sh mounts its own /var)" >&2; exit 2; } ;;
esac
STATE=$OUT/.fuzz-sh
mkdir -p "$STATE"
: > "$STATE/servers"

# ---------------------------------------------------------------------------------------------
# Stopping everything, always: the campaigns' process trees, then every server started.
jobs_bg=()
kill_tree() { # PID: children first (clients run in process groups of their own)
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
    kill -TERM "$1" 2>/dev/null
}
cleanup() {
    local job entry
    trap - INT TERM HUP
    for job in "${jobs_bg[@]}"; do kill_tree "$job"; done
    [ ${#jobs_bg[@]} -gt 0 ] && wait "${jobs_bg[@]}" 2>/dev/null
    while IFS= read -r entry; do
        [ -n "$entry" ] || continue
        bash "$HERE/servers/${entry%%:*}/stop.sh" "${entry#*:}" >>"$STATE/cleanup.log" 2>&1 ||
            echo "fuzz.sh: stopping ${entry%%:*} (${entry#*:}) failed: $(tail -1 "$STATE/cleanup.log")" >&2
    done < "$STATE/servers"
}
trap cleanup EXIT
trap 'echo "fuzz.sh: interrupted; stopping the campaigns and the servers" >&2; exit 130' INT TERM HUP

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
stamp() { echo "$1 $(now) load $(load)"; } # WHAT

# Runs pop3-fuzz ARGS for target NAME with its files in DIR: the command line, stdout, stderr,
# the exit code and the end time. Returns pop3-fuzz's exit code.
run_fuzz() { # NAME DIR ARGS...
    local name=$1 d=$2 code
    shift 2
    printf '%q ' "$FUZZ" "$@" > "$d/command"
    echo >> "$d/command"
    TMPDIR=$d/tmp "$FUZZ" "$@" >"$d/stdout.txt" 2>"$d/stderr.txt" </dev/null
    code=$?
    echo "$code" > "$d/exit"
    stamp "end $name" >> "$d/times.txt"
    return "$code"
}

# The summary line of a campaign, from its run.json.
summary_of() { # NAME DIR VERSION EXIT
    "$PY" - "$@" <<'PY'
import json, sys
name, d, version, code = sys.argv[1:]
try:
    r = json.load(open(d + "/run.json"))
except (OSError, ValueError) as e:
    print("%-9s %s: no run.json (pop3-fuzz exited %s): see %s/stderr.txt" % (name, version, code, d))
    sys.exit(1)
f = r.get("findings", [])
line = "%-9s %s: %d sessions in %.0f s (%.1f/s), corpus %d" % (
    name, version, r["sessions"], r["seconds"], r["sessions_per_second"], r["corpus"])
if r.get("direction") == "client":
    line += ", signatures %d, not fuzzed %d" % (r["signatures"], len(r.get("not_fuzzed", [])))
    what = ["%s (%s)" % (x["kind"], x["family"]) for x in f]
else:
    s = r.get("stls_injection", {})
    line += ", transitions %d, STLS injection checked %d skipped %d" % (
        r["transitions"], s.get("checked", 0), s.get("skipped", 0))
    what = ["%s/%s" % (x["kind"], x["command"]) for x in f]
line += ", findings %d" % len(f)
if what:
    line += ": " + ", ".join(what)
print(line)
sys.exit(0 if r["sessions"] > 0 else 1)
PY
}

# A server campaign: start, fuzz, stop. Returns 1 when the server did not start or the campaign
# did not run.
server_campaign() { # NAME
    local name=$1 d=$OUT/$1 sv=$OUT/$1/server code env user pass port ca version args
    mkdir -p "$d/tmp" && chmod 755 "$d"
    echo "$name:$sv" >> "$STATE/servers"
    stamp "start $name" > "$d/times.txt"
    if ! bash "$HERE/servers/$name/start.sh" "$sv" "$OUT/maildrop" >"$d/start.log" 2>&1; then
        bash "$HERE/servers/$name/stop.sh" "$sv" >"$d/stop.log" 2>&1
        stamp "end $name (did not start)" >> "$d/times.txt"
        echo "$name: could not be started:" >&2
        tail -8 "$d/start.log" | sed 's/^/  /' >&2
        printf '%-9s did not start: see %s/start.log\n' "$name" "$d" > "$d/summary"
        return 1
    fi
    env=$sv/server.env
    user=$(server_env "$env" USER)
    pass=$(server_env "$env" PASS)
    port=$(server_env "$env" PORT)
    ca=$(server_env "$env" CA)
    version=$(server_env "$env" SERVER_NAME)
    echo "$version" > "$d/version"
    args=(server --target "pop3://$(urlenc "$user"):$(urlenc "$pass")@127.0.0.1:$port")
    [ -n "$ca" ] && args+=(--ca "$ca")
    args+=(--duration "$seconds" --findings "$d/findings" --json "$d/run.json" --html "$d/run.html")
    echo "$(now) $name: $version on 127.0.0.1:$port, $seconds s"
    run_fuzz "$name" "$d" "${args[@]}"
    code=$?
    bash "$HERE/servers/$name/stop.sh" "$sv" >"$d/stop.log" 2>&1 ||
        echo "$name: stop.sh failed: $(tail -2 "$d/stop.log")" >&2
    summary_of "$name" "$d" "$version" "$code" > "$d/summary"
    local ok=$?
    echo "$(now) $(cat "$d/summary")"
    [ "$ok" -eq 0 ] && [ "$code" -le 1 ]
}

client_version() { # NAME
    case $1 in
        poplib) echo "poplib (Python $("$PY" -c 'import platform; print(platform.python_version())'))" ;;
        curl) curl --version 2>/dev/null | sed -n '1s/^curl \([^ ]*\).*/curl \1/p' ;;
        fetchmail) fetchmail --version 2>/dev/null | sed -n '1s/^This is fetchmail release \([0-9.]*\).*/fetchmail \1/p' ;;
        mpop) mpop --version 2>/dev/null | sed -n '1s/^mpop version /mpop /p' ;;
    esac
}

client_campaign() { # NAME
    local name=$1 d=$OUT/$1 code version args
    mkdir -p "$d/tmp"
    stamp "start $name" > "$d/times.txt"
    version=$(client_version "$name")
    echo "${version:-$name}" > "$d/version"
    args=(client --command "exec '$PY' '$HERE/adapters/$name.py'" --duration "$seconds"
          --findings "$d/findings" --json "$d/run.json")
    echo "$(now) $name: ${version:-$name}, $seconds s"
    run_fuzz "$name" "$d" "${args[@]}"
    code=$?
    summary_of "$name" "$d" "${version:-$name}" "$code" > "$d/summary"
    local ok=$?
    echo "$(now) $(cat "$d/summary")"
    [ "$ok" -eq 0 ] && [ "$code" -le 1 ]
}

# Each queue runs its campaigns one after another; exits 1 when one did not run.
run_queue() { # server|client NAME...
    local kind=$1 name rc=0
    shift
    for name in "$@"; do
        "${kind}_campaign" "$name" || rc=1
    done
    return $rc
}

# ---------------------------------------------------------------------------------------------
echo "fuzz.sh: $(now), load $(load); pop3-fuzz $FUZZ; $seconds s per target; results in $OUT"
# Packages: the clients, Dovecot and Mailutils's libraries (start.sh of Courier and Cyrus
# install their own; popa3d and Mailutils's pop3d are unpacked, not installed).
peers=()
for name in "${servers[@]}"; do
    case $name in
        mailutils) peers+=(mailutils-common libmailutils9 libmu-dbm9) ;;
    esac
done
for name in "${clients[@]}"; do
    case $name in curl | fetchmail | mpop) peers+=("$name") ;; esac
done
if [ ${#peers[@]} -gt 0 ] && ! bash "$ROOT/scripts/install-peers.sh" "${peers[@]}" >"$STATE/install.log" 2>&1; then
    echo "fuzz.sh: installing ${peers[*]} failed:" >&2
    tail -5 "$STATE/install.log" >&2
    exit 1
fi
if [ ${#servers[@]} -gt 0 ]; then
    # The maildrop: OUT/maildrop/expected (CRLF) and OUT/maildrop/Maildir (LF), as interop/run.sh.
    "$PY" "$HERE/gen_maildrop.py" "$OUT/maildrop" >"$STATE/maildrop.log" 2>&1 ||
        { echo "fuzz.sh: gen_maildrop.py failed: $(tail -2 "$STATE/maildrop.log")" >&2; exit 1; }
    chmod -R a+rX "$OUT/maildrop"
fi

rc=0
if [ "$parallel" -eq 2 ] && [ ${#servers[@]} -gt 0 ] && [ ${#clients[@]} -gt 0 ]; then
    run_queue server "${servers[@]}" &
    jobs_bg+=($!)
    run_queue client "${clients[@]}" &
    jobs_bg+=($!)
    for job in "${jobs_bg[@]}"; do wait "$job" || rc=1; done
    jobs_bg=()
else
    # In the background too, waited for: a trap runs only once the foreground command ends,
    # and `wait` is what a SIGTERM interrupts.
    queues() {
        local status=0
        if [ ${#servers[@]} -gt 0 ]; then run_queue server "${servers[@]}" || status=1; fi
        if [ ${#clients[@]} -gt 0 ]; then run_queue client "${clients[@]}" || status=1; fi
        return $status
    }
    queues &
    jobs_bg+=($!)
    wait "${jobs_bg[0]}" || rc=1
    jobs_bg=()
fi

echo "== $(now), load $(load): one line per target (details in $OUT/NAME/)"
: > "$OUT/summary.txt"
for name in "${servers[@]}" "${clients[@]}"; do
    if [ -s "$OUT/$name/summary" ]; then
        cat "$OUT/$name/summary" >> "$OUT/summary.txt"
    else
        printf '%-9s did not run\n' "$name" >> "$OUT/summary.txt"
        rc=1
    fi
done
cat "$OUT/summary.txt"
exit $rc
