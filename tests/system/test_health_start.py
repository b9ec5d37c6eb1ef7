"""System tests for health from the first answer: a replica that is already dead when rrdnsd
starts is never answered, on a cold start, on a restart with a state file, and when the members
come from discovery; saved health seeds a restart only while it is recent enough.

rrdnsd reads its first query only once every check target has its first result (or saved health
to start from), bounded by the longest check timeout; a never-seen target's first result decides
its state. Each test starts real rrdns-replica processes on loopback (conftest.replicas), stops
the one meant to be dead BEFORE rrdnsd starts, and counts the first answers for the pool's name.
Only processes started here are stopped, by PID.
"""

import json
import time

import dns.rcode
import dns.rdatatype
import pytest

from conftest import Replica, free_port, pool_tables, stop_replicas, write_zone
from test_discovery import HOSTS, SERVICE, directory_zone, shared_port

ORIGIN = "hs.test."
WWW = "www." + ORIGIN
FIRST = 300  # answers counted after the first one, spread over about the first 2 s


def zone(reps, *, interval=1.0, rise=2, fall=2, **more) -> str:
    """hs.test. with pool www over `reps` (checks: HTTP /healthz, the demo zone's settings)."""
    check = {"type": "http", "port": reps[0].port, "path": "/healthz", "interval": interval,
             "timeout": 0.5, "rise": rise, "fall": fall, **more}
    pools = {"www": {"names": ["www"], "policy": "rotate", "ttl": 10,
                     "members": [dict(address=r.host, port=r.port) for r in reps],
                     "check": check}}
    text = ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\nminimum = 60\n[names."@"]\nNS = "ns1"\n[names.ns1]\n'
            'A = "127.0.0.1"\n' % ORIGIN)
    return text + pool_tables(pools)


def first_answers(d, n=FIRST, name=WWW):
    """The address sets of the first n answers (the readiness probe's SOA came just before)."""
    out = []
    for _ in range(n):
        msg = d.ask(name, "A")
        assert msg.rcode() == dns.rcode.NOERROR, "%s\n%s" % (msg, d.diag())
        out.append({r.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A
                    for r in rrset})
        time.sleep(0.005)
    return out


def assert_never(answers, dead, d, what):
    bad = sum(1 for a in answers if dead in a)
    assert bad == 0, "%s: %d of the first %d answers contain the dead %s\n%s" % (
        what, bad, len(answers), dead, d.diag())


def start(daemons, path, state):
    return daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1,
                   extra_args=["--state-file", str(state)])


def test_dead_replica_never_answered_cold_and_after_restart(replicas, daemons, tmp_path):
    reps = replicas(21, 22, 23)
    dead = reps[1]
    dead.stop()  # dead before rrdnsd starts
    state = tmp_path / "state.json"
    # interval 2 s, fall 2: saved health is trusted for 4 s, which the restart below is within.
    path = write_zone(tmp_path / "hs.test.toml", zone(reps, interval=2.0))

    d = start(daemons, path, state)
    answers = first_answers(d)
    assert_never(answers, dead.host, d, "cold start, no state file")
    assert all(a == {reps[0].host, reps[2].host} for a in answers), answers[:5]
    assert d.wait_stderr("health: first round done"), d.diag()
    assert d.wait_stderr("%s is down (connection refused, first result)" % dead.check_url()), \
        d.diag()
    # The listening line (what scripts wait for) comes only after the first round.
    log = d.stderr_text()
    assert log.index("first round done") < log.index("listening on"), log

    assert d.stop() == 0, d.diag()
    saved = json.loads(state.read_text())
    by_target = {e["target"]: e for e in saved["health"].values()}
    assert by_target[dead.check_url()]["up"] is False, saved
    assert by_target[reps[0].check_url()]["up"] is True, saved
    assert abs(by_target[dead.check_url()]["observed_ms"] / 1000 - time.time()) < 10, saved

    again = start(daemons, path, state)
    answers = first_answers(again)
    assert_never(answers, dead.host, again, "restart with a state file")
    assert again.wait_stderr("(3 from saved health)"), again.diag()


def test_saved_health_seeds_a_restart_only_while_recent(replicas, daemons, tmp_path):
    """Saved down for a replica that is up: recent, it stays out until `rise` successes (the
    restart goes on as if rrdnsd had never stopped); an hour old, it is ignored and the first
    result lets the replica in at once."""
    reps = replicas(21, 22)
    state = tmp_path / "state.json"
    # interval 5 s, rise 2: saved down is trusted for 10 s, and the second success is 5 s away.
    path = write_zone(tmp_path / "hs.test.toml", zone(reps, interval=5.0))
    d = start(daemons, path, state)
    assert d.wait_stderr("first round done"), d.diag()
    assert d.stop() == 0, d.diag()

    def saved_with_down(observed_ms):
        doc = json.loads(state.read_text())
        for entry in doc["health"].values():
            if entry["target"] == reps[1].check_url():
                entry["up"] = False
                entry["observed_ms"] = observed_ms
        state.write_text(json.dumps(doc))

    now_ms = int(time.time() * 1000)
    saved_with_down(now_ms)
    recent = start(daemons, path, state)
    answers = first_answers(recent)
    assert all(a == {reps[0].host} for a in answers), (
        "recent saved down: kept out until rise successes: %s\n%s" % (answers[:5], recent.diag()))
    assert recent.wait_stderr("(2 from saved health)"), recent.diag()  # web21's too
    assert recent.stop() == 0

    saved_with_down(now_ms - 3600 * 1000)
    stale = start(daemons, path, state)
    answers = first_answers(stale)
    assert all(a == {reps[0].host, reps[1].host} for a in answers), (
        "saved down an hour ago is ignored: %s\n%s" % (answers[:5], stale.diag()))
    assert stale.wait_stderr("(1 from saved health)"), stale.diag()  # web21 only


