#!/usr/bin/python3
"""Writes messages into an mbox the way a Debian MDA delivers to /var/mail/USER, for the mbox
servers of the interop stage (interop/servers/popa3d, interop/servers/mailutils).

usage: mkmbox.py OUT EML...            the messages of the EML files (CRLF or LF), in order
       mkmbox.py --mboxrd OUT MBOX     the messages of an mboxrd file as pop3-conformance
                                       fixtures --format mbox writes it (read with its rules)

Each message becomes: a "From " line, the message with LF line ends, and one empty line that
separates it from the next message (the mbox convention: that line is not part of the
message). Lines starting with "From " (after any '>'s) get one more '>' (mboxrd quoting, which
is also what mboxo MDAs write for unquoted "From " lines); the interop maildrop and the
runner's fixtures have none, so their messages are stored byte for byte.

Why --mboxrd rewrites rather than copies: pop3-conformance writes an empty (0-octet) message
as a bare "From " line with no empty line after it (so that its own reader reads it back as
empty; conformance/src/fixtures.cpp), and popa3d refuses to open an mbox that ends that way
(PASS gets a bare -ERR, and the session closes). Written as "From " line + empty line, popa3d
reads the message as 0 octets.

Written to OUT.tmp, then renamed to OUT.
"""
import os
import re
import sys

FROM_ = re.compile(rb"^>*From ")
FROM_LINE = b"From sender@pop3kit.test Thu Jan  1 00:00:%02d 2015\n"


def read_mboxrd(path):
    """The messages of an mboxrd file, as pop3kit's mock server reads one (maildrop.cpp)."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        return []
    if not raw.startswith(b"From "):
        sys.exit("mkmbox.py: %s does not start with a From_ line" % path)
    chunks, start = [], 0
    while start < len(raw):
        nxt = raw.find(b"\nFrom ", start)
        end = len(raw) if nxt < 0 else nxt + 1
        chunks.append(raw[start:end])
        start = end
    msgs = []
    for chunk in chunks:
        eol = chunk.find(b"\n")
        from_line = chunk if eol < 0 else chunk[:eol + 1]
        rest = b"" if eol < 0 else chunk[eol + 1:]
        lines = rest.split(b"\n")
        body = b"\n".join(l[1:] if l.startswith(b">") and FROM_.match(l) else l for l in lines)
        if body.endswith(b"\n\n"):
            body = body[:-1]
        msgs.append((from_line, body))
    return msgs


def write_mbox(out, msgs):
    chunks = []
    for i, (from_line, data) in enumerate(msgs, start=1):
        data = data.replace(b"\r\n", b"\n")
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        lines = [b">" + l if FROM_.match(l) else l for l in lines]
        chunks.append(from_line or FROM_LINE % (i % 60))
        chunks.append(b"".join(l + b"\n" for l in lines))
        chunks.append(b"\n")
    with open(out + ".tmp", "wb") as f:
        f.write(b"".join(chunks))
    os.rename(out + ".tmp", out)


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--mboxrd":
        write_mbox(args[1], read_mboxrd(args[2]))
    elif len(args) >= 1 and not args[0].startswith("-"):
        msgs = []
        for path in args[1:]:
            with open(path, "rb") as f:
                msgs.append((None, f.read()))
        write_mbox(args[0], msgs)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
