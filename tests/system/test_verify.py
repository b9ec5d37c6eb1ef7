"""System tests for the client-side verifier rrdns-verify (tools/verify).

rrdns-verify is found through env RRDNS_VERIFY, else next to $RRDNSD. Each test starts rrdnsd
(conftest.Daemon) on a zone written here: a weighted pool with check type none (no replicas
needed) for rotation and latency, and a rotate pool over rrdns-replica processes (conftest.Replica)
with fast HTTP checks for watch. Only processes started here are stopped, by PID; every wait is
bounded.
"""

import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import (Replica, replica_path, rrdnsctl_path, rrdnsd_path, stop_replicas,
                      write_zone)

ORIGIN = "vt.test."
ADDRS = ["127.0.0.21", "127.0.0.22", "127.0.0.23"]


def verify_path() -> Path:
    env = os.environ.get("RRDNS_VERIFY")
    return Path(env) if env else rrdnsd_path().parent / "rrdns-verify"


@pytest.fixture(scope="module")
def verify_binary() -> Path:
    path = verify_path()
    if not path.exists():
        pytest.fail("rrdns-verify not found at %s: build it, or set RRDNS_VERIFY" % path)
    return path


def zone_head() -> str:
    return ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\nminimum = 60\n[names."@"]\nNS = "ns1"\n[names.ns1]\n'
            'A = "127.0.0.1"\n' % ORIGIN)


WEIGHTED_ZONE = zone_head() + (
    '[pools.weighted]\nnames = ["weighted"]\npolicy = "weighted"\nttl = 5\nmembers = [\n'
    '  { address = "127.0.0.21", weight = 60 },\n'
    '  { address = "127.0.0.22", weight = 30 },\n'
    '  { address = "127.0.0.23", weight = 10 },\n]\n'
    '[pools.weighted.check]\ntype = "none"\n')


@pytest.fixture
def weighted(daemons, tmp_path, binary):
    path = write_zone(tmp_path / "vt.test.toml", WEIGHTED_ZONE)
    return daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1)


def run(verify_binary, d, *args, timeout=30):
    argv = [str(verify_binary), args[0], "--server", "127.0.0.1:%d" % d.port, *args[1:]]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p


def show(p) -> str:
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


RIGHT = "127.0.0.21=60,127.0.0.22=30,127.0.0.23=10"
WRONG = "127.0.0.21=10,127.0.0.22=30,127.0.0.23=60"


