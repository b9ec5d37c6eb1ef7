"""A signed zone as a secondary sees it, and its keys on disk.

- AXFR of a signed zone (dig, from rrdnsd with --allow-transfer) is checked whole by ldns's
  `ldns-verify-zone` with the DS records of `rrdnsctl dnssec ds` as its trust anchor: every
  RRSIG, the NSEC or NSEC3 chain, and pools transferred as their full member list with a
  signature over that list (though members are down). NSEC and NSEC3 zones, TOML and RFC 1035
  (a zones entry of the server config with `dnssec = ...`). A transfer with one signature
  broken is refused, so the check can fail.
- Keys outlive the daemon: a restart and `rrdnsctl replace` keep the same keys (same DS), and
  the key directory is the daemon's only: KEY_DIR/ZONE 0700, keys.json and the PEM files 0600.

Every wait is bounded; only processes started here are stopped, by PID.
"""

import json
import os
import pwd
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import rrdnsctl_path, write_zone
from dnssec_support import (ctl, ds_records, serve_signed, signed_zone, sockdir,  # noqa: F401
                            tool, zone_keys)

ORIGIN = "xfr.test."
POOL_A = ["192.0.2.%d" % i for i in range(1, 6)]
POOL_AAAA = ["2001:db8::%x" % i for i in range(1, 4)]

NAMES = (
    "[names.www]\n"
    'A = ["192.0.2.10", "192.0.2.11"]\n'
    'AAAA = "2001:db8::10"\n'
    "[names.alias]\n"
    'CNAME = "pool"\n'
    '[names."*.wild"]\n'
    'A = "192.0.2.80"\n'
    '[names."a.b.ent"]\n'
    'TXT = "below two empty non-terminals"\n'
    "[names.sub]\n"                 # an unsigned delegation, with glue
    'NS = "ns.sub"\n'
    '[names."ns.sub"]\n'
    'A = "192.0.2.53"\n')
POOLS = (
    "[pools.pool]\n"
    'names = ["pool"]\n'
    "ttl = 30\n"
    "degraded-ttl = 5\n"
    "members = [%s]\n"
    'check = { type = "none" }\n'
    "[pools.few]\n"
    'names = ["few"]\n'
    "max-addresses = 2\n"
    "members = [%s]\n"
    'check = { type = "none" }\n' % (
        ", ".join('"%s"' % a for a in POOL_A + POOL_AAAA),
        ", ".join('"%s"' % a for a in POOL_A)))

RFC1035_ZONE = """\
$ORIGIN file.test.
$TTL 300
@       SOA   ns1 hostmaster 1 3600 900 604800 300
@       NS    ns1
@       MX    10 mail
ns1     A     127.0.0.1
mail    A     192.0.2.25
www     A     192.0.2.10
www     AAAA  2001:db8::10
*.wild  TXT   "wildcard"
a.b.ent A     192.0.2.90
sub     NS    ns.sub
ns.sub  A     192.0.2.53
"""

VARIANTS = {
    "nsec": {},
    "nsec3": {"nsec3": True, "nsec3-salt-length": 8, "nsec3-iterations": 0},
    "nsec3-csk-ed25519": {"nsec3": True, "single-type-signing": True, "algorithm": "ed25519"},
}


