#!/bin/sh
# Loads a pop3-conformance fixture into the Mailutils test user's mbox (DIR/home/INBOX): what
# pop3-conformance server --provision runs before a case that names a maildrop
# (docs/transcripts.md).
#
# usage: provision.sh DIR MAILDROP FIXTURE_DIR      (--fixture-format mbox; as root)
#   MAILDROP other than default: the mbox holds the messages of FIXTURE_DIR/mbox (mboxrd as
#     the runner writes it), rewritten by mkmbox.py --mboxrd with an empty line after every
#     message (the runner leaves none after an empty message; see mkmbox.py).
#   default: the six default messages again (DIR/default.mbox, written by start.sh).
# pop3d rewrites the mbox when a session that changed it ends (it adds X-UIDL, X-UID,
# X-IMAPbase and Status headers), so first wait for the session processes of the case before
# to end (children of the master, at most 2 s); the new mbox is then written beside the old one
# and renamed over it.
set -eu
dir=$1
maildrop=$2
fixture=$3
mbox=$dir/home/INBOX
master=$(cat "$dir/pop3d.pid" 2>/dev/null || true)
if [ -n "$master" ]; then
    i=0
    while pgrep -P "$master" >/dev/null 2>&1 && [ $i -lt 40 ]; do
        sleep 0.05
        i=$((i + 1))
    done
fi
if [ "$maildrop" = default ]; then
    cp "$dir/default.mbox" "$mbox.new"
else
    [ -f "$fixture/mbox" ] || { echo "mailutils/provision.sh: $fixture/mbox missing (use --fixture-format mbox)" >&2; exit 1; }
    /usr/bin/python3 "$(dirname "$0")/../mkmbox.py" --mboxrd "$mbox.new" "$fixture/mbox"
fi
chown "$(id -u nobody):$(getent group nogroup | cut -d: -f3)" "$mbox.new"
chmod 600 "$mbox.new"
mv "$mbox.new" "$mbox"
