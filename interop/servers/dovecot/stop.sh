#!/usr/bin/env bash
# Stops the Dovecot that start.sh DIR started: its master (pid in DIR/run/master.pid) with
# "dovecot -c DIR/dovecot.conf stop" (shutdown_clients = yes: the login, auth and pop3
# processes end with it), then every process still in the master's session (SIGTERM, SIGKILL
# after 5 s). Idempotent: nothing to do when nothing runs. DIR stays.
#
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
pidfile=$DIR/run/master.pid
# Dovecot removes master.pid when it exits cleanly.
[ -s "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
case $pid in '' | *[!0-9]*) echo "dovecot/stop.sh: bad $pidfile" >&2; exit 1 ;; esac

# Is PID still this run's master? (A recycled pid must not be killed.)
ours() { [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/sbin/dovecot ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/dovecot.conf"; }
# The processes of the master's session (the master calls setsid when it daemonizes), the
# master itself included; zombies do not count.
members() { ps -e -o pid=,sid=,stat= | awk -v s="$pid" '$2 == s && $3 !~ /^Z/ { print $1 }'; }

if ours; then
    /usr/sbin/dovecot -c "$DIR/dovecot.conf" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do [ -z "$(members)" ] && break; sleep 0.1; done
    left=$(members)
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086 # one pid per word
        kill -TERM $left 2>/dev/null
        for _ in $(seq 20); do [ -z "$(members)" ] && break; sleep 0.1; done
    fi
    left=$(members)
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
        for _ in $(seq 50); do [ -z "$(members)" ] && break; sleep 0.1; done
    fi
    if [ -n "$(members)" ]; then
        echo "dovecot/stop.sh: still running in session $pid: $(members | tr '\n' ' ')" >&2
        exit 1
    fi
fi
rm -f "$pidfile"
exit 0
