"""DNSSEC end to end, judged by a validating resolver: Debian's Unbound, with a stub zone per
signed zone pointing at rrdnsd and trust anchors taken from `rrdnsctl dnssec ds`, answers 10,000
queries (positive, wildcard, CNAME to a pool, NXDOMAIN, NODATA at names, at empty non-terminals
and at pool names; A and AAAA and more) while pool members flap every second, by `rrdnsctl mark`
and by their health checks, and while one ZSK rollover runs its course. Every answer must carry
AD (Unbound validated it), none may be SERVFAIL, and Unbound must log no validation failure.

Two zones are served side by side: sig.test. (NSEC, ECDSA P-256) and sig3.test. (NSEC3 with a
salt, Ed25519). Their ZSKs live `ZSK_LIFETIME` seconds, so a successor is published and becomes
active while the queries run; Unbound holds nothing longer than a second, so it fetches and
validates the keys, the records and the denials again and again, across the rollover.

delv (BIND's validator) and kdig +dnssec check a sample straight from rrdnsd too.

The queries are paced over the run (Unbound is asked, not flooded), every wait is bounded, and
the processes started here are stopped by PID.
"""

import random
import re
import subprocess
import threading
import time
from collections import Counter

import dns.flags
import dns.rcode
import dns.rdatatype
import pytest

from dnssec_support import (active, ctl, delv_anchors, dnssec_query, ds_records,
                            query_path_signatures, rrset_of, serve_signed, signed_zone,
                            sockdir, tool, zone_keys)  # noqa: F401
from unbound_oracle import Unbound

ZSK_LIFETIME = 20      # s: the successor is published 20 s after the first ZSK became active
PROPAGATION = 2        # s: propagation-delay
DNSKEY_TTL = 3         # s: the successor signs PROPAGATION + DNSKEY_TTL after it is published
QUERIES = 10000
TAIL = 8               # s of queries after the new ZSK is active
WORKERS = 6

ZONES = {
    "sig.test.": {"zsk-lifetime": ZSK_LIFETIME, "propagation-delay": PROPAGATION,
                  "dnskey-ttl": DNSKEY_TTL},
    "sig3.test.": {"algorithm": "ed25519", "nsec3": True, "nsec3-salt-length": 8,
                   "zsk-lifetime": ZSK_LIFETIME, "propagation-delay": PROPAGATION,
                   "dnskey-ttl": DNSKEY_TTL},
}
# Members of the pools flapped by rrdnsctl mark: per zone, A and AAAA (check type none).
POOL_A = {"sig.test.": ["192.0.2.%d" % i for i in range(1, 5)],
          "sig3.test.": ["198.51.100.%d" % i for i in range(1, 5)]}
POOL_AAAA = {"sig.test.": ["2001:db8::%x" % i for i in range(1, 5)],
             "sig3.test.": ["2001:db8:3::%x" % i for i in range(1, 5)]}
FEW_A = {"sig.test.": ["192.0.2.%d" % i for i in range(101, 107)],
         "sig3.test.": ["198.51.100.%d" % i for i in range(101, 107)]}
FEW_AAAA = {"sig.test.": ["2001:db8::1:%x" % i for i in range(1, 4)],
            "sig3.test.": ["2001:db8:3::1:%x" % i for i in range(1, 4)]}
FEW_MAX = 2


