#!/usr/bin/env python3
"""fetchmail as a client for `pop3-conformance client --command`:

    python3 interop/conformance_client_fetchmail.py {url} {ca} {args}

fetchmail cannot be asked for single POP3 commands: it either checks for mail (--check: log in,
STAT, QUIT) or fetches every message. Cases that ask only for capa/stat/list/uidl/noop/rset
run `fetchmail --check`; cases with retr/top fetch everything and keep it (`keep`), cases with
dele fetch everything and delete it (fetchmail's default). Cases that expect a particular
command sequence therefore fail where fetchmail's own sequence differs.

Run control file in a private temporary folder (mode 600, FETCHMAILHOME there, so nothing of
~/.fetchmailrc or ~/.fetchids is read or written); delivery through interop/mda.sh into it:

    poll 127.0.0.1 port PORT proto POP3|APOP [auth password|cram-md5] timeout 7
      user "user" there with password "pass" is LOCAL here
      sslproto ''                        (no --starttls: no opportunistic STLS either)
      sslproto 'auto' sslcertck …        (--starttls: STLS mandatory)
      ssl sslcertck …                    (--tls)

with `sslcertfile {ca} sslcommonname localhost` (fetchmail matches the certificate against the
poll name and ignores IP addresses in it). --auth APOP is `proto APOP`, --auth CRAM-MD5 is
`auth cram-md5`; fetchmail has no AUTH PLAIN or LOGIN for POP3 (exit 2, no connection).
Exit 0 when fetchmail exits 0 (mail) or 1 (no mail), 1 otherwise.
"""
import getpass
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in interop/
sys.path.insert(0, os.path.dirname(__file__))
from conformance_client_common import (Request, TempDir, cannot, run,  # noqa: E402
                                       write_private)

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    r = Request(sys.argv[1:])
    server = "proto POP3 auth password"
    if r.auth == "APOP":
        server = "proto APOP"
    elif r.auth == "CRAM-MD5":
        server = "proto POP3 auth cram-md5"
    elif r.auth is not None:
        cannot("fetchmail", "do AUTH %s over POP3 (its auth types: password, cram-md5, ntlm, "
               "gssapi, kerberos, otp, msn, external)" % r.auth)
    cert = 'sslcertck sslcertfile "%s" sslcommonname localhost' % r.ca
    if r.tls:
        tls = "ssl " + cert
    elif r.starttls:
        tls = "sslproto 'auto' " + cert
    else:
        tls = "sslproto ''"
    with TempDir() as d:
        out = os.path.join(d, "out")
        os.mkdir(out)
        rc = os.path.join(d, "fetchmailrc")
        write_private(rc, """set no syslog
poll 127.0.0.1 port %d %s timeout 7
  user "%s" there with password "%s" is "%s" here
  %s
  mda "%s/mda.sh %s"
  fetchall
  %s
""" % (r.port, server, r.user, r.password, getpass.getuser(), tls, HERE, out,
            "" if "dele" in r.names() else "keep"))
        argv = ["fetchmail", "-f", rc, "--pidfile", os.path.join(d, "pid"), "--nodetach",
                "-v"]
        if r.only_status():
            argv.append("--check")
        env = dict(os.environ, FETCHMAILHOME=d, HOME=d)
        run(argv, env=env, ok_codes=(0, 1))


if __name__ == "__main__":
    main()
