"""Truncation (RFC 1035 4.2.1, RFC 6891 7): UDP answers larger than the client's limit set TC,
dropping whole RRsets; TCP carries everything."""

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from conftest import first_addresses, make_query

BIG = {"10.0.2.%d" % i for i in range(1, 41)}
HUGE = {"10.3.0.%d" % i for i in range(1, 121)}


def test_big_udp_without_edns_is_truncated(server):
    q, r = server.query("big.rr.test.", "A")
    assert r.flags & dns.flags.TC, "680-byte answer over 512-byte UDP needs TC\n%s" % r
    assert r.rcode() == dns.rcode.NOERROR
    assert r.id == q.id
    assert not r.answer, "truncation cuts whole RRsets: answer must be empty\n%s" % r
    assert r.edns == -1, "no OPT without EDNS in the query"
    assert r.question and r.question[0].name.to_text() == "big.rr.test.", r


def test_big_udp_with_edns_fits(server):
    _, r = server.query("big.rr.test.", "A", edns=0, payload=1232)
    assert not r.flags & dns.flags.TC, r
    assert r.flags & dns.flags.AA
    assert set(first_addresses(r)) == BIG and len(first_addresses(r)) == 40


def test_big_udp_with_small_edns_payload_is_truncated(server):
    # the client's 600-byte limit applies (680 bytes do not fit)
    _, r = server.query("big.rr.test.", "A", edns=0, payload=600)
    assert r.flags & dns.flags.TC, r
    assert not r.answer, r
    assert r.edns == 0, "OPT must still be present\n%s" % r


def test_big_tcp_without_edns_complete(server):
    _, r = server.query("big.rr.test.", "A", tcp=True)
    assert not r.flags & dns.flags.TC, r
    addrs = first_addresses(r)
    assert set(addrs) == BIG and len(addrs) == 40


def test_huge_udp_with_edns_is_truncated(server):
    _, r = server.query("huge.fx.test.", "A", edns=0, payload=1232)
    assert r.flags & dns.flags.TC, r
    assert not r.answer, r
    assert r.edns == 0


def test_huge_udp_with_large_edns_payload_still_capped(server):
    # the client offers 4096 but the server never sends more than its own 1232
    data = server.udp_raw(make_query("huge.fx.test.", "A", edns=0, payload=4096).to_wire())
    assert data is not None, server.diag()
    assert len(data) <= 1232, len(data)
    r = dns.message.from_wire(data)
    assert r.flags & dns.flags.TC, "server must cap UDP answers at 1232 bytes\n%s" % r
    assert r.edns == 0 and r.payload == 1232, r


def test_huge_tcp_complete(server):
    for kw in ({}, {"edns": 0, "payload": 1232}):
        _, r = server.query("huge.fx.test.", "A", tcp=True, **kw)
        assert not r.flags & dns.flags.TC, r
        addrs = first_addresses(r)
        assert set(addrs) == HUGE and len(addrs) == 120


def test_small_answer_not_truncated(server):
    _, r = server.query("www.rr.test.", "A")
    assert not r.flags & dns.flags.TC
    assert len(first_addresses(r)) == 8
