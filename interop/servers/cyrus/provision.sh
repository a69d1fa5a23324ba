#!/bin/sh
# Loads a pop3-conformance fixture into the interop Cyrus's INBOX: the command that
# DIR/server.env's PROVISION gives pop3-conformance server --provision (docs/transcripts.md,
# "Maildrops on other servers"). Model: interop/provision-dovecot.sh.
#
# usage: provision.sh DIR MAILDROP FIXTURE_DIR
#   DIR          the folder start.sh set Cyrus up in
#   MAILDROP     the maildrop's name; default loads the six messages start.sh loaded (DIR/default,
#                FIXTURE_DIR is ignored), any other name loads FIXTURE_DIR
#   FIXTURE_DIR  the fixture in eml format (pop3-conformance --fixture-format eml): NNNNNNN.eml
#                files, CRLF, each message exactly
#
# How: the INBOX's message files are removed, the fixture's files are written in their place
# as Cyrus message files (UID. in the mailbox folder, with UIDs above every UID used before,
# in fixture order), and Cyrus's own reconstruct(8) rebuilds the index: it drops the records
# whose file is gone and adds the new files. The messages are stored byte for byte (delivery
# through lmtpd would add Return-Path, Received, X-Cyrus-Session-Id and X-Sieve header lines,
# and could not start a message with a body line such as ".first line").
#
# Cyrus cannot hold a 0-octet message (reconstruct skips an empty file: "uid N not found"), so a
# fixture with one (dots, message 3) cannot be loaded as it is: the command exits 1 and the
# runner makes the case an error. With CYRUS_PROVISION_SKIP_EMPTY=1 in the environment it loads
# the other messages instead (for looking at those cases by hand; never for the baseline).
set -eu
dir=$1
maildrop=$2
fixture=$3
CYRUS_BIN=/usr/lib/cyrus/bin

inbox=$(cat "$dir/inbox.path")
user=$(cat "$dir/user.name")
[ "$maildrop" = default ] && fixture=$dir/default
[ -d "$inbox" ] || { echo "cyrus provision: no INBOX folder $inbox" >&2; exit 1; }
[ -d "$fixture" ] || { echo "cyrus provision: no fixture folder $fixture" >&2; exit 1; }

# The fixture's messages, in order (ls sorts the zero-padded names).
files=$(cd "$fixture" && ls | grep '\.eml$' || true)
for f in $files; do
    if [ ! -s "$fixture/$f" ] && [ "${CYRUS_PROVISION_SKIP_EMPTY:-0}" != 1 ]; then
        echo "cyrus provision: maildrop '$maildrop' message $f is 0 octets; Cyrus cannot store an empty message (reconstruct ignores an empty file)" >&2
        exit 1
    fi
done

# UIDs only grow: the next one is kept in DIR/next-uid (Cyrus's unique-id is UIDVALIDITY.UID,
# so a unique-id is never given to another message).
next=1
[ -s "$dir/next-uid" ] && next=$(cat "$dir/next-uid")

find "$inbox" -maxdepth 1 -type f -name '[0-9]*.' -delete
for f in $files; do
    [ -s "$fixture/$f" ] || continue
    cp "$fixture/$f" "$inbox/$next."
    chown cyrus:mail "$inbox/$next."
    chmod 600 "$inbox/$next."
    next=$((next + 1))
done
echo "$next" > "$dir/next-uid"

if ! out=$(runuser -u cyrus -- "$CYRUS_BIN/reconstruct" -C "$dir/imapd.conf" -u "$user" 2>&1); then
    echo "cyrus provision: reconstruct failed: $out" >&2
    exit 1
fi
echo "== $maildrop: $out" >> "$dir/provision.log"
