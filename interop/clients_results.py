#!/usr/bin/env python3
"""Prints the `conformance-clients` verdicts of interop/run.sh (part e) as a Markdown table,
for docs/interop.md.

usage: clients_results.py table EXPECTED LIST
  EXPECTED  interop/clients-expected.txt ([PROGRAM] sections of "CASE-ID VERDICT" lines)
  LIST      the output of `pop3-conformance client --list`

(interop/run.sh compares the verdicts with the file through pop3-conformance --expect.)
"""
import re
import sys

from report import MARK, read_expected


def table(expected, listing):
    programs, sections = read_expected(expected)
    results = {(p, case): v for p in programs for case, v in sections[p].items()}
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
    if cmd == "table" and len(sys.argv) == 4:
        table(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
