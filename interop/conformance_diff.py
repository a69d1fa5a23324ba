#!/usr/bin/env python3
"""Shows what the conformance cases whose verdict changed did in this run.

usage: conformance_diff.py DIFF JSON...
  DIFF  unified diff of interop/dovecot-expected.txt against this run's verdicts
  JSON  pop3-conformance --json reports of this run, named conformance-RUN.json
"""
import json
import os
import re
import sys


def main():
    changed = set()
    for line in open(sys.argv[1]):
        if re.match(r"[+-][^+-]", line) and " " in line:
            changed.add(line[1:].rsplit(" ", 1)[0])
    for path in sys.argv[2:]:
        run = re.sub(r"^conformance-|\.json$", "", os.path.basename(path))
        try:
            cases = json.load(open(path))["cases"]
        except (OSError, ValueError):
            continue
        for c in cases:
            if c["id"] not in changed:
                continue
            print("    [%s] %s: %s %s" % (run, c["id"], c["result"], c["reason"]))
            if c["result"] == "failed" and c.get("line"):
                where = "%s:%s" % (c["file"].split("/transcripts/")[-1], c["line"])
                print("        at %s: expected %s, got %s" % (where, c["expected"],
                                                             c["actual"][:200]))


if __name__ == "__main__":
    main()
