"""NSD (NLnet Labs) as a second oracle: one nsd in the foreground, unprivileged, serving one zone
from a temp dir, stopped by PID. Used by test_knot_differential.py.

Everything NSD writes stays in its temp dir: config, pidfile, zone list, xfrd state, log. No
database (database: ""), no remote control, no chroot, no user switch, no IPv6, one server
process. `minimal-responses: yes` leaves out the NS RRset and addresses a positive answer does
not need, as Knot and rrdnsd do (NSD's default adds them).
"""

from pathlib import Path

from oracle_server import ForegroundServer, installed

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
    return installed("NSD", NSD_CANDIDATES, "nsd")


class Nsd(ForegroundServer):
    """`nsd -d`; `ready` is a callable(port) -> bool that asks for the SOA."""

    name = "nsd"
    logs = ("nsd.stderr", "nsd.log")

    def __init__(self, workdir: Path, zone: Path, origin: str, ready):
        super().__init__(workdir, nsd_path())
        self.zone = Path(zone)
        self.origin = origin
        self.is_ready = ready

    def conf_text(self):
        # NSD reads $INCLUDEs relative to zonesdir: the zone's own directory.
        return NSD_CONF.format(port=self.port, dir=self.dir, origin=self.origin, zone=self.zone,
                               zonesdir=self.zone.parent)

    def argv(self, conf):
        return [self.binary, "-d", "-c", conf]

    def failed(self):
        return " error: " in self.log_text()  # a zone it could not read: it serves on without

    def ready(self):
        return self.is_ready(self.port)
