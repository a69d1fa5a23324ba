# shellcheck shell=bash
# Shell functions the interop stage's scripts share (interop/run.sh and each
# interop/servers/NAME/start.sh): source it, then call them.

# COUNT free TCP ports of 127.0.0.1, chosen by the kernel, on one line.
free_ports() { # COUNT
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Waits until something accepts on 127.0.0.1:PORT (10 s); with PIDFILE, gives up as soon as the
# process it names has ended.
wait_port() { # PORT [PIDFILE]
    local _
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        [ -z "${2:-}" ] || kill -0 "$(cat "$2")" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# A start.sh's check that its server works: a poplib login in plaintext and after STLS on PORT,
# and with implicit TLS on TLS_PORT, the certificate verified against CA; prints each greeting
# and STAT. Fails on the first error.
login_probe() { # PORT TLS_PORT USER PASS CA
    python3 - "$@" <<'PY'
import poplib, ssl, sys
port, tls_port, user, password, ca = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
for name in ("plain", "stls", "tls"):
    if name == "tls":
        p = poplib.POP3_SSL("127.0.0.1", int(tls_port), timeout=10, context=ctx)
    else:
        p = poplib.POP3("127.0.0.1", int(port), timeout=10)
        if name == "stls":
            p.stls(ctx)
    p.user(user)
    p.pass_(password)
    print(name, p.getwelcome(), p.stat())
    p.quit()
PY
}

# A value of a server.env that a start.sh wrote, read in a subshell (it sets USER and PASS).
server_env() { # FILE NAME
    # shellcheck disable=SC1090
    (. "$1" && printf '%s' "${!2:-}")
}

# S as one word for the shell, in single quotes (a server.env value).
q() { # S
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# S percent-encoded for a URL's user or password (every octet but unreserved ones).
urlenc() { # S
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# A self-signed certificate for the servers on 127.0.0.1: CN=localhost with SAN DNS:localhost
# and IP:127.0.0.1 (so that clients checking either name verify it), P-256, two days.
make_cert() { # KEY CERT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$1" -out "$2" -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}

# Stops the process group whose id start.sh wrote to PIDFILE (it made the group with setsid):
# SIGTERM, then SIGKILL after 5 s; waits until no member is left. Idempotent: no file, nothing
# to do. Exits non-zero, listing the survivors, when some remain.
stop_group() { # NAME PIDFILE
    local name=$1 pidfile=$2 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    case $pid in '' | *[!0-9]*) rm -f "$pidfile"; return 0 ;; esac
    if pgrep -g "$pid" >/dev/null 2>&1; then
        kill -TERM -- "-$pid" 2>/dev/null
        for _ in $(seq 50); do pgrep -g "$pid" >/dev/null 2>&1 || break; sleep 0.1; done
        if pgrep -g "$pid" >/dev/null 2>&1; then
            kill -KILL -- "-$pid" 2>/dev/null
            for _ in $(seq 50); do pgrep -g "$pid" >/dev/null 2>&1 || break; sleep 0.1; done
        fi
    fi
    if pgrep -g "$pid" >/dev/null 2>&1; then
        echo "$name/stop.sh: process group $pid still has processes:" >&2
        pgrep -a -g "$pid" >&2
        return 1
    fi
    rm -f "$pidfile"
    echo "$name: stopped (process group $pid)"
}

# The first line a POP3 server on 127.0.0.1:PORT sends (QUIT follows), or the error; 5 s.
greeting() { # PORT
    timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=4)
print(s.makefile("rb").readline().decode("latin-1").rstrip())
s.sendall(b"QUIT\r\n")' "$1" 2>&1
}

# The Maildir swap of a --provision command (docs/transcripts.md): for MAILDROP "default", puts
# back the user's own Maildir kept aside at the first fixture (nothing to do when none was
# loaded); otherwise MAILDIR becomes a fresh copy of FIXTURE (a Maildir written by
# pop3-conformance), owned by nobody:nogroup (the interop servers' mail user), and the user's
# own is kept aside as it was. POSIX sh, so that /bin/sh scripts can source it.
swap_maildir() { # MAILDIR MAILDROP FIXTURE PROGRAM
    saved=$1.pop3kit-original
    if [ "$2" = default ]; then
        [ -d "$saved" ] || return 0
        rm -rf "$1"
        mv "$saved" "$1"
        return 0
    fi
    if [ ! -d "$3/cur" ] || [ ! -d "$3/new" ]; then
        echo "$4: $3 is not a Maildir (pop3-conformance --fixture-format maildir)" >&2
        return 1
    fi
    fresh=$1.pop3kit-fixture
    rm -rf "$fresh"
    cp -R "$3" "$fresh"
    mkdir -p "$fresh/tmp"
    chown -R nobody:nogroup "$fresh"
    if [ -d "$saved" ]; then
        rm -rf "$1"
    else
        mv "$1" "$saved"
    fi
    mv "$fresh" "$1"
}
