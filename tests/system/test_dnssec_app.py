"""The daemon's and the operator's side of DNSSEC (issue 22), black box.

rrdnsd is started with a server config naming a signed TOML zone and a key directory; answers
are checked with dnspython (DO=1 queries, RRSIGs validated with dns.dnssec against the served
DNSKEY RRset) and kdig +dnssec; the operator's side through the real rrdnsctl: `dnssec ds`
(DS lines only, matching dns.dnssec.make_ds of the served KSK), `dnssec status`, a ZSK rollover
with timers of seconds, keys kept across a restart, file modes, the query-path counter, and the
load errors (no key directory, keys that cannot be made on a reload: the old zones serve on).
Resolver validation (Unbound, delv, ldns-verify-zone) is test_dnssec_validation's.

Every wait is a bounded poll; only processes started here are stopped, by PID.
"""

import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from conftest import Daemon, rrdnsctl_path, rrdnsd_path, write_zone

ORIGIN = "sig.test."
APEX = dns.name.from_text(ORIGIN)
CTL_TIMEOUT = 20

# Timers of seconds so that a rollover runs within the test: a new ZSK is active
# propagation-delay + dnskey-ttl (2 s) after it is published, the old one is removed
# propagation-delay + the largest TTL (3 s) after it retired.
POLICY = ('[dnssec]\nzsk-lifetime = 0\npropagation-delay = "1s"\ndnskey-ttl = 1\n'
          'rrsig-lifetime = "2h"\nrrsig-refresh = "1h"\n')


def sig_zone(serial=1, policy=POLICY, origin=ORIGIN):
    return ('origin = "%s"\nttl = 2\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = %d\nminimum = 2\n[names."@"]\nNS = "ns1"\n[names.ns1]\nA = "192.0.2.53"\n'
            '[names.www]\nA = ["192.0.2.1", "192.0.2.2"]\nAAAA = "2001:db8::1"\n'
            '[names.txt]\nTXT = "hello"\n%s' % (origin, serial, policy))


def server_config(key_directory="keys", zones=("sig.test.toml",)):
    def config(specs):
        return ("listen = %s\nzones = %s\ncontrol = \"ctl.sock\"\nkey-directory = \"%s\"\n" % (
            json.dumps(specs), json.dumps(list(zones)), key_directory))
    return config


@pytest.fixture
def signed(tmp_path):
    """Factory: rrdnsd serving sig.test signed from tmp_path/d (zone and keys there)."""
    started = []

    def start(workdir=None, zone_text=None, **kw):
        workdir = Path(workdir or tmp_path / "d")
        workdir.mkdir(parents=True, exist_ok=True)
        if zone_text is not None or not (workdir / "sig.test.toml").exists():
            write_zone(workdir / "sig.test.toml", zone_text or sig_zone())
        d = Daemon(workdir, config=kw.pop("config", server_config()), probe=(ORIGIN, "SOA"), **kw)
        started.append(d)
        return d.start()

    yield start
    for d in started:
        d.stop()


def ctl(d, *args, check=True):
    r = subprocess.run([str(rrdnsctl_path()), "--socket", str(d.workdir / "ctl.sock"), *args],
                       capture_output=True, text=True, timeout=CTL_TIMEOUT)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr, d.diag())
    return r


def ctl_json(d, *args):
    return json.loads(ctl(d, "--json", *args).stdout)


def ask(d, name, rdtype, dnssec=True, tcp=False):
    """DO=1 (EDNS, 1232 bytes) or, with dnssec=False, a plain query without EDNS."""
    q = dns.message.make_query(name, rdtype, use_edns=0 if dnssec else False,
                               want_dnssec=dnssec, payload=1232)
    q.flags &= ~dns.flags.RD
    data = d.tcp_raw(q.to_wire()) if tcp else d.udp_raw(q.to_wire())
    assert data is not None, "no answer to %s %s\n%s" % (name, rdtype, d.diag())
    return dns.message.from_wire(data)


def find(section, name, rdtype, covers=dns.rdatatype.NONE):
    for rrset in section:
        if (rrset.name == dns.name.from_text(name) and rrset.rdtype == rdtype
                and rrset.covers == covers):
            return rrset
    return None


def rrsigs(d, name, covers):
    """The RRSIGs at `name` over `covers`, asked for as type RRSIG (the zone's own data)."""
    r = ask(d, name, "RRSIG", tcp=True)
    assert r.rcode() == 0, r
    found = [rrset for rrset in r.answer if rrset.rdtype == dns.rdatatype.RRSIG]
    sigs = [sig for rrset in found for sig in rrset if sig.type_covered == covers]
    assert sigs, "no RRSIG over %s at %s:\n%s" % (dns.rdatatype.to_text(covers), name, r)
    return dns.rrset.from_rdata_list(dns.name.from_text(name), found[0].ttl, sigs)


