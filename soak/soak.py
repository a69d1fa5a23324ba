#!/usr/bin/env python3
"""pop3kit's soak/chaos stage (issue 14): a fixed-length mix of well-behaved and hostile POP3
sessions against pop3-mockserver built with ASan+UBSan, then checks of what the server is left
with. Python 3 standard library only; everything on 127.0.0.1; docs/soak.md describes it.

Started by soak/run.sh (which finds the server, makes the work folder and cleans up); run by
hand as

    python3 soak/soak.py --server build/asan/mockserver/pop3-mockserver --work DIR [--quick]

The main server (--persist, per-user maildrops of generated .eml files, a short idle timeout,
its session log on a pipe that the driver stops reading twice for 11 s) takes the load of the
mixed and idle workers and of a probe; one server per shipped scenario (mockserver/scenarios/)
takes the "scenario fault" sessions of one worker. At the end: every session ended as a correct
server makes it end, the server kept serving (probes), idle connections timed out on time, no
sanitizer report, every server alive, the main server's peak memory bounded and its memory back
near its baseline, its file descriptors back to the baseline, every maildrop lock free, the
maildrops on disk exactly as the completed QUITs left them, and every server stopping on
SIGTERM with exit 0. The last line is "soak: N passed, N failed"; the exit code is 1 when a
check failed, 2 on a bad command line or when the servers cannot start.
"""

import argparse
import base64
import fcntl
import hashlib
import hmac
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections import Counter

# ----------------------------------------------------------------------------------------------
# Bounds (docs/soak.md explains each).

# Final RSS of the main server, after the load and every connection are gone, may exceed its
# baseline by this much: ASan keeps freed blocks in its quarantine (cut to 64 MiB below) and
# the allocator keeps some freed pages in its caches.
RSS_FINAL_SLACK_MIB = 128
# Peak RSS may exceed the baseline by this much: 9 busy sessions of a correct server hold a
# few MiB each (queued replies are bounded), plus the 64 MiB quarantine and ASan's redzones.
RSS_PEAK_SLACK_MIB = 256
# How long the final figures may take to settle after the load stops (idle connections still
# have to time out; ASan returns free pages to the OS every 5 s).
SETTLE_SECONDS = 12
# An idle connection must be closed by the server no sooner than idle-timeout minus this and
# no later than idle-timeout plus IDLE_LATE (a loaded 2-core machine delays the ASan server's
# timers by up to ~1.2 s; a server that stops serving is caught by the probes as well).
IDLE_EARLY = 0.5
IDLE_LATE = 4.0
QUARANTINE_MB = 64
SIGTERM_SECONDS = 10
# A probe connects every half second during the load (greeting, CAPA, QUIT); each must take
# less than this: a server that stops serving (logging that blocks on a stalled reader, an
# event loop stuck building replies) fails here.
PROBE_MAX_SECONDS = 5.0
# The main server's stderr is left unread this long, twice in a 60 s run (once with --quick).
LOG_STALL = 11

SCENARIOS = ["disconnect-mid-retr", "endless-body", "huge-line", "bare-lf",
             "stls-injection-lines", "slow", "timeout"]

# Session kinds of the "mixed" workers and their weights.
MIXED_KINDS = {
    "plain": 10, "stls": 6, "tls": 6,
    "auth-plain-ir": 4, "auth-plain": 3, "auth-login": 2, "cram-md5": 4, "apop": 4,
    "flood": 6, "flood-stall": 2,
    "vanish-fin": 4, "vanish-rst": 4, "dele-vanish": 3,
    "slow-reader": 3, "bad-input": 5, "wrong-password": 4, "persist": 6,
}

USERS = ["u%02d" % i for i in range(1, 17)]
PASSWORDS = {u: "pw-" + u[1:] + "-s3cret" for u in USERS}
SMALL_PER_USER = 100
MEDIUM_PER_USER = 4
SLOW_SIZE = 256 * 1024   # the message the slow reader reads
BIG_SIZE = 1024 * 1024   # the message heavy floods and vanishing clients use
DELETABLE_BELOW = 100 * 1024  # persist sessions delete only smaller messages

# ----------------------------------------------------------------------------------------------
# Bookkeeping shared by the workers.


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = Counter()      # kind -> sessions started
        self.outcomes = Counter()      # expected, non-error endings worth counting
        self.faults = Counter()        # deliberate faults injected, by kind
        self.errors = Counter()        # unexpected endings on the main server
        self.examples = {}             # error label -> a few examples
        self.scenario = Counter()      # scenario -> sessions
        self.scenario_endings = Counter()
        self.confirmed = {u: set() for u in USERS}  # Message-IDs deleted by a QUIT +OK
        self.uncertain = {u: set() for u in USERS}  # QUIT sent, reply never seen
        self.idle_closes = []          # seconds from the last reply to the server's close
        self.idle_bad = []

    def add(self, counter, key, n=1):
        with self.lock:
            getattr(self, counter)[key] += n

    def error(self, kind, label, detail):
        with self.lock:
            key = kind + ": " + label
            self.errors[key] += 1
            ex = self.examples.setdefault(key, [])
            if len(ex) < 3:
                ex.append(detail)


STATS = Stats()
STOP = threading.Event()   # set when the duration is over or the main server died
T0 = time.monotonic()


class SoakError(Exception):
    """An unexpected reply or event; the message is the label errors are counted by."""


