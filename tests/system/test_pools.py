"""System tests for pools: names answered only with the members that health checks report up.

Each test starts real rrdns-replica processes (env RRDNS_REPLICA, else next to RRDNSD, else
$RRDNS_SOURCE_DIR/build/rrdns-replica) on distinct loopback addresses 127.0.0.21.. with free
ports, writes a TOML zone whose pool members are those replicas (per-member `port`), starts
rrdnsd on it (conftest.Daemon) and watches the answers change as replicas are killed, marked
down, drained or restarted. Checks run every 0.2 s with rise = fall = 2, so a transition takes
well under a second; every wait is a bounded poll with a deadline of a few seconds.

Only processes started here are stopped, by PID.
"""

import time
from collections import Counter

import dns.rcode
import dns.rdatatype
import pytest

from conftest import Replica, fixture_zone, has_ipv6_loopback, pool_tables, write_zone

ORIGIN = "pt.test."
WWW = "www." + ORIGIN
DEADLINE = 5.0  # generous: a transition needs `fall` or `rise` checks 0.2 s apart
STABLE = 5      # consecutive answers that must agree before a transition counts as done


# --------------------------------------------------------------------------------------------
# Zones

def member(replica, **extra) -> dict:
    """A member table for this replica: its address, its own check port."""
    return dict(address=replica.host, port=replica.port, **extra)


def pool_zone(pools: dict, *, serial=1, extra="") -> str:
    """A zone pt.test. with the given pools: {name: {key: value, ..., "check": {...}}}."""
    text = ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = %d\nminimum = 60\n[names."@"]\nNS = "ns1"\n[names.ns1]\n'
            'A = "127.0.0.1"\n' % (ORIGIN, serial))
    named = {}
    for name, spec in pools.items():
        named[name] = dict(spec)
        named[name].setdefault("names", [name])
    return text + pool_tables(named) + extra


def fast_check(first_replica, **over) -> dict:
    """HTTP /healthz every 0.2 s, rise/fall 2; the shared port is overridden per member."""
    check = {"type": "http", "port": first_replica.port, "path": "/healthz", "expect": [200],
             "interval": 0.2, "timeout": 0.15, "rise": 2, "fall": 2}
    check.update(over)
    return check


def www_pool(reps, **over) -> dict:
    spec = {"names": ["www"], "policy": "rotate", "ttl": 10, "degraded-ttl": 3,
            "members": [member(r) for r in reps], "check": fast_check(reps[0])}
    spec.update(over)
    return spec


@pytest.fixture
def serve(daemons, tmp_path, binary):
    """serve(zone_text) writes the zone and starts rrdnsd on it (one thread)."""

    def start(text, name="pt.test.toml"):
        path = write_zone(tmp_path / name, text)
        d = daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1)
        d.zone_path = path
        return d

    return start


# --------------------------------------------------------------------------------------------
# Answers and waiting

class Ans:
    def __init__(self, msg, rdtype):
        self.msg = msg
        self.rcode = msg.rcode()
        self.addrs = []
        self.ttl = None
        self.cnames = []
        for rrset in msg.answer:
            if rrset.rdtype == rdtype:
                self.addrs = [rd.address for rd in rrset]
                self.ttl = rrset.ttl
            elif rrset.rdtype == dns.rdatatype.CNAME:
                self.cnames.append(rrset)

    @property
    def first(self):
        return self.addrs[0] if self.addrs else None

    def __repr__(self):
        return "<%s %s ttl=%s>" % (dns.rcode.to_text(self.rcode), self.addrs, self.ttl)


def ask(d, name=WWW, qtype="A") -> Ans:
    return Ans(d.ask(name, qtype), dns.rdatatype.from_text(qtype))


def ask_tcp(d, name=WWW, qtype="A") -> Ans:
    return Ans(d.ask(name, qtype, tcp=True), dns.rdatatype.from_text(qtype))


def wait_for(d, pred, what, *, name=WWW, qtype="A", timeout=DEADLINE, stable=STABLE):
    """Queries until pred(answer) holds for `stable` answers in a row; returns the last one."""
    deadline = time.monotonic() + timeout
    run = 0
    seen = []
    for _ in range(100000):
        a = ask(d, name, qtype)
        seen.append(a)
        run = run + 1 if pred(a) else 0
        if run >= stable:
            return a
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    raise AssertionError("%s: not within %.1f s; last answers %s\n%s" % (
        what, timeout, seen[-6:], d.diag()))


