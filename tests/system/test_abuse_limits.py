"""Abuse limits: minimal ANY over UDP (RFC 8482), TCP connections per client, the bound on a
TCP connection's unsent answers, response rate limiting with slip, and dropping root."""

import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import dns.flags
import dns.rcode

from conftest import (FX_TEST, RR_TEST, Daemon, free_port, free_tcp_port, make_query,
                      malloc_counter_preload, parse, send_in_background, stop_all, tcp_connect,
                      tcp_frame, tcp_read_message)

WWW = {"10.0.0.%d" % i for i in range(1, 9)}
# Loopback source addresses for other clients: 127.0.0.2 is another address in 127.0.0.1's
# /24 (the rate limiter's prefix), 127.0.1.2 another prefix.
ALT_CLIENT = "127.0.0.2"
OTHER_PREFIX = "127.0.1.2"


def config(extra):
    def make(specs):
        return ("listen = [%s]\nzones = [\"rr.test.toml\", \"fx.test.toml\"]\nthreads = 1\n%s" % (
            ", ".join('"%s"' % s for s in specs), extra))
    return make


def udp_ask(host, port, wire, source=None, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(wire, (host, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


# --------------------------------------------------------------------------------------------
# ANY (RFC 8482)

def test_any_over_udp_is_one_rrset_whatever_the_buffer(server):
    """RFC 8482 4.1: one RRset of the name over UDP, even when the client's EDNS buffer would
    hold them all, so ANY cannot be used for amplification; TCP (4.4) gets every RRset."""
    full = server.ask("rr.test.", "ANY", tcp=True)
    assert len(full.answer) >= 4, full
    full_size = len(full.to_wire())
    for edns in (None, 0):
        q = make_query("rr.test.", "ANY", edns=edns, payload=4096)
        data = server.udp_raw(q.to_wire())
        r = parse(data)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
        assert not r.flags & dns.flags.TC, "a minimal answer fits; no TC needed\n%s" % r
        assert len(r.answer) == 1, "RFC 8482: one RRset over UDP\n%s" % r
        assert len(data) < full_size, (len(data), full_size)
    # A name with A, AAAA, MX and TXT: still one.
    r = server.ask("multi.fx.test.", "ANY", edns=0, payload=4096)
    assert len(r.answer) == 1, r


# --------------------------------------------------------------------------------------------
# TCP: connections per client

def connection_served(host, port, qid, source=None, timeout=2.0):
    """True if a new connection (from `source`) is answered; False if the server closes it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(tcp_frame(make_query("mail.rr.test.", "A", qid=qid).to_wire()))
        data = tcp_read_message(s, timeout=timeout)
        return data is not None and data[:2] == struct.pack("!H", qid)
    except (ConnectionResetError, BrokenPipeError):
        return False
    finally:
        s.close()


def test_tcp_connections_per_client(daemons, binary):
    d = daemons(zones=[RR_TEST], threads=2, extra_args=["--tcp-max-connections-per-client", "3"])
    held = []
    try:
        for i in range(3):  # up to the limit: all served, and kept open
            s = tcp_connect(d.host, d.port)
            s.sendall(tcp_frame(make_query("mail.rr.test.", "A", qid=i).to_wire()))
            assert tcp_read_message(s) is not None, "connection %d not served\n%s" % (i, d.diag())
            held.append(s)
        # A 4th from the same address is closed at once, on whichever worker it lands.
        for attempt in range(4):
            assert not connection_served(d.host, d.port, 100 + attempt), \
                "a 4th connection from 127.0.0.1 was served (limit 3)\n" + d.diag()
        # Another client address is not affected.
        assert connection_served(d.host, d.port, 200, source=ALT_CLIENT), d.diag()
        # One closes; its slot comes back (once the server has seen the close).
        held.pop().close()
        deadline = time.monotonic() + 3
        served = False
        while not served and time.monotonic() < deadline:
            served = connection_served(d.host, d.port, 300)
            if not served:
                time.sleep(0.05)
        assert served, "slot not released after a close\n" + d.diag()
    finally:
        for s in held:
            s.close()
    d.stop()
    assert re.search(r"\(([1-9]\d*) refused over the limits,", d.stderr_text()), d.diag()


def test_tcp_connections_per_client_config_key_and_zero(daemons, binary):
    d = daemons(config=config("tcp-max-connections-per-client = 0\n"), files=[RR_TEST, FX_TEST])
    held = []
    try:
        for i in range(30):  # no per-client limit: all served
            s = tcp_connect(d.host, d.port)
            s.sendall(tcp_frame(make_query("mail.rr.test.", "A", qid=i).to_wire()))
            assert tcp_read_message(s) is not None, "connection %d not served\n%s" % (i, d.diag())
            held.append(s)
    finally:
        for s in held:
            s.close()


# --------------------------------------------------------------------------------------------
# TCP: a client that sends and never reads

def metric(port, name, labels):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=3).read().decode()
    for line in body.splitlines():
        if line.startswith(name + "{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s{%s} in\n%s" % (name, labels, body))


def test_unread_answers_are_bounded_per_connection(daemons, binary):
    """8,000 pipelined queries with ~2 KB answers (16 MB) from a client with a tiny receive
    buffer that does not read: the server stops reading that connection once 16 KiB of answers
    wait (after the kernel's send buffer, up to net.ipv4.tcp_wmem's maximum of 4 MB, has
    filled), instead of answering everything into memory. Once the client reads, every answer
    arrives, in order."""
    metrics_port = free_tcp_port("127.0.0.1")
    d = daemons(zones=[RR_TEST, FX_TEST], threads=1,
                extra_args=["--metrics", "127.0.0.1:%d" % metrics_port])
    n = 8000
    blob = b"".join(tcp_frame(make_query("huge.fx.test.", "A", qid=i).to_wire()) for i in range(n))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect((d.host, d.port))
    t, errors = send_in_background(s, blob)
    try:
        before = metric(metrics_port, "rrdns_queries_total", 'protocol="tcp"')
        stalled_at = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the count stops moving
            time.sleep(0.5)
            now = metric(metrics_port, "rrdns_queries_total", 'protocol="tcp"')
            if now == before:
                stalled_at = now
                break
            before = now
        assert stalled_at is not None, "the server kept reading from a client that does not read"
        assert stalled_at < n / 2, "%d of %d queries answered into an unread connection" % (
            stalled_at, n)
        assert d.ask("www.rr.test.", "A").rcode() == dns.rcode.NOERROR  # others unaffected
        seen = 0
        for i in range(n):
            data = tcp_read_message(s, timeout=10)
            assert data is not None, "closed after %d of %d answers (stalled at %d)\n%s" % (
                i, n, stalled_at, d.diag())
            assert struct.unpack("!H", data[:2])[0] == i, "answer %d out of order" % i
            seen += 1
        assert seen == n
    finally:
        s.close()
        t.join(timeout=10)
    assert not errors, errors


# --------------------------------------------------------------------------------------------
# Response rate limiting

def flood(host, port, count, qname="www.rr.test.", source=None, listen=1.0):
    """Sends `count` queries as fast as possible from one socket; returns (answered normally,
    slipped with TC, unanswered) as seen within `listen` seconds after the last one."""
    wires = [make_query(qname, "A", qid=i).to_wire() for i in range(count)]
    normal = slipped = 0
    seen = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        for w in wires:
            s.send(w)

        def take(data):
            nonlocal normal, slipped
            r = parse(data)
            if r.id in seen:
                return
            seen.add(r.id)
            if r.flags & dns.flags.TC:
                assert not r.answer and not r.authority, "a slipped answer is empty\n%s" % r
                assert r.question and r.question[0].name.to_text() == qname, r
                slipped += 1
            else:
                assert r.answer, r
                normal += 1

        deadline = time.monotonic() + listen
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                take(s.recv(65535))
            except socket.timeout:
                break
    return normal, slipped, count - normal - slipped


def test_rate_limit_slips_and_drops_but_spares_other_prefixes_and_tcp(daemons, binary):
    d = daemons(config=config("rate-limit = 20\nrate-limit-slip = 2\n"),
                files=[RR_TEST, FX_TEST])
    sent = 400
    normal, slipped, dropped = flood(d.host, d.port, sent)
    # 20 at once (less the start-up probe's 1), then 20/s for the fraction of a second the
    # flood lasts.
    assert 18 <= normal <= 60, (normal, slipped, dropped)
    limited = sent - normal
    assert abs(slipped - limited / 2) <= 5, "slip 2: every 2nd limited answer is TC (%d of %d)" % (
        slipped, limited)
    assert abs(dropped - limited / 2) <= 5, (normal, slipped, dropped)

    # Meanwhile: another prefix is answered in full, and so is TCP from the flooded one.
    r = parse(udp_ask(d.host, d.port, make_query("www.rr.test.", "A").to_wire(), source=OTHER_PREFIX))
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 8, r
    r = d.ask("www.rr.test.", "A", tcp=True)
    assert len(r.answer[0]) == 8, r
    # Another address in the same /24 shares the bucket: right after 127.0.0.1 empties it
    # again, its answers are slipped (TC, empty, OPT kept) or dropped.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flooder, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as neighbour:
        neighbour.bind((ALT_CLIENT, 0))
        for i in range(60):
            flooder.sendto(make_query("www.rr.test.", "A", qid=i).to_wire(), (d.host, d.port))
        for i in range(4):
            neighbour.sendto(make_query("www.rr.test.", "A", edns=0, qid=1000 + i).to_wire(),
                             (d.host, d.port))
        replies = []
        neighbour.settimeout(0.5)
        for _ in range(4):
            try:
                replies.append(parse(neighbour.recv(65535)))
            except socket.timeout:
                break
    assert replies, "slip 2: some of 4 limited answers must be slipped"
    for r in replies:
        assert r.flags & dns.flags.TC and not r.answer, r
        assert r.edns == 0, "a slipped answer keeps the OPT record\n%s" % r

    # A second later the bucket is full again.
    time.sleep(1.1)
    r = parse(udp_ask(d.host, d.port, make_query("www.rr.test.", "A").to_wire()))
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 8, r

    d.stop()
    m = re.search(r"(\d+) rate-limited \((\d+) of them slipped\)", d.stderr_text())
    assert m, d.diag()
    assert int(m.group(1)) >= limited and int(m.group(2)) >= slipped, (m.group(0), limited, slipped)


def test_rate_limit_slip_zero_drops_everything_over_the_limit(daemons, binary):
    d = daemons(config=config("rate-limit = 10\nrate-limit-slip = 0\nrate-limit-table-size = 1000\n"),
                files=[RR_TEST, FX_TEST])
    normal, slipped, dropped = flood(d.host, d.port, 200, listen=0.7)
    assert 8 <= normal <= 30 and slipped == 0 and dropped == 200 - normal, (normal, slipped, dropped)


def test_rate_limit_off_by_default(server):
    normal, slipped, dropped = flood(server.host, server.port, 300)
    assert (normal, slipped) == (300, 0), (normal, slipped, dropped)


def test_rate_limited_path_allocates_nothing(daemons, monkeypatch, tmp_path):
    from test_no_alloc import allocations, shim_path  # the counting malloc shim

    shim = shim_path()
    assert shim.exists(), "malloc counter shim not found at %s (set RRDNS_MALLOC_COUNTER)" % shim
    monkeypatch.setenv("LD_PRELOAD", malloc_counter_preload(shim))
    d = daemons(config=config("rate-limit = 50\n"), files=[RR_TEST, FX_TEST])
    monkeypatch.delenv("LD_PRELOAD")
    flood(d.host, d.port, 300, listen=0.3)  # warm-up: passed, dropped and slipped answers
    flood(d.host, d.port, 100, source=OTHER_PREFIX, listen=0.3)
    before = allocations(d)
    total = [0, 0, 0]
    for _ in range(5):
        for source in (None, OTHER_PREFIX, "127.0.2.1"):
            for i, v in enumerate(flood(d.host, d.port, 200, source=source, listen=0.2)):
                total[i] += v
    after = allocations(d)
    assert total[1] > 0 and total[2] > 0, "the limiter never slipped or dropped: %s" % total
    assert after == before, "%d allocations on the rate-limited path (%s)\n%s" % (
        after - before, total, d.diag())


# --------------------------------------------------------------------------------------------
# Dropping root

def proc_ids(pid):
    """{"Uid": [real, effective, saved, fs], "Gid": [...], "Groups": [...]} of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                out[key] = [int(v) for v in value.split()]
    return out


def require_root():
    assert os.geteuid() == 0, (
        "dropping root can only be tested as root (uid %d): run the system tests as root, "
        "as CI and ./tools/setup.sh test do" % os.geteuid())


def test_user_drops_root_after_binding(daemons, binary, tmp_path):
    require_root()
    nobody = pwd.getpwnam("nobody")
    control = tmp_path / "control.sock"
    d = daemons(zones=[RR_TEST], threads=2,
                extra_args=["--user", "nobody", "--control", str(control)])
    ids = proc_ids(d.proc.pid)
    assert ids["Uid"] == [nobody.pw_uid] * 4, ids
    assert ids["Gid"] == [nobody.pw_gid] * 4, ids
    assert 0 not in ids["Groups"], ids
    # Every thread, not only the main one.
    for tid in os.listdir("/proc/%d/task" % d.proc.pid):
        assert proc_ids(int(tid))["Uid"] == [nobody.pw_uid] * 4, tid
    assert "running as user nobody" in d.stderr_text(), d.diag()
    r = d.ask("www.rr.test.", "A")
    assert set(rd.address for rd in r.answer[0]) == WWW
    assert os.stat(control).st_uid == nobody.pw_uid, "control socket not handed to the user"
    assert d.stop() == 0, d.diag()


def test_user_from_config_file(binary):
    require_root()
    nobody = pwd.getpwnam("nobody")
    # A reload re-reads the config and zones as the user: they must be readable by it, which
    # pytest's own temp dirs (mode 0700) are not.
    workdir = Path(tempfile.mkdtemp(prefix="rrdns-user-"))
    started = []
    try:
        workdir.chmod(0o755)
        d = Daemon(workdir, config=config('user = "nobody"\n'), files=[RR_TEST, FX_TEST])
        started.append(d)
        d.start()
        assert proc_ids(d.proc.pid)["Uid"] == [nobody.pw_uid] * 4
        mark = d.stderr_mark()
        d.hup()
        assert d.wait_stderr("reload done", timeout=10, since=mark), d.diag()
        assert d.ask("www.rr.test.", "A").rcode() == dns.rcode.NOERROR
    finally:
        stop_all(started)
        shutil.rmtree(workdir, ignore_errors=True)


def test_root_without_user_is_warned_about(server):
    require_root()
    assert "running as root" in server.stderr_text(), server.diag()


def run_once(argv, user=None, timeout=15):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, user=user)


def test_unknown_user_and_non_root_refuse_to_start(binary, tmp_path):
    require_root()
    port = free_port()
    argv = [str(binary), "--listen", "127.0.0.1:%d" % port, "--threads", "1", str(RR_TEST)]
    p = run_once(argv + ["--user", "no-such-user-rrdns"])
    assert p.returncode == 1 and "no-such-user-rrdns" in p.stderr, p.stderr
    # Not root: cannot become another user; refuses rather than serving as the wrong one.
    p = run_once(argv + ["--user", "root"], user="nobody")
    assert p.returncode == 1 and "only root can" in p.stderr, (p.returncode, p.stderr)