class Closed(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# The maildrop: generated .eml files, each with a unique Message-ID, CRLF line ends.

BY_MID = {}  # Message-ID -> exact content (what RETR must deliver)
MID_RE = re.compile(rb"^Message-ID: (<[^>\r\n]+>)\r$", re.M | re.I)


def message_id_of(content):
    head = content.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    m = MID_RE.search(head)
    return m.group(1).decode() if m else None


def make_maildrop(root, rng):
    """DIR/USER/NNNN.eml for every user; returns {user: set(Message-ID)}."""
    alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:-=!?()"
    pool = []
    for i in range(4000):
        n = rng.randint(0, 76)
        line = "".join(rng.choice(alphabet) for _ in range(n))
        if i % 9 == 0:
            line = "." + line  # dot-stuffing on the wire
        if i % 97 == 0:
            line = "."          # a lone dot inside a body
        pool.append(line.encode())
    initial = {}
    for u in USERS:
        d = os.path.join(root, u)
        os.makedirs(d)
        sizes = [rng.randint(300, 6000) for _ in range(SMALL_PER_USER)]
        sizes += [rng.randint(20000, 60000) for _ in range(MEDIUM_PER_USER)]
        sizes += [SLOW_SIZE, BIG_SIZE]
        rng.shuffle(sizes)
        initial[u] = set()
        for k, size in enumerate(sizes, 1):
            mid = "<%s.%d.%08x@soak.pop3kit.test>" % (u, k, rng.getrandbits(32))
            head = ("From: soak@pop3kit.test\r\nTo: %s@pop3kit.test\r\n"
                    "Subject: soak message %d of %s\r\nMessage-ID: %s\r\n"
                    "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\n" % (u, k, u, mid)).encode()
            lines, total = [], len(head)
            while total < size:
                line = rng.choice(pool)
                lines.append(line)
                total += len(line) + 2
            content = head + b"\r\n".join(lines) + b"\r\n"
            with open(os.path.join(d, "%04d.eml" % k), "wb") as f:
                f.write(content)
            BY_MID[mid] = content
            initial[u].add(mid)
    return initial


def maildrop_on_disk(root, user):
    mids = set()
    d = os.path.join(root, user)
    for name in os.listdir(d):
        if name.startswith("."):
            continue
        with open(os.path.join(d, name), "rb") as f:
            mid = message_id_of(f.read())
        mids.add(mid or "(no Message-ID in %s)" % name)
    return mids


# ----------------------------------------------------------------------------------------------
# A POP3 connection: lines and multi-line bodies over a blocking socket with a timeout.

class Conn:
    def __init__(self, srv, tls=False, timeout=10.0, rcvbuf=None):
        port = srv.tls_port if tls else srv.port
        self.srv = srv
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout)
            s.connect(("127.0.0.1", port))
            if tls:
                s = srv.tls_ctx.wrap_socket(s, server_hostname="localhost")
        except BaseException:
            s.close()
            raise
        self.sock = s
        self.buf = bytearray()

    def fill(self, size=262144):
        data = self.sock.recv(size)
        if not data:
            raise Closed()
        self.buf += data

    def line(self):
        start = 0
        while True:
            i = self.buf.find(b"\r\n", start)
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > 100000:
                raise SoakError("reply line longer than 100000 octets")
            start = max(0, len(self.buf) - 1)
            self.fill()

    def body(self):
        """The rest of a multi-line reply, dot-stuffed, up to and without the '.' line."""
        pos = 0
        while True:
            if self.buf[:3] == b".\r\n":
                del self.buf[:3]
                return b""
            i = self.buf.find(b"\r\n.\r\n", pos)
            if i >= 0:
                out = bytes(self.buf[:i + 2])
                del self.buf[:i + 5]
                return out
            pos = max(0, len(self.buf) - 4)
            self.fill()

    def reply(self, multi=False):
        status = self.line()
        if multi and status.startswith(b"+OK"):
            return status, self.body()
        return status, None

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, text, multi=False):
        self.send(text.encode() + b"\r\n")
        return self.reply(multi)

    def expect_ok(self, text, multi=False):
        status, body = self.cmd(text, multi)
        if not status.startswith(b"+OK"):
            raise SoakError("%s answered %s" % (text.split(" ")[0], status[:60].decode("latin-1")))
        return status, body

    def starttls(self):
        if self.buf:
            raise SoakError("plaintext after the STLS +OK")
        self.sock = self.srv.tls_ctx.wrap_socket(self.sock, server_hostname="localhost")

    def vanish(self, how):
        """Close without QUIT: 'fin' (shutdown + close) or 'rst' (SO_LINGER 0, then close)."""
        try:
            if how == "rst":
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def unstuff(body):
    if body.startswith(b".."):
        body = body[1:]
    return body.replace(b"\r\n..", b"\r\n.")


def greeting(conn):
    status = conn.line()
    if not status.startswith(b"+OK"):
        raise SoakError("greeting is not +OK")
    return status


def login(conn, greet, user, password, method):
    """Logs in; returns 'ok', 'in-use' or 'refused' (and the status line)."""
    u, p = user.encode(), password.encode()
    if method == "user":
        conn.expect_ok("USER " + user)
        status, _ = conn.cmd("PASS " + password)
    elif method == "apop":
        ts = re.search(rb"<[^<>]*>", greet)
        if not ts:
            raise SoakError("no APOP timestamp in the greeting")
        digest = hashlib.md5(ts.group(0) + p).hexdigest()
        status, _ = conn.cmd("APOP %s %s" % (user, digest))
    elif method == "plain-ir":
        status, _ = conn.cmd("AUTH PLAIN " + base64.b64encode(b"\0" + u + b"\0" + p).decode())
    elif method == "plain":
        status, _ = conn.cmd("AUTH PLAIN")
        if not status.startswith(b"+ "):
            raise SoakError("AUTH PLAIN: no continuation")
        status, _ = conn.cmd(base64.b64encode(b"\0" + u + b"\0" + p).decode())
    elif method == "login":
        status, _ = conn.cmd("AUTH LOGIN")
        if not status.startswith(b"+ "):
            raise SoakError("AUTH LOGIN: no continuation")
        status, _ = conn.cmd(base64.b64encode(u).decode())
        if not status.startswith(b"+ "):
            raise SoakError("AUTH LOGIN: no password prompt")
        status, _ = conn.cmd(base64.b64encode(p).decode())
    elif method == "cram":
        status, _ = conn.cmd("AUTH CRAM-MD5")
        if not status.startswith(b"+ "):
            raise SoakError("AUTH CRAM-MD5: no challenge")
        challenge = base64.b64decode(status[2:])
        digest = hmac.new(p, challenge, hashlib.md5).hexdigest()
        status, _ = conn.cmd(base64.b64encode(u + b" " + digest.encode()).decode())
    else:
        raise ValueError(method)
    if status.startswith(b"+OK"):
        return "ok", status
    if b"[IN-USE]" in status:
        return "in-use", status
    return "refused", status


def open_session(srv, rng, transport, method, user=None, rcvbuf=None):
    """Connects (plain, stls or tls) and logs in. Returns (conn, user) or (None, user) when the
    maildrop was in use (counted; the connection is closed with QUIT)."""
    user = user or rng.choice(USERS)
    conn = Conn(srv, tls=(transport == "tls"), rcvbuf=rcvbuf)
    try:
        greet = greeting(conn)
        if transport == "stls":
            conn.expect_ok("STLS")
            conn.starttls()
        result, status = login(conn, greet, user, PASSWORDS[user], method)
        if result == "in-use":
            STATS.add("outcomes", "login: maildrop in use (-ERR [IN-USE])")
            conn.expect_ok("QUIT")
            conn.close()
            return None, user
        if result != "ok":
            raise SoakError("login refused: " + status[:60].decode("latin-1"))
        return conn, user
    except BaseException:
        conn.close()
        raise


def scan_listing(conn):
    """LIST as {number: octets}."""
    _, body = conn.expect_ok("LIST", multi=True)
    sizes = {}
    for line in body.split(b"\r\n"):
        if line:
            n, octets = line.split()
            sizes[int(n)] = int(octets)
    return sizes


def retr_checked(conn, n, octets):
    _, body = conn.expect_ok("RETR %d" % n, multi=True)
    content = unstuff(body)
    mid = message_id_of(content)
    if mid not in BY_MID:
        raise SoakError("RETR: unknown or missing Message-ID")
    if content != BY_MID[mid]:
        raise SoakError("RETR: content differs from the .eml file")
    if octets is not None and octets != len(content):
        raise SoakError("RETR: size differs from LIST")
    return content


