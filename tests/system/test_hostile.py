"""Hostile traffic: random and crafted datagrams, garbage TCP streams. The server must survive
and keep answering correctly."""

import random
import socket
import struct
import time

import dns.rcode

from conftest import first_addresses, make_query, tcp_connect, tcp_frame, tcp_read_message

WWW = {"10.0.0.%d" % i for i in range(1, 9)}


def crafted(rng):
    """One hostile datagram: random bytes, or a plausible header with a damaged body."""
    kind = rng.randrange(8)
    qid = rng.randrange(65536)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))
    hdr_flags = rng.choice([0x0100, 0x0000, 0x8000, 0x7800, 0xFFFF, rng.randrange(65536)])
    counts = [rng.choice([0, 1, 2, 255, 65535]) for _ in range(4)]
    head = struct.pack("!HHHHHH", qid, hdr_flags, *counts)
    if kind == 1:  # compression pointers everywhere
        body = b"".join(struct.pack("!H", 0xC000 | rng.randrange(0, 64)) for _ in range(rng.randrange(1, 30)))
    elif kind == 2:  # long chains of labels
        body = b"".join(bytes([rng.randrange(0, 64)]) + b"x" * rng.randrange(0, 64)
                        for _ in range(rng.randrange(1, 12)))
    elif kind == 3:  # a valid query with trailing garbage / truncated at a random point
        wire = make_query("www.rr.test.", rng.choice(["A", "ANY", "AAAA", "TXT"]),
                          edns=rng.choice([None, 0, 1])).to_wire()
        cut = rng.randrange(12, len(wire) + 1)
        return wire[:cut] + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    elif kind == 4:  # EDNS OPT records with damaged lengths
        q = b"\x03www\x02rr\x04test\x00\x00\x01\x00\x01"
        opt = b"\x00\x00\x29" + struct.pack("!HIH", rng.randrange(65536), rng.randrange(1 << 32),
                                             rng.choice([0, 4, 100, 65535]))
        opt += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 20)))
        return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, rng.choice([1, 2, 3])) + q + opt
    elif kind == 5:  # many OPT records / answer records in a query
        q = b"\x03www\x02rr\x04test\x00\x00\x01\x00\x01"
        rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x10\x00\x04\x0a\x00\x00\x01"
        n = rng.randrange(1, 40)
        return struct.pack("!HHHHHH", qid, 0x0100, 1, n, 0, 0) + q + rr * n
    elif kind == 6:  # ancient or odd classes and types
        q = b"\x03www\x02rr\x04test\x00" + struct.pack("!HH", rng.randrange(65536), rng.randrange(65536))
        return struct.pack("!HHHHHH", qid, rng.choice([0x0100, 0x0000, 0x2100]), 1, 0, 0, 0) + q
    else:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 100)))
    return head + body


def assert_healthy(d):
    assert d.alive(), "rrdnsd died\n" + d.diag()
    for tcp in (False, True):
        r = d.ask("www.rr.test.", "A", tcp=tcp, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR and set(first_addresses(r)) == WWW, d.diag()
        r = d.ask("nosuch.rr.test.", "A", tcp=tcp, timeout=3)
        assert r.rcode() == dns.rcode.NXDOMAIN, d.diag()


def test_udp_burst(server):
    rng = random.Random(20240101)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.connect((server.host, server.port))
        deadline = time.monotonic() + 10
        for i in range(4000):
            if time.monotonic() > deadline:
                break
            pkt = crafted(rng)
            for _ in range(3):
                try:
                    s.send(pkt)
                    sent += 1
                    break
                except BlockingIOError:
                    time.sleep(0.001)
                except ConnectionRefusedError:
                    raise AssertionError("port closed during the burst\n" + server.diag())
            if i % 64 == 0:  # drain replies so our receive buffer does not matter
                for _ in range(256):
                    try:
                        s.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
    assert sent > 2000
    assert_healthy(server)


def test_udp_burst_from_many_sockets(server):
    rng = random.Random(7)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
    try:
        for s in socks:
            s.setblocking(False)
        for i in range(1500):
            try:
                socks[i % 16].sendto(crafted(rng), (server.host, server.port))
            except (BlockingIOError, ConnectionRefusedError):
                pass
    finally:
        for s in socks:
            s.close()
    assert_healthy(server)


def test_garbage_tcp_streams(server):
    rng = random.Random(99)
    host, port = server.host, server.port
    streams = [
        b"",                                        # connect and close
        b"\x00",                                    # half a length
        b"\x00\x00",                                # zero-length message
        b"\x00\x00" * 50,                           # many zero-length messages
        b"\xff\xff" + b"A" * 100,                   # promise 65535 bytes, send 100, close
        b"\x00\x05\x01\x02\x03\x04\x05",            # a message shorter than a header
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",      # the wrong protocol
        bytes(rng.randrange(256) for _ in range(5000)),
        tcp_frame(b"\x12\x34\x81\x00" + b"\x00" * 8),  # a response (QR=1)
        b"".join(tcp_frame(bytes(rng.randrange(256) for _ in range(rng.randrange(12, 200))))
                 for _ in range(50)),
    ]
    for blob in streams:
        with tcp_connect(host, port) as s:
            try:
                s.sendall(blob)
            except OSError:
                pass
    # abortive closes (RST) in the middle of a large answer
    for _ in range(10):
        with tcp_connect(host, port) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.sendall(tcp_frame(make_query("huge.fx.test.", "A").to_wire()) * 20)
    # many connections held open at once, then dropped
    held = []
    try:
        for _ in range(50):
            try:
                held.append(tcp_connect(host, port, timeout=2))
            except OSError:
                break
        for i, s in enumerate(held):
            try:
                s.sendall(b"\x00\x20" + b"\x00" * (i % 32))
            except OSError:
                pass
    finally:
        for s in held:
            s.close()
    assert_healthy(server)


def test_tcp_garbage_then_valid_on_same_connection_is_not_misparsed(server):
    """A valid framed query after a framed garbage message on the same connection: if the
    server answers it at all, the answer must be correct (framing kept in sync)."""
    junk = tcp_frame(b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab")  # truncated name
    good = tcp_frame(make_query("mail.rr.test.", "A", qid=0x4321).to_wire())
    with tcp_connect(server.host, server.port) as s:
        s.sendall(junk + good)
        for _ in range(3):
            data = tcp_read_message(s, timeout=2)
            if data is None:
                break
            if data[:2] == b"\x43\x21":
                from conftest import parse
                assert first_addresses(parse(data)) == ["192.0.2.25"]
                break
    assert_healthy(server)
