"""Zone transfer out: AXFR (RFC 5936) over TCP to --allow-transfer addresses, IXFR from an older
serial answered with a full transfer (RFC 1995 4), REFUSED to anybody else, NOTIMP over UDP,
NOTAUTH off a zone apex (IXFR at the current serial: test_secondary.py)."""

import socket
import time

import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from conftest import (RR_TEST, make_query, parse, repo_zone, tcp_connect, tcp_frame,
                      tcp_read_message)

DEMO = repo_zone("demo.toml")


@pytest.fixture(scope="module")
def xfr_server(module_daemons, binary):
    return module_daemons(zones=[RR_TEST, DEMO], threads=1,
                          extra_args=["--allow-transfer", "127.0.0.1"])


def transfer(d, zone, rdtype=dns.rdatatype.AXFR, **kw):
    """dnspython's own AXFR client: every message, as it checks them (ids, SOA first and last)."""
    messages = list(dns.query.xfr(d.host, zone, rdtype=rdtype, port=d.port, lifetime=20,
                                  relativize=False, **kw))
    assert messages, "no transfer messages\n" + d.diag()
    return messages


def records(messages):
    """[(owner, type, ttl, rdata text)] in stream order."""
    out = []
    for m in messages:
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                            rrset.ttl, rd.to_text().lower()))
    return out


def raw_transfer(sock, qname, qtype="AXFR", qid=0x4242, timeout=10.0):
    """Sends one AXFR/IXFR on `sock` and reads messages until the closing SOA (or an error)."""
    q = make_query(qname, qtype, rd=False, qid=qid)
    sock.sendall(tcp_frame(q.to_wire()))
    messages = []
    soas = 0
    while True:
        data = tcp_read_message(sock, timeout)
        assert data is not None, "connection closed after %d messages" % len(messages)
        m = parse(data)
        messages.append(m)
        if m.rcode() != dns.rcode.NOERROR:
            return messages
        soas += sum(1 for rrset in m.answer if rrset.rdtype == dns.rdatatype.SOA
                    for _ in rrset)
        if soas >= 2:
            return messages


