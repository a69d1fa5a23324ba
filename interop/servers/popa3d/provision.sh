#!/bin/sh
# Loads a pop3-conformance fixture into the popa3d test user's mbox (DIR/var/mail/pop3kit,
# which the server's namespace sees as /var/mail/pop3kit): what pop3-conformance server
# --provision runs before a case that names a maildrop (docs/transcripts.md).
#
# usage: provision.sh DIR MAILDROP FIXTURE_DIR      (--fixture-format mbox; as root)
#   MAILDROP other than default: the mbox holds the messages of FIXTURE_DIR/mbox (mboxrd as
#     the runner writes it), rewritten by mkmbox.py --mboxrd with an empty line after every
#     message: byte for byte the runner's file except after an empty (0-octet) message, which
#     the runner leaves as a bare From_ line and popa3d then refuses the whole mbox (see
#     mkmbox.py). popa3d does no >From unquoting; the fixtures have no From_ lines in bodies.
#   default: the mbox becomes the six default messages again (DIR/default.mbox, written by
#     start.sh from the interop maildrop).
# The new mbox is written beside the old one and renamed over it, so that a popa3d session of
# the case before that is still ending keeps its own (old) file.
set -eu
dir=$1
maildrop=$2
fixture=$3
mbox=$dir/var/mail/pop3kit
if [ "$maildrop" = default ]; then
    src=$dir/default.mbox
else
    src=$fixture/mbox
    [ -f "$src" ] || { echo "popa3d/provision.sh: $src missing (use --fixture-format mbox)" >&2; exit 1; }
fi
if [ "$maildrop" = default ]; then
    cp "$src" "$mbox.new"
else
    /usr/bin/python3 "$(dirname "$0")/../mkmbox.py" --mboxrd "$mbox.new" "$src"
fi
chown 64011:8 "$mbox.new"
chmod 600 "$mbox.new"
mv "$mbox.new" "$mbox"
