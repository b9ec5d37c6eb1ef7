"""NSD (NLnet Labs) as a second oracle: one nsd in the foreground, unprivileged, serving one zone
from a temp dir, stopped by PID. Used by test_knot_differential.py.

Everything NSD writes stays in its temp dir: config, pidfile, zone list, xfrd state, log. No
database (database: ""), no remote control, no chroot, no user switch, no IPv6, one server
process. `minimal-responses: yes` leaves out the NS RRset and addresses a positive answer does
not need, as Knot and rrdnsd do (NSD's default adds them).
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import _die_with_parent, free_port

NSD_CANDIDATES = ("/usr/sbin/nsd", "/usr/local/sbin/nsd")
NSD_MISSING = ("nsd (NLnet Labs) is not installed; the differential test uses it as the second "
               "oracle: apt-get install nsd (tools/setup.sh installs it)")

NSD_CONF = """\
server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{zonesdir}"
    pidfile: "{dir}/nsd.pid"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    logfile: "{dir}/nsd.log"
    verbosity: 1
    minimal-responses: yes
    round-robin: no
remote-control:
    control-enable: no
zone:
    name: "{origin}"
    zonefile: "{zone}"
"""


def nsd_path():
    """$NSD if set (and nothing else), else the usual places and $PATH."""
    env = os.environ.get("NSD")
    cands = [env] if env else list(NSD_CANDIDATES) + [shutil.which("nsd")]
    for cand in cands:
        if cand and Path(cand).exists():
            return Path(cand)
    return None


class Nsd:
    """`nsd -d` in its own session; `ready` is a callable(port) -> bool that asks for the SOA."""

    def __init__(self, workdir: Path, zone: Path, origin: str, ready):
        self.binary = nsd_path()
        self.workdir = Path(workdir)
        self.zone = Path(zone)
        self.origin = origin
        self.ready = ready
        self.proc = None
        self.port = None
        self.dir = None

    def start(self, timeout=20.0):
        for attempt in range(4):
            self.port = free_port()
            self.dir = self.workdir / ("nsd-%d" % attempt)
            self.dir.mkdir(parents=True, exist_ok=True)
            conf = self.dir / "nsd.conf"
            # NSD reads $INCLUDEs relative to zonesdir: the zone's own directory.
            conf.write_text(NSD_CONF.format(port=self.port, dir=self.dir, origin=self.origin,
                                            zone=self.zone, zonesdir=self.zone.parent))
            with open(self.dir / "nsd.stderr", "wb") as err:
                self.proc = subprocess.Popen([str(self.binary), "-d", "-c", str(conf)],
                                             stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                             cwd=str(self.dir), start_new_session=True,
                                             preexec_fn=_die_with_parent)
            state = self._wait_ready(timeout)
            if state == "ready":
                return self
            self.stop()
            if "in use" in self.log_text().lower():
                continue
            raise AssertionError("nsd did not become ready (%s)\n%s" % (state, self.diag()))
        raise AssertionError("nsd kept failing to bind\n%s" % self.diag())

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            if self.proc.poll() is not None:
                return "exited with status %s" % self.proc.returncode
            if " error: " in self.log_text():
                return "it logged an error"  # a zone it could not read: it serves on without
            if time.monotonic() > deadline:
                return "no SOA answer within %.0f s" % timeout
            if self.ready(self.port):
                return "ready"
            time.sleep(0.05)
        return "gave up polling"

    def stop(self, timeout=10.0):
        """SIGTERM to the nsd we started, which stops its server and xfrd children; if it has
        not exited in time, SIGKILL to its session (its own process group, made at start)."""
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
        for name in ("nsd.stderr", "nsd.log"):
            try:
                out += (self.dir / name).read_text(errors="replace")
            except (OSError, TypeError):
                pass
        return out

    def diag(self):
        return "--- nsd stderr and log:\n%s\n---" % self.log_text()[-4000:]
