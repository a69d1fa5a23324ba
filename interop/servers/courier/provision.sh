#!/bin/sh
# Loads a pop3-conformance fixture into the Maildir of the Courier that start.sh DIR started:
# the command that DIR/server.env's PROVISION gives pop3-conformance server --provision
# (docs/transcripts.md, "Maildrops on other servers").
#
# usage: provision.sh DIR MAILDROP FIXTURE_DIR
#   MAILDROP other than default: DIR/home/Maildir becomes a fresh copy of FIXTURE_DIR (a
#     Maildir written by pop3-conformance), owned by the mail user (nobody:nogroup).
#     Courier's own files (courierimapuiddb, courierpop3dsizelist) are not in the fixture, so it
#     makes them anew at the next login. The Maildir that was there before the first fixture
#     is kept aside, as it was (DIR/home/Maildir.pop3kit-original).
#   default: puts that Maildir back, so that the unique-ids Courier gave it (UIDL is
#     "UID<n>-<uidvalidity>" from courierimapuiddb) stay as they were; nothing to do when no
#     fixture was loaded.
# Run as root; Courier's mail processes run as nobody:nogroup (start.sh's userdb entry).
set -eu
# swap_maildir
# shellcheck source=interop/common.sh
. "$(dirname "$0")/../../common.sh"
dir=$1
maildrop=$2
fixture=$3
maildir=$dir/home/Maildir

# A session of the case before may still be ending (a connection the runner dropped): wait for
# the courierpop3d processes of this server's session to exit, so that none renames files in
# the new Maildir.
sid=$(cat "$dir/run/session.pid" 2>/dev/null || echo none)
i=0
while [ $i -lt 40 ] && ps -e -o sid=,comm= | awk -v s="$sid" '$1 == s && $2 == "courierpop3d" { f = 1 } END { exit !f }'; do
    sleep 0.05
    i=$((i + 1))
done

swap_maildir "$maildir" "$maildrop" "$fixture" provision-courier
