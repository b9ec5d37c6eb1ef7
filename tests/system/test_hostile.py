"""Hostile traffic: random and crafted datagrams, garbage TCP streams. The server must survive,
react to each kind of damage as docs/answers.md documents (FORMERR, NOTIMP,
REFUSED, BADVERS or silence), and keep answering valid queries correctly throughout."""

import random
import socket
import struct
import time

import dns.rcode

from conftest import (first_addresses, make_query, tcp_connect, tcp_frame, tcp_read_message,
                      udp_exchange)

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


def assert_answers_valid(d):
    """One valid query over UDP and one over TCP, each answered correctly."""
    assert d.alive(), "rrdnsd died\n" + d.diag()
    for tcp in (False, True):
        r = d.ask("www.rr.test.", "A", tcp=tcp, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR and set(first_addresses(r)) == WWW, d.diag()


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
            if i % 500 == 499:  # valid queries keep being answered in the middle of it
                assert_answers_valid(server)
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


# --------------------------------------------------------------------------------------------
# Crafted damage, one category at a time, with the reaction README documents for it.

NOERROR, FORMERR, NOTIMP, REFUSED, BADVERS = 0, 1, 4, 5, 16
SILENCE = "silence"
WWW_WIRE = b"\x03www\x02rr\x04test\x00"
QUESTION = WWW_WIRE + struct.pack("!HH", 1, 1)  # www.rr.test. A IN


def hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def opt_rr(version=0, payload=1232, rdata=b"", owner=b"\x00", rdlength=None):
    return owner + struct.pack("!HHBBHH", 41, payload, 0, version, 0,
                               len(rdata) if rdlength is None else rdlength) + rdata


def padded_query(qid, total):
    """A valid www.rr.test. A query grown to `total` bytes with an EDNS padding option (RFC 7830)."""
    base = hdr(qid, ar=1) + QUESTION
    pad = total - len(base) - 11 - 4
    assert pad >= 0
    return base + opt_rr(rdata=struct.pack("!HH", 12, pad) + b"\x00" * pad)


# (name, builder(qid) -> bytes, expected reaction). Knot DNS 3.2 (knotd) on the same input is
# noted where it differs; docs/answers.md lists both.
CATEGORIES = [
    ("header only, QDCOUNT 0", lambda i: hdr(i, qd=0), FORMERR),
    ("header only, QDCOUNT 1 (question missing)", lambda i: hdr(i), FORMERR),  # Knot: silence
    ("QDCOUNT 2", lambda i: hdr(i, qd=2) + QUESTION + QUESTION, FORMERR),       # Knot: silence
    ("QDCOUNT 65535", lambda i: hdr(i, qd=65535) + QUESTION, FORMERR),
    ("truncated question name", lambda i: hdr(i) + WWW_WIRE[:6], FORMERR),
    ("question without type and class", lambda i: hdr(i) + WWW_WIRE, FORMERR),
    ("question cut inside the class", lambda i: hdr(i) + WWW_WIRE + b"\x00\x01\x00", FORMERR),
    ("compression pointer loop", lambda i: hdr(i) + b"\xc0\x0c\x00\x01\x00\x01", FORMERR),
    ("two pointers pointing at each other",
     lambda i: hdr(i) + b"\x01a\xc0\x0e\xc0\x0c\x00\x01\x00\x01", FORMERR),
    ("compression pointer forward",
     lambda i: hdr(i) + b"\xc0\x12\x00\x01\x00\x01" + WWW_WIRE, FORMERR),
    ("compression pointer out of range", lambda i: hdr(i) + b"\xff\xff\x00\x01\x00\x01", FORMERR),
    ("label longer than 63", lambda i: hdr(i) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
     FORMERR),
    ("label type 0x40 (extended)", lambda i: hdr(i) + b"\x41\x00\x00\x01\x00\x01", FORMERR),
    ("name longer than 255", lambda i: hdr(i) + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
     FORMERR),
    ("response (QR=1)", lambda i: hdr(i, flags=0x8100) + QUESTION, SILENCE),
    ("response (QR=1) with garbage", lambda i: hdr(i, flags=0x8000, qd=7) + b"\xff" * 40, SILENCE),
    ("opcode IQUERY", lambda i: hdr(i, flags=0x0900) + QUESTION, NOTIMP),
    ("opcode STATUS", lambda i: hdr(i, flags=0x1100) + QUESTION, NOTIMP),
    ("opcode NOTIFY", lambda i: hdr(i, flags=0x2000) + QUESTION, NOTIMP),  # Knot: NOTAUTH
    ("opcode UPDATE", lambda i: hdr(i, flags=0x2800) + QUESTION, NOTIMP),  # Knot: FORMERR
    ("opcode 15", lambda i: hdr(i, flags=0x7900) + QUESTION, NOTIMP),
    ("opcode 15, QDCOUNT 0", lambda i: hdr(i, flags=0x7900, qd=0), NOTIMP),
    ("class CH", lambda i: hdr(i) + WWW_WIRE + struct.pack("!HH", 16, 3), REFUSED),
    ("class NONE", lambda i: hdr(i) + WWW_WIRE + struct.pack("!HH", 1, 254), REFUSED),
    ("class ANY", lambda i: hdr(i) + WWW_WIRE + struct.pack("!HH", 1, 255), NOERROR),  # from IN
    ("class 4242", lambda i: hdr(i) + WWW_WIRE + struct.pack("!HH", 1, 4242), REFUSED),
    ("two OPT records", lambda i: hdr(i, ar=2) + QUESTION + opt_rr() + opt_rr(), FORMERR),
    ("OPT in the answer section", lambda i: hdr(i, an=1) + QUESTION + opt_rr(), FORMERR),
    ("OPT in the authority section", lambda i: hdr(i, ns=1) + QUESTION + opt_rr(), FORMERR),
    ("OPT owned by a name other than the root",
     lambda i: hdr(i, ar=1) + QUESTION + opt_rr(owner=WWW_WIRE), FORMERR),  # Knot: accepted
    ("EDNS version 1", lambda i: hdr(i, ar=1) + QUESTION + opt_rr(version=1), BADVERS),
    ("EDNS version 255", lambda i: hdr(i, ar=1) + QUESTION + opt_rr(version=255), BADVERS),
    ("OPT cut short", lambda i: hdr(i, ar=1) + QUESTION + opt_rr()[:7], FORMERR),
    ("OPT RDLENGTH past the end", lambda i: hdr(i, ar=1) + QUESTION + opt_rr(rdlength=40), FORMERR),
    ("OPT option longer than RDLENGTH",
     lambda i: hdr(i, ar=1) + QUESTION + opt_rr(rdata=b"\x00\x0a\x00\x10abc"), FORMERR),
    ("ARCOUNT larger than the records", lambda i: hdr(i, ar=3) + QUESTION + opt_rr(), FORMERR),
    ("ANCOUNT with a broken record", lambda i: hdr(i, an=1) + QUESTION + b"\x00\x00\x01", FORMERR),
    ("trailing bytes after the message", lambda i: hdr(i) + QUESTION + b"garbage", FORMERR),
    ("QTYPE OPT", lambda i: hdr(i) + WWW_WIRE + struct.pack("!HH", 41, 1), FORMERR),  # Knot: NODATA
    ("AXFR over UDP", lambda i: hdr(i) + b"\x02rr\x04test\x00" + struct.pack("!HH", 252, 1),
     {"udp": NOTIMP, "tcp": REFUSED}),  # over TCP: not an allowed transfer client
    ("TC, Z and RCODE bits set in a query", lambda i: hdr(i, flags=0x0345) + QUESTION, NOERROR),
    ("oversized: 4000-byte query (EDNS padding)", lambda i: padded_query(i, 4000), NOERROR),
    ("oversized: 65000 bytes of pointers after the header",
     lambda i: hdr(i) + b"\xc0\xff" * 32494, FORMERR),
]

# Shorter than a header: not even an id to answer to.
SHORT = [b"", b"\x12", b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"]


def reaction(data):
    """(id, rcode including the EDNS extended bits, has_question) of a reply."""
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    code = flags & 0x0F
    i = data.rfind(b"\x00\x00\x29")  # our OPT, if any, is the last record
    if i >= 12 and struct.unpack("!H", data[10:12])[0] > 0 and len(data) - i == 11:
        code |= data[i + 5] << 4
    return qid, code, qd == 1, flags


def expected_for(expect, transport):
    return expect[transport] if isinstance(expect, dict) else expect


def check_udp(server, name, wire, qid, expect):
    """Sends `wire` then a valid query on the same socket. Replies come back in order (one
    worker, one socket), so a valid answer arriving first means the hostile packet got none."""
    probe_id = (qid + 1) & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server.host, server.port))
        s.send(wire)
        s.send(make_query("www.rr.test.", "A", qid=probe_id).to_wire())
        s.settimeout(3)
        replies = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(replies) < 3:
            try:
                data = s.recv(65535)
            except socket.timeout:
                break
            replies.append(data)
            if data[:2] == struct.pack("!H", probe_id):
                break
    got = [r for r in replies if r[:2] == struct.pack("!H", qid)]
    assert replies and replies[-1][:2] == struct.pack("!H", probe_id), \
        "%s (udp): the valid query after it got no answer\n%s" % (name, server.diag())
    if expect == SILENCE:
        assert not got, "%s (udp): expected silence, got rcode %d" % (name, reaction(got[0])[1])
        return
    assert got, "%s (udp): expected rcode %d, got silence\n%s" % (name, expect, server.diag())
    assert reaction(got[0])[1] == expect, "%s (udp): rcode %d, expected %d" % (
        name, reaction(got[0])[1], expect)
    assert reaction(got[0])[3] & 0x8000, "%s (udp): QR not set" % name


