#!/usr/bin/env bash
# Starts Courier's POP3 server (courier-pop from Debian 12) on 127.0.0.1 for pop3kit's interop
# checks, everything of the run in DIR; stop it with stop.sh DIR. README.md explains each setting.
#
# usage: start.sh DIR MAILDROP
#   DIR       a new empty folder (made when missing) for this run: configuration, userdb,
#             certificate, the user's home and Maildir, sockets, logs, the unpacked courier-pop
#   MAILDROP  a folder written by interop/gen_maildrop.py (its Maildir/ is copied in)
# Writes DIR/server.env (SERVER_NAME PORT TLS_PORT USER PASS CA PROVISION FIXTURE_FORMAT RUNS).
# Needs root. Environment: COURIER_POP_DEB=FILE uses that courier-pop .deb instead of
# "apt-get download courier-pop".
#
# How: courier-base, courier-authdaemon and courier-authlib-userdb are installed from Debian
# (scripts/install-peers.sh; no service is started). courier-pop itself conflicts with
# dovecot-pop3d (both provide pop3-server), so it is only unpacked into DIR/pkg. Courier's
# authdaemond and its client library read compiled-in paths (/etc/courier/authdaemonrc,
# /etc/courier/userdb.dat, /run/courier/authdaemon/socket): the servers run in a private mount
# namespace (unshare -m) where DIR/etc and DIR/run are bind-mounted over /etc/courier and
# /run/courier, so the system's copies are neither read nor written. Everything runs in one new
# session (setsid) whose id is DIR/run/session.pid: stop.sh ends that session.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=interop/common.sh
. "$HERE/../../common.sh"
ROOT=$(cd "$HERE/../../.." && pwd)

