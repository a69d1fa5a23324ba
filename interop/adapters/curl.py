#!/usr/bin/env python3
"""Adapter: curl (7.88) as a POP3 client (docs/client-adapters.md).

    pop3-conformance client --command 'exec python3 interop/adapters/curl.py'

curl runs one URL per transfer; transfers joined with --next (`next` in the config file this
adapter writes to {state}/curl.config, mode 600, and passes with -K: no limit on the number of
transfers, no password on a command line) share one connection (curl's connection cache) and
curl sends QUIT when it exits. --fail-early ends a run at the first failed transfer, so a DELE
is sent only after its RETR succeeded.

    tls none      pop3://HOST:PORT          (curl does not try STLS without --ssl)
    tls starttls  pop3://HOST:PORT --ssl-reqd --cacert {ca}   (STLS or fail)
    tls implicit  pop3s://HOST:PORT --cacert {ca}
    (all)         -u {user}:{pass}, -sS
    login any     curl's own choice (a SASL mechanism the server offers, else APOP, else
                  USER/PASS)
    login apop    --login-options AUTH=+APOP
    login sasl:M  --login-options AUTH=M, without --sasl-ir (curl's default): PLAIN, LOGIN,
                  CRAM-MD5, DIGEST-MD5, NTLM; OAUTHBEARER with --oauth2-bearer {pass};
                  SCRAM-* only when curl lists the gsasl feature (Debian's 7.88 does not).
                  Unsupported: GSSAPI, EXTERNAL (no Kerberos credentials or client
                  certificate in the contract), XOAUTH2 (curl 7.88 sends AUTH OAUTHBEARER
                  when the server offers both), anything else
    login user    unsupported (125): curl has no option that makes it use USER/PASS when the
                  server offers SASL or APOP.

Tasks:
    status              one LIST (pop3://HOST:PORT/): curl has no STAT operation
    fetch-one           one RETR (pop3://HOST:PORT/N)
    fetch-all           a LIST run, then one run of RETR 1 --next RETR 2 ...
    delete-after-fetch  a LIST run, then RETR 1 --next DELE 1 --next RETR 2 ... (-X DELE -I)
    fetch-new           a UIDL run (-X UIDL), then RETRs of the unique-ids that
                        {state}/curl-uidls does not hold; curl keeps no UIDL state, so this
                        adapter does, like a shell script around curl would: a unique-id is
                        added to the file when its RETR succeeded.

Each RETR writes to a dot-file in {out} (-o); curl reports each transfer's result on its
stderr (-w '%{stderr}@@pop3kit RETR N %{exitcode}', unbuffered, so it survives a crash of
curl; the adapter passes the rest of curl's stderr on), and only the files of transfers curl
reported as successful are renamed to NNN.eml after curl exited (a run killed by the runner
leaves only dot-files). curl writes the message as it came, dot-stuffing removed, so nothing
is declared in .pop3kit-delivery. Exit 0 when every curl run exited 0, else 1 (the first
failing run ends the adapter), 128+N when curl was killed by signal N.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (IDLE_TIMEOUT, Run, declare_delivery, log, publish, run_capture, unsupported,  # noqa: E402
                    write_private)

STATE_FILE = "curl-uidls"
# RETRs per curl run (one session each): curl keeps its whole config in memory, and a listing
# that announces 100,000 messages made one run's config take 320 MiB before it connected.
# POP3KIT_CURL_BATCH sets it (a test of the runs' joins with a small maildrop).
BATCH = int(os.environ.get("POP3KIT_CURL_BATCH", "1000"))
# Mechanisms curl does with what the contract gives (a user name and a password). Not here:
# GSSAPI (needs Kerberos credentials), EXTERNAL (needs a client certificate) and XOAUTH2
# (curl 7.88 sends AUTH OAUTHBEARER instead when the server offers both).
SASL = {"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM", "OAUTHBEARER"}


def q(s):
    """A string in a curl config file."""
    return '"%s"' % (s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                     .replace("\r", "\\r").replace("\t", "\\t"))


def report(what, n):
    """The write-out line of a transfer: its result on curl's stderr (unbuffered)."""
    return "write-out = %s" % q("%%{stderr}@@pop3kit %s %d %%{exitcode}\n" % (what, n))


def curl_features():
    try:
        text = subprocess.run(["curl", "-V"], capture_output=True, text=True).stdout
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("Features:"):
            return {f.lower() for f in line.split()[1:]}
    return set()


