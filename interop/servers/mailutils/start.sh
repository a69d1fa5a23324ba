#!/usr/bin/env bash
# Starts GNU Mailutils pop3d 3.15 (Debian 12 package mailutils-pop3d 1:3.15-4) on 127.0.0.1
# for pop3kit, everything under DIR.
#
# usage: start.sh DIR MAILDROP     (as root; stop with stop.sh DIR)
#   DIR       a new, empty folder for this run (config, user database, mailbox, cert, log)
#   MAILDROP  a folder written by interop/gen_maildrop.py (expected/NN.eml: the six messages)
#
# pop3d runs as a daemon in the foreground (mode daemon; foreground yes) from its own config
# (--config-file DIR/pop3d.conf, which implies --no-config: /etc/mailutils.conf is not read)
# with two servers: 127.0.0.1:PORT with STLS and 127.0.0.1:TLS_PORT with implicit TLS, on
# free ports, and a self-signed certificate. Users come from a virtual-domain password file
# (virtdomain { passwd-dir DIR/virt }): interop@pop3kit.test, uid/gid nobody, maildrop
# DIR/home/INBOX (mbox). APOP secrets are in DIR/apop.db (made with popauth). No system file
# is read for users or written.
#
# The binary: /usr/sbin/pop3d when mailutils-pop3d is installed; otherwise Debian's .deb is
# unpacked into DIR/root (dpkg-deb -x). Installing mailutils-pop3d would remove any package
# that Conflicts with pop3-server (cyrus-pop3d, popa3d), so it is not installed; its
# libraries are ordinary packages that conflict with nothing:
#   bash scripts/install-peers.sh mailutils-common libmailutils9 libmu-dbm9
# Writes DIR/server.env (see interop/servers/mailutils/README.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=interop/common.sh
. "$HERE/../../common.sh"
PY=/usr/bin/python3
die() {
    echo "mailutils/start.sh: $*" >&2
    if [ "${STARTED:-0}" = 1 ] && [ -s "$DIR/server.log" ]; then
        echo "--- $DIR/server.log (tail):" >&2
        tail -20 "$DIR/server.log" >&2
    fi
    exit 1
}
[ $# -eq 2 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (pop3d switches to the mail user's uid)"
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
MAILDROP=$(cd "$2" && pwd)
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
ls "$MAILDROP"/expected/*.eml >/dev/null 2>&1 || die "$MAILDROP/expected/*.eml missing (gen_maildrop.py)"
chmod 755 "$DIR" # the mail user (nobody) must reach DIR/home

DOMAIN=pop3kit.test
LOCAL=interop
USER_NAME=$LOCAL@$DOMAIN
PASS='p@ss%w0rd'
MAIL_UID=$(id -u nobody)
MAIL_GID=$(getent group nogroup | cut -d: -f3)

# --- the binary ----------------------------------------------------------------------------
if dpkg-query -W -f='${Status}' mailutils-pop3d 2>/dev/null | grep -q 'install ok installed'; then
    POP3D=/usr/sbin/pop3d
    POPAUTH=/usr/bin/popauth
else
    deb=${MAILUTILS_POP3D_DEB:-}
    if [ -z "$deb" ]; then
        deb=$(ls /var/cache/apt/archives/mailutils-pop3d_*3.15-*_amd64.deb 2>/dev/null | tail -1 || true)
    fi
    if [ -z "$deb" ]; then
        mkdir -p "$DIR/debs"
        (cd "$DIR/debs" && apt-get download mailutils-pop3d >"$DIR/apt-download.log" 2>&1) ||
            die "apt-get download mailutils-pop3d failed: $(tail -3 "$DIR/apt-download.log")"
        deb=$(ls "$DIR"/debs/mailutils-pop3d_*.deb | tail -1)
    fi
    dpkg-deb -x "$deb" "$DIR/root" || die "dpkg-deb -x $deb failed"
    POP3D=$DIR/root/usr/sbin/pop3d
    POPAUTH=$DIR/root/usr/bin/popauth
fi
missing=$(ldd "$POP3D" 2>&1 | awk '/not found/ {printf "%s ", $1}')
if [ -n "$missing" ]; then
    die "$POP3D lacks libraries ($missing); install them:" \
        "bash scripts/install-peers.sh mailutils-common libmailutils9 libmu-dbm9"
fi
# sed reads all of it (head would end the pipe early: SIGPIPE, and set -e with pipefail)
VERSION=$("$POP3D" --version 2>&1 | sed -n 1p)

# --- user database, APOP secrets, mailbox, certificate -------------------------------------
mkdir -p "$DIR/virt" "$DIR/home"
# virtdomain: UNIX passwd format, crypt(3) password (no shadow support); pw_dir/INBOX is the
# maildrop.
echo "$LOCAL:$(openssl passwd -6 "$PASS"):$MAIL_UID:$MAIL_GID:pop3kit test user:$DIR/home:/bin/false" \
    > "$DIR/virt/$DOMAIN"
chmod 644 "$DIR/virt/$DOMAIN"
"$POPAUTH" --add --user "$USER_NAME" --password "$PASS" --file "$DIR/apop.db" \
    >"$DIR/popauth.log" 2>&1 || die "popauth failed: $(cat "$DIR/popauth.log")"
chmod 600 "$DIR/apop.db"
"$PY" "$HERE/../mkmbox.py" "$DIR/default.mbox" "$MAILDROP"/expected/*.eml
cp "$DIR/default.mbox" "$DIR/home/INBOX"
chown -R "$MAIL_UID:$MAIL_GID" "$DIR/home"
chmod 700 "$DIR/home"
chmod 600 "$DIR/home/INBOX"
make_cert "$DIR/key.pem" "$DIR/cert.pem" || die "openssl req failed"
chmod 600 "$DIR/key.pem"

# --- config --------------------------------------------------------------------------------
read -r PORT TLS_PORT <<<"$(free_ports 2)"
cat > "$DIR/pop3d.conf" <<EOF
# GNU Mailutils pop3d for pop3kit (written by interop/servers/mailutils/start.sh)
mode daemon;
foreground yes;
pidfile "$DIR/pop3d.pid";
max-children 40;
# diagnostics to stderr (DIR/server.log), not syslog
logging { syslog no; };
# no /etc/hosts.allow, /etc/hosts.deny
tcp-wrappers { enable no; };
# users from DIR/virt/DOMAIN only (not /etc/passwd, not PAM)
auth { authorization virtdomain; authentication generic; };
virtdomain { passwd-dir "$DIR/virt"; };
apop-database-file "$DIR/apop.db";
apop-database-owner root;
mailbox { mailbox-type mbox; };
tls { ssl-certificate-file "$DIR/cert.pem"; ssl-key-file "$DIR/key.pem"; };
# the plain port offers STLS; the other is implicit TLS
server 127.0.0.1:$PORT { tls-mode stls; };
server 127.0.0.1:$TLS_PORT { tls-mode connection; };
EOF
"$POP3D" --config-file="$DIR/pop3d.conf" --config-lint >"$DIR/lint.log" 2>&1 ||
    die "config lint failed: $(cat "$DIR/lint.log")"

# --- start ---------------------------------------------------------------------------------
: > "$DIR/server.log"
STARTED=1 # from here on, die() shows the server's log
setsid "$POP3D" --config-file="$DIR/pop3d.conf" >>"$DIR/server.log" 2>&1 </dev/null &
echo $! > "$DIR/pid"
if ! wait_port "$PORT" "$DIR/pid" || ! wait_port "$TLS_PORT" "$DIR/pid"; then
    bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1
    die "pop3d does not accept on 127.0.0.1:$PORT and :$TLS_PORT"
fi
greet=$(greeting "$PORT") || true
case $greet in
    "+OK"*) ;;
    *) bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1; die "no +OK greeting on 127.0.0.1:$PORT: $greet" ;;
esac

cat > "$DIR/server.env" <<EOF
SERVER_NAME='GNU Mailutils pop3d 3.15 (Debian 1:3.15-4)'
PORT=$PORT
TLS_PORT=$TLS_PORT
USER='$USER_NAME'
PASS='$PASS'
CA=$DIR/cert.pem
STLS=1
PROVISION="sh '$HERE/provision.sh' '$DIR' {maildrop} {dir}"
FIXTURE_FORMAT=mbox
EOF
echo "mailutils: $VERSION on 127.0.0.1:$PORT (STLS) and :$TLS_PORT (TLS), pid $(cat "$DIR/pid"), user $USER_NAME; $DIR/server.env"
