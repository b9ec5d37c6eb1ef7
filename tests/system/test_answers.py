"""Answer semantics: flags, rcodes and sections (RFC 1034 4.3.2, RFC 2308, RFC 4592).

Served zones: the repository's zones/rr.test.toml and tests/system/zones/fx.test.toml
(wildcard, delegation, empty non-terminal, out-of-zone CNAME, multi-record NS/MX/TXT).
"""

import socket
import struct
import time

import dns.flags
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from conftest import header, make_query, parse

A = dns.rdatatype.A
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
CNAME = dns.rdatatype.CNAME

WWW = ["10.0.0.%d" % i for i in range(1, 9)]


def name(text):
    return dns.name.from_text(text)


def assert_authoritative_ok(r, d):
    assert r.flags & dns.flags.QR, d.diag()
    assert r.flags & dns.flags.AA, "AA missing\n%s\n%s" % (r, d.diag())
    assert not r.flags & dns.flags.RA, "RA must be clear\n%s" % r
    assert r.rcode() == dns.rcode.NOERROR, "rcode %s\n%s" % (dns.rcode.to_text(r.rcode()), r)


def assert_negative_soa(r, apex, ttl):
    assert len(r.authority) == 1, "expected exactly the SOA in authority\n%s" % r
    soa = r.authority[0]
    assert soa.rdtype == SOA and soa.name == name(apex), r
    assert soa.ttl == ttl, "negative TTL %d, expected %d\n%s" % (soa.ttl, ttl, r)


def encode_name(text):
    out = b""
    for label in text.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def raw(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0, body=None):
    if body is None:
        body = encode_name("www.rr.test") + struct.pack("!HH", 1, 1)
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar) + body


def exchange_then_probe(d, bad: bytes, settle=0.3):
    """Sends `bad`, then a valid query from the same socket (one worker thread answers in order).

    Returns the datagrams that arrived other than the probe's answer; asserts the probe was
    answered correctly, i.e. the server is alive and still serving.
    """
    others = []
    probe = make_query("www.rr.test.", "A", qid=0xABCD)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((d.host, d.port))
        s.send(bad)
        s.send(probe.to_wire())
        deadline = time.monotonic() + 3.0
        got_probe = False
        for _ in range(50):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except socket.timeout:
                break
            if len(data) >= 12 and data[:2] == b"\xab\xcd" and not got_probe and data != bad:
                got_probe = True
                r = parse(data)
                assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1, r
                # anything still in flight for `bad` arrives shortly after
                deadline = min(deadline, time.monotonic() + settle)
            else:
                others.append(data)
        assert got_probe, "no answer to a valid query after a bad packet\n" + d.diag()
    assert d.alive(), d.diag()
    return others


# --- header fields -------------------------------------------------------------------------

def test_www_answer_is_authoritative_with_all_addresses(server):
    q, r = server.query("www.rr.test.", "A")
    assert_authoritative_ok(r, server)
    assert r.id == q.id
    assert len(r.answer) == 1, r
    rrset = r.answer[0]
    assert rrset.rdtype == A and rrset.name == name("www.rr.test.")
    assert rrset.ttl == 300
    assert sorted(rd.address for rd in rrset) == sorted(WWW)
    assert len(rrset) == 8


@pytest.mark.parametrize("qid", [0, 0xBEEF, 0xFFFF])
def test_id_copied(server, qid):
    _, r = server.query("ns1.rr.test.", "A", qid=qid)
    assert r.id == qid, server.diag()


@pytest.mark.parametrize("rd", [True, False])
def test_rd_copied_ra_clear(server, rd):
    _, r = server.query("ns1.rr.test.", "A", rd=rd)
    assert bool(r.flags & dns.flags.RD) == rd, r
    assert not r.flags & dns.flags.RA, r
    assert r.flags & dns.flags.AA, r
    assert [rd_.address for rd_ in r.answer[0]] == ["192.0.2.53"]


