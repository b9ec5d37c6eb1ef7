"""Differential test: rrdnsd's topology maps against Knot DNS's mod-geoip in subnet mode.

One map of a few dozen client networks, IPv4 and IPv6, nested up to four deep, with adjacent
networks that share a site, is given to both servers from the same list (generated from a fixed
seed): to rrdnsd as a nets file behind [maps.geo] of a pool whose sites are never checked (check
type none: every member is up), to knotd (Debian's knot-module-geoip, `mode: subnet`, with
`edns-client-subnet: on`) as its YAML file of `net:` entries, each answering the addresses of
the first site of the network's list. The default list is Knot's 0.0.0.0/0 and ::/0 entries.

A few hundred client subnets (random source prefixes; addresses inside networks, inside nested
ones, at their edges and outside every network) are asked of both with EDNS Client Subnet, and
compared per query:
- the answer as an address set, with its TTL, and the ECS option's family, source prefix and
  address as echoed: these must be equal;
- the ECS scope: each server's must be what its own rule gives, computed here by brute force
  over the map. Knot: the prefix length of the network that matched (0 for the /0 entries).
  rrdnsd: the widest prefix around the address in which every address gets the same answer.
  Where they differ, the difference must be one of DOCUMENTED_DIFFERENCES (docs/topology.md,
  "Differences with Knot's mod-geoip"), whose condition is asserted, and each documented
  difference must show up at least once, so the list stays true.

Knot and its geoip module are required: without them the test fails (tools/setup.sh installs
knot and knot-module-geoip).
"""

import ipaddress
import random
from collections import Counter
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from conftest import Daemon, stop_all, udp_exchange, write_zone
from oracle_server import KNOT_MISSING, Knot, knotd_path

ORIGIN = "geo.test."
WWW = "www.geo.test."
TTL = 5
SEED = 21
# Where Debian's knot-module-geoip puts the module knotd loads for `mod-geoip`.
GEOIP_MODULES = sorted(Path("/usr/lib").glob("*/knot/modules-*/geoip.so"))
SITES = {
    "a": ("127.0.10.1", "127.0.10.2"),
    "b": ("127.0.11.1",),
    "c": ("127.0.12.1", "127.0.12.2", "127.0.12.3"),
    "d": ("127.0.13.1", "127.0.13.2"),
}
DEFAULT = ("a", "c")
ROOTS = {
    4: ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.18.0.0/15"),
    6: ("2001:db8::/32", "fd00::/8", "2a02:1000::/24"),
}


# --------------------------------------------------------------------------------------------
# The map: networks -> site lists, and each server's rule computed from it

def site_list(rng):
    return tuple(rng.sample(sorted(SITES), rng.randint(1, 3)))


def build_map(rng):
    """{ip_network: site list}: the roots, 2-4 children each, some grandchildren and great-
    grandchildren, a host network per family, and an adjacent pair with the same first site."""
    nets = {}

    def children(parent, count, lo, hi):
        out = []
        for _ in range(count * 4):
            if len(out) == count:
                break
            prefix = min(parent.max_prefixlen, parent.prefixlen + rng.randint(lo, hi))
            span = 1 << (prefix - parent.prefixlen)
            sub = ipaddress.ip_network((int(parent.network_address) +
                                        rng.randrange(span) * (1 << (parent.max_prefixlen -
                                                                     prefix)), prefix))
            if sub not in nets:
                nets[sub] = site_list(rng)
                out.append(sub)
        return out

    for family, roots in ROOTS.items():
        lo, hi = (3, 8) if family == 4 else (8, 24)
        for root in roots:
            root = ipaddress.ip_network(root)
            nets[root] = site_list(rng)
            for child in children(root, rng.randint(2, 4), lo, hi):
                if rng.random() < 0.6:
                    for grand in children(child, rng.randint(1, 2), lo, hi):
                        if rng.random() < 0.5:
                            children(grand, 1, lo, hi)
        # A host network inside the first root's first child.
        host_parent = next(n for n in nets if n.version == family and n.prefixlen > 16)
        host = ipaddress.ip_network(host_parent.network_address + 1)
        nets.setdefault(host, site_list(rng))
    # Two adjacent /16s whose lists start with the same site: rrdnsd's scope covers both.
    nets[ipaddress.ip_network("10.200.0.0/16")] = ("b", "a")
    nets[ipaddress.ip_network("10.201.0.0/16")] = ("b", "c", "d")
    return nets


