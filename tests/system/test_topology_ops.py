"""Operating a pool with sites: rrdnsctl explain --client/--subnet, rrdnsctl pool and status,
and the per-site Prometheus counters, against a running rrdnsd (black box).

The pool's members are loopback addresses nothing listens on, checked with type "none": each
stays at its initial state (up) unless `rrdnsctl mark` forces it down, so a site fails the
instant the test says so and no replica is needed. Queries carry EDNS Client Subnet (dnspython's
ECSOption); explain's words are checked against what DNS itself answers for the same client.
"""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections import Counter
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import free_port, rrdnsctl_path, write_zone

ORIGIN = "geo.test."
WWW = "www." + ORIGIN
EAST = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
WEST = ["127.0.2.1", "127.0.2.2", "127.0.2.3"]
SOUTH = ["127.0.3.1", "127.0.3.2"]
SITE_OF = {**{a: "east" for a in EAST}, **{a: "west" for a in WEST},
           **{a: "south" for a in SOUTH}}
CTL_TIMEOUT = 20

# 10.1/16 and 10.2/16 inline, 10.3/16 from the nets file; everything else the default list.
ZONE = """origin = "geo.test."
ttl = 300
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
minimum = 60
[names."@"]
NS = "ns1"
[names.ns1]
A = "127.0.0.1"

[maps.geo]
default = ["west", "east"]
nets = { "10.1.0.0/16" = ["east", "west", "south"], "10.2.0.0/16" = ["west", "east"] }
nets-file = "geo.nets"

[pools.www]
names = ["www"]
map = "geo"
spill = 2
ttl = 5
degraded-ttl = 2
[pools.www.sites.east]
members = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
[pools.www.sites.west]
members = ["127.0.2.1", "127.0.2.2", "127.0.2.3"]
capacity = 100
[pools.www.sites.south]
members = ["127.0.3.1", "127.0.3.2"]
capacity = 300
[pools.www.check]
type = "none"
"""

NETS = """# site lists for the south
10.3.0.0/16 south east
"""


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError("%r not in %r" % (needle, text))


@pytest.fixture
def geo(daemons, tmp_path):
    """rrdnsd serving geo.test. with a control socket and a metrics endpoint."""
    zone = write_zone(tmp_path / "geo.toml", ZONE)
    (tmp_path / "geo.nets").write_text(NETS)
    sockdir = Path(tempfile.mkdtemp(prefix="rtop", dir="/tmp"))
    metrics_port = free_port()
    d = daemons(zones=[zone], probe=(ORIGIN, "SOA"),
                extra_args=["--control", str(sockdir / "control.sock"),
                            "--metrics", "127.0.0.1:%d" % metrics_port])
    d.sock = sockdir / "control.sock"
    d.metrics_port = metrics_port
    d.zone_path = zone
    yield d
    shutil.rmtree(sockdir, ignore_errors=True)


def ctl(d, *args, json_out=True):
    argv = [str(rrdnsctl_path()), "--socket", str(d.sock)] + (["--json"] if json_out else [])
    argv += [str(a) for a in args]
    env = dict(os.environ)
    env.pop("RRDNS_CONTROL", None)
    return subprocess.run(argv, capture_output=True, text=True, timeout=CTL_TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)


def ok(d, *args) -> dict:
    r = ctl(d, *args)
    assert r.returncode == 0, "rrdnsctl %s: %s %s\n%s" % (args, r.stdout, r.stderr, d.diag())
    js = json.loads(r.stdout)
    assert js["ok"] is True, js
    return js


def text(d, *args) -> str:
    r = ctl(d, *args, json_out=False)
    assert r.returncode == 0, "rrdnsctl %s: %s %s" % (args, r.stdout, r.stderr)
    return r.stdout


def ask(d, subnet=None):
    """One UDP query for www.geo.test A, with ECS for `subnet` ("10.1.2.0/24") if given:
    (addresses in answer order, the response's ECS option or None)."""
    options = []
    if subnet:
        address, prefix = subnet.split("/")
        options.append(dns.edns.ECSOption(address, int(prefix)))
    q = dns.message.make_query(WWW, "A", use_edns=0, options=options)
    r = dns.query.udp(q, d.host, port=d.port, timeout=3)
    addresses = [rr.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                 for rr in rrset]
    ecs = [o for o in r.options if isinstance(o, dns.edns.ECSOption)]
    return addresses, (ecs[0] if ecs else None)


