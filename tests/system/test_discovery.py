"""System test for member discovery: pool members taken from a DNS name that changes.

The same topology as docker/compose.yaml, on loopback: three rrdns-replica processes on
127.0.0.11-13 (one shared free port, as replicas of one service share theirs), a "directory"
rrdnsd serving the service name web.svc.test (the part compose's or Kubernetes' DNS plays), and
the rrdnsd under test, whose pools discover their members from that name (--resolver points it
at the directory). The test rewrites the directory's zone and reloads it, and watches members
join (only once their health checks pass) and leave; a directory that fails keeps the last set.

Only processes started here are stopped, by PID.
"""

import json
import socket
import subprocess
import time

import dns.rcode
import dns.rdatatype
import pytest

from conftest import (Replica, free_port, pool_tables, rrdnsctl_path, rrdnsd_path, stop_replicas,
                      write_zone)

DIRECTORY = "svc.test."
SERVICE = "web." + DIRECTORY
ORIGIN = "disc.test."
HOSTS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
DEADLINE = 8.0  # discovery every 1 s, then `rise` checks 0.2 s apart
STABLE = 5


def shared_port(hosts) -> int:
    """A TCP port free on every host at once (replicas of one service share their port)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        held = []
        try:
            for h in hosts:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(s)
                s.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no TCP port free on all of %s" % hosts)


def directory_zone(addresses, serial) -> str:
    """svc.test. with web's A records (TTL 1, as a service directory's short TTLs)."""
    lines = ["$ORIGIN %s" % DIRECTORY, "$TTL 60",
             "@ SOA ns1 hostmaster %d 3600 900 604800 60" % serial, "@ NS ns1", "ns1 A 127.0.0.1"]
    lines += ["web 1 A %s" % a for a in addresses]
    return "\n".join(lines) + "\n"


def served_zone(port) -> str:
    check = {"type": "http", "port": port, "path": "/healthz", "interval": 0.2, "timeout": 0.15,
             "rise": 2, "fall": 2}
    text = ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n' % ORIGIN)
    # www: discovered members only. mixed: a configured member beside the discovered ones.
    pools = {
        "www": {"names": ["www"], "ttl": 5,
                "discover": {"name": SERVICE, "interval": 1, "family": "A"}},
        "mixed": {"names": ["mixed"], "ttl": 5, "members": ["127.0.0.13"],
                  "discover": SERVICE, "all-down": "none"},
    }
    return text + pool_tables(pools, check)


def addresses(d, name):
    msg = d.ask(name, "A")
    assert msg.rcode() == dns.rcode.NOERROR, "%s: %s\n%s" % (name, msg, d.diag())
    out = set()
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.A:
            out |= {r.address for r in rrset}
    return out


def wait_for(d, name, want, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    run, seen = 0, []
    for _ in range(100000):
        got = addresses(d, name)
        seen.append(sorted(got))
        run = run + 1 if got == set(want) else 0
        if run >= STABLE:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError("%s: %s never answered %s within %.0f s; last %s\n%s" % (
        what, name, sorted(want), timeout, seen[-4:], d.diag()))


def hold(d, name, want, what, seconds):
    deadline = time.monotonic() + seconds
    for _ in range(100000):
        got = addresses(d, name)
        assert got == set(want), "%s: %s answered %s, not %s\n%s" % (
            what, name, sorted(got), sorted(want), d.diag())
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


@pytest.fixture
def web(tmp_path, replica_binary):
    port = shared_port(HOSTS)
    reps = [Replica(h, "web%s" % h.rsplit(".", 1)[1]) for h in HOSTS]
    for r in reps:
        r.port = port  # fixed: start() keeps it
    try:
        for r in reps:
            r.start()
        yield reps
    finally:
        stop_replicas(reps)


def test_members_join_and_leave_with_the_name(web, daemons, tmp_path):
    port = web[0].port
    directory_path = write_zone(tmp_path / "svc.test.zone", directory_zone(HOSTS[:2], 1))
    directory = daemons(zones=[directory_path], probe=(DIRECTORY, "SOA"))
    zone_path = write_zone(tmp_path / "disc.test.toml", served_zone(port))
    sock = tmp_path / "rrdnsd.sock"
    d = daemons(zones=[zone_path], probe=(ORIGIN, "SOA"),
                extra_args=["--resolver", "127.0.0.1:%d" % directory.port, "--control", str(sock)])

    # The name's two addresses join (they pass their checks); mixed adds its configured one.
    wait_for(d, "www." + ORIGIN, HOSTS[:2], "first discovery")
    wait_for(d, "mixed." + ORIGIN, HOSTS, "configured and discovered members together")
    assert d.wait_stderr("discovery: %s now has 2 addresses" % SERVICE), d.diag()

    # rrdnsctl pool shows the source and which members it brought.
    out = subprocess.run([str(rrdnsctl_path()), "--socket", str(sock), "--json", "pool", "mixed"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    pool = json.loads(out.stdout)
    assert [s["name"] for s in pool["discover"]] == [SERVICE], pool["discover"]
    found = {m["address"]: m["discovered_from"] for m in pool["members"]}
    assert found == {"127.0.0.13": None, "127.0.0.11": SERVICE, "127.0.0.12": SERVICE}, found

    # The name moves to .12 and .13 while web13 fails its check: .11 leaves at once, .13 is
    # discovered but not answered until it is healthy.
    web[2].health(False)
    mark = d.stderr_mark()
    write_zone(directory_path, directory_zone(HOSTS[1:], 2))
    directory.hup()
    assert d.wait_stderr("discovery: %s now has 2 addresses: 127.0.0.12 127.0.0.13" % SERVICE,
                         timeout=DEADLINE, since=mark), d.diag()
    wait_for(d, "www." + ORIGIN, HOSTS[1:2], ".11 left, .13 not yet checked")
    hold(d, "www." + ORIGIN, HOSTS[1:2], "a discovered member that fails its check", 1.0)
    web[2].health(True)
    wait_for(d, "www." + ORIGIN, HOSTS[1:], ".13 joins once healthy")

    # The directory stops serving the zone (REFUSED): a failed lookup keeps the last set.
    mark = d.stderr_mark()
    write_zone(directory_path, directory_zone(HOSTS[1:], 3).replace(DIRECTORY, "other.test."))
    directory.hup()
    assert d.wait_stderr("lookup failed", timeout=DEADLINE, since=mark), d.diag()
    hold(d, "www." + ORIGIN, HOSTS[1:], "last known set after a failed lookup", 1.5)

    # The name is gone (NXDOMAIN): its members leave; the configured member stays.
    write_zone(directory_path, directory_zone([], 4))
    directory.hup()
    # www and mixed discover the name with lookups of their own (www asks for A only, mixed for A
    # and AAAA), so one pool can see the NXDOMAIN before the other: wait for each.
    wait_for(d, "mixed." + ORIGIN, HOSTS[2:], "only the configured member is left")
    wait_for(d, "www." + ORIGIN, [], "no members: NODATA (NOERROR, empty answer)")
    assert d.alive()


def test_bad_resolver_is_a_startup_error(tmp_path):
    zone_path = write_zone(tmp_path / "disc.test.toml", served_zone(8080))
    proc = subprocess.run([str(rrdnsd_path()), "--listen", "127.0.0.1:%d" % free_port(),
                           "--resolver", "not an address", str(zone_path)],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1, proc.stderr
    assert "resolver 'not an address'" in proc.stderr, proc.stderr
