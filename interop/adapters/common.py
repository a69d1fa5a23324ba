"""Shared by the client adapters of interop/adapters/ (docs/client-adapters.md).

`pop3-conformance client --command TEMPLATE` runs an adapter as `/bin/sh -c TEMPLATE` in a
new process group, with the run described in the environment (POP3KIT_HOST, POP3KIT_PORT,
POP3KIT_USER, POP3KIT_PASS, POP3KIT_CA, POP3KIT_TASK, POP3KIT_MESSAGE, POP3KIT_LOGIN,
POP3KIT_TLS, POP3KIT_OUT, POP3KIT_STATE, POP3KIT_URL; docs/client-conformance.md, "The adapter
contract"). The adapters read only the environment, so the template is simply

    exec python3 interop/adapters/NAME.py

Exit status (the contract): 0 the client reported success, 1 it reported a failure, 125 this
client cannot be asked for the task, login or TLS mode (nothing connected), 128+N the client
was killed by signal N.

Process handling: the client runs as a child in the adapter's own process group (the one the
runner created), never in a group of its own, so the runner's kill of the group at its
deadline reaches the client and the delivery script it started in the same instant. Signals
sent to the adapter alone (SIGTERM, SIGINT, SIGHUP, SIGQUIT) are passed on to the client, and
the adapter then ends by the same signal, as an `exec`ed client would. A generous safety net
(POP3KIT_ADAPTER_TIMEOUT seconds, default 120; 0 disables it) ends a client that outlives
any sensible runner deadline; the runner's own --timeout is expected to be shorter.

Optional, outside the contract: POP3KIT_IDLE_TIMEOUT (seconds, default 30) is the network
inactivity timeout given to clients that have one (fetchmail, mpop, poplib); POP3KIT_TLS_NAME
(default "localhost") is the name checked in the server certificate by clients that do not
check IP addresses against it (fetchmail). run() sets POP3KIT_CLIENT_PID in the client's
environment for the delivery script (deliver.py).
"""
import os
import signal
import subprocess
import sys
import tempfile

TASKS = ("status", "fetch-all", "fetch-one", "fetch-new", "delete-after-fetch")
TLS_MODES = ("none", "starttls", "implicit")
HERE = os.path.dirname(os.path.abspath(__file__))
DELIVER = os.path.join(HERE, "deliver.py")
DELIVERY_FILE = ".pop3kit-delivery"


def log(text):
    """A line of the adapter's own on stderr (the runner keeps the client's output)."""
    print("adapter: %s" % text, file=sys.stderr, flush=True)


def _int_env(name, default):
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit("adapter: %s=%r is not a number" % (name, value))


SAFETY_NET = _int_env("POP3KIT_ADAPTER_TIMEOUT", 120)
# The contract's POP3KIT_TIMEOUT (the I/O timeout the runner asks the client to use) wins over
# the older POP3KIT_IDLE_TIMEOUT.
IDLE_TIMEOUT = _int_env("POP3KIT_TIMEOUT", _int_env("POP3KIT_IDLE_TIMEOUT", 30))


