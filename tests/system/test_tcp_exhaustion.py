"""TCP under slot exhaustion (RFC 7766 6.2.3): a full connection table makes room for a new
client by closing the connection idle longest, never one that still owes answers; idle
connections get less time as the table fills; evictions are counted."""

import json
import socket
import struct
import subprocess
import threading
import time
import urllib.request

from conftest import (FX_TEST, RR_TEST, free_tcp_port, make_query, parse, rrdnsctl_path,
                      send_in_background, tcp_frame, tcp_read_message)

IDLE_TIMEOUT = 30  # seconds: far longer than any wait below, so only eviction can explain a close


def config(max_connections, threads, metrics_port, extra=""):
    def make(specs):
        return ("listen = [%s]\nzones = [\"rr.test.toml\", \"fx.test.toml\"]\nthreads = %d\n"
                "tcp-idle-timeout = %d\ntcp-max-connections = %d\n"
                "metrics = \"127.0.0.1:%d\"\ncontrol = \"control.sock\"\n%s"
                % (", ".join('"%s"' % s for s in specs), threads, IDLE_TIMEOUT, max_connections,
                   metrics_port, extra))
    return make


def metric(port, name, labels=""):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=3).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or (line.startswith(name + "{") and labels in line):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s in\n%s" % (name, body))


