#!/usr/bin/env python3
"""A POP3 client broken on purpose, one defect per mode, for proving that the client runner's
global rules catch each (tests/conformance/test_client_runner.cpp). It follows the adapter
contract of docs/client-conformance.md: POP3KIT_* in the environment, messages into
POP3KIT_OUT, exit 0 when it believes it succeeded.

    broken_client.py plaintext-after-stls  STLS refused -> logs in in plaintext anyway
    broken_client.py pipeline              sends USER and PASS together without PIPELINING
    broken_client.py truncated             stores what it got of a message when the
                                           connection closes inside RETR
    broken_client.py dele-broken           a RETR whose terminator does not come within a
                                           second counts as done: it deletes the message
    broken_client.py wait-for-close        after QUIT it waits for the server to close, forever
    broken_client.py flood                 when the connection closes inside RETR, appends blank
                                           lines to the message's file until it is stopped
    broken_client.py hoard                 keeps every line of a message however many come
                                           (what every mode does: the name says what it is for)
"""
import os
import socket
import ssl
import sys

env = os.environ
mode = sys.argv[1]
sock = socket.create_connection((env["POP3KIT_HOST"], int(env["POP3KIT_PORT"])), timeout=10)
buf = b""


def read_line(timeout=10):
    global buf
    sock.settimeout(timeout)
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError
        buf += chunk
    line, buf = buf.split(b"\r\n", 1)
    return line


def command(text):
    sock.sendall(text.encode() + b"\r\n")
    return read_line()


def read_body(timeout=10):
    """The body up to the terminator; (bytes, complete)."""
    lines = []
    try:
        while True:
            line = read_line(timeout)
            if line == b".":
                return b"".join(lines), True
            lines.append((line[1:] if line.startswith(b".") else line) + b"\r\n")
    except (EOFError, socket.timeout):
        return b"".join(lines), False


read_line()
if env["POP3KIT_TLS"] == "starttls":
    if command("STLS").startswith(b"+OK"):
        ctx = ssl.create_default_context(cafile=env["POP3KIT_CA"])
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    elif mode != "plaintext-after-stls":
        sys.exit(1)
if mode == "pipeline":
    sock.sendall(("USER %s\r\nPASS %s\r\n" % (env["POP3KIT_USER"], env["POP3KIT_PASS"])).encode())
    read_line()
    read_line()
else:
    command("USER " + env["POP3KIT_USER"])
    if not command("PASS " + env["POP3KIT_PASS"]).startswith(b"+OK"):
        sys.exit(1)
task = env["POP3KIT_TASK"]
if task in ("fetch-all", "delete-after-fetch"):
    count = int(command("STAT").split()[1])
    for n in range(1, count + 1):
        try:
            command("RETR %d" % n)
        except EOFError:
            sys.exit(1)
        body, complete = read_body(1 if mode == "dele-broken" else 10)
        if complete or mode == "truncated":
            with open(os.path.join(env["POP3KIT_OUT"], "m%d" % n), "wb") as f:
                f.write(body)
        if not complete and mode == "truncated":
            sys.exit(0)
        if not complete and mode == "flood":
            with open(os.path.join(env["POP3KIT_OUT"], "m%d" % n), "ab") as f:
                while True:  # mpop's defect: blank lines appended until it is stopped
                    f.write(b"\n" * 65536)
                    f.flush()
        if task == "delete-after-fetch" and (complete or mode == "dele-broken"):
            buf = b""
            command("DELE %d" % n)
else:
    command("STAT")
sock.sendall(b"QUIT\r\n")
if mode == "wait-for-close":
    sock.settimeout(None)
    while sock.recv(4096):
        pass
sys.exit(0)
