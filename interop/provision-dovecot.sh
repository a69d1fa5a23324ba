#!/bin/sh
# Loads a pop3-conformance fixture into the interop Dovecot's Maildir: the command that
# interop/run.sh part c gives pop3-conformance server --provision (docs/transcripts.md).
#
# usage: provision-dovecot.sh MAILDIR MAILDROP DIR
#   MAILDROP other than default: MAILDIR becomes a fresh copy of the fixture DIR (a Maildir),
#     owned by the mail user; Dovecot's index files and dovecot-uidlist are not copied, so it
#     builds them anew at the next login. The Maildir that was there before the first fixture
#     is kept aside, as it was (index and uidlist included).
#   default: puts that Maildir back, so that the unique-ids and UIDVALIDITY Dovecot gave it stay
#     as they were; nothing to do when no fixture was loaded.
# Run as root (interop/run.sh is); Dovecot's mail processes run as nobody:nogroup.
set -eu
# swap_maildir
# shellcheck source=interop/common.sh
. "$(dirname "$0")/common.sh"
maildir=$1
maildrop=$2
dir=$3

# A session of the case before may still be ending (a connection the runner dropped): wait for
# the user's pop3 processes to exit, so that none writes its index into the new Maildir.
i=0
while pgrep -x pop3 -u nobody >/dev/null 2>&1 && [ $i -lt 40 ]; do
    sleep 0.05
    i=$((i + 1))
done

swap_maildir "$maildir" "$maildrop" "$dir" provision-dovecot
