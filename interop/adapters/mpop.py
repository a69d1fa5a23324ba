#!/usr/bin/env python3
"""Adapter: mpop (1.4) as a POP3 client, configured by a file (docs/client-adapters.md).

    pop3-conformance client --command 'exec python3 interop/adapters/mpop.py'

Each run writes {state}/mpoprc (mode 600: mpop refuses a file others can read) and runs

    mpop --file={state}/mpoprc [--status-only] pop3kit

with HOME={state}, so nothing of ~/.mpoprc, ~/.netrc or ~/.mpop_uidls is read or written. The
account:

    host / port / user / password      from the contract
    auth on | user | apop | MECH       login any (mpop's own choice) | user | apop | sasl:MECH
                                       (plain, login, cram-md5, digest-md5, scram-sha-1,
                                       scram-sha-256, ntlm, xoauth2, oauthbearer: of what
                                       this mpop lists; gssapi, external and others 125)
    tls off                            tls none
    tls on, tls_starttls on            tls starttls (STLS required)
    tls on, tls_starttls off           tls implicit
    tls_trust_file {ca}                (mpop checks the certificate against the host,
                                       IP addresses included)
    timeout POP3KIT_IDLE_TIMEOUT       (30 s)
    uidls_file {state}/mpop-uidls      (kept across the two runs of fetch-new)
    delivery mda deliver.py {out}      (stores a message only when its input ended normally)
    keep on | off                      off only for delete-after-fetch
    only_new on | off                  on only for fetch-new

Tasks: status --status-only; fetch-all only_new off (every message, also ones the UIDL file
lists); fetch-new only_new on (mpop's default: only messages whose unique-id the UIDL file
does not hold); delete-after-fetch only_new off, keep off; fetch-one is unsupported (125):
mpop cannot be asked for one given message (a filter sees headers, not message numbers).

mpop hands the MDA each message with LF line ends and a Received: field added at the top
(received_header on, mpop's default): .pop3kit-delivery declares `lf` and `header Received`.
Exit 0 when mpop exits 0, 1 otherwise, 128+N when it was killed by signal N.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (IDLE_TIMEOUT, Run, declare_delivery, log, mda_command, run,  # noqa: E402
                    unsupported, write_private)


def mpop_methods():
    """The authentication methods this mpop lists in --version."""
    try:
        text = subprocess.run(["mpop", "--version"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    m = re.search(r"Supported authentication methods:\s*\n(.*)", text)
    return set(m.group(1).split()) if m else set()


def value(s):
    """A value in mpop's configuration file: quoted, with \\ and " escaped."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def main():
    r = Run()
    if r.task == "fetch-one":
        unsupported("mpop cannot be asked to retrieve one given message")
    if r.login == "any":
        auth = "on"
    elif r.login in ("user", "apop"):
        auth = r.login
    else:
        auth = r.mechanism.lower()
        # GSSAPI needs Kerberos credentials, EXTERNAL a client certificate: the contract
        # gives neither.
        if auth in ("gssapi", "external"):
            unsupported("SASL %s needs credentials the contract does not give" % r.mechanism)
        if auth in ("user", "apop") or auth not in mpop_methods():
            unsupported("mpop has no SASL %s (it lists: %s)" %
                        (r.mechanism, " ".join(sorted(mpop_methods()))))
    tls = {"none": "tls off",
           "starttls": "tls on\ntls_starttls on",
           "implicit": "tls on\ntls_starttls off"}[r.tls]
    rc = os.path.join(r.state, "mpoprc")
    write_private(rc, """# written by interop/adapters/mpop.py for one run
account pop3kit
host %(host)s
port %(port)d
user %(user)s
password %(password)s
auth %(auth)s
%(tls)s
%(trust)s
timeout %(timeout)d
uidls_file %(uidls)s
delivery mda %(mda)s
keep %(keep)s
only_new %(only_new)s
""" % {"host": r.host, "port": r.port, "user": value(r.user), "password": value(r.password),
       "auth": auth, "tls": tls, "trust": "tls_trust_file %s" % value(r.ca) if r.ca else "",
       "timeout": IDLE_TIMEOUT, "uidls": value(os.path.join(r.state, "mpop-uidls")),
       "mda": value(mda_command(r.out)),
       "keep": "off" if r.task == "delete-after-fetch" else "on",
       "only_new": "on" if r.task == "fetch-new" else "off"})

    declare_delivery(r.out, ["lf", "header Received"])
    log(r.describe())
    argv = ["mpop", "--file=" + rc]
    if r.task == "status":
        argv.append("--status-only")
    argv.append("pop3kit")
    status, _ = run(argv, env=dict(os.environ, HOME=r.state))
    return status


if __name__ == "__main__":
    sys.exit(main())
