#!/usr/bin/env python3
"""pop3kit's pop3-client against a real POP3 server (Dovecot in interop/run.sh) on 127.0.0.1:
every command, over plain TCP, STLS and implicit TLS, with every login method, comparing what it
retrieves with the maildrop's files byte for byte.

usage: client_check.py --client BIN --port P --tls-port P --ca CERT --user U --password P
                       --maildrop DIR [--destructive]

DIR holds the messages exactly as the server must deliver them (NN.eml, CRLF, in order). Prints
"ok CHECK" or "FAIL CHECK: reason" per check; exits 1 when one failed. The maildrop is left as
it was (DELE is followed by RSET) unless --destructive, which runs only the checks that delete:
they must run last.
"""
import argparse
import os
import re
import subprocess
import sys
from urllib.parse import quote

from report import Report

HOST = "127.0.0.1"
report = Report("pop3-client")


class Run:
    def __init__(self, a):
        self.a = a

    def url(self, mode, user=True, auth=None):
        scheme = "pop3s" if mode == "tls" else ("pop" if auth else "pop3")
        port = self.a.tls_port if mode == "tls" else self.a.port
        cred = ""
        if user:
            u = quote(self.a.user, safe="")
            if auth:
                u += ";AUTH=" + auth
            cred = "%s:%s@" % (u, quote(self.a.password, safe=""))
        return "%s://%s%s:%d" % (scheme, cred, HOST, port)

    def opts(self, mode, ca=True):
        o = []
        if mode == "stls":
            o.append("--starttls")
        if mode != "plain" and ca:
            o += ["--ca", self.a.ca]
        return o

    def run(self, args):
        p = subprocess.run([self.a.client] + args, capture_output=True, timeout=60)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace").strip()


def top_of(msg, n):
    head, sep, body = msg.partition(b"\r\n\r\n")
    lines = body.split(b"\r\n")[:-1] if body else []
    return head + sep + b"".join(l + b"\r\n" for l in lines[:n])


