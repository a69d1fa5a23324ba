#!/usr/bin/env python3
"""Adapter: fetchmail (6.4) as a POP3 client, configured by a run control file
(docs/client-adapters.md, where this file is the worked example).

    pop3-conformance client --command 'exec python3 interop/adapters/fetchmail.py'

Each run writes {state}/fetchmailrc (mode 600: fetchmail refuses a readable one) and runs

    fetchmail -f {state}/fetchmailrc --nodetach -v [--check]

with FETCHMAILHOME={state} and HOME={state}, so that nothing of ~/.fetchmailrc, ~/.fetchids,
~/.netrc is read or written; the pid file and the UIDL file (idfile) are in {state} too, which
the runner keeps across the two runs of fetch-new. Each message goes to the delivery script
(mda: deliver.py {out}), which stores it only when its input ended normally.

    tls none        sslproto ''     (no opportunistic STLS: the run stays in plaintext)
    tls starttls    sslproto 'auto' sslcertck sslcertfile {ca} sslcommonname NAME
                    (STLS required; fetchmail checks the certificate against the poll name
                    and ignores IP addresses in it, so NAME is the certificate's DNS name:
                    POP3KIT_TLS_NAME, default localhost)
    tls implicit    ssl sslcertck sslcertfile {ca} sslcommonname NAME
    login any       proto POP3                 (fetchmail's "auth any": it picks a method)
    login user      proto POP3 auth password   (USER/PASS)
    login apop      proto APOP
    login sasl:CRAM-MD5   proto POP3 auth cram-md5; fetchmail has no other SASL mechanism
                    for POP3 that works with a password (no PLAIN, LOGIN, SCRAM): 125

    status              --check (log in, STAT, QUIT)
    fetch-all           fetchall, keep
    fetch-one           unsupported (125): fetchmail cannot be asked for one message
    fetch-new           uidl, keep, set idfile {state}/fetchids (UIDL: only unseen messages)
    delete-after-fetch  fetchall, no keep (fetchmail deletes each message after its delivery)

Always: set no syslog, set no bouncemail (never mail an error to anyone), no rewrite (the
header addresses stay as they are), timeout POP3KIT_IDLE_TIMEOUT (30 s).

fetchmail hands the MDA each message with LF line ends and one Received: field added at the
top: .pop3kit-delivery declares `lf` and `header Received`. Exit 0 when fetchmail exits 0
(mail delivered) or 1 (no mail), 1 otherwise, 128+N when it was killed by signal N.
"""
import getpass
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (IDLE_TIMEOUT, Run, declare_delivery, log, mda_command, run,  # noqa: E402
                    unsupported, write_private)


def q(s):
    """A string of the run control file."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def main():
    r = Run()
    # What fetchmail cannot be asked for: refused before anything connects.
    if r.task == "fetch-one":
        unsupported("fetchmail cannot be asked to retrieve one given message")
    if r.login == "any":
        proto = "proto POP3"
    elif r.login == "user":
        proto = "proto POP3 auth password"
    elif r.login == "apop":
        proto = "proto APOP"
    elif r.mechanism == "CRAM-MD5":
        proto = "proto POP3 auth cram-md5"
    else:
        unsupported("fetchmail has no SASL %s for POP3 (only CRAM-MD5 of the password-based "
                    "ones)" % r.mechanism)

    check = 'sslcertck sslcertfile %s sslcommonname %s' % (q(r.ca), q(r.tls_name))
    tls = {"none": "sslproto ''",
           "starttls": "sslproto 'auto' " + check,
           "implicit": "ssl " + check}[r.tls]
    server = "%s port %d %s timeout %d" % (q(r.host), r.port, proto, IDLE_TIMEOUT)
    if r.task == "fetch-new":
        server += " uidl"
    user = {"status": "keep", "fetch-all": "fetchall keep", "fetch-new": "keep",
            "delete-after-fetch": "fetchall no keep"}[r.task]

    rc = os.path.join(r.state, "fetchmailrc")
    write_private(rc, """# written by interop/adapters/fetchmail.py for one run
set no syslog
set no bouncemail
set idfile %(idfile)s
poll %(server)s
  user %(user)s there with password %(password)s is %(local)s here
  %(tls)s
  %(options)s no rewrite
  mda %(mda)s
""" % {"idfile": q(os.path.join(r.state, "fetchids")), "server": server, "user": q(r.user),
       "password": q(r.password), "local": q(getpass.getuser()), "tls": tls,
       "options": user, "mda": q(mda_command(r.out))})

    declare_delivery(r.out, ["lf", "header Received"])
    log(r.describe())
    argv = ["fetchmail", "-f", rc, "--pidfile", os.path.join(r.state, "fetchmail.pid"),
            "--nodetach", "-v"]
    if r.task == "status":
        argv.append("--check")
    env = dict(os.environ, FETCHMAILHOME=r.state, HOME=r.state)
    status, _ = run(argv, env=env, ok_codes=(0, 1))  # 1: "no mail", not a failure
    return status


if __name__ == "__main__":
    sys.exit(main())
