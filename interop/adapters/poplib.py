#!/usr/bin/env python3
"""Adapter: Python's poplib as a POP3 client (docs/client-adapters.md).

    pop3-conformance client --command 'exec python3 interop/adapters/poplib.py'

The client is a short script such as a poplib user writes: POP3 (tls none), POP3 + stls()
(starttls: poplib sends CAPA and raises error_proto when STLS is not offered, so it never goes
on in plaintext) or POP3_SSL (implicit), trusting only {ca} with host name checking; then
user()/pass_() (login any and user: what a poplib user does), or apop(). poplib has no AUTH
command: sasl:* is unsupported (125).

Tasks: status stat(); fetch-all list() then retr() of each; fetch-one retr(N); fetch-new
uidl(), retr() of the unique-ids not in {state}/poplib-uidls, which is updated after each
stored message; delete-after-fetch retr() then dele() of each, the dele only after the
message was stored; then quit(). A message is stored when retr() returned, as its lines
joined with CRLF plus a final CRLF, which gives back the message exactly (poplib removes the
dot-stuffing and the terminator), so nothing is declared in .pop3kit-delivery.

Exit 0 when every call returned, 1 on the first exception (error_proto, OSError, EOFError,
ValueError of a reply poplib could not parse, or the adapters' safety net,
POP3KIT_ADAPTER_TIMEOUT): the script then closes the connection without QUIT, so that nothing
of a failed session is committed. poplib's socket timeout is POP3KIT_IDLE_TIMEOUT (30 s).
"""
import os
import sys

sys.dont_write_bytecode = True
# This file is named poplib.py: take the standard library's poplib, not this file.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != _here]
import poplib  # noqa: E402
import ssl  # noqa: E402

sys.path.insert(0, _here)
from common import (IDLE_TIMEOUT, SAFETY_NET, Run, declare_delivery, log,  # noqa: E402
                    store_message, unsupported)
import signal  # noqa: E402

STATE_FILE = "poplib-uidls"


def read_seen(path):
    try:
        with open(path, "rb") as f:
            return set(f.read().split())
    except FileNotFoundError:
        return set()


def write_seen(path, seen):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"".join(u + b"\n" for u in sorted(seen)))
    os.replace(tmp, path)


def numbers(listing):
    """Message numbers of a LIST or UIDL listing (poplib's (resp, lines, octets))."""
    return [int(line.split()[0]) for line in listing[1]]


class SafetyNet(Exception):
    pass


def on_alarm(_signum, _frame):
    raise SafetyNet("still running after %d s (POP3KIT_ADAPTER_TIMEOUT)" % SAFETY_NET)


def main():
    r = Run()
    if r.mechanism:
        unsupported("poplib has no AUTH (SASL) command: login %s" % r.login)
    declare_delivery(r.out, [])
    log(r.describe())
    ctx = None
    if r.tls != "none":
        ctx = ssl.create_default_context(cafile=r.ca)
    p = None
    if SAFETY_NET:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(SAFETY_NET)
    try:
        if r.tls == "implicit":
            p = poplib.POP3_SSL(r.host, r.port, context=ctx, timeout=IDLE_TIMEOUT)
        else:
            p = poplib.POP3(r.host, r.port, timeout=IDLE_TIMEOUT)
        if r.tls == "starttls":
            p.stls(ctx)
        if r.login == "apop":
            p.apop(r.user, r.password)
        else:
            p.user(r.user)
            p.pass_(r.password)

        def retr(n):
            resp, lines, octets = p.retr(n)
            path = store_message(r.out, b"".join(line + b"\r\n" for line in lines))
            log("RETR %d: %d lines, %d octets -> %s" % (n, len(lines), octets, path))

        if r.task == "status":
            count, size = p.stat()
            log("STAT: %d messages, %d octets" % (count, size))
        elif r.task == "fetch-one":
            retr(int(r.message))
        elif r.task == "fetch-new":
            state = os.path.join(r.state, STATE_FILE)
            seen = read_seen(state)
            for line in p.uidl()[1]:
                n, uid = line.split()[:2]
                if uid not in seen:
                    retr(int(n))
                    seen.add(uid)
                    write_seen(state, seen)
        else:  # fetch-all, delete-after-fetch
            for n in numbers(p.list()):
                retr(n)
                if r.task == "delete-after-fetch":
                    p.dele(n)
        p.quit()
    except (poplib.error_proto, OSError, EOFError, ValueError, IndexError, SafetyNet) as e:
        log("poplib: %s: %s" % (type(e).__name__, e))
        if p is not None:
            p.close()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