def dnskeys(d):
    r = ask(d, ORIGIN, "DNSKEY", tcp=True)
    rrset = find(r.answer, ORIGIN, dns.rdatatype.DNSKEY)
    assert rrset is not None, r
    return r, rrset


def validate(d, name, rdtype):
    """The RRset served for `name` (DO=0) and its RRSIGs, validated against the served DNSKEY
    RRset."""
    rdtype = dns.rdatatype.from_text(rdtype)
    r = ask(d, name, rdtype, dnssec=False, tcp=True)
    rrset = find(r.answer, name, rdtype)
    assert rrset is not None, r
    sigs = rrsigs(d, name, rdtype)
    _, keys = dnskeys(d)
    dns.dnssec.validate(rrset, sigs, {APEX: keys})  # raises if no signature validates
    return rrset, sigs


def tags(rrset, flags=None):
    return sorted(dns.dnssec.key_id(k) for k in rrset if flags is None or k.flags == flags)


def wait_for(what, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(1000):
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


# --------------------------------------------------------------------------------------------

def test_the_zone_is_signed_with_its_keys(signed):
    d = signed()
    _, keys = dnskeys(d)
    assert tags(keys, 257) and tags(keys, 256), keys  # a KSK and a ZSK
    assert all(k.algorithm == dns.dnssec.Algorithm.ECDSAP256SHA256 for k in keys)
    # The DNSKEY RRset by the KSK, everything else by the ZSK.
    dns.dnssec.validate(keys, rrsigs(d, ORIGIN, dns.rdatatype.DNSKEY), {APEX: keys})
    assert [s.key_tag for s in rrsigs(d, ORIGIN, dns.rdatatype.DNSKEY)] == tags(keys, 257)
    for name, rdtype in (("www." + ORIGIN, "A"), ("www." + ORIGIN, "AAAA"),
                         ("txt." + ORIGIN, "TXT"), (ORIGIN, "SOA"), (ORIGIN, "NS"),
                         ("www." + ORIGIN, "NSEC")):
        _, sigs = validate(d, name, rdtype)
        assert [s.key_tag for s in sigs] == tags(keys, 256)
    # DO=0: the answer as an unsigned zone's, no RRSIG anywhere.
    plain = ask(d, "www." + ORIGIN, "A", dnssec=False)
    assert all(rrset.rdtype != dns.rdatatype.RRSIG for rrset in plain.answer + plain.authority)
    assert sorted(r.address for r in find(plain.answer, "www." + ORIGIN, dns.rdatatype.A)) == [
        "192.0.2.1", "192.0.2.2"]


def test_kdig_dnssec_sees_the_keys_and_signatures(signed):
    """kdig +dnssec as a second client: the DNSKEY RRset (KSK and ZSK, algorithm 13) and the
    RRSIGs at a name, the ZSK's over its A RRset."""
    d = signed()
    _, keys = dnskeys(d)

    def kdig(name, rdtype):
        r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(d.port), "+dnssec", "+norecurse",
                            "+tcp", "+short", name, rdtype], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        return [line.split() for line in r.stdout.splitlines()]

    # +short prints the answer's RRSIG over the DNSKEY RRset too ("DNSKEY 13 2 ...").
    dnskey_lines = [k for k in kdig(ORIGIN, "DNSKEY") if k[0].isdigit()]
    assert sorted(int(k[0]) for k in dnskey_lines) == [256, 257]
    assert all(k[2] == "13" for k in dnskey_lines)
    over_a = [s for s in kdig("www." + ORIGIN, "RRSIG") if s[0] == "A"]
    assert [(s[1], s[2], int(s[6]), s[7]) for s in over_a] == [("13", "3", tags(keys, 256)[0],
                                                               ORIGIN)]


def test_do1_answers_carry_their_rrsigs(signed):
    """What the daemon signed is what DO=1 answers carry (the answer parts make them)."""
    d = signed()
    _, keys = dnskeys(d)
    for tcp in (False, True):
        r = ask(d, "www." + ORIGIN, "A", tcp=tcp)
        rrset = find(r.answer, "www." + ORIGIN, dns.rdatatype.A)
        sigs = find(r.answer, "www." + ORIGIN, dns.rdatatype.RRSIG, dns.rdatatype.A)
        assert rrset is not None and sigs is not None, r
        dns.dnssec.validate(rrset, sigs, {APEX: keys})
    r = ask(d, "nx." + ORIGIN, "A", tcp=True)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert any(rrset.rdtype == dns.rdatatype.NSEC for rrset in r.authority), r


