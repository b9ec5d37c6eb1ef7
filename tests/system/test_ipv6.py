"""Listening on IPv6 loopback: [::1]:PORT answers over UDP and TCP."""

import dns.flags
import dns.rcode

from conftest import RR_TEST, first_addresses

WWW = {"10.0.0.%d" % i for i in range(1, 9)}


def test_ipv6_only(daemons, binary):
    d = daemons(zones=[RR_TEST], hosts=("::1",))
    for tcp in (False, True):
        r = d.ask("www.rr.test.", "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
        assert set(first_addresses(r)) == WWW
        r = d.ask("api.rr.test.", "AAAA", tcp=tcp)
        assert sorted(rd.address for rd in r.answer[0]) == ["2001:db8::1", "2001:db8::2"]
    r = d.ask("big.rr.test.", "A")
    assert r.flags & dns.flags.TC, "truncation over IPv6 UDP\n%s" % r


def test_ipv4_and_ipv6_together(daemons, binary):
    d = daemons(zones=[RR_TEST], hosts=("127.0.0.1", "::1"))
    for host in ("127.0.0.1", "::1"):
        for tcp in (False, True):
            r = d.ask("mail.rr.test.", "A", tcp=tcp, host=host)
            assert first_addresses(r) == ["192.0.2.25"], "%s tcp=%s\n%s" % (host, tcp, d.diag())
    # one rotation cursor whichever address family asks
    from test_rotation import WWW as ORDER, assert_successive, shift_of
    offs = [shift_of(first_addresses(d.ask("www.rr.test.", host=h)), ORDER)
            for h in ("127.0.0.1", "::1") * 4]
    assert_successive(offs, 8, d)
