#!/usr/bin/env bash
# Starts Dovecot 2.3 (Debian 12's dovecot-core and dovecot-pop3d) on 127.0.0.1 for pop3kit, as
# interop/run.sh part a configures it (interop/dovecot.conf.in), everything of the run in DIR;
# stop it with stop.sh DIR. README.md explains the layout.
#
# usage: start.sh DIR MAILDROP
#   DIR       a new empty folder (made when missing) for this run: dovecot.conf, passwd-file,
#             certificate, the user's Maildir and home, Dovecot's base_dir, state_dir and log
#   MAILDROP  a folder written by interop/gen_maildrop.py (its Maildir/ is copied in)
# Writes DIR/server.env (SERVER_NAME PORT TLS_PORT STLS RUNS USER PASS CA PROVISION
# FIXTURE_FORMAT) once both ports accept and a login works on each. Needs root (Dovecot's
# master runs as root; the mail processes run as nobody:nogroup, so every parent of DIR must
# be traversable by nobody).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
INTEROP=$(cd "$HERE/../.." && pwd)
ROOT=$(cd "$INTEROP/.." && pwd)
# shellcheck source=interop/common.sh
. "$INTEROP/common.sh"
DOVECOT=/usr/sbin/dovecot

die() {
    echo "dovecot/start.sh: $*" >&2
    if [ "${STARTED:-0}" = 1 ] && [ -s "$DIR/dovecot.log" ]; then
        echo "--- tail of $DIR/dovecot.log" >&2
        tail -20 "$DIR/dovecot.log" >&2
    fi
    exit 1
}
[ $# -eq 2 ] || { sed -n '6,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (Dovecot's master process runs as root)"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
MAILDROP=$(cd "$2" 2>/dev/null && pwd) || die "no folder $2"
[ -d "$MAILDROP/Maildir/cur" ] || die "$MAILDROP/Maildir is not a Maildir (interop/gen_maildrop.py writes it)"
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"

# Packages (idempotent; scripts/install-peers.sh starts no service).
bash "$ROOT/scripts/install-peers.sh" dovecot-core dovecot-pop3d openssl ||
    die "installing dovecot-core dovecot-pop3d failed"
[ -x "$DOVECOT" ] || die "$DOVECOT missing"
VERSION=$("$DOVECOT" --version | cut -d' ' -f1)

# The user's Maildir and home, owned by the mail user (nobody:nogroup, dovecot.conf.in's
# userdb); Dovecot's mail process must reach them.
MAIL_UID=$(id -u nobody)
MAIL_GID=$(getent group nogroup | cut -d: -f3)
chmod 755 "$DIR"
mkdir -p "$DIR/home"
cp -R "$MAILDROP/Maildir" "$DIR/Maildir"
chown -R "$MAIL_UID:$MAIL_GID" "$DIR/Maildir" "$DIR/home"
if ! setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups test -w "$DIR/Maildir/cur"; then
    die "the mail user nobody cannot reach $DIR/Maildir (is a parent of $DIR closed?)"
fi
make_cert "$DIR/key.pem" "$DIR/cert.pem" || die "openssl failed"

# '@' and '%' make every client percent-encode them in URLs and carry them into APOP, CRAM-MD5
# and SCRAM digests (':' would end the passwd-file field). As interop/run.sh part a.
USER_NAME=interop@pop3kit.test
PASS_WORD='p@ss%w0rd'
echo "$USER_NAME:{PLAIN}$PASS_WORD" > "$DIR/passwd"
# read by the auth process (user dovecot)
chown root:dovecot "$DIR/passwd" && chmod 640 "$DIR/passwd"

read -r PORT TLS_PORT <<<"$(free_ports 2)"
sed -e "s|@DIR@|$DIR|g" -e "s/@UID@/$MAIL_UID/" -e "s/@GID@/$MAIL_GID/" \
    -e "s/@PORT_PLAIN@/$PORT/" -e "s/@PORT_TLS@/$TLS_PORT/" \
    "$INTEROP/dovecot.conf.in" > "$DIR/dovecot.conf"

# ------------------------------------------------------------------------------------------
# Start: the master daemonizes (its pid in DIR/run/master.pid, base_dir = DIR/run).
STARTED=1
"$DOVECOT" -c "$DIR/dovecot.conf" >"$DIR/start.log" 2>&1 ||
    die "dovecot -c $DIR/dovecot.conf failed: $(tail -3 "$DIR/start.log")"
fail_start() {
    bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
    die "$@"
}
wait_port "$PORT" || fail_start "the plain port 127.0.0.1:$PORT does not accept"
wait_port "$TLS_PORT" || fail_start "the TLS port 127.0.0.1:$TLS_PORT does not accept"
[ -s "$DIR/run/master.pid" ] || fail_start "no $DIR/run/master.pid"

# A login on each port (after STLS on the plain one), so that a broken passwd-file, Maildir or
# certificate shows now rather than as a campaign of failed logins.
login_probe "$PORT" "$TLS_PORT" "$USER_NAME" "$PASS_WORD" "$DIR/cert.pem" >"$DIR/probe.log" 2>&1 ||
    fail_start "login probe failed ($(tail -1 "$DIR/probe.log"))"

{
    echo "SERVER_NAME=$(q "Dovecot $VERSION")"
    echo "PORT=$PORT"
    echo "TLS_PORT=$TLS_PORT"
    echo "STLS=1"
    echo "RUNS='plain starttls tls'"
    echo "USER=$(q "$USER_NAME")"
    echo "PASS=$(q "$PASS_WORD")"
    echo "CA=$(q "$DIR/cert.pem")"
    echo "PROVISION=$(q "sh '$INTEROP/provision-dovecot.sh' '$DIR/Maildir' {maildrop} {dir}")"
    echo "FIXTURE_FORMAT=maildir"
} > "$DIR/server.env"
echo "dovecot: Dovecot $VERSION on 127.0.0.1:$PORT (STLS) and 127.0.0.1:$TLS_PORT (TLS), master pid $(cat "$DIR/run/master.pid"); $DIR/server.env"
