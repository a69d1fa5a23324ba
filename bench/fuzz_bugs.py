#!/usr/bin/env python3
"""The fuzzers' bug bench (docs/fuzzing.md, "The bug bench"): how fast pop3-fuzz finds each bug
planted in pop3kit's mock server (pop3-mockserver --plant-bug) and in its client library
adapter (POP3KIT_PLANTED_BUG), and how short the minimised reproducer is.

Usage: bench/fuzz_bugs.py [--build-dir DIR] [--runs N] [--limit S] [--only NAME|server|client,...]
                          [--seeds transcripts|login] [--out FILE.json] [--markdown FILE.md]

--seeds login starts from the login prefix alone (USER, PASS, STAT; no transcript), so that
only the mutator can reach the bug: the harder measure.

Each bug is fuzzed N times (seeds 1..N, default 3), each run stopped at its first finding or
after S seconds (default 300, the issue's bound). A run counts as found when that first finding
is of the kind the bug must show (a different first finding is reported as "wrong": an oracle
that blames the wrong thing). The table gives, per bug, the runs that found it, the median time
to find (from the campaign's start to the first session that showed it, before minimising) and
the median length of the minimised reproducer (commands and octets for the server direction;
for the client direction, a client case of one deviation: the keys of its deviation table).
The client direction runs pop3-fuzz client's default client (pop3-conformance library-client)
with every family, task, login and TLS mode; it is left out with --seeds login. Needs a test build (POP3_PLANTED_BUGS).
Exits 1 when a bug was not found in every run.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# Server bugs: name, how the target runs, the finding kinds that show it (kind/command, or
# kind/* for any command). "embedded": pop3-fuzz's own mock server with --plant-bug; "launch":
# pop3-mockserver --plant-bug started by pop3-fuzz --launch (the bug kills the process or grows
# it, so pop3-fuzz must watch the process).
SERVER_BUGS = [
    ("list-crash-2g", "launch", ["process-died/LIST"]),
    ("rset-hang-3", "embedded", ["hang/RSET"]),
    ("stls-keeps-plaintext", "embedded", ["stls-injection/STLS"]),
    ("dele-twice-ok", "embedded", ["deleted-message/DELE"]),
    ("number-wraps-2^32", "embedded", ["bad-message-number/*", "inconsistent-listing/*"]),
    ("noop-leak", "launch", ["resource-growth/session"]),
    ("pass-crash-300", "launch", ["process-died/PASS"]),
    ("unstuffed-dot", "embedded", ["data-after-terminator/*", "unstuffed-line/*"]),
    ("uidl-changes-after-rset", "embedded", ["inconsistent-listing/UIDL"]),
    ("long-err-echo", "embedded", ["long-status-line/*"]),
    ("bare-lf-listing", "embedded", ["bare-lf/LIST"]),
    ("list-shows-deleted", "embedded", ["listed-deleted/LIST"]),
    ("stat-counts-deleted", "embedded", ["wrong-count/STAT"]),
    ("capa-unterminated-transaction", "embedded", ["hang/CAPA"]),
]
# Client bugs: name (POP3KIT_PLANTED_BUG for pop3-conformance library-client, pop3-fuzz
# client's default client) and the finding kinds that show it (kind/family, or kind/*).
CLIENT_BUGS = [
    ("octet-count-crash", ["signal/*"]),
    ("truncated-delivery", ["inexact-delivery/*"]),
    ("stls-plaintext-accepted", ["stls-injection/*"]),
]
# Options every server run gets: a short hang bound (a hang is reported when it shows twice),
# and a memory bound a planted leak crosses within minutes (the default is 256 MB).
SERVER_OPTIONS = ["--timeout", "1", "--hang-timeout", "3", "--max-rss-growth", "32"]


def matches(finding, expected):
    # The server direction names the command, the client direction the deviation's family.
    what = finding.get("command", finding.get("family"))
    for e in expected:
        kind, command = e.split("/", 1)
        if finding["kind"] == kind and (command == "*" or what == command):
            return True
    return False


def run_server_bug(build, name, how, seed, limit, work, seeds):
    fuzz = os.path.join(build, "fuzzer", "pop3-fuzz")
    mock = os.path.join(build, "mockserver", "pop3-mockserver")
    out = os.path.join(work, "run.json")
    cmd = [fuzz, "server", "--seed", str(seed), "--duration", str(limit), "--max-findings", "1",
           "--findings", os.path.join(work, "found"), "--json", out, "--status", "3600"]
    cmd += SERVER_OPTIONS
    if seeds == "login":
        empty = os.path.join(work, "no-transcripts")
        os.makedirs(empty, exist_ok=True)
        cmd += ["--transcripts", empty]
    if how == "launch":
        cert = os.path.join(work, "cert.pem")
        cmd += ["--launch", f"exec {mock} --quiet --cert-out {cert} --plant-bug '{name}'",
                "--ca", cert]
    else:
        cmd += ["--plant-bug", name]
    started = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=limit + 600)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{name} seed {seed}: pop3-fuzz exited {proc.returncode}: "
                           f"{proc.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f), wall


def run_client_bug(build, name, seed, limit, work):
    fuzz = os.path.join(build, "fuzzer", "pop3-fuzz")
    out = os.path.join(work, "run.json")
    cmd = [fuzz, "client", "--seed", str(seed), "--duration", str(limit), "--max-findings", "1",
           "--findings", os.path.join(work, "found"), "--json", out, "--status", "3600"]
    env = dict(os.environ, POP3KIT_PLANTED_BUG=name)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=limit + 600, env=env)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{name} seed {seed}: pop3-fuzz client exited {proc.returncode}: "
                           f"{proc.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f)


def median(values):
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build/default")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", choices=["transcripts", "login"], default="transcripts")
    ap.add_argument("--out", default="")
    ap.add_argument("--markdown", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    rows = []
    missed = False
    bugs = [("server", name, how, expected) for name, how, expected in SERVER_BUGS]
    if args.seeds == "transcripts":  # the client direction has no seeds to leave out
        bugs += [("client", name, "library-client", expected) for name, expected in CLIENT_BUGS]
    for direction, name, how, expected in bugs:
        if only and name not in only and direction not in only:
            continue
        times, sizes, octets, found, wrong, rates = [], [], [], 0, [], []
        for seed in range(1, args.runs + 1):
            work = tempfile.mkdtemp(prefix="pop3kit-bugbench-")
            try:
                if direction == "server":
                    res, _ = run_server_bug(args.build_dir, name, how, seed, args.limit, work,
                                            args.seeds)
                else:
                    res = run_client_bug(args.build_dir, name, seed, args.limit, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            rates.append(res["sessions_per_second"])
            first = res["findings"][0] if res["findings"] else None
            what = lambda f: f["kind"] + "/" + f.get("command", f.get("family", ""))
            if first and matches(first, expected):
                found += 1
                times.append(first["seconds"])
                if direction == "server":
                    sizes.append(first["commands"])
                    octets.append(first["octets"])
                else:
                    sizes.append(first["deviation_keys"])
                status = f"found in {first['seconds']:.1f} s ({what(first)}, session " \
                         f"{first['session']})"
            elif first:
                wrong.append(what(first) + ": " + first["detail"])
                status = "WRONG first finding " + wrong[-1]
            else:
                status = f"not found in {args.limit} s"
            print(f"{name} seed {seed}: {status}", flush=True)
        if found < args.runs:
            missed = True
        row = {"bug": name, "direction": direction, "target": how, "runs": args.runs,
               "found": found, "wrong": wrong, "median_seconds": median(times),
               "seconds": times, "sessions_per_second": median(rates)}
        if direction == "server":
            row.update(median_commands=median(sizes), median_octets=median(octets))
        else:
            row.update(median_deviation_keys=median(sizes))
        rows.append(row)
    table = ["| bug | target | found | median time to find | reproducer |",
             "|---|---|---:|---:|---|"]
    for r in rows:
        t = "-" if r["median_seconds"] is None else f"{r['median_seconds']:.1f} s"
        if r["direction"] == "server":
            n = r["median_commands"]
            rep = "-" if n is None else \
                f"{n:g} command{'' if n == 1 else 's'}, {r['median_octets']:g} octets"
        else:
            n = r["median_deviation_keys"]
            rep = "-" if n is None else f"one deviation, {n:g} keys (a client case)"
        table.append(f"| `{r['bug']}` | {r['target']} | {r['found']}/{r['runs']} | {t} | {rep} |")
    print("\n".join(table))
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": args.runs,
              "seeds": args.seeds,
              "limit_seconds": args.limit, "server_options": SERVER_OPTIONS, "bugs": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(table) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
