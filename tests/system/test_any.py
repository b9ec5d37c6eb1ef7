"""QTYPE ANY (RFC 8482): minimal over UDP (one RRset), complete over TCP."""

import dns.flags
import dns.rcode
import dns.rdatatype as T


def rrset_types(r):
    return [rr.rdtype for rr in r.answer]


def test_any_udp_is_minimal_at_apex(server):
    r = server.ask("rr.test.", "ANY")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
    assert len(r.answer) == 1, "RFC 8482: one RRset over UDP\n%s" % r
    assert r.answer[0].name.to_text() == "rr.test."
    assert r.answer[0].rdtype in (T.SOA, T.NS, T.MX, T.TXT), r


def test_any_udp_is_minimal_for_addresses(server):
    r = server.ask("api.rr.test.", "ANY")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
    assert len(r.answer) == 1, r
    assert r.answer[0].rdtype in (T.A, T.AAAA)


def test_any_tcp_returns_every_rrset(server):
    r = server.ask("rr.test.", "ANY", tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
    assert sorted(rrset_types(r)) == sorted([T.SOA, T.NS, T.MX, T.TXT]), r
    r = server.ask("multi.fx.test.", "ANY", tcp=True)
    assert sorted(rrset_types(r)) == sorted([T.A, T.AAAA, T.MX, T.TXT]), r
    a = [rr for rr in r.answer if rr.rdtype == T.A][0]
    assert sorted(rd.address for rd in a) == ["10.8.0.1", "10.8.0.2"]


def test_any_nxdomain(server):
    for tcp in (False, True):
        r = server.ask("nosuch.rr.test.", "ANY", tcp=tcp)
        assert r.rcode() == dns.rcode.NXDOMAIN, r
        assert r.authority and r.authority[0].rdtype == T.SOA, r


def test_any_empty_non_terminal_is_nodata(server):
    r = server.ask("ent.fx.test.", "ANY", tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
    assert r.authority and r.authority[0].rdtype == T.SOA, r