class Run:
    """One run as the runner describes it in the environment."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        missing = [n for n in ("HOST", "PORT", "USER", "PASS", "TASK", "LOGIN", "TLS", "OUT",
                               "STATE") if ("POP3KIT_" + n) not in env]
        if missing:
            # Not a run of the runner: a usage error, reported as a failure (exit 2).
            print("adapter: missing in the environment: %s (docs/client-conformance.md, "
                  "'The adapter contract')" % ", ".join("POP3KIT_" + n for n in missing),
                  file=sys.stderr)
            sys.exit(2)
        self.host = env["POP3KIT_HOST"]
        try:
            self.port = int(env["POP3KIT_PORT"])
        except ValueError:
            print("adapter: POP3KIT_PORT=%r is not a port" % env["POP3KIT_PORT"],
                  file=sys.stderr)
            sys.exit(2)
        self.user = env["POP3KIT_USER"]
        self.password = env["POP3KIT_PASS"]
        self.ca = env.get("POP3KIT_CA", "")
        self.task = env["POP3KIT_TASK"]
        self.message = env.get("POP3KIT_MESSAGE", "") or "2"
        self.login = env["POP3KIT_LOGIN"]
        self.tls = env["POP3KIT_TLS"]
        self.out = env["POP3KIT_OUT"]
        self.state = env["POP3KIT_STATE"]
        self.url = env.get("POP3KIT_URL", "")
        self.tls_name = env.get("POP3KIT_TLS_NAME", "") or "localhost"
        # What the contract does not know is unsupported, not an error of the client.
        if self.task not in TASKS:
            unsupported("task %r" % self.task)
        if self.tls not in TLS_MODES:
            unsupported("TLS mode %r" % self.tls)
        if self.login not in ("any", "user", "apop") and not self.login.startswith("sasl:"):
            unsupported("login %r" % self.login)
        if self.task == "fetch-one" and not self.message.isdigit():
            unsupported("message %r (not a message number)" % self.message)
        if self.tls != "none" and not self.ca:
            unsupported("TLS without POP3KIT_CA")
        os.makedirs(self.out, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)

    @property
    def mechanism(self):
        """The SASL mechanism of login sasl:MECH (upper case), else None."""
        return self.login[5:].upper() if self.login.startswith("sasl:") else None

    def describe(self):
        return "task %s, login %s, tls %s, %s:%d" % (self.task, self.login, self.tls,
                                                     self.host, self.port)


def unsupported(what):
    """This client cannot be asked for this: exit 125 before anything connects."""
    log("unsupported: %s" % what)
    sys.exit(125)


def write_private(path, text):
    """Writes a config file readable by its owner only (fetchmail and mpop insist), atomically
    (a temporary file renamed over PATH)."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def declare_delivery(out, changes):
    """Writes {out}/.pop3kit-delivery: what the client changes in a delivered message, one
    word per line (lf, from-line, header NAME, trailing-newline); nothing when it changes
    nothing."""
    path = os.path.join(out, DELIVERY_FILE)
    if not changes:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=out)
    with os.fdopen(fd, "w") as f:
        f.write("".join(c + "\n" for c in changes))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def store_message(out, data):
    """Stores one message (bytes) in OUT as the next NNN.eml, atomically: written to a
    dot-file (not a message for the runner) and linked to its final name only when complete.
    Returns the final path."""
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".eml", dir=out)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        return publish(out, tmp)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def publish(out, tmp):
    """Gives the complete file TMP (in OUT) the next free name NNN.eml (hard link: never
    overwrites, safe with concurrent deliveries) and removes TMP. Returns the final path."""
    n = len([f for f in os.listdir(out) if not f.startswith(".")]) + 1
    while True:
        final = os.path.join(out, "%03d.eml" % n)
        try:
            os.link(tmp, final)
            break
        except FileExistsError:
            n += 1
    os.unlink(tmp)
    return final


def exit_status(returncode, ok_codes=(0,)):
    """The contract's status for a client's subprocess return code."""
    if returncode < 0:
        return 128 - returncode  # killed by signal N: 128+N
    return 0 if returncode in ok_codes else 1


_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def run(argv, env=None, stdout=None, ok_codes=(0,), stderr=None):
    """Runs the client ARGV in this process group, environment ENV (default: this one) plus
    POP3KIT_CLIENT_PID, stdin from /dev/null, stdout to STDOUT and stderr to STDERR (default:
    this stderr). Returns (status, returncode): status in the contract's terms (0, 1 or
    128+N). A signal this adapter receives is passed on to the client and then ends the
    adapter by the same signal."""
    log("+ " + " ".join(argv))
    child_env = dict(os.environ if env is None else env)

    def in_child():
        # The client's pid, for its delivery script (deliver.py): set after the fork, in the
        # environment the client is started with and passes on to its MDA.
        os.environ.clear()
        os.environ.update(child_env)
        os.environ["POP3KIT_CLIENT_PID"] = str(os.getpid())

    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=in_child,
                            stdout=sys.stderr if stdout is None else stdout,
                            stderr=sys.stderr if stderr is None else stderr)
    previous = {}

    def forward(signum, _frame):
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass
        for s, h in previous.items():
            signal.signal(s, h)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for s in _FORWARDED:
        previous[s] = signal.signal(s, forward)
    try:
        try:
            rc = proc.wait(timeout=SAFETY_NET or None)
        except subprocess.TimeoutExpired:
            log("%s still running after %d s (POP3KIT_ADAPTER_TIMEOUT): ended" %
                (argv[0], SAFETY_NET))
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return 1, None
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    status = exit_status(rc, ok_codes)
    log("%s: %s -> adapter status %d" % (
        argv[0], "killed by signal %d" % -rc if rc < 0 else "exit %d" % rc, status))
    return status, rc


# The most of a client's stdout run_capture() returns: the adapter must stay small, or the
# runner's memory bound (the peak of the whole process group) would blame the client for it.
MAX_CAPTURE = 16 * 1024 * 1024


def run_capture(argv, env=None, ok_codes=(0,), stderr=None):
    """Like run(), the client's stdout captured: returns (status, returncode, stdout bytes, at
    most MAX_CAPTURE of them). The output goes through a temporary file, so a client writing
    much cannot block on a pipe."""
    with tempfile.TemporaryFile() as f:
        status, rc = run(argv, env=env, stdout=f, ok_codes=ok_codes, stderr=stderr)
        f.seek(0)
        return status, rc, f.read(MAX_CAPTURE)


def mda_command(out):
    """The delivery command line for clients that pipe each message to an MDA through
    /bin/sh -c (fetchmail, mpop): `exec` so that the delivery script's parent is the client
    itself (deliver.py checks at the end of input that the client is still alive)."""
    return "exec %s %s %s" % (sh_quote(sys.executable), sh_quote(DELIVER), sh_quote(out))


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"