def test_rotation_weighted_pass(verify_binary, weighted):
    p = run(verify_binary, weighted, "rotation", "--count", "1000", "--expect", RIGHT, "--json",
            "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    j = json.loads(p.stdout)
    for key in ("queries", "answered", "lost", "addresses", "chi_square", "dof", "p_value",
                "orderings", "result"):
        assert key in j, (key, j)
    assert j["result"] == "PASS" and j["answered"] == 1000 and j["lost"] == 0, j
    assert j["p_value"] >= 0.001 and j["dof"] == 2, j
    shares = {e["address"]: e["share"] for e in j["addresses"]}
    assert sorted(shares) == ADDRS, j
    for addr, want in zip(ADDRS, (0.6, 0.3, 0.1)):
        assert abs(shares[addr] - want) <= 0.03, (addr, j)
    assert all(e["seen"] == 1000 for e in j["addresses"]), j
    assert j["orderings"] >= 1


def test_rotation_weighted_text_and_tcp(verify_binary, weighted):
    p = run(verify_binary, weighted, "rotation", "--count", "200", "--expect", RIGHT, "--tcp",
            "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    assert "PASS" in p.stdout and "chi-square" in p.stdout and "127.0.0.23" in p.stdout, show(p)


def test_rotation_wrong_expect_fails(verify_binary, weighted):
    p = run(verify_binary, weighted, "rotation", "--count", "1000", "--expect", WRONG,
            "weighted." + ORIGIN)
    assert p.returncode == 1, show(p)
    assert "FAIL" in p.stdout, show(p)


def test_rotation_svg(verify_binary, weighted, tmp_path):
    svg = tmp_path / "rot.svg"
    p = run(verify_binary, weighted, "rotation", "--count", "300", "--expect", RIGHT, "--svg",
            str(svg), "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    assert root.findall(".//{http://www.w3.org/2000/svg}rect"), svg.read_text()


def test_usage_and_no_answers(verify_binary, weighted):
    p = subprocess.run([str(verify_binary), "rotation", "--count", "3"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 2, show(p)
    p = run(verify_binary, weighted, "rotation", "--count", "3", "nothing.example.")
    assert p.returncode == 3, show(p)


def test_help_version_and_usage_errors(verify_binary):
    """--help and --version as rrdnsd and rrdnsctl do them: stdout, exit 0, no mode needed."""
    def call(*args):
        return subprocess.run([str(verify_binary), *args], capture_output=True, text=True,
                              timeout=10)
    for args in (["--help"], ["-h"], ["rotation", "--help"], ["latency", "--server", "x", "-h"]):
        p = call(*args)
        assert p.returncode == 0 and p.stderr == "", show(p)
        assert p.stdout.startswith("usage: rrdns-verify rotation"), show(p)
        for word in ("modes:", "--expect-from", "--timeout", "exit status"):
            assert word in p.stdout, (word, show(p))
    p = call("--version")
    assert p.returncode == 0 and p.stdout.startswith("rrdns-verify "), show(p)
    p = call("spin", "--server", "127.0.0.1:53", "x")
    assert p.returncode == 2 and p.stdout == "", show(p)
    assert "rrdns-verify: unknown mode 'spin'" in p.stderr, show(p)
    assert "usage: rrdns-verify" in p.stderr and "--help for more" in p.stderr, show(p)


def test_every_binary_prints_the_same_version(verify_binary):
    versions = {}
    for path in (rrdnsd_path(), rrdnsctl_path(), verify_binary, replica_path()):
        p = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0 and p.stderr == "", show(p)
        name, version = p.stdout.split()[:2]
        assert name == path.name, show(p)
        versions[name] = version
    assert len(set(versions.values())) == 1, versions


def test_latency_open_loop(verify_binary, weighted, tmp_path):
    svg = tmp_path / "lat.svg"
    p = run(verify_binary, weighted, "latency", "--rate", "500", "--duration", "2", "--json",
            "--svg", str(svg), "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    j = json.loads(p.stdout)
    assert j["lost"] == 0 and j["sent"] > 500 and j["answered"] == j["sent"], j
    assert j["latency_ms"]["p50"] > 0, j
    for key in ("p90", "p99", "p99.9", "max"):
        assert j["latency_ms"][key] >= j["latency_ms"]["p50"], j
    assert j["histogram"] and j["cdf"], j
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.findall(".//{http://www.w3.org/2000/svg}polyline")


def test_latency_closed_loop_text(verify_binary, weighted):
    p = run(verify_binary, weighted, "latency", "--concurrency", "4", "--duration", "0.5",
            "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    assert "p99.9" in p.stdout and "histogram" in p.stdout and "lost 0" in p.stdout, show(p)


# --- watch: a member disappears -------------------------------------------------------------

@pytest.fixture
def replicas(replica_binary):
    """The list of replicas a test starts (it appends them); stopped after the test."""
    started = []
    yield started
    stop_replicas(started)


def rotate_zone(reps) -> str:
    members = ", ".join('{ address = "%s", port = %d }' % (r.host, r.port) for r in reps)
    return zone_head() + (
        '[pools.www]\nnames = ["www"]\npolicy = "rotate"\nttl = 5\ndegraded-ttl = 2\n'
        'members = [%s]\n[pools.www.check]\ntype = "http"\nport = %d\npath = "/healthz"\n'
        'expect = [200]\ninterval = 0.2\ntimeout = 0.15\nrise = 2\nfall = 2\n'
        % (members, reps[0].port))


def test_watch_sees_member_leave(verify_binary, daemons, replicas, tmp_path, binary):
    for n in (21, 22, 23):
        r = Replica("127.0.0.%d" % n, "web%d" % n)
        replicas.append(r)
        r.start()
    path = write_zone(tmp_path / "vt.test.toml", rotate_zone(replicas))
    d = daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1)
    # Wait (bounded) until all three members are up before watching.
    deadline = time.monotonic() + 5
    while True:
        a = d.ask("www." + ORIGIN)
        addrs = sorted(rd.address for rrset in a.answer for rd in rrset)
        if addrs == ADDRS:
            break
        assert time.monotonic() < deadline, ("members never all up", addrs, d.diag())
        time.sleep(0.05)
    svg = tmp_path / "watch.svg"
    argv = [str(verify_binary), "watch", "--server", "127.0.0.1:%d" % d.port, "--interval",
            "0.05", "--duration", "4", "--svg", str(svg), "www." + ORIGIN]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        replicas[1].stop()  # 127.0.0.22
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0, (out, err)
    lines = out.splitlines()
    assert any("+ 127.0.0.21" in l for l in lines), out
    left = [l for l in lines if "- 127.0.0.22" in l]
    assert left, out + "\n" + d.diag()
    t = float(left[0].split()[0].rstrip("s"))
    assert 1.0 <= t <= 3.5, out
    assert "(now 127.0.0.21 127.0.0.23)" in left[0], out
    assert "summary" in out, out
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg"), svg.read_text()


def test_rotation_expect_from_the_daemons_own_weights(verify_binary, daemons, tmp_path):
    """Expected shares read from `rrdnsctl pool --json`: after an operator reweights a member,
    the verifier checks the answers against what the daemon says it is doing."""
    zone = write_zone(tmp_path / "vt.test.toml", WEIGHTED_ZONE)
    sock = tmp_path / "ctl.sock"
    d = daemons(zones=[zone], probe=(ORIGIN, "SOA"), threads=1,
                extra_args=["--control", str(sock)])
    ctl = [str(rrdnsctl_path()), "--socket", str(sock)]
    subprocess.run(ctl + ["weight", "127.0.0.23", "110"], check=True, capture_output=True,
                   timeout=10)  # now 60/30/110
    pool = subprocess.run(ctl + ["pool", "weighted", "--json"], check=True, capture_output=True,
                          text=True, timeout=10).stdout
    expect = tmp_path / "pool.json"
    expect.write_text(pool)
    p = run(verify_binary, d, "rotation", "--count", "1000", "--expect-from", str(expect),
            "--json", "weighted." + ORIGIN)
    assert p.returncode == 0, show(p)
    j = json.loads(p.stdout)
    assert j["result"] == "PASS" and j["expected_source"] == "rrdnsctl pool", j
    shares = {e["address"]: e["share"] for e in j["addresses"]}
    assert abs(shares["127.0.0.23"] - 0.55) <= 0.03, j
    # The zone file's weights are no longer what the daemon answers: they must fail.
    stale = run(verify_binary, d, "rotation", "--count", "1000", "--expect", RIGHT,
                "weighted." + ORIGIN)
    assert stale.returncode == 1 and "FAIL" in stale.stdout, show(stale)