def axfr_text(port, zone) -> str:
    """dig's AXFR, the closing SOA left out (+onesoa): a zone file ldns reads."""
    out = subprocess.run([tool("dig"), "@127.0.0.1", "-p", str(port), zone, "AXFR", "+nocmd",
                          "+nostats", "+nocomments", "+onesoa", "+time=5", "+tries=1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Transfer failed" not in out.stdout, out.stdout + out.stderr
    return out.stdout


def records(text):
    """[(owner, type, fields after the type)] of a zone text."""
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 4 and not line.startswith(";"):
            out.append((f[0].lower(), f[3], f[4:]))
    return out


def verify(tmp_path, text, ds_lines, name):
    """ldns-verify-zone on the text with the DS lines as trust anchors: (exit status, output).
    -e P6D: no signature may expire within six days (rrsig-refresh is 7 by default)."""
    zone = tmp_path / ("%s.axfr" % name)
    zone.write_text(text)
    anchors = tmp_path / ("%s.ds" % name)
    anchors.write_text("\n".join(ds_lines) + "\n")
    out = subprocess.run([tool("ldns-verify-zone"), "-k", str(anchors), "-e", "P6D", "-V", "3",
                          str(zone)], capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


def check_transfer(tmp_path, d, zone, name, *, denial, pools=True):
    text = axfr_text(d.port, zone)
    recs = records(text)
    types = {t for _, t, _ in recs}
    assert {"DNSKEY", "RRSIG", denial} <= types, "%s\n%s" % (sorted(types), text)
    if denial == "NSEC3":
        assert "NSEC3PARAM" in types and "NSEC" not in types, sorted(types)
    if pools:
        # Pools as their full member list (two members are marked down), signed over that list.
        pool = "pool." + zone
        assert sorted(f[0] for o, t, f in recs if o == pool and t == "A") == sorted(POOL_A), text
        assert sorted(f[0] for o, t, f in recs if o == pool and t == "AAAA") == sorted(
            POOL_AAAA), text
        covered = {f[0] for o, t, f in recs if o == pool and t == "RRSIG"}
        assert {"A", "AAAA"} <= covered, covered
        few = "few." + zone
        assert sorted(f[0] for o, t, f in recs if o == few and t == "A") == sorted(POOL_A), text
    ds = ds_records(d, zone)
    rc, out = verify(tmp_path, text, ds, name)
    assert rc == 0 and "Zone is verified and complete" in out, (
        "ldns-verify-zone refused the transfer of %s:\n%s\n--- zone:\n%s" % (zone, out, text))

    # The oracle can fail: one signature of www broken (a byte of its base64 changed).
    lines = text.splitlines()
    for i, line in enumerate(lines):
        f = line.split()
        if len(f) > 5 and f[0].lower() == "www." + zone and f[3] == "RRSIG" and f[4] == "A":
            sig = f[-1]
            f[-1] = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
            lines[i] = " ".join(f)
            break
    else:
        raise AssertionError("no RRSIG over www A in:\n" + text)
    rc, out = verify(tmp_path, "\n".join(lines) + "\n", ds, name + "-broken")
    assert rc != 0, "ldns-verify-zone accepted a broken signature:\n" + out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_ldns_verify_zone_accepts_the_axfr_of_a_signed_toml_zone(variant, daemons, tmp_path,
                                                                  sockdir):
    text = signed_zone(ORIGIN, dnssec=VARIANTS[variant], ttl=300, minimum=300, names=NAMES,
                       pools=POOLS, apex='MX = "10 mail"\n')
    d = serve_signed(daemons, tmp_path, sockdir, {"xfr.test.toml": text})
    for member in (POOL_A[0], POOL_AAAA[0]):
        ctl(d, "mark", member, "down")
    check_transfer(tmp_path, d, ORIGIN, variant,
                   denial="NSEC3" if VARIANTS[variant].get("nsec3") else "NSEC")


@pytest.mark.parametrize("variant", ["nsec", "nsec3"])
def test_ldns_verify_zone_accepts_the_axfr_of_a_signed_rfc1035_zone(variant, daemons, tmp_path,
                                                                    sockdir):
    zone = write_zone(tmp_path / "file.test.zone", RFC1035_ZONE)
    policy = "true" if variant == "nsec" else "{ nsec3 = true }"
    sock = sockdir / "control.sock"

    def config(specs):
        return ("listen = [%s]\n" % ", ".join('"%s"' % s for s in specs) +
                'zones = [{ file = "file.test.zone", dnssec = %s }]\n' % policy +
                'key-directory = "keys"\n' +
                'control = "%s"\n' % sock +
                'allow-transfer = ["127.0.0.1"]\n')

    d = daemons(config=config, files=[zone], probe=("file.test.", "SOA"))
    d.sock = sock
    # key-directory is relative to the config file.
    assert (d.workdir / "keys" / "file.test" / "keys.json").is_file(), sorted(
        str(p) for p in d.workdir.rglob("*"))
    check_transfer(tmp_path, d, "file.test.", "rfc1035-" + variant,
                   denial="NSEC3" if variant == "nsec3" else "NSEC", pools=False)


def key_files(key_directory: Path, zone: str):
    zdir = key_directory / zone.rstrip(".")
    return zdir, zdir / "keys.json", sorted(zdir.glob("*.pem"))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_kept_across_restart_and_replace_and_private_to_the_daemon(daemons, tmp_path,
                                                                           sockdir):
    text = signed_zone(ORIGIN, dnssec={}, ttl=300, minimum=300, names=NAMES, pools=POOLS)
    d = serve_signed(daemons, tmp_path, sockdir, {"xfr.test.toml": text})
    ds = ds_records(d, ORIGIN)
    keys = sorted((k["role"], k["tag"], k["id"]) for k in zone_keys(d, ORIGIN))
    assert [r for r, _, _ in keys] == ["ksk", "zsk"], keys
    dnskeys = sorted(rr.to_text() for rr in d.ask(ORIGIN, "DNSKEY").answer[0])

    zdir, state, pems = key_files(d.key_directory, ORIGIN)
    assert mode(zdir) == 0o700, oct(mode(zdir))
    assert mode(state) == 0o600, oct(mode(state))
    assert len(pems) == 2 and all(mode(p) == 0o600 for p in pems), [(p, oct(mode(p)))
                                                                    for p in pems]
    assert all(p.stat().st_uid == os.getuid() for p in [zdir, state] + pems)

    # A restart on the same key directory: the same keys, the same DS for the parent.
    d.stop()
    d2 = serve_signed(daemons, tmp_path / "again", sockdir, {"xfr.test.toml": text},
                      key_directory=d.key_directory)
    assert ds_records(d2, ORIGIN) == ds
    assert sorted((k["role"], k["tag"], k["id"]) for k in zone_keys(d2, ORIGIN)) == keys
    assert sorted(rr.to_text() for rr in d2.ask(ORIGIN, "DNSKEY").answer[0]) == dnskeys
    assert key_files(d.key_directory, ORIGIN)[2] == pems, "keys were made anew"

    # rrdnsctl replace: the new daemon (same arguments) takes over with the same keys.
    env = dict(os.environ)
    env.pop("RRDNS_CONTROL", None)
    r = subprocess.run([str(rrdnsctl_path()), "--socket", str(d2.sock), "--json", "replace"],
                       capture_output=True, text=True, timeout=60, env=env,
                       stdin=subprocess.DEVNULL, cwd="/")
    assert r.returncode == 0, r.stdout + r.stderr + d2.diag()
    new_pid = json.loads(r.stdout)["pid"]
    d2.stopped_by_us = True
    try:
        deadline = time.monotonic() + 20
        while d2.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ds_records(d2, ORIGIN) == ds
        assert sorted((k["role"], k["tag"], k["id"]) for k in zone_keys(d2, ORIGIN)) == keys
        assert key_files(d.key_directory, ORIGIN)[2] == pems
    finally:
        try:
            os.kill(new_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path("/proc/%d" % new_pid).exists():
            if Path("/proc/%d/stat" % new_pid).read_text().split(") ")[1][0] == "Z":
                break
            time.sleep(0.05)



def test_keys_belong_to_the_daemon_user(daemons, tmp_path, sockdir):
    """Started as root with --user nobody: the key directory and files are nobody's (0700,
    0600), and a key made later (a ZSK rollover, after root was given up) is too."""
    assert os.geteuid() == 0, ("this test needs root (it drops to nobody), as CI and "
                               "./tools/setup.sh test run it; uid %d" % os.geteuid())
    nobody = pwd.getpwnam("nobody").pw_uid
    key_directory = sockdir / "keys"  # sockdir is 0755: nobody may reach its own files in it
    text = signed_zone(ORIGIN, dnssec={}, ttl=300, minimum=300, names=NAMES, pools=POOLS)
    d = serve_signed(daemons, tmp_path, sockdir, {"xfr.test.toml": text},
                     key_directory=key_directory, extra=["--user", "nobody"])
    zdir, state, pems = key_files(key_directory, ORIGIN)
    for path, want in [(zdir, 0o700), (state, 0o600)] + [(p, 0o600) for p in pems]:
        assert mode(path) == want and path.stat().st_uid == nobody, (
            path, oct(mode(path)), path.stat().st_uid)
    ctl(d, "dnssec", "rollover", ORIGIN, "zsk")
    _, state, after = key_files(key_directory, ORIGIN)
    new = [p for p in after if p not in pems]
    assert len(new) == 1, (pems, after, d.diag())
    for path in new + [state]:
        assert mode(path) == 0o600 and path.stat().st_uid == nobody, (
            path, oct(mode(path)), path.stat().st_uid)
    assert len([k for k in zone_keys(d, ORIGIN) if k["role"] == "zsk"]) == 2
