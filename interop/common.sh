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

# A self-signed certificate for the servers on 127.0.0.1: CN=localhost with SAN DNS:localhost
# and IP:127.0.0.1 (so that clients checking either name verify it), P-256, two days.
make_cert() { # KEY CERT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$1" -out "$2" -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}
