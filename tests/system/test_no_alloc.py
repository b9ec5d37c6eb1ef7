"""The query path allocates nothing: answering thousands of queries over UDP and TCP, for static
names, CNAMEs, NXDOMAIN, truncated answers and pool names, makes no malloc/realloc call at all.

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
import time
from pathlib import Path

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
"""

QUERIES = [("www.rr.test.", "A"), ("api.rr.test.", "AAAA"), ("alias.rr.test.", "A"),
           ("nosuch.rr.test.", "A"), ("big.rr.test.", "A"), ("rr.test.", "SOA"),
           ("rr.test.", "ANY"), ("www.na.test.", "A"), ("www.na.test.", "AAAA"),
           ("weighted.na.test.", "A"), ("elsewhere.example.", "A")]


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
        for qname, qtype in QUERIES:
            reply = udp_exchange(daemon.host, daemon.port, make_query(qname, qtype).to_wire())
            assert reply, "no answer for %s %s" % (qname, qtype)


def ask_all_tcp(daemon: Daemon, sock, rounds: int):
    for n in range(rounds):
        wires = [make_query(qname, qtype).to_wire() for qname, qtype in QUERIES]
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
        ask_all_udp(daemon, 200)  # 2,200 UDP queries
        ask_all_tcp(daemon, sock, 100)  # 1,100 pipelined TCP queries on the same connection
        after = allocations(daemon)
    finally:
        sock.close()
    assert after == before, "%d allocations while answering 3,300 queries\n%s" % (
        after - before, daemon.diag())
