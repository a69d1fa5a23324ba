#!/usr/bin/env python3
"""The report and the golden files of interop/, shared by its scripts.

Report: the "ok CHECK" / "FAIL CHECK: reason" lines that interop/run.sh counts (its tally()),
printed and flushed one by one, with the count of failures for the exit status. Used by
client_check.py, poplib_check.py and compare_delivered.py.

Golden files: the expected verdicts of pop3-conformance (interop/dovecot-expected.txt,
interop/servers/NAME/expected.txt, interop/clients-expected.txt): "# " comment lines, then a
"[SECTION]" line per run or program, each followed by "CASE-ID VERDICT" lines.
read_expected() reads one (conformance_table.py, clients_results.py); write_expected() writes
one (interop/run.sh --update-expected, through this file's command line).

usage: report.py write-expected FILE VERDICTS [HEADER-LINE...]
  writes FILE: each HEADER-LINE as "# HEADER-LINE", then the non-comment lines of VERDICTS
  (the [SECTION] and CASE-ID VERDICT lines pop3-conformance --update-expect wrote); prints the
  number of verdicts written.
"""
import re
import sys

# How a verdict shows in the Markdown tables of docs/interop.md.
MARK = {"passed": "pass", "failed": "**FAIL**", "skipped": "skip", "error": "error",
        "n/a": "n/a", "non-strict": "non-strict", "info": "info", "inconclusive": "inconclusive"}


class Report:
    """Prints one "ok PREFIX: NAME" or "FAIL PREFIX: NAME[: WHY]" line per check and counts
    the failures."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.failures = 0

    def __call__(self, ok, name, why=None):
        if ok:
            print("ok %s: %s" % (self.prefix, name))
        else:
            self.failures += 1
            if why is None:
                print("FAIL %s: %s" % (self.prefix, name))
            else:
                print("FAIL %s: %s: %s" % (self.prefix, name, why))
        sys.stdout.flush()

    def exit_code(self):
        """0 when every check passed, else 1."""
        return 1 if self.failures else 0


def read_expected(path):
    """The golden file PATH as (sections in file order, {section: {case: verdict}}), each
    section's cases in file order."""
    order, sections, current = [], {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"\[(\S+)\]", line)
            if m:
                current = m.group(1)
                order.append(current)
                sections[current] = {}
                continue
            case, verdict = line.rsplit(None, 1)
            sections[current][case] = verdict
    return order, sections


def write_expected(path, header, verdicts):
    """Writes the golden file PATH: each line of HEADER as a "# " comment, then the lines of
    VERDICTS (an iterable of lines, each ending in a newline) that are not comments. Returns
    how many verdicts ("CASE-ID VERDICT" lines) it wrote."""
    body = [line for line in verdicts if not line.startswith("#")]
    with open(path, "w") as f:
        f.write("".join("# %s\n" % h for h in header))
        f.write("".join(body))
    return sum(1 for line in body if " " in line)


def main(argv):
    if len(argv) >= 3 and argv[0] == "write-expected":
        with open(argv[2]) as f:
            print(write_expected(argv[1], argv[3:], f))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