class Model:
    """One family's map as each server reads it (every site up: a list answers its first
    site)."""

    def __init__(self, nets, family):
        self.bits = 32 if family == 4 else 128
        self.nets = {(int(n.network_address), n.prefixlen): sites[0]
                     for n, sites in nets.items() if n.version == family}
        self.default = DEFAULT[0]

    def longest(self, addr, upto=None):
        """(prefix, first site) of the longest network holding addr, at most `upto` long."""
        upto = self.bits if upto is None else upto
        for p in range(upto, -1, -1):
            key = (self._mask(addr, p), p)
            if key in self.nets:
                return p, self.nets[key]
        return 0, self.default

    def _mask(self, addr, p):
        return addr & ~((1 << (self.bits - p)) - 1) if p < self.bits else addr

    def answers_in(self, net, p, inherited, found):
        """Adds to `found` the sites addresses of net/p get; stops once there are two."""
        site = self.nets.get((net, p), inherited)
        size = 1 << (self.bits - p)
        inner = any(q > p and net <= a < net + size for a, q in self.nets)
        if not inner:
            found.add(site)
            return
        half = size >> 1
        for sub in (net, net + half):
            if len(found) > 1:
                return
            self.answers_in(sub, p + 1, site, found)

    def uniform(self, addr, p):
        found = set()
        _, container = self.longest(addr, p)
        self.answers_in(self._mask(addr, p), p, container, found)
        return len(found) == 1

    def knot_scope(self, addr):
        return self.longest(addr)[0]

    def rrdnsd_scope(self, addr):
        """The widest uniform prefix: uniform(p) holds for every p from some p0 on."""
        lo, hi = 0, self.bits
        while lo < hi:
            mid = (lo + hi) // 2
            if self.uniform(addr, mid):
                hi = mid
            else:
                lo = mid + 1
        return lo


def client_subnets(rng, nets, family, count):
    """(address text, source prefix) pairs, the address masked to the prefix."""
    bits = 32 if family == 4 else 128
    mine = [n for n in nets if n.version == family]
    nested = [n for n in mine if any(o != n and n.subnet_of(o) for o in mine)]
    out = []
    for i in range(count):
        kind = i % 5
        if kind in (0, 1):  # inside a network, inside a nested one
            net = rng.choice(mine if kind == 0 else nested)
            addr = int(net.network_address) + rng.randrange(net.num_addresses)
        elif kind == 2:  # at a network's first or last address
            net = rng.choice(mine)
            addr = int(net.network_address) + rng.choice((0, net.num_addresses - 1))
        elif kind == 3:  # near a network: a few prefix steps above it
            net = rng.choice(mine)
            p = max(1, net.prefixlen - rng.randint(1, 4))
            parent = net.supernet(new_prefix=p)
            addr = int(parent.network_address) + rng.randrange(parent.num_addresses)
        else:  # anywhere (IPv6: in 2000::/3, where the roots are)
            addr = (rng.getrandbits(32) if family == 4 else
                    (0x2 << 124) | rng.getrandbits(125))
        source = rng.randint(8, 32) if family == 4 else rng.choice(
            (rng.randint(16, 64), rng.randint(32, 128)))
        masked = addr & ~((1 << (bits - source)) - 1) if source < bits else addr
        out.append((str(ipaddress.ip_address(masked)), source))
    return out


# --------------------------------------------------------------------------------------------
# The two servers

def nets_file(nets):
    lines = ["# generated by test_geo_knot_differential.py from seed %d" % SEED]
    for net, sites in nets.items():
        lines.append("%s %s" % (net, " ".join(sites)))
    return "\n".join(lines) + "\n"


def rrdnsd_zone():
    text = ('origin = "%s"\nttl = 60\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n\n'
            '[maps.geo]\ndefault = [%s]\nnets-file = "geo.nets"\n\n'
            '[pools.www]\nnames = ["www"]\nmap = "geo"\nttl = %d\ncheck = { type = "none" }\n'
            % (ORIGIN, ", ".join('"%s"' % s for s in DEFAULT), TTL))
    for site, members in SITES.items():
        text += "[pools.www.sites.%s]\nmembers = [%s]\n" % (
            site, ", ".join('"%s"' % m for m in members))
    return text


