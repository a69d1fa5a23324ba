#!/usr/bin/env bash
# Stops what start.sh DIR started: the pop3d master and the session processes it forked (one
# process group, made by setsid). Idempotent; waits until they are gone (SIGKILL after 5 s).
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
DIR=$1
[ -f "$DIR/pid" ] || exit 0
pid=$(cat "$DIR/pid")
case $pid in '' | *[!0-9]*) rm -f "$DIR/pid"; exit 0 ;; esac
alive() { pgrep -g "$pid" >/dev/null 2>&1; }
if alive; then
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 50); do alive || break; sleep 0.1; done
    if alive; then
        kill -KILL -- "-$pid" 2>/dev/null
        for _ in $(seq 50); do alive || break; sleep 0.1; done
    fi
fi
if alive; then
    echo "mailutils/stop.sh: process group $pid still has processes:" >&2
    pgrep -a -g "$pid" >&2
    exit 1
fi
rm -f "$DIR/pid"
echo "mailutils: stopped (process group $pid)"