def zone_text(origin, replicas):
    apex = 'MX = "10 mail"\nTXT = "signed by rrdns"\n'
    names = (
        "[names.www]\n"
        'A = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]\n'
        'AAAA = ["2001:db8::10", "2001:db8::11"]\n'
        "[names.mail]\n"
        'A = "192.0.2.25"\n'
        "[names.alias]\n"
        'CNAME = "pool"\n'
        '[names."*.wild"]\n'
        'A = "192.0.2.80"\n'
        'TXT = "wildcard"\n'
        '[names."a.b.ent"]\n'          # b.ent and ent are empty non-terminals
        'A = "192.0.2.90"\n')
    check = '{ type = "http", port = %d, path = "/healthz", interval = 0.2, timeout = 0.15, ' \
            'rise = 1, fall = 1 }' % replicas[0].port
    pools = (
        "[pools.pool]\n"
        'names = ["pool"]\n'
        "ttl = 2\n"
        "degraded-ttl = 1\n"
        "members = [%s]\n"
        'check = { type = "none" }\n'
        "[pools.few]\n"
        'names = ["few"]\n'
        "max-addresses = %d\n"
        "ttl = 2\n"
        "degraded-ttl = 1\n"
        "members = [%s]\n"
        'check = { type = "none" }\n'
        "[pools.web]\n"
        'names = ["web"]\n'
        "ttl = 2\n"
        "degraded-ttl = 1\n"
        "members = [%s]\n"
        "check = %s\n" % (
            ", ".join('"%s"' % a for a in POOL_A[origin] + POOL_AAAA[origin]), FEW_MAX,
            ", ".join('"%s"' % a for a in FEW_A[origin] + FEW_AAAA[origin]),
            ", ".join('{ address = "%s", port = %d }' % (r.host, r.port) for r in replicas),
            check))
    return signed_zone(origin, dnssec=ZONES[origin], apex=apex, names=names, pools=pools)


# What each query must get: "pos" (an answer of the type asked, or a CNAME chain to it), "nx"
# (NXDOMAIN) or "nodata" (NOERROR, no answer of that type). {n} is a fresh number per query.
PLAN = [
    ("www", "A", "pos"), ("www", "AAAA", "pos"), ("@", "MX", "pos"), ("@", "TXT", "pos"),
    ("mail", "A", "pos"), ("alias", "A", "pos"), ("alias", "AAAA", "pos"),
    ("w{n}.wild", "A", "pos"), ("w{n}.wild", "TXT", "pos"), ("w{n}.wild", "AAAA", "nodata"),
    ("pool", "A", "pos"), ("pool", "AAAA", "pos"), ("few", "A", "pos"), ("few", "AAAA", "pos"),
    ("web", "A", "pos"), ("pool", "A", "pos"), ("few", "A", "pos"), ("web", "A", "pos"),
    ("nx{n}", "A", "nx"), ("nx{n}", "AAAA", "nx"), ("x{n}.www", "A", "nx"),
    ("nx{n}.b.ent", "A", "nx"),
    ("www", "TXT", "nodata"), ("mail", "AAAA", "nodata"), ("b.ent", "A", "nodata"),
    ("ent", "AAAA", "nodata"), ("pool", "TXT", "nodata"), ("web", "AAAA", "nodata"),
    ("few", "MX", "nodata"), ("a.b.ent", "AAAA", "nodata"),
]


def qname_of(origin, name, n):
    name = name.format(n=n)
    return origin if name == "@" else "%s.%s" % (name, origin)


def judge(msg, qtype, kind):
    """What is wrong with Unbound's answer (None: nothing): AD, rcode and content."""
    if msg is None:
        return "no answer"
    rcode = msg.rcode()
    if rcode == dns.rcode.SERVFAIL:
        return "SERVFAIL"
    if not msg.flags & dns.flags.AD:
        return "no AD (%s)" % dns.rcode.to_text(rcode)
    want_type = dns.rdatatype.from_text(qtype)
    has_type = any(rrset.rdtype == want_type and len(rrset) for rrset in msg.answer)
    if kind == "nx":
        return None if rcode == dns.rcode.NXDOMAIN else "%s, not NXDOMAIN" % (
            dns.rcode.to_text(rcode))
    if rcode != dns.rcode.NOERROR:
        return "%s, not NOERROR" % dns.rcode.to_text(rcode)
    if kind == "pos" and not has_type:
        return "no %s in the answer" % qtype
    if kind == "nodata" and has_type:
        return "a %s answer to a NODATA name" % qtype
    return None