def hold(d, pred, what, *, name=WWW, qtype="A", seconds=1.0):
    """Queries for `seconds`; every answer must satisfy pred."""
    deadline = time.monotonic() + seconds
    n = 0
    for _ in range(100000):
        a = ask(d, name, qtype)
        n += 1
        assert pred(a), "%s: broken after %d answers by %s\n%s" % (what, n, a, d.diag())
        if time.monotonic() > deadline:
            return n
        time.sleep(0.01)
    return n


def addrs_of(reps):
    return [r.host for r in reps]


def cyclic(seq, k):
    k %= len(seq)
    return list(seq[k:]) + list(seq[:k])


def count_first(d, n, name=WWW):
    c = Counter()
    for _ in range(n):
        c[ask(d, name).first] += 1
    return c


def chi2(counts, expected):
    return sum((counts.get(k, 0) - e) ** 2 / e for k, e in expected.items())


def log_has(d, *parts, since=0) -> bool:
    return any(all(p in line for p in parts) for line in d.stderr_text()[since:].splitlines())


def wait_log(d, *parts, since=0, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_has(d, *parts, since=since):
            return
        time.sleep(0.02)
    raise AssertionError("no log line with %s\n%s" % (parts, d.diag()))


# --------------------------------------------------------------------------------------------
# Rotation, failure and recovery


def test_rotation_over_three_healthy_replicas(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps)}))
    order = addrs_of(reps)
    wait_for(d, lambda a: sorted(a.addrs) == sorted(order), "all three answered")
    answers = [ask(d) for _ in range(9)]
    for a in answers:
        assert a.rcode == dns.rcode.NOERROR
        assert sorted(a.addrs) == sorted(order), answers
        assert a.ttl == 10, answers
        # The answer starts somewhere; the rest follow in configured (cyclic) order.
        assert a.addrs == cyclic(order, order.index(a.first)), answers
    starts = [order.index(a.first) for a in answers]
    for prev, cur in zip(starts, starts[1:]):
        assert cur == (prev + 1) % 3, "each answer starts one member further: %s" % answers
    assert Counter(a.first for a in answers) == Counter({o: 3 for o in order})
    # The same over TCP, and from the same cursor.
    a = ask_tcp(d)
    assert sorted(a.addrs) == sorted(order) and a.ttl == 10, a
    assert a.first == order[(starts[-1] + 1) % 3], (answers, a)


def test_killed_replica_leaves_and_comes_back(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps)}))
    wait_for(d, lambda a: len(a.addrs) == 3 and a.ttl == 10, "all three answered")
    victim = reps[1]

    mark = d.stderr_mark()
    killed = time.monotonic()
    victim.stop()
    a = wait_for(d, lambda a: victim.host not in a.addrs, "killed replica leaves the answers")
    assert time.monotonic() - killed < DEADLINE
    assert sorted(a.addrs) == sorted([reps[0].host, reps[2].host]), a
    assert a.ttl == 3, "degraded-ttl while a member is down: %s" % a
    hold(d, lambda a: victim.host not in a.addrs and a.ttl == 3, "killed replica stays out",
         seconds=0.6)
    wait_log(d, victim.listen, "is down", since=mark)

    mark = d.stderr_mark()
    victim.start()
    a = wait_for(d, lambda a: victim.host in a.addrs, "restarted replica comes back")
    assert sorted(a.addrs) == sorted(addrs_of(reps))
    wait_for(d, lambda a: a.ttl == 10 and len(a.addrs) == 3, "full ttl once all are up")
    wait_log(d, victim.listen, "is up", since=mark)


def test_healthz_503_leaves_and_returns(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps)}))
    wait_for(d, lambda a: len(a.addrs) == 3, "all three answered")
    victim = reps[2]
    mark = d.stderr_mark()
    victim.health(False)
    a = wait_for(d, lambda a: victim.host not in a.addrs, "503 replica leaves")
    assert sorted(a.addrs) == sorted([reps[0].host, reps[1].host]) and a.ttl == 3, a
    wait_log(d, victim.check_url(), "is down", "503", since=mark)
    victim.health(True)
    a = wait_for(d, lambda a: len(a.addrs) == 3 and a.ttl == 10, "replica back after 200")
    assert sorted(a.addrs) == sorted(addrs_of(reps))