def check_tcp(server, name, wire, qid, expect):
    """The hostile message, then a valid one, pipelined on one connection: answers come back
    in order, and the connection stays usable."""
    probe_id = (qid + 1) & 0xFFFF
    with tcp_connect(server.host, server.port) as s:
        s.sendall(tcp_frame(wire) + tcp_frame(make_query("www.rr.test.", "A", qid=probe_id).to_wire()))
        first = tcp_read_message(s, timeout=3)
        assert first is not None, "%s (tcp): connection closed without an answer\n%s" % (
            name, server.diag())
        if expect == SILENCE:
            assert first[:2] == struct.pack("!H", probe_id), \
                "%s (tcp): expected silence, got rcode %d" % (name, reaction(first)[1])
            return
        assert first[:2] == struct.pack("!H", qid), "%s (tcp): expected an answer first" % name
        assert reaction(first)[1] == expect, "%s (tcp): rcode %d, expected %d" % (
            name, reaction(first)[1], expect)
        second = tcp_read_message(s, timeout=3)
        assert second is not None and second[:2] == struct.pack("!H", probe_id), \
            "%s (tcp): the valid query behind it got no answer\n%s" % (name, server.diag())


def test_each_category_gets_its_documented_reaction(server):
    failures = []
    for n, (name, build, expect) in enumerate(CATEGORIES):
        qid = 0x1000 + 2 * n
        wire = build(qid)
        for transport, check in (("udp", check_udp), ("tcp", check_tcp)):
            if transport == "tcp" and len(wire) > 65535:
                continue
            try:
                check(server, name, wire, qid, expected_for(expect, transport))
            except AssertionError as e:
                failures.append(str(e).split("\n")[0])
        assert server.alive(), "rrdnsd died on %r\n%s" % (name, server.diag())
    assert not failures, "\n".join(failures) + "\n" + server.diag()
    assert_healthy(server)


