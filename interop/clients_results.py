#!/usr/bin/env python3
"""The `conformance-clients` part of interop/run.sh: pop3-conformance client's verdicts per
program, compared with interop/clients-expected.txt and tabled for docs/interop.md.

usage: clients_results.py verdicts PROGRAM JSON     "PROGRAM CASE-ID VERDICT" lines
       clients_results.py explain DIFF JSON...      what the changed cases did in this run
                                                    (JSON named clients-PROGRAM.json)
       clients_results.py table EXPECTED LIST       Markdown table, one row per case
  DIFF      unified diff of interop/clients-expected.txt against this run's verdicts
  EXPECTED  interop/clients-expected.txt
  LIST      the output of `pop3-conformance client --list`

pop3-conformance's JSON carries the client's raw bytes in "actual" (a TLS ClientHello where a
line was expected), which are not always valid UTF-8; they are read with replacement
characters.
"""
import json
import os
import re
import sys

MARK = {"passed": "pass", "failed": "**FAIL**", "skipped": "skip"}


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8", "replace"))["cases"]


def printable(text, limit=120):
    text = "".join(ch if ch.isprintable() else "\\x%02x" % ord(ch) if ord(ch) < 256 else "?"
                   for ch in text)
    return text[:limit] + ("…" if len(text) > limit else "")


def verdicts(program, path):
    for c in load(path):
        print(program, c["id"], c["result"])


def explain(diff, paths):
    changed = set()
    for line in open(diff):
        if re.match(r"[+-][^+-]", line) and line.count(" ") >= 2:
            program, case, _ = line[1:].split(" ", 2)
            changed.add((program, case))
    for path in paths:
        program = re.sub(r"^clients-|\.json$", "", os.path.basename(path))
        try:
            cases = load(path)
        except (OSError, ValueError):
            continue
        for c in cases:
            if (program, c["id"]) not in changed:
                continue
            print("    [%s] %s: %s %s" % (program, c["id"], c["result"], c["reason"]))
            if c["result"] == "failed" and c.get("line"):
                where = "%s:%s" % (c["file"].split("/transcripts/")[-1], c["line"])
                print("        at %s: expected %s, got %s" % (where, c["expected"],
                                                             printable(c["actual"])))


def table(expected, listing):
    programs, results = [], {}
    for line in open(expected):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        program, case, verdict = line.split(" ")
        if program not in programs:
            programs.append(program)
        results[(program, case)] = verdict
    cases = []
    for line in open(listing):
        m = re.match(r"(\S+) \[(\w+)\]", line)
        if m:
            cases.append(m.groups())
    print("| case | level | " + " | ".join(programs) + " |")
    print("|---|---|" + "---|" * len(programs))
    for case, level in cases:
        cells = [MARK.get(results.get((p, case), "-"), "-") for p in programs]
        print("| `%s` | %s | %s |" % (case.removeprefix("client/"), level, " | ".join(cells)))
    totals = []
    for p in programs:
        n = [v for (q, _), v in results.items() if q == p]
        totals.append("%s %d/%d" % (p, n.count("passed"), len(n)))
    print("\npassed: " + ", ".join(totals) + ".")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "verdicts" and len(sys.argv) == 4:
        verdicts(sys.argv[2], sys.argv[3])
    elif cmd == "explain" and len(sys.argv) >= 3:
        explain(sys.argv[2], sys.argv[3:])
    elif cmd == "table" and len(sys.argv) == 4:
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
