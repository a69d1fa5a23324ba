#!/usr/bin/env bash
# Starts Cyrus's POP3 server (cyrus-pop3d 3.6 from Debian 12) on 127.0.0.1 for pop3kit's
# interop runs, everything under one folder; interop/servers/cyrus/README.md explains each
# setting.
#
# usage: start.sh DIR MAILDROP
#   DIR       a new, empty folder for everything of this run (configs, Cyrus's databases and
#             spool, the SASL database, certificate, logs, pid file)
#   MAILDROP  a folder written by interop/gen_maildrop.py: its expected/NN.eml (CRLF) become the
#             user's INBOX, in order
# Writes DIR/server.env (shell-sourceable: SERVER_NAME PORT TLS_PORT USER PASS CA PROVISION
# FIXTURE_FORMAT) once both ports accept connections; exits non-zero with the reason and the
# log tail otherwise. Stop with stop.sh DIR. Run as root (Cyrus's master drops to user cyrus).
#
# Nothing system-wide is used or changed: every Cyrus program gets -C DIR/imapd.conf, and the
# master runs in a private mount namespace in which /etc/imapd.conf and /etc/cyrus.conf are
# DIR's files (so that a program started without -C still reads DIR's config, never the
# system's /var/lib/cyrus or /run/cyrus).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=interop/common.sh
. "$HERE/../../common.sh"
CYRUS_BIN=/usr/lib/cyrus/bin

die() {
    echo "cyrus/start.sh: $*" >&2
    if [ -n "${DIR:-}" ]; then
        for log in "$DIR/master.log" "$DIR/syslog.log"; do
            [ -s "$log" ] && { echo "--- tail of $log" >&2; tail -20 "$log" >&2; }
        done
    fi
    exit 1
}

