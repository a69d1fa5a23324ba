#!/usr/bin/env python3
"""Compares what a fetching client (fetchmail, mpop) delivered with the maildrop it fetched.

usage: compare_delivered.py NAME EXPECTED_DIR KIND PATH [--fetchmail-long-lines]
  KIND: files   (PATH holds one message per file, as interop/mda.sh writes them)
        maildir (PATH is a Maildir: new/ and cur/)
        mbox    (PATH is an mboxrd file)

Clients deliver a message with local line ends (LF) and with header fields of their own in
front of the original ones (fetchmail and mpop prepend Received:). A delivered message passes
when, after LF is turned back into CRLF, it is exactly: zero or more added header fields, then
the original message byte for byte (its headers, blank line and body). Messages are matched to
the originals by Message-ID, so delivery order does not matter; every original must arrive
exactly once. Prints one "ok|FAIL" line per message and exits 1 on any failure.

--fetchmail-long-lines accepts, for a message that differs, exactly the damage fetchmail 6.4
does to lines longer than its 8192-octet buffer (transact.c, readbody()): it reads a long wire
line in pieces of 8191 octets, ends each piece but the last with a NUL, one uninitialised octet
and a line break, and drops a '.' that starts a piece (it takes it for dot-stuffing). The
original is cut the same way and compared; any other difference still fails.
"""
import os
import re
import sys

from report import Report


def read_messages(kind, path):
    if kind == "files":
        return [open(os.path.join(path, f), "rb").read() for f in sorted(os.listdir(path))]
    if kind == "maildir":
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            out += [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]
        return out
    if kind == "mbox":
        data = open(path, "rb").read()
        msgs = []
        cur = None
        for line in data.splitlines(keepends=True):
            if line.startswith(b"From "):  # mboxrd: every unquoted "From " line separates
                if cur is not None:
                    msgs.append(cur)
                cur = b""
                continue
            if cur is None:
                raise ValueError("mbox does not start with a From line")
            if re.match(rb">+From ", line):  # mboxrd: one '>' was added
                line = line[1:]
            cur += line
        if cur is not None:
            msgs.append(cur)
        # The writer ends each message with one blank line before the next "From ".
        for i, m in enumerate(msgs):
            if not m.endswith(b"\n\n"):
                raise ValueError("message %d is not followed by a blank line" % (i + 1))
            msgs[i] = m[:-1]
        return msgs
    raise ValueError("unknown kind " + kind)


def to_crlf(m):
    return m if b"\r\n" in m else m.replace(b"\n", b"\r\n")


def message_id(m):
    hit = re.search(rb"^Message-ID: *(<[^>]*>)", m, re.M | re.I)
    return hit.group(1) if hit else None


def added_fields(prefix):
    """The names of the header fields in prefix, or None if prefix is not only header fields."""
    if not prefix:
        return []
    names = []
    for line in prefix.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and names:
            continue
        hit = re.match(rb"([!-9;-~]+):", line)
        if not hit:
            return None
        names.append(hit.group(1).decode())
    return names if prefix.endswith(b"\r\n") else None


FETCHMAIL_PIECE = 8191


def fetchmail_model(original):
    """The original (CRLF) as fetchmail delivers it, with each inserted break as a plain CRLF."""
    out = []
    for line in original.split(b"\r\n")[:-1]:
        wire = (b"." + line if line.startswith(b".") else line) + b"\r\n"
        pieces = []
        while len(wire) > FETCHMAIL_PIECE:
            pieces.append(wire[:FETCHMAIL_PIECE])
            wire = wire[FETCHMAIL_PIECE:]
        pieces.append(wire)
        pieces = [p[1:] if p.startswith(b".") else p for p in pieces]
        out.append(b"\r\n".join(pieces[:-1] + [pieces[-1][:-2]]) + b"\r\n")
    return b"".join(out)


def main():
    fetchmail_quirk = "--fetchmail-long-lines" in sys.argv
    name, exp_dir, kind, path = [x for x in sys.argv[1:] if not x.startswith("--")][:4]
    expected = {}
    for f in sorted(os.listdir(exp_dir)):
        data = open(os.path.join(exp_dir, f), "rb").read()
        expected[message_id(data)] = (f, data)
    report = Report(name)
    try:
        raw = read_messages(kind, path)
        got = [to_crlf(m) for m in raw]
    except (OSError, ValueError) as e:
        report(False, "reading the delivered messages", e)
        return report.exit_code()
    seen = set()
    for m, r in zip(got, raw):
        mid = message_id(m)
        if mid not in expected:
            report(False, "a delivered message has no known Message-ID", repr(m[:120]))
            continue
        f, want = expected[mid]
        seen.add(mid)
        quirk = ""
        if not m.endswith(want) and fetchmail_quirk and b"\x00" in r:
            cleaned = to_crlf(re.sub(rb"\x00[\s\S]\n", b"\n", r))
            model = fetchmail_model(want)
            if cleaned.endswith(model):
                m, want = cleaned, model
                quirk = (" except fetchmail's known damage to lines over %d octets"
                         % FETCHMAIL_PIECE)
        if not m.endswith(want):
            # Where do they part? Compare from the end.
            i = 0
            while i < min(len(m), len(want)) and m[-1 - i] == want[-1 - i]:
                i += 1
            report(False, "%s differs from the original %d octets before its end "
                   "(delivered %d octets, original %d)" % (f, i, len(m), len(want)))
            continue
        fields = added_fields(m[: len(m) - len(want)])
        if fields is None:
            report(False, f, "the original is preceded by something other than header "
                   "fields: %r" % m[: len(m) - len(want)][:200])
            continue
        report(True, "%s identical to the original%s%s" % (
            f, " after added %s" % ", ".join(fields) if fields else "", quirk))
    for mid, (f, _) in sorted(expected.items(), key=lambda kv: kv[1][0]):
        if mid not in seen:
            report(False, "%s was not delivered" % f)
    dup = len(got) - len(seen)
    if dup > 0:
        report(False, "%d messages delivered more than once" % dup)
    return report.exit_code()


if __name__ == "__main__":
    sys.exit(main())