def test_shorter_than_a_header_is_silence(server):
    for wire in SHORT:
        assert server.udp_raw(wire, timeout=0.5, match_id=False) is None, wire
        with tcp_connect(server.host, server.port) as s:
            s.sendall(tcp_frame(wire) + tcp_frame(make_query("mail.rr.test.", "A", qid=7).to_wire()))
            data = tcp_read_message(s, timeout=3)
            assert data is not None and data[:2] == b"\x00\x07", "tcp: %r got an answer" % wire
    assert_healthy(server)


def test_oversized_tcp_messages(server):
    """65535-byte messages, the largest a 2-byte length can frame: valid (padded) and garbage."""
    with tcp_connect(server.host, server.port, timeout=5) as s:
        s.sendall(tcp_frame(padded_query(0x2001, 65535)))
        data = tcp_read_message(s, timeout=5)
        assert data is not None and reaction(data)[:2] == (0x2001, NOERROR), server.diag()
        assert set(first_addresses(parse_wire(data))) == WWW
        s.sendall(tcp_frame(hdr(0x2002) + b"\xc0\xff" * ((65535 - 12) // 2) + b"\x00"))
        data = tcp_read_message(s, timeout=5)
        assert data is not None and reaction(data)[:2] == (0x2002, FORMERR), server.diag()
    assert_healthy(server)


def parse_wire(data):
    from conftest import parse
    return parse(data)


def test_every_category_in_bulk_with_valid_queries_interleaved(server):
    """Thousands of crafted packets, every category many times over, as fast as we can send;
    a valid query every 100 packets must be answered correctly."""
    rng = random.Random(4242)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        s.connect((server.host, server.port))
        for i in range(3000):
            _, build, _ = CATEGORIES[rng.randrange(len(CATEGORIES))]
            wire = build(rng.randrange(65536))
            try:
                s.send(wire)
                sent += 1
            except BlockingIOError:
                time.sleep(0.002)
            for _ in range(64):  # drain what came back
                try:
                    s.recv(65535)
                except (BlockingIOError, ConnectionRefusedError):
                    break
            if i % 100 == 99:
                r = server.ask("www.rr.test.", "A", timeout=3)
                assert r.rcode() == dns.rcode.NOERROR and set(first_addresses(r)) == WWW, \
                    "valid query after %d hostile packets\n%s" % (i + 1, server.diag())
    assert sent > 2500
    assert_healthy(server)


# --------------------------------------------------------------------------------------------
# TCP framing lies and half-sent messages.

def test_tcp_length_prefix_shorter_than_the_message(server):
    """A prefix of 17 over a 33-byte query: the first 17 bytes are a message (FORMERR: its
    question is cut), the rest is read as the next frame's length and never completes."""
    q = hdr(0x3001) + QUESTION
    with tcp_connect(server.host, server.port) as s:
        s.sendall(struct.pack("!H", 17) + q)
        data = tcp_read_message(s, timeout=3)
        assert data is not None and reaction(data)[:2] == (0x3001, FORMERR), server.diag()
    assert_answers_valid(server)


def test_tcp_length_prefix_longer_than_what_is_sent(server):
    """A prefix of 100 and 33 bytes, then the client half-closes: no answer, the server closes
    the connection, and nobody else is held up."""
    with tcp_connect(server.host, server.port) as s:
        s.sendall(struct.pack("!H", 100) + hdr(0x3002) + QUESTION)
        assert_answers_valid(server)  # other clients meanwhile
        s.shutdown(socket.SHUT_WR)
        assert tcp_read_message(s, timeout=3) is None, "an incomplete frame was answered"
    assert_answers_valid(server)


def test_tcp_zero_length_frames_are_skipped(server):
    with tcp_connect(server.host, server.port) as s:
        s.sendall(b"\x00\x00" * 10 + tcp_frame(make_query("mail.rr.test.", "A", qid=0x3003).to_wire()))
        data = tcp_read_message(s, timeout=3)
        assert data is not None and data[:2] == b"\x30\x03", server.diag()


def test_half_sent_messages_do_not_block_others(server):
    """Six connections (within tcp-max-connections-per-client, 10 by default) each stop in the
    middle of a message (in the length, the header, the question, the OPT); other clients are
    answered meanwhile, and each one is answered as soon as it sends the rest."""
    conns = []
    try:
        for i in range(6):
            wire = tcp_frame(padded_query(0x4000 + i, 100))
            cut = [1, 2, 7, 14, 40, 99][i % 6]
            s = tcp_connect(server.host, server.port)
            s.sendall(wire[:cut])
            conns.append((s, wire[cut:], 0x4000 + i))
        time.sleep(0.2)
        assert_answers_valid(server)
        for s, rest, qid in conns:
            s.sendall(rest)
        for s, _, qid in conns:
            data = tcp_read_message(s, timeout=3)
            assert data is not None and reaction(data)[:2] == (qid, NOERROR), server.diag()
    finally:
        for s, _, _ in conns:
            s.close()
    assert_healthy(server)
