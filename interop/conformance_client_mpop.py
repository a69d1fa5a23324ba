#!/usr/bin/env python3
"""mpop as a client for `pop3-conformance client --command`:

    python3 interop/conformance_client_mpop.py {url} {ca} {args}

mpop cannot be asked for single POP3 commands: it prints the account's status
(--status-only), prints the server's capabilities (--serverinfo) or retrieves every new
message. Cases that ask only for stat/list/uidl/noop/rset run `mpop --status-only`, `capa`
alone runs `mpop --serverinfo`, cases with retr/top retrieve everything and keep it
(`keep on`), cases with dele retrieve everything and delete it. Cases that expect a particular
command sequence therefore fail where mpop's own sequence differs.

Configuration file in a private temporary folder (mode 600; `-C FILE`, so ~/.mpoprc and
~/.mpop_uidls are not touched), delivery to an mbox there:

    account cc
    host 127.0.0.1 / port PORT / user user / password pass
    auth user|apop|plain|login|cram-md5|…    (no --auth: user, i.e. USER/PASS)
    tls off                                   (no --starttls)
    tls on + tls_starttls on                  (--starttls)
    tls on + tls_starttls off                 (--tls)
    tls_trust_file {ca}, pipelining off, timeout 7

Exit 0 when mpop exits 0, 1 otherwise. CC_DEBUG=1 in the environment adds mpop --debug.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in interop/
sys.path.insert(0, os.path.dirname(__file__))
from conformance_client_common import (Request, TempDir, cannot, run,  # noqa: E402
                                       write_private)

MPOP_AUTH = {"APOP": "apop", "PLAIN": "plain", "LOGIN": "login", "CRAM-MD5": "cram-md5",
             "SCRAM-SHA-1": "scram-sha-1", "SCRAM-SHA-256": "scram-sha-256",
             "DIGEST-MD5": "digest-md5", "EXTERNAL": "external", "GSSAPI": "gssapi",
             "NTLM": "ntlm", "XOAUTH2": "xoauth2", "OAUTHBEARER": "oauthbearer"}


def main():
    r = Request(sys.argv[1:])
    if r.auth is None:
        auth = "user"
    elif r.auth in MPOP_AUTH:
        auth = MPOP_AUTH[r.auth]
    else:
        cannot("mpop", "do AUTH %s" % r.auth)
    if r.tls:
        tls = "tls on\ntls_starttls off"
    elif r.starttls:
        tls = "tls on\ntls_starttls on"
    else:
        tls = "tls off"
    with TempDir() as d:
        rc = os.path.join(d, "mpoprc")
        write_private(rc, """account cc
host 127.0.0.1
port %d
user %s
password %s
auth %s
%s
tls_trust_file %s
pipelining off
timeout 7
uidls_file %s/uidls
delivery mbox %s/mbox
keep %s
""" % (r.port, r.user, r.password, auth, tls, r.ca, d, d,
            "off" if "dele" in r.names() else "on"))
        argv = ["mpop", "-C", rc, "-Q"] + (["-d"] if os.environ.get("CC_DEBUG") else [])
        if r.names() == ["capa"]:
            argv.append("--serverinfo")
        elif r.only_status():
            argv.append("--status-only")
        argv.append("cc")
        run(argv, env=dict(os.environ, HOME=d))


if __name__ == "__main__":
    main()
