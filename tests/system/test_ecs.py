"""EDNS Client Subnet (RFC 7871) as knotd 3.2 answers it with `edns-client-subnet: on` and no
module: which options are malformed (FORMERR), and the form of the option every other response
carries back, compared byte for byte with rrdnsd's over UDP and TCP, for a static name, NXDOMAIN,
NODATA, a truncated answer, BADVERS and a name in no zone. And `edns-client-subnet = false`: the
option ignored, never sent.

Black box: the real rrdnsd and knotd on loopback, raw packets (dnspython refuses some of the
options Knot accepts), both serving the same RFC 1035 zone.
"""
import struct

from conftest import Daemon, stop_all, tcp_connect, tcp_frame, tcp_read_message, udp_exchange
from oracle_server import Knot, knotd_path, KNOT_MISSING

ORIGIN = "ecs.test."
ZONE = """$ORIGIN ecs.test.
$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
big TXT "%s" "%s" "%s" "%s"
""" % tuple(["x" * 250] * 4)

KNOT_CONF = """\
database:
    storage: {dir}
zone:
  - domain: ecs.test.
    file: {zone}
    storage: {dir}
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
"""

ECS = 8


def name_wire(text):
    out = b""
    for label in text.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(qname, qtype, options=b"", payload=1232, version=0, qid=0x4242, edns=True):
    types = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    wire += name_wire(qname) + struct.pack("!HH", types[qtype], 1)
    if edns:
        wire += b"\0" + struct.pack("!HHBBHH", 41, payload, 0, version, 0, len(options)) + options
    return wire


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def subnet(family, source, scope, address):
    return option(ECS, struct.pack("!HBB", family, source, scope) + address)


def skip_name(m, pos):
    for _ in range(256):
        length = m[pos]
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + length
        if length == 0:
            return pos
    raise AssertionError("name loop")


