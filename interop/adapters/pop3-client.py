#!/usr/bin/env python3
"""pop3kit's own pop3-client as a client under test (docs/client-conformance.md, the adapter
contract). POP3KIT_CLIENT names the binary (default: pop3-client on PATH).

pop3-client prints a message on stdout, so each message is one run (`retr N`), after a `list`
run that learns the messages; delete-after-fetch deletes in a last run (`dele N ...`) only the
messages that arrived, and fetch-new keeps the UIDs it saw in POP3KIT_STATE/seen. A message
is stored only when its run exited 0 (a temporary file, renamed).

The words after the URL (stat, list, uidl, retr N, dele N) are pop3-client's command words,
defined once in client/include/pop3/client/words.hpp (pop3-client --help lists them).
"""
import os
import subprocess
import sys

env = os.environ
client = env.get("POP3KIT_CLIENT", "pop3-client")
login = env["POP3KIT_LOGIN"]
tls = env["POP3KIT_TLS"]
url = env["POP3KIT_URL"]
out = env["POP3KIT_OUT"]
base = [client, url, "--ca", env["POP3KIT_CA"], "--timeout", env.get("POP3KIT_TIMEOUT", "5"),
        "--max-message", "64M"]  # a fetcher's message size limit, as the library's task has
if tls == "starttls":
    base.append("--starttls")
if login == "apop":
    base += ["--auth", "APOP"]
elif login.startswith("sasl:"):
    base += ["--auth", login[5:]]


def run(*words, stdout=subprocess.PIPE):
    p = subprocess.run(base + list(words), stdout=stdout, stderr=sys.stderr,
                       stdin=subprocess.DEVNULL)
    if p.returncode < 0:  # a signal: report it as the contract says
        sys.exit(128 - p.returncode)
    if p.returncode != 0:
        sys.exit(1)
    return p.stdout


def fetch(n):
    tmp = os.path.join(out, ".m%d.tmp" % n)
    with open(tmp, "wb") as f:
        run("retr", str(n), stdout=f)
    os.rename(tmp, os.path.join(out, "m%d" % n))


task = env["POP3KIT_TASK"]
if task == "status":
    run("stat")
elif task == "fetch-one":
    fetch(int(env["POP3KIT_MESSAGE"]))
elif task == "fetch-new":
    seen_file = os.path.join(env["POP3KIT_STATE"], "seen")
    seen = set(open(seen_file).read().split()) if os.path.exists(seen_file) else set()
    listing = [line.split() for line in run("uidl").decode().splitlines() if line.strip()]
    for n, uid in listing:
        if uid not in seen:
            fetch(int(n))
    with open(seen_file, "w") as f:
        f.write("\n".join(uid for _, uid in listing) + "\n")
else:  # fetch-all, delete-after-fetch
    numbers = [int(line.split()[0]) for line in run("list").decode().splitlines() if line.strip()]
    for n in numbers:
        fetch(n)
    if task == "delete-after-fetch" and numbers:
        run(*[w for n in numbers for w in ("dele", str(n))])
sys.exit(0)