class Flapper(threading.Thread):
    """Every second: in each group of pool members (per zone: pool A, pool AAAA, few A, few
    AAAA) one member marked down or up (rrdnsctl mark), one replica's health switched (its
    check fails or passes), and the zones' keys read (rrdnsctl dnssec status)."""

    def __init__(self, d, replicas, stop, deadline):
        super().__init__(daemon=True)
        self.d, self.replicas, self.stop_event, self.deadline = d, replicas, stop, deadline
        self.down = set()
        self.sick = set()
        self.flaps = 0
        self.active_zsks = {zone: [] for zone in ZONES}  # (monotonic time, tags) when they changed
        self.errors = []
        self.rng = random.Random(22)

    def run(self):
        groups = [g[z] for z in ZONES for g in (POOL_A, POOL_AAAA, FEW_A, FEW_AAAA)]
        for _ in range(100000):
            if self.stop_event.is_set() or time.monotonic() > self.deadline:
                break
            try:
                self.read_keys()
                for group in groups:
                    member = self.rng.choice(group)
                    state = "up" if member in self.down else "down"
                    ctl(self.d, "mark", member, state)
                    (self.down.discard if state == "up" else self.down.add)(member)
                rep = self.rng.choice(self.replicas)
                rep.health(rep in self.sick)
                (self.sick.discard if rep in self.sick else self.sick.add)(rep)
                self.flaps += 1
            except Exception as e:  # reported by the test, which fails on any
                self.errors.append(repr(e))
                break
            self.stop_event.wait(1.0)

    def read_keys(self):
        for zone in ZONES:
            tags = active(zone_keys(self.d, zone), "zsk")
            seen = self.active_zsks[zone]
            if not seen or seen[-1][1] != tags:
                seen.append((time.monotonic(), tags))