def knot_geo_conf(nets):
    """mod-geoip's subnet file: each network answers its list's first site's addresses."""
    lines = ["%s:" % WWW.rstrip(".")]
    entries = [(ipaddress.ip_network("0.0.0.0/0"), DEFAULT), (ipaddress.ip_network("::/0"),
                                                              DEFAULT)]
    for net, sites in list(nets.items()) + entries:
        lines.append("  - net: %s" % net)
        lines.append("    A: [%s]" % ", ".join(SITES[sites[0]]))
    return "\n".join(lines) + "\n"


KNOT_ZONE = """\
$ORIGIN geo.test.
$TTL 60
@ SOA ns1 hostmaster 1 3600 900 604800 60
@ NS ns1
ns1 A 127.0.0.1
"""

KNOT_REST = """\
mod-geoip:
  - id: geo
    config-file: {conf}
    ttl: {ttl}
    mode: subnet
zone:
  - domain: {origin}
    file: {zone}
    storage: {{dir}}
    journal-content: none
    zonefile-sync: -1
    module: mod-geoip/geo
"""


def soa_ok(port):
    q = dns.message.make_query(ORIGIN, "SOA")
    data = udp_exchange("127.0.0.1", port, q.to_wire(), 0.3)
    if not data:
        return False
    r = dns.message.from_wire(data)
    return r.rcode() == dns.rcode.NOERROR and bool(r.answer)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rng = random.Random(SEED)
    nets = build_map(rng)
    work = tmp_path_factory.mktemp("geo-diff")
    write_zone(work / "geo.nets", nets_file(nets))
    zone = write_zone(work / "geo.test.toml", rrdnsd_zone())
    (work / "geo.test.zone").write_text(KNOT_ZONE)
    (work / "geo.yaml").write_text(knot_geo_conf(nets))
    assert knotd_path() is not None, KNOT_MISSING
    assert GEOIP_MODULES, ("Knot's geoip module (/usr/lib/*/knot/modules-*/geoip.so) is missing: "
                           "apt-get install knot-module-geoip (tools/setup.sh does)")
    knot = Knot(work / "knot", server="    edns-client-subnet: on\n",
                rest=KNOT_REST.format(conf=work / "geo.yaml", ttl=TTL, origin=ORIGIN,
                                      zone=work / "geo.test.zone"),
                ready=soa_ok)
    ours = Daemon(work / "rrdnsd", zones=[zone], threads=1, probe=(ORIGIN, "SOA"))
    try:
        knot.start()
        ours.start()
        yield nets, rng, knot, ours
    finally:
        knot.stop()
        stop_all([ours])


def ask(port, address, source, diag):
    q = dns.message.make_query(WWW, "A", use_edns=0, payload=1232,
                               options=[dns.edns.ECSOption(address, source)])
    q.flags &= ~dns.flags.RD
    data = udp_exchange("127.0.0.1", port, q.to_wire(), 2.0)
    assert data is not None, "no answer to %s/%d\n%s" % (address, source, diag())
    r = dns.message.from_wire(data)
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    addrs = frozenset(rr.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                      for rr in rrset)
    ttls = {rrset.ttl for rrset in r.answer}
    return {"rcode": r.rcode(), "aa": bool(r.flags & dns.flags.AA), "addresses": addrs,
            "ttls": ttls, "ecs": ecs[0] if len(ecs) == 1 else None, "n_ecs": len(ecs)}


# --------------------------------------------------------------------------------------------
# Deliberate differences (docs/topology.md, "Differences with Knot's mod-geoip"). Each has a
# condition on the map that the test asserts whenever the scopes differ that way.

DOCUMENTED_DIFFERENCES = {
    "wider": "rrdnsd's scope is wider (shorter) than Knot's: the addresses around the matched "
             "network, up to rrdnsd's scope, get the same answer (adjacent networks or the "
             "enclosing one name the same site first). Knot returns the matched network's "
             "prefix, which is correct but narrower than it needs to be, so resolvers cache "
             "more copies of one answer.",
    "knot-too-wide": "rrdnsd's scope is narrower (longer) than Knot's: Knot's scope holds a "
                     "nested network (or, for the default, any network) whose clients get "
                     "another answer, so a resolver would hand this answer to them. Knot "
                     "returns the matched network's prefix (0 for its /0 default entries); "
                     "rrdnsd never returns a scope with two answers in it.",
}


