"""What the DNSSEC system tests share: signed TOML zones, rrdnsd started with a key directory
and a control socket, `rrdnsctl dnssec` read through --json, and the DS records in the forms
the oracles take (Unbound's trust-anchor, delv's anchors file, ldns-verify-zone's -k file).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import rrdnsctl_path, toml_value, write_zone

CTL_TIMEOUT = 20
DS_LINE = re.compile(r"^(\S+)\s+(?:(\d+)\s+)?(?:IN\s+)?DS\s+(\d+)\s+(\d+)\s+(\d+)\s+([0-9A-Fa-f ]+)$")


def signed_zone(origin, *, dnssec, apex="", names="", pools="", ttl=5, minimum=5,
                serial=1) -> str:
    """A TOML zone with a `[dnssec]` table from the dict `dnssec` (kebab-case keys), an apex
    with NS ns1 and `apex` (TOML keys), ns1's address, then `names` and `pools` (TOML text)."""
    text = ('origin = "%s"\nttl = %d\n[soa]\nprimary = "ns1"\ncontact = "hostmaster"\n'
            'serial = %d\nminimum = %d\n' % (origin, ttl, serial, minimum))
    text += "[dnssec]\n" + "".join("%s = %s\n" % (k, toml_value(v)) for k, v in dnssec.items())
    text += '[names."@"]\nNS = "ns1"\n%s[names.ns1]\nA = "127.0.0.1"\n' % apex
    return text + names + pools


@pytest.fixture
def sockdir():
    """A short directory for the control socket (AF_UNIX paths are limited to 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="rdsec", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def serve_signed(daemons, workdir: Path, sockdir: Path, zones: dict, *, extra=(), threads=1,
                 key_directory=None):
    """rrdnsd serving the TOML zones {file name: text} with --key-directory (workdir/keys unless
    given), --control and --allow-transfer 127.0.0.1. The probe asks the first zone's SOA."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    paths = [write_zone(Path(workdir) / name, text) for name, text in zones.items()]
    keys = Path(key_directory) if key_directory else Path(workdir) / "keys"
    sock = Path(sockdir) / "control.sock"
    first = re.search(r'^origin = "([^"]+)"', next(iter(zones.values())), re.M).group(1)
    d = daemons(zones=paths, probe=(first, "SOA"), threads=threads,
                extra_args=["--key-directory", str(keys), "--control", str(sock),
                            "--allow-transfer", "127.0.0.1", *extra])
    d.sock, d.key_directory, d.zone_paths = sock, keys, paths
    return d


def ctl(d, *args, timeout=CTL_TIMEOUT):
    """rrdnsctl --json ARGS against d's control socket: the parsed reply (ok must be true)."""
    cmd = [str(rrdnsctl_path()), "--socket", str(d.sock), "--json"] + [str(a) for a in args]
    env = dict(os.environ)
    env.pop("RRDNS_CONTROL", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL, cwd="/")
    try:
        js = json.loads(proc.stdout)
    except ValueError:
        js = None
    assert proc.returncode == 0 and js is not None and js.get("ok") is True, (
        "rrdnsctl %s -> exit %s\nstdout:\n%s\nstderr:\n%s\n%s" % (
            " ".join(cmd[1:]), proc.returncode, proc.stdout, proc.stderr, d.diag()))
    return js


def ds_records(d, zone):
    """`rrdnsctl dnssec ds ZONE`: its DS lines, each checked to be one DS record of the zone."""
    lines = ctl(d, "dnssec", "ds", zone)["ds"]
    assert lines, "no DS for %s\n%s" % (zone, d.diag())
    for line in lines:
        m = DS_LINE.match(line.strip())
        assert m and m.group(1).lower().rstrip(".") == zone.lower().rstrip("."), (
            "not a DS record of %s: %r" % (zone, line))
    return [line.strip() for line in lines]


def ds_fields(line):
    """(owner, key tag, algorithm, digest type, digest hex) of a DS line."""
    m = DS_LINE.match(line)
    return (m.group(1), int(m.group(3)), int(m.group(4)), int(m.group(5)),
            m.group(6).replace(" ", "").upper())


def zone_keys(d, zone):
    """The zone's keys from `rrdnsctl dnssec status ZONE`: [{role, tag, state, id, ...}]."""
    js = ctl(d, "dnssec", "status", zone)
    return [k for k in js["keys"] if k["zone"].lower().rstrip(".") == zone.lower().rstrip(".")]


def active(keys, role):
    """Tags of the keys of `role` ("zsk", "ksk", "csk") that sign now."""
    return sorted(k["tag"] for k in keys if k["role"] == role and k["state"] == "active")


def query_path_signatures(d) -> int:
    return ctl(d, "dnssec", "status")["query_path_signatures"]


def dnssec_query(d, qname, qtype):
    """A query with DO straight to rrdnsd (UDP, TCP if truncated): the parsed answer."""
    q = dns.message.make_query(qname, qtype, want_dnssec=True, use_edns=0, payload=1232)
    r = dns.query.udp(q, d.host, port=d.port, timeout=3.0)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, d.host, port=d.port, timeout=3.0)
    return r


def rrset_of(msg, qtype):
    """The answer's records of `qtype` (a list; empty if none)."""
    want = dns.rdatatype.from_text(qtype)
    return [rd for rrset in msg.answer if rrset.rdtype == want for rd in rrset]


def delv_anchors(path: Path, ds_by_zone: dict) -> Path:
    """delv's anchors file (-a): a static-ds trust anchor per DS line."""
    body = ""
    for lines in ds_by_zone.values():
        for line in lines:
            owner, tag, alg, dtype, digest = ds_fields(line)
            body += '    "%s" static-ds %d %d %d "%s";\n' % (owner, tag, alg, dtype, digest)
    path.write_text("trust-anchors {\n%s};\n" % body)
    return path


def tool(name):
    path = shutil.which(name)
    assert path, "%s not found: tools/setup.sh installs it" % name
    return path
