#!/usr/bin/env python3
"""A manual experiment, not part of interop/run.sh: a copy of the client-direction transcripts
in which the runner also answers CAPA, to see what curl, mpop (and fetchmail with CRAM-MD5)
do past the point where the real transcripts stop them (docs/interop.md, "With CAPA
answered").

usage: clients_capa_variant.py OUT
       build/default/conformance/pop3-conformance client --transcripts OUT \
           --command "python3 interop/conformance_client_curl.py {url} {ca} {args}"

Every case gets, after the greeting, `C: CAPA` answered with `+OK`, `USER` (and `SASL PLAIN
CRAM-MD5` when the case asks for --auth) and `.`, unless the case already expects CAPA there;
with --post-login also after the +OK that ends the login (mpop asks again in the TRANSACTION
state). The copy then expects every client to send CAPA at those points, so it suits only
clients that always do (curl, mpop).
"""
import glob
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance",
                   "transcripts", "client")
LOGIN = ("C: PASS", "C: APOP", "C: AUTH PLAIN ", "C: dXNlciAz")  # dXNlciAz: CRAM-MD5 answer


def main():
    args = [a for a in sys.argv[1:] if a != "--post-login"]
    post_login = "--post-login" in sys.argv[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    out_dir = os.path.join(args[0], "client")
    os.makedirs(out_dir, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(SRC, "*.pop3"))):
        out, state, auth, logged_in = [], None, False, False
        for line in open(path).read().split("\n"):
            if line.startswith("case:"):
                state, logged_in = "header", False
            elif line.startswith("client:"):
                auth = "--auth" in line
            if state == "header" and line.startswith(("S: ", "S=: ")):
                out.append(line)
                state = "greeted"
                continue
            if state == "greeted" and line.startswith("C"):
                if not line.startswith("C: CAPA"):
                    out += ["C: CAPA", "S: +OK", "S: USER"]
                    out += ["S: SASL PLAIN CRAM-MD5"] if auth else []
                    out += ["S: ."]
                state = "done"
            out.append(line)
            if line.startswith(LOGIN):
                logged_in = True
            elif logged_in and line.startswith("S: +OK"):
                if post_login:
                    out += ["C: CAPA", "S: +OK", "S: USER", "S: ."]
                logged_in = False
        with open(os.path.join(out_dir, os.path.basename(path)), "w") as f:
            f.write("\n".join(out))


if __name__ == "__main__":
    main()
