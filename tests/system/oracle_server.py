"""Other DNS servers run as oracles by the system tests: one process in the foreground,
unprivileged, in its own session, configured in its own temp dir, stopped by PID. `ForegroundServer`
is that plumbing (nsd_oracle.Nsd uses it too); `Knot` is knotd on it, with the server and log
settings every test uses and the rest of its config given by the test.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import _die_with_parent, free_port

KNOTD_CANDIDATES = ("/usr/sbin/knotd", "/usr/local/sbin/knotd")
KNOT_MISSING = "knotd not found: apt-get install knot (tools/setup.sh does)"


def installed(env_name, candidates, program):
    """$env_name if set (and nothing else), else the usual places and $PATH."""
    env = os.environ.get(env_name)
    cands = [env] if env else list(candidates) + [shutil.which(program)]
    for cand in cands:
        if cand and Path(cand).exists():
            return Path(cand)
    return None


def knotd_path():
    return installed("KNOTD", KNOTD_CANDIDATES, "knotd")


class ForegroundServer:
    """A subclass sets `name` and `logs` (files in its dir whose text is its log, stderr first)
    and says how to run it: conf_text(), argv(conf) and ready() (may it be asked now)."""

    name = "server"
    logs = ("stderr",)

    def __init__(self, workdir: Path, binary):
        self.workdir = Path(workdir)
        self.binary = binary
        self.proc = None
        self.port = None
        self.dir = None

    def launch(self, port, rundir):
        """Writes the config into `rundir` and starts the server there; does not wait for it."""
        self.port, self.dir = port, Path(rundir)
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / ("%s.conf" % self.name)
        conf.write_text(self.conf_text())
        with open(self.dir / self.logs[0], "wb") as err:
            self.proc = subprocess.Popen([str(a) for a in self.argv(conf)],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         cwd=str(self.dir), start_new_session=True,
                                         preexec_fn=_die_with_parent)
        return self

    def start(self, timeout=20.0):
        """On a free port, in a fresh dir per attempt; tries another port if it was taken."""
        for attempt in range(4):
            self.launch(free_port(), self.workdir / ("%s-%d" % (self.name, attempt)))
            state = self._wait_ready(timeout)
            if state == "ready":
                return self
            self.stop()
            if "in use" in self.log_text().lower():
                continue
            raise AssertionError("%s did not become ready (%s)\n%s" % (self.name, state,
                                                                      self.diag()))
        raise AssertionError("%s kept failing to bind\n%s" % (self.name, self.diag()))

    def failed(self):
        """Whether its log says it will not serve what it was given, though it runs on."""
        return False

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            if self.proc.poll() is not None:
                return "exited with status %s" % self.proc.returncode
            if self.failed():
                return "it logged an error"
            if time.monotonic() > deadline:
                return "no answer within %.0f s" % timeout
            if self.ready():
                return "ready"
            time.sleep(0.05)
        return "gave up polling"

    def stop(self, timeout=10.0):
        """SIGTERM to the process we started; if it has not exited in time, SIGKILL to its
        session (its own process group, made at start), which takes any children with it."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        return self.proc.returncode

    def log_text(self):
        out = ""
        for name in self.logs:
            try:
                out += (self.dir / name).read_text(errors="replace")
            except (OSError, TypeError):
                pass
        return out

    def diag(self):
        return "--- %s %s:\n%s\n---" % (self.name, " and ".join(self.logs),
                                        self.log_text()[-4000:])


KNOT_CONF = """\
server:
    listen: 127.0.0.1@{port}
    rundir: {dir}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
{server}log:
  - target: stderr
    any: info
"""


class Knot(ForegroundServer):
    """knotd with one worker of each kind, logging to stderr. `server` is more of the server
    section and `rest` the sections after log (both indented as in knot.conf); {port} and {dir}
    in them are the server's, other fields come from `fields`. `ready(port)`: may it be asked."""

    name = "knotd"
    logs = ("knotd.stderr",)

    def __init__(self, workdir: Path, *, server="", rest="", ready=None, **fields):
        super().__init__(workdir, knotd_path())
        self.server, self.rest, self.fields, self.is_ready = server, rest, fields, ready

    def conf_text(self):
        values = dict(self.fields, port=self.port, dir=self.dir)
        return (KNOT_CONF.format(port=self.port, dir=self.dir, server=self.server.format(**values))
                + self.rest.format(**values))

    def argv(self, conf):
        assert self.binary is not None, KNOT_MISSING
        return [self.binary, "-c", conf]

    def ready(self):
        return self.is_ready is None or self.is_ready(self.port)