def test_status_ds_and_files(signed):
    d = signed()
    status = ctl_json(d, "status")
    assert [z["signed"] for z in status["zones"] if z["zone"] == ORIGIN] == [True]

    # DS lines alone on stdout, the KSK's digest as dnspython computes it.
    r = ctl(d, "dnssec", "ds", "sig.test")
    lines = r.stdout.splitlines()
    assert lines and all(line.startswith("sig.test. ") and " IN DS " in line for line in lines), r.stdout
    ds = {dns.rrset.from_text(APEX, 3600, "IN", "DS", line.split(" DS ", 1)[1])[0] for line in lines}
    _, keys = dnskeys(d)
    expected = {dns.dnssec.make_ds(APEX, k, "SHA256") for k in keys if k.flags == 257}
    assert ds == expected

    st = ctl_json(d, "dnssec", "status")
    assert [z["zone"] for z in st["zones"]] == [ORIGIN]
    zone = st["zones"][0]
    assert zone["algorithm"] == "ecdsap256sha256" and zone["denial"] == "nsec"
    assert zone["signatures"] > 0 and zone["cache_entries"] > 0
    assert sorted((k["role"], k["state"]) for k in st["keys"]) == [("ksk", "active"),
                                                                  ("zsk", "active")]
    assert sorted(k["tag"] for k in st["keys"]) == tags(keys)
    assert st["query_path_signatures"] == 0
    text = ctl(d, "dnssec", "status", ORIGIN).stdout
    assert "ecdsap256sha256" in text and "active" in text, text
    # A zone that is not signed is an error.
    r = ctl(d, "dnssec", "ds", "other.test", check=False)
    assert r.returncode == 1 and "not served signed" in r.stderr, r.stderr

    # The key directory: the zone's directory 0700, its files 0600.
    zone_dir = d.workdir / "keys" / "sig.test"
    assert stat.S_IMODE(zone_dir.stat().st_mode) == 0o700
    files = sorted(p.name for p in zone_dir.iterdir())
    assert "keys.json" in files and sum(f.endswith(".pem") for f in files) == 2, files
    for f in zone_dir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_keys_survive_a_restart(signed, tmp_path):
    d = signed()
    _, before = dnskeys(d)
    ds_before = ctl(d, "dnssec", "ds", "sig.test").stdout
    d.stop()
    d2 = signed(workdir=tmp_path / "d")
    _, after = dnskeys(d2)
    assert tags(after) == tags(before)
    assert ctl(d2, "dnssec", "ds", "sig.test").stdout == ds_before
    validate(d2, "www." + ORIGIN, "A")


def test_zsk_rollover_moves_the_keys(signed):
    d = signed()
    _, keys = dnskeys(d)
    old_zsk = tags(keys, 256)
    assert len(old_zsk) == 1
    _, sigs = validate(d, "www." + ORIGIN, "A")
    assert [s.key_tag for s in sigs] == old_zsk

    reply = ctl_json(d, "dnssec", "rollover", "sig.test", "zsk")
    zsks = [k for k in reply["keys"] if k["role"] == "zsk"]
    assert len(zsks) == 2, reply
    new_zsk = [k["tag"] for k in zsks if k["tag"] not in old_zsk]
    assert len(new_zsk) == 1, reply
    # The successor is published at once (pre-publication) ...
    wait_for("new ZSK published", lambda: new_zsk[0] in tags(dnskeys(d)[1], 256))
    # ... signs once active, and the old ZSK leaves the DNSKEY RRset in the end.
    wait_for("new ZSK signs", lambda: [s.key_tag for s in validate(d, "www." + ORIGIN, "A")[1]]
             == new_zsk)
    wait_for("old ZSK removed", lambda: tags(dnskeys(d)[1], 256) == new_zsk)
    validate(d, "txt." + ORIGIN, "TXT")
    st = ctl_json(d, "dnssec", "status", "sig.test")
    assert sorted(k["state"] for k in st["keys"] if k["role"] == "zsk") == ["active"]
    assert st["query_path_signatures"] == 0
    # The serial rose with the new signatures, so secondaries fetch them.
    soa = find(ask(d, ORIGIN, "SOA").answer, ORIGIN, dns.rdatatype.SOA)[0]
    assert soa.serial > 1

    # Wrong role for the zone's keys, or a name not signed: refused.
    r = ctl(d, "dnssec", "rollover", "sig.test", "csk", check=False)
    assert r.returncode == 1 and "KSK and a ZSK" in r.stderr, r.stderr
    r = ctl(d, "dnssec", "submitted", "sig.test", check=False)
    assert r.returncode == 1, r.stderr