def mark_site(d, addresses, state):
    for a in addresses:
        ok(d, "mark", a, state, "--pool", "www")


def scrape(d) -> dict:
    url = "http://127.0.0.1:%d/metrics" % d.metrics_port
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read().decode()
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def site_metric(m, name, site):
    return m['%s{zone="%s",pool="www",site="%s"}' % (name, ORIGIN, site)]


# --------------------------------------------------------------------------------------------
# explain

def test_explain_routes_each_network_and_the_default(geo):
    d = geo
    # An east client: the inline network, east alone; the scope is the network (its
    # neighbours 10.0/16 and 10.2/16 get west).
    e = ok(d, "explain", WWW, "--subnet", "10.1.2.0/24")
    r = e["route"]
    assert r["client"] == "10.1.2.0/24" and r["client_from"] == "ecs", r
    assert r["map"] == "geo"
    assert r["network"] == "10.1.0.0/16", r
    assert r["network_from"] == "%s:%d" % (d.zone_path, line_of(ZONE, "nets = {")), r
    assert r["site_list"] == ["east", "west", "south"], r
    assert r["chosen"] == ["east"] and r["spilled"] is False, r
    assert [s["site"] for s in r["sites"]] == ["east"], r  # the first could answer: no further
    assert r["sites"][0]["state"] == "usable" and r["sites"][0]["role"] == "answers", r
    addresses, ecs = ask(d, "10.1.2.0/24")
    assert {SITE_OF[a] for a in addresses} == {"east"}, addresses
    assert ecs is not None and ecs.scopelen == r["scope"] == 16, (ecs, r)
    assert r["scope_network"] == "10.1.0.0/16"
    assert {SITE_OF[a.split()[-1]] for a in e["next_answer"]} == {"east"}, e["next_answer"]

    # A west client: its list says west first.
    r = ok(d, "explain", WWW, "--subnet", "10.2.5.0/24")["route"]
    assert r["network"] == "10.2.0.0/16" and r["chosen"] == ["west"], r
    addresses, ecs = ask(d, "10.2.5.0/24")
    assert {SITE_OF[a] for a in addresses} == {"west"} and ecs.scopelen == r["scope"], addresses

    # The network from the nets file, for a query from that address (no ECS).
    r = ok(d, "explain", WWW, "--client", "10.3.0.7")["route"]
    assert r["client"] == "10.3.0.7" and r["client_from"] == "source", r
    assert r["network"] == "10.3.0.0/16" and r["chosen"] == ["south"], r
    assert r["network_from"].endswith("geo.nets:2"), r

    # No network matches: the default list; the scope is as wide as the default reaches.
    r = ok(d, "explain", WWW, "--subnet", "192.0.2.0/24")["route"]
    assert r["network"] == "none (default list)" and r["network_from"] is None, r
    assert r["site_list"] == ["west", "east"] and r["chosen"] == ["west"], r
    addresses, ecs = ask(d, "192.0.2.0/24")
    assert {SITE_OF[a] for a in addresses} == {"west"} and ecs.scopelen == r["scope"], ecs
    assert 1 <= r["scope"] <= 8, r  # 128.0.0.0/1 holds no mapped network

    # An IPv6 client: the map has no IPv6 network, so the default list, scope 0 (every IPv6
    # address gets the same).
    r = ok(d, "explain", WWW, "--subnet", "2001:db8:7::/48")["route"]
    assert r["client"] == "2001:db8:7::/48" and r["network"] == "none (default list)", r
    assert r["chosen"] == ["west"] and r["scope"] == 0, r
    addresses, ecs = ask(d, "2001:db8:7::/48")
    assert {SITE_OF[a] for a in addresses} == {"west"} and ecs.scopelen == 0, ecs

    # No client address at all (neither flag): the default list, and no route to tell.
    e = ok(d, "explain", WWW)
    assert "route" not in e, e
    assert any("no client address" in s for s in e["steps"]), e["steps"]
    assert {SITE_OF[a.split()[-1]] for a in e["next_answer"]} == {"west"}, e

    # The text form tells it in words.
    out = text(d, "explain", WWW, "--subnet", "10.1.2.0/24")
    for needle in ("route.network:", "10.1.0.0/16", "route.sites:", "route.scope:",
                   "the client subnet 10.1.2.0/24 (ECS) matches 10.1.0.0/16"):
        assert needle in out, (needle, out)


