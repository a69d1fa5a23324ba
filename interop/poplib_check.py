#!/usr/bin/env python3
"""Python poplib against a POP3 server on 127.0.0.1: every poplib method, over plain TCP, STLS
and implicit TLS (POP3_SSL), comparing what it retrieves with the maildrop's files.

usage: poplib_check.py --port P --tls-port P --ca CERT --user U --password P --maildrop DIR

DIR holds the messages as the server must deliver them (NN.eml, CRLF line ends, sorted order);
the user's maildrop must be exactly these. Prints one line per check, "ok CHECK" or
"FAIL CHECK: reason", and exits 1 when a check failed. The maildrop is left as it was: DELE is
always followed by RSET.
"""
import argparse
import contextlib
import io
import os
import poplib
import ssl
import sys
import traceback

from report import Report

HOST = "127.0.0.1"
report = Report("poplib")


def check(name, fn):
    """Runs fn(); a falsy result or an exception fails the check (the reason is shown)."""
    try:
        res = fn()
        if res is True or res is None:
            report(True, name)
        else:
            report(False, name, res if isinstance(res, str) else "returned %r" % (res,))
    except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
        report(False, name, "%s: %s" % (type(e).__name__, e))


def expect_raise(exc, fn, match=None):
    try:
        fn()
    except exc as e:
        if match and match not in str(e):
            return "raised %r, expected %r in the text" % (e, match)
        return True
    return "did not raise %s" % exc.__name__


def joined(lines):
    """poplib returns a message as lines without CRLF (already dot-unstuffed)."""
    return b"".join(l + b"\r\n" for l in lines)


