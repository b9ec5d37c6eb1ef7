"""System tests for sites and topology maps (docs/topology.md): the nearest healthy site by
client subnet, with real replicas and the real dig.

The first tests run zones/geo.toml as shipped (only the check port changes): six rrdns-replica
processes, east on 127.0.1.1-3 and west on 127.0.2.1-3, checked with GET /healthz every second
(rise 2, fall 2); the map sends 10.1.0.0/16 to [east, west], 10.2.0.0/16 to [west, east] and
everyone else to [east, west]. dig asks as a client of a network would (+subnet, EDNS Client
Subnet). They check the issue's "done when": east clients get only east, west clients only west,
with the ECS scope the scope rule gives; stopping the three east replicas moves 10.1.x clients to
west within 3 s, and starting them brings them back within 4 s (the times are printed).

The last tests use a zone of their own whose members are never checked (check type none) and
change its health with rrdnsctl drain, so each state is reached at once: the scope widens when
two networks' sites give the same answer and narrows back when they differ again, and a site's
spilled clients are shared by the next sites in proportion to their capacity.

Only processes started here are stopped, by PID.
"""

import re
import shutil
import subprocess
import time
from collections import Counter

import dns.edns
import dns.message
import dns.rdatatype
import pytest

from conftest import (Daemon, Replica, free_port, repo_zone, rrdnsctl_path, rrdnsd_path,
                      source_dir, stop_all, stop_replicas, udp_exchange, write_zone)

ORIGIN = "geo.test."
WWW = "www.geo.test."
EAST = ("127.0.1.1", "127.0.1.2", "127.0.1.3")
WEST = ("127.0.2.1", "127.0.2.2", "127.0.2.3")
# The bounds, from the moment the replicas stop (start) to the first answer that shows
# it: fall 2 at interval 1 is 1-2 s, rise 2 the same, plus publication.
FAILOVER_BOUND = 3.0
RECOVERY_BOUND = 4.0
DEADLINE = 15.0  # how long a wait for a state may take before the test gives up
TTL, DEGRADED_TTL = 5, 2  # zones/geo.toml's pool


# --------------------------------------------------------------------------------------------
# dig

def dig_path():
    path = shutil.which("dig")
    assert path, "dig not found: apt-get install bind9-dnsutils (tools/setup.sh does)"
    return path


class Answer:
    """What dig showed: status, the A addresses (sorted), their TTLs, the ECS option's text
    ("10.1.2.0/24/15") and scope (None without ECS)."""

    def __init__(self, text, name=WWW):
        self.text = text
        m = re.search(r"status: ([A-Z]+)", text)
        self.status = m.group(1) if m else None
        rrs = re.findall(r"^%s\s+(\d+)\s+IN\s+A\s+(\S+)$" % re.escape(name), text, re.M)
        self.addresses = tuple(sorted(a for _, a in rrs))
        self.ttls = {int(t) for t, _ in rrs}
        m = re.search(r"^; CLIENT-SUBNET: (\S+)/(\d+)/(\d+)$", text, re.M)
        self.ecs = m.group(0)[len("; CLIENT-SUBNET: "):] if m else None
        self.scope = int(m.group(3)) if m else None

    def __repr__(self):
        return "%s %s ttl %s ecs %s" % (self.status, " ".join(self.addresses),
                                        sorted(self.ttls), self.ecs)


def dig(port, subnet=None, name=WWW):
    argv = [dig_path(), "@127.0.0.1", "-p", str(port), name, "A", "+norecurse", "+time=1",
            "+tries=1"]
    if subnet:
        argv.append("+subnet=%s" % subnet)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return Answer(out.stdout, name)


def wait_for(port, subnet, addresses, deadline=DEADLINE, name=WWW):
    """Polls with dig until clients of `subnet` get exactly `addresses`; returns (seconds it
    took, that answer). Fails with the last answer after `deadline`."""
    want = tuple(sorted(addresses))
    start = time.monotonic()
    last = None
    for _ in range(10000):
        last = dig(port, subnet, name)
        if last.addresses == want:
            return time.monotonic() - start, last
        if time.monotonic() - start > deadline:
            break
        time.sleep(0.05)
    pytest.fail("clients of %s still get %r after %.0f s, expected %s" % (
        subnet, last, deadline, " ".join(want)))


# --------------------------------------------------------------------------------------------
# zones/geo.toml with its six replicas

@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    work = tmp_path_factory.mktemp("geo")
    port = free_port(EAST + WEST)
    replicas = []
    for i, host in enumerate(EAST + WEST):
        r = Replica(host, ("east%d" if i < 3 else "west%d") % (i % 3 + 1))
        r.port = port
        replicas.append(r)
    text = repo_zone("geo.toml").read_text()
    zone_text = re.sub(r"^port = 8080$", "port = %d" % port, text, flags=re.M)
    assert zone_text.count("port = %d" % port) == 1, "zones/geo.toml changed shape"
    zone = write_zone(work / "geo.toml", zone_text)
    started = []
    try:
        for r in replicas:
            r.start()
        d = Daemon(work / "rrdnsd", zones=[zone], threads=1, probe=(ORIGIN, "SOA"),
                   extra_args=["--control", str(work / "rrdnsd.sock")])
        started.append(d)
        d.start()
        d.replicas = replicas
        d.control = work / "rrdnsd.sock"
        yield d
    finally:
        stop_all(started)
        stop_replicas(replicas)