def quit_ok(conn):
    conn.expect_ok("QUIT")
    conn.close()


# ----------------------------------------------------------------------------------------------
# Session kinds on the main server. Each returns normally when the session went as a correct
# server makes it go; anything else raises and is counted as an error of that kind.

METHODS = ["user", "apop", "plain-ir", "plain", "login", "cram"]
KIND_METHOD = {"auth-plain-ir": "plain-ir", "auth-plain": "plain", "auth-login": "login",
               "cram-md5": "cram", "apop": "apop"}


def s_mailbox(srv, rng, kind):
    """plain / stls / tls / an AUTH kind: log in, STAT, LIST, UIDL, RETR (checked), TOP, QUIT."""
    if kind in ("plain", "stls", "tls"):
        transport = kind
        method = "user" if kind == "plain" else rng.choice(METHODS)
    else:
        transport = rng.choice(["plain", "stls", "tls"])
        method = KIND_METHOD[kind]
    conn, _ = open_session(srv, rng, transport, method)
    if not conn:
        return
    try:
        conn.expect_ok("STAT")
        sizes = scan_listing(conn)
        _, uidl = conn.expect_ok("UIDL", multi=True)
        if len([x for x in uidl.split(b"\r\n") if x]) != len(sizes):
            raise SoakError("UIDL and LIST list different messages")
        if sizes:
            small = [n for n, s in sizes.items() if s < 64 * 1024] or list(sizes)
            n = rng.choice(small)
            content = retr_checked(conn, n, sizes[n])
            _, top = conn.expect_ok("TOP %d 0" % n, multi=True)
            if unstuff(top) != content.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n":
                raise SoakError("TOP n 0: not the message's header")
        quit_ok(conn)
    finally:
        conn.close()


def s_flood(srv, rng):
    """200 pipelined commands (LIST, UIDL, TOP, RETR, NOOP, STAT) and QUIT in one write; every
    reply read back and checked +OK."""
    conn, _ = open_session(srv, rng, rng.choice(["plain", "tls"]), "user")
    if not conn:
        return
    try:
        sizes = scan_listing(conn)
        if not sizes:
            quit_ok(conn)
            return
        small = [n for n, s in sizes.items() if s < 8192] or list(sizes)
        medium = [n for n, s in sizes.items() if s < DELETABLE_BELOW] or list(sizes)
        cmds = []
        for _ in range(200):
            k = rng.choice(list(sizes))
            cmds.append(rng.choice([
                ("NOOP", False), ("STAT", False), ("LIST", True), ("UIDL", True),
                ("LIST %d" % k, False), ("UIDL %d" % k, False),
                ("TOP %d %d" % (k, rng.randint(0, 10)), True),
                ("TOP %d 100000" % rng.choice(medium), True),
                ("RETR %d" % rng.choice(small), True)]))
        cmds.append(("QUIT", False))
        conn.send(b"".join(c.encode() + b"\r\n" for c, _ in cmds))
        STATS.add("faults", "pipelined flood, read back (200 commands + QUIT in one write)")
        for c, multi in cmds:
            status, _ = conn.reply(multi)
            if not status.startswith(b"+OK"):
                raise SoakError("flood: %s answered %s"
                                % (c.split()[0], status[:40].decode("latin-1")))
    finally:
        conn.close()


def s_flood_stall(srv, rng):
    """About 1,100 pipelined TOPs of the 256 KiB message (16 KiB of commands: each reply is a
    copy of the message), then the client reads 64 KiB, stalls and resets the connection. A
    server that queues every reply before writing holds ~280 MiB for this one session."""
    conn, _ = open_session(srv, rng, "plain", "user")
    if not conn:
        return
    try:
        sizes = scan_listing(conn)
        target = [n for n, s in sizes.items() if 128 * 1024 < s < 512 * 1024]
        if not target:
            quit_ok(conn)
            return
        line = b"TOP %d 100000\r\n" % target[0]
        conn.send(line * (16384 // len(line)))
        STATS.add("faults", "pipelined flood of ~1,100 TOPs (16 KiB), reader stalls then resets")
        while len(conn.buf) < 65536:
            conn.fill(65536)
        time.sleep(rng.uniform(0.2, 1.0))
        conn.vanish("rst")
    finally:
        conn.close()


def s_vanish(srv, rng, how):
    """RETR of the 1 MiB message, then gone after a few KiB: FIN or RST, no QUIT."""
    conn, _ = open_session(srv, rng, rng.choice(["plain", "tls"]), "user")
    if not conn:
        return
    try:
        sizes = scan_listing(conn)
        if not sizes:
            quit_ok(conn)
            return
        big = max(sizes, key=sizes.get)
        conn.send(b"RETR %d\r\n" % big)
        want = rng.randint(1, 200) * 1024
        while len(conn.buf) < want:
            conn.fill()
        conn.vanish(how)
        STATS.add("faults", "client vanished mid-RETR (%s)" % how.upper())
    finally:
        conn.close()


def s_dele_vanish(srv, rng):
    """DELE some messages, then gone without QUIT: nothing may be deleted."""
    conn, _ = open_session(srv, rng, rng.choice(["plain", "stls", "tls"]), "user")
    if not conn:
        return
    try:
        sizes = scan_listing(conn)
        how = rng.choice(["fin", "rst"])
        if sizes:
            picks = rng.sample(list(sizes), min(len(sizes), rng.randint(1, 3)))
            for n in picks[:-1]:
                conn.expect_ok("DELE %d" % n)
            conn.send(b"DELE %d\r\n" % picks[-1])  # the last one not even waited for
        conn.vanish(how)
        STATS.add("faults", "client vanished after DELE, no QUIT (%s)" % how.upper())
    finally:
        conn.close()


def s_slow_reader(srv, rng):
    """RETR of the 256 KiB message through a 16 KiB receive buffer, 4 KiB at a time with
    pauses: about a second in all, well within the idle timeout."""
    conn, _ = open_session(srv, rng, rng.choice(["plain", "tls"]), "user", rcvbuf=16384)
    if not conn:
        return
    try:
        sizes = scan_listing(conn)
        mid_size = [n for n, s in sizes.items() if 128 * 1024 < s < 512 * 1024]
        if not mid_size:
            quit_ok(conn)
            return
        n = mid_size[0]
        conn.send(b"RETR %d\r\n" % n)
        status = conn.line()
        if not status.startswith(b"+OK"):
            raise SoakError("slow RETR answered " + status[:40].decode("latin-1"))
        pause = min(0.015, 1.0 / (sizes[n] / 4096))
        started = time.monotonic()
        while not conn.buf.endswith(b"\r\n.\r\n"):
            try:
                conn.fill(4096)
            except Closed:
                raise SoakError("slow reader cut off after %.1f s" % (time.monotonic() - started))
            time.sleep(pause)
        content = unstuff(bytes(conn.buf[:-3]))
        conn.buf.clear()
        if BY_MID.get(message_id_of(content)) != content:
            raise SoakError("slow RETR: content differs from the .eml file")
        STATS.add("faults", "slow reader (4 KiB reads, 16 KiB receive buffer)")
        quit_ok(conn)
    finally:
        conn.close()


BAD_INPUTS = [
    lambda rng: b"NOOP " + b"x" * rng.randint(300, 20000) + b"\r\n",       # long line
    lambda rng: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 400))) + b"\r\n",
    lambda rng: b"CAPA\n",                                                 # bare LF
    lambda rng: b"STAT\n",
    lambda rng: b"NO\x00OP\r\n",                                           # NUL
    lambda rng: b"\x00\x00\x00\r\n",
    lambda rng: b"USER \xff\xfe\xfd\r\n",
    lambda rng: b"\r\n",
    lambda rng: b"LIST 99999999999999999999999\r\n",
    lambda rng: b"TOP 1 -1\r\n",
    lambda rng: b"AUTH PLAIN\r\n!!!not base64!!!\r\n",
    lambda rng: b"\rNOOP\r\r\n",
]


