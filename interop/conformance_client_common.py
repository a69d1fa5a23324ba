"""Shared by the interop/conformance_client_*.py wrappers: `pop3-conformance client --command`
runs one of them per client-direction case as

    python3 interop/conformance_client_NAME.py {url} {ca} {args}

{url} is pop3://user:pass@127.0.0.1:PORT (or pop3s://), {ca} a PEM file of the runner's
certificate, {args} the case's `client:` words in pop3-client's vocabulary: options --starttls,
--tls, --auth MECH (APOP or a SASL mechanism), then commands capa, stat, list [N], uidl [N],
retr N, top N L, dele N, noop, rset, quit. Each wrapper does what its program can of that and
exits 0 on success, 1 when the program failed, 2 when the program cannot be asked for it (it
then does not connect at all).

The runner kills a client after twice its step timeout (10 s by default), but only the shell
it started; the wrappers therefore bound their program themselves (DEADLINE), so that nothing
outlives a case.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

# Seconds a program may run; below the runner's 2 x step timeout even with --timeout 5.
DEADLINE = 8

COMMANDS = {"capa": 0, "stat": 0, "list": (0, 1), "uidl": (0, 1), "retr": 1, "top": 2,
            "dele": 1, "noop": 0, "rset": 0, "quit": 0}


class Request:
    """What the case asks: where to connect, how to secure and log in, which commands."""

    def __init__(self, argv):
        if len(argv) < 2:
            raise SystemExit("usage: %s URL CA [--starttls|--tls] [--auth MECH] COMMAND..." %
                             os.path.basename(sys.argv[0]))
        self.url, self.ca = argv[0], argv[1]
        u = urllib.parse.urlsplit(self.url)
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port
        self.user = urllib.parse.unquote(u.username or "")
        self.password = urllib.parse.unquote(u.password or "")
        self.tls = u.scheme == "pop3s"
        self.starttls = False
        self.auth = None  # None: USER/PASS
        self.commands = []  # [(name, [int args])]
        words = list(argv[2:])
        while words and words[0].startswith("--"):
            w = words.pop(0)
            if w == "--starttls":
                self.starttls = True
            elif w == "--tls":
                self.tls = True
            elif w == "--auth" and words:
                self.auth = words.pop(0).upper()
            else:
                raise SystemExit("unknown option %s" % w)
        while words:
            name = words.pop(0).lower()
            if name not in COMMANDS:
                raise SystemExit("unknown command %s" % name)
            want = COMMANDS[name]
            lo, hi = want if isinstance(want, tuple) else (want, want)
            args = []
            while len(args) < hi and words and words[0].isdigit():
                args.append(int(words.pop(0)))
            if len(args) < lo:
                raise SystemExit("%s needs %d argument(s)" % (name, lo))
            self.commands.append((name, args))

    def names(self):
        return [c for c, _ in self.commands]

    def only_status(self):
        """True when nothing is asked that retrieves or deletes a message."""
        return not set(self.names()) & {"retr", "top", "dele"}


def cannot(program, what):
    """The program cannot be asked for this: say so and exit 2 without connecting."""
    print("%s cannot %s" % (program, what), file=sys.stderr)
    sys.exit(2)


def run(argv, env=None, ok_codes=(0,)):
    """Runs argv bounded by DEADLINE; its output goes to stderr. Exits with 0 when the exit
    code is one of ok_codes, 1 otherwise."""
    print("+ " + " ".join(argv), file=sys.stderr)
    try:
        p = subprocess.run(argv, env=env, stdout=sys.stderr, stderr=sys.stderr,
                           stdin=subprocess.DEVNULL, timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        print("%s: killed after %d s" % (argv[0], DEADLINE), file=sys.stderr)
        sys.exit(1)
    print("%s: exit %d" % (argv[0], p.returncode), file=sys.stderr)
    sys.exit(0 if p.returncode in ok_codes else 1)


class TempDir:
    """A private temporary folder (mode 700), removed at the end unless
    POP3KIT_INTEROP_KEEP is set."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="pop3kit-cc-")
        return self.path

    def __exit__(self, *exc):
        if not os.environ.get("POP3KIT_INTEROP_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)
        return False


def write_private(path, text):
    """Writes a config file readable by its owner only (fetchmail and mpop insist)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