def test_example_config_with_geo_checks():
    """zones/rrdnsd.toml (which lists geo.toml) loads: every zone and the map are valid."""
    config = source_dir() / "zones" / "rrdnsd.toml"
    assert '"geo.toml"' in config.read_text()
    p = subprocess.run([str(rrdnsd_path()), "--config", str(config), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "rrdnsd --check %s: exit %d\n%s%s" % (config, p.returncode,
                                                                   p.stdout, p.stderr)


def test_clients_get_their_nearest_site(geo):
    # East clients: only east. The scope is the widest prefix around 10.1.2.0 in which every
    # address gets east: 10.0.0.0/15 holds 10.0.0.0/16 (default list: east) and 10.1.0.0/16;
    # 10.0.0.0/14 would take in 10.2.0.0/16 (west).
    _, a = wait_for(geo.port, "10.1.2.0/24", EAST)
    assert a.status == "NOERROR" and a.addresses == EAST, a
    assert a.ecs is not None, "no ECS option in the answer:\n" + a.text
    assert 1 <= a.scope <= 16, a
    assert a.ecs == "10.1.2.0/24/15", a
    assert a.ttls == {TTL}, a

    # West clients: only west; the scope is exactly 10.2.0.0/16.
    a = dig(geo.port, "10.2.5.0/24")
    assert a.addresses == WEST and a.ecs == "10.2.5.0/24/16", a
    # The scope may be longer than the prefix the client sent (RFC 7871 7.2.1).
    a = dig(geo.port, "10.2.0.0/8")
    assert a.addresses == EAST and a.ecs == "10.0.0.0/8/15", a  # dig sends 10.0.0.0/8

    # Others: the default list, east. 192.0.2.0 shares 128.0.0.0/1 with no mapped network.
    a = dig(geo.port, "192.0.2.0/24")
    assert a.addresses == EAST and a.ecs == "192.0.2.0/24/1", a
    # IPv6 clients: the map has no IPv6 network, so all of them get the default: scope 0.
    a = dig(geo.port, "2001:db8:1::/48")
    assert a.addresses == EAST and a.ecs == "2001:db8:1::/48/0", a
    # Without ECS the source address decides (127.0.0.1: default) and no ECS comes back.
    a = dig(geo.port)
    assert a.addresses == EAST and a.ecs is None, a


def test_east_down_moves_east_clients_to_west_and_back(geo):
    wait_for(geo.port, "10.1.2.0/24", EAST)
    east = geo.replicas[:3]
    for r in east:
        r.stop()
    stopped = time.monotonic()
    took, a = wait_for(geo.port, "10.1.2.0/24", WEST)
    failover = time.monotonic() - stopped
    print("east stopped: 10.1.2.0/24 on west after %.2f s (bound %.0f s)" % (failover,
                                                                           FAILOVER_BOUND))
    assert failover <= FAILOVER_BOUND, "10.1.x clients reached west after %.2f s" % failover
    # Spilled: the degraded TTL. The scope still covers 10.0.0.0/15, whose clients (default
    # list and 10.1.0.0/16) all spill to west; 10.2.0.0/16's clients get west as their nearest
    # site, which is another answer (not spilled, the pool's TTL), so it stays outside.
    assert a.ttls == {DEGRADED_TTL} and a.ecs == "10.1.2.0/24/15", a
    for _ in range(5):  # and it stays so
        a = dig(geo.port, "10.1.2.0/24")
        assert a.addresses == WEST, a
    a = dig(geo.port, "10.2.5.0/24")
    assert a.addresses == WEST and a.ecs == "10.2.5.0/24/16", a
    a = dig(geo.port, "192.0.2.0/24")
    assert a.addresses == WEST and a.ttls == {DEGRADED_TTL}, a
    a = dig(geo.port, "2001:db8:1::/48")
    assert a.addresses == WEST and a.ecs == "2001:db8:1::/48/0", a

    started = time.monotonic()
    for r in east:
        r.start()
    took, a = wait_for(geo.port, "10.1.2.0/24", EAST)
    recovery = time.monotonic() - started
    print("east started: 10.1.2.0/24 back on east after %.2f s (bound %.0f s)" % (
        recovery, RECOVERY_BOUND))
    assert recovery <= RECOVERY_BOUND, "10.1.x clients came back after %.2f s" % recovery
    assert a.ecs == "10.1.2.0/24/15" and a.ttls == {TTL}, a
    a = dig(geo.port, "10.2.5.0/24")
    assert a.addresses == WEST, a


# --------------------------------------------------------------------------------------------
# Scope under changing health, and spill by capacity: members never checked, drained at will

SCOPE_ORIGIN = "scope.test."
A, B, C = "127.0.3.1", "127.0.3.2", "127.0.3.3"
# spread: site near (one member) spills to far1 (capacity 300) and far2 (capacity 100).
NEAR, FAR1, FAR2 = "127.0.4.1", "127.0.4.2", "127.0.4.3"

SCOPE_ZONE = """\
origin = "scope.test."
ttl = 30
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
[names."@"]
NS = "ns1"
[names.ns1]
A = "127.0.0.1"

[maps.m]
default = ["c"]
nets = {{ "10.0.0.0/16" = ["a", "c"], "10.1.0.0/16" = ["b", "c"] }}

[pools.www]
names = ["www"]
map = "m"
ttl = 5
degraded-ttl = 2
check = {{ type = "none" }}
[pools.www.sites.a]
members = ["{a}"]
[pools.www.sites.b]
members = ["{b}"]
[pools.www.sites.c]
members = ["{c}"]

[maps.all]
default = ["near", "far1", "far2"]

[pools.spread]
names = ["spread"]
map = "all"
spill = 2
ttl = 5
degraded-ttl = 2
check = {{ type = "none" }}
[pools.spread.sites.near]
members = ["{near}"]
[pools.spread.sites.far1]
members = ["{far1}"]
capacity = 300
[pools.spread.sites.far2]
members = ["{far2}"]
capacity = 100
""".format(a=A, b=B, c=C, near=NEAR, far1=FAR1, far2=FAR2)


@pytest.fixture
def scoped(tmp_path):
    zone = write_zone(tmp_path / "scope.test.toml", SCOPE_ZONE)
    d = Daemon(tmp_path / "rrdnsd", zones=[zone], threads=1, probe=(SCOPE_ORIGIN, "SOA"),
               extra_args=["--control", str(tmp_path / "rrdnsd.sock")])
    d.control = tmp_path / "rrdnsd.sock"
    try:
        yield d.start()
    finally:
        stop_all([d])


def ctl(d, *args):
    p = subprocess.run([str(rrdnsctl_path()), "--socket", str(d.control), *args],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "rrdnsctl %s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                             p.stdout, p.stderr)
    return p.stdout


def wait_scope(d, subnet, addresses, scope, name="www." + SCOPE_ORIGIN):
    """Waits (bounded) until clients of `subnet` get `addresses` with this ECS scope."""
    want = tuple(sorted(addresses))
    deadline = time.monotonic() + 5.0
    for _ in range(1000):
        a = dig(d.port, subnet, name)
        if a.addresses == want and a.scope == scope:
            return a
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    pytest.fail("clients of %s: %r, expected %s with scope %d" % (subnet, a, want, scope))


def test_scope_widens_when_sites_answer_alike_and_narrows_back(scoped):
    # Every site up: 10.0.0.0/16 gets a, 10.1.0.0/16 gets b: each network is its own scope.
    wait_scope(scoped, "10.0.5.0/24", [A], 16)
    wait_scope(scoped, "10.1.5.0/24", [B], 16)
    wait_scope(scoped, "192.0.2.0/24", [C], 1)
    # a and b drained: both networks spill to c, one answer, so the scope widens to /15. The
    # default list's clients get c as their nearest site (not spilled): another answer.
    ctl(scoped, "drain", A)
    wait_scope(scoped, "10.1.5.0/24", [B], 16)  # b still answers: 10.0/16 spills alone
    a = wait_scope(scoped, "10.0.5.0/24", [C], 16)
    assert a.ecs == "10.0.5.0/24/16", a
    ctl(scoped, "drain", B)
    wait_scope(scoped, "10.0.5.0/24", [C], 15)
    wait_scope(scoped, "10.1.5.0/24", [C], 15)
    wait_scope(scoped, "192.0.2.0/24", [C], 1)
    # b back: the answers differ again and the scope narrows back.
    ctl(scoped, "undrain", B)
    wait_scope(scoped, "10.0.5.0/24", [C], 16)
    wait_scope(scoped, "10.1.5.0/24", [B], 16)
    ctl(scoped, "undrain", A)
    wait_scope(scoped, "10.0.5.0/24", [A], 16)


def first_addresses(d, count):
    """The first address of `count` answers for spread.scope.test (dnspython, no ECS)."""
    out = Counter()
    for _ in range(count):
        q = dns.message.make_query("spread." + SCOPE_ORIGIN, "A")
        data = udp_exchange("127.0.0.1", d.port, q.to_wire())
        assert data is not None, "no answer\n" + d.diag()
        r = dns.message.from_wire(data)
        out[r.answer[0][0].address] += 1
    return out


def test_spilled_clients_are_shared_by_capacity(scoped):
    # near up: it answers alone, whatever far1 and far2 can take.
    counts = first_addresses(scoped, 8)
    assert counts == Counter({NEAR: 8}), counts
    # near drained: its clients spill to the next two sites, 3:1 by capacity (300:100), in
    # every run of 4 answers (smooth weighted round robin), rather than all to far1.
    ctl(scoped, "drain", NEAR)
    deadline = time.monotonic() + 5.0
    for _ in range(1000):
        if NEAR not in first_addresses(scoped, 1) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    counts = first_addresses(scoped, 40)
    assert counts == Counter({FAR1: 30, FAR2: 10}), counts