def main():
    r = Run()
    mech = r.mechanism
    login = []
    if r.login == "user":
        unsupported("curl cannot be made to use USER/PASS when the server offers SASL or APOP")
    elif r.login == "apop":
        login = ["login-options = \"AUTH=+APOP\""]
    elif mech:
        features = curl_features()
        scram = mech in ("SCRAM-SHA-1", "SCRAM-SHA-256") and "gsasl" in features
        ntlm_ok = mech != "NTLM" or "ntlm" in features
        if not ((mech in SASL and ntlm_ok) or scram):
            unsupported("this adapter cannot ask curl for SASL %s (supported: %s; SCRAM "
                        "only with curl's gsasl feature)" % (mech, " ".join(sorted(SASL))))
        login = ["login-options = %s" % q("AUTH=" + mech)]
        if mech == "OAUTHBEARER":
            login.append("oauth2-bearer = %s" % q(r.password))
    declare_delivery(r.out, [])
    log(r.describe())

    scheme = "pop3s" if r.tls == "implicit" else "pop3"
    host = "[%s]" % r.host if ":" in r.host else r.host
    base = "%s://%s:%d/" % (scheme, host, r.port)
    # Each curl run reads its transfers from a config file (-K, mode 600, in {state}): no
    # limit on the number of transfers, and the password is not on a command line.
    common = ["silent", "show-error", "no-buffer", "user = %s" % q("%s:%s" % (r.user, r.password))]
    # curl's timeouts: a transfer slower than 1 octet/s for IDLE_TIMEOUT s is aborted, and a
    # whole transfer may take 4 x IDLE_TIMEOUT (--max-time). Waiting for a POP3 reply is bounded
    # only by libcurl's server response timeout (120 s, which the curl program cannot set), so
    # without --max-time a server that never answers would hold curl for two minutes.
    common += ["connect-timeout = %d" % IDLE_TIMEOUT, "speed-limit = 1",
               "speed-time = %d" % IDLE_TIMEOUT, "max-time = %d" % (4 * IDLE_TIMEOUT)]
    common += login
    if r.tls != "none":
        common.append("cacert = %s" % q(r.ca))
    if r.tls == "starttls":
        common.append("ssl-reqd")

    def curl(transfers, what):
        """One curl run of TRANSFERS (lists of config lines, joined with `next`, the run ended
        by the first failing one); returns (status, stdout)."""
        lines = ["fail-early"]
        for i, t in enumerate(transfers):
            if i:
                lines.append("next")
            lines += common + t
        config = os.path.join(r.state, "curl.config")
        write_private(config, "".join(line + "\n" for line in lines))
        try:
            log("curl: %s" % what)
            # curl's stderr goes through a file (unbuffered in curl: the transfer results
            # written there survive a crash of curl) and is then passed on.
            with tempfile.TemporaryFile() as err:
                status, _, out = run_capture(["curl", "-K", config], stderr=err)
                err.seek(0)
                text = err.read()
        finally:
            os.unlink(config)
        results = {}
        for line in text.split(b"\n"):
            words = line.split()
            if len(words) == 4 and words[0] == b"@@pop3kit":
                results[(words[1].decode(), int(words[2]))] = int(words[3])
            elif line:
                sys.stderr.buffer.write(line + b"\n")
        sys.stderr.flush()
        return status, out, results

    def listing(custom):
        """A LIST or UIDL run: [(number, second word)] of its lines, or exits 1."""
        t = (["request = %s" % custom] if custom else []) + ["url = %s" % q(base)]
        status, out, _ = curl([t], custom or "LIST")
        if status:
            sys.exit(status)
        rows = []
        for line in out.split(b"\n"):
            m = re.match(rb"(\d+) +(\S+)", line.strip())
            if m:
                rows.append((int(m.group(1)), m.group(2)))
        log("%s: %d messages" % (custom or "LIST", len(rows)))
        return rows

    def retrieve(numbers, delete=False, on_stored=None):
        """RETR of each number (then DELE when delete), BATCH numbers per curl run, until a
        run fails. Returns the contract status. Each run is a session whose QUIT expunges what
        it deleted, and the server numbers the rest anew (RFC 1939 §6): with delete, the next
        run's numbers come from a new LIST, and one that lists no fewer messages ends it."""
        while numbers:
            status = retrieve_batch(numbers[:BATCH], delete, on_stored)
            if status != 0 or len(numbers) <= BATCH:
                return status
            if not delete:
                numbers = numbers[BATCH:]
                continue
            fresh = [n for n, _ in listing(None)]
            if len(fresh) >= len(numbers):
                log("LIST after deleting: %d messages, no fewer than before" % len(fresh))
                return 1
            numbers = fresh
        return 0

    def retrieve_batch(numbers, delete, on_stored):
        """One curl run: RETR of each number (then DELE when delete), the messages of the
        successful RETRs stored. Returns the contract status."""
        transfers = []
        parts = {}
        for n in numbers:
            parts[n] = os.path.join(r.out, ".curl-%d.part" % n)
            transfers.append(["output = %s" % q(parts[n]), report("RETR", n),
                              "url = %s" % q("%s%d" % (base, n))])
            if delete:
                transfers.append(["request = DELE", "head", "output = %s" % q(os.devnull),
                                  report("DELE", n), "url = %s" % q("%s%d" % (base, n))])
        status, _, results = curl(transfers, "%s %s" % ("RETR+DELE" if delete else "RETR",
                                                         " ".join(map(str, numbers))[:200]))
        done = {n for (op, n), code in results.items() if op == "RETR" and code == 0}
        for n in numbers:
            part = parts[n]
            if n in done and os.path.exists(part):
                log("RETR %d -> %s" % (n, publish(r.out, part)))
                if on_stored:
                    on_stored(n)
            elif os.path.exists(part):
                os.unlink(part)  # not reported complete by curl: not a delivered message
        return status

    if r.task == "status":
        listing(None)
        return 0
    if r.task == "fetch-one":
        return retrieve([int(r.message)])
    if r.task == "fetch-new":
        path = os.path.join(r.state, STATE_FILE)
        try:
            with open(path, "rb") as f:
                seen = set(f.read().split())
        except FileNotFoundError:
            seen = set()
        uids = dict(listing("UIDL"))
        new = [n for n in sorted(uids) if uids[n] not in seen]

        def remember(n):
            seen.add(uids[n])
            with open(path + ".tmp", "wb") as f:
                f.write(b"".join(u + b"\n" for u in sorted(seen)))
            os.replace(path + ".tmp", path)

        return retrieve(new, on_stored=remember)
    numbers = [n for n, _ in listing(None)]
    return retrieve(numbers, delete=r.task == "delete-after-fetch")


if __name__ == "__main__":
    sys.exit(main())