def test_question_case_preserved_0x20(server):
    q = make_query("WwW.Rr.TeSt.", "A")
    data = server.udp_raw(q.to_wire())
    assert data is not None, server.diag()
    # the question section on the wire, byte for byte
    assert data[12:12 + 17] == b"\x03WwW\x02Rr\x04TeSt\x00\x00\x01\x00\x01", data[:40]
    r = parse(data)
    assert r.question[0].name.to_text() == "WwW.Rr.TeSt.", r
    assert r.answer and r.answer[0].name.to_text() == "WwW.Rr.TeSt.", r
    assert len(r.answer[0]) == 8


def test_question_case_preserved_on_nxdomain(server):
    q = make_query("NoSuCh.Rr.TeSt.", "A")
    r = parse(server.udp_raw(q.to_wire()))
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.question[0].name.to_text() == "NoSuCh.Rr.TeSt.", r


def test_uppercase_query_matches_zone(server):
    r = server.ask("MAIL.RR.TEST.", "A")
    assert_authoritative_ok(r, server)
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.25"]


# --- positive answers of the various types --------------------------------------------------

def test_apex_soa(server):
    r = server.ask("rr.test.", "SOA")
    assert_authoritative_ok(r, server)
    soa = r.answer[0]
    assert soa.rdtype == SOA and len(soa) == 1
    rd = soa[0]
    assert rd.serial == 2024010101
    assert rd.mname == name("ns1.rr.test.") and rd.rname == name("hostmaster.rr.test.")
    assert (rd.refresh, rd.retry, rd.expire, rd.minimum) == (3600, 900, 604800, 300)


def test_apex_ns_order_fixed(server):
    seen = set()
    for _ in range(6):
        r = server.ask("fx.test.", "NS")
        assert_authoritative_ok(r, server)
        seen.add(tuple(rd.target.to_text() for rd in r.answer[0]))
    # never rotated: the same order in every answer
    assert len(seen) == 1, "NS order changed between answers: %s" % seen
    assert sorted(seen.pop()) == ["ns1.fx.test.", "ns2.fx.test.", "ns3.fx.test."]


def test_apex_mx_and_txt_order_fixed(server):
    mx, txt = set(), set()
    for _ in range(6):
        r = server.ask("fx.test.", "MX")
        assert_authoritative_ok(r, server)
        mx.add(tuple((rd.preference, rd.exchange.to_text()) for rd in r.answer[0]))
        r = server.ask("fx.test.", "TXT")
        assert_authoritative_ok(r, server)
        txt.add(tuple(b"".join(rd.strings) for rd in r.answer[0]))
    # never rotated: the same order in every answer
    assert len(mx) == 1 and len(txt) == 1, "order changed between answers: %s %s" % (mx, txt)
    assert sorted(mx.pop()) == [(10, "mx1.fx.test."), (20, "mx2.fx.test."), (30, "mx3.fx.test.")]
    assert sorted(txt.pop()) == [b"first", b"second", b"third"]


def test_rr_test_mx_txt(server):
    r = server.ask("rr.test.", "MX")
    assert_authoritative_ok(r, server)
    assert [(rd.preference, rd.exchange.to_text()) for rd in r.answer[0]] == [(10, "mail.rr.test.")]
    r = server.ask("rr.test.", "TXT")
    assert [b"".join(rd.strings) for rd in r.answer[0]] == [b"v=spf1 -all"]


def test_aaaa(server):
    r = server.ask("api.rr.test.", "AAAA")
    assert_authoritative_ok(r, server)
    assert sorted(rd.address for rd in r.answer[0]) == ["2001:db8::1", "2001:db8::2"]