[ $# -eq 2 ] || { echo "usage: $0 DIR MAILDROP" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "cyrus/start.sh: must run as root" >&2; exit 2; }
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
MAILDROP=$(cd "$2" && pwd)
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
ls "$MAILDROP"/expected/*.eml >/dev/null 2>&1 || die "$MAILDROP/expected/*.eml not found (interop/gen_maildrop.py)"
# Debian packages that do not conflict with anything (idempotent; scripts/install-peers.sh
# installs under a policy-rc.d that forbids starting services). Not cyrus-pop3d: see below.
bash "$HERE/../../../scripts/install-peers.sh" cyrus-common sasl2-bin openssl python3 ||
    die "package install failed"
for b in master reconstruct mbpath ctl_cyrusdb; do
    [ -x "$CYRUS_BIN/$b" ] || die "$CYRUS_BIN/$b missing: bash scripts/install-peers.sh cyrus-common sasl2-bin"
done
command -v saslpasswd2 >/dev/null || die "saslpasswd2 missing (package sasl2-bin)"

# The user: '@' and '%' in the password make every client percent-encode it in URLs and carry
# it into APOP and SASL digests (as for Dovecot). Cyrus user names are mailbox names: no '@'
# (it would be a virtual domain) and no '.' (the hierarchy separator).
USER_NAME=interop
USER_PASS='p@ss%w0rd'
# Cyrus's servername: the greeting's host, the APOP timestamp's domain and the SASL realm
# under which saslpasswd2 stores the user.
SERVERNAME=localhost

chmod 755 "$DIR" # Cyrus runs as user cyrus and must reach its folders

# pop3d: Debian's cyrus-pop3d, unpacked into DIR/pkg rather than installed. The package
# Conflicts with every other pop3-server (dovecot-pop3d, courier-pop, ...): installing it
# makes apt remove Dovecot's pop3d, which interop/run.sh needs. Its only program,
# /usr/lib/cyrus/bin/pop3d, runs against the libraries of cyrus-common (installed, same
# version). The .deb comes from apt's cache, else apt-get download.
version=$(dpkg-query -W -f='${Version}' cyrus-common 2>/dev/null) || die "cyrus-common is not installed"
deb=/var/cache/apt/archives/cyrus-pop3d_${version/:/%3a}_$(dpkg --print-architecture).deb
mkdir -p "$DIR/pkg"
if [ ! -f "$deb" ]; then
    (cd "$DIR/pkg" && apt-get download -q "cyrus-pop3d=$version" >/dev/null 2>&1) ||
        die "cyrus-pop3d $version is neither in apt's cache nor downloadable"
    deb=$(ls "$DIR"/pkg/cyrus-pop3d_*.deb)
fi
dpkg-deb -x "$deb" "$DIR/pkg/root" || die "could not unpack $deb"
POP3D=$DIR/pkg/root/usr/lib/cyrus/bin/pop3d
[ -x "$POP3D" ] || die "$deb has no usr/lib/cyrus/bin/pop3d"
# conf/socket: pop3d binds its IDLE notification socket as conf/socket/idle.PID whatever
# idlesocket says ("bind: No such file or directory" on stderr without it).
mkdir -p "$DIR/conf/socket" "$DIR/spool" "$DIR/run/proc" "$DIR/run/lock" "$DIR/run/socket" "$DIR/tmp" "$DIR/sieve"

read -r PORT TLS_PORT <<<"$(free_ports 2)"

make_cert "$DIR/key.pem" "$DIR/cert.pem" || die "openssl could not make the certificate"

sed -e "s|@DIR@|$DIR|g" -e "s|@SERVERNAME@|$SERVERNAME|g" "$HERE/imapd.conf.in" > "$DIR/imapd.conf"
sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@TLS_PORT@|$TLS_PORT|g" -e "s|@POP3D@|$POP3D|g" \
    "$HERE/cyrus.conf.in" > "$DIR/cyrus.conf"

# The SASL database (auxprop sasldb): the password in clear, which APOP, CRAM-MD5, DIGEST-MD5
# and SCRAM need.
printf '%s' "$USER_PASS" | saslpasswd2 -p -f "$DIR/sasldb2" -u "$SERVERNAME" -c "$USER_NAME" ||
    die "saslpasswd2 failed"

chown -R cyrus:mail "$DIR/conf" "$DIR/spool" "$DIR/run" "$DIR/tmp" "$DIR/sieve" "$DIR"/sasldb2* "$DIR/key.pem"
chmod 600 "$DIR/key.pem"
touch "$DIR/master.log" && chown cyrus:mail "$DIR/master.log"

# The master, daemonised (-d), in a private mount namespace; it drops to user cyrus itself.
unshare -m --propagation private sh -c '
    for f in imapd.conf cyrus.conf; do
        [ ! -e "/etc/$f" ] || mount --bind "$1/$f" "/etc/$f" || exit 1
    done
    exec "$2/master" -C "$1/imapd.conf" -M "$1/cyrus.conf" -p "$1/master.pid" -L "$1/master.log" -d
' sh "$DIR" "$CYRUS_BIN" || die "cyrus master did not start"

wait_port "$PORT" || die "nothing accepts on 127.0.0.1:$PORT"
wait_port "$TLS_PORT" || die "nothing accepts on 127.0.0.1:$TLS_PORT"

# The INBOX: Cyrus creates it at the user's first login (autocreate_quota 0); log in once, then
# load the six messages (provision.sh, as for a fixture).
python3 - "$PORT" "$USER_NAME" "$USER_PASS" <<'EOF' || die "the first login (which creates the INBOX) failed"
import socket, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
def reply(cmd=None):
    if cmd is not None:
        s.sendall(cmd.encode() + b"\r\n")
    line = f.readline()
    if not line.startswith(b"+OK"):
        sys.exit(f"{cmd or 'greeting'}: {line!r}")
reply()
reply("USER " + user)
reply("PASS " + password)
reply("QUIT")
EOF
printf '%s\n' "$USER_NAME" > "$DIR/user.name"
runuser -u cyrus -- "$CYRUS_BIN/mbpath" -C "$DIR/imapd.conf" -u "$USER_NAME" > "$DIR/inbox.path" ||
    die "mbpath found no INBOX for $USER_NAME"
mkdir -p "$DIR/default"
cp "$MAILDROP"/expected/*.eml "$DIR/default/"
sh "$HERE/provision.sh" "$DIR" default "$DIR/default" || die "loading the maildrop failed"

cat > "$DIR/server.env" <<EOF
SERVER_NAME='Cyrus 3.6.1'
PORT=$PORT
TLS_PORT=$TLS_PORT
USER=$(q "$USER_NAME")
PASS=$(q "$USER_PASS")
CA=$(q "$DIR/cert.pem")
PROVISION=$(q "sh '$HERE/provision.sh' '$DIR' {maildrop} {dir}")
FIXTURE_FORMAT=eml
EOF
echo "cyrus: pop3 127.0.0.1:$PORT (STLS), pop3s 127.0.0.1:$TLS_PORT, user $USER_NAME; $DIR/server.env"