def main():
    ap = argparse.ArgumentParser()
    for o in ("--client", "--ca", "--user", "--password", "--maildrop"):
        ap.add_argument(o, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, required=True)
    ap.add_argument("--destructive", action="store_true")
    a = ap.parse_args()
    r = Run(a)
    files = sorted(f for f in os.listdir(a.maildrop) if not f.startswith("."))
    msgs = [open(os.path.join(a.maildrop, f), "rb").read() for f in files]
    n, total = len(msgs), sum(len(m) for m in msgs)
    stat_line = b"%d %d\n" % (n, total)

    def check(name, args, want=None, rc=0, pred=None):
        """Runs pop3-client ARGS; passes when the exit code is rc and stdout equals want
        (bytes) or pred(stdout, stderr) returns True (else the reason)."""
        try:
            code, out, err = r.run(args)
        except subprocess.TimeoutExpired:
            report(False, name, "timed out")
            return None
        if code != rc:
            report(False, name, "exit %d (expected %d): %s" % (code, rc, err[-300:]))
            return None
        if want is not None and out != want:
            i = next((k for k in range(min(len(out), len(want))) if out[k] != want[k]),
                     min(len(out), len(want)))
            report(False, name, "stdout differs at octet %d (got %d octets, expected %d): "
                   "got %r, expected %r" % (i, len(out), len(want), out[i:i + 60], want[i:i + 60]))
            return None
        if pred is not None:
            res = pred(out, err)
            if res is not True:
                report(False, name, res)
                return None
        report(True, name)
        return out

    if a.destructive:
        # RFC 1939 §6: DELE takes effect at QUIT only. pop3-client QUITs after its last command
        # when all succeeded, and closes WITHOUT QUIT after an error (its --help says so).
        url, o = r.url("plain"), r.opts("plain")
        check("[destructive] dele 1, then QUIT, removes message 1",
              [url] + o + ["dele", "1"], pred=lambda out, err: out.startswith(b"+OK") or repr(out))
        check("[destructive] the next session counts one message less",
              [url] + o + ["stat"], b"%d %d\n" % (n - 1, total - len(msgs[0])))
        check("[destructive] dele 1 then an error: closed without QUIT, nothing is deleted",
              [url] + o + ["dele", "1", "retr", "99"], rc=1,
              pred=lambda out, err: ("-ERR" in err) or repr(err))
        check("[destructive] the next session still counts the same",
              [url] + o + ["stat"], b"%d %d\n" % (n - 1, total - len(msgs[0])))
        return report.exit_code()

    for mode in ("plain", "stls", "tls"):
        t = "[%s] " % mode
        url, o = r.url(mode), r.opts(mode)

        def capa_ok(out, err, mode=mode):
            caps = {l.split(" ")[0]: l for l in out.decode().splitlines()}
            need = {"USER", "TOP", "UIDL", "SASL"}
            if not need <= set(caps):
                return "missing %s in %r" % (need - set(caps), out)
            if not {"PLAIN", "LOGIN", "CRAM-MD5"} <= set(caps["SASL"].split()[1:]):
                return "SASL line %r" % caps["SASL"]
            if ("STLS" in caps) != (mode == "plain"):
                return "STLS %s under %s" % ("offered" if "STLS" in caps else "missing", mode)
            return True
        check(t + "capa before login (STLS only in plaintext, RFC 2595 §4)",
              [r.url(mode, user=False)] + o + ["capa"], pred=capa_ok)
        check(t + "stat", [url] + o + ["stat"], stat_line)
        check(t + "list", [url] + o + ["list"],
              b"".join(b"%d %d\n" % (i + 1, len(m)) for i, m in enumerate(msgs)))
        check(t + "list 3", [url] + o + ["list", "3"], b"3 %d\n" % len(msgs[2]))
        uids = []

        def uidl_ok(out, err):
            lines = out.decode().splitlines()
            if [l.split(" ")[0] for l in lines] != [str(i + 1) for i in range(n)]:
                return "numbers: %r" % lines
            uids.extend(l.split(" ", 1)[1] for l in lines)
            if len(set(uids)) != n:
                return "unique-ids repeat: %r" % uids
            if not all(re.fullmatch(r"[\x21-\x7e]{1,70}", u) for u in uids):
                return "unique-id not 1-70 printable octets (RFC 1939 §7): %r" % uids
            return True
        check(t + "uidl", [url] + o + ["uidl"], pred=uidl_ok)
        if uids:
            check(t + "uidl 2 agrees with uidl", [url] + o + ["uidl", "2"],
                  ("2 %s\n" % uids[1]).encode())
        for i, m in enumerate(msgs, start=1):
            check(t + "retr %d byte-identical to %s" % (i, files[i - 1]),
                  [url] + o + ["retr", str(i)], m)
        # Every message in one session: the reader must find each end without losing a byte.
        seq = ["stat"] + sum((["retr", str(i)] for i in range(1, n + 1)), []) + ["stat"]
        check(t + "stat, retr 1..%d, stat in one session" % n, [url] + o + seq,
              stat_line + b"".join(msgs) + stat_line)
        for i, k in ((1, 0), (2, 3), (3, 2), (4, 1), (5, 0), (5, 10)):
            check(t + "top %d %d" % (i, k), [url] + o + ["top", str(i), str(k)],
                  top_of(msgs[i - 1], k))
        check(t + "noop", [url] + o + ["noop"],
              pred=lambda out, err: out.startswith(b"+OK") and out.count(b"\n") == 1 or repr(out))

        def dele_rset(out, err):
            lines = out.split(b"\n")
            want2 = b"%d %d" % (n - 1, total - len(msgs[0]))
            ok = (len(lines) == 5 and lines[0].startswith(b"+OK") and lines[1] == want2
                  and lines[2].startswith(b"+OK") and lines[3] == stat_line[:-1])
            return ok or repr(out)
        check(t + "dele 1, stat, rset, stat", [url] + o + ["dele", "1", "stat", "rset", "stat"],
              pred=dele_rset)
        check(t + "retr 99 fails with the server's -ERR (exit 1)", [url] + o + ["retr", "99"],
              rc=1, pred=lambda out, err: ("-ERR" in err and out == b"") or repr(err))
        # Logins: every mechanism the server offers, the RFC 2384 URL form, a wrong password.
        for auth in ("APOP", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"):
            check(t + "login with --auth %s, stat" % auth, [url] + o + ["--auth", auth, "stat"],
                  stat_line)
        check(t + "login with URL ;AUTH=+APOP", [r.url(mode, auth="+APOP")] + o + ["stat"], stat_line)
        check(t + "login with URL ;AUTH=* (picked from CAPA)", [r.url(mode, auth="*")] + o + ["stat"],
              stat_line)
        bad = url.replace(":%s@" % quote(a.password, safe=""), ":wrong-password@")
        check(t + "wrong password fails (exit 1, -ERR shown)", [bad] + o + ["stat"], rc=1,
              pred=lambda out, err: "-ERR" in err or repr(err))
        if mode != "plain":
            check(t + "the system store does not trust the test certificate (exit 1)",
                  [url] + r.opts(mode, ca=False) + ["stat"], rc=1,
                  pred=lambda out, err: ("certificate" in err.lower() or "verif" in err.lower())
                  or repr(err))
    check("[plain] the maildrop is intact after every check", [r.url("plain"), "stat"], stat_line)
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