def test_status_outside_expect_is_down(replicas, serve):
    # expect = [204]: the replica's 200 is a failure, so no member ever counts as up.
    reps = replicas(21, 22)
    d = serve(pool_zone({"www": www_pool(reps, **{"all-down": "none"},
                                         check=fast_check(reps[0], expect=[204]))}))
    wait_for(d, lambda a: a.rcode == dns.rcode.NOERROR and not a.addrs,
                 "200 not in expect = [204] counts as down")
    wait_log(d, reps[0].check_url(), "is down", "200")


@pytest.mark.parametrize("policy", ["all", "none", "servfail"])
def test_all_down(replicas, serve, policy):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps, **{"all-down": policy})}))
    wait_for(d, lambda a: len(a.addrs) == 3 and a.ttl == 10, "all three answered")
    mark = d.stderr_mark()
    for r in reps:
        r.health(False)
    for r in reps:
        wait_log(d, r.check_url(), "is down", since=mark)
    if policy == "all":
        a = wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps)) and a.ttl == 3,
                     "all-down = all answers every member (degraded ttl)")
        assert a.rcode == dns.rcode.NOERROR
    elif policy == "none":
        a = wait_for(d, lambda a: a.rcode == dns.rcode.NOERROR and not a.msg.answer,
                     "all-down = none answers NODATA")
        soa = [rr for rr in a.msg.authority if rr.rdtype == dns.rdatatype.SOA]
        assert soa and soa[0].name.to_text() == ORIGIN, a.msg
    else:
        a = wait_for(d, lambda a: a.rcode == dns.rcode.SERVFAIL,
                     "all-down = servfail answers SERVFAIL")
        assert not a.msg.answer
    # One replica back: normal answers again, whatever the all-down policy.
    reps[0].health(True)
    a = wait_for(d, lambda a: a.addrs == [reps[0].host], "one member back")
    assert a.rcode == dns.rcode.NOERROR and a.ttl == 3


def test_min_healthy_fails_open(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps, **{"min-healthy": 0.6})}))
    wait_for(d, lambda a: len(a.addrs) == 3 and a.ttl == 10, "all three answered")
    reps[2].health(False)
    # 2 of 3 up >= 0.6: only the healthy two.
    a = wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps[:2])), "2 of 3 up")
    assert a.ttl == 3
    mark = d.stderr_mark()
    reps[1].health(False)
    wait_log(d, reps[1].check_url(), "is down", since=mark)
    # 1 of 3 < 0.6: fail open, every member answered.
    a = wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps)),
                 "fail open below min-healthy")
    assert a.ttl == 3, a
    hold(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps)), "fail open holds", seconds=0.6)
    wait_log(d, "pool www (pt.test.) A: fail-open", "1 of 3", since=mark)
    reps[1].health(True)
    wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps[:2])), "back to 2 of 3")


@pytest.mark.parametrize("policy", ["rotate", "weighted", "random"])
def test_weight_zero_member_is_drained(replicas, serve, policy):
    reps = replicas(21, 22, 23)
    drained = reps[2]
    members = [member(reps[0], weight=100), member(reps[1], weight=100),
               member(drained, weight=0)]
    d = serve(pool_zone({"www": www_pool(reps, policy=policy, members=members)}))
    # Wait until the checks have run (a check logs nothing while up, so wait for the answers).
    wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps[:2])), "the weighted two")
    hold(d, lambda a: drained.host not in a.addrs and a.first in addrs_of(reps[:2])
         and a.ttl == 10, "weight 0 never answered while others are up (full ttl: a drained "
         "member is not a down one)", seconds=0.8)
    reps[0].health(False)
    reps[1].health(False)
    a = wait_for(d, lambda a: a.addrs == [drained.host],
                 "the drained member is answered when nothing else is left")
    assert a.rcode == dns.rcode.NOERROR
    reps[1].health(True)
    wait_for(d, lambda a: a.addrs == [reps[1].host], "drained again once another is up")


