"""EDNS(0) (RFC 6891): OPT echoed with our payload 1232, BADVERS for unknown versions."""


import dns.edns
import dns.flags
import dns.rcode
import dns.rdatatype

from conftest import header, make_query, parse


def test_no_edns_no_opt(server):
    r = server.ask("www.rr.test.", "A")
    assert r.edns == -1, "OPT in a response to a query without EDNS\n%s" % r
    assert not r.additional, r


def test_edns_query_gets_opt_with_our_payload(server):
    for payload in (512, 1232, 4096):
        r = server.ask("www.rr.test.", "A", edns=0, payload=payload)
        assert r.rcode() == dns.rcode.NOERROR, r
        assert r.edns == 0, "no OPT (version 0) in the response\n%s" % r
        assert r.payload == 1232, "advertised payload %d, expected 1232" % r.payload
        assert len(r.answer[0]) == 8


def test_edns_on_negative_and_refused_answers(server):
    for qname, rcode in (("nosuch.rr.test.", dns.rcode.NXDOMAIN),
                         ("www.rr.test.", dns.rcode.NOERROR),
                         ("example.com.", dns.rcode.REFUSED)):
        r = server.ask(qname, "A" if rcode != dns.rcode.NOERROR else "MX", edns=0)
        assert r.rcode() == rcode, r
        assert r.edns == 0 and r.payload == 1232, r


def test_edns_over_tcp(server):
    r = server.ask("www.rr.test.", "A", edns=0, tcp=True)
    assert r.edns == 0, r


def test_badvers(server):
    q, r = server.query("www.rr.test.", "A", edns=1)
    assert r.id == q.id
    assert r.rcode() == dns.rcode.BADVERS, "rcode %s\n%s" % (dns.rcode.to_text(r.rcode()), r)
    assert r.edns == 0, "BADVERS must come with an OPT of version 0\n%s" % r
    assert not r.answer, r


def test_badvers_wire_encoding(server):
    """rcode 16 = low 4 bits 0 in the header, extended rcode 1 in the OPT TTL field."""
    q = make_query("www.rr.test.", "A", edns=1, qid=0x3131)
    data = server.udp_raw(q.to_wire())
    assert data is not None, server.diag()
    qid, flags, qd, an, ns, ar = header(data)
    assert qid == 0x3131 and flags & 0x8000
    assert flags & 0xF == 0, "low rcode bits must be 0 for BADVERS"
    assert ar == 1, "exactly the OPT in additional"
    r = parse(data)
    assert (r.ednsflags >> 24) & 0xFF == 1, "extended rcode %d" % ((r.ednsflags >> 24) & 0xFF)
    assert (r.ednsflags >> 16) & 0xFF == 0, "OPT version must be 0"


def test_edns_version_255_badvers(server):
    r = server.ask("rr.test.", "SOA", edns=255)
    assert r.rcode() == dns.rcode.BADVERS, r


def test_edns_with_unknown_option_is_fine(server):
    q = make_query("www.rr.test.", "A", edns=0)
    q.use_edns(0, payload=1232, options=[dns.edns.GenericOption(65001, b"hello")])
    data = server.udp_raw(q.to_wire())
    assert data is not None, server.diag()
    r = parse(data)
    assert r.rcode() == dns.rcode.NOERROR and r.edns == 0 and len(r.answer[0]) == 8, r


def test_udp_max_payload_setting(daemons, binary):
    """udp-max-payload = 600: advertised in OPT and the cap for UDP answers."""
    from conftest import RR_TEST

    def config(specs):
        return ('listen = [%s]\nzones = ["rr.test.toml"]\nudp-max-payload = 600\n'
                % ", ".join('"%s"' % s for s in specs))

    d = daemons(config=config, files=[RR_TEST])
    r = d.ask("www.rr.test.", "A", edns=0, payload=4096)
    assert r.edns == 0 and r.payload == 600, "advertised %s\n%s" % (r.payload, d.diag())
    data = d.udp_raw(make_query("big.rr.test.", "A", edns=0, payload=4096).to_wire())
    assert data is not None and len(data) <= 600, d.diag()
    r = parse(data)
    assert r.flags & dns.flags.TC, "680-byte answer must not fit in 600\n%s" % r
    r = d.ask("big.rr.test.", "A", edns=0, payload=4096, tcp=True)
    assert len(r.answer[0]) == 40


def test_edns_payload_below_512_treated_as_512(server):
    # RFC 6891 6.2.5: a requestor's payload below 512 counts as 512; www (8 A) is ~170 bytes
    r = server.ask("www.rr.test.", "A", edns=0, payload=100)
    assert not r.flags & dns.flags.TC, r
    assert len(r.answer[0]) == 8 and r.edns == 0, r
    data = server.udp_raw(make_query("big.rr.test.", "A", edns=0, payload=100).to_wire())
    r = parse(data)
    assert r.flags & dns.flags.TC and len(data) <= 512, r
