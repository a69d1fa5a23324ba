#!/usr/bin/python3
"""A minimal inetd ("nowait" stream service) for one program on 127.0.0.1.

usage: inetd.py PORTFILE LOG PROGRAM [ARG...]

Listens on 127.0.0.1 on a port the kernel chooses and writes that port number to PORTFILE
once it listens. For each connection it forks a child whose standard input and output are the
connected socket and whose standard error is appended to LOG, and execs PROGRAM there: what
inetd does for a "nowait" service such as popa3d in its default (inetd) mode. The children
are reaped as they exit. On SIGTERM or SIGINT it closes the listener, sends SIGTERM to the
children still running, waits for them (SIGKILL after 5 s) and exits.
"""
import os
import signal
import socket
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    portfile, log, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    children = set()
    stopping = False

    def on_term(_sig, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    lsock.settimeout(0.2)  # to notice SIGTERM and reap children between connections
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    sys.stderr.write("inetd.py: pid %d listening on 127.0.0.1:%d for %s\n"
                     % (os.getpid(), lsock.getsockname()[1], " ".join(argv)))
    sys.stderr.flush()

    def reap():
        while children:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                return
            if pid == 0:
                return
            children.discard(pid)

    while not stopping:
        try:
            conn, _ = lsock.accept()
        except (socket.timeout, InterruptedError):
            reap()
            continue
        pid = os.fork()
        if pid == 0:
            try:
                lsock.close()
                conn.setblocking(True)
                fd = conn.fileno()
                os.dup2(fd, 0)
                os.dup2(fd, 1)
                logfd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                os.dup2(logfd, 2)
                if logfd > 2:
                    os.close(logfd)
                if fd > 2:
                    os.close(fd)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                os.execv(argv[0], argv)
            except BaseException as e:  # noqa: BLE001 - the child must never return
                os.write(2, ("inetd.py: exec %s: %s\n" % (argv[0], e)).encode())
            os._exit(127)
        children.add(pid)
        conn.close()
        reap()

    lsock.close()
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 5
    while children and time.time() < deadline:
        reap()
        time.sleep(0.05)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while children:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        children.discard(pid)


if __name__ == "__main__":
    main()
