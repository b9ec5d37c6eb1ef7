"""Smoke test of the benchmark script: `tools/bench/run --quick` runs and prints its table.

It starts rrdnsd (from the build under test: the directory of $RRDNSD), knotd and whichever other
peers are installed on loopback for half a second of load each. Only the shape of the output is
checked -- an rrdnsd row that answered queries and a knotd row with figures, the same in the EDNS
Client Subnet and DNSSEC tables, rrdnsd's query-path signature counter at 0 -- never a speed: the
machine is shared, and the figures mean something only as ratios from a full run.

dnsperf and knotd are required (tools/setup.sh installs both); without them the test fails.
"""

import os
import shutil
import socket
from pathlib import Path

import pytest

from conftest import rrdnsd_path, run_script, source_dir

PORTS_USED = 8          # tools/bench/run uses --base-port .. --base-port + 7
RUN_TIMEOUT = 300       # s; --quick takes about 15 s on an idle 2-core machine


def _free_port_block(count: int) -> int:
    """The first port of `count` consecutive ports free for UDP and TCP on 127.0.0.1."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        held = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError("no block of %d free UDP+TCP ports on 127.0.0.1" % count)


def _require(tool: str, package: str):
    if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
        pytest.fail("%s is not installed (apt-get install -y %s): the bench smoke test needs it" % (tool, package))


def _table_rows(stdout: str) -> dict:
    """server -> its table row split into fields, from the block after the 'server UDP_qps' header."""
    rows, in_table = {}, False
    for line in stdout.splitlines():
        fields = line.split()
        if fields[:2] == ["server", "UDP_qps"]:
            in_table = True
            continue
        if in_table:
            if not fields or fields[0] not in ("rrdnsd", "knotd", "nsd", "gdnsd", "limit"):
                break
            rows[fields[0]] = fields
    return rows


def test_bench_quick_prints_the_table():
    _require("dnsperf", "dnsperf")
    _require("knotd", "knot")
    script = source_dir() / "tools" / "bench" / "run"
    assert script.is_file(), "missing %s" % script
    build = rrdnsd_path().resolve().parent
    assert (build / "rrdnsd").is_file(), "no rrdnsd in %s (set RRDNSD)" % build

    cmd = [str(script), "--quick", "--build", str(build), "--base-port", str(_free_port_block(PORTS_USED))]
    returncode, out, err = run_script(cmd, RUN_TIMEOUT)

    context = "%s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), returncode, out, err)
    assert returncode == 0, context
    rows = _table_rows(out)
    assert "rrdnsd" in rows, "no rrdnsd row in the table\n" + context
    rrdnsd = rows["rrdnsd"]
    assert rrdnsd[1].isdigit() and int(rrdnsd[1]) > 0, "rrdnsd answered no UDP queries\n" + context
    assert "knotd" in rows, "no knotd row in the table\n" + context
    assert rows["knotd"][1].isdigit(), "knotd has no UDP figure\n" + context
    for peer in ("nsd", "gdnsd", "limit"):   # present, with figures or with the reason they have none
        assert peer in rows, "no %s row in the table\n%s" % (peer, context)

    paired = [l for l in out.splitlines() if l.startswith("rrdnsd x blast, median of per-round ratios")]
    assert paired and " knotd " in paired[0], "no per-round blast ratio against knotd\n" + context

    # Step 5, usertime.c preloaded: rrdnsd and limit each have a user-time figure.
    usertime = {}
    for line in out.split("User-space ns per query under udpblast", 1)[-1].splitlines()[1:]:
        fields = line.split()
        if not fields or fields[0] not in ("server", "rrdnsd", "knotd", "nsd", "gdnsd", "limit"):
            break
        usertime[fields[0]] = fields
    for server in ("rrdnsd", "limit"):
        row = usertime.get(server)
        assert row and row[1].replace(".", "", 1).isdigit() and float(row[1]) > 0, \
            "no user time for %s\n%s" % (server, context)

    # Step 7, EDNS Client Subnet: rrdnsd and knotd (edns-client-subnet: on) answered the topology
    # queries with and without the option; knotd echoes scope 0, rrdnsd the scope of the map's
    # route for 10.1.0.0/24 (/15: 10.0.0.0/16 takes the default list, the same as 10.1.0.0/16's).
    ecs = {}
    for line in out.split("EDNS Client Subnet: topo-queries.txt", 1)[-1].splitlines()[3:]:
        fields = line.split()
        if not fields or fields[0] not in ("rrdnsd", "knotd"):
            break
        ecs[fields[0]] = line
    for server, scope in (("rrdnsd", 15), ("knotd", 0)):
        row = ecs.get(server, "").split()
        assert len(row) >= 9 and all(f.isdigit() and int(f) > 0 for f in row[1:3] + row[5:7]), \
            "%s has no ECS figures\n%s" % (server, context)
        assert ecs[server].endswith("scope /%d (NOERROR)" % scope), \
            "%s did not echo ECS with scope /%d\n%s" % (server, scope, context)

    # Step 8, DNSSEC: rrdnsd and knotd each served signed.test signed (dig +dnssec saw an RRSIG of
    # algorithm 13 over the static name's and the pool's A RRsets) and answered the same queries
    # with DO=0 and with DO=1, under dnsperf and udpblast; rrdnsd computed no signature on the
    # query path (the run exits 1 if it did).
    signed = {}
    for line in out.split("DNSSEC: signed-queries.txt", 1)[-1].splitlines()[3:]:
        fields = line.split()
        if not fields or fields[0] not in ("rrdnsd", "knotd"):
            break
        signed[fields[0]] = line
    for server in ("rrdnsd", "knotd"):
        row = signed.get(server, "").split()
        assert len(row) >= 9 and all(f.isdigit() and int(f) > 0 for f in row[1:3] + row[5:7]), \
            "%s has no DNSSEC figures\n%s" % (server, context)
        assert "static A: RRSIG alg 13, www A: RRSIG alg 13;" in signed[server], \
            "%s's DO=1 answers were not signed with ECDSA P-256\n%s" % (server, context)
        assert signed[server].endswith("DO=0: no RRSIG"), "%s sent RRSIGs without DO\n%s" % (server, context)
    counter = [l for l in out.splitlines() if "signatures computed on the query path" in l]
    assert counter and counter[0].rstrip().endswith(": 0 (ok: must be 0)"), \
        "rrdnsd's query-path signature counter did not read 0\n" + context

    # Step 4, rrdns-answer-time: the whole query list and the pool name, each with a time.
    timed = {}
    for line in out.split("rrdnsd's answer logic alone", 1)[-1].splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[-2].replace(".", "", 1).isdigit():
            timed[" ".join(fields[:-2])] = float(fields[-2])
    assert any(k.startswith("(all ") for k in timed), "no answer-time table\n" + context
    assert timed.get("weighted.demo.test A", 0) > 0, "the pool name was not timed\n" + context


def test_zoneload_quick_prints_the_table():
    """`tools/bench/zoneload --quick` (20,000 records, one round) times rrdnsd and knotd to their
    first answer and prints both rows and when rrdnsd's fast-path table came into use."""
    _require("knotd", "knot")
    script = source_dir() / "tools" / "bench" / "zoneload"
    build = rrdnsd_path().resolve().parent
    env = dict(os.environ, SERVERS="knotd", BASE_PORT=str(_free_port_block(2)))
    cmd = [str(script), "--quick", "--build", str(build)]
    returncode, out, err = run_script(cmd, RUN_TIMEOUT, env=env)
    context = "%s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd), returncode, out, err)
    assert returncode == 0, context
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ("rrdnsd", "knotd") and "fast-path" not in line}
    for server in ("rrdnsd", "knotd"):
        assert server in rows, "no %s row\n%s" % (server, context)
        seconds, megabytes = float(rows[server][1]), float(rows[server][2])
        assert 0 < seconds < 60 and megabytes > 0, context
    assert "fast-path table in use after" in out, context
