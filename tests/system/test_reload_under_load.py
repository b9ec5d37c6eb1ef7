"""Reload under load: dnsperf sends a steady stream of UDP queries while rrdnsctl reloads the
zone every ~100 ms, alternating two valid versions. No query may be lost, and every reload
must succeed.

Needs /usr/bin/dnsperf (Debian package dnsperf) and rrdnsctl (env RRDNSCTL, else next to RRDNSD).
"""

import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import rrdnsctl_path, source_dir, write_zone

ORIGIN = "rl.test."
DURATION = 8        # seconds of dnsperf traffic
RATE = 5000         # queries per second
OUTSTANDING = 50
RELOAD_EVERY = 0.1  # seconds between reloads


def dnsperf_path() -> str:
    path = shutil.which("dnsperf") or ("/usr/bin/dnsperf" if os.path.exists("/usr/bin/dnsperf")
                                      else None)
    if path is None:
        pytest.fail("dnsperf is not installed (Debian package 'dnsperf'): add it to the test "
                    "dependencies", pytrace=False)
    return path


def zone(serial: int, addrs) -> str:
    names = "".join('[names.host%d]\nA = "10.%d.0.%d"\n' % (i, serial % 200, i + 1)
                    for i in range(20))
    return (
        'origin = "%s"\nttl = 300\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
        "serial = %d\nminimum = 60\n"
        '[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n'
        "[names.www]\nA = [%s]\n" % (ORIGIN, serial, ", ".join('"%s"' % a for a in addrs))
    ) + names


VERSION_A = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
VERSION_B = ["192.0.2.11", "192.0.2.12"]


@pytest.fixture
def sockdir():
    path = Path(tempfile.mkdtemp(prefix="rrul", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_reload_under_load_loses_nothing(daemons, tmp_path, sockdir, binary):
    perf = dnsperf_path()
    ctl = rrdnsctl_path()
    assert ctl.exists(), "rrdnsctl binary not found at %s (set RRDNSCTL)" % ctl

    zone_path = write_zone(tmp_path / "rl.test.toml", zone(1, VERSION_A))
    sock = sockdir / "control.sock"
    d = daemons(zones=[zone_path], probe=(ORIGIN, "SOA"), threads=2,
                extra_args=["--control", str(sock)])

    queries = tmp_path / "queries.txt"
    lines = ["www.%s A" % ORIGIN, "nosuch.%s A" % ORIGIN, "www.%s AAAA" % ORIGIN,
             "%s SOA" % ORIGIN, "host3.%s A" % ORIGIN]
    queries.write_text("\n".join(lines) + "\n")

    reloads = []  # (exit status, serial, stdout+stderr)
    stop = threading.Event()

    def reload_loop():
        serial = 1
        while not stop.is_set():
            serial += 1
            write_zone(zone_path, zone(serial, VERSION_A if serial % 2 else VERSION_B))
            try:
                p = subprocess.run([str(ctl), "--socket", str(sock), "--timeout", "10", "reload"],
                                   capture_output=True, text=True, timeout=15,
                                   stdin=subprocess.DEVNULL)
                reloads.append((p.returncode, serial, p.stdout + p.stderr))
            except subprocess.TimeoutExpired as e:
                reloads.append(("timeout", serial, str(e)))
            stop.wait(RELOAD_EVERY)

    perf_proc = subprocess.Popen(
        [perf, "-s", "127.0.0.1", "-p", str(d.port), "-m", "udp", "-d", str(queries),
         "-l", str(DURATION), "-Q", str(RATE), "-q", str(OUTSTANDING), "-t", "2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    thread = threading.Thread(target=reload_loop, daemon=True)
    thread.start()
    try:
        out, _ = perf_proc.communicate(timeout=DURATION + 20)
    except subprocess.TimeoutExpired:
        perf_proc.kill()
        out, _ = perf_proc.communicate(timeout=5)
        pytest.fail("dnsperf did not finish\n" + out)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive(), "the reload loop did not stop"

    print(out)
    print("%d reloads" % len(reloads))
    assert perf_proc.returncode == 0, "dnsperf exit %s\n%s" % (perf_proc.returncode, out)
    sent = re.search(r"Queries sent:\s+(\d+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    assert sent and lost, "unexpected dnsperf output\n" + out
    assert int(sent.group(1)) >= RATE * DURATION * 0.5, "dnsperf sent too little\n" + out
    assert int(lost.group(1)) == 0, "queries lost during reloads\n%s\n%s" % (out, d.diag())

    failed = [r for r in reloads if r[0] != 0]
    assert not failed, "reloads that did not exit 0: %s\n%s" % (failed[:5], d.diag())
    assert len(reloads) >= 20, "only %d reloads ran\n%s" % (len(reloads), d.diag())

    # The daemon is still well and serves the last version written.
    last_serial = reloads[-1][1]
    soa = d.ask(ORIGIN, "SOA")
    assert soa.answer[0][0].serial == last_serial, (soa, last_serial)
    www = sorted(rd.address for rd in d.ask("www." + ORIGIN, "A").answer[0])
    assert www == sorted(VERSION_A if last_serial % 2 else VERSION_B), www