def run_queries(unbound, end_at, hard_deadline):
    """QUERIES queries through Unbound from WORKERS threads, query i not before its slot on an
    even schedule from now to `end_at`. Returns (results, seconds): results[i] = (monotonic
    time answered, zone, qname, qtype, kind, problem or None, answer addresses, AD set)."""
    start = time.monotonic()
    step = max(end_at - start, 1.0) / QUERIES
    results = [None] * QUERIES
    lock = threading.Lock()
    next_index = [0]
    rng = random.Random(4035)
    jobs = []
    zones = list(ZONES)
    for i in range(QUERIES):
        origin = zones[i % len(zones)]
        name, qtype, kind = PLAN[(i // len(zones)) % len(PLAN)]
        jobs.append((origin, qname_of(origin, name, rng.randrange(10 ** 9)), qtype, kind))

    def worker():
        for _ in range(QUERIES):
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= QUERIES:
                return
            slot = start + i * step
            now = time.monotonic()
            if now > hard_deadline:
                return
            if slot > now:
                time.sleep(slot - now)
            origin, qname, qtype, kind = jobs[i]
            msg = None
            try:
                msg = unbound.ask(qname, qtype, timeout=5.0)
            except Exception:
                msg = None
            addrs = tuple(sorted(rd.address for rrset in (msg.answer if msg else [])
                                 if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                                 for rd in rrset))
            results[i] = (time.monotonic(), origin, qname, qtype, kind, judge(msg, qtype, kind),
                          addrs, bool(msg is not None and msg.flags & dns.flags.AD))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(hard_deadline - time.monotonic(), 0) + 10)
    return results, time.monotonic() - start


@pytest.fixture
def signed_setup(daemons, replicas, tmp_path, sockdir):
    reps = replicas(21, 22, 23)
    zones = {origin.rstrip(".") + ".toml": zone_text(origin, reps) for origin in ZONES}
    d = serve_signed(daemons, tmp_path, sockdir, zones, threads=2)
    anchors = {origin: ds_records(d, origin) for origin in ZONES}
    unbound = Unbound(tmp_path / "unbound", anchors, d.port).start()
    yield d, reps, anchors, unbound
    unbound.stop()


def test_unbound_validates_every_answer_through_flaps_and_a_zsk_rollover(signed_setup):
    d, reps, anchors, unbound = signed_setup
    keys_before = {zone: zone_keys(d, zone) for zone in ZONES}
    zsk_before = {zone: active(keys, "zsk") for zone, keys in keys_before.items()}
    for zone, tags in zsk_before.items():
        assert len(tags) == 1, "%s: one active ZSK at start, not %s\n%s" % (
            zone, keys_before[zone], d.diag())
    # When the successors sign: the first ZSK's activation + lifetime + propagation + DNSKEY TTL
    # (unix time in status); the queries run until TAIL s after the later of the two.
    wall_to_mono = time.monotonic() - time.time()
    switch = max(k["active_at"] for zone, keys in keys_before.items() for k in keys
                 if k["role"] == "zsk" and k["state"] == "active") + ZSK_LIFETIME + \
        PROPAGATION + DNSKEY_TTL + wall_to_mono
    end_at = switch + TAIL
    # A second rollover would start ZSK_LIFETIME after the first switch: stop well before it.
    hard_deadline = switch + ZSK_LIFETIME - 2
    assert end_at - time.monotonic() < 60, "the rollover is too far ahead: %s" % keys_before

    signatures_before = zone_signatures(d)
    stop = threading.Event()
    flapper = Flapper(d, reps, stop, hard_deadline)
    flapper.start()
    try:
        results, seconds = run_queries(unbound, end_at, hard_deadline)
    finally:
        stop.set()
        flapper.join(timeout=30)
    flapper.read_keys()

    answered = [r for r in results if r is not None]
    problems = Counter(r[5] for r in answered if r[5])
    servfail = sum(1 for r in answered if r[5] == "SERVFAIL")
    ad = sum(1 for r in answered if r[7])
    examples = [r[1:6] for r in answered if r[5]][:10]
    print("queries %d answered %d AD %d SERVFAIL %d in %.1f s; flaps %d; problems %s" % (
        QUERIES, len(answered), ad, servfail, seconds, flapper.flaps, dict(problems)))
    for zone, history in flapper.active_zsks.items():
        print("%s active ZSK: %s" % (zone, ", ".join("%s at %+.1f s" % (tags, t - switch)
                                                     for t, tags in history)))
    failures = unbound.failures()
    assert not flapper.errors, flapper.errors
    assert len(answered) == QUERIES, "%d of %d queries sent before the deadline" % (
        len(answered), QUERIES)
    assert servfail == 0 and not problems, (
        "%d SERVFAIL; problems %s; e.g. %s\nUnbound: %s\n%s" % (
            servfail, dict(problems), examples, "\n".join(failures[:20]), d.diag()))
    assert ad == QUERIES
    assert not failures, "Unbound logged validation failures:\n" + "\n".join(failures[:20])

    # Members flapped, and the answers through Unbound followed them.
    assert flapper.flaps >= 10, flapper.flaps
    for origin in ZONES:
        pool_sets = {r[6] for r in answered if r[1] == origin and r[2] == "pool." + origin
                     and r[3] == "A"}
        few_sets = {r[6] for r in answered if r[1] == origin and r[2] == "few." + origin
                    and r[3] == "A"}
        assert len(pool_sets) > 1, "%s: pool answers never changed: %s" % (origin, pool_sets)
        assert len(few_sets) > 1, "%s: few answers never changed: %s" % (origin, few_sets)
        assert all(len(s) <= FEW_MAX for s in few_sets), few_sets

    # Exactly one ZSK rollover per zone: the ZSK active at the start gave way to another, which
    # signed while queries still ran (and validated: every answer had AD).
    last_answer = max(r[0] for r in answered)
    for zone in ZONES:
        history = flapper.active_zsks[zone]
        tags_seen = [tags for _, tags in history]
        after = active(zone_keys(d, zone), "zsk")
        assert tags_seen[0] == zsk_before[zone], history
        assert len(after) == 1 and after != zsk_before[zone], (
            "%s: the ZSK did not roll over: %s before, %s after\n%s" % (
                zone, zsk_before[zone], after, zone_keys(d, zone)))
        singles = [tags for tags in tags_seen if len(tags) == 1]
        assert [t for i, t in enumerate(singles) if i == 0 or t != singles[i - 1]] == [
            zsk_before[zone], after], "%s: more than one rollover: %s" % (zone, history)
        switched_at = next(t for t, tags in history if tags == after)
        late = sum(1 for r in answered if r[1] == zone and r[0] > switched_at + 2)
        assert late >= 500, "%s: %d queries after the new ZSK signed (at %.1f, last %.1f)" % (
            zone, late, switched_at, last_answer)
        # The KSK did not move, so the parent's DS still holds.
        assert ds_records(d, zone) == anchors[zone]
    # New member sets were signed as they came (off the query path), not all at the start.
    signatures_after = zone_signatures(d)
    for zone in ZONES:
        assert signatures_after[zone] > signatures_before[zone], (signatures_before,
                                                                  signatures_after)
    assert query_path_signatures(d) == 0


def zone_signatures(d):
    """{zone: signatures made since start} from rrdnsctl dnssec status."""
    return {z["zone"].rstrip(".") + ".": z["signatures"]
            for z in ctl(d, "dnssec", "status")["zones"]}


def test_delv_and_kdig_check_a_sample_straight_from_rrdnsd(signed_setup, tmp_path):
    d, reps, anchors, _ = signed_setup
    delv = tool("delv")
    kdig = tool("kdig")
    sample = [("www", "A", "pos"), ("pool", "AAAA", "pos"), ("few", "A", "pos"),
              ("web", "A", "pos"), ("x1.wild", "A", "pos"), ("alias", "A", "pos"),
              ("nx1", "A", "nx"), ("www", "TXT", "nodata"), ("b.ent", "A", "nodata"),
              ("pool", "TXT", "nodata"), ("@", "DNSKEY", "pos")]
    for origin in ZONES:
        file = delv_anchors(tmp_path / ("%s.anchors" % origin.rstrip(".")),
                            {origin: anchors[origin]})
        for name, qtype, kind in sample:
            qname = qname_of(origin, name, 0)
            out = subprocess.run([delv, "-a", str(file), "+root=%s" % origin, "@127.0.0.1",
                                  "-p", str(d.port), qname, qtype],
                                 capture_output=True, text=True, timeout=30)
            text = out.stdout + out.stderr
            want = "; fully validated" if kind == "pos" else "; negative response, fully validated"
            assert want in text, "delv %s %s:\n%s\n%s" % (qname, qtype, text, d.diag())
            if kind == "pos":
                assert "; negative response" not in text, text

            out = subprocess.run([kdig, "@127.0.0.1", "-p", str(d.port), "+dnssec", "+norec",
                                  "+time=3", "+retry=1", qname, qtype],
                                 capture_output=True, text=True, timeout=30).stdout
            assert re.search(r"Flags: qr aa\b", out), out
            lines = [l.split() for l in out.splitlines() if l and not l.startswith(";")]
            sigs = [l for l in lines if len(l) > 4 and l[3] == "RRSIG"]
            if kind == "pos":
                assert "NOERROR" in out, out
                assert any(l[4] == (qtype if name not in ("alias",) else "CNAME")
                           for l in sigs), "no RRSIG over the answer:\n" + out
            else:
                assert ("NXDOMAIN" if kind == "nx" else "NOERROR") in out, out
                denial = "NSEC3" if ZONES[origin].get("nsec3") else "NSEC"
                assert any(l[3] == denial for l in lines), "no %s proof:\n%s" % (denial, out)
                assert any(l[4] == denial for l in sigs) and any(l[4] == "SOA" for l in sigs), out


def wait_until(pred, what, timeout, d):
    deadline = time.monotonic() + timeout
    for _ in range(100000):
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.0f s\n%s" % (what, timeout, d.diag()))
        time.sleep(0.2)


def validated(unbound, names):
    """Every (qname, qtype) answered NOERROR with AD through `unbound`: the problems, if any."""
    problems = []
    for qname, qtype in names:
        try:
            r = unbound.ask(qname, qtype)
        except Exception as e:
            problems.append((qname, qtype, repr(e)))
            continue
        if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AD or not r.answer:
            problems.append((qname, qtype, dns.rcode.to_text(r.rcode()), dns.flags.to_text(
                r.flags)))
    return problems


def test_ksk_rollover_by_the_operator_keeps_validating(daemons, replicas, tmp_path, sockdir):
    """rrdnsctl dnssec rollover ZONE ksk, then submitted: resolvers anchored on the old DS
    validate until the operator says the parent has the new one; the new DS (printed once the
    successor is ready) validates from then on, and after the old KSK is gone."""
    origin = "ksk.test."
    policy = {"propagation-delay": 1, "dnskey-ttl": 2}
    text = signed_zone(origin, dnssec=policy, ttl=2, minimum=2,
                       names='[names.www]\nA = "192.0.2.10"\n',
                       pools='[pools.pool]\nnames = ["pool"]\nttl = 2\ndegraded-ttl = 1\n'
                             'members = ["192.0.2.1", "192.0.2.2"]\ncheck = { type = "none" }\n')
    d = serve_signed(daemons, tmp_path, sockdir, {"ksk.test.toml": text})
    names = [(origin, "SOA"), (origin, "DNSKEY"), ("www." + origin, "A"), ("pool." + origin, "A")]
    old_ds = ds_records(d, origin)
    old_ksk = active(zone_keys(d, origin), "ksk")
    assert len(old_ds) == 1 and len(old_ksk) == 1, (old_ds, zone_keys(d, origin))
    with_old = Unbound(tmp_path / "unbound-old", {origin: old_ds}, d.port).start()
    try:
        ctl(d, "dnssec", "rollover", origin, "ksk")
        keys = zone_keys(d, origin)
        assert len([k for k in keys if k["role"] == "ksk"]) == 2, keys
        # Both KSKs sign the DNSKEY RRset at once (double signature).
        r = dnssec_query(d, origin, "DNSKEY")
        sigs = [rr for rrset in r.answer if rrset.rdtype == dns.rdatatype.RRSIG for rr in rrset]
        assert len(sigs) == 2 and len(rrset_of(r, "DNSKEY")) == 3, r.to_text()
        assert not validated(with_old, names), validated(with_old, names)

        # Ready after propagation-delay + dnskey-ttl: the DS of both keys is printed.
        both = wait_until(lambda: (lambda ds: ds if len(ds) == 2 else None)(
            ds_records(d, origin)), "the successor's DS", 30, d)
        assert old_ds[0] in both, both
        new_ds = [ds for ds in both if ds != old_ds[0]]
        with_new = Unbound(tmp_path / "unbound-new", {origin: new_ds}, d.port).start()
        try:
            assert not validated(with_new, names), validated(with_new, names)
            assert not validated(with_old, names), validated(with_old, names)

            ctl(d, "dnssec", "submitted", origin)
            assert ds_records(d, origin) == new_ds
            new_ksk = active(zone_keys(d, origin), "ksk")
            assert len(new_ksk) == 1 and new_ksk != old_ksk, zone_keys(d, origin)
            # The old KSK is removed propagation-delay + dnskey-ttl later: DNSKEY holds the new
            # KSK and the ZSK only, signed once, and the new anchor still validates.
            wait_until(lambda: len(rrset_of(dnssec_query(d, origin, "DNSKEY"), "DNSKEY")) == 2,
                       "the old KSK removed", 30, d)
            r = dnssec_query(d, origin, "DNSKEY")
            sigs = [rr for rrset in r.answer if rrset.rdtype == dns.rdatatype.RRSIG for rr in rrset]
            assert len(sigs) == 1, r.to_text()
            # Unbound fetches the keys again within its one-second cache: still valid.
            for _ in range(3):
                assert not validated(with_new, names), validated(with_new, names)
                time.sleep(1.0)
            assert not with_new.failures(), with_new.failures()
        finally:
            with_new.stop()
    finally:
        with_old.stop()
    assert query_path_signatures(d) == 0
