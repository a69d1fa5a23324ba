#!/usr/bin/env bash
# Stops what start.sh DIR started: every process of the session whose id start.sh wrote to
# DIR/run/session.pid (inner.sh, authdaemond, both couriertcpd, couriertls and the login and
# mail processes of open connections). Idempotent; waits until they are gone (TERM, then KILL
# after 5 s). The mount namespace goes with its last process. DIR stays.
#
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
DIR=$1
pidfile=$DIR/run/session.pid
[ -s "$pidfile" ] || exit 0
sid=$(cat "$pidfile")
case $sid in '' | *[!0-9]*) echo "courier stop: bad $pidfile" >&2; exit 1 ;; esac

# The processes of session SID (ps, not a name match: other Courier instances are left alone).
members() { ps -e -o pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'; }

pids=$(members)
if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 50); do
        pids=$(members)
        [ -z "$pids" ] && break
        sleep 0.1
    done
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null
        for _ in $(seq 50); do
            pids=$(members)
            [ -z "$pids" ] && break
            sleep 0.1
        done
    fi
fi
if [ -n "$(members)" ]; then
    echo "courier stop: still running in session $sid: $(members | tr '\n' ' ')" >&2
    exit 1
fi
rm -f "$pidfile"
exit 0
