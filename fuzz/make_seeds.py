#!/usr/bin/env python3
"""Writes the seed corpus for each fuzz target into corpus/<target>/, each file named by the
SHA-256 of its content. Rerunning regenerates the same files. Later the conformance transcripts
become the main source of seeds."""
import hashlib
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")

RFC1939_REPLIES = [
    b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
    b"+OK 2 320\r\n",
    b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
    b"+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n",
    b"+OK\r\n.\r\n",
    b"-ERR no such message\r\n",
    b"-ERR [IN-USE] Do you have another POP session running?\r\n",
    b"-ERR [SYS/TEMP] try later\r\n",
    b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    b"+OK unique-id listing follows\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n",
    b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\n"
    b"LOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n",
    b"+OK\r\n..stuffed\r\n...\r\n.\r\n",
    b"+OK bare\n.\n",
]

BODIES = [
    b"From: a\r\n\r\nbody\r\n.\r\n",
    b".\r\n",
    b"..x\r\n...\r\n.\r\n",
    b"a\nb\rc\r\n.\n",
    b"line\r\n.\r\nafter terminator\r\n",
]


def write(target, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    for reply in RFC1939_REPLIES:
        for mode in (0, 1, 2, 5):  # shape single/multi/sasl, and multi-line lenient
            write("reply", bytes([mode, len(reply) // 2 % 256]) + reply)
    for body in BODIES:
        for mode in (0x03, 0x81, 0x40):
            write("dot_codec", bytes([mode]) + body)
    os.makedirs(os.path.join(ROOT, "regressions"), exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