def top_of(msg, n):
    head, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        return msg
    lines = body.split(b"\r\n")[:-1] if body else []
    return head + sep + b"".join(l + b"\r\n" for l in lines[:n])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--maildrop", required=True)
    a = ap.parse_args()

    files = sorted(f for f in os.listdir(a.maildrop) if not f.startswith("."))
    msgs = [open(os.path.join(a.maildrop, f), "rb").read() for f in files]
    total = sum(len(m) for m in msgs)
    ctx = ssl.create_default_context(cafile=a.ca)

    # poplib refuses any line longer than poplib._MAXLINE (2048) with error_proto('line too
    # long'); the maildrop has lines of 4096 and 65536 octets, which RFC 5322 allows in 8-bit
    # and binary content. The default is checked first, then raised for the rest.
    def default_maxline():
        p = poplib.POP3(HOST, a.port, timeout=10)
        p.user(a.user)
        p.pass_(a.password)
        r = expect_raise(poplib.error_proto,
                         lambda: p.retr(next(i + 1 for i, m in enumerate(msgs)
                                             if any(len(l) > 2048 for l in m.split(b"\r\n")))),
                         "line too long")
        p.close()  # the connection is out of step after the error
        return r
    check("default _MAXLINE (2048) refuses a 4096-octet line (poplib limit, documented)",
          default_maxline)
    poplib._MAXLINE = 70000

    def session(mode):
        if mode == "ssl":
            return poplib.POP3_SSL(HOST, a.tls_port, timeout=10, context=ctx)
        p = poplib.POP3(HOST, a.port, timeout=10)
        if mode == "stls":
            resp = p.stls(context=ctx)
            if not resp.startswith(b"+OK"):
                raise AssertionError("stls: %r" % resp)
        return p

    for mode in ("plain", "stls", "ssl"):
        tag = "[%s] " % mode
        try:
            p = session(mode)
        except Exception as e:  # noqa: BLE001
            report(False, tag + "connect", "%s: %s" % (type(e).__name__, e))
            continue
        check(tag + "getwelcome", lambda: p.getwelcome().startswith(b"+OK") or repr(p.getwelcome()))
        caps = {}

        def capa():
            caps.update(p.capa())
            want = {"UIDL", "TOP", "USER"}
            return want <= set(caps) or "CAPA lacks %s: %r" % (want - set(caps), caps)
        check(tag + "capa", capa)
        if mode == "plain":
            check(tag + "capa offers STLS", lambda: "STLS" in caps or repr(caps))
        else:
            check(tag + "capa does not offer STLS under TLS (RFC 2595 §4)",
                  lambda: "STLS" not in caps or repr(caps))
            check(tag + "stls again raises error_proto",
                  lambda: expect_raise(poplib.error_proto, lambda: p.stls(context=ctx)))

        def debug():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                p.set_debuglevel(2)
                p.user(a.user)
                p.set_debuglevel(0)
            s = out.getvalue()
            return ("*cmd* 'USER %s'" % a.user in s and "*resp*" in s) or repr(s)
        check(tag + "set_debuglevel(2) shows the dialogue; user", debug)
        check(tag + "pass_", lambda: p.pass_(a.password).startswith(b"+OK"))
        check(tag + "stat", lambda: p.stat() == (len(msgs), total) or repr(p.stat()))

        def list_all():
            resp, lines, _ = p.list()
            want = [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(msgs)]
            return lines == want or "%r != %r" % (lines, want)
        check(tag + "list", list_all)
        check(tag + "list(2)", lambda: p.list(2) == b"+OK 2 %d" % len(msgs[1]) or repr(p.list(2)))

        uids = []

        def uidl_all():
            resp, lines, _ = p.uidl()
            uids.extend(l.split()[1] for l in lines)
            return (len(lines) == len(msgs)
                    and [l.split()[0] for l in lines] == [b"%d" % (i + 1) for i in range(len(msgs))]
                    and len(set(uids)) == len(uids)) or repr(lines)
        check(tag + "uidl", uidl_all)
        check(tag + "uidl(1) agrees with uidl()",
              lambda: (bool(uids) and p.uidl(1).split()[-1] == uids[0]) or repr(p.uidl(1)))
        for i, m in enumerate(msgs, start=1):
            def retr(i=i, m=m):
                resp, lines, octets = p.retr(i)
                got = joined(lines)
                if got != m:
                    return "bytes differ from %s (%d vs %d octets)" % (files[i - 1], len(got), len(m))
                return octets == len(m) or "octets %d != %d" % (octets, len(m))
            check(tag + "retr(%d) byte-identical to %s" % (i, files[i - 1]), retr)
        for i, n in ((1, 0), (2, 3), (3, 2), (len(msgs), 1)):
            def top(i=i, n=n):
                resp, lines, _ = p.top(i, n)
                got = joined(lines)
                want = top_of(msgs[i - 1], n)
                return got == want or "%r != %r" % (got[:200], want[:200])
            check(tag + "top(%d, %d)" % (i, n), top)
        check(tag + "noop", lambda: p.noop().startswith(b"+OK"))
        check(tag + "dele(1)", lambda: p.dele(1).startswith(b"+OK"))
        check(tag + "stat after dele", lambda: p.stat() == (len(msgs) - 1, total - len(msgs[0])) or repr(p.stat()))
        check(tag + "retr of a deleted message raises error_proto",
              lambda: expect_raise(poplib.error_proto, lambda: p.retr(1)))
        check(tag + "rset", lambda: p.rset().startswith(b"+OK"))
        check(tag + "stat after rset", lambda: p.stat() == (len(msgs), total) or repr(p.stat()))
        check(tag + "retr(99) raises error_proto",
              lambda: expect_raise(poplib.error_proto, lambda: p.retr(99)))
        check(tag + "quit", lambda: p.quit().startswith(b"+OK"))

        # APOP, RPOP and UTF8 on their own connections.
        def apop():
            q = session(mode)
            if b"<" not in q.getwelcome():
                q.close()
                return "no APOP timestamp in %r" % q.getwelcome()
            r = q.apop(a.user, a.password)
            ok = r.startswith(b"+OK") and q.stat()[0] == len(msgs)
            q.quit()
            return ok or repr(r)
        check(tag + "apop", apop)

        def apop_wrong():
            q = session(mode)
            r = expect_raise(poplib.error_proto, lambda: q.apop(a.user, a.password + "x"))
            q.close()
            return r
        check(tag + "apop with a wrong secret raises error_proto", apop_wrong)

        def rpop():
            q = session(mode)
            r = expect_raise(poplib.error_proto, lambda: q.rpop(a.user))
            q.close()
            return r
        check(tag + "rpop raises error_proto (RPOP is not offered)", rpop)

        def utf8():
            q = session(mode)
            r = q.utf8()
            q.user(a.user)
            q.pass_(a.password)
            last = len(msgs)
            resp, lines, _ = q.retr(last)
            q.quit()
            return (r.startswith(b"+OK") and joined(lines) == msgs[last - 1]) or repr(r)
        check(tag + "utf8, then retr of the 8-bit message", utf8)

        def close():
            q = session(mode)
            q.close()
            return q.sock is None
        check(tag + "close without quit", close)

    # Certificate verification: the system store does not trust the test certificate.
    check("[ssl] POP3_SSL with the default context refuses the self-signed certificate",
          lambda: expect_raise(ssl.SSLCertVerificationError,
                               lambda: poplib.POP3_SSL(HOST, a.tls_port, timeout=10,
                                                       context=ssl.create_default_context())))
    return report.exit_code()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("FAIL poplib: unexpected exception")
        sys.exit(1)