# --------------------------------------------------------------------------------------------
# Weights


def weighted_pool(reps, weights, **over):
    members = [member(r, weight=w) for r, w in zip(reps, weights)]
    return www_pool(reps, policy="weighted", members=members, **over)


def test_weighted_first_address_follows_weights(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": weighted_pool(reps, [60, 30, 10])}))
    wait_for(d, lambda a: len(a.addrs) == 3 and a.ttl == 10, "all three up")
    n = 1000
    counts = count_first(d, n)
    expected = {r.host: n * w / 100 for r, w in zip(reps, [60, 30, 10])}
    assert set(counts) <= set(expected), counts
    assert chi2(counts, expected) < 27.6, (counts, expected)
    # Smooth weighted round robin is exact over each round of 100: allow 3 %.
    for host, e in expected.items():
        assert abs(counts[host] - e) <= 0.03 * e, (counts, expected)


def test_weighted_answer_holds_every_member(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": weighted_pool(reps, [60, 30, 10])}))
    wait_for(d, lambda a: len(a.addrs) == 3, "all three up")
    for _ in range(20):
        a = ask(d)
        assert sorted(a.addrs) == sorted(addrs_of(reps)), a


def test_random_first_address_follows_weights(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(
        reps, policy="random", members=[member(r, weight=w) for r, w in
                                        zip(reps, [60, 30, 10])])}))
    wait_for(d, lambda a: len(a.addrs) == 3, "all three up")
    n = 1000
    counts = count_first(d, n)
    expected = {r.host: n * w / 100 for r, w in zip(reps, [60, 30, 10])}
    assert set(counts) <= set(expected), counts
    assert chi2(counts, expected) < 27.6, (counts, expected)  # p ~ 1e-6 for 2 dof


def test_load_feedback_weight(replicas, serve):
    reps = replicas(21, 22, 23)
    heavy = reps[0]
    d = serve(pool_zone({"www": weighted_pool(reps, [60, 30, 10])}))
    wait_for(d, lambda a: len(a.addrs) == 3, "all three up")

    # Reported weight 0: drained by load, neither first nor answered while others are up.
    mark = d.stderr_mark()
    heavy.weight(0)
    wait_for(d, lambda a: heavy.host not in a.addrs, "weight 0 drains the replica",
             stable=20)
    hold(d, lambda a: heavy.host not in a.addrs and a.ttl == 10,
         "drained by load: not answered, and not degraded", seconds=0.6)
    wait_log(d, heavy.check_url(), "weight 0", since=mark)

    # Reported 50: effective weight 60 x 50 / 100 = 30, so 30:30:10 over rounds of 70.
    heavy.weight(50)
    wait_for(d, lambda a: heavy.host in a.addrs, "weight 50 answers it again")
    wait_log(d, heavy.check_url(), "weight 50", since=mark)
    n = 700
    counts = count_first(d, n)
    expected = {reps[0].host: 300, reps[1].host: 300, reps[2].host: 100}
    for host, e in expected.items():
        assert abs(counts[host] - e) <= 0.03 * e, ("effective weight 30:30:10", counts)

    # No header any more: back to 60:30:10.
    heavy.weight("none")
    deadline = time.monotonic() + DEADLINE
    for _ in range(1000):
        counts = count_first(d, 100)
        if abs(counts[heavy.host] - 60) <= 2:
            break
        assert time.monotonic() < deadline, ("weight none restores 60:30:10", counts, d.diag())


def test_slow_start_ramps_weight(replicas, serve):
    # A member that comes back is ramped from 0 to its weight over slow-start seconds.
    reps = replicas(21, 22)
    d = serve(pool_zone({"www": weighted_pool(reps, [50, 50], **{"slow-start": "3s"})}))
    wait_for(d, lambda a: len(a.addrs) == 2, "both up")
    # Both were up from the start; after the ramp the split is even.
    deadline = time.monotonic() + 6
    for _ in range(100):
        counts = count_first(d, 100)
        if counts[reps[0].host] == 50:
            break
        assert time.monotonic() < deadline, ("even split after slow start", counts)
    reps[0].stop()
    wait_for(d, lambda a: a.addrs == [reps[1].host], "killed member leaves")
    reps[0].start()
    wait_for(d, lambda a: reps[0].host in a.addrs, "member back")
    early = count_first(d, 100)
    assert early[reps[0].host] < 40, ("ramping member gets less than its share", early)
    deadline = time.monotonic() + 8
    for _ in range(100):
        counts = count_first(d, 100)
        if counts[reps[0].host] == 50:
            break
        assert time.monotonic() < deadline, ("full weight after the ramp", counts)


