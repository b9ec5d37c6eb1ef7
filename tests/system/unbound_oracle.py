"""Unbound (NLnet Labs) as the validating resolver of the DNSSEC tests: one `unbound -d` in the
foreground, unprivileged, on a free loopback port, configured in its own temp dir, stopped by PID.

Each signed zone is a stub zone pointing at rrdnsd, with its trust anchor the DS records
`rrdnsctl dnssec ds` printed: Unbound checks the zone's DNSKEY RRset against them, then every
answer against the DNSKEYs. No root anchor (the zones are islands of trust), no remote control,
no chroot, no user switch. Caches are cut to `cache-max-ttl` seconds so that records, keys and
denials are fetched and validated again and again during a run; `val-log-level: 2` logs every
validation failure with its reason, which the tests quote.
"""

import shutil
import subprocess
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode

from oracle_server import ForegroundServer, installed

UNBOUND_CANDIDATES = ("/usr/sbin/unbound", "/usr/local/sbin/unbound")
UNBOUND_MISSING = ("unbound is not installed; the DNSSEC tests use it as the validating "
                   "resolver: apt-get install unbound (tools/setup.sh installs it)")

UNBOUND_CONF = """\
server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    num-threads: 1
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    log-time-ascii: yes
    verbosity: 1
    val-log-level: 2
    module-config: "validator iterator"
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    # Records, keys and denials are held {cache} s at most: fetched and validated again and again.
    cache-max-ttl: {cache}
    cache-max-negative-ttl: {cache}
    infra-host-ttl: 60
    val-bogus-ttl: 1
    prefetch: no
    prefetch-key: no
    serve-expired: no
    # The zones live under test. (RFC 6761), which Unbound answers itself by default.
    local-zone: "test." nodefault
{anchors}
remote-control:
    control-enable: no
{stubs}"""


def unbound_path():
    return installed("UNBOUND", UNBOUND_CANDIDATES, "unbound")


def checkconf_path():
    return shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"


class Unbound(ForegroundServer):
    """`unbound -d -c CONF` validating `zones` ({apex: [DS lines]}) served by rrdnsd on
    127.0.0.1:`auth_port`. ready(): it answers the first zone's SOA with AD set."""

    name = "unbound"
    logs = ("unbound.stderr",)

    def __init__(self, workdir: Path, zones: dict, auth_port: int, cache_ttl: int = 1):
        binary = unbound_path()
        assert binary is not None, UNBOUND_MISSING
        super().__init__(workdir, binary)
        self.zones = dict(zones)
        self.auth_port = auth_port
        self.cache_ttl = cache_ttl

    def conf_text(self):
        anchors = "".join('    trust-anchor: "%s"\n' % ds for lines in self.zones.values()
                          for ds in lines)
        stubs = "".join("stub-zone:\n    name: \"%s\"\n    stub-addr: 127.0.0.1@%d\n" % (
            apex, self.auth_port) for apex in self.zones)
        return UNBOUND_CONF.format(port=self.port, dir=self.dir, cache=self.cache_ttl,
                                   anchors=anchors.rstrip("\n"), stubs=stubs)

    def argv(self, conf):
        # unbound-checkconf first: a config it refuses is the test's bug, said plainly.
        check = subprocess.run([checkconf_path(), str(conf)], capture_output=True, text=True,
                               timeout=30)
        assert check.returncode == 0, "unbound-checkconf refused %s:\n%s%s\n%s" % (
            conf, check.stdout, check.stderr, Path(conf).read_text())
        return [self.binary, "-d", "-c", conf]

    def ready(self):
        apex = next(iter(self.zones))
        try:
            r = self.ask(apex, "SOA", timeout=1.0)
        except Exception:
            return False
        return r.rcode() == dns.rcode.NOERROR and bool(r.flags & dns.flags.AD)

    def ask(self, qname, qtype="A", timeout=3.0):
        """One query with RD and DO set (so Unbound reports AD), over UDP, TCP if truncated."""
        q = dns.message.make_query(qname, qtype, want_dnssec=True, use_edns=0, payload=1232)
        q.flags |= dns.flags.RD
        r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, "127.0.0.1", port=self.port, timeout=timeout)
        return r

    def failures(self):
        """The log lines of validation failures (val-log-level 2) and errors."""
        return [line for line in self.log_text().splitlines()
                if "validation failure" in line or " error:" in line]
