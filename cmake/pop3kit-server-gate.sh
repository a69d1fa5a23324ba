#!/usr/bin/env bash
# Runs the server side of pop3kit_add_conformance_test (pop3kitConformance.cmake): starts the
# server under test, learns its port, runs pop3-conformance server against it, stops it.
#   pop3kit-server-gate.sh [--port N] [--host H] [--user U] [--password P] [--scheme pop3|pop3s]
#       [--startup-timeout S] --conformance PROGRAM [its options...] --server COMMAND [ARGS...]
# Without --port the server must print its port on stdout: a line with "listening" and
# HOST:PORT (as pop3-mockserver's "listening pop3 127.0.0.1:PORT"), a line holding only the
# port, or else the first HOST:PORT. With
# --port it waits until the port accepts connections. The exit code is pop3-conformance's.
set -uo pipefail
port="" host=127.0.0.1 user=user password=pass scheme=pop3 startup=30
while [ $# -gt 0 ] && [ "$1" != --conformance ]; do
    case "$1" in
        --port) port=$2 ;;
        --host) host=$2 ;;
        --user) user=$2 ;;
        --password) password=$2 ;;
        --scheme) scheme=$2 ;;
        --startup-timeout) startup=$2 ;;
        *) echo "pop3kit-server-gate: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ $# -ge 2 ] || { echo "pop3kit-server-gate: --conformance PROGRAM missing" >&2; exit 2; }
conformance=$2
shift 2
suite=()
while [ $# -gt 0 ] && [ "$1" != --server ]; do suite+=("$1"); shift; done
[ $# -ge 2 ] || { echo "pop3kit-server-gate: --server COMMAND missing" >&2; exit 2; }
shift
work=$(mktemp -d)
# Its own session (process group): stopping it stops whatever it started.
setsid "$@" >"$work/stdout" 2>"$work/stderr" </dev/null &
server=$!
stop() {
    kill -TERM -- "-$server" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server" 2>/dev/null
    wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM
# The port a server printed: a line with "listening" and HOST:PORT (pop3-mockserver's
# "listening pop3 127.0.0.1:PORT"), else a line holding only the port, else the first HOST:PORT.
port_from() {
    local line
    line=$(grep -m1 -iE 'listening.*[^ ]:[0-9]+' "$1") ||
        line=$(grep -m1 -E '^[0-9]+$' "$1") ||
        line=$(grep -m1 -E '[^ ]:[0-9]+([^0-9]|$)' "$1") || return 0
    printf '%s\n' "$line" | grep -oE '(^[0-9]+$)|(:[0-9]+)' | tail -n 1 | tr -dc 0-9
}
deadline=$((SECONDS + startup))
while :; do
    if [ -z "$port" ]; then
        found=$(port_from "$work/stdout")
        [ -n "$found" ] && { port=$found; break; }
    elif (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        echo "pop3kit-server-gate: the server exited before it was ready: $*" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
        echo "pop3kit-server-gate: no port from the server after ${startup} s: $*" >&2
        cat "$work/stdout" "$work/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
echo "pop3kit-server-gate: server ready on $host:$port ($*)"
"$conformance" server --target "$scheme://$user:$password@$host:$port" "${suite[@]}"
status=$?
[ $status -eq 0 ] || { echo "pop3kit-server-gate: the server's stderr (last lines):" >&2; tail -n 20 "$work/stderr" >&2; }
exit $status