def test_explain_spill_when_the_first_site_fails(geo):
    d = geo
    mark_site(d, EAST, "down")
    e = ok(d, "explain", WWW, "--subnet", "10.1.2.0/24")
    r = e["route"]
    assert r["spilled"] is True and r["chosen"] == ["west", "south"], r
    steps = {s["site"]: s for s in r["sites"]}
    assert list(steps) == ["east", "west", "south"], r
    assert steps["east"]["state"] == "0 of 3 up" and steps["east"]["role"] == "passed over", r
    # Shared by capacity: west 100, south 300.
    assert steps["west"]["role"] == "takes 25% of first addresses", r
    assert steps["south"]["role"] == "takes 75% of first addresses", r
    assert "spill = 2" in r["why"] and "east cannot answer (0 of 3 up)" in r["why"], r
    assert e["ttl"] == 2, e  # a spill answers with degraded-ttl
    addresses, ecs = ask(d, "10.1.2.0/24")
    assert {SITE_OF[a] for a in addresses} == {"west", "south"}, addresses
    assert ecs.scopelen == r["scope"], (ecs, r)

    # The pool's own view: east cannot take clients, and says why.
    p = ok(d, "pool", "www")
    assert p["map"] == "geo" and p["spill"] == 2, p
    sites = {(s["site"], s["family"]): s for s in p["sites"]}
    assert sites[("east", "A")]["usable"] is False, p["sites"]
    assert sites[("east", "A")]["why_not"] == "0 of 3 up", p["sites"]
    assert sites[("west", "A")]["usable"] is True and sites[("west", "A")]["capacity"] == 100
    assert sites[("south", "A")]["capacity"] == 300 and sites[("south", "A")]["members"] == 2
    assert {m["address"]: m["site"] for m in p["members"]} == SITE_OF, p["members"]
    assert {m["address"] for m in p["members"] if m["state"] == "down"} == set(EAST), p
    out = text(d, "pool", "www")
    assert "sites:" in out and "why_not" in out and "0 of 3 up" in out, out
    status = ok(d, "status")
    row = [p for p in status["pools"] if p["pool"] == "www"][0]
    assert row["sites"] == "east: 0 of 3 up, west: usable, south: usable", row

    # Back up: east clients return to east, unspilled.
    mark_site(d, EAST, "auto")
    r = ok(d, "explain", WWW, "--subnet", "10.1.2.0/24")["route"]
    assert r["chosen"] == ["east"] and r["spilled"] is False, r


def test_explain_when_no_site_can_answer(geo):
    d = geo
    mark_site(d, EAST + WEST, "down")
    r = ok(d, "explain", WWW, "--subnet", "10.2.5.0/24")["route"]
    # The west list names west and east only: neither can answer, so the pool answers whole.
    assert r["chosen"] == "the whole pool" and r["spilled"] is True, r
    assert [s["site"] for s in r["sites"]] == ["west", "east"], r
    assert "no site of the list can answer" in r["why"], r


# --------------------------------------------------------------------------------------------
# metrics

