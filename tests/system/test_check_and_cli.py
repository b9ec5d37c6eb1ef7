"""Command line: --check, exit statuses, --zone, several --listen, --config, signals."""

import signal
import socket
import subprocess
import time

import dns.rcode
import pytest

from conftest import (FX_TEST, RR_TEST, first_addresses, free_port,
                      simple_zone, udp_exchange, make_query, parse, write_zone)

GOOD = simple_zone("ck.test.", 1, ["10.7.0.1", "10.7.0.2"])
SYNTAX = GOOD.replace('A = "192.0.2.53"', 'A = "192.0.2.53')           # line 11
BAD_IP = GOOD.replace('"10.7.0.2"', '"10.7.0.256"')                    # line 13
TWO_BAD = BAD_IP + '[names.y]\nA = "1.2.3"\n'                         # lines 13 and 15


def run(binary, *args, timeout=20, cwd=None):
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)


def show(p):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


def test_check_good_zone(binary):
    p = run(binary, "--check", RR_TEST)
    assert p.returncode == 0, show(p)
    assert "OK" in p.stdout, show(p)


def test_check_two_good_zones_ok_each(binary):
    p = run(binary, "--check", RR_TEST, FX_TEST)
    assert p.returncode == 0, show(p)
    assert p.stdout.count("OK") >= 2, show(p)


def test_check_example_zone(binary):
    from conftest import repo_zone
    p = run(binary, "--check", repo_zone("example.toml"))
    assert p.returncode == 0, show(p)


@pytest.mark.parametrize("text,lines", [(SYNTAX, [11]), (BAD_IP, [13]), (TWO_BAD, [13, 15])],
                         ids=["syntax", "bad-ipv4", "two-errors"])
def test_check_broken_zone(binary, tmp_path, text, lines):
    zone = write_zone(tmp_path / "broken.toml", text)
    p = run(binary, "--check", zone)
    assert p.returncode == 1, show(p)
    for line in lines:
        assert "%s:%d:" % (zone, line) in p.stderr, show(p)


def test_check_good_and_broken(binary, tmp_path):
    zone = write_zone(tmp_path / "broken.toml", BAD_IP)
    p = run(binary, "--check", RR_TEST, zone)
    assert p.returncode == 1, show(p)
    assert "%s:13:" % zone in p.stderr, show(p)


GEO = GOOD + """[maps.geo]
default = ["east", "west"]
nets-file = "geo.nets"
[pools.geo]
names = ["geo"]
map = "geo"
[pools.geo.sites.east]
members = ["10.9.1.1"]
[pools.geo.sites.west]
members = ["10.9.2.1"]
"""


def test_check_topology_map(binary, tmp_path):
    """--check reads a map's nets file beside the zone file; its errors carry its own file:line."""
    zone = write_zone(tmp_path / "geo.toml", GEO)
    nets = tmp_path / "geo.nets"
    nets.write_text("# client networks\n10.1.0.0/16 east west\n10.2.0.0/16 west east\n")
    p = run(binary, "--check", zone)
    assert p.returncode == 0, show(p)
    nets.write_text("10.1.0.0/16 east west\n10.2.3.0/16 west\n10.3.0.0/16 north\n")
    p = run(binary, "--check", zone)
    assert p.returncode == 1, show(p)
    assert "%s:2:" % nets in p.stderr and "bits set past its prefix" in p.stderr, show(p)
    nets.write_text("10.3.0.0/16 north\n")
    p = run(binary, "--check", zone)
    assert p.returncode == 1, show(p)
    map_line = GEO.splitlines().index('map = "geo"') + 1
    assert "%s:%d: pools.geo.map:" % (zone, map_line) in p.stderr, show(p)
    assert "'north'" in p.stderr, show(p)


def test_check_missing_file(binary, tmp_path):
    p = run(binary, "--check", tmp_path / "nope.toml")
    assert p.returncode == 1, show(p)
    assert "nope.toml" in p.stderr, show(p)


