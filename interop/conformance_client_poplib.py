#!/usr/bin/env python3
"""A client built on Python's poplib for `pop3-conformance client --command`:

    python3 interop/conformance_client_poplib.py {url} {ca} {args}

Every command maps to a poplib method (stat, list, uidl, retr, top, dele, noop, rset, capa,
quit). --starttls is POP3.stls() (which sends CAPA and checks for STLS first) followed by capa()
inside TLS, as RFC 2595 §4 asks of the application (poplib does not re-issue CAPA itself);
--tls is POP3_SSL; --auth APOP is apop(). poplib has no AUTH command, so --auth PLAIN, LOGIN
and CRAM-MD5 are sent by this script through poplib's own _shortcmd(), which reads the replies
with poplib's parser. The runner's certificate ({ca}) is the only trusted one, with host name
checking. Exit 0 when every call returned, 1 on any exception (poplib.error_proto, OSError,
ValueError from a reply poplib could not parse).
"""
import base64
import hashlib
import hmac
import poplib
import ssl
import sys

sys.dont_write_bytecode = True  # no __pycache__ in interop/
sys.path.insert(0, __import__("os").path.dirname(__file__))
from conformance_client_common import DEADLINE, Request, cannot  # noqa: E402


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def login(p, r):
    if r.auth is None:
        p.user(r.user)
        p.pass_(r.password)
    elif r.auth == "APOP":
        p.apop(r.user, r.password)
    elif r.auth == "PLAIN":
        p._shortcmd("AUTH PLAIN " + b64("\0%s\0%s" % (r.user, r.password)))
    elif r.auth == "LOGIN":
        p._shortcmd("AUTH LOGIN")
        p._shortcmd(b64(r.user))
        p._shortcmd(b64(r.password))
    elif r.auth == "CRAM-MD5":
        resp = p._shortcmd("AUTH CRAM-MD5")
        if not resp.startswith(b"+ "):
            raise poplib.error_proto(resp)
        challenge = base64.b64decode(resp[2:], validate=True)
        digest = hmac.new(r.password.encode(), challenge, hashlib.md5).hexdigest()
        p._shortcmd(b64("%s %s" % (r.user, digest)))
    else:
        cannot("this poplib script", "do AUTH %s" % r.auth)


def main():
    r = Request(sys.argv[1:])
    if r.auth not in (None, "APOP", "PLAIN", "LOGIN", "CRAM-MD5"):
        cannot("this poplib script", "do AUTH %s" % r.auth)
    ctx = ssl.create_default_context(cafile=r.ca)
    try:
        if r.tls:
            p = poplib.POP3_SSL(r.host, r.port, context=ctx, timeout=DEADLINE)
        else:
            p = poplib.POP3(r.host, r.port, timeout=DEADLINE)
        if r.starttls:
            p.stls(ctx)
            p.capa()
        login(p, r)
        quit_sent = False
        for name, args in r.commands:
            if name == "quit":
                p.quit()
                quit_sent = True
                break
            result = getattr(p, {"capa": "capa", "stat": "stat", "list": "list",
                                 "uidl": "uidl", "retr": "retr", "top": "top",
                                 "dele": "dele", "noop": "noop", "rset": "rset"}[name])(*args)
            print("%s %s -> %r" % (name, args, result)[:300], file=sys.stderr)
        if not quit_sent:
            p.quit()
    except (poplib.error_proto, OSError, ValueError, EOFError) as e:
        print("poplib: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