def test_axfr_of_rr_test_is_the_served_zone(xfr_server):
    msgs = transfer(xfr_server, "rr.test.")
    recs = records(msgs)
    assert recs[0][1] == "SOA" and recs[-1][1] == "SOA"
    assert recs[0] == recs[-1]
    assert "2024010101" in recs[0][3]
    body = recs[1:-1]
    assert not any(r[1] == "SOA" for r in body)
    assert len(body) == len(set(body)), "a record was sent twice"
    www = sorted(r[3] for r in body if r[0] == "www.rr.test." and r[1] == "A")
    assert www == sorted("10.0.0.%d" % i for i in range(1, 9))
    assert sum(1 for r in body if r[0] == "big.rr.test.") == 40
    assert ("alias.rr.test.", "CNAME", 300, "www.rr.test.") in body
    assert ("rr.test.", "MX", 300, "10 mail.rr.test.") in body
    # Every message: AA, the query's id (dnspython checks it), NOERROR; question in the first.
    for i, m in enumerate(msgs):
        assert m.flags & dns.flags.AA
        assert m.rcode() == dns.rcode.NOERROR
        assert bool(m.question) == (i == 0)

    # Everything a query answers is in the transfer, and nothing else is.
    zone = dns.zone.from_xfr(iter(msgs), relativize=False)
    for node_name, rdtype in [("rr.test.", "NS"), ("rr.test.", "TXT"), ("www.rr.test.", "A"),
                              ("api.rr.test.", "AAAA"), ("ns2.rr.test.", "A")]:
        served = xfr_server.ask(node_name, rdtype)
        got = zone.find_rdataset(node_name, rdtype)
        want = served.find_rrset(served.answer, dns.name.from_text(node_name),
                                 dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
        assert set(got) == set(want)
        assert got.ttl == want.ttl


def test_axfr_serves_pools_as_their_members(xfr_server):
    recs = records(transfer(xfr_server, "demo.test."))
    www = sorted((r[3], r[2]) for r in recs if r[0] == "www.demo.test." and r[1] == "A")
    assert www == [("127.0.0.11", 5), ("127.0.0.12", 5), ("127.0.0.13", 5)]
    weighted = sorted(r[3] for r in recs if r[0] == "weighted.demo.test." and r[1] == "A")
    assert weighted == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    assert recs[0][1] == "SOA" and recs[-1][1] == "SOA"
    assert sum(1 for r in recs if r[1] == "SOA") == 2


def test_ixfr_gets_a_full_transfer(xfr_server):
    axfr = records(transfer(xfr_server, "rr.test."))
    msgs = transfer(xfr_server, "rr.test.", rdtype=dns.rdatatype.IXFR, serial=2020010101)
    assert msgs[0].question[0].rdtype == dns.rdatatype.IXFR
    assert sorted(records(msgs)) == sorted(axfr)


def test_dig_axfr(xfr_server):
    import shutil
    import subprocess
    dig = shutil.which("dig")
    assert dig is not None, "dig not found: apt-get install bind9-dnsutils (tools/setup.sh does)"
    out = subprocess.run([dig, "@127.0.0.1", "-p", str(xfr_server.port), "rr.test.", "AXFR",
                          "+nocmd", "+nostats", "+time=5", "+tries=1"],
                         capture_output=True, text=True, timeout=30).stdout
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    assert lines[0].split()[3] == "SOA" and lines[-1].split()[3] == "SOA", out
    assert sum(1 for l in lines if l.startswith("www.rr.test.")) == 8, out


def test_axfr_over_udp_is_notimp(xfr_server):
    q = make_query("rr.test.", "AXFR", rd=False)
    r = parse(xfr_server.udp_raw(q.to_wire()))
    assert r.rcode() == dns.rcode.NOTIMP
    assert not r.answer


def test_axfr_of_a_name_that_is_not_an_apex_is_notauth(xfr_server):
    for name in ("www.rr.test.", "nowhere.example.", "test."):
        with tcp_connect(xfr_server.host, xfr_server.port) as s:
            msgs = raw_transfer(s, name)
        assert len(msgs) == 1
        assert msgs[0].rcode() == dns.rcode.NOTAUTH, name
        assert not msgs[0].answer


def test_pipelined_queries_wait_for_the_transfer(xfr_server):
    with tcp_connect(xfr_server.host, xfr_server.port) as s:
        axfr = make_query("rr.test.", "AXFR", rd=False, qid=1)
        after = make_query("www.rr.test.", "A", qid=2)
        s.sendall(tcp_frame(axfr.to_wire()) + tcp_frame(after.to_wire()))
        ids = []
        for _ in range(100):
            data = tcp_read_message(s, 5.0)
            assert data is not None
            m = parse(data)
            ids.append(m.id)
            if m.id == 2:
                break
        assert ids[-1] == 2 and set(ids[:-1]) == {1}
        assert len(parse(data).answer[0]) == 8


def test_other_clients_are_refused(module_daemons, binary):
    d = module_daemons(zones=[RR_TEST], threads=1, extra_args=["--allow-transfer", "127.0.0.2"])
    for qtype in ("AXFR", "IXFR"):
        with tcp_connect(d.host, d.port) as s:
            msgs = raw_transfer(s, "rr.test.", qtype)
        assert len(msgs) == 1 and msgs[0].rcode() == dns.rcode.REFUSED
        assert not msgs[0].answer
    # The connection stays usable for ordinary queries.
    assert d.ask("www.rr.test.", tcp=True).rcode() == dns.rcode.NOERROR


def test_nobody_is_allowed_by_default(module_daemons, binary):
    d = module_daemons(zones=[RR_TEST], threads=1)
    with tcp_connect(d.host, d.port) as s:
        msgs = raw_transfer(s, "rr.test.")
    assert msgs[0].rcode() == dns.rcode.REFUSED


def test_prefix_in_config_file(module_daemons, binary, tmp_path):
    zone = tmp_path / "rr.test.toml"
    zone.write_text(RR_TEST.read_text())

    def config(listen):
        return ('listen = [%s]\nzones = ["%s"]\nallow-transfer = ["::1", "127.0.0.0/8"]\n'
                % (", ".join('"%s"' % l for l in listen), zone))

    d = module_daemons(config=config)
    recs = records(transfer(d, "rr.test."))
    assert recs[0][1] == "SOA" and recs[-1][1] == "SOA"


def big_zone(path, count):
    lines = ['origin = "big.test."', "ttl = 300", "[soa]", 'primary = "ns1"',
             'contact = "hostmaster"', "serial = 7", '[names."@"]', 'NS = ["ns1"]',
             "[names.ns1]", 'A = "192.0.2.53"']
    for i in range(count):
        lines.append('[names.h%d]\nA = "10.%d.%d.%d"' % (i, i >> 16, (i >> 8) & 255, i & 255))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def big_server(module_daemons, binary, tmp_path_factory):
    zone = big_zone(tmp_path_factory.mktemp("big") / "big.test.toml", 20000)
    return module_daemons(zones=[RR_TEST, zone], threads=1,
                          extra_args=["--allow-transfer", "127.0.0.1"])


def test_large_zone_in_several_messages(big_server):
    msgs = transfer(big_server, "big.test.")
    assert len(msgs) >= 5
    recs = records(msgs)
    hosts = [r for r in recs if r[0].startswith("h") and r[1] == "A"]
    assert len(hosts) == 20000
    assert len(set(hosts)) == 20000
    assert recs[0][1] == "SOA" and recs[-1][1] == "SOA"
    assert len(recs) == 20000 + 2 + 2  # SOA twice, NS, ns1 A
    for m in msgs:
        assert len(m.to_wire()) <= 65535


def test_other_connections_are_answered_during_a_transfer(big_server):
    """A client that asks for a big zone and reads slowly must not hold up anybody else (one
    worker thread: the transfer and the other queries share a loop)."""
    slow = tcp_connect(big_server.host, big_server.port)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        slow.sendall(tcp_frame(make_query("big.test.", "AXFR", rd=False, qid=7).to_wire()))
        first = tcp_read_message(slow, 5.0)
        assert first is not None and parse(first).id == 7
        # The transfer is now stuck behind a full socket; others are served meanwhile.
        for i in range(20):
            assert big_server.ask("www.rr.test.").rcode() == dns.rcode.NOERROR
            assert big_server.ask("www.rr.test.", tcp=True).rcode() == dns.rcode.NOERROR
        # Reading on, the transfer completes.
        soas = sum(1 for rrset in parse(first).answer if rrset.rdtype == dns.rdatatype.SOA)
        count = sum(len(rrset) for rrset in parse(first).answer)
        deadline = time.monotonic() + 30
        while soas < 2:
            assert time.monotonic() < deadline
            data = tcp_read_message(slow, 10.0)
            assert data is not None
            m = parse(data)
            soas += sum(1 for rrset in m.answer if rrset.rdtype == dns.rdatatype.SOA)
            count += sum(len(rrset) for rrset in m.answer)
        assert count == 20000 + 4
    finally:
        slow.close()


def test_client_that_closes_mid_transfer(big_server):
    mark = big_server.stderr_mark()
    for _ in range(5):
        with tcp_connect(big_server.host, big_server.port) as s:
            s.sendall(tcp_frame(make_query("big.test.", "AXFR", rd=False).to_wire()))
            assert tcp_read_message(s, 5.0) is not None
        # Closed with most of the zone unsent: the server frees the transfer and carries on.
    assert big_server.wait_stderr("abandoned", since=mark)
    assert big_server.ask("www.rr.test.", tcp=True).rcode() == dns.rcode.NOERROR
    assert big_server.alive()