def test_a_never_seen_target_is_decided_by_its_first_result(replicas, daemons, tmp_path):
    """initial = "down" with rise 3 no longer keeps a healthy replica out for three probes: the
    first result decides (here, before the first answer); hysteresis applies from then on."""
    reps = replicas(21, 22)
    path = write_zone(tmp_path / "hs.test.toml", zone(reps, interval=5.0, rise=3, initial="down"))
    d = daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1)
    answers = first_answers(d, 50)
    assert all(a == {reps[0].host, reps[1].host} for a in answers), (answers[:5], d.diag())
    assert d.wait_stderr("is up (ok, first result)"), d.diag()


@pytest.fixture
def web_with_one_dead(replica_binary):
    """web11..13 on one shared port, web12 stopped before anything asks for it."""
    port = shared_port(HOSTS)
    reps = [Replica(h, "web%s" % h.rsplit(".", 1)[1]) for h in HOSTS]
    for r in reps:
        r.port = port
    try:
        for r in reps:
            r.start()
        reps[1].stop()
        yield reps
    finally:
        stop_replicas(reps)


def test_dead_replica_never_answered_when_members_come_from_discovery(web_with_one_dead,
                                                                      daemons, tmp_path):
    web = web_with_one_dead
    directory_path = write_zone(tmp_path / "svc.test.zone", directory_zone(HOSTS, 1))
    directory = daemons(zones=[directory_path], probe=("svc.test.", "SOA"))
    check = {"type": "http", "port": web[0].port, "path": "/healthz", "interval": 1,
             "timeout": 0.5, "rise": 2, "fall": 2}
    text = ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = 1\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n' % ORIGIN)
    text += pool_tables({"www": {"names": ["www"], "ttl": 5,
                                 "discover": {"name": SERVICE, "interval": 1, "family": "A"}}},
                        check)
    path = write_zone(tmp_path / "hs.test.toml", text)
    d = daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1,
                extra_args=["--resolver", "127.0.0.1:%d" % directory.port])
    answers = first_answers(d)
    assert_never(answers, web[1].host, d, "discovered members")
    # Discovery answered before the first query: the live members are there from the start.
    assert all(a == {web[0].host, web[2].host} for a in answers), (answers[:5], d.diag())
    log = d.stderr_text()
    assert log.index("discovery: %s now has 3 addresses" % SERVICE) < log.index("listening on")


def test_first_round_is_bounded_when_discovery_does_not_answer(replicas, daemons, tmp_path):
    """A directory that never answers (a UDP socket nobody reads) cannot hold the start for
    longer than the longest check timeout (0.5 s) plus 0.2 s: rrdnsd serves, says it cut the
    wait short and why; the configured member is answered meanwhile."""
    import socket
    rep = replicas(21)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        check = {"type": "http", "port": rep.port, "path": "/healthz", "interval": 1,
                 "timeout": 0.5}
        text = ('origin = "%s"\nttl = 30\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
                'serial = 1\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "127.0.0.1"\n' % ORIGIN)
        text += pool_tables({"www": {"names": ["www"], "ttl": 5, "members": [rep.host],
                                     "discover": {"name": SERVICE, "family": "A"}}}, check)
        path = write_zone(tmp_path / "hs.test.toml", text)
        d = daemons(zones=[path], probe=(ORIGIN, "SOA"), threads=1,
                    extra_args=["--resolver", "127.0.0.1:%d" % silent.getsockname()[1]])
        assert d.wait_stderr("health: first round cut short after"), d.diag()
        assert d.wait_stderr("member discovery has not answered for every name yet"), d.diag()
        assert {a for s in first_answers(d, 20) for a in s} == {rep.host}, d.diag()
    finally:
        silent.close()


def test_a_start_that_fails_keeps_the_saved_health(replicas, daemons, tmp_path, binary):
    import subprocess
    reps = replicas(21, 22)
    state = tmp_path / "state.json"
    path = write_zone(tmp_path / "hs.test.toml", zone(reps))
    d = start(daemons, path, state)
    assert d.stop() == 0, d.diag()
    before = state.read_text()
    assert len(json.loads(before)["health"]) == 2, before
    # The metrics address is taken by the replica: the start fails after the state is loaded.
    proc = subprocess.run([str(binary), "--listen", "127.0.0.1:%d" % free_port(("127.0.0.1",)),
                           "--state-file", str(state),
                           "--metrics", "%s:%d" % (reps[0].host, reps[0].port), str(path)],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1, proc.stderr
    assert "cannot start" in proc.stderr, proc.stderr
    assert json.loads(state.read_text())["health"] == json.loads(before)["health"]
