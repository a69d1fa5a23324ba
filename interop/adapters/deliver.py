#!/usr/bin/env python3
"""The delivery script (MDA) of the fetchmail and mpop adapters (docs/client-adapters.md):

    deliver.py OUT        (the message on standard input)

Reads one message from standard input into a temporary dot-file in OUT (files whose name starts
with "." are not messages for the runner) and, only when the input ended normally, gives it the
next free name OUT/NNN.eml and exits 0. The bytes are stored exactly as the client piped them.

"Ended normally" means all three of:
- end of input was read (no read error);
- no signal arrived (SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT remove the temporary file and end
  the script by that signal; SIGKILL leaves only the dot-file);
- the client that feeds the pipe is still alive at end of input. A client that dies (a crash,
  a kill) closes the pipe just as one that finished writing does. The adapters start this
  script with `exec` through the client's shell, so the client is the parent, and tell it the
  client's pid in POP3KIT_CLIENT_PID (common.run() sets it in the client's environment, which
  the client passes on). A client waits for its MDA to end, so a parent other than the client,
  at the start (the client died before this script was even running) or at the end of input,
  means the input ended by the client's death: nothing is stored, exit 75 (EX_TEMPFAIL).
  Without POP3KIT_CLIENT_PID the parent at the start is taken as the client.
"""
import os
import signal
import sys
import tempfile
import time

tmp = None


def on_signal(signum, _frame):
    if tmp:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def main():
    global tmp
    if len(sys.argv) != 2:
        print("usage: deliver.py OUT < message", file=sys.stderr)
        return 64  # EX_USAGE
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGQUIT):
        signal.signal(s, on_signal)
    out = sys.argv[1]
    parent = os.getppid()
    expected = os.environ.get("POP3KIT_CLIENT_PID", "")
    if expected.isdigit():
        parent = int(expected)
    fd, tmp = tempfile.mkstemp(prefix=".deliver-", suffix=".part", dir=out)
    try:
        with os.fdopen(fd, "wb") as f:
            stdin = sys.stdin.buffer.raw
            while True:
                chunk = stdin.read(65536)
                if not chunk:
                    break
                f.write(chunk)
        # A dying client closes its end of the pipe before the kernel re-parents us: give
        # the re-parenting a moment before looking.
        if os.getppid() == parent:
            time.sleep(0.02)
        if os.getppid() != parent:
            print("deliver.py: the client ended before the message did; not stored",
                  file=sys.stderr)
            return 75
        os.chmod(tmp, 0o644)
        n = len([f for f in os.listdir(out) if not f.startswith(".")]) + 1
        while True:
            final = os.path.join(out, "%03d.eml" % n)
            try:
                os.link(tmp, final)  # never overwrites another delivery
                break
            except FileExistsError:
                n += 1
        return 0
    except OSError as e:
        print("deliver.py: %s" % e, file=sys.stderr)
        return 75
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        tmp = None


if __name__ == "__main__":
    sys.exit(main())