def s_bad_input(srv, rng):
    """Long lines, garbage, bare LF, NUL (before or after login), then QUIT: the server must
    answer something and close (after QUIT or its too-many-errors limit) within 10 s."""
    if rng.random() < 0.5:
        conn = Conn(srv)
        greeting(conn)
    else:
        conn, _ = open_session(srv, rng, "plain", "user")
        if not conn:
            return
    try:
        payload = b"".join(rng.choice(BAD_INPUTS)(rng) for _ in range(rng.randint(3, 8)))
        if rng.random() < 0.3:  # a line longer than any buffer, in pieces
            payload += b"Y" * rng.randint(70000, 300000) + b"\r\n"
        payload += b"\r\nQUIT\r\n"
        STATS.add("faults", "bad input (long lines, garbage, bare LF, NUL)")
        deadline = time.monotonic() + 10
        conn.sock.settimeout(10)
        conn.send(payload)
        while True:
            if time.monotonic() > deadline:
                raise SoakError("bad input: the server did not close within 10 s")
            try:
                conn.fill()
            except Closed:
                break
        if not conn.buf:
            raise SoakError("bad input: closed without a reply")
    finally:
        conn.close()


def s_wrong_password(srv, rng):
    """1 to 3 failed logins (wrong password, unknown user, wrong digest), each -ERR; then QUIT
    (the server may close after its failed-login limit instead)."""
    conn = Conn(srv, tls=rng.random() < 0.3)
    try:
        greet = greeting(conn)
        attempts = rng.randint(1, 3)
        for _ in range(attempts):
            user = rng.choice(USERS + ["nobody"])
            password = "wrong-" + PASSWORDS.get(user, "x")
            result, _ = login(conn, greet, user, password, rng.choice(METHODS))
            if result == "ok":
                raise SoakError("a wrong password was accepted")
            STATS.add("faults", "failed login")
        try:
            quit_ok(conn)
        except (Closed, OSError):
            if attempts < 3:
                raise
            STATS.add("outcomes", "closed after 3 failed logins")
    finally:
        conn.close()


def s_persist(srv, rng):
    """Log in, read the Message-ID of 1 or 2 small messages (TOP n 0), DELE them (sometimes
    RSET first and choose again), QUIT. Recorded as deleted only when QUIT says +OK."""
    conn, user = open_session(srv, rng, rng.choice(["plain", "stls", "tls"]),
                              rng.choice(["user", "plain-ir", "cram"]))
    if not conn:
        return
    try:
        def pick():
            sizes = scan_listing(conn)
            cands = [n for n, s in sizes.items() if s < DELETABLE_BELOW]
            chosen = {}
            for n in rng.sample(cands, min(len(cands), rng.choice([1, 1, 2]))):
                _, head = conn.expect_ok("TOP %d 0" % n, multi=True)
                mid = message_id_of(unstuff(head))
                if not mid:
                    raise SoakError("TOP n 0: no Message-ID")
                conn.expect_ok("DELE %d" % n)
                chosen[n] = mid
            return chosen

        chosen = pick()
        if chosen and rng.random() < 0.15:
            conn.expect_ok("RSET")
            chosen = pick()
        conn.send(b"QUIT\r\n")
        try:
            status = conn.line()
        except (Closed, OSError):
            with STATS.lock:
                STATS.uncertain[user].update(chosen.values())
            raise SoakError("QUIT: no reply")
        if status.startswith(b"+OK"):
            with STATS.lock:
                STATS.confirmed[user].update(chosen.values())
            STATS.add("outcomes", "messages deleted by completed QUITs", len(chosen))
        else:
            with STATS.lock:  # "-ERR some deleted messages not removed": any subset may be gone
                STATS.uncertain[user].update(chosen.values())
            raise SoakError("QUIT answered " + status[:50].decode("latin-1"))
    finally:
        conn.close()


def s_idle(srv, rng, idle):
    """Connect (half the time also log in, holding the maildrop lock), then say nothing: the
    server must close within [idle - 0.5 s, idle + 4 s] of its last reply."""
    conn = Conn(srv, tls=rng.random() < 0.3, timeout=idle + IDLE_LATE + 2)
    try:
        greet = greeting(conn)
        if rng.random() < 0.5:
            user = rng.choice(USERS)
            if login(conn, greet, user, PASSWORDS[user], "user")[0] == "refused":
                raise SoakError("idle: login refused")
        t0 = time.monotonic()
        try:
            while True:
                conn.fill()
        except Closed:
            pass
        except (ConnectionResetError, ssl.SSLError):
            pass
        except TimeoutError:
            raise SoakError("idle: still open after %.1f s" % (time.monotonic() - t0))
        took = time.monotonic() - t0
        with STATS.lock:
            STATS.idle_closes.append(took)
        if not idle - IDLE_EARLY <= took <= idle + IDLE_LATE:
            with STATS.lock:
                STATS.idle_bad.append(took)
            raise SoakError("idle: closed after %.2f s (idle timeout %d s)" % (took, idle))
        STATS.add("outcomes", "idle connection closed by the server")
    finally:
        conn.close()


def s_idle_race(srv, rng, idle):
    """Four idle connections, each closed by the client (FIN, RST, or QUIT then close) within
    a few ms of the moment the server's idle timer fires: the close and the timer race."""
    conns = []
    try:
        for _ in range(4):
            c = Conn(srv, timeout=idle + IDLE_LATE + 2)
            conns.append(c)
            greeting(c)
            c.deadline = time.monotonic() + idle + rng.uniform(-0.03, 0.005)
            c.how = rng.choice(["fin", "rst", "quit"])
        for c in sorted(conns, key=lambda c: c.deadline):
            time.sleep(max(0.0, c.deadline - time.monotonic()))
            if c.how == "quit":
                try:
                    c.send(b"QUIT\r\n")
                except OSError:
                    pass
                c.vanish("fin")
            else:
                c.vanish(c.how)
            STATS.add("faults", "client closed as the idle timer fired (%s)" % c.how.upper())
    finally:
        for c in conns:
            c.close()


