#!/usr/bin/env python3
"""Opens pop3-conformance's HTML report in headless Chromium and checks that it works.

Three reports are written: the whole server suite against the embedded mock server (every case
passes), the suite against pop3-mockserver misbehaving as the bare-lf scenario (failures,
errors and skips, each with its dialogue), and the client cases of RFC 2595 against pop3kit's
client library. Each is loaded in Chromium over the DevTools protocol
(--remote-debugging-pipe; Python's standard library only) and must show no console error, no
uncaught exception and no request other than the file itself; every case of the run must be a
row; the filters (verdict, RFC, level, and text typed into the search box) must change the rows
shown to the right ones; a copy without its script must show every row (readable without JS).
Screenshots go to the output folder.

Exit status: 0 passed, 1 failed, 77 skipped (Chromium is not installed: ctest's SKIP_RETURN_CODE).
"""

import argparse
import base64
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print("ok:", message)


class Chromium:
    """A headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-ended
    JSON messages)."""

    def __init__(self, binary, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="pop3kit-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Out of the way of 3 and 4, which the child's ends become.
        to_child_r = self._high(to_child_r)
        from_child_w = self._high(from_child_w)

        # Only 3 and 4 are inherited: Python's own descriptors are close-on-exec.
        def child_fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [
            binary, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe",
            "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--mute-audio", "--hide-scrollbars",
            "--window-size=1280,1000", "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds,
                                     close_fds=False, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    @staticmethod
    def _high(fd):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
        os.close(fd)
        return high

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise Failure("Chromium closed the DevTools pipe (exit %s)" % self.proc.poll())
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        return self.next_id

    def call(self, method, params=None, session=None):
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise Failure("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method, session):
        deadline = time.monotonic() + self.timeout
        for i, event in enumerate(self.events):
            if event["method"] == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            message = self._read_message(deadline)
            if message.get("method") == method and message.get("sessionId") == session:
                return message
            if "method" in message:
                self.events.append(message)

    def close(self):
        try:
            if self.proc.poll() is None:
                self.send("Browser.close")
                self.proc.wait(timeout=5)
        except Exception:
            pass
        if self.proc.poll() is None:
            # Its renderers and helpers are in the process group it leads (start_new_session).
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    def __init__(self, browser):
        self.b = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget",
                                    {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def call(self, method, params=None):
        return self.b.call(method, params, self.session)

    def load(self, path):
        self.b.events.clear()
        url = "file://" + os.path.abspath(path)
        self.call("Page.navigate", {"url": url})
        self.b.wait_event("Page.loadEventFired", self.session)
        self.evaluate("1")  # gather what the page logged while loading
        return url

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True,
                            "awaitPromise": True})
        if "exceptionDetails" in result:
            raise Failure("evaluating %r: %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def problems(self, url):
        """Console errors, uncaught exceptions and requests for anything but the page."""
        found = []
        for e in self.b.events:
            if e.get("sessionId") != self.session:
                continue
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                found.append("console.%s: %s" % (p["type"], [a.get("value") for a in p["args"]]))
            elif m == "Runtime.exceptionThrown":
                found.append("exception: %s" % p["exceptionDetails"])
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                found.append("log: %s" % p["entry"].get("text"))
            elif m == "Network.requestWillBeSent":
                asked = p["request"]["url"]
                if asked != url and not asked.startswith("data:"):
                    found.append("request: %s" % asked)
        return found

    def visible_rows(self):
        return self.evaluate("Array.from(document.querySelectorAll('#cases details.case'))"
                             ".filter(e => e.getClientRects().length > 0).length")

    def set_select(self, element, value):
        self.evaluate("(() => { const s = document.getElementById(%s); s.value = %s; "
                      "s.dispatchEvent(new Event('change')); })()"
                      % (json.dumps(element), json.dumps(value)))

    def type_text(self, element, text):
        self.evaluate("document.getElementById(%s).focus()" % json.dumps(element))
        for ch in text:
            self.call("Input.dispatchKeyEvent", {"type": "keyDown", "text": ch, "key": ch})
            self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})

    def click(self, selector):
        box = self.evaluate("(() => { const e = document.querySelector(%s); "
                            "e.scrollIntoView({block: 'start'}); window.scrollBy(0, -60); "
                            "const r = e.getBoundingClientRect(); "
                            "return {x: r.x + Math.min(20, r.width / 2), "
                            "y: r.y + r.height / 2}; })()"
                            % json.dumps(selector))
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "clickCount": 1})

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        print("screenshot:", path)


