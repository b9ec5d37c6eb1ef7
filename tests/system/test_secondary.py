"""Secondaries follow rrdnsd: knotd (Debian's knot) runs as a secondary of rrdnsd, transfers its
zones, and after a reload serves the new data within 2 s because of the NOTIFY rrdnsd sends (its
SOA refresh is a day, so nothing else explains it). An IXFR at the current serial gets the single
SOA (dnspython's inbound transfer, kdig and dig); a reload whose records changed while the serial
did not is warned of (log, rrdnsctl reload and check); serial = "auto" raises the serial itself.

Needs /usr/sbin/knotd (package knot) and kdig (knot-dnsutils), dig (bind9-dnsutils).
"""

import re
import shutil
import subprocess
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from conftest import Daemon, free_port, rrdnsctl_path, stop_all, udp_exchange, write_zone
from oracle_server import Knot

FOLLOW_WITHIN = 2.0  # seconds from the reload's reply to the secondary serving the new data


def zone_toml(origin, serial, names, *, extra_top=""):
    """A TOML zone whose SOA refresh and retry are a day: a secondary only hurries on NOTIFY."""
    lines = ['origin = "%s"' % origin, "ttl = 300", extra_top, "[soa]", 'primary = "ns1"',
             'contact = "hostmaster"', "serial = %d" % serial, "refresh = 86400",
             "retry = 86400", "expire = 1209600", "minimum = 300", '[names."@"]',
             'NS = ["ns1"]', "[names.ns1]", 'A = "192.0.2.53"']
    for name, address in names.items():
        lines += ["[names.%s]" % name, 'A = "%s"' % address]
    return "\n".join(lines) + "\n"


def zone_rfc1035(origin, serial, names):
    lines = ["$ORIGIN %s" % origin, "$TTL 300",
             "@ SOA ns1 hostmaster %d 86400 86400 1209600 300" % serial, "@ NS ns1",
             "ns1 A 192.0.2.53"]
    lines += ["%s A %s" % (name, address) for name, address in names.items()]
    return "\n".join(lines) + "\n"


KNOT_SECONDARY_CONF = """\
database:
    storage: {dir}
remote:
  - id: primary
    address: 127.0.0.1@{primary}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    master: primary
    acl: notify_from_primary
    storage: {dir}
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
  - domain: keep.test.
  - domain: auto.test.
"""


class SecondaryKnot(Knot):
    """knotd as a secondary of rrdnsd, on a port the test chose; it has nothing to serve until it
    has transferred its zones, so it is started without waiting."""

    def __init__(self, workdir: Path, port: int, primary: int):
        super().__init__(workdir, rest=KNOT_SECONDARY_CONF, primary=primary)
        self.chosen_port = port

    def start(self):
        return self.launch(self.chosen_port, self.workdir)

    def ask(self, qname, qtype="A"):
        q = dns.message.make_query(qname, qtype)
        data = udp_exchange("127.0.0.1", self.port, q.to_wire(), timeout=0.5)
        return dns.message.from_wire(data) if data else None

    def wait_for(self, qname, qtype, want, timeout):
        """Polls until knotd answers `qname` with rdata text `want`; returns the time it took."""
        start = time.monotonic()
        for _ in range(100000):
            r = self.ask(qname, qtype)
            if r is not None and r.answer and want in [rd.to_text() for rd in r.answer[0]]:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                return None
            time.sleep(0.02)
        return None


