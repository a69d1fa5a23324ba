#!/usr/bin/env bash
# Sessions per second (login+STAT+LIST+UIDL+QUIT, lock-step, 32 concurrent users with 10
# messages of 2000 octets each): pop3kit's mock server against Dovecot 2.3, in the same run, on
# 127.0.0.1. Dovecot is measured twice: with its default settings, and with process reuse
# (service_count = 0 for pop3 and pop3-login). Needs root and the Debian packages the interop
# stage installs (interop/run.sh); builds nothing (build the default preset first).
# Usage: bench/dovecot_sessions.sh [SECONDS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
build=build/default
tmp=$(mktemp -d)
chmod 755 "$tmp" # Dovecot's auth and mail processes (other users) must reach the files
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    [ -f "$tmp/dv/dovecot.conf" ] && dovecot -c "$tmp/dv/dovecot.conf" stop 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# The same maildrops for both servers: users u1..u32, 10 messages of 2000 octets each.
python3 - "$tmp" <<'PY'
import os, sys
root = sys.argv[1]
for u in range(1, 33):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(f"{root}/dv/mail/u{u}/{sub}", exist_ok=True)
    for n in range(1, 11):
        body = (f"Subject: message {n}\r\n\r\n" + ("x" * 76 + "\r\n") * 30)[:2000 - 2] + "\r\n"
        with open(f"{root}/dv/mail/u{u}/cur/{n}.bench:2,", "w", newline="") as f:
            f.write(body)
PY
chown -R nobody:nogroup "$tmp/dv/mail"
: > "$tmp/dv/passwd"
for u in $(seq 1 32); do echo "u$u:{PLAIN}p" >> "$tmp/dv/passwd"; done
chown root:dovecot "$tmp/dv/passwd" && chmod 640 "$tmp/dv/passwd"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$tmp/dv/key.pem" \
    -out "$tmp/dv/cert.pem" -subj /CN=localhost 2>/dev/null

# dovecot_config REUSE: writes the config from the interop template, with per-user maildirs.
dovecot_config() {
    local port=$1 tls_port=$2 reuse=$3
    sed -e "s|@DIR@|$tmp/dv|g" -e "s/@UID@/$(id -u nobody)/" -e "s/@GID@/$(getent group nogroup | cut -d: -f3)/" \
        -e "s/@PORT_PLAIN@/$port/" -e "s/@PORT_TLS@/$tls_port/" \
        -e "s|^mail_location = .*|mail_location = maildir:$tmp/dv/mail/%u|" \
        -e "s|^instance_name = .*|instance_name = pop3kit-bench|" \
        interop/dovecot.conf.in > "$tmp/dv/dovecot.conf"
    if [ "$reuse" = 1 ]; then
        cat >> "$tmp/dv/dovecot.conf" <<'CONF'
# Process reuse ("high-performance mode"): login and pop3 processes serve many sessions.
service pop3-login {
  service_count = 0
}
service pop3 {
  service_count = 0
}
CONF
    fi
}

run_dovecot() {
    local reuse=$1 port tls_port
    port=$(free_port); tls_port=$(free_port)
    dovecot_config "$port" "$tls_port" "$reuse"
    dovecot -c "$tmp/dv/dovecot.conf"
    wait_port "$port"
    "$build/bench/pop3-bench" sessions "$port" "$seconds" 32 u p
    dovecot -c "$tmp/dv/dovecot.conf" stop
    sleep 1
}

echo "== Dovecot $(dovecot --version | cut -d' ' -f1), default settings"
run_dovecot 0
echo "== Dovecot, process reuse"
run_dovecot 1
echo "== pop3kit mock server (same maildrops, as Maildirs)"
users=()
for u in $(seq 1 32); do users+=(--user "u$u:p"); done
"$build/mockserver/pop3-mockserver" --quiet "${users[@]}" --maildrop "$tmp/dv/mail" > "$tmp/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^listening pop3 ' "$tmp/mock.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening pop3 .*:\([0-9]*\)$/\1/p' "$tmp/mock.out")
"$build/bench/pop3-bench" sessions "$port" "$seconds" 32 u p