def test_check_config(binary, tmp_path):
    write_zone(tmp_path / "ck.toml", GOOD)
    (tmp_path / "rr.test.toml").write_bytes(RR_TEST.read_bytes())
    cfg = tmp_path / "server.toml"
    cfg.write_text('listen = ["127.0.0.1:53999"]\nzones = ["ck.toml", "rr.test.toml"]\n')
    p = run(binary, "--config", cfg, "--check", cwd="/")
    assert p.returncode == 0, show(p)
    assert p.stdout.count("OK") >= 2, show(p)
    write_zone(tmp_path / "ck.toml", SYNTAX)
    p = run(binary, "--config", cfg, "--check", cwd="/")
    assert p.returncode == 1, show(p)
    assert "ck.toml:11:" in p.stderr, show(p)


@pytest.mark.parametrize("args", [
    ["--bogus-option", "ZONE"],
    ["--listen"],
    ["--threads", "abc", "--listen", "127.0.0.1:53999", "ZONE"],
    ["--listen", "127.0.0.1:53999", "--log-level", "loudest", "ZONE"],
], ids=["unknown-option", "missing-value", "bad-threads", "bad-log-level"])
def test_bad_command_line_exit_2(binary, args):
    p = run(binary, *[RR_TEST if a == "ZONE" else a for a in args], timeout=10)
    assert p.returncode == 2, show(p)
    assert p.stderr.strip(), "a usage error should say something on stderr\n" + show(p)


def test_start_with_broken_zone_fails(binary, tmp_path):
    zone = write_zone(tmp_path / "broken.toml", BAD_IP)
    port = free_port()
    p = run(binary, "--listen", "127.0.0.1:%d" % port, zone, timeout=10)
    assert p.returncode not in (0, None), show(p)
    assert "%s:13:" % zone in p.stderr, show(p)


def test_bind_failure_exits(binary):
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
        u.bind(("127.0.0.1", port))
        t.bind(("127.0.0.1", port))
        t.listen(1)
        p = run(binary, "--listen", "127.0.0.1:%d" % port, RR_TEST, timeout=10)
    assert p.returncode != 0, show(p)


def test_zone_option(daemons):
    d = daemons(zones=[RR_TEST, FX_TEST], zone_flag="--zone")
    r = d.ask("www.fx.test.", "A")
    assert r.rcode() == dns.rcode.NOERROR and len(first_addresses(r)) == 5, r


def test_several_listen_addresses(daemons):
    port2 = free_port()
    d = daemons(zones=[RR_TEST], extra_args=["--listen", "127.0.0.1:%d" % port2])
    for port in (d.port, port2):
        data = udp_exchange("127.0.0.1", port, make_query("mail.rr.test.").to_wire())
        assert data is not None, "no UDP answer on port %d\n%s" % (port, d.diag())
        assert first_addresses(parse(data)) == ["192.0.2.25"]
    r = d.tcp_raw(make_query("mail.rr.test.").to_wire())
    assert r is not None


def test_log_level_option(daemons):
    d = daemons(zones=[RR_TEST], extra_args=["--log-level", "debug"])
    assert d.ask("mail.rr.test.").rcode() == dns.rcode.NOERROR


def test_config_zones_relative_to_config_dir(daemons):
    def config(specs):
        return ('listen = [%s]\nzones = ["rr.test.toml", "fx.test.toml"]\nthreads = 2\n'
                'log-level = "info"\n' % ", ".join('"%s"' % s for s in specs))
    d = daemons(config=config, files=[RR_TEST, FX_TEST])  # started with cwd /
    assert len(first_addresses(d.ask("www.fx.test."))) == 5
    assert len(first_addresses(d.ask("www.rr.test.", tcp=True))) == 8


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero_promptly(daemons, sig):
    d = daemons(zones=[RR_TEST], threads=2)
    start = time.monotonic()
    status = d.stop(sig, timeout=5)
    took = time.monotonic() - start
    assert status == 0, "exit status %s after %s\n%s" % (status, sig.name, d.diag())
    assert took < 3, "took %.1f s to exit" % took


def test_sigterm_with_open_tcp_connection(daemons):
    d = daemons(zones=[RR_TEST])
    from conftest import tcp_connect
    with tcp_connect(d.host, d.port) as s:
        s.sendall(b"\x00\x40partial")  # half a message: the connection is busy
        start = time.monotonic()
        status = d.stop(signal.SIGTERM, timeout=5)
    assert status == 0, d.diag()
    assert time.monotonic() - start < 3