def test_srv_ptr_caa(server):
    r = server.ask("_sip._udp.fx.test.", "SRV")
    assert_authoritative_ok(r, server)
    rd = r.answer[0][0]
    assert (rd.priority, rd.weight, rd.port, rd.target.to_text()) == (0, 5, 5060, "sip.fx.test.")
    r = server.ask("ptr.fx.test.", "PTR")
    assert_authoritative_ok(r, server)
    assert r.answer[0][0].target.to_text() == "www.fx.test."
    r = server.ask("caa.fx.test.", "CAA")
    assert_authoritative_ok(r, server)
    rd = r.answer[0][0]
    assert (rd.flags, rd.tag, rd.value) == (0, b"issue", b"ca.example.net")


# --- negative answers (RFC 2308) -------------------------------------------------------------

def test_nxdomain(server):
    r = server.ask("nosuch.rr.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert r.flags & dns.flags.AA, r
    assert not r.answer, r
    assert_negative_soa(r, "rr.test.", 300)


def test_nxdomain_deep(server):
    r = server.ask("a.b.c.nosuch.rr.test.", "AAAA")
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert_negative_soa(r, "rr.test.", 300)


def test_negative_ttl_is_min_of_soa_ttl_and_minimum(server):
    # fx.test: SOA TTL 3600, minimum 60 -> 60
    r = server.ask("nosuch.fx.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert_negative_soa(r, "fx.test.", 60)
    r = server.ask("www.fx.test.", "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    assert_negative_soa(r, "fx.test.", 60)


def test_nodata(server):
    r = server.ask("www.rr.test.", "MX")
    assert_authoritative_ok(r, server)
    assert not r.answer, r
    assert_negative_soa(r, "rr.test.", 300)


def test_nodata_aaaa_on_a_only_name(server):
    r = server.ask("www.rr.test.", "AAAA")
    assert_authoritative_ok(r, server)
    assert not r.answer, r
    assert_negative_soa(r, "rr.test.", 300)


def test_empty_non_terminal_is_nodata(server):
    r = server.ask("ent.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert not r.answer, r
    assert_negative_soa(r, "fx.test.", 60)
    # the name below it exists
    r = server.ask("host.ent.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.7"]


# --- CNAME -----------------------------------------------------------------------------------

def test_cname_followed_in_zone(server):
    r = server.ask("alias.rr.test.", "A")
    assert_authoritative_ok(r, server)
    assert len(r.answer) == 2, r
    cname, a = r.answer
    assert cname.rdtype == CNAME and cname.name == name("alias.rr.test.")
    assert cname[0].target == name("www.rr.test.")
    assert a.rdtype == A and a.name == name("www.rr.test.")
    assert sorted(rd.address for rd in a) == sorted(WWW)


def test_cname_query_for_cname_type(server):
    r = server.ask("alias.rr.test.", "CNAME")
    assert_authoritative_ok(r, server)
    assert len(r.answer) == 1 and r.answer[0].rdtype == CNAME, r


def test_cname_to_name_without_that_type(server):
    # alias -> www, and www has no MX: the CNAME plus NODATA for the target
    r = server.ask("alias.rr.test.", "MX")
    assert_authoritative_ok(r, server)
    assert [rr.rdtype for rr in r.answer] == [CNAME], r
    assert_negative_soa(r, "rr.test.", 300)


def test_cname_out_of_zone(server):
    r = server.ask("ext.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert len(r.answer) == 1 and r.answer[0].rdtype == CNAME, r
    assert r.answer[0][0].target == name("target.example.net.")


# --- wildcard (RFC 4592) ---------------------------------------------------------------------

@pytest.mark.parametrize("qname", ["x.wild.fx.test.", "a.b.wild.fx.test.", "X.Wild.Fx.Test."])
def test_wildcard_synthesis(server, qname):
    r = server.ask(qname, "A")
    assert_authoritative_ok(r, server)
    assert len(r.answer) == 1, r
    assert r.answer[0].name.to_text() == qname, r
    assert [rd.address for rd in r.answer[0]] == ["192.0.2.1"]


def test_wildcard_nodata(server):
    r = server.ask("x.wild.fx.test.", "MX")
    assert_authoritative_ok(r, server)
    assert not r.answer, r
    assert_negative_soa(r, "fx.test.", 60)


def test_wildcard_parent_is_empty_non_terminal(server):
    # wild.fx.test exists (as parent of *.wild) but has no data; the wildcard does not match it
    r = server.ask("wild.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert not r.answer, r


def test_wildcard_does_not_cover_other_branches(server):
    r = server.ask("x.nowild.fx.test.", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r


# --- delegation ------------------------------------------------------------------------------

@pytest.mark.parametrize("qname,qtype", [
    ("www.sub.fx.test.", "A"),
    ("a.b.sub.fx.test.", "MX"),
    ("sub.fx.test.", "A"),
    ("sub.fx.test.", "NS"),
])
def test_referral(server, qname, qtype):
    r = server.ask(qname, qtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    assert not r.flags & dns.flags.AA, "referral must not be authoritative\n%s" % r
    assert not r.answer, r
    ns = [rr for rr in r.authority if rr.rdtype == NS]
    assert len(ns) == 1 and ns[0].name == name("sub.fx.test."), r
    assert [rd.target.to_text() for rd in ns[0]] == ["ns1.sub.fx.test."]
    glue = [rr for rr in r.additional if rr.rdtype == A]
    assert len(glue) == 1 and glue[0].name == name("ns1.sub.fx.test."), r
    assert [rd.address for rd in glue[0]] == ["192.0.2.99"]
    assert not any(rr.rdtype == SOA for rr in r.authority), r


# --- outside our zones -----------------------------------------------------------------------

@pytest.mark.parametrize("qname", ["example.com.", "www.example.com.", "test.", ".", "xrr.test."])
def test_refused_outside_zones(server, qname):
    r = server.ask(qname, "A")
    assert r.rcode() == dns.rcode.REFUSED, r
    assert not r.flags & dns.flags.AA, r
    assert not r.answer, r


# --- opcode and header errors ----------------------------------------------------------------

@pytest.mark.parametrize("opcode", [dns.opcode.NOTIFY, dns.opcode.STATUS, dns.opcode.UPDATE, 3, 15])
def test_opcode_not_query_is_notimp(server, opcode):
    q = make_query("rr.test.", "SOA", qid=0x4242)
    q.set_opcode(opcode)
    data = server.udp_raw(q.to_wire())
    assert data is not None, "no answer to opcode %d\n%s" % (opcode, server.diag())
    qid, flags, *_ = header(data)
    assert qid == 0x4242
    assert flags & 0x8000, "QR not set"
    assert flags & 0x000F == dns.rcode.NOTIMP, "rcode %d for opcode %d" % (flags & 0xF, opcode)
    assert (flags >> 11) & 0xF == opcode, "opcode not echoed"


def test_qdcount_zero_is_formerr(server):
    data = server.udp_raw(raw(qid=0x5150, qd=0, body=b""))
    assert data is not None, server.diag()
    qid, flags, *_ = header(data)
    assert qid == 0x5150 and flags & 0x8000
    assert flags & 0xF == dns.rcode.FORMERR


def test_qdcount_two_is_formerr(server):
    q1 = encode_name("www.rr.test") + struct.pack("!HH", 1, 1)
    q2 = encode_name("mail.rr.test") + struct.pack("!HH", 1, 1)
    data = server.udp_raw(raw(qid=0x5151, qd=2, body=q1 + q2))
    assert data is not None, server.diag()
    qid, flags, qd, an, *_ = header(data)
    assert qid == 0x5151 and flags & 0x8000
    assert flags & 0xF == dns.rcode.FORMERR
    assert an == 0


def test_response_packets_are_not_answered(server):
    q = make_query("www.rr.test.", "A", qid=0x7777)
    q.flags |= dns.flags.QR
    others = exchange_then_probe(server, q.to_wire())
    assert others == [], "answered a response (QR=1): %r" % others


@pytest.mark.parametrize("length", [0, 1, 2, 11])
def test_short_packets_are_not_answered(server, length):
    bad = raw(qid=0x6666)[:length]
    others = exchange_then_probe(server, bad)
    assert others == [], "answered a %d-byte packet: %r" % (length, others)


MALFORMED = {
    "pointer-loop": raw(qid=0x6001, body=b"\xc0\x0c" + struct.pack("!HH", 1, 1)),
    "pointer-out-of-packet": raw(qid=0x6003, body=b"\xc0\xff" + struct.pack("!HH", 1, 1)),
    "two-pointer-loop": raw(qid=0x6004, body=b"\x01a\xc0\x0e" + b"\xc0\x0c" + struct.pack("!HH", 1, 1)),
    "label-64": raw(qid=0x6005, body=b"\x40" + b"a" * 64 + b"\x00" + struct.pack("!HH", 1, 1)),
    "label-type-10": raw(qid=0x6006, body=b"\x80abc\x00" + struct.pack("!HH", 1, 1)),
    "name-over-255": raw(qid=0x6007, body=(b"\x3f" + b"a" * 63) * 5 + b"\x00" + struct.pack("!HH", 1, 1)),
    "truncated-label": raw(qid=0x6008, body=b"\x0awww"),
    "no-terminator": raw(qid=0x6009, body=b"\x03www\x02rr\x04test"),
    "missing-type-class": raw(qid=0x600A, body=encode_name("www.rr.test")),
    "half-type": raw(qid=0x600B, body=encode_name("www.rr.test") + b"\x00"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_question_formerr_or_silence(server, case):
    bad = MALFORMED[case]
    others = exchange_then_probe(server, bad)
    for data in others:
        assert len(data) >= 12, data
        qid, flags, *_ = header(data)
        assert qid == struct.unpack("!H", bad[:2])[0] and flags & 0x8000, data
        assert flags & 0xF == dns.rcode.FORMERR, "%s answered with rcode %d" % (case, flags & 0xF)


def test_cname_chain_followed(server):
    r = server.ask("chain1.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert [(rr.name.to_text(), rr.rdtype) for rr in r.answer] == [
        ("chain1.fx.test.", CNAME), ("chain2.fx.test.", CNAME), ("www.fx.test.", A)], r
    assert len(r.answer[2]) == 5


def test_cname_to_wildcard(server):
    r = server.ask("walias.fx.test.", "A")
    assert_authoritative_ok(r, server)
    assert [(rr.name.to_text(), rr.rdtype) for rr in r.answer] == [
        ("walias.fx.test.", CNAME), ("x.wild.fx.test.", A)], r
    assert [rd.address for rd in r.answer[1]] == ["192.0.2.1"]


def test_cname_loop_terminates(server):
    for tcp in (False, True):
        q, r = server.query("loop1.fx.test.", "A", tcp=tcp, timeout=3)
        assert r.id == q.id
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.SERVFAIL), r
        assert 1 <= len(r.answer) <= 20, r
        assert all(rr.rdtype == CNAME for rr in r.answer), r
    assert server.alive(), server.diag()


def test_long_name_nxdomain(server):
    # 253 characters in text form, the longest name there is
    labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 53, "rr", "test"]
    qname = ".".join(labels) + "."
    assert len(qname) == 254
    r = server.ask(qname, "A")
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    assert r.question[0].name.to_text() == qname
    assert_negative_soa(r, "rr.test.", 300)
    r = server.ask(qname, "A", tcp=True)
    assert r.rcode() == dns.rcode.NXDOMAIN, r


def test_long_name_under_wildcard(server):
    labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 48, "wild", "fx", "test"]
    qname = ".".join(labels) + "."
    r = server.ask(qname, "A")
    assert_authoritative_ok(r, server)
    assert r.answer and r.answer[0].name.to_text() == qname, r
