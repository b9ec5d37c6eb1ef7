"""Round-robin rotation of address RRsets: each answer starts one address further.

Successive answers are cyclic shifts of the zone order; the cursor is per RRset and global
(shared by all worker threads, UDP and TCP, and by CNAME targets).
"""

import collections
import threading

import dns.rdatatype
import pytest

from conftest import FX_TEST, RR_TEST, first_addresses

WWW = ["10.0.0.%d" % i for i in range(1, 9)]
API_A = ["10.0.1.1", "10.0.1.2", "10.0.1.3"]
API_AAAA = ["2001:db8::1", "2001:db8::2"]
V6 = ["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"]
BIG = ["10.0.2.%d" % i for i in range(1, 41)]
HUGE = ["10.3.0.%d" % i for i in range(1, 121)]


def shift_of(addrs, zone_order):
    """The rotation offset of `addrs`, asserting it is a cyclic shift of zone_order."""
    assert len(addrs) == len(zone_order), "got %d addresses, expected %d: %s" % (
        len(addrs), len(zone_order), addrs)
    assert addrs[0] in zone_order, addrs
    i = zone_order.index(addrs[0])
    assert addrs == zone_order[i:] + zone_order[:i], "not a cyclic shift of the zone order: %s" % addrs
    return i


def firsts(d, qname, zone_order, n, qtype="A", **kw):
    rdtype = dns.rdatatype.from_text(qtype)
    out = []
    for _ in range(n):
        r = d.ask(qname, qtype, **kw)
        out.append(shift_of(first_addresses(r, rdtype), zone_order))
    return out


def assert_successive(offsets, size, d):
    for a, b in zip(offsets, offsets[1:]):
        assert b == (a + 1) % size, "rotation did not advance by one: offsets %s\n%s" % (
            offsets, d.diag())


@pytest.fixture
def one_thread(daemons, binary):
    return daemons(zones=[RR_TEST, FX_TEST], threads=1)


def test_eight_queries_each_address_first_once(one_thread):
    offs = firsts(one_thread, "www.rr.test.", WWW, 8)
    assert sorted(offs) == list(range(8)), offs
    assert_successive(offs, 8, one_thread)


def test_rotation_continues_over_many_rounds(one_thread):
    offs = firsts(one_thread, "www.rr.test.", WWW, 25)
    assert_successive(offs, 8, one_thread)
    counts = collections.Counter(offs[:24])
    assert set(counts.values()) == {3} and len(counts) == 8, counts


def test_small_rrsets_rotate_too(one_thread):
    offs = firsts(one_thread, "api.rr.test.", API_A, 6)
    assert_successive(offs, 3, one_thread)
    offs = firsts(one_thread, "api.rr.test.", API_AAAA, 4, qtype="AAAA")
    assert_successive(offs, 2, one_thread)
    offs = firsts(one_thread, "v6.fx.test.", V6, 5, qtype="AAAA")
    assert_successive(offs, 4, one_thread)


def test_cursors_are_per_rrset(one_thread):
    d = one_thread
    www = []
    api = []
    for _ in range(4):
        www += firsts(d, "www.rr.test.", WWW, 1)
        api += firsts(d, "api.rr.test.", API_A, 1)
        firsts(d, "api.rr.test.", API_AAAA, 1, qtype="AAAA")
        firsts(d, "www.fx.test.", ["10.9.0.%d" % i for i in range(1, 6)], 1)
    assert_successive(www, 8, d)
    assert_successive(api, 3, d)


def test_cname_target_shares_the_cursor(one_thread):
    d = one_thread
    offs = []
    for i in range(8):
        qname = "alias.rr.test." if i % 2 else "www.rr.test."
        offs += firsts(d, qname, WWW, 1)
    assert_successive(offs, 8, d)


def test_udp_and_tcp_share_the_cursor(one_thread):
    d = one_thread
    offs = []
    for i in range(8):
        offs += firsts(d, "www.rr.test.", WWW, 1, tcp=bool(i % 2))
    assert_successive(offs, 8, d)


def test_large_rrsets_rotate(one_thread):
    d = one_thread
    offs = firsts(d, "big.rr.test.", BIG, 3, edns=0, payload=1232)
    assert_successive(offs, 40, d)
    offs = firsts(d, "huge.fx.test.", HUGE, 3, tcp=True)
    assert_successive(offs, 120, d)


def test_two_threads_global_rotation(daemons, binary):
    d = daemons(zones=[RR_TEST], threads=2)
    offs = firsts(d, "www.rr.test.", WWW, 16)
    counts = collections.Counter(offs)
    assert len(counts) == 8 and set(counts.values()) == {2}, "firsts %s\n%s" % (offs, d.diag())
    # sequential queries: one shared cursor means every answer is one step further
    assert_successive(offs, 8, d)


def test_two_threads_concurrent_clients_global_cursor(daemons, binary):
    """Concurrent clients on both workers: each answer takes one distinct cursor step."""
    d = daemons(zones=[RR_TEST], threads=2)
    per_client = 40
    results = [[] for _ in range(4)]
    errors = []

    def client(i):
        try:
            for k in range(per_client):
                r = d.ask("www.rr.test.", "A", tcp=(i == 3 and k % 2 == 0))
                results[i].append(shift_of(first_addresses(r), WWW))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "clients hung\n" + d.diag()
    assert not errors, "%r\n%s" % (errors[0], d.diag())
    counts = collections.Counter(o for res in results for o in res)
    assert sum(counts.values()) == 4 * per_client
    assert len(counts) == 8 and set(counts.values()) == {4 * per_client // 8}, (
        "with one global cursor each address is first equally often: %s\n%s" % (counts, d.diag()))