# --------------------------------------------------------------------------------------------
# Start, reload, check types, answer shape


def test_initial_is_the_state_before_the_first_result(replicas, serve):
    """A target never seen answers as `initial` says until its first result, which then decides
    at once. At start nobody sees that (queries are read after the first round); a member that a
    reload adds does, for as long as its first probe takes: here a replica answering /healthz
    after 3 s, past the 2 s timeout."""
    fast = replicas(21)
    slow = replicas(22, args=("--latency-ms", "3000"))

    def zone(members, serial):
        check = fast_check(fast, interval=5, timeout=2.0, rise=3, fall=3)
        # `expect` differs, so the two pools check each member as two targets (two `initial`s).
        return pool_zone({
            "www": www_pool(members, check=dict(check, initial="down")),
            "up": www_pool(members, names=["up"], check=dict(check, initial="up",
                                                             expect=[200, 204])),
        }, serial=serial)

    d = serve(zone([fast], 1))
    assert ask(d).addrs == [fast.host]
    mark = d.stderr_mark()
    write_zone(d.zone_path, zone([fast, slow], 2))
    d.hup()
    wait_log(d, "reload done", since=mark)
    hold(d, lambda a: a.addrs == [fast.host], "initial = down: out until its first result",
         seconds=1.0)
    a = ask(d, "up." + ORIGIN)
    assert sorted(a.addrs) == sorted([fast.host, slow.host]), (
        "initial = up: answered until its first result: %s\n%s" % (a, d.diag()))
    # The first result (a timeout) decides at once, though fall is 3.
    wait_for(d, lambda a: a.addrs == [fast.host], "the timeout takes it out", name="up." + ORIGIN)
    wait_log(d, slow.check_url(), "is down (timeout, first result)", since=mark)


def test_reload_keeps_health_and_checks_new_members(replicas, serve):
    reps = replicas(21, 22)
    new_up = replicas(23)
    new_down = replicas(24, args=("--unhealthy",))
    text = pool_zone({"www": www_pool(reps)})
    d = serve(text)
    wait_for(d, lambda a: len(a.addrs) == 2, "both up")
    reps[1].health(False)
    wait_for(d, lambda a: a.addrs == [reps[0].host], "503 member leaves")

    # Unchanged zone: the down member must not flap back up (its state is carried over).
    mark = d.stderr_mark()
    write_zone(d.zone_path, text)
    d.hup()
    wait_log(d, "reload done", since=mark)
    hold(d, lambda a: a.addrs == [reps[0].host], "down member stays down across a reload",
         seconds=1.2)
    assert not log_has(d, reps[1].check_url(), "is up", since=mark), d.diag()

    # New members: checked from the reload on (one up, one answering 503).
    mark = d.stderr_mark()
    write_zone(d.zone_path, pool_zone({"www": www_pool(reps + [new_up, new_down])}, serial=2))
    d.hup()
    wait_log(d, "reload done", since=mark)
    a = wait_for(d, lambda a: sorted(a.addrs) == sorted([reps[0].host, new_up.host]),
                 "added members are checked", stable=10)
    assert reps[1].host not in a.addrs
    wait_log(d, new_down.check_url(), "is down", since=mark)
    assert not log_has(d, reps[1].check_url(), "is up", since=mark), d.diag()

    reps[1].health(True)
    wait_for(d, lambda a: sorted(a.addrs) == sorted([reps[0].host, reps[1].host, new_up.host]),
             "the old down member still checked after reloads")


