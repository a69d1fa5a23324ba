#!/usr/bin/env python3
"""Writes the interop maildrop: the messages both Dovecot and pop3-mockserver serve.

usage: gen_maildrop.py OUT

OUT/expected/NN.eml  each message exactly as a POP3 server must deliver it after
                     dot-unstuffing: CRLF line ends. The checks compare retrieved bytes with
                     these files. pop3-mockserver --maildrop OUT/expected serves them as is.
OUT/Maildir/         the same messages stored the way an MDA stores them for Dovecot: LF line
                     ends, in cur/ with Maildir names that sort in message order.
OUT/manifest         one line per message: NUMBER OCTETS NAME (octets counted with CRLF).

The messages exercise what breaks POP3 clients: lines starting with '.', a lone '.', lines of
998, 999, 1000, 4096 and 65536 characters (RFC 5322 §2.1.1's 998 limit and beyond it), an
empty body, and 8-bit UTF-8 text.
"""
import os
import sys


def pattern_line(n, tag):
    """A line of exactly n characters that starts with tag and shows where a byte went missing."""
    body = tag
    i = 0
    while len(body) < n:
        body += "%d." % i if i % 10 else "|%d|" % i
        i += 1
    return body[:n]


def headers(number, subject):
    return [
        "From: Interop Sender <sender@pop3kit.test>",
        "To: user@pop3kit.test",
        "Subject: %s" % subject,
        "Date: Thu, 01 Jan 2015 00:00:%02d +0000" % number,
        "Message-ID: <interop-%d@pop3kit.test>" % number,
    ]


def messages():
    msgs = []
    msgs.append(("plain", headers(1, "Plain message") + ["", "Hello from the interop maildrop.", "Second line."]))
    msgs.append(("dots", headers(2, "Lines starting with dots") + [
        "", ".", "..", "...", ".hidden", ". space after the dot", "middle line",
        ".", "end", ". ", "..."]))
    msgs.append(("long", headers(3, "Long lines") + [
        "",
        pattern_line(998, "L998:"),
        pattern_line(999, "L999:"),
        pattern_line(1000, "L1000:"),
        pattern_line(4096, "L4096:"),
        pattern_line(65536, "L65536:"),
        "short last line"]))
    msgs.append(("dotlong", headers(4, "A long line starting with a dot") + [
        "", "." + pattern_line(997, "D998:"), "." + pattern_line(65535, "D65536:"), "."]))
    msgs.append(("emptybody", headers(5, "Empty body") + [""]))
    msgs.append(("utf8", headers(6, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=") + [
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "", "Grüße aus Zürich — ünïcödé text, 8-bit on the wire.", "日本語の行"]))
    return msgs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    exp = os.path.join(out, "expected")
    md = os.path.join(out, "Maildir")
    for d in (exp, os.path.join(md, "cur"), os.path.join(md, "new"), os.path.join(md, "tmp")):
        os.makedirs(d, exist_ok=True)
    manifest = []
    for i, (name, lines) in enumerate(messages(), start=1):
        text = "\n".join(lines) + "\n"
        crlf = text.replace("\n", "\r\n").encode("utf-8")
        lf = text.encode("utf-8")
        with open(os.path.join(exp, "%02d.eml" % i), "wb") as f:
            f.write(crlf)
        # Maildir base name: time.unique.host; Dovecot assigns UIDs in name order when it
        # first scans the folder, so the timestamps give the message order.
        base = "%d.M%dP1.pop3kit-interop,S=%d,W=%d:2," % (1420070400 + i, i, len(lf), len(crlf))
        with open(os.path.join(md, "cur", base), "wb") as f:
            f.write(lf)
        manifest.append("%d %d %s" % (i, len(crlf), name))
    with open(os.path.join(out, "manifest"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
