#!/usr/bin/env bash
# Stops what start.sh DIR started: the inetd.py listener and every popa3d it forked (one
# process group, made by setsid; the private mount namespace goes away with its last process).
# Idempotent; waits until they are gone (SIGKILL after 5 s).
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
# shellcheck source=interop/common.sh
. "$(dirname "$0")/../../common.sh"
stop_group popa3d "$1/pid" && rm -f "$1/port"
