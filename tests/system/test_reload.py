"""SIGHUP reload: new data appears; broken files keep the old data serving and log FILE:LINE."""

import re
import threading
import time

import dns.rcode
import pytest

from conftest import first_addresses, simple_zone, write_zone

OLD = ["10.1.0.1", "10.1.0.2"]
NEW = ["10.2.0.1", "10.2.0.2", "10.2.0.3"]
ORIGIN = "rl.test."


@pytest.fixture
def reloadable(daemons, binary, tmp_path):
    zdir = tmp_path / "zones"
    zdir.mkdir()
    zone = write_zone(zdir / "rl.test.toml", simple_zone(ORIGIN, 1, OLD))
    d = daemons(zones=[zone], probe=(ORIGIN, "SOA"))
    return d, zone


def addresses(d):
    r = d.ask("www.rl.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR, "%s\n%s" % (r, d.diag())
    return sorted(first_addresses(r))


def serial(d):
    return d.ask(ORIGIN, "SOA").answer[0][0].serial


def poll(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 10):
        if pred():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return pred()


def assert_keeps_serving(d, expect, expect_serial, seconds=1.0):
    deadline = time.monotonic() + seconds
    n = 0
    while n < 5 or (time.monotonic() < deadline and n < 200):
        assert addresses(d) == sorted(expect), "old data not served after a failed reload\n" + d.diag()
        n += 1
        time.sleep(0.1)
    assert serial(d) == expect_serial
    assert d.alive(), d.diag()


def test_reload_serves_new_data(reloadable):
    d, zone = reloadable
    assert addresses(d) == OLD and serial(d) == 1
    write_zone(zone, simple_zone(ORIGIN, 2, NEW))
    d.hup()
    assert poll(lambda: addresses(d) == sorted(NEW)), "new addresses not served\n" + d.diag()
    assert serial(d) == 2
    assert d.alive()


def test_reload_adds_and_removes_names(reloadable):
    d, zone = reloadable
    write_zone(zone, simple_zone(ORIGIN, 2, OLD, extra='[names.added]\nA = "10.5.5.5"\n'))
    d.hup()
    assert poll(lambda: d.ask("added.rl.test.", "A").rcode() == dns.rcode.NOERROR), d.diag()
    write_zone(zone, simple_zone(ORIGIN, 3, OLD))
    d.hup()
    assert poll(lambda: d.ask("added.rl.test.", "A").rcode() == dns.rcode.NXDOMAIN), d.diag()


BROKEN = {
    # name: (text, line of the error)
    "syntax": (simple_zone(ORIGIN, 2, NEW).replace('A = "192.0.2.53"', 'A = "192.0.2.53'), 11),
    "bad-ipv4": (simple_zone(ORIGIN, 2, NEW).replace('"10.2.0.2"', '"10.2.0.300"'), 13),
    "unknown-type": (simple_zone(ORIGIN, 2, NEW) + "[names.x]\nBOGUS = \"1\"\n", 15),
    # A topology map listing a site the pool lacks: said at the pool's map key.
    "map-site": (simple_zone(ORIGIN, 2, NEW) + '[maps.geo]\ndefault = ["east", "west"]\n'
                 '[pools.geo]\nnames = ["geo"]\nmap = "geo"\n'
                 '[pools.geo.sites.east]\nmembers = ["10.9.0.1"]\n', 18),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_reload_keeps_old_zone(reloadable, case):
    d, zone = reloadable
    text, line = BROKEN[case]
    assert text.splitlines()[line - 1]  # the line exists
    write_zone(zone, text)
    mark = d.stderr_mark()
    d.hup()
    needle = "%s:%d:" % (zone.name, line)
    assert d.wait_stderr(needle, 5, since=mark), "expected '%s' in stderr\n%s" % (needle, d.diag())
    assert_keeps_serving(d, OLD, 1)
    # a fixed file loads again
    write_zone(zone, simple_zone(ORIGIN, 3, NEW))
    d.hup()
    assert poll(lambda: addresses(d) == sorted(NEW)), "reload after the fix failed\n" + d.diag()
    assert serial(d) == 3


def test_error_line_format(reloadable):
    d, zone = reloadable
    text, line = BROKEN["bad-ipv4"]
    write_zone(zone, text)
    d.hup()
    assert d.wait_stderr("%s:%d:" % (zone.name, line), 5), d.diag()
    # FILE:LINE: KEY: message, with the full path as given on the command line
    pat = re.compile(r"%s:%d: \S.*" % (re.escape(str(zone)), line))
    assert pat.search(d.stderr_text()), "no '%s:%d: KEY: message' line\n%s" % (zone, line, d.diag())


def test_missing_file_on_reload_keeps_old_zone(reloadable):
    d, zone = reloadable
    zone.unlink()
    mark = d.stderr_mark()
    d.hup()
    assert d.wait_stderr(zone.name, 5, since=mark), "no error about the missing file\n" + d.diag()
    assert_keeps_serving(d, OLD, 1, seconds=0.5)


def test_queries_answered_during_reloads(reloadable):
    d, zone = reloadable
    stop = threading.Event()
    results = []
    failures = []

    def client():
        n = 0
        while not stop.is_set() and n < 5000:
            n += 1
            try:
                r = d.ask("www.rl.test.", "A", timeout=2.0)
                got = sorted(first_addresses(r))
                results.append(got)
                if r.rcode() != dns.rcode.NOERROR or got not in (sorted(OLD), sorted(NEW)):
                    failures.append(str(r))
            except AssertionError as e:
                failures.append(str(e))

    t = threading.Thread(target=client)
    t.start()
    try:
        for i in range(20):
            # the versions differ in how many rotating RRsets (cursors) they have
            extra = "".join('[names.r%d]\nA = ["10.6.%d.1", "10.6.%d.2"]\n' % (k, k, k)
                            for k in range(i % 5 * 3))
            write_zone(zone, simple_zone(ORIGIN, 10 + i, NEW if i % 2 == 0 else OLD, extra=extra))
            d.hup()
            time.sleep(0.05)  # spread the reloads over time
        # end on NEW
        write_zone(zone, simple_zone(ORIGIN, 100, NEW))
        d.hup()
        ok = poll(lambda: serial(d) == 100)
    finally:
        stop.set()
        t.join(timeout=10)
    assert not t.is_alive()
    assert ok, "final reload not applied\n" + d.diag()
    assert not failures, "%d bad answers during reloads, first: %s\n%s" % (
        len(failures), failures[0], d.diag())
    assert len(results) >= 20, "only %d answers during reloads" % len(results)
    assert d.alive()
    assert addresses(d) == sorted(NEW)


def test_reload_in_config_mode_uses_config_dir(daemons, binary, tmp_path):
    """Config mode, started with cwd /: SIGHUP rereads the zones named relative to the config."""
    def config(specs):
        return ('listen = [%s]\nzones = ["rl.test.toml"]\n' % ", ".join('"%s"' % s for s in specs))

    src = write_zone(tmp_path / "rl.test.toml", simple_zone(ORIGIN, 1, OLD))
    d = daemons(config=config, files=[src], probe=(ORIGIN, "SOA"))
    zone = d.workdir / "rl.test.toml"
    assert addresses(d) == OLD
    write_zone(zone, simple_zone(ORIGIN, 2, NEW))
    d.hup()
    assert poll(lambda: addresses(d) == sorted(NEW)), "config-mode reload failed\n" + d.diag()
    write_zone(zone, BROKEN["bad-ipv4"][0])
    mark = d.stderr_mark()
    d.hup()
    assert d.wait_stderr("rl.test.toml:13:", 5, since=mark), d.diag()
    assert_keeps_serving(d, NEW, 2, seconds=0.5)
