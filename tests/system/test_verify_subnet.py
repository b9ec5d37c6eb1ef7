"""System tests for `rrdns-verify --subnet CIDR` (EDNS Client Subnet, RFC 7871).

Oracles: knotd (oracle_server.Knot) with `edns-client-subnet: on` echoes the option it was sent,
with scope 0, and without it sends none; a small responder here records each query's ECS option
byte for byte and answers with a scope of its choosing; rrdnsd serves a pool with two sites and
a map, and each client network must see only its nearest site. Only processes started here are stopped,
by PID or by closing their socket; every wait is bounded.
"""

import json
import socket
import subprocess
import threading
import time

import dns.edns
import dns.message
import dns.rrset
import pytest

from conftest import free_port, write_zone
from oracle_server import KNOT_MISSING, Knot, knotd_path
from test_verify import show, verify_path

ORIGIN = "ecs.test."
ZONE = """\
$ORIGIN ecs.test.
$TTL 30
@    SOA ns1 hostmaster 1 3600 600 86400 60
@    NS  ns1
ns1  A   127.0.0.1
one  A   192.0.2.1
"""

KNOT_ZONE = """\
zone:
  - domain: {origin}
    file: {zone}
    storage: {dir}
    journal-content: none
    zonefile-sync: -1
"""


def verify(*args, timeout=30):
    argv = [str(verify_path()), *args]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def answers_soa(port):
    q = dns.message.make_query(ORIGIN, "SOA")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            return bool(dns.message.from_wire(s.recv(4096)).answer)
        except (OSError, dns.exception.DNSException):
            return False


def start_knot(tmp_path, ecs: bool):
    assert knotd_path() is not None, KNOT_MISSING
    zone = tmp_path / "ecs.test.zone"
    zone.write_text(ZONE)
    k = Knot(tmp_path / ("knot-ecs" if ecs else "knot-plain"),
             server="    edns-client-subnet: on\n" if ecs else "", rest=KNOT_ZONE,
             origin=ORIGIN, zone=zone, ready=answers_soa)
    return k.start()


@pytest.fixture
def knot_ecs(tmp_path):
    k = start_knot(tmp_path, True)
    yield k
    k.stop()


@pytest.fixture
def knot_plain(tmp_path):
    k = start_knot(tmp_path, False)
    yield k
    k.stop()


def test_subnet_is_sent_and_knot_echoes_it(knot_ecs):
    """Each mode sends the subnet (host bits cleared) and reports the scope knotd answers: 0."""
    server = "127.0.0.1:%d" % knot_ecs.port
    for subnet, sent in (("10.1.2.3/24", "10.1.2.0/24"), ("2001:db8:1:2::5/48", "2001:db8:1::/48")):
        for transport in ([], ["--tcp"]):
            p = verify("rotation", "--server", server, "--count", "50", "--subnet", subnet,
                       "--json", *transport, "one." + ORIGIN)
            assert p.returncode == 0, show(p)
            j = json.loads(p.stdout)
            assert j["result"] == "PASS" and j["answered"] == 50, j
            assert j["ecs"] == {"subnet": sent, "scopes": [{"scope": 0, "responses": 50}],
                                "without_ecs": 0, "mismatched": 0}, j
    p = verify("rotation", "--server", server, "--count", "20", "--subnet", "10.1.2.3/24",
               "one." + ORIGIN)
    assert p.returncode == 0, show(p)
    assert "ECS 10.1.2.0/24: scope /0 in 20 responses" in p.stdout, show(p)
    p = verify("latency", "--server", server, "--concurrency", "4", "--duration", "0.5",
               "--subnet", "10.1.0.0/16", "one." + ORIGIN)
    assert p.returncode == 0, show(p)
    assert "ECS 10.1.0.0/16: scope /0 in " in p.stdout, show(p)
    p = verify("watch", "--server", server, "--interval", "0.05", "--duration", "0.5",
               "--subnet", "10.1.0.0/16", "one." + ORIGIN)
    assert p.returncode == 0, show(p)
    assert "(now 192.0.2.1, scope /0)" in p.stdout, show(p)


