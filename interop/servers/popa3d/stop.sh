#!/usr/bin/env bash
# Stops what start.sh DIR started: the inetd.py listener and every popa3d it forked (one
# process group, made by setsid; the private mount namespace goes away with its last process).
# Idempotent; waits until they are gone (SIGKILL after 5 s).
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
DIR=$1
[ -f "$DIR/pid" ] || exit 0
pid=$(cat "$DIR/pid")
case $pid in '' | *[!0-9]*) rm -f "$DIR/pid"; exit 0 ;; esac
# Only a process group this script's start.sh made: its leader, or members still in it.
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
    echo "popa3d/stop.sh: process group $pid still has processes:" >&2
    pgrep -a -g "$pid" >&2
    exit 1
fi
rm -f "$DIR/pid" "$DIR/port"
echo "popa3d: stopped (process group $pid)"