# ----------------------------------------------------------------------------------------------
# Scenario sessions: the server misbehaves on purpose; the session may fail in any way, the
# server must survive it. Each returns how it ended.

def s_scenario(servers, rng):
    name = rng.choice(SCENARIOS)
    port = servers[name].port
    STATS.add("scenario", name)
    try:
        conn = Conn(servers[name], timeout=4)
    except OSError as e:  # the server is gone: the alive check says so
        time.sleep(0.2)
        return "cannot connect: " + label_of(e)
    started = time.monotonic()
    try:
        if name == "slow":  # 1 byte every 50 ms: read part of the greeting, then leave
            want = rng.randint(5, 40)
            while len(conn.buf) < want:
                conn.fill(1)
            conn.vanish(rng.choice(["fin", "rst"]))
            STATS.add("faults", "scenario slow: dripped greeting, client left")
            return "left during the dripped greeting"
        greet = greeting(conn)
        if name == "timeout":  # every command hangs; the idle timer closes the connection
            conn.send(rng.choice([b"CAPA\r\n", b"USER s\r\n", b"NOOP\r\n"]))
            STATS.add("faults", "scenario timeout: command never answered")
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0, 2))
                conn.vanish(rng.choice(["fin", "rst"]))
                return "client left a hung session"
            conn.sock.settimeout(8)
            try:
                while True:
                    conn.fill()
            except Closed:
                return "hung session closed by the idle timer"
        if name == "stls-injection-lines":
            conn.send(b"STLS\r\n")
            if not conn.line().startswith(b"+OK"):
                return "STLS refused"
            time.sleep(0.05)
            STATS.add("faults", "scenario stls-injection-lines: injected replies after STLS")
            conn.buf.clear()  # a correct client discards what came with the STLS +OK
            conn.sock = conn.srv.tls_ctx.wrap_socket(conn.sock, server_hostname="localhost")
        result, _ = login(conn, greet, "s", "sp", rng.choice(METHODS))
        if result != "ok":
            return "login " + result
        conn.send(b"RETR 1\r\n")
        STATS.add("faults", "scenario %s: faulty RETR" % name)
        limit = rng.randint(64, 2048) * 1024
        while time.monotonic() - started < 8:
            if name == "bare-lf" and conn.buf.endswith(b"\n.\n"):
                break
            if b"\r\n.\r\n" in conn.buf[-5:]:
                break
            if len(conn.buf) > limit:
                conn.vanish(rng.choice(["fin", "rst"]))
                return "client gave up at its size limit (64 KiB to 2 MiB)"
            conn.fill()
        quit_ok(conn)
        return "completed"
    except Closed:
        return "closed by the server"
    except Exception as e:  # noqa: BLE001 - any failure is an acceptable ending here
        return type(e).__name__
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------------
# Workers.


def label_of(e):
    if isinstance(e, SoakError):
        return str(e)
    if isinstance(e, Closed):
        return "connection closed by the server"
    if isinstance(e, TimeoutError):
        return "timed out (10 s)"
    if isinstance(e, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, BrokenPipeError):
        return "broken pipe"
    if isinstance(e, ssl.SSLError):
        return "TLS: " + (e.reason or type(e).__name__)
    return type(e).__name__ + ": " + str(e)[:60]


def run_kind(kind, srv, rng, idle):
    STATS.add("sessions", kind)
    try:
        if kind in ("plain", "stls", "tls") or kind in KIND_METHOD:
            s_mailbox(srv, rng, kind)
        elif kind == "flood":
            s_flood(srv, rng)
        elif kind == "flood-stall":
            s_flood_stall(srv, rng)
        elif kind == "vanish-fin":
            s_vanish(srv, rng, "fin")
        elif kind == "vanish-rst":
            s_vanish(srv, rng, "rst")
        elif kind == "dele-vanish":
            s_dele_vanish(srv, rng)
        elif kind == "slow-reader":
            s_slow_reader(srv, rng)
        elif kind == "bad-input":
            s_bad_input(srv, rng)
        elif kind == "wrong-password":
            s_wrong_password(srv, rng)
        elif kind == "persist":
            s_persist(srv, rng)
        elif kind == "idle":
            s_idle(srv, rng, idle)
        elif kind == "idle-race":
            s_idle_race(srv, rng, idle)
        else:
            raise ValueError(kind)
    except Exception as e:  # noqa: BLE001 - every failure is counted, none stops the soak
        STATS.error(kind, label_of(e), "%.1f s: %s: %s" % (time.monotonic() - T0,
                                                            type(e).__name__, str(e)[:120]))
        if isinstance(e, ConnectionRefusedError):
            time.sleep(0.2)  # the server is gone: do not spin


def worker(role, seed, deadline, main, scenario_servers, idle):
    rng = random.Random(seed)
    names, weights = list(MIXED_KINDS), list(MIXED_KINDS.values())
    turn = 0
    while time.monotonic() < deadline and not STOP.is_set():
        turn += 1
        if role == "idle":  # alternately: one idle connection, four racing the idle timer
            run_kind("idle" if turn % 2 else "idle-race", main, rng, idle)
        elif role == "scenario":
            STATS.add("sessions", "scenario")
            ending = s_scenario(scenario_servers, rng)
            STATS.add("scenario_endings", ending)
        else:
            run_kind(rng.choices(names, weights)[0], main, rng, idle)


PROBES = []  # (seconds into the load, latency or None when the probe failed, error)


def prober(main, t_load, deadline):
    while time.monotonic() < deadline and not STOP.is_set():
        started = time.monotonic()
        err = None
        try:
            conn = Conn(main, timeout=30)
            try:
                greeting(conn)
                conn.expect_ok("CAPA", multi=True)
                conn.expect_ok("QUIT")
            finally:
                conn.close()
        except Exception as e:  # noqa: BLE001
            err = label_of(e)
        took = time.monotonic() - started
        with STATS.lock:
            PROBES.append((round(started - t_load, 1), None if err else took, err))
        time.sleep(max(0.0, 0.5 - took))


# ----------------------------------------------------------------------------------------------
# Servers, sampled from /proc.


SERVERS = []  # every server started, for stop_all()


