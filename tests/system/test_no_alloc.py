"""The query path allocates nothing: answering thousands of queries over UDP and TCP, for static
names, CNAMEs, NXDOMAIN, truncated answers, pool names and a pool with sites, with and without an
EDNS Client Subnet option (well-formed, sent back; malformed, FORMERR), makes no malloc/realloc
call at all.

The daemon runs with tests/system/malloc_counter.c preloaded, which reports the process's
allocation count on SIGUSR2. Warm-up queries come first, so one-time work (a TCP connection's
buffers, thread-local state) is not counted.

In a sanitizer build (RRDNS_SANITIZED=1) the sanitizer runtime must come first in the process, so
RRDNS_SANITIZER_RUNTIME (a dynamically linked libasan, as with g++) is preloaded ahead of the shim,
which then counts through the sanitizer allocator's hooks: the same assertion, another counter.
"""
import os
import re
import signal
import struct
import time
from pathlib import Path

import dns.edns

from conftest import (Daemon, make_query, malloc_counter_preload, repo_zone, tcp_connect,
                      tcp_frame, tcp_read_message, udp_exchange)

POOL_ZONE = """origin = "na.test."
ttl = 30
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
[names."@"]
NS = "ns1"
[names.ns1]
A = "127.0.0.1"
[pools.www]
names = ["www"]
members = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1"]
check = { type = "none" }
[pools.weighted]
names = ["weighted"]
policy = "weighted"
members = [{ address = "192.0.2.1", weight = 60 }, { address = "192.0.2.2", weight = 40 }]
check = { type = "none" }
[maps.geo]
default = ["east", "west"]
nets = { "10.1.0.0/16" = ["east"], "10.2.0.0/16" = ["west", "east"], "2001:db8:2::/48" = ["west"] }
[pools.geo]
names = ["geo"]
map = "geo"
check = { type = "none" }
[pools.geo.sites.east]
members = ["192.0.2.11", "192.0.2.12", "2001:db8::11"]
[pools.geo.sites.west]
members = ["192.0.2.21", "192.0.2.22"]
"""

QUERIES = [("www.rr.test.", "A"), ("api.rr.test.", "AAAA"), ("alias.rr.test.", "A"),
           ("nosuch.rr.test.", "A"), ("big.rr.test.", "A"), ("rr.test.", "SOA"),
           ("rr.test.", "ANY"), ("www.na.test.", "A"), ("www.na.test.", "AAAA"),
           ("weighted.na.test.", "A"), ("elsewhere.example.", "A"),
           ("geo.na.test.", "A")]  # a pool with sites, routed by the source address
# The same with ECS (RFC 7871): IPv4 and IPv6, and a malformed option (family 3: FORMERR).
SUBNET_QUERIES = [("www.rr.test.", "A", "10.1.2.0/24"), ("nosuch.rr.test.", "A", "10.1.2.0/24"),
                  ("www.na.test.", "A", "2001:db8:1::/48"), ("big.rr.test.", "A", "10.9.0.0/16"),
                  ("www.na.test.", "AAAA", "10.1.2.3/32"), ("rr.test.", "ANY", "10.0.0.0/8"),
                  ("geo.na.test.", "A", "10.1.2.0/24"), ("geo.na.test.", "A", "10.2.0.0/16"),
                  ("geo.na.test.", "A", "2001:db8:2::/56"), ("geo.na.test.", "AAAA", "10.1.0.0/24")]


def ecs_query(qname, qtype, subnet):
    address, prefix = subnet.split("/")
    q = make_query(qname, qtype, edns=0)
    q.use_edns(0, options=[dns.edns.ECSOption(address, int(prefix))])
    return q.to_wire()


def malformed_ecs_query():
    wire = make_query("www.rr.test.", "A", edns=0).to_wire()
    option = struct.pack("!HHHBB", 8, 5, 3, 8, 0) + b"\x0a"  # family 3
    return wire[:-2] + struct.pack("!H", len(option)) + option


def query_wires():
    return ([make_query(qname, qtype).to_wire() for qname, qtype in QUERIES] +
            [ecs_query(*q) for q in SUBNET_QUERIES] + [malformed_ecs_query()])


def shim_path() -> Path:
    if os.environ.get("RRDNS_MALLOC_COUNTER"):
        return Path(os.environ["RRDNS_MALLOC_COUNTER"])
    rrdnsd = Path(os.environ.get("RRDNSD", "build/rrdnsd"))
    return rrdnsd.parent / "tests" / "librrdns_malloc_counter.so"


def allocations(daemon: Daemon) -> int:
    mark = daemon.stderr_mark()
    daemon.proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        counts = re.findall(r"mallocs=(\d+)", daemon.stderr_text()[mark:])
        if counts:
            return int(counts[-1])
        time.sleep(0.02)
    raise AssertionError("no allocation count from the shim\n" + daemon.diag())


def ask_all_udp(daemon: Daemon, rounds: int):
    for n in range(rounds):
        for wire in query_wires():
            reply = udp_exchange(daemon.host, daemon.port, wire)
            assert reply, "no answer for %r" % wire


def ask_all_tcp(daemon: Daemon, sock, rounds: int):
    for n in range(rounds):
        wires = query_wires()
        sock.sendall(b"".join(tcp_frame(w) for w in wires))  # pipelined
        for _ in wires:
            assert tcp_read_message(sock) is not None


def test_answering_allocates_nothing(daemons, tmp_path, monkeypatch):
    shim = shim_path()
    assert shim.exists(), "malloc counter shim not found at %s (set RRDNS_MALLOC_COUNTER)" % shim
    pool_zone = tmp_path / "na.test.toml"
    pool_zone.write_text(POOL_ZONE)
    monkeypatch.setenv("LD_PRELOAD", malloc_counter_preload(shim))
    daemon = daemons(zones=[repo_zone("rr.test.toml"), pool_zone], threads=1)
    monkeypatch.delenv("LD_PRELOAD")

    # The answer table is built on a thread of its own once the zones are served: its allocations
    # are not the query path's, and they raced the first count.
    assert daemon.wait_stderr("answer table ready", timeout=10), daemon.diag()
    sock = tcp_connect(daemon.host, daemon.port)
    try:
        ask_all_udp(daemon, 2)  # warm-up: first use of every path
        ask_all_tcp(daemon, sock, 2)
        before = allocations(daemon)
        assert before > 0, "the shim counted nothing: is it preloaded?"
        ask_all_udp(daemon, 200)  # 4,600 UDP queries
        ask_all_tcp(daemon, sock, 100)  # 2,300 pipelined TCP queries on the same connection
        after = allocations(daemon)
    finally:
        sock.close()
    assert after == before, "%d allocations while answering 6,900 queries\n%s" % (
        after - before, daemon.diag())
