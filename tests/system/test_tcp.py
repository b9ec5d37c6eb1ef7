"""DNS over TCP (RFC 7766): connection reuse, pipelining, split messages, idle timeout."""

import select
import socket
import time

import dns.flags
import dns.rcode

from conftest import (RR_TEST, first_addresses, make_query, parse, send_in_background, tcp_connect,
                      tcp_frame, tcp_read_message)

WWW = {"10.0.0.%d" % i for i in range(1, 9)}


def nothing_readable(sock, seconds):
    r, _, _ = select.select([sock], [], [], seconds)
    return not r


def test_several_queries_on_one_connection(server):
    with tcp_connect(server.host, server.port) as s:
        for i, (qname, expect) in enumerate([("www.rr.test.", WWW), ("mail.rr.test.", {"192.0.2.25"}),
                                             ("ns1.rr.test.", {"192.0.2.53"})] * 2):
            q = make_query(qname, "A", qid=1000 + i)
            s.sendall(tcp_frame(q.to_wire()))
            data = tcp_read_message(s)
            assert data is not None, "connection closed after %d queries\n%s" % (i, server.diag())
            r = parse(data)
            assert r.id == q.id and r.rcode() == dns.rcode.NOERROR, r
            assert set(first_addresses(r)) == expect


def test_pipelined_queries_in_one_write(server):
    names = {2001: ("www.rr.test.", "A"), 2002: ("mail.rr.test.", "A"),
             2003: ("nosuch.rr.test.", "A"), 2004: ("api.rr.test.", "AAAA"),
             2005: ("rr.test.", "SOA")}
    blob = b"".join(tcp_frame(make_query(n, t, qid=i).to_wire()) for i, (n, t) in names.items())
    got = {}
    with tcp_connect(server.host, server.port) as s:
        s.sendall(blob)
        for _ in range(len(names)):
            data = tcp_read_message(s, timeout=5)
            assert data is not None, "only %d of 5 answers: %s\n%s" % (len(got), sorted(got), server.diag())
            r = parse(data)
            assert r.id in names and r.id not in got, r.id
            got[r.id] = r
    assert sorted(got) == sorted(names)
    for i, (qname, _) in names.items():
        assert got[i].question[0].name.to_text() == qname
    assert set(first_addresses(got[2001])) == WWW
    assert got[2003].rcode() == dns.rcode.NXDOMAIN
    assert len(got[2004].answer[0]) == 2
    assert got[2005].answer[0][0].serial == 2024010101


def _split_query(server, cut):
    q = make_query("www.rr.test.", "A", qid=0x5A5A)
    framed = tcp_frame(q.to_wire())
    with tcp_connect(server.host, server.port) as s:
        s.sendall(framed[:cut])
        assert nothing_readable(s, 0.2), "answered before the whole message arrived"
        s.sendall(framed[cut:])
        data = tcp_read_message(s)
    assert data is not None, "split query (cut at %d) not answered\n%s" % (cut, server.diag())
    r = parse(data)
    assert r.id == 0x5A5A and set(first_addresses(r)) == WWW


def test_split_inside_length_prefix(server):
    _split_query(server, 1)


def test_split_after_length_prefix(server):
    _split_query(server, 2)


def test_split_inside_message(server):
    _split_query(server, 9)


def test_second_query_straddles_writes(server):
    q1 = tcp_frame(make_query("www.rr.test.", "A", qid=1).to_wire())
    q2 = tcp_frame(make_query("mail.rr.test.", "A", qid=2).to_wire())
    with tcp_connect(server.host, server.port) as s:
        s.sendall(q1 + q2[:5])
        first = tcp_read_message(s)
        assert first is not None and parse(first).id == 1, server.diag()
        assert nothing_readable(s, 0.1)
        s.sendall(q2[5:])
        second = tcp_read_message(s)
        assert second is not None and parse(second).id == 2, server.diag()


def idle_config(extra=""):
    def make(specs):
        return ("listen = [%s]\nzones = [\"rr.test.toml\"]\nthreads = 1\ntcp-idle-timeout = 1\n%s"
                % (", ".join('"%s"' % s for s in specs), extra))
    return make


def wait_closed(sock, timeout):
    """Seconds until the peer closes (EOF or reset), or None if still open after timeout."""
    start = time.monotonic()
    deadline = start + timeout
    for _ in range(1000):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return time.monotonic() - start
        if not data:
            return time.monotonic() - start
    return None


def test_idle_connection_closed_after_timeout(daemons, binary):
    d = daemons(config=idle_config(), files=[RR_TEST])
    with tcp_connect(d.host, d.port) as s:
        took = wait_closed(s, 3.5)
    assert took is not None, "idle connection still open after 3.5 s (tcp-idle-timeout = 1)\n" + d.diag()
    assert took >= 0.5, "closed after %.2f s, before the 1 s idle timeout" % took


def test_idle_timeout_counts_from_last_query(daemons, binary):
    d = daemons(config=idle_config(), files=[RR_TEST])
    with tcp_connect(d.host, d.port) as s:
        # keep the connection busy for longer than the timeout: it must stay open
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < 1.6 and i < 100:
            s.sendall(tcp_frame(make_query("www.rr.test.", "A", qid=i).to_wire()))
            data = tcp_read_message(s)
            assert data is not None, "closed while active after %.2f s\n%s" % (
                time.monotonic() - start, d.diag())
            assert parse(data).id == i
            i += 1
            nothing_readable(s, 0.3)  # paced well inside the idle timeout
        took = wait_closed(s, 3.5)
    assert took is not None, "not closed after going idle\n" + d.diag()


def test_connection_slots_are_released(daemons, binary):
    d = daemons(config=idle_config("tcp-max-connections = 2\n"), files=[RR_TEST])
    for round_ in range(5):
        deadline = time.monotonic() + 3
        answered = False
        for _ in range(50):
            try:
                with tcp_connect(d.host, d.port) as a, tcp_connect(d.host, d.port) as b:
                    ok = True
                    for s, qid in ((a, 1), (b, 2)):
                        s.sendall(tcp_frame(make_query("mail.rr.test.", "A", qid=qid).to_wire()))
                        data = tcp_read_message(s, timeout=1)
                        ok = ok and data is not None and parse(data).id == qid
                    if ok:
                        answered = True
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert answered, "round %d: two connections not served (limit 2, earlier ones closed)\n%s" % (
            round_, d.diag())
    assert d.alive()


def test_many_pipelined_large_answers(server):
    """300 queries with ~2 KB answers on one connection, sent while we read: nothing is lost
    when the server's writes block (back-pressure) and resume."""
    n = 300
    blob = b"".join(tcp_frame(make_query("huge.fx.test.", "A", qid=i).to_wire()) for i in range(n))
    with tcp_connect(server.host, server.port, timeout=10) as s:
        t, errors = send_in_background(s, blob)
        seen = set()
        try:
            for _ in range(n):
                data = tcp_read_message(s, timeout=10)
                assert data is not None, "closed after %d of %d answers\n%s" % (len(seen), n, server.diag())
                r = parse(data)
                assert r.id not in seen and len(r.answer[0]) == 120, r.id
                seen.add(r.id)
        finally:
            t.join(timeout=10)
    assert not errors, errors
    assert seen == set(range(n))
