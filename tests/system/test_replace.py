"""rrdnsctl replace: a new rrdnsd takes the sockets from the running one and nothing is lost.

The old daemon starts the new one (same arguments), hands it the listening sockets and the
control socket over the control socket (SCM_RIGHTS), and exits once the new one serves and its
own TCP connections are done. Checked here: a steady UDP stream and a TCP connection kept open
see no query go unanswered across two replaces; the PID changes and the control socket answers
on the new daemon; a failing new daemon (a script that exits 1, a broken zone, a changed listen)
leaves the old one serving and rrdnsctl says why; an operator drain carries over.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import dns.rdatatype
import pytest

from conftest import (Daemon, RR_TEST, has_ipv6_loopback, listen_spec, make_query, parse,
                      pool_tables, rrdnsctl_path, stop_all, tcp_connect, tcp_frame,
                      tcp_read_message, toml_value, write_zone)

CTL_TIMEOUT = 60


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    try:
        return Path("/proc/%d/stat" % pid).read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sockdir():
    path = Path(tempfile.mkdtemp(prefix="rrep", dir="/tmp"))
    yield path
    for f in path.iterdir():
        f.unlink()
    path.rmdir()


@pytest.fixture
def replaceable(tmp_path, sockdir):
    """start(**Daemon kwargs) -> a Daemon with a control socket and a state file. Daemons that
    a replace started are stopped at teardown by PID (they are ours: our daemon started them)."""
    started, new_pids = [], []

    def start(extra=(), **kw):
        d = Daemon(tmp_path / ("d%d" % len(started)),
                   extra_args=["--control", str(sockdir / "control.sock"),
                               "--state-file", str(tmp_path / "state.json"), *extra], **kw)
        d.sock = sockdir / "control.sock"
        d.new_pids = new_pids
        started.append(d)
        return d.start()

    yield start
    for pid in new_pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, 10):
                os.kill(pid, signal.SIGKILL)
    stop_all(started)


def ctl(d, *args, timeout=CTL_TIMEOUT):
    env = dict(os.environ)
    env.pop("RRDNS_CONTROL", None)
    return subprocess.run([str(rrdnsctl_path()), "--socket", str(d.sock), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, cwd="/")


def replace(d, *args):
    """rrdnsctl --json replace; on success the old daemon exits by design, and the new PID is
    recorded for teardown."""
    r = ctl(d, "--json", "replace", *args)
    js = json.loads(r.stdout) if r.stdout.strip() else {}
    # What an operator reads: the error line and the new daemon's own error lines.
    r.why = "\n".join([r.stderr, js.get("error", "")] + js.get("errors", []))
    if r.returncode == 0:
        d.stopped_by_us = True  # it exits by itself: not a crash
        d.new_pids.append(js["pid"])
    return r, js


class Stream:
    """Queries in a loop until stopped, one at a time; counts sent and answered. UDP waits 2 s
    for each answer; TCP keeps one connection open the whole time."""

    def __init__(self, host, port, tcp):
        self.host, self.port, self.tcp = host, port, tcp
        self.sent = self.answered = 0
        self.failures = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)

    def run(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = (tcp_connect(self.host, self.port) if self.tcp
                else socket.socket(family, socket.SOCK_DGRAM))
        try:
            deadline = time.monotonic() + 120
            while not self.stop.is_set() and time.monotonic() < deadline:
                q = make_query("www.rr.test.", "A")
                self.sent += 1
                if self.tcp:
                    sock.sendall(tcp_frame(q.to_wire()))
                    data = tcp_read_message(sock, timeout=2.0)
                else:
                    sock.sendto(q.to_wire(), (self.host, self.port))
                    sock.settimeout(2.0)
                    try:
                        data = sock.recv(4096)
                    except socket.timeout:
                        data = None
                if data is not None and parse(data).id == q.id and parse(data).answer:
                    self.answered += 1
                else:
                    self.failures.append((self.sent, time.monotonic()))
                time.sleep(0.001)
        except OSError as e:
            self.failures.append(("%s: %s" % (type(e).__name__, e), time.monotonic()))
        finally:
            sock.close()


def answers(d, host=None):
    q = make_query("www.rr.test.", "A")
    data = d.udp_raw(q.to_wire(), host=host)
    assert data is not None, "no answer\n" + d.diag()
    return parse(data)


def test_replace_under_a_query_stream_loses_nothing(replaceable):
    hosts = ("127.0.0.1", "::1") if has_ipv6_loopback() else ("127.0.0.1",)
    d = replaceable(zones=[RR_TEST], threads=2, hosts=hosts)
    old_pid = d.proc.pid
    with Stream(d.host, d.port, tcp=False) as udp, Stream(d.host, d.port, tcp=True) as tcp, \
            Stream(hosts[-1], d.port, tcp=False) as udp_last:
        time.sleep(0.5)
        r, first = replace(d)
        assert r.returncode == 0, r.stderr + d.diag()
        assert first["pid"] != old_pid and first["replaced_pid"] == old_pid, first
        assert pid_alive(first["pid"]), first
        time.sleep(0.5)
        # The second replace is asked of the new daemon, over the control socket it took over.
        r, second = replace(d)
        assert r.returncode == 0, r.stderr
        assert second["replaced_pid"] == first["pid"] and second["pid"] != first["pid"], second
        before = (udp.answered, tcp.answered)
        time.sleep(0.5)
        progress = (udp.answered - before[0], tcp.answered - before[1])
    for name, s in (("udp", udp), ("tcp", tcp), ("udp " + hosts[-1], udp_last)):
        assert s.failures == [], "%s: %d sent, unanswered: %s" % (name, s.sent, s.failures[:5])
        assert s.answered == s.sent > 50, (name, s.sent, s.answered)
    assert progress[0] > 10 and progress[1] > 10, progress
    # The old daemons exit once their TCP connection (the stream's, closed now) is done.
    assert wait_gone(old_pid, 20), "the replaced rrdnsd did not exit\n" + d.diag()
    assert wait_gone(first["pid"], 20), "the first new rrdnsd did not exit\n" + d.diag()
    assert d.proc.wait(timeout=10) == 0, d.diag()
    assert "replace: done, exiting" in d.stderr_text(), d.diag()
    # Only the newest daemon is left; it answers UDP, new TCP connections and the control socket.
    assert pid_alive(second["pid"])
    assert answers(d).answer
    with tcp_connect(d.host, d.port) as s:
        s.sendall(tcp_frame(make_query("www.rr.test.", "A").to_wire()))
        assert tcp_read_message(s, timeout=3.0) is not None
    status = ctl(d, "--json", "status")
    assert status.returncode == 0 and json.loads(status.stdout)["ok"] is True, status
    # ... and it stops like any daemon: the socket file goes with it.
    os.kill(second["pid"], signal.SIGTERM)
    assert wait_gone(second["pid"], 10)
    assert not d.sock.exists()


def test_a_new_daemon_that_fails_leaves_the_old_one_serving(replaceable, tmp_path):
    d = replaceable(zones=[RR_TEST], threads=2)
    old_pid = d.proc.pid
    script = tmp_path / "broken-rrdnsd"
    script.write_text("#!/bin/sh\necho 'not an rrdnsd' >&2\nexit 1\n")
    script.chmod(0o755)
    r, js = replace(d, "--binary", script)
    assert r.returncode == 1, r
    assert "exited with status 1 before it served" in r.why, r.why
    assert "keeps serving" in r.why, r.why

    # Without --json the reason goes to stderr.
    text = ctl(d, "replace", "--binary", script)
    assert text.returncode == 1 and "exited with status 1" in text.stderr, text

    r, _ = replace(d, "--binary", tmp_path / "no-such-rrdnsd")
    assert r.returncode == 1 and "no such file" in r.why, r

    assert d.alive() and d.proc.pid == old_pid
    assert answers(d).answer
    with tcp_connect(d.host, d.port) as s:
        s.sendall(tcp_frame(make_query("www.rr.test.", "A").to_wire()))
        assert tcp_read_message(s, timeout=3.0) is not None
    assert ctl(d, "status").returncode == 0
    # After the failures a replace still works.
    r, js = replace(d)
    assert r.returncode == 0, r.why + d.diag()


def test_a_broken_zone_fails_the_replace_with_its_reason(replaceable, tmp_path):
    zone = tmp_path / "rr.test.toml"
    zone.write_text(Path(RR_TEST).read_text())
    d = replaceable(zones=[zone], threads=1)
    zone.write_text(zone.read_text() + "\n[names.broken\n")
    r, _ = replace(d)
    assert r.returncode == 1, r
    assert "could not" in r.why or "failed" in r.why, r.why
    assert "rr.test.toml:" in r.why, r.why  # the loader's file:line comes back
    assert d.alive() and answers(d).answer


def test_listen_cannot_change_across_a_replace(tmp_path, sockdir, replaceable):
    ports = {}

    def config(specs):
        ports.setdefault("first", specs)
        return ('listen = %s\nzones = [%s]\nthreads = 1\ncontrol = "%s"\n' % (
            toml_value(specs), toml_value(str(RR_TEST)), sockdir / "control.sock"))

    d = Daemon(tmp_path / "cfg", config=config)
    d.sock = sockdir / "control.sock"
    d.new_pids = []
    d.start()
    try:
        other = listen_spec("127.0.0.1", d.port + 1 if d.port < 65000 else d.port - 1)
        d.config_path.write_text(config([other]))
        r, _ = replace(d)
        assert r.returncode == 1, r
        assert "listen changed" in r.why and "restart" in r.why, r.why
        assert d.alive() and answers(d).answer
    finally:
        stop_all([d])


def test_operator_drain_carries_over(replaceable, replicas, tmp_path):
    reps = replicas(21, 22, 23)
    check = {"type": "http", "port": reps[0].port, "path": "/healthz", "expect": [200],
             "interval": 0.2, "timeout": 0.15, "rise": 1, "fall": 1}
    text = ('origin = "rp.test."\nttl = 300\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\nminimum = 60\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n')
    text += pool_tables({"www": {"names": ["www"], "policy": "rotate", "ttl": 10,
                                 "members": [{"address": r.host, "port": r.port} for r in reps]}},
                        check)
    zone = write_zone(tmp_path / "rp.test.toml", text)
    d = replaceable(zones=[zone], threads=1, probe=("rp.test.", "SOA"))
    victim = reps[1].host
    assert ctl(d, "drain", victim).returncode == 0

    def addresses():
        data = d.udp_raw(make_query("www.rp.test.", "A").to_wire())
        assert data is not None, d.diag()
        return {rr.address for rrset in parse(data).answer for rr in rrset
                if rrset.rdtype == dns.rdatatype.A}

    deadline = time.monotonic() + 10
    while addresses() != {r.host for r in reps} - {victim} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert addresses() == {r.host for r in reps} - {victim}
    r, js = replace(d)
    assert r.returncode == 0, r.why + d.diag()
    pool = json.loads(ctl(d, "--json", "pool", "www").stdout)
    drained = [m for m in pool["members"] if m["address"] == victim]
    assert drained and drained[0]["admin"] == "drained", pool
    # The new daemon never answered with the drained member, from its first answer on.
    for _ in range(20):
        assert victim not in addresses()


def test_systemd_hears_ready_and_the_new_main_pid(replaceable, sockdir, monkeypatch):
    """The sd_notify protocol as a Type=notify unit with NotifyAccess=all sees it: READY=1 once
    the daemon listens, and MAINPID=<new pid> from the daemon that took over."""
    path = sockdir / "notify"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(path))
    notify.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    try:
        d = replaceable(zones=[RR_TEST], threads=1)
        assert notify.recv(4096) == b"READY=1"
        r, js = replace(d)
        assert r.returncode == 0, r.why + d.diag()
        message = notify.recv(4096).decode()
        assert message.split("\n") == ["MAINPID=%d" % js["pid"], "READY=1"], message
    finally:
        notify.close()
        path.unlink()