def test_tcp_check(replicas, serve):
    reps = replicas(21, 22)
    d = serve(pool_zone({"www": www_pool(reps, check={
        "type": "tcp", "port": reps[0].port, "interval": 0.2, "timeout": 0.15,
        "rise": 2, "fall": 2})}))
    wait_for(d, lambda a: len(a.addrs) == 2 and a.ttl == 10, "both up")
    # A TCP check only connects: /healthz answering 503 does not matter.
    reps[1].health(False)
    hold(d, lambda a: len(a.addrs) == 2, "tcp check ignores the HTTP status", seconds=1.0)
    mark = d.stderr_mark()
    reps[1].stop()
    a = wait_for(d, lambda a: a.addrs == [reps[0].host], "closed port is down")
    assert a.ttl == 3
    wait_log(d, "tcp %s" % reps[1].listen, "is down", since=mark)
    reps[1].start()
    wait_for(d, lambda a: len(a.addrs) == 2 and a.ttl == 10, "open port is up again")


def test_max_addresses_one(replicas, serve):
    reps = replicas(21, 22, 23)
    # Durations as strings this time.
    d = serve(pool_zone({"www": www_pool(reps, **{"max-addresses": 1}, check=fast_check(
        reps[0], interval="200ms", timeout="150ms"))}))
    order = addrs_of(reps)
    # Wait until every member has been seen up (one per answer, so look at several).
    wait_for(d, lambda a: len(a.addrs) == 1, "one address per answer")
    answers = [ask(d) for _ in range(9)]
    assert all(len(a.addrs) == 1 for a in answers), answers
    starts = [order.index(a.first) for a in answers]
    for prev, cur in zip(starts, starts[1:]):
        assert cur == (prev + 1) % 3, "one address per answer, cycling: %s" % answers
    reps[0].health(False)
    wait_for(d, lambda a: a.first != reps[0].host, "down member never chosen", stable=10)
    firsts = [ask(d).first for _ in range(6)]
    assert Counter(firsts) == Counter({reps[1].host: 3, reps[2].host: 3}), firsts


def test_cname_to_pool_name(replicas, serve):
    reps = replicas(21, 22, 23)
    d = serve(pool_zone({"www": www_pool(reps)}, extra='[names.alias]\nCNAME = "www"\n'))
    alias = "alias." + ORIGIN
    a = wait_for(d, lambda a: len(a.addrs) == 3, "pool answered through the CNAME", name=alias)
    assert [c.name.to_text() for c in a.cnames] == [alias], a.msg
    assert a.cnames[0][0].target.to_text() == WWW
    assert a.msg.answer[0].rdtype == dns.rdatatype.CNAME, "CNAME first, then the addresses"
    assert a.msg.answer[1].name.to_text() == WWW and a.ttl == 10
    reps[0].stop()
    a = wait_for(d, lambda a: sorted(a.addrs) == sorted(addrs_of(reps[1:])),
                 "down member absent behind the CNAME too", name=alias)
    assert a.ttl == 3 and a.cnames


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_answers_hold_the_queried_family(replicas, serve, replica_binary):
    v4 = replicas(21)
    v6 = Replica("::1", "web6")
    v6.start()
    try:
        d = serve(pool_zone({"www": www_pool([v4], members=[member(v4), member(v6)])}))
        wait_for(d, lambda a: a.addrs == [v4.host], "A holds the IPv4 member")
        wait_for(d, lambda a: a.addrs == ["::1"], "AAAA holds the IPv6 member", qtype="AAAA")
        v6.stop()
        wait_for(d, lambda a: a.addrs == ["::1"] and a.ttl == 3,
                 "AAAA: its only member down, all-down = all", qtype="AAAA")
        a = ask(d)
        assert a.addrs == [v4.host] and a.ttl == 10, "A is unaffected by the AAAA member: %s" % a
    finally:
        v6.stop()
        if v6.stderr is not None:
            v6.stderr.close()


def test_check_none_fixture(daemons, binary):
    # pools-none.toml: check type none, so every member counts as up without any replica.
    d = daemons(zones=[fixture_zone("pools-none.toml")], probe=("pn.test.", "SOA"), threads=1)
    a = ask(d, "www.pn.test.")
    assert sorted(a.addrs) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"] and a.ttl == 20, a
    a = ask(d, "www.pn.test.", "AAAA")
    assert a.addrs == ["2001:db8::1"], a
    firsts = [ask(d, "one.pn.test.").addrs for _ in range(4)]
    assert all(len(x) == 1 for x in firsts) and len({x[0] for x in firsts}) == 2, firsts