def compare(world, family, count):
    nets, rng, knot, ours = world
    model = Model(nets, family)
    seen = Counter()
    problems = []
    for address, source in client_subnets(rng, nets, family, count):
        where = "%s/%d" % (address, source)
        k = ask(knot.port, address, source, knot.diag)
        r = ask(ours.port, address, source, ours.diag)
        addr = int(ipaddress.ip_address(address))
        first = model.longest(addr)[1]
        want = frozenset(SITES[first])
        malformed = []
        for who, a in (("knot", k), ("rrdnsd", r)):
            if a["rcode"] != dns.rcode.NOERROR or not a["aa"] or a["n_ecs"] != 1:
                malformed.append("%s: %s answered %r" % (where, who, a))
                continue
            e = a["ecs"]
            if (e.family, e.srclen, e.address) != (1 if family == 4 else 2, source, address):
                malformed.append("%s: %s echoed ECS %s" % (where, who, e.to_text()))
        if malformed:
            problems += malformed
            continue
        if k["addresses"] != want:  # the oracle and this test's reading of the map agree
            problems.append("%s: Knot answered %s, the map says site %s %s" % (
                where, sorted(k["addresses"]), first, sorted(want)))
        if r["addresses"] != k["addresses"] or r["ttls"] != k["ttls"]:
            problems.append("%s: rrdnsd %s ttl %s, Knot %s ttl %s" % (
                where, sorted(r["addresses"]), r["ttls"], sorted(k["addresses"]), k["ttls"]))
        ks, rs = k["ecs"].scopelen, r["ecs"].scopelen
        if ks != model.knot_scope(addr):
            problems.append("%s: Knot's scope %d, its rule (the matched prefix) gives %d" % (
                where, ks, model.knot_scope(addr)))
        if rs != model.rrdnsd_scope(addr):
            problems.append("%s: rrdnsd's scope %d, the widest uniform prefix is %d" % (
                where, rs, model.rrdnsd_scope(addr)))
            continue
        if rs == ks:
            seen["same"] += 1
        elif rs < ks:
            # Documented "wider": rrdnsd's scope has one answer (rrdnsd_scope says so) and
            # holds the matched network.
            assert model.uniform(addr, rs) and rs < model.longest(addr)[0], where
            seen["wider"] += 1
        else:
            # Documented "knot-too-wide": Knot's scope holds two answers.
            if model.uniform(addr, ks):
                problems.append("%s: rrdnsd's scope %d is narrower than Knot's %d, though "
                                "Knot's holds one answer" % (where, rs, ks))
                continue
            seen["knot-too-wide"] += 1
    return seen, problems


def test_ipv4_answers_and_scopes_match_knot_or_differ_as_documented(world):
    seen, problems = compare(world, 4, 300)
    print("IPv4: %s" % dict(seen))
    assert not problems, "\n".join(problems[:40])
    for name in DOCUMENTED_DIFFERENCES:
        assert seen[name] > 0, "no IPv4 case of the documented difference %r: %s" % (
            name, DOCUMENTED_DIFFERENCES[name])
    assert seen["same"] > 0


def test_ipv6_answers_and_scopes_match_knot_or_differ_as_documented(world):
    seen, problems = compare(world, 6, 150)
    print("IPv6: %s" % dict(seen))
    assert not problems, "\n".join(problems[:40])
    for name in DOCUMENTED_DIFFERENCES:
        assert seen[name] > 0, "no IPv6 case of the documented difference %r: %s" % (
            name, DOCUMENTED_DIFFERENCES[name])
    assert seen["same"] > 0


def test_without_ecs_both_answer_the_default_without_ecs(world):
    nets, rng, knot, ours = world
    answers = []
    for port in (knot.port, ours.port):
        q = dns.message.make_query(WWW, "A", use_edns=0, payload=1232)
        r = dns.message.from_wire(udp_exchange("127.0.0.1", port, q.to_wire(), 2.0))
        assert not [o for o in r.options if o.otype == dns.edns.ECS], r
        answers.append(frozenset(rr.address for rrset in r.answer for rr in rrset))
    assert answers[0] == answers[1] == frozenset(SITES[DEFAULT[0]]), answers