def run(args, timeout):
    print("$", " ".join(args))
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def counts_of(console):
    """The counts of a console report's last line."""
    last = console.strip().splitlines()[-1]
    found = dict((word, int(n)) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)",
                                                         last))
    return last, found


def write_reports(conformance, mockserver, scenarios, out):
    """The embedded run's report, and one against a misbehaving pop3-mockserver."""
    embedded = os.path.join(out, "embedded.html")
    status, console, err = run([conformance, "server", "--no-color", "--html", embedded], 300)
    check(status == 0 and os.path.exists(embedded),
          "pop3-conformance server --html wrote %s (exit %d) %s" % (embedded, status, err))
    _, listed, _ = run([conformance, "server", "--list"], 60)
    cases = len(listed.strip().splitlines())

    failures = os.path.join(out, "failures.html")
    server = subprocess.Popen([mockserver, "--scenario", os.path.join(scenarios, "bare-lf.toml"),
                               "--quiet", "--threads", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 30)
        port = None
        while ready and port is None:
            line = server.stdout.readline()
            if not line:
                break
            m = re.match(r"listening pop3 127\.0\.0\.1:(\d+)", line)
            if m:
                port = m.group(1)
        check(port is not None, "pop3-mockserver --scenario bare-lf.toml is listening")
        status, console2, err = run([conformance, "server", "--no-color", "--timeout", "1",
                                     "--target", "pop3://user:pass@127.0.0.1:" + port,
                                     "--html", failures], 300)
        check(status in (0, 1) and os.path.exists(failures),
              "pop3-conformance server --target ... --html wrote %s (exit %d) %s"
              % (failures, status, err))
    finally:
        server.stdout.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # The client direction: a few cases against pop3kit's client library.
    client = os.path.join(out, "client.html")
    only = ["--only", "client/rfc2595/*"]
    status, _, err = run([conformance, "client", "--no-color", "--html", client] + only, 300)
    check(status == 0 and os.path.exists(client),
          "pop3-conformance client --html wrote %s (exit %d) %s" % (client, status, err))
    _, listed, _ = run([conformance, "client", "--list"] + only, 60)
    return ((embedded, cases, counts_of(console)), (failures, cases, counts_of(console2)),
            (client, len(listed.strip().splitlines())))


def check_page(page, path, cases):
    url = page.load(path)
    problems = page.problems(url)
    check(not problems, "%s: no console error, exception or outside request %s"
          % (os.path.basename(path), problems))
    total = page.evaluate("document.querySelectorAll('#cases details.case').length")
    check(total == cases, "%s: a row for each of the %d cases (%d)"
          % (os.path.basename(path), cases, total))
    check(page.visible_rows() == total, "every row is shown before filtering")
    check(page.evaluate("document.getElementById('filters').hidden") is False,
          "the script showed the filter bar")
    return total


def check_embedded(page, path, cases, out):
    total = check_page(page, path, cases)
    # Text typed into the search box: the rows whose text holds it.
    page.type_text("f-text", "STLS")
    holding = page.evaluate("Array.from(document.querySelectorAll('#cases details.case'))"
                            ".filter(e => e.textContent.toLowerCase().includes('stls')).length")
    shown = page.visible_rows()
    check(0 < shown < total and shown == holding,
          "typing STLS in the search box shows the %d rows that mention it (%d of %d)"
          % (holding, shown, total))
    check(page.evaluate("document.getElementById('f-count').textContent")
          == "%d of %d cases shown" % (shown, total), "the count says so")
    page.click("#f-reset")
    check(page.visible_rows() == total, "reset shows every row again")
    for element, value, attribute in (("f-rfc", "2595", "rfc"), ("f-level", "SHOULD", "l")):
        page.set_select(element, value)
        wanted = page.evaluate("document.querySelectorAll('#cases details.case[data-%s=\"%s\"]')"
                               ".length" % (attribute, value))
        shown = page.visible_rows()
        check(0 < shown < total and shown == wanted,
              "the %s filter %s shows its %d rows (%d)" % (element, value, wanted, shown))
        page.set_select(element, "")
    check(page.visible_rows() == total, "all filters off: every row")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(os.path.join(out, "embedded.png"))
    problems = page.problems("file://" + os.path.abspath(path))
    check(not problems, "no console error while filtering %s" % problems)


def check_failures(page, path, cases, counts, out):
    total = check_page(page, path, cases)
    failed = counts[1].get("failed", 0)
    check(failed > 0, "the bare-lf run has failures (%s)" % counts[0])
    page.set_select("f-verdict", "failed")
    check(page.visible_rows() == failed,
          "the verdict filter 'failed' shows the %d failed cases (%d)"
          % (failed, page.visible_rows()))
    # The summary's count links set the filters too.
    page.click("a[data-f='{\"v\":\"error\"}']")
    errors = counts[1].get("error", 0)
    check(page.visible_rows() == errors,
          "the summary's error count shows the %d errors (%d)" % (errors, page.visible_rows()))
    page.set_select("f-verdict", "failed")
    # A click on a failed case opens it on its dialogue, the differing line beside the expected.
    page.click("#cases details.case:not([hidden]) > summary")
    check(page.evaluate("document.querySelector('#cases details.case:not([hidden])').open"),
          "a click opens the first failed case")
    check(page.evaluate("!!document.querySelector('#cases details.case:not([hidden]) .wire .xd')"),
          "its dialogue marks the line where expected and actual part")
    page.screenshot(os.path.join(out, "failures.png"))
    problems = page.problems("file://" + os.path.abspath(path))
    check(not problems, "no console error while filtering %s" % problems)


def check_client(page, path, cases, out):
    """A client run's page: each case's trace with its connection and the deviation marked."""
    check_page(page, path, cases)
    page.click("#cases details.case > summary")
    check(page.evaluate("!!document.querySelector('#cases details.case[open] .wire.k')"),
          "a client case's dialogue has the connection column")
    check(page.evaluate("document.querySelectorAll('#cases .wire .dv').length") > 0,
          "the lines that carried a deviation are marked")
    page.screenshot(os.path.join(out, "client.png"))
    problems = page.problems("file://" + os.path.abspath(path))
    check(not problems, "no console error on the client page %s" % problems)


def check_without_script(page, path, cases, out):
    """A copy without its script: every case is there and shown, the filter bar is not."""
    with open(path, encoding="utf-8") as f:
        html = f.read()
    stripped = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    check(stripped != html, "the report's script removed for the no-JS copy")
    nojs = os.path.join(out, "failures-nojs.html")
    with open(nojs, "w", encoding="utf-8") as f:
        f.write(stripped)
    url = page.load(nojs)
    check(not page.problems(url), "the no-JS copy loads without error")
    check(page.visible_rows() == cases, "without JS every case is a visible row")
    check(page.evaluate("document.getElementById('filters').getClientRects().length") == 0,
          "without JS the filter bar (which needs it) is hidden")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conformance", required=True, help="pop3-conformance")
    parser.add_argument("--mockserver", required=True, help="pop3-mockserver")
    parser.add_argument("--scenarios", required=True, help="mockserver/scenarios")
    parser.add_argument("--out", required=True, help="output folder (reports, screenshots)")
    parser.add_argument("--chromium", default=os.environ.get("POP3KIT_CHROMIUM", "chromium"))
    parser.add_argument("--timeout", type=float, default=30, help="per DevTools call, seconds")
    args = parser.parse_args()

    binary = shutil.which(args.chromium)
    if not binary:
        print("SKIP: %s is not installed (Debian: apt-get install chromium; scripts/setup.sh "
              "installs it)" % args.chromium)
        return SKIP
    os.makedirs(args.out, exist_ok=True)

    # A bound on the whole check, whatever hangs.
    def overtime(signum, frame):
        raise Failure("the check ran over its time bound")
    signal.signal(signal.SIGALRM, overtime)
    signal.alarm(360)

    browser = None
    try:
        (embedded, cases, counts), (failures, cases2, counts2), (client, cases3) = write_reports(
            args.conformance, args.mockserver, args.scenarios, args.out)
        browser = Chromium(binary, args.timeout)
        version = browser.call("Browser.getVersion")
        print("browser:", version.get("product"))
        page = Page(browser)
        check_embedded(page, embedded, cases, args.out)
        check_failures(page, failures, cases2, counts2, args.out)
        check_without_script(page, failures, cases2, args.out)
        check_client(page, client, cases3, args.out)
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAILED:", e)
        return 1
    finally:
        signal.alarm(0)
        if browser:
            browser.close()
    print("passed; reports and screenshots in", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
