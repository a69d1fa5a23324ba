#!/usr/bin/env bash
# Stops what start.sh DIR started: the pop3d master and the session processes it forked (one
# process group, made by setsid). Idempotent; waits until they are gone (SIGKILL after 5 s).
# usage: stop.sh DIR
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: stop.sh DIR" >&2; exit 2; }
# shellcheck source=interop/common.sh
. "$(dirname "$0")/../../common.sh"
stop_group mailutils "$1/pid"