def test_query_path_signatures_stay_zero(signed):
    d = signed()
    for i in range(200):
        ask(d, ("www.", "txt.", "nx%d." % i, "")[i % 4] + ORIGIN, ("A", "TXT", "A", "DNSKEY")[i % 4])
    assert ctl_json(d, "dnssec", "status")["query_path_signatures"] == 0


def test_a_signed_zone_needs_a_key_directory(tmp_path):
    zone = write_zone(tmp_path / "sig.test.toml", sig_zone())
    config = tmp_path / "server.toml"
    config.write_text('listen = ["127.0.0.1:5399"]\nzones = ["sig.test.toml"]\n')
    r = subprocess.run([str(rrdnsd_path()), "--check",
                        "--config", str(config)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert ("%s:%d: zone sig.test. is signed (dnssec), but no key directory is set" % (
        zone, sig_zone().count("\n", 0, sig_zone().index("[dnssec]")) + 1)) in r.stderr, r.stderr
    # Given on the command line, it is enough.
    r = subprocess.run([str(rrdnsd_path()), "--check", "--config", str(config),
                        "--key-directory", str(tmp_path / "keys")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr


def test_keys_that_cannot_be_made_fail_the_reload_and_the_old_zones_serve(signed, tmp_path):
    workdir = tmp_path / "d"
    workdir.mkdir()
    write_zone(workdir / "two.test.toml", sig_zone(origin="two.test."))
    d = signed(workdir=workdir)
    _, before = dnskeys(d)
    # two.test's key directory cannot be made: a file is in its place.
    (workdir / "keys" / "two.test").write_text("not a directory\n")
    d.config = server_config(zones=("sig.test.toml", "two.test.toml"))
    d.config_path.write_text(d.config(["127.0.0.1:%d" % d.port]))
    r = ctl(d, "reload", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "zone two.test.: DNSSEC keys in" in r.stderr, r.stderr
    assert d.wait_stderr("reload failed, still serving the previous zones")
    assert tags(dnskeys(d)[1]) == tags(before)
    assert ask(d, "www.two.test.", "A").rcode() == dns.rcode.REFUSED
    # Fixed, the reload signs the new zone with keys of its own.
    (workdir / "keys" / "two.test").unlink()
    ctl(d, "reload")
    r = ask(d, "two.test.", "DNSKEY", tcp=True)
    assert find(r.answer, "two.test.", dns.rdatatype.DNSKEY) is not None, r
    assert [z["zone"] for z in ctl_json(d, "dnssec", "status")["zones"]] == ["sig.test.",
                                                                           "two.test."]


def test_keys_made_as_root_are_handed_to_the_user(signed):
    """With user = "nobody" the keys are made before root is given up, then handed over: the
    daemon, no longer root, still writes them (a rollover) and they stay 0600."""
    assert os.geteuid() == 0, "dropping root can only be tested as root (uid %d)" % os.geteuid()
    nobody = pwd.getpwnam("nobody")
    # Readable by nobody, unlike pytest's temp dirs (0700): a rollover writes here as nobody.
    workdir = Path(tempfile.mkdtemp(prefix="rrdns-dnssec-user-"))
    d = None
    try:
        workdir.chmod(0o755)
        d = signed(workdir=workdir, extra_args=["--user", "nobody"])
        assert "running as user nobody" in d.stderr_text(), d.diag()
        keys = workdir / "keys"
        for path in [keys] + list(keys.rglob("*")):
            assert path.stat().st_uid == nobody.pw_uid, path
        _, before = dnskeys(d)
        reply = ctl_json(d, "dnssec", "rollover", "sig.test", "zsk")
        assert len([k for k in reply["keys"] if k["role"] == "zsk"]) == 2, reply
        wait_for("new ZSK published", lambda: len(tags(dnskeys(d)[1], 256)) == 2)
        new = [p for p in (keys / "sig.test").glob("*.pem")]
        assert len(new) == 3
        for path in new + [keys / "sig.test" / "keys.json"]:
            assert path.stat().st_uid == nobody.pw_uid, path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert tags(before, 256)[0] in tags(dnskeys(d)[1], 256)
    finally:
        if d is not None:
            d.stop()  # before its directory goes; the fixture's stop is then a no-op
        shutil.rmtree(workdir, ignore_errors=True)
