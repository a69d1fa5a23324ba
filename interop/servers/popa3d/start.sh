#!/usr/bin/env bash
# Starts Debian 12's popa3d 1.0.3 on 127.0.0.1 for pop3kit, everything under DIR.
#
# usage: start.sh DIR MAILDROP     (as root; stop with stop.sh DIR)
#   DIR       a new, empty folder for this run (configs, mailbox, logs, pid and port files)
#   MAILDROP  a folder written by interop/gen_maildrop.py (expected/NN.eml: the six messages)
#
# popa3d has no configuration file, no port option and no TLS: it is an inetd service (its
# default mode) that authenticates system users through PAM (service "popa3d") and serves
# /var/mail/USER (mbox). Its -D standalone mode would bind 0.0.0.0:110 (compiled in), so it is
# not used. Instead:
#   * the binary comes from the Debian package popa3d_1.0.3-1.1 unpacked into DIR/root with
#     dpkg-deb -x (the installed /usr/sbin/popa3d when the package is installed; it is not by
#     default, because popa3d conflicts with any other pop3-server package, cyrus-pop3d and
#     mailutils-pop3d included, and installing it would remove them);
#   * inetd.py (next to this script) listens on 127.0.0.1 on a free port and execs popa3d per
#     connection with the socket as stdin/stdout, as inetd does;
#   * both run in a private mount namespace (unshare -m) in which DIR's own copies are bind
#     mounted over /etc/passwd, /etc/shadow, /etc/group (the system's, plus the pseudo-user
#     popa3d and the test user pop3kit), /etc/pam.d (the system's, plus the package's
#     /etc/pam.d/popa3d: common-auth + common-account, i.e. pam_unix on the shadow copy) and
#     /var (DIR/var: mail/pop3kit, the mbox, and lib/popa3d, popa3d's empty chroot). Nothing
#     outside DIR is written; other processes keep seeing the system's files.
# Writes DIR/server.env (see interop/servers/popa3d/README.md).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=interop/common.sh
. "$HERE/../../common.sh"
PY=/usr/bin/python3
die() {
    echo "popa3d/start.sh: $*" >&2
    if [ "${STARTED:-0}" = 1 ] && [ -s "$DIR/server.log" ]; then
        echo "--- $DIR/server.log (tail):" >&2
        tail -20 "$DIR/server.log" >&2
    fi
    exit 1
}
[ $# -eq 2 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (popa3d authenticates through PAM as root)"
case $1 in /*) abs=$1 ;; *) abs=$PWD/$1 ;; esac
case $abs/ in
    /var/*) die "DIR must not be under /var (the namespace mounts DIR/var over /var)" ;;
esac
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
MAILDROP=$(cd "$2" && pwd)
case $DIR/ in
    /var/*) die "DIR must not be under /var (the namespace mounts DIR/var over /var)" ;;
esac
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
ls "$MAILDROP"/expected/*.eml >/dev/null 2>&1 || die "$MAILDROP/expected/*.eml missing (gen_maildrop.py)"
chmod 755 "$DIR"

USER_NAME=pop3kit
USER_UID=64011
POPA3D_UID=64010
PASS='p@ss%w0rd'

# --- the binary ----------------------------------------------------------------------------
if dpkg-query -W -f='${Status}' popa3d 2>/dev/null | grep -q 'install ok installed'; then
    POPA3D=/usr/sbin/popa3d
else
    deb=${POPA3D_DEB:-}
    if [ -z "$deb" ]; then
        deb=$(ls /var/cache/apt/archives/popa3d_1.0.3-*_amd64.deb 2>/dev/null | tail -1 || true)
    fi
    if [ -z "$deb" ]; then
        mkdir -p "$DIR/debs"
        (cd "$DIR/debs" && apt-get download popa3d >"$DIR/apt-download.log" 2>&1) ||
            die "apt-get download popa3d failed: $(tail -3 "$DIR/apt-download.log")"
        deb=$(ls "$DIR"/debs/popa3d_*.deb | tail -1)
    fi
    dpkg-deb -x "$deb" "$DIR/root" || die "dpkg-deb -x $deb failed"
    POPA3D=$DIR/root/usr/sbin/popa3d
fi
VERSION=$("$POPA3D" -V 2>&1 | sed -n 1p) || die "$POPA3D -V failed"

# --- users, PAM, spool ---------------------------------------------------------------------
mkdir -p "$DIR/etc" "$DIR/var/mail" "$DIR/var/lib/popa3d" "$DIR/var/tmp"
ln -s /run "$DIR/var/run"
chmod 1777 "$DIR/var/tmp"
grep -vE "^($USER_NAME|popa3d):" /etc/passwd > "$DIR/etc/passwd"
grep -vE "^($USER_NAME|popa3d):" /etc/shadow > "$DIR/etc/shadow"
grep -vE "^($USER_NAME|popa3d):" /etc/group > "$DIR/etc/group"
echo "popa3d:x:$POPA3D_UID:$POPA3D_UID:popa3d pseudo-user:/nonexistent:/usr/sbin/nologin" >> "$DIR/etc/passwd"
echo "$USER_NAME:x:$USER_UID:8:pop3kit test user:/nonexistent:/usr/sbin/nologin" >> "$DIR/etc/passwd"
echo "popa3d:*:19000:0:99999:7:::" >> "$DIR/etc/shadow"
echo "$USER_NAME:$(openssl passwd -6 "$PASS"):19000:0:99999:7:::" >> "$DIR/etc/shadow"
echo "popa3d:x:$POPA3D_UID:" >> "$DIR/etc/group"
chmod 644 "$DIR/etc/passwd" "$DIR/etc/group"
chmod 640 "$DIR/etc/shadow"
chgrp shadow "$DIR/etc/shadow" 2>/dev/null || true
cp -a /etc/pam.d "$DIR/pam.d"
if [ -f "$DIR/root/etc/pam.d/popa3d" ]; then
    cp "$DIR/root/etc/pam.d/popa3d" "$DIR/pam.d/popa3d"
elif [ ! -f "$DIR/pam.d/popa3d" ]; then
    printf '@include common-auth\n@include common-account\n' > "$DIR/pam.d/popa3d"
fi
# the spool: root:mail 2775 as on Debian; the chroot: empty, root-owned
chown root:mail "$DIR/var/mail" && chmod 2775 "$DIR/var/mail"
chmod 755 "$DIR/var" "$DIR/var/lib" "$DIR/var/lib/popa3d"

# --- the mailbox ---------------------------------------------------------------------------
"$PY" "$HERE/../mkmbox.py" "$DIR/default.mbox" "$MAILDROP"/expected/*.eml
cp "$DIR/default.mbox" "$DIR/var/mail/$USER_NAME"
chown "$USER_UID:8" "$DIR/var/mail/$USER_NAME" && chmod 600 "$DIR/var/mail/$USER_NAME"

# --- start ---------------------------------------------------------------------------------
cat > "$DIR/namespace.sh" <<EOF
#!/bin/sh
# Run by start.sh inside unshare -m: DIR's files over the system's, for this namespace only.
set -e
mount --make-rprivate /
mount --bind '$DIR/etc/passwd' /etc/passwd
mount --bind '$DIR/etc/shadow' /etc/shadow
mount --bind '$DIR/etc/group' /etc/group
mount --bind '$DIR/pam.d' /etc/pam.d
mount --bind '$DIR/var' /var
exec $PY '$HERE/inetd.py' '$DIR/port' '$DIR/server.log' '$POPA3D'
EOF
: > "$DIR/server.log"
STARTED=1 # from here on, die() shows the server's log
setsid unshare -m --propagation private sh "$DIR/namespace.sh" >>"$DIR/server.log" 2>&1 </dev/null &
echo $! > "$DIR/pid"
for _ in $(seq 100); do
    [ -s "$DIR/port" ] && break
    kill -0 "$(cat "$DIR/pid")" 2>/dev/null || die "the server exited at start"
    sleep 0.1
done
[ -s "$DIR/port" ] || { bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1; die "no port after 10 s"; }
PORT=$(cat "$DIR/port")
ok=0
for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
[ $ok -eq 1 ] || { bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1; die "127.0.0.1:$PORT does not accept"; }
# A greeting proves popa3d itself runs (the listener alone would accept).
greet=$(greeting "$PORT") || true
case $greet in
    "+OK"*) ;;
    *) bash "$HERE/stop.sh" "$DIR" >/dev/null 2>&1; die "no +OK greeting on 127.0.0.1:$PORT: $greet" ;;
esac

cat > "$DIR/server.env" <<EOF
SERVER_NAME='popa3d 1.0.3 (Debian 1.0.3-1.1)'
PORT=$PORT
TLS_PORT=
USER='$USER_NAME'
PASS='$PASS'
CA=
STLS=0
PROVISION="sh '$HERE/provision.sh' '$DIR' {maildrop} {dir}"
FIXTURE_FORMAT=mbox
EOF
echo "popa3d: $VERSION on 127.0.0.1:$PORT (pid $(cat "$DIR/pid")), user $USER_NAME; $DIR/server.env"