def test_a_server_that_ignores_the_subnet_fails_the_check(knot_plain):
    """knotd without edns-client-subnet answers but sends no ECS: the same rotation that PASSes
    without --subnet FAILs with it, and watch and latency exit 1."""
    server = "127.0.0.1:%d" % knot_plain.port
    p = verify("rotation", "--server", server, "--count", "20", "one." + ORIGIN)
    assert p.returncode == 0, show(p)
    p = verify("rotation", "--server", server, "--count", "20", "--subnet", "10.1.0.0/24",
               "--json", "one." + ORIGIN)
    assert p.returncode == 1, show(p)
    j = json.loads(p.stdout)
    assert j["result"] == "FAIL" and j["ecs"]["without_ecs"] == 20 and j["ecs"]["scopes"] == [], j
    for mode in (["watch", "--interval", "0.05", "--duration", "0.3"],
                 ["latency", "--duration", "0.3"]):
        p = verify(mode[0], "--server", server, *mode[1:], "--subnet", "10.1.0.0/24",
                   "one." + ORIGIN)
        assert p.returncode == 1, show(p)
        assert "no response echoed the subnet;" in p.stdout and " without ECS" in p.stdout, show(p)


class EcsResponder:
    """A UDP responder on 127.0.0.1 that records every query's ECS option (family, source, scope,
    address bytes) and answers one A record with ECS echoed at `scope`; `echo` overrides the
    address it echoes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.seen, self.scope, self.echo = [], 20, None
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        deadline = time.monotonic() + 60
        while self.running and time.monotonic() < deadline:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            q = dns.message.from_wire(data)
            ecs = [o for o in q.options if o.otype == dns.edns.ECS]
            self.seen.append([(o.family, o.srclen, o.scopelen, o.to_wire()) for o in ecs])
            r = dns.message.make_response(q)
            r.answer.append(dns.rrset.from_text(q.question[0].name, 30, "IN", "A", "192.0.2.7"))
            if ecs:
                o = ecs[0]
                address = self.echo or o.address
                r.use_edns(0, payload=1232,
                           options=[dns.edns.ECSOption(address, o.srclen, self.scope)])
            self.sock.sendto(r.to_wire(), peer)

    def stop(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def responder():
    r = EcsResponder()
    yield r
    r.stop()


def test_option_bytes_and_scopes_reported(responder):
    """The option on the wire is RFC 7871 6's: FAMILY, SOURCE, SCOPE 0 and only the prefix's
    bytes, host bits zero. A non-zero scope is reported, a change of scope shows in watch, and an
    echo of another address counts as mismatched (RFC 7871 7.3)."""
    server = "127.0.0.1:%d" % responder.port
    p = verify("rotation", "--server", server, "--count", "5", "--subnet", "10.1.2.3/20",
               "--json", "www.example.")
    assert p.returncode == 0, show(p)
    assert json.loads(p.stdout)["ecs"]["scopes"] == [{"scope": 20, "responses": 5}], show(p)
    # ECS option data: family 1, source 20, scope 0, address 10.1.0 (20 bits, 3 bytes).
    assert responder.seen[-1] == [(1, 20, 0, bytes([0, 1, 20, 0, 10, 1, 0]))], responder.seen
    responder.seen.clear()
    p = verify("rotation", "--server", server, "--count", "1", "--subnet", "2001:db8:ffff::1/33",
               "www.example.")
    assert p.returncode == 0, show(p)
    assert responder.seen == [[(2, 33, 0, bytes([0, 2, 33, 0, 0x20, 0x01, 0x0d, 0xb8, 0x80]))]]
    assert "ECS 2001:db8:8000::/33: scope /20 in 1 response" in p.stdout, show(p)

    # watch: the scope moves from /20 to /24 while the addresses stay.
    responder.seen.clear()
    watch = subprocess.Popen([str(verify_path()), "watch", "--server", server, "--interval",
                              "0.05", "--duration", "4", "--subnet", "10.1.0.0/24",
                              "www.example."], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 3
    while len(responder.seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    responder.scope = 24
    out, err = watch.communicate(timeout=20)
    assert watch.returncode == 0, (out, err)
    assert "scope /20 -> /24  (now 192.0.2.7, scope /24)" in out, out
    assert "ECS 10.1.0.0/24: scope /20 in " in out and ", /24 in " in out, out

    responder.echo = "10.9.0.0"
    p = verify("rotation", "--server", server, "--count", "3", "--subnet", "10.1.0.0/24",
               "--json", "www.example.")
    assert p.returncode == 1, show(p)
    assert json.loads(p.stdout)["ecs"]["mismatched"] == 3, show(p)


def test_subnet_usage_errors():
    for bad in ("10.1.0.0/33", "10.1.0.0/", "example.com/24", "2001:db8::/129"):
        p = verify("rotation", "--server", "127.0.0.1:%d" % free_port(), "--count", "1",
                   "--subnet", bad, "x.example.")
        assert p.returncode == 2, show(p)
        assert "rrdns-verify: --subnet: '%s'" % bad in p.stderr, show(p)



GEO_ORIGIN = "vgeo.test."
EAST = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
WEST = ["127.0.2.1", "127.0.2.2", "127.0.2.3"]
GEO_ZONE = """\
origin = "vgeo.test."
ttl = 30
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
[names."@"]
NS = "ns1"
[names.ns1]
A = "127.0.0.1"
[maps.geo]
default = ["east", "west"]
nets = { "10.1.0.0/16" = ["east", "west"], "10.2.0.0/16" = ["west", "east"] }
[pools.www]
names = ["www"]
policy = "rotate"
map = "geo"
ttl = 5
degraded-ttl = 2
[pools.www.sites.east]
members = [%s]
[pools.www.sites.west]
members = [%s]
[pools.www.check]
type = "none"
""" % (", ".join('"%s"' % a for a in EAST), ", ".join('"%s"' % a for a in WEST))


def test_rotation_per_subnet_sees_only_the_nearest_site(daemons, tmp_path):
    """rrdnsd with a pool with sites: the clients of 10.1.0.0/24 rotate over the east members
    only, evenly (PASS), those of 10.2.5.0/24 over the west members only; every response echoes
    the subnet with one scope, between 1 and 16 (the map's networks are /16)."""
    d = daemons(zones=[write_zone(tmp_path / "vgeo.test.toml", GEO_ZONE)],
                probe=(GEO_ORIGIN, "SOA"), threads=1)
    server = "127.0.0.1:%d" % d.port
    for subnet, site in (("10.1.0.0/24", EAST), ("10.2.5.0/24", WEST)):
        p = verify("rotation", "--server", server, "--count", "300", "--subnet", subnet,
                   "--json", "www." + GEO_ORIGIN)
        assert p.returncode == 0, show(p)
        j = json.loads(p.stdout)
        assert j["result"] == "PASS" and j["answered"] == 300, j
        assert sorted(a["address"] for a in j["addresses"]) == site, j
        assert all(a["first"] > 0 for a in j["addresses"]), j
        scopes = j["ecs"]["scopes"]
        assert len(scopes) == 1 and scopes[0]["responses"] == 300, j
        assert 1 <= scopes[0]["scope"] <= 16, j
        assert j["ecs"]["without_ecs"] == 0 and j["ecs"]["mismatched"] == 0, j
    # Without --subnet the client is 127.0.0.1, which no network matches: the default list.
    p = verify("rotation", "--server", server, "--count", "30", "--json", "www." + GEO_ORIGIN)
    assert p.returncode == 0, show(p)
    assert sorted(a["address"] for a in json.loads(p.stdout)["addresses"]) == EAST, show(p)


def test_rrdnsd_with_ecs_off_fails_the_check(daemons, tmp_path):
    """With `edns-client-subnet = false` rrdnsd ignores the option and sends none back: the
    client is the source address (the default list, east), and --subnet reports every response
    as without ECS and exits 1."""
    zone = write_zone(tmp_path / "vgeo.test.toml", GEO_ZONE)

    def config(specs):
        return ('listen = [%s]\nzones = ["%s"]\nthreads = 1\nedns-client-subnet = false\n'
                % (", ".join('"%s"' % s for s in specs), zone))
    d = daemons(config=config, probe=(GEO_ORIGIN, "SOA"))
    p = verify("rotation", "--server", "127.0.0.1:%d" % d.port, "--count", "30", "--subnet",
               "10.2.5.0/24", "--json", "www." + GEO_ORIGIN)
    assert p.returncode == 1, show(p)
    j = json.loads(p.stdout)
    assert j["result"] == "FAIL" and j["ecs"]["without_ecs"] == 30, j
    assert sorted(a["address"] for a in j["addresses"]) == EAST, j