die() {
    echo "courier start: $*" >&2
    exit 1
}
[ $# -eq 2 ] || { echo "usage: start.sh DIR MAILDROP" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (Courier's login process changes to the mail user)"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
MAILDROP=$(cd "$2" 2>/dev/null && pwd) || die "no folder $2"
[ -d "$MAILDROP/Maildir/cur" ] || die "$MAILDROP/Maildir is not a Maildir (interop/gen_maildrop.py writes it)"
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"

# ------------------------------------------------------------------------------------------
# Packages: the three installed ones, and courier-pop unpacked.
bash "$ROOT/scripts/install-peers.sh" courier-base courier-authdaemon courier-authlib-userdb ||
    die "installing courier-base courier-authdaemon courier-authlib-userdb failed"
{ command -v unshare >/dev/null && command -v setsid >/dev/null; } || die "unshare/setsid (util-linux) missing"
mkdir -p "$DIR/pkg"
if [ -n "${COURIER_POP_DEB:-}" ]; then
    cp "$COURIER_POP_DEB" "$DIR/pkg/courier-pop_given.deb" || die "cannot copy $COURIER_POP_DEB"
else
    (cd "$DIR/pkg" && apt-get download courier-pop >"$DIR/pkg/download.log" 2>&1) ||
        { cat "$DIR/pkg/download.log" >&2; die "apt-get download courier-pop failed"; }
fi
deb=
for f in "$DIR"/pkg/courier-pop_*.deb; do [ -f "$f" ] && deb=$f; done
[ -n "$deb" ] || die "no courier-pop .deb in $DIR/pkg"
dpkg-deb -x "$deb" "$DIR/pkg/root" || die "dpkg-deb -x $deb failed"
VERSION=$(dpkg-deb -f "$deb" Version)
LIBEXEC=$DIR/pkg/root/usr/lib/courier/courier
{ [ -x "$LIBEXEC/courierpop3login" ] && [ -x "$LIBEXEC/courierpop3d" ]; } || die "courier-pop binaries missing in $deb"

# ------------------------------------------------------------------------------------------
# The mail user: nobody:nogroup, home DIR/home, Maildir DIR/home/Maildir (provision.sh swaps
# fixtures in and out of it). nobody must traverse DIR.
MAIL_UID=$(id -u nobody)
MAIL_GID=$(getent group nogroup | cut -d: -f3)
chmod 755 "$DIR"
mkdir -p "$DIR/home" "$DIR/etc" "$DIR/run/authdaemon" "$DIR/log"
cp -R "$MAILDROP/Maildir" "$DIR/home/Maildir"
chown -R "$MAIL_UID:$MAIL_GID" "$DIR/home"
chmod 700 "$DIR/home"
if ! setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups test -w "$DIR/home/Maildir/cur"; then
    die "the mail user nobody cannot reach $DIR/home/Maildir (is a parent of $DIR closed?)"
fi

# '@' and '%' make every client percent-encode them in URLs and carry them into CRAM digests.
USER_NAME=interop@pop3kit.test
PASS_WORD='p@ss%w0rd'

# Certificate: self-signed, CN=localhost, SAN DNS:localhost, IP:127.0.0.1.
make_cert "$DIR/key.pem" "$DIR/cert.pem" || die "openssl failed"
cat "$DIR/key.pem" "$DIR/cert.pem" > "$DIR/etc/pop3d.pem"
# couriertls wants DH parameters; the ones courier-base generated are only read.
if [ -s /etc/courier/dhparams.pem ]; then
    cp /etc/courier/dhparams.pem "$DIR/etc/dhparams.pem"
else
    openssl dhparam -dsaparam -out "$DIR/etc/dhparams.pem" 2048 2>/dev/null || die "openssl dhparam failed"
fi
# couriertls reads both as user courier (courierpop3login drops root before it runs
# couriertls for STLS; "couriertls: pop3d.pem: Permission denied" otherwise), as Debian's
# own pop3d.pem is owned.
chown courier:courier "$DIR/etc/pop3d.pem" "$DIR/etc/dhparams.pem"
chmod 600 "$DIR/etc/pop3d.pem" "$DIR/etc/dhparams.pem"

# authdaemond: userdb only; its socket under DIR/run (= /run/courier in the namespace).
cat > "$DIR/etc/authdaemonrc" <<RC
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=2
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
RC
chmod 644 "$DIR/etc/authdaemonrc"

# userdb: a crypt password for USER/PASS, AUTH PLAIN and LOGIN, and the HMAC contexts that
# CRAM-MD5, CRAM-SHA1 and CRAM-SHA256 need. makeuserdb wants the source with mode 600.
pw() { printf '%s\n' "$PASS_WORD" | userdbpw "$@"; }
printf '%s\tuid=%s|gid=%s|home=%s|systempw=%s|hmac-md5pw=%s|hmac-sha1pw=%s|hmac-sha256pw=%s\n' \
    "$USER_NAME" "$MAIL_UID" "$MAIL_GID" "$DIR/home" "$(pw -md5)" "$(pw -hmac-md5)" \
    "$(pw -hmac-sha1)" "$(pw -hmac-sha256)" > "$DIR/etc/userdb"
chmod 600 "$DIR/etc/userdb"
makeuserdb -f "$DIR/etc/userdb" || die "makeuserdb failed"

# Ports chosen by the kernel.
read -r PORT TLS_PORT <<<"$(free_ports 2)"

# The environment courierpop3login, courierpop3d and couriertls get (what /etc/courier/pop3d
# and pop3d-ssl would give them), plus the per-port settings in inner.sh.
cat > "$DIR/etc/pop3d.env" <<ENV
PATH=/usr/sbin:/usr/bin:/sbin:/bin
SHELL=/bin/sh
MAILDIRPATH=Maildir
POP3AUTH=PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256
POP3AUTH_TLS=PLAIN LOGIN CRAM-MD5 CRAM-SHA1 CRAM-SHA256
POP3_PROXY=0
MIME_UNICODE_MESSAGE_TYPE=message/global
COURIERTLS=/usr/bin/couriertls
TLS_CERTFILE=$DIR/etc/pop3d.pem
TLS_DHPARAMS=$DIR/etc/dhparams.pem
TLS_TRUSTCERTS=/etc/ssl/certs/ca-certificates.crt
TLS_VERIFYPEER=NONE
ENV

cat > "$DIR/inner.sh" <<'INNER'
#!/usr/bin/env bash
# Runs in the new session and mount namespace that start.sh made: bind mounts, then
# authdaemond and the two couriertcpd listeners in the foreground of this session.
set -u
DIR=$1 PORT=$2 TLS_PORT=$3 LIBEXEC=$4
mount --make-rprivate / || exit 1
mount --bind "$DIR/etc" /etc/courier || exit 1
mount --bind "$DIR/run" /run/courier || exit 1
mapfile -t ENVV < "$DIR/etc/pop3d.env"
/usr/bin/env -i "${ENVV[@]}" /usr/lib/courier/courier-authlib/authdaemond \
    >>"$DIR/log/authdaemond.log" 2>&1 &
echo $! > "$DIR/run/authdaemond.pid"
/usr/bin/env -i "${ENVV[@]}" POP3_TLS=0 POP3_STARTTLS=YES POP3_TLS_REQUIRED=0 \
    /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup \
    -stderr="$DIR/log/pop3d.log" "$PORT" "$LIBEXEC/courierpop3login" "$LIBEXEC/courierpop3d" Maildir \
    >>"$DIR/log/couriertcpd.log" 2>&1 &
echo $! > "$DIR/run/pop3d.pid"
/usr/bin/env -i "${ENVV[@]}" POP3_TLS=1 POP3_STARTTLS=NO POP3_TLS_REQUIRED=0 \
    /usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup \
    -stderr="$DIR/log/pop3d-ssl.log" "$TLS_PORT" /usr/bin/couriertls -server -tcpd -user=courier \
    "$LIBEXEC/courierpop3login" "$LIBEXEC/courierpop3d" Maildir \
    >>"$DIR/log/couriertcpd-ssl.log" 2>&1 &
echo $! > "$DIR/run/pop3d-ssl.pid"
wait
INNER

# ------------------------------------------------------------------------------------------
# Start: a new session (its id = inner.sh's pid = every process's session) in a new mount
# namespace.
setsid unshare --mount --propagation private bash "$DIR/inner.sh" "$DIR" "$PORT" "$TLS_PORT" "$LIBEXEC" \
    </dev/null >>"$DIR/log/inner.log" 2>&1 &
echo $! > "$DIR/run/session.pid"

fail_start() {
    echo "courier start: $*" >&2
    for f in "$DIR"/log/*.log; do
        [ -s "$f" ] || continue
        echo "--- tail of $f" >&2
        tail -20 "$f" >&2
    done
    bash "$HERE/stop.sh" "$DIR" >&2 || true
    exit 1
}
wait_port "$PORT" "$DIR/run/session.pid" || fail_start "the plain port 127.0.0.1:$PORT does not accept"
wait_port "$TLS_PORT" "$DIR/run/session.pid" || fail_start "the TLS port 127.0.0.1:$TLS_PORT does not accept"
for _ in $(seq 100); do
    [ -S "$DIR/run/authdaemon/socket" ] && break
    sleep 0.1
done
[ -S "$DIR/run/authdaemon/socket" ] || fail_start "authdaemond made no socket"

# A login on each port (after STLS on the plain one), so that a broken userdb, authdaemond or
# certificate shows now rather than as failed cases.
login_probe "$PORT" "$TLS_PORT" "$USER_NAME" "$PASS_WORD" "$DIR/cert.pem" >"$DIR/log/probe.log" 2>&1 ||
    fail_start "login probe failed ($(tail -1 "$DIR/log/probe.log"))"

{
    echo "SERVER_NAME=$(q "Courier ${VERSION%%-*}")"
    echo "PORT=$PORT"
    echo "TLS_PORT=$TLS_PORT"
    echo "USER=$(q "$USER_NAME")"
    echo "PASS=$(q "$PASS_WORD")"
    echo "CA=$(q "$DIR/cert.pem")"
    echo "PROVISION=$(q "sh '$HERE/provision.sh' '$DIR' {maildrop} {dir}")"
    echo "FIXTURE_FORMAT=maildir"
    # The interop stage runs plain and --starttls only: couriertls starts per connection and
    # the pop3s run took 200-256 s; its implicit-TLS cases still run, on the TLS port, in the
    # plain and --starttls runs (--tls-port). README.md, "Figures".
    echo "RUNS='plain starttls'"
} > "$DIR/server.env"
echo "courier: Courier POP3 ${VERSION} on 127.0.0.1:$PORT (STLS) and 127.0.0.1:$TLS_PORT (TLS); $DIR/server.env"