def summary(m):
    """(rcode with its OPT bits, flags, answer count, the ECS option data or None, whether there is
    an OPT) of a response."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", m[:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(m, pos) + 4
    ecs, opt, rcode = None, False, flags & 0xF
    for i in range(an + ns + ar):
        pos = skip_name(m, pos)
        rtype, klass, ttl, rdlength = struct.unpack("!HHIH", m[pos:pos + 10])
        pos += 10
        if rtype == 41 and i >= an + ns:
            opt = True
            rcode |= (ttl >> 24) << 4
            at = pos
            while at < pos + rdlength:
                code, length = struct.unpack("!HH", m[at:at + 4])
                if code == ECS:
                    ecs = m[at + 4:at + 4 + length]
                at += 4 + length
        pos += rdlength
    assert pos == len(m), "trailing bytes in %r" % m
    return rcode, flags & 0x8780, an, ecs, opt


def exchange(port, wire, tcp):
    if not tcp:
        data = udp_exchange("127.0.0.1", port, wire, 2.0)
    else:
        sock = tcp_connect("127.0.0.1", port)
        try:
            sock.sendall(tcp_frame(wire))
            data = tcp_read_message(sock)
        finally:
            sock.close()
    assert data is not None, "no answer on port %d" % port
    return data


# What knotd 3.2 calls malformed (FORMERR), and what it accepts though RFC 7871 6 says a server
# SHOULD refuse it (extra address bytes, bits past the prefix, a scope in the query).
SHAPES = [
    subnet(1, 24, 0, bytes([10, 1, 2])),
    subnet(1, 32, 0, bytes([10, 1, 2, 3])),
    subnet(2, 56, 0, bytes.fromhex("20010db8000012")),
    subnet(1, 0, 0, b""),
    subnet(2, 0, 0, b""),
    subnet(1, 23, 0, bytes([10, 1, 3])),          # a bit past the prefix
    subnet(1, 24, 0, bytes([10, 1, 2, 0xff])),    # an address byte too many
    subnet(2, 56, 0, bytes(range(17))),           # 17 bytes for IPv6
    subnet(1, 24, 24, bytes([10, 1, 2])),         # a scope in the query
    subnet(0, 0, 0, b""),                         # family 0
    subnet(3, 8, 0, bytes([10])),                 # family 3
    subnet(1, 33, 0, bytes([10, 1, 2, 3, 0])),    # prefix past 32
    subnet(2, 129, 0, bytes(17)),                 # prefix past 128
    subnet(1, 24, 33, bytes([10, 1, 2])),         # scope past 32
    subnet(1, 24, 0, bytes([10, 1])),             # an address byte short
    option(ECS, b"\0\1\x18"),                     # shorter than 4 bytes
    option(ECS, b""),
    subnet(3, 8, 0, bytes([10])) + subnet(1, 24, 0, bytes([10, 1, 2])),  # the last counts
    subnet(1, 24, 0, bytes([10, 1, 2])) + subnet(3, 8, 0, bytes([10])),
]


def cases():
    for shape in SHAPES:
        yield "www A", query("www.ecs.test.", "A", shape)
    ecs = subnet(1, 24, 0, bytes([10, 1, 2]))
    yield "NXDOMAIN", query("nosuch.ecs.test.", "A", ecs)
    yield "NODATA", query("www.ecs.test.", "MX", ecs)
    yield "no zone", query("other.test.", "A", ecs)
    yield "truncated", query("big.ecs.test.", "TXT", ecs, payload=512)
    yield "big", query("big.ecs.test.", "TXT", ecs)
    yield "BADVERS", query("www.ecs.test.", "A", ecs, version=1)
    yield "BADVERS malformed", query("www.ecs.test.", "A", subnet(3, 8, 0, b"\x0a"), version=1)


def soa_ok(port):
    data = udp_exchange("127.0.0.1", port, query(ORIGIN, "SOA"), 0.3)
    return data is not None and summary(data)[0] == 0 and summary(data)[2] == 1


def test_ecs_answers_match_knot(tmp_path):
    assert knotd_path() is not None, KNOT_MISSING
    zone = tmp_path / "ecs.test.zone"
    zone.write_text(ZONE)
    knot = Knot(tmp_path / "knot", server="    edns-client-subnet: on\n", rest=KNOT_CONF,
                zone=zone, ready=soa_ok)
    ours = Daemon(tmp_path / "rrdnsd", zones=[zone], threads=1, probe=(ORIGIN, "SOA"))
    try:
        knot.start()
        ours.start()
        compared = 0
        for what, wire in cases():
            for tcp in (False, True):
                theirs = summary(exchange(knot.port, wire, tcp))
                mine = summary(exchange(ours.port, wire, tcp))
                assert mine == theirs, "%s over %s: rrdnsd %r, knotd %r\n%s" % (
                    what, "TCP" if tcp else "UDP", mine, theirs, wire.hex())
                compared += 1
        assert compared == 2 * (len(SHAPES) + 7)
    finally:
        knot.stop()
        stop_all([ours])


def test_ecs_off_ignores_the_option(tmp_path):
    zone = tmp_path / "ecs.test.zone"
    zone.write_text(ZONE)

    def config_text(specs):
        return ('listen = [%s]\nzones = ["%s"]\nthreads = 1\nedns-client-subnet = false\n' % (
            ", ".join('"%s"' % s for s in specs), zone))

    ours = Daemon(tmp_path / "rrdnsd", config=config_text, probe=(ORIGIN, "SOA"))
    try:
        ours.start()
        for shape in (subnet(1, 24, 0, bytes([10, 1, 2])), subnet(3, 8, 0, bytes([10]))):
            rcode, _, an, ecs, opt = summary(exchange(ours.port, query("www.ecs.test.", "A", shape),
                                                      False))
            assert (rcode, an, ecs, opt) == (0, 1, None, True)
    finally:
        stop_all([ours])
