#!/usr/bin/env bash
# Stops the Cyrus that interop/servers/cyrus/start.sh DIR started: its master (SIGTERM, which
# also ends the pop3d processes it started), then any process still running with DIR's config
# (-C DIR/imapd.conf), and waits until they are gone (SIGKILL after 10 s). Idempotent: nothing
# to do when nothing runs. The folder itself is left as it is.
#
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
conf=$DIR/imapd.conf

# Processes of this run: those whose command line names DIR's config (the master and every
# program it started carry -C DIR/imapd.conf).
ours() {
    local pid args
    for pid in $(pgrep -u cyrus 2>/dev/null); do
        args=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
        [[ " $args" == *" -C $conf "* ]] || continue
        # a zombie is gone for our purposes (its parent, init after -d, reaps it)
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
        echo "$pid"
    done
}

if [ -s "$DIR/master.pid" ]; then
    pid=$(cat "$DIR/master.pid")
    if [ -n "$(ours | grep -x "$pid")" ]; then
        kill -TERM "$pid" 2>/dev/null
    fi
fi
for i in $(seq 100); do
    left=$(ours)
    [ -z "$left" ] && break
    # after the master is gone, its children get SIGTERM too
    [ "$i" -eq 20 ] && kill -TERM $left 2>/dev/null
    sleep 0.1
done
left=$(ours)
if [ -n "$left" ]; then
    kill -KILL $left 2>/dev/null
    sleep 0.2
fi
left=$(ours)
[ -z "$left" ] || { echo "cyrus/stop.sh: still running: $left" >&2; exit 1; }
exit 0
