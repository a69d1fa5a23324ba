#!/usr/bin/env python3
"""A manual experiment, not part of interop/run.sh: what a client does with plaintext injected
after the STLS +OK when the server then really does TLS (the client transcripts
client/security/stls-response-injection and stls-garbage only accept a close; docs/interop.md).

usage: stls_injection_probe.py inject|garbage CERT KEY
  Listens on a free port of 127.0.0.1 (printed on stdout), serves one connection: greeting,
  CAPA (USER, STLS), then to STLS "+OK begin TLS" followed in the same write by "+OK injected"
  "+OK 2 320" (inject) or "xx" (garbage), then a TLS handshake with CERT/KEY, then answers
  inside TLS (CAPA: USER; STAT: +OK 0 0; anything else +OK) and logs every line on stderr.
  A safe client either fails the handshake (it took the plaintext for TLS bytes) or completes
  it and starts over inside TLS (CAPA/USER), never acting on "+OK injected".

  e.g. python3 interop/stls_injection_probe.py inject cert.pem key.pem > port &
       python3 interop/conformance_client_fetchmail.py pop3://user:pass@127.0.0.1:$(cat port) \
           cert.pem --starttls stat
"""
import socket
import ssl
import sys


def read_line(sock):
    line = b""
    while not line.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        line += b
    return line


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("inject", "garbage"):
        sys.exit(__doc__)
    after_ok = b"xx" if sys.argv[1] == "garbage" else b"+OK injected\r\n+OK 2 320\r\n"
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    print(srv.getsockname()[1], flush=True)
    srv.settimeout(30)
    conn, _ = srv.accept()
    conn.settimeout(10)
    conn.sendall(b"+OK POP3 ready\r\n")
    while True:
        line = read_line(conn)
        print("C: %r" % line, file=sys.stderr)
        if line.upper().startswith(b"CAPA"):
            conn.sendall(b"+OK\r\nUSER\r\nSTLS\r\n.\r\n")
        elif line.upper().startswith(b"STLS"):
            conn.sendall(b"+OK begin TLS\r\n" + after_ok)
            break
        else:
            print("unexpected before STLS; closing", file=sys.stderr)
            return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError) as e:
        print("handshake failed: %s" % e, file=sys.stderr)
        return
    print("handshake completed", file=sys.stderr)
    while True:
        line = read_line(tls)
        print("C (TLS): %r" % line, file=sys.stderr)
        word = line.upper()
        if not line:
            break
        if word.startswith(b"CAPA"):
            tls.sendall(b"+OK\r\nUSER\r\n.\r\n")
        elif word.startswith(b"STAT"):
            tls.sendall(b"+OK 0 0\r\n")
        elif word.startswith(b"QUIT"):
            tls.sendall(b"+OK bye\r\n")
            break
        else:
            tls.sendall(b"+OK\r\n")


if __name__ == "__main__":
    main()
