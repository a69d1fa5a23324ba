#!/usr/bin/env python3
"""Prints the Dovecot conformance results as a Markdown table, for docs/interop.md.

usage: conformance_table.py EXPECTED LIST
  EXPECTED  interop/dovecot-expected.txt ([run] sections of "ID VERDICT" lines)
  LIST      the output of `pop3-conformance server --list` ("ID [LEVEL] title" lines)

One row per case: id, level, and the verdict in each run (plain, --starttls, pop3s):
pass, FAIL or skip.
"""
import re
import sys

from report import MARK, read_expected


def main():
    order, runs = read_expected(sys.argv[1])
    levels = {}
    for line in open(sys.argv[2]):
        m = re.match(r"(\S+) \[(\w+)\]", line)
        if m:
            levels[m.group(1)] = m.group(2)
    cases = []
    for r in order:
        cases += [c for c in runs[r] if c not in cases]
    heads = {"plain": "plain", "starttls": "--starttls", "tls": "pop3s"}
    print("| case | level | " + " | ".join(heads.get(r, r) for r in order) + " |")
    print("|---|---|" + "---|" * len(order))
    for c in cases:
        print("| `%s` | %s | %s |" % (c, levels.get(c, "?"),
                                     " | ".join(MARK.get(runs[r].get(c, ""), "–") for r in order)))
    totals = []
    for r in order:
        v = list(runs[r].values())
        totals.append("%s: %d pass, %d fail, %d skip (%d of them n/a), %d error" % (
            heads.get(r, r), v.count("passed"), v.count("failed"),
            v.count("skipped") + v.count("n/a"), v.count("n/a"), v.count("error")))
    print("\n" + "; ".join(totals) + ".")


if __name__ == "__main__":
    main()