def test_metrics_count_answers_and_spills_per_site(geo):
    d = geo
    before = scrape(d)
    for site in ("east", "west", "south"):
        assert site_metric(before, "rrdns_site_answers_total", site) == 0, before
        assert site_metric(before, "rrdns_site_spilled_answers_total", site) == 0
        assert before['rrdns_site_usable{zone="%s",pool="www",site="%s",family="A"}'
                      % (ORIGIN, site)] == 1

    # Unspilled: east clients on east, west clients on west.
    for _ in range(30):
        ask(d, "10.1.2.0/24")
    for _ in range(20):
        ask(d, "10.2.5.0/24")
    m = scrape(d)
    assert site_metric(m, "rrdns_site_answers_total", "east") == 30, m
    assert site_metric(m, "rrdns_site_answers_total", "west") == 20, m
    assert site_metric(m, "rrdns_site_answers_total", "south") == 0, m
    for site in ("east", "west", "south"):
        assert site_metric(m, "rrdns_site_spilled_answers_total", site) == 0, m

    # East fails: its clients spill over west and south, by capacity (100 : 300).
    mark_site(d, EAST, "down")
    firsts = Counter()
    for _ in range(200):
        addresses, _ = ask(d, "10.1.2.0/24")
        firsts[SITE_OF[addresses[0]]] += 1
    m = scrape(d)
    assert m['rrdns_site_usable{zone="%s",pool="www",site="east",family="A"}' % ORIGIN] == 0
    spilled = {s: site_metric(m, "rrdns_site_spilled_answers_total", s)
               for s in ("east", "west", "south")}
    assert spilled == {"east": 0, "west": firsts["west"], "south": firsts["south"]}, (
        spilled, firsts)
    assert spilled["west"] + spilled["south"] == 200
    assert spilled["south"] > spilled["west"] > 0, spilled
    assert site_metric(m, "rrdns_site_answers_total", "west") == 20 + firsts["west"], m
    assert site_metric(m, "rrdns_site_answers_total", "east") == 30, m

    # West clients are not spilled: their first site is up.
    for _ in range(10):
        ask(d, "10.2.5.0/24")
    m2 = scrape(d)
    assert site_metric(m2, "rrdns_site_spilled_answers_total", "west") == spilled["west"], m2
    assert site_metric(m2, "rrdns_site_answers_total", "west") == 30 + firsts["west"], m2

    # rrdnsctl pool shows the same counts per site.
    p = ok(d, "pool", "www")
    sites = {s["site"]: s for s in p["sites"] if s["family"] == "A"}
    assert sites["west"]["spilled_answers"] == spilled["west"], sites
    assert sites["east"]["answers"] == 30, sites


# --------------------------------------------------------------------------------------------
# what the daemon checks (rrdnsctl's own checks: test_rrdnsctl_cli.py)

def test_explain_subnet_is_checked_and_cut_to_its_prefix(geo):
    d = geo
    r = ctl(d, "explain", WWW, "--subnet", "10.1.2.0/99")
    assert r.returncode == 1 and "prefix length must be 0 to 32" in r.stdout, r.stdout
    # Host bits past the prefix are cut off, as dig +subnet cuts them.
    r = ok(d, "explain", WWW, "--subnet", "10.1.2.3/16")["route"]
    assert r["client"] == "10.1.0.0/16" and r["network"] == "10.1.0.0/16", r
    # A bare address is a host.
    r = ok(d, "explain", WWW, "--subnet", "10.2.9.9")["route"]
    assert r["client"] == "10.2.9.9/32" and r["chosen"] == ["west"], r


def test_explain_with_ecs_off_routes_by_the_source(daemons, tmp_path):
    """edns-client-subnet = false: the server ignores ECS, and explain --subnet says so and
    routes as the server would, by the query's source address."""
    zone = write_zone(tmp_path / "geo.toml", ZONE)
    (tmp_path / "geo.nets").write_text(NETS)
    sockdir = Path(tempfile.mkdtemp(prefix="rtop", dir="/tmp"))
    sock = sockdir / "control.sock"

    def config_text(specs):
        return ('listen = [%s]\nzones = ["%s"]\nthreads = 1\ncontrol = "%s"\n'
                'edns-client-subnet = false\n' % (", ".join('"%s"' % s for s in specs), zone,
                                                  sock))

    try:
        d = daemons(config=config_text, probe=(ORIGIN, "SOA"))
        d.sock = sock
        e = ok(d, "explain", WWW, "--subnet", "10.1.2.0/24", "--client", "10.2.5.7")
        assert any("edns-client-subnet is off" in s for s in e["steps"]), e["steps"]
        r = e["route"]
        assert r["client_from"] == "source" and r["client"] == "10.2.5.7", r
        assert r["network"] == "10.2.0.0/16" and r["chosen"] == ["west"], r
        addresses, ecs = ask(d, "10.1.2.0/24")  # from 127.0.0.1: the default list, west
        assert ecs is None and {SITE_OF[a] for a in addresses} == {"west"}, addresses
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