def ctl_stats(d):
    out = subprocess.run([str(rrdnsctl_path()), "--socket", str(d.workdir / "control.sock"),
                          "--json", "stats"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def ask_on(sock, qid, timeout=2.0):
    """One query on an open connection; True if answered, False if the server closed it."""
    try:
        sock.sendall(tcp_frame(make_query("mail.rr.test.", "A", qid=qid).to_wire()))
        data = tcp_read_message(sock, timeout=timeout)
    except OSError:
        return False
    return data is not None and data[:2] == struct.pack("!H", qid)


def open_from(host, port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((source, 0))
    s.settimeout(3)
    s.connect((host, port))
    return s


def fill(d, count, sources):
    """`count` connections spread over `sources` (within the per-client cap), each answered
    once, so that the server has accepted every one of them."""
    held = []
    for i in range(count):
        s = open_from(d.host, d.port, sources[i % len(sources)])
        assert ask_on(s, i), "connection %d of %d not served while filling\n%s" % (
            i, count, d.diag())
        held.append(s)
    return held


class KeepAlive:
    """Asks a query on each connection every `period` seconds, as a client holding slots would:
    at a full table the idle timeout is down to its 1 s floor, so quiet connections would close
    on their own. Records the connections the server closed."""

    def __init__(self, socks, period=0.2):
        self.socks = list(socks)
        self.closed = set()
        self.period = period
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        qid = 1000
        for _ in range(1000):  # bounded: ~200 s at most, stopped far sooner
            if self.stop_flag.is_set():
                return
            for i, s in enumerate(self.socks):
                if i in self.closed:
                    continue
                qid = (qid + 1) % 60000
                if not ask_on(s, qid, timeout=1.0):
                    self.closed.add(i)
            self.stop_flag.wait(self.period)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(timeout=10)


def test_full_table_of_idle_connections_makes_room_for_a_new_client(daemons, binary):
    metrics_port = free_tcp_port("127.0.0.1")
    d = daemons(config=config(40, 2, metrics_port), files=[RR_TEST, FX_TEST])
    # 40 connections from 8 addresses, 5 each: within tcp-max-connections-per-client (10).
    sources = ["127.0.0.%d" % i for i in range(10, 18)]
    held = fill(d, 40, sources)
    keep = KeepAlive(held)
    try:
        time.sleep(0.5)  # the table stays full: every held connection is still answered
        assert not keep.closed, "held connections closed before the table was full\n" + d.diag()
        assert metric(metrics_port, "rrdns_tcp_evicted_total") == 0
        # A new client, over the limit: answered at once (well inside its 2 s, against an idle
        # timeout of 30 s), because an idle connection made room.
        start = time.monotonic()
        new = open_from(d.host, d.port, "127.0.1.1")
        try:
            assert ask_on(new, 7, timeout=2.0), \
                "a new client was not answered with the table full of idle connections\n" + d.diag()
        finally:
            new.close()
        took = time.monotonic() - start
        # The one that made room was closed by the server, not left to its timeout.
        deadline = time.monotonic() + 3
        while not keep.closed and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        keep.stop()
        for s in held:
            s.close()
    assert keep.closed, "no held connection was closed to make room\n" + d.diag()
    evicted = metric(metrics_port, "rrdns_tcp_evicted_total")
    assert evicted >= 1, d.diag()
    assert ctl_stats(d)["tcp"]["evicted_idle"] == evicted
    assert took < 2.0
    d.stop()
    assert "idle ones closed to make room" in d.stderr_text(), d.diag()


def test_idle_timeout_shrinks_as_the_table_fills(daemons, binary):
    """tcp-idle-timeout 30 s, but with the table full an idle connection may stay 1 s: the next
    accept closes the ones idle longer, longest idle first, and that makes room without an
    eviction (see docs/hardening.md for the rule)."""
    metrics_port = free_tcp_port("127.0.0.1")
    d = daemons(config=config(20, 1, metrics_port), files=[RR_TEST, FX_TEST])
    sources = ["127.0.0.%d" % i for i in range(20, 24)]
    held = fill(d, 20, sources)
    try:
        time.sleep(1.5)  # every held connection is now idle for longer than the 1 s floor
        assert ask_on(held[-1], 1), "the newest connection was closed early\n" + d.diag()
        new = open_from(d.host, d.port, "127.0.1.2")
        try:
            assert ask_on(new, 2, timeout=2.0), "a new client was not answered\n" + d.diag()
        finally:
            new.close()
        # The oldest were closed (long before their 30 s); the newest, just active, was not.
        first = held[0]
        first.settimeout(3)
        try:
            data = first.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = None
        assert data == b"", "the connection idle longest is still open\n" + d.diag()
        assert ask_on(held[-1], 3), "the connection active last was closed\n" + d.diag()
    finally:
        for s in held:
            s.close()
    assert metric(metrics_port, "rrdns_tcp_evicted_total") == 0  # timeouts, not evictions


def test_a_connection_that_owes_answers_is_not_evicted(daemons, binary):
    """The oldest connection has answers it could not write yet (its client does not read):
    it is not idle, so the idle connection opened after it is the one that makes room, and the
    busy one still gets every answer once its client reads."""
    metrics_port = free_tcp_port("127.0.0.1")
    d = daemons(config=config(12, 1, metrics_port), files=[RR_TEST, FX_TEST])
    n = 8000
    blob = b"".join(tcp_frame(make_query("huge.fx.test.", "A", qid=i).to_wire()) for i in range(n))
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    busy.bind(("127.0.2.1", 0))
    busy.settimeout(20)
    busy.connect((d.host, d.port))
    writer, errors = send_in_background(busy, blob)
    held = []
    keep = None
    try:
        # Wait until the server stops reading it: its answers are stuck, the write in flight.
        before = metric(metrics_port, "rrdns_queries_total", 'protocol="tcp"')
        stalled = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = metric(metrics_port, "rrdns_queries_total", 'protocol="tcp"')
            if now == before and now > 0:
                stalled = True
                break
            before = now
        assert stalled, "the busy connection never stalled\n" + d.diag()
        # 11 idle ones (from 3 addresses) fill the table: 12 with the busy one.
        held = fill(d, 11, ["127.0.3.%d" % i for i in range(1, 4)])
        keep = KeepAlive(held)
        time.sleep(0.3)
        new = open_from(d.host, d.port, "127.0.4.1")
        try:
            assert ask_on(new, 9, timeout=2.0), "the new client was not answered\n" + d.diag()
        finally:
            new.close()
        deadline = time.monotonic() + 3
        while not keep.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        keep.stop()
        assert len(keep.closed) >= 1, "no idle connection made room\n" + d.diag()
        assert metric(metrics_port, "rrdns_tcp_evicted_total") >= 1
        # The busy connection, the oldest, was kept: every answer arrives, in order.
        for i in range(n):
            data = tcp_read_message(busy, timeout=10)
            assert data is not None, "the busy connection was closed after %d of %d answers\n%s" % (
                i, n, d.diag())
            assert struct.unpack("!H", data[:2])[0] == i
    finally:
        if keep:
            keep.stop()
        busy.close()
        writer.join(timeout=10)
        for s in held:
            s.close()
    assert not errors, errors
    assert parse(data).answer  # the last one is a real answer