class Server:
    def __init__(self, name, binary, args, work, log_pipe=False):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        san = os.path.join(work, "sanitizer")
        os.makedirs(san, exist_ok=True)
        self.san_prefix = os.path.join(san, name)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join([
            "log_path=" + self.san_prefix, "abort_on_error=1", "halt_on_error=1",
            "detect_leaks=1", "quarantine_size_mb=%d" % QUARANTINE_MB])
        env["UBSAN_OPTIONS"] = ":".join([
            "log_path=" + self.san_prefix, "halt_on_error=1", "abort_on_error=1",
            "print_stacktrace=1"])
        self.cert = os.path.join(self.dir, "cert.pem")
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        self.log_stall = threading.Event()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
                 "--cert-out", self.cert] + args,
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.PIPE if log_pipe else err, env=env, close_fds=True)
        if log_pipe:
            # The session log goes through a pipe of one page that the drain below stops
            # reading during "log reader stalls": the server must keep serving meanwhile.
            try:
                fcntl.fcntl(self.proc.stderr.fileno(), fcntl.F_SETPIPE_SZ, 4096)
            except (AttributeError, OSError):
                pass
            threading.Thread(target=self._drain, daemon=True).start()
        SERVERS.append(self)
        with open(os.path.join(work, "pids"), "a") as f:
            f.write("%d\n" % self.proc.pid)
        self.port = self.tls_port = None
        self.peak_rss = self.peak_fds = 0
        self.series = []
        self.exit_code = None

    def _drain(self):
        fd = self.proc.stderr.fileno()
        with open(self.err_path, "ab") as err:
            while True:
                while self.log_stall.is_set():
                    time.sleep(0.05)
                data = os.read(fd, 65536)
                if not data:
                    return
                err.write(data)

    def wait_ready(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with open(self.out_path) as f:
                text = f.read()
            p = re.search(r"^listening pop3 127\.0\.0\.1:(\d+)$", text, re.M)
            t = re.search(r"^listening pop3s 127\.0\.0\.1:(\d+)$", text, re.M)
            if p and t and os.path.exists(self.cert) and os.path.getsize(self.cert) > 0:
                self.port, self.tls_port = int(p.group(1)), int(t.group(1))
                # Each server has its own self-signed certificate (all named localhost).
                self.tls_ctx = ssl.create_default_context(cafile=self.cert)
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return None

    def fd_targets(self):
        out = []
        try:
            for fd in sorted(os.listdir("/proc/%d/fd" % self.proc.pid), key=int):
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
                    out.append("%s -> %s" % (fd, target))
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def sample(self):
        rss, fds = self.rss_kib(), self.fds()
        if rss is not None:
            self.peak_rss = max(self.peak_rss, rss)
        if fds is not None:
            self.peak_fds = max(self.peak_fds, fds)
        return rss, fds

    def sanitizer_logs(self):
        d = os.path.dirname(self.san_prefix)
        base = os.path.basename(self.san_prefix) + "."
        return [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith(base)]

    def stop(self):
        """SIGTERM; the exit code, or None when it did not stop within SIGTERM_SECONDS."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.proc.wait(SIGTERM_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = None
                return None
        else:
            self.exit_code = self.proc.returncode
        return self.exit_code


def sampler(servers, main, interval=0.25):
    last_series = 0.0
    while not SAMPLER_STOP.is_set():
        for s in servers:
            rss, fds = s.sample()
            if s is main and time.monotonic() - last_series >= 1.0 and rss is not None:
                s.series.append((round(time.monotonic() - T0, 1), rss, fds))
        if time.monotonic() - last_series >= 1.0:
            last_series = time.monotonic()
        if not main.alive() and not STOP.is_set():
            print("soak: the main server exited (code %s) at %.1f s; stopping the load"
                  % (main.proc.returncode, time.monotonic() - T0), flush=True)
            STOP.set()
        SAMPLER_STOP.wait(interval)


SAMPLER_STOP = threading.Event()

# ----------------------------------------------------------------------------------------------
# Checks.

RESULTS = []


def check(ok, name, detail=""):
    RESULTS.append((bool(ok), name, detail))
    print(("ok " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail),
          flush=True)
    return ok


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0) if kib is not None else "?"


def wait_for(pred, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def final_logins(main):
    """Every user logs in once more (USER/PASS); returns {user: (result, message count)}."""
    seen = {}
    for u in USERS:
        try:
            conn = Conn(main)
            try:
                greeting(conn)
                result, status = login(conn, b"", u, PASSWORDS[u], "user")
                count = None
                if result == "ok":
                    st, _ = conn.expect_ok("STAT")
                    count = int(st.split()[1])
                conn.cmd("QUIT")
            finally:
                conn.close()
            seen[u] = (result, count, status[:60].decode("latin-1"))
        except Exception as e:  # noqa: BLE001
            seen[u] = ("error", None, label_of(e))
    return seen


def baseline_sessions(main):
    """One plain, one STLS and one implicit-TLS session: the baseline is taken after them."""
    for transport in ("plain", "stls", "tls"):
        conn, _ = open_session(main, random.Random(0), transport, "user", user=USERS[0])
        if conn:
            conn.expect_ok("STAT")
            quit_ok(conn)


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("latin-1").splitlines()
        return lines[-n:]
    except OSError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="the pop3-mockserver binary (ASan+UBSan)")
    ap.add_argument("--work", required=True, help="an empty folder for maildrops and logs")
    ap.add_argument("--scenarios", default=None, help="folder of the shipped scenarios")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    ap.add_argument("--quick", action="store_true", help="15 s of load, for development")
    ap.add_argument("--seed", type=int, default=None, help="the RNG seed (default: random)")
    ap.add_argument("--workers", type=int, default=9, help="mixed-session workers (9)")
    ap.add_argument("--idle-workers", type=int, default=2, help="idle-connection workers (2)")
    ap.add_argument("--idle-timeout", type=int, default=3, help="the servers' idle timeout (3)")
    ap.add_argument("--weights", default="", help="change session-kind weights of the mixed "
                    "workers, e.g. flood-stall=0,persist=20 (development)")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()
    for item in filter(None, args.weights.split(",")):
        kind, _, w = item.partition("=")
        if kind not in MIXED_KINDS or not w.isdigit():
            ap.error("--weights: expected KIND=N with KIND one of " + ", ".join(MIXED_KINDS))
        MIXED_KINDS[kind] = int(w)
    if args.quick:
        args.duration = 15.0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    idle = args.idle_timeout
    scen_dir = args.scenarios or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                              "mockserver", "scenarios")
    work = os.path.abspath(args.work)
    print("soak: seed %d (--seed %d repeats the choices), %g s of load, %d mixed + %d idle + 1 "
          "scenario workers, idle timeout %d s" % (seed, seed, args.duration, args.workers,
                                                   args.idle_workers, idle), flush=True)

    # Maildrops: the main server's, fresh for this run.
    maildrop = os.path.join(work, "maildrop")
    initial = make_maildrop(maildrop, random.Random(seed))
    nmsg = sum(len(v) for v in initial.values())
    print("soak: maildrop %s: %d users, %d messages" % (maildrop, len(USERS), nmsg), flush=True)

    user_args = []
    for u in USERS:
        user_args += ["--user", "%s:%s" % (u, PASSWORDS[u])]
    common = ["--threads", "2", "--idle-timeout", str(idle)]
    main_srv = Server("main", args.server, user_args + ["--maildrop", maildrop, "--persist"]
                      + common, work, log_pipe=True)
    servers = [main_srv]
    scen = {}
    for name in SCENARIOS:
        s = Server("scenario-" + name, args.server,
                   ["--user", "s:sp", "--generate", "8:40000", "--scenario",
                    os.path.join(scen_dir, name + ".toml")] + common, work)
        scen[name] = s
        servers.append(s)
    ok_start = True
    for s in servers:
        if not s.wait_ready():
            ok_start = False
            print("soak: %s did not start: %s" % (s.name, " / ".join(tail(s.err_path, 5))))
    if not ok_start:
        for s in servers:
            s.stop()
        return 2
    try:
        baseline_sessions(main_srv)
    except Exception as e:  # noqa: BLE001
        check(False, "baseline: a plain, an STLS and a POP3S session", label_of(e))
        for s in servers:
            s.stop()
        print("soak: 0 passed, 1 failed", flush=True)
        return 1
    time.sleep(0.5)
    base = {s.name: (s.rss_kib(), s.fds()) for s in servers}
    base_rss, base_fds = base["main"]
    print("soak: main server pid %d, pop3 %d, pop3s %d; baseline RSS %s, %d fds"
          % (main_srv.proc.pid, main_srv.port, main_srv.tls_port, mib(base_rss), base_fds),
          flush=True)

    # The load.
    threading.Thread(target=sampler, args=(servers, main_srv), daemon=True).start()
    t_load = time.monotonic()
    deadline = t_load + args.duration
    roles = ["mixed"] * args.workers + ["idle"] * args.idle_workers + ["scenario"]
    threads = [threading.Thread(target=worker, args=(role, seed * 1000 + i, deadline, main_srv,
                                                     scen, idle), daemon=True)
               for i, role in enumerate(roles)]
    threads.append(threading.Thread(target=prober, args=(main_srv, t_load, deadline), daemon=True))
    for t in threads:
        t.start()
    next_note = t_load + 15
    # Log reader stalls: the main server's stderr is not read for LOG_STALL seconds, longer
    # than a client's 10 s timeout, so a server whose logging blocks fails sessions.
    stalls = [t_load + f * args.duration for f in (0.2, 0.6)] if args.duration >= 40 else \
        [t_load + 0.2 * args.duration]
    stalls = [(a, a + LOG_STALL) for a in stalls if a + LOG_STALL < deadline + 1]
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.monotonic()
        stalled = any(a <= now < b for a, b in stalls)
        if stalled and not main_srv.log_stall.is_set():
            main_srv.log_stall.set()
            STATS.add("faults", "log reader stalled %d s (stderr pipe not read)" % LOG_STALL)
        elif not stalled and main_srv.log_stall.is_set():
            main_srv.log_stall.clear()
        if time.monotonic() >= next_note and time.monotonic() < deadline:
            with STATS.lock:
                n, e = sum(STATS.sessions.values()), sum(STATS.errors.values())
            print("soak: %3.0f s: %d sessions, %d errors, RSS %s (peak %s), %s fds"
                  % (time.monotonic() - t_load, n, e, mib(main_srv.rss_kib()),
                     mib(main_srv.peak_rss), main_srv.fds()), flush=True)
            next_note += 15
        if time.monotonic() > deadline + 30:
            print("soak: workers still running 30 s after the deadline", flush=True)
            break
    main_srv.log_stall.clear()
    load_seconds = time.monotonic() - t_load
    stuck = [t for t in threads if t.is_alive()]

    # Wind-down: idle connections time out, fds come back, memory settles.
    fds_back = wait_for(lambda: main_srv.fds() == base_fds, idle + SETTLE_SECONDS)
    logins = final_logins(main_srv) if main_srv.alive() else {}
    wait_for(lambda: main_srv.fds() == base_fds, 5)
    rss_bound = base_rss + RSS_FINAL_SLACK_MIB * 1024
    wait_for(lambda: (main_srv.rss_kib() or 0) <= rss_bound, SETTLE_SECONDS)
    SAMPLER_STOP.set()
    final_rss, final_fds = main_srv.rss_kib(), main_srv.fds()
    scen_fds = {s.name: s.fds() for s in servers[1:]}

    # Summary figures.
    total_sessions = sum(STATS.sessions.values())
    total_faults = sum(STATS.faults.values())
    print()
    print("== soak summary (seed %d, %.0f s of load)" % (seed, load_seconds))
    print("sessions: %d (%.1f/s)" % (total_sessions, total_sessions / max(load_seconds, 1)))
    for k, v in sorted(STATS.sessions.items(), key=lambda kv: -kv[1]):
        print("  %-16s %6d" % (k, v))
    print("scenario sessions by server:",
          ", ".join("%s %d" % kv for kv in sorted(STATS.scenario.items())))
    print("scenario session endings:")
    for k, v in sorted(STATS.scenario_endings.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, k))
    print("faults injected: %d" % total_faults)
    for k, v in sorted(STATS.faults.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, k))
    print("expected outcomes:")
    for k, v in sorted(STATS.outcomes.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, k))
    if STATS.idle_closes:
        print("idle closes: %d, %.2f to %.2f s after the last reply (timeout %d s)"
              % (len(STATS.idle_closes), min(STATS.idle_closes), max(STATS.idle_closes), idle))
    lat = sorted(p[1] for p in PROBES if p[1] is not None)
    if lat:
        print("probes: %d, latency median %.3f s, p99 %.3f s, max %.3f s; failed %d"
              % (len(PROBES), lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1],
                 sum(1 for p in PROBES if p[1] is None)))
    print("errors by kind: %s" % (sum(STATS.errors.values()) or "none"))
    for k, v in sorted(STATS.errors.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, k))
        for ex in STATS.examples.get(k, []):
            print("          e.g. at %s" % ex)
    print("main server: RSS baseline %s, peak %s, final %s; fds baseline %d, peak %d, final %s"
          % (mib(base_rss), mib(main_srv.peak_rss), mib(final_rss), base_fds, main_srv.peak_fds,
             final_fds))
    print()

    # Checks.
    check(not stuck, "workers: every session ended within 30 s of the deadline",
          "%d still running" % len(stuck))
    main_errors = sum(STATS.errors.values())
    check(main_errors == 0, "main server: every session ended as a correct server makes it end "
          "(%d sessions)" % total_sessions,
          "%d unexpected endings (errors by kind above)" % main_errors)
    slow = [p for p in PROBES if p[1] is None or p[1] > PROBE_MAX_SECONDS]
    check(PROBES and not slow, "main server kept serving: %d probes (one every 0.5 s), each "
          "under %g s (max %.2f s)" % (len(PROBES), PROBE_MAX_SECONDS, lat[-1] if lat else -1),
          "; ".join("at %.0f s: %s" % (p[0], p[2] or "%.1f s" % p[1]) for p in slow[:6])
          + ("; ..." if len(slow) > 6 else ""))
    bad_idle = len(STATS.idle_bad)
    check(bad_idle == 0 and STATS.idle_closes,
          "idle connections closed by the server within %g-%g s (%d)"
          % (idle - IDLE_EARLY, idle + IDLE_LATE, len(STATS.idle_closes)),
          "%d outside: %s" % (bad_idle, ", ".join("%.2f s" % t for t in STATS.idle_bad[:5]))
          if STATS.idle_closes else "no idle session ran")
    dead = [s.name for s in servers if not s.alive()]
    check(not dead, "every server still alive after the load (%d servers)" % len(servers),
          "exited: " + ", ".join("%s (code %s)" % (s.name, s.proc.returncode)
                                 for s in servers if not s.alive()))
    peak_bound = base_rss + RSS_PEAK_SLACK_MIB * 1024
    check(main_srv.peak_rss <= peak_bound, "main server: peak RSS %s <= baseline + %d MiB (%s)"
          % (mib(main_srv.peak_rss), RSS_PEAK_SLACK_MIB, mib(peak_bound)))
    check(final_rss is not None and final_rss <= rss_bound,
          "main server: RSS back to %s <= baseline + %d MiB (%s)"
          % (mib(final_rss), RSS_FINAL_SLACK_MIB, mib(rss_bound)))
    if not check(fds_back and final_fds == base_fds,
                 "main server: fds back to the baseline (%s, baseline %d)" % (final_fds, base_fds),
                 "still %s after %d s" % (final_fds, idle + SETTLE_SECONDS)):
        for line in main_srv.fd_targets():
            print("  " + line)
    leaked = {n: (scen_fds[n], base[n][1]) for n in scen_fds if scen_fds[n] != base[n][1]}
    check(not leaked, "scenario servers: fds back to their baselines",
          ", ".join("%s %s (baseline %s)" % (n, a, b) for n, (a, b) in leaked.items()))
    in_use = {u: r for u, r in logins.items() if r[0] != "ok"}
    check(logins and not in_use,
          "no maildrop lock left held: all %d users log in again" % len(USERS),
          "; ".join("%s: %s %s" % (u, r[0], r[2]) for u, r in sorted(in_use.items()))
          if logins else "the main server is gone")

    # Persist: what is on disk is exactly the initial set minus the completed QUITs' deletions.
    lost, resurrected, foreign, stale = [], [], [], []
    deleted_total = uncertain_total = 0
    for u in USERS:
        now = maildrop_on_disk(maildrop, u)
        gone = initial[u] - now
        conf = STATS.confirmed[u]
        deleted_total += len(conf)
        uncertain_total += len(STATS.uncertain[u])
        lost += ["%s %s" % (u, m) for m in sorted(gone - conf - STATS.uncertain[u])]
        resurrected += ["%s %s" % (u, m) for m in sorted(conf & now)]
        foreign += ["%s %s" % (u, m) for m in sorted(now - initial[u])]
        if u in logins and logins[u][1] is not None and logins[u][1] != len(now):
            stale.append("%s: STAT %d, %d files" % (u, logins[u][1], len(now)))
    check(not lost and not resurrected and not foreign,
          "persist: maildrops on disk = initial %d messages minus the %d deleted by completed "
          "QUITs%s" % (nmsg, deleted_total,
                       " (%d uncertain)" % uncertain_total if uncertain_total else ""),
          "lost (deleted without a completed QUIT): %s; still there after QUIT +OK: %s; unknown: %s"
          % (lost[:5] or "none", resurrected[:5] or "none", foreign[:5] or "none"))
    check(logins and not stale, "persist: the server's STAT matches the files on disk",
          "; ".join(stale[:5]) if logins else "the main server is gone")

    # Stop every server; then no sanitizer report (LeakSanitizer reports at exit).
    codes = {s.name: s.stop() for s in servers}
    bad_exit = {n: c for n, c in codes.items() if c != 0}
    check(not bad_exit, "SIGTERM stops every server within %d s with exit 0" % SIGTERM_SECONDS,
          ", ".join("%s: %s" % (n, "did not stop" if c is None else "exit %d" % c)
                    for n, c in bad_exit.items()))
    reports = [p for s in servers for p in s.sanitizer_logs()]
    if not check(not reports, "no ASan/UBSan/LSan report from any server",
                 ", ".join(os.path.basename(p) for p in reports)):
        for p in reports[:3]:
            print("---- %s" % p)
            with open(p, "rb") as f:
                print("\n".join(f.read().decode("latin-1").splitlines()[:60]))
    if dead or bad_exit:
        for s in servers:
            if s.name in dead or s.name in bad_exit:
                print("---- last lines of %s's stderr:" % s.name)
                print("\n".join(tail(s.err_path)))

    passed = sum(1 for r in RESULTS if r[0])
    failed = len(RESULTS) - passed
    figures = {
        "seed": seed, "duration": args.duration, "load_seconds": round(load_seconds, 1),
        "workers": {"mixed": args.workers, "idle": args.idle_workers, "scenario": 1},
        "idle_timeout": idle, "sessions": total_sessions,
        "sessions_by_kind": dict(STATS.sessions), "scenario_sessions": dict(STATS.scenario),
        "scenario_endings": dict(STATS.scenario_endings),
        "faults_injected": total_faults, "faults": dict(STATS.faults),
        "outcomes": dict(STATS.outcomes), "errors": dict(STATS.errors),
        "deleted_by_completed_quits": deleted_total, "uncertain_deletions": uncertain_total,
        "main_rss_kib": {"baseline": base_rss, "peak": main_srv.peak_rss, "final": final_rss},
        "main_fds": {"baseline": base_fds, "peak": main_srv.peak_fds, "final": final_fds},
        "idle_close_seconds": [round(min(STATS.idle_closes), 2), round(max(STATS.idle_closes), 2)]
        if STATS.idle_closes else None,
        "probe_latency_seconds": {
            "count": len(PROBES), "median": lat[len(lat) // 2] if lat else None,
            "max": lat[-1] if lat else None, "failed": sum(1 for p in PROBES if p[1] is None)},
        "rss_series": main_srv.series,
        "checks": [{"ok": ok, "name": name, "detail": d} for ok, name, d in RESULTS],
        "passed": passed, "failed": failed,
    }
    for path in [os.path.join(work, "results.json")] + ([args.json] if args.json else []):
        with open(path, "w") as f:
            json.dump(figures, f, indent=1)
    print("soak: %d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


def stop_all():
    """Stops whatever servers are still running (an interrupted run)."""
    for s in SERVERS:
        if s.proc.poll() is None:
            s.proc.terminate()
    for s in SERVERS:
        try:
            s.proc.wait(5)
        except subprocess.TimeoutExpired:
            s.proc.kill()
            s.proc.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    code = 130
    try:
        code = main()
    except KeyboardInterrupt:
        pass
    finally:
        stop_all()
    sys.exit(code)
