#!/usr/bin/env python3
"""curl as a client for `pop3-conformance client --command`:

    python3 interop/conformance_client_curl.py {url} {ca} {args}

One curl run; each command is one transfer on the same connection (transfers joined with
--next share curl's connection cache, and curl sends QUIT when it exits):

    list          pop3://…/                  (LIST, multi-line)
    list N        -X LIST -I pop3://…/N      (-I: a custom command with a single-line reply)
    uidl          -X UIDL pop3://…/
    uidl N        -X UIDL -I pop3://…/N
    retr N        pop3://…/N                 (RETR)
    top N L       -X TOP pop3://…/N%20L
    dele N        -X DELE -I pop3://…/N
    stat, noop, rset   -X STAT|NOOP|RSET -I pop3://…/   (curl passes the reply through; it
                                                        does not parse STAT's numbers)
    capa          -X CAPA pop3://…/
    quit          nothing more (curl ends with QUIT)

--starttls is --ssl-reqd on pop3:// (STLS or fail), --tls is pop3s://, --cacert {ca} always.
--auth APOP is --login-options AUTH=+APOP, --auth MECH is --login-options AUTH=MECH, with
--sasl-ir (the initial response in the AUTH line, as the transcripts expect of PLAIN). Exit 0
when curl exits 0.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in interop/
sys.path.insert(0, os.path.dirname(__file__))
from conformance_client_common import DEADLINE, Request, run  # noqa: E402


def main():
    r = Request(sys.argv[1:])
    base = "%s://%s:%s@%s:%d" % ("pop3s" if r.tls else "pop3", r.user, r.password, r.host,
                                 r.port)
    common = ["-sS", "--max-time", str(DEADLINE - 1), "--cacert", r.ca, "-o", "/dev/null"]
    if r.starttls and not r.tls:
        common.append("--ssl-reqd")
    if r.auth == "APOP":
        common += ["--login-options", "AUTH=+APOP"]
    elif r.auth:
        common += ["--login-options", "AUTH=" + r.auth, "--sasl-ir"]
    transfers = []
    for name, args in r.commands:
        if name == "quit":
            break
        if name == "list":
            t = ["-X", "LIST", "-I", "%s/%d" % (base, args[0])] if args else [base + "/"]
        elif name == "uidl":
            t = ["-X", "UIDL"] + (["-I", "%s/%d" % (base, args[0])] if args else [base + "/"])
        elif name == "retr":
            t = ["%s/%d" % (base, args[0])]
        elif name == "top":
            t = ["-X", "TOP", "%s/%d%%20%d" % (base, args[0], args[1])]
        elif name == "dele":
            t = ["-X", "DELE", "-I", "%s/%d" % (base, args[0])]
        elif name == "capa":
            t = ["-X", "CAPA", base + "/"]
        else:  # stat, noop, rset
            t = ["-X", name.upper(), "-I", base + "/"]
        transfers.append(t)
    if not transfers:  # log in only: a NOOP is the least a curl transfer can do
        transfers.append(["-X", "NOOP", "-I", base + "/"])
    argv = ["curl", "--fail-early"]  # a failed transfer ends the run
    for i, t in enumerate(transfers):
        if i:
            argv.append("--next")
        argv += common + t
    run(argv)


if __name__ == "__main__":
    main()
