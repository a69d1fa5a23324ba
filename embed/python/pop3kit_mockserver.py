"""pop3kit's mock POP3 server in Python tests (docs/embedding.md).

    from pop3kit_mockserver import MockServer

    with MockServer("--generate", "3:100") as server:
        client = poplib.POP3(server.host, server.port)

With pytest, the `pop3_mockserver` fixture starts servers and stops them after the test:

    pytest_plugins = ["pop3kit_mockserver"]        # in conftest.py

    def test_fetch(pop3_mockserver):
        server = pop3_mockserver("--user", "alice:secret")
        ...

The contract with the program is what `pop3-mockserver --help` says: once ready it prints
`listening pop3 HOST:PORT` (and `listening pop3s HOST:PORT` with --tls-listen) on stdout; it
stops cleanly on SIGTERM; exit status 2 is a bad command line or scenario, with FILE:LINE on
stderr. The program is the `binary` argument, else $POP3KIT_MOCKSERVER, else pop3-mockserver on
PATH (the Debian package installs it in /usr/bin).
"""

import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time

__all__ = ["MockServer", "MockServerError", "pop3_mockserver"]

_LISTENING = re.compile(r"^listening (pop3s?) (.+):(\d+)$")


class MockServerError(RuntimeError):
    """The server did not start: its exit status and what it said on stderr."""


class MockServer:
    """One pop3-mockserver process: started by start() (or `with`), stopped by stop().

    After start(): host, port (the plain listener), tls_port (with --tls-listen, else None),
    cert_file (with cert=True: the PEM certificate clients should trust, else None).
    """

    def __init__(self, *args, binary=None, cert=False, timeout=10.0):
        self.args = [str(a) for a in args]
        self.binary = binary or os.environ.get("POP3KIT_MOCKSERVER") or shutil.which(
            "pop3-mockserver")
        if not self.binary:
            raise MockServerError(
                "pop3-mockserver not found: pass binary=, set POP3KIT_MOCKSERVER or put it on PATH")
        self.cert = cert
        self.timeout = timeout
        self.host = self.port = self.tls_port = self.cert_file = None
        self._process = None
        self._dir = None
        self._stderr = None

    def start(self):
        self._dir = tempfile.TemporaryDirectory(prefix="pop3kit-mockserver-")
        args = [self.binary, *self.args]
        if self.cert:
            self.cert_file = os.path.join(self._dir.name, "cert.pem")
            args += ["--cert-out", self.cert_file]
        self._stderr = open(os.path.join(self._dir.name, "stderr.log"), "w+b")
        # Its own session: a test runner's Ctrl-C reaches the test, which stops the server.
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self._stderr, start_new_session=True)
        want = {"pop3"} | ({"pop3s"} if "--tls-listen" in self.args else set())
        try:
            self._read_contract(want)
        except BaseException:
            self.stop()
            raise
        # Nothing else is expected on stdout; drain it all the same, so the server never blocks.
        threading.Thread(target=self._process.stdout.read, daemon=True).start()
        return self

    def _read_contract(self, want):
        deadline = time.monotonic() + self.timeout
        selector = selectors.DefaultSelector()
        selector.register(self._process.stdout, selectors.EVENT_READ)
        pending = b""
        while want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MockServerError(f"pop3-mockserver printed no 'listening' line within "
                                      f"{self.timeout} s{self._said()}")
            if not selector.select(left):
                continue
            chunk = os.read(self._process.stdout.fileno(), 4096)
            if not chunk:
                status = self._process.wait()
                raise MockServerError(f"pop3-mockserver exited {status} before it was ready"
                                      f"{self._said()}")
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                m = _LISTENING.match(line.decode("utf-8", "replace").strip())
                if not m:
                    continue
                kind, host, port = m.group(1), m.group(2).strip("[]"), int(m.group(3))
                if kind == "pop3":
                    self.host, self.port = host, port
                else:
                    self.tls_port = port
                    self.host = self.host or host
                want.discard(kind)
        selector.close()

    def _said(self):
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return f": {text[-2000:]}" if text else ""

    @property
    def running(self):
        return self._process is not None and self._process.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s; returns the exit status (None if never started)."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        status = self._process.returncode
        self._process.stdout.close()
        self._stderr.close()
        self._dir.cleanup()
        return status

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


try:
    import pytest
except ImportError:  # the fixture needs pytest; MockServer does not
    pytest = None

if pytest is not None:

    @pytest.fixture
    def pop3_mockserver():
        """A factory: pop3_mockserver(*args, cert=False) starts a server; all stop after the test."""
        started = []

        def start(*args, **kwargs):
            server = MockServer(*args, **kwargs).start()
            started.append(server)
            return server

        try:
            yield start
        finally:
            errors = []
            for server in started:  # every one, even when stopping another failed
                try:
                    server.stop()
                except Exception as e:  # noqa: BLE001 (reported after the others stopped)
                    errors.append(e)
            if errors:
                raise errors[0]