def ctl(sock, *args):
    return subprocess.run([str(rrdnsctl_path()), "--socket", str(sock), *args],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """rrdnsd serving keep.test. (TOML, serial kept) and auto.test. (RFC 1035, serial = "auto"
    in its zones entry), sending NOTIFY to knotd, which is their secondary."""
    tmp = tmp_path_factory.mktemp("secondary")
    knot_port = free_port()
    sock = tmp / "control.sock"
    keep = write_zone(tmp / "keep.test.toml",
                      zone_toml("keep.test.", 1, {"www": "192.0.2.1"},
                                extra_top='notify = ["127.0.0.1:%d"]' % knot_port))
    auto = write_zone(tmp / "auto.test.zone", zone_rfc1035("auto.test.", 10, {"www": "192.0.2.1"}))

    def config(specs):
        return ("listen = [%s]\n" % ", ".join('"%s"' % s for s in specs) +
                'zones = ["%s", { file = "%s", serial = "auto" }]\n' % (keep, auto) +
                'notify = ["127.0.0.1:%d"]\n' % knot_port +  # server-wide: auto.test. uses it
                'allow-transfer = ["127.0.0.1"]\n'
                'control = "%s"\nthreads = 1\n' % sock)

    d = Daemon(tmp / "rrdnsd", config=config, probe=("keep.test.", "SOA"))
    started = [d.start()]
    knot = SecondaryKnot(tmp / "knot", knot_port, d.port).start()
    try:
        yield {"rrdnsd": d, "knot": knot, "sock": sock, "keep": keep, "auto": auto, "tmp": tmp}
    finally:
        knot.stop()
        stop_all(started)


def test_knotd_transfers_the_zones(pair):
    knot, d = pair["knot"], pair["rrdnsd"]
    for zone in ("keep.test.", "auto.test."):
        took = knot.wait_for("www." + zone, "A", "192.0.2.1", 30)
        assert took is not None, "knotd never served %s\n%s\n%s" % (zone, knot.log_text()[-3000:],
                                                                  d.diag())


def test_reload_with_a_new_serial_reaches_knotd_by_notify(pair):
    knot, d = pair["knot"], pair["rrdnsd"]
    assert knot.wait_for("www.keep.test.", "A", "192.0.2.1", 30) is not None, knot.log_text()[-3000:]
    mark = d.stderr_mark()
    write_zone(pair["keep"], zone_toml("keep.test.", 2, {"www": "192.0.2.1", "new": "192.0.2.2"},
                                       extra_top='notify = ["127.0.0.1:%d"]' % knot.port))
    r = ctl(pair["sock"], "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    # Knot's SOA refresh for the zone is a day: only the NOTIFY brings it here this soon.
    took = knot.wait_for("new.keep.test.", "A", "192.0.2.2", FOLLOW_WITHIN)
    assert took is not None, "knotd did not follow within %.0f s\n%s\n%s" % (
        FOLLOW_WITHIN, knot.log_text()[-3000:], d.stderr_text()[mark:])
    assert d.wait_stderr("NOTIFY for zone keep.test. (serial 2) to 127.0.0.1:%d: answered"
                         % knot.port, timeout=5, since=mark), d.stderr_text()[mark:]
    assert "notify" in knot.log_text().lower()


def test_serial_auto_raises_the_serial_so_knotd_follows(pair):
    knot, d = pair["knot"], pair["rrdnsd"]
    assert knot.wait_for("www.auto.test.", "A", "192.0.2.1", 30) is not None, knot.log_text()[-3000:]
    soa = d.ask("auto.test.", "SOA").answer[0][0]
    before = soa.serial
    assert before >= 10
    # The records change; the file's serial does not.
    write_zone(pair["auto"], zone_rfc1035("auto.test.", 10, {"www": "192.0.2.1",
                                                             "new": "192.0.2.3"}))
    r = ctl(pair["sock"], "reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "serial" not in r.stdout.lower() or "warning" not in r.stdout.lower(), r.stdout
    assert d.ask("auto.test.", "SOA").answer[0][0].serial == before + 1
    took = knot.wait_for("new.auto.test.", "A", "192.0.2.3", FOLLOW_WITHIN)
    assert took is not None, knot.log_text()[-3000:]
    # Nothing changed: the serial stays where it is.
    assert ctl(pair["sock"], "reload").returncode == 0
    assert d.ask("auto.test.", "SOA").answer[0][0].serial == before + 1
    # The operator raises the file's serial past ours: theirs is used.
    write_zone(pair["auto"], zone_rfc1035("auto.test.", before + 100,
                                          {"www": "192.0.2.1", "new": "192.0.2.3"}))
    assert ctl(pair["sock"], "reload").returncode == 0
    assert d.ask("auto.test.", "SOA").answer[0][0].serial == before + 100


def current_serial(d, zone):
    return d.ask(zone, "SOA").answer[0][0].serial


def test_ixfr_at_the_current_serial_gets_one_soa_dnspython(pair):
    d = pair["rrdnsd"]
    serial = current_serial(d, "keep.test.")
    messages = list(dns.query.xfr("127.0.0.1", "keep.test.", rdtype=dns.rdatatype.IXFR,
                                  serial=serial, port=d.port, timeout=5, lifetime=10))
    assert len(messages) == 1
    assert [rr.rdtype for rr in messages[0].answer] == [dns.rdatatype.SOA]
    assert len(messages[0].answer[0]) == 1 and messages[0].answer[0][0].serial == serial
    # dnspython's inbound transfer accepts it as "up to date" (it refused the whole zone before).
    zone = dns.zone.Zone("keep.test.")
    query, _ = dns.xfr.make_query(zone, serial=serial)
    dns.query.inbound_xfr("127.0.0.1", zone, query, port=d.port, timeout=5, lifetime=10)
    assert len(zone.nodes) == 0


def test_ixfr_from_an_older_serial_gets_the_whole_zone_dnspython(pair):
    d = pair["rrdnsd"]
    serial = current_serial(d, "keep.test.")
    zone = dns.zone.Zone("keep.test.")
    query, _ = dns.xfr.make_query(zone, serial=serial - 1)
    dns.query.inbound_xfr("127.0.0.1", zone, query, port=d.port, timeout=5, lifetime=10)
    assert zone.get_rdataset("www", "A")[0].to_text() == "192.0.2.1"
    assert zone.get_rdataset("@", "SOA")[0].serial == serial


def test_ixfr_kdig_and_dig(pair):
    d = pair["rrdnsd"]
    serial = current_serial(d, "keep.test.")
    kdig, dig = shutil.which("kdig"), shutil.which("dig")
    assert kdig, "kdig not found: apt-get install knot-dnsutils (tools/setup.sh does)"
    assert dig, "dig not found: apt-get install bind9-dnsutils (tools/setup.sh does)"
    for transport in ("+tcp", "+notcp"):
        out = subprocess.run([kdig, "@127.0.0.1", "-p", str(d.port), "keep.test.",
                              "IXFR=%d" % serial, transport, "+time=5"],
                             capture_output=True, text=True, timeout=30).stdout
        assert "(1 messages, 1 records)" in out, out
        assert re.search(r"keep\.test\.\s+300\s+IN\s+SOA\s+.*\b%d\b" % serial, out), out
    out = subprocess.run([dig, "@127.0.0.1", "-p", str(d.port), "keep.test.", "IXFR=%d" % serial,
                          "+time=5", "+tries=1"], capture_output=True, text=True, timeout=30).stdout
    assert "XFR size: 1 records" in out, out
    # From an older serial over TCP: the whole zone, SOA first and last.
    out = subprocess.run([kdig, "@127.0.0.1", "-p", str(d.port), "keep.test.",
                          "IXFR=%d" % (serial - 1), "+tcp", "+time=5"],
                         capture_output=True, text=True, timeout=30).stdout
    records = [l for l in out.splitlines() if l and not l.startswith(";")]
    assert records[0].split()[3] == "SOA" and records[-1].split()[3] == "SOA", out
    assert any(l.startswith("www.keep.test.") for l in records), out


def test_changed_records_under_the_same_serial_are_warned_of(daemons, tmp_path):
    sock = tmp_path / "control.sock"
    zone = write_zone(tmp_path / "same.test.toml",
                      zone_toml("same.test.", 7, {"www": "192.0.2.1"}))
    d = daemons(zones=[zone], probe=("same.test.", "SOA"),
                extra_args=["--control", str(sock)])
    write_zone(zone, zone_toml("same.test.", 7, {"www": "192.0.2.9"}))
    needle = "the records changed but the serial 7 is not above the one served before"
    checked = ctl(sock, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert needle in checked.stdout + checked.stderr, checked.stdout + checked.stderr
    mark = d.stderr_mark()
    reloaded = ctl(sock, "reload")
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    assert needle in reloaded.stdout + reloaded.stderr, reloaded.stdout + reloaded.stderr
    assert d.wait_stderr(needle, timeout=5, since=mark), d.stderr_text()[mark:]
    # The new records serve all the same (as Knot serves them), under the old serial.
    assert d.ask("www.same.test.").answer[0][0].to_text() == "192.0.2.9"
    assert current_serial(d, "same.test.") == 7
    # Raising the serial ends it: no warning.
    write_zone(zone, zone_toml("same.test.", 8, {"www": "192.0.2.10"}))
    reloaded = ctl(sock, "reload")
    assert reloaded.returncode == 0 and needle not in reloaded.stdout + reloaded.stderr
