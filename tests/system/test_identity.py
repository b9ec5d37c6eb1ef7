"""Telling instances apart: NSID (RFC 5001) and CH TXT id.server / hostname.bind / version.bind
(RFC 4892), asked with dig as an operator would, and compared with knotd's answers.

Black box: real rrdnsd, real dig (its text output parsed), rrdnsctl status, /metrics, and knotd
(Debian's knot) configured with the same identity as the oracle for the CH answers.
"""
import json
import re
import shutil
import socket
import subprocess
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from conftest import (RR_TEST, free_port, rrdnsctl_path, rrdnsd_path, tcp_connect, tcp_frame,
                      tcp_read_message, udp_exchange)
from oracle_server import Knot

DIG_TIMEOUT = 10
IDENTITY = "ns1.fra.rrdns.test"
CH_NAMES = ("id.server.", "hostname.bind.", "version.server.", "version.bind.")


def rrdns_version() -> str:
    out = subprocess.run([str(rrdnsd_path()), "--version"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 0, out.stderr
    m = re.fullmatch(r"rrdnsd (\S+)\n", out.stdout)
    assert m, out.stdout
    return m.group(1)


# --------------------------------------------------------------------------------------------
# dig, parsed

class Dig:
    """What dig printed: status, flags, the answer section's records and the NSID."""

    def __init__(self, text: str):
        self.text = text
        m = re.search(r"->>HEADER<<- opcode: QUERY, status: (\w+), id: \d+", text)
        assert m, "no header in dig output:\n" + text
        self.status = m.group(1)
        m = re.search(r"^;; flags: ([a-z ]*);", text, re.M)
        assert m, text
        self.flags = set(m.group(1).split())
        self.answer = []
        section = None
        for line in text.splitlines():
            if line.startswith(";; ") and line.endswith(" SECTION:"):
                section = line[3:-len(" SECTION:")]
                continue
            if section == "ANSWER" and line and not line.startswith(";"):
                self.answer.append(line.split(None, 4))  # owner, ttl, class, type, rdata
        # dig 9.18: "; NSID: 6e 73 31 ("ns1")"; older: "; NSID: 6e7331 (n s 1)".
        m = re.search(r"^; NSID: ([0-9a-fA-F ]+?)(?: \(.*\))?$", text, re.M)
        self.nsid = bytes.fromhex(m.group(1).replace(" ", "")).decode() if m else None


def dig(port, *args) -> Dig:
    path = shutil.which("dig")
    assert path, "dig not found: apt-get install bind9-dnsutils (tools/setup.sh does)"
    out = subprocess.run([path, "@127.0.0.1", "-p", str(port), "+time=2", "+tries=2", *args],
                         capture_output=True, text=True, timeout=DIG_TIMEOUT)
    assert out.returncode == 0, "dig %s: exit %d\n%s%s" % (args, out.returncode, out.stdout,
                                                           out.stderr)
    return Dig(out.stdout)


def ch_txt(port, name, *more) -> Dig:
    return dig(port, "CH", "TXT", name, *more)


def txt_text(d: Dig) -> str:
    assert len(d.answer) == 1, d.text
    owner, ttl, klass, rtype, rdata = d.answer[0]
    assert (ttl, klass, rtype) == ("0", "CH", "TXT"), d.text
    m = re.fullmatch(r'"(.*)"', rdata)
    assert m, d.text
    return m.group(1)


# --------------------------------------------------------------------------------------------
# rrdnsd

def test_defaults_host_name_and_version_nsid_off(daemons):
    d = daemons(zones=[RR_TEST])
    host = socket.gethostname()
    for name in ("id.server", "hostname.bind"):
        r = ch_txt(d.port, name)
        assert r.status == "NOERROR", r.text
        assert txt_text(r) == host, r.text
    for name in ("version.bind", "version.server"):
        assert txt_text(ch_txt(d.port, name)) == "rrdns " + rrdns_version()
    # NSID is off unless enabled: dig +nsid gets the answer without one.
    r = dig(d.port, "+nsid", "www.rr.test", "A")
    assert r.status == "NOERROR" and len(r.answer) == 8, r.text
    assert r.nsid is None, r.text
    assert ch_txt(d.port, "authors.bind").status == "REFUSED"


def test_identity_flag_nsid_and_ch_txt(daemons, tmp_path):
    sock = tmp_path / "ctl.sock"
    metrics = free_port()
    d = daemons(zones=[RR_TEST], extra_args=[
        "--identity", IDENTITY, "--nsid", "--control", str(sock),
        "--metrics", "127.0.0.1:%d" % metrics])

    # dig +nsid: the configured identity, on positive, negative and refused answers, UDP and TCP.
    for args in (("www.rr.test", "A"), ("nosuch.rr.test", "A"), ("www.rr.test", "A", "+tcp"),
                 ("www.rr.test", "MX"), ("example.invalid", "A")):
        r = dig(d.port, "+nsid", *args)
        assert r.nsid == IDENTITY, r.text
    r = dig(d.port, "+nsid", "www.rr.test", "A")
    assert r.status == "NOERROR" and "aa" in r.flags and len(r.answer) == 8, r.text
    # Without +nsid nothing changes: no NSID in the OPT record.
    assert dig(d.port, "www.rr.test", "A").nsid is None

    # dig CH TXT id.server / hostname.bind: the same identity; as Knot DNS, no AA.
    for name in ("id.server", "hostname.bind", "ID.SERVER"):
        r = ch_txt(d.port, name)
        assert r.status == "NOERROR", r.text
        assert "aa" not in r.flags, r.text
        assert txt_text(r) == IDENTITY, r.text
        assert r.answer[0][0] == name + ".", r.text  # the question's letter case
    r = ch_txt(d.port, "id.server", "+nsid", "+tcp")
    assert txt_text(r) == IDENTITY and r.nsid == IDENTITY, r.text
    for other in (("CH", "A", "id.server"), ("CH", "TXT", "authors.bind"),
                  ("CH", "ANY", "version.bind"), ("CH", "TXT", "www.rr.test")):
        assert dig(d.port, *other).status == "REFUSED", other

    # rrdnsctl status shows it.
    out = subprocess.run([str(rrdnsctl_path()), "--socket", str(sock), "--json", "status"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["identity"] == IDENTITY and status["nsid"] == IDENTITY, status
    text = subprocess.run([str(rrdnsctl_path()), "--socket", str(sock), "status"],
                          capture_output=True, text=True, timeout=10).stdout
    assert re.search(r"^identity: +%s$" % re.escape(IDENTITY), text, re.M), text

    # So do the metrics.
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics, timeout=5) as resp:
        body = resp.read().decode()
    assert 'rrdns_identity_info{identity="%s",nsid="%s"} 1' % (IDENTITY, IDENTITY) in body, body
    assert 'rrdns_build_info{version="%s"} 1' % rrdns_version() in body


def config_text(extra):
    def make(specs):
        return ("listen = [%s]\nzones = [\"%s\"]\nthreads = 1\n%s" % (
            ", ".join('"%s"' % s for s in specs), RR_TEST, extra))
    return make


def test_config_keys_version_empty_is_refused_nsid_text(daemons):
    d = daemons(config=config_text(
        'identity = "%s"\nversion = ""\nnsid = "fra-1"\n' % IDENTITY))
    for name in ("version.bind", "version.server"):
        r = ch_txt(d.port, name)
        assert r.status == "REFUSED" and not r.answer, r.text
    assert txt_text(ch_txt(d.port, "id.server")) == IDENTITY
    assert dig(d.port, "+nsid", "www.rr.test", "A").nsid == "fra-1"

    # They need a restart, as the other server settings do: a reload says so and keeps them.
    mark = d.stderr_mark()
    d.config_path.write_text(config_text('identity = "other"\nversion = "x"\n')([
        "127.0.0.1:%d" % d.port]))
    d.hup()
    assert d.wait_stderr("identity changed; the new value needs a restart", since=mark), d.diag()
    assert d.wait_stderr("version changed; the new value needs a restart", since=mark), d.diag()
    assert d.wait_stderr("nsid changed; the new value needs a restart", since=mark), d.diag()
    assert d.wait_stderr("reload done", since=mark), d.diag()
    assert txt_text(ch_txt(d.port, "id.server")) == IDENTITY


def test_bad_identity_config_is_a_clear_error(tmp_path):
    config = tmp_path / "rrdnsd.toml"
    config.write_text('listen = ["127.0.0.1:1"]\nzones = ["%s"]\nidentity = ""\nnsid = true\n'
                      % RR_TEST)
    out = subprocess.run([str(rrdnsd_path()), "--config", str(config), "--check"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "%s:4: nsid: true sends the identity, which is empty" % config in out.stderr, out.stderr


# --------------------------------------------------------------------------------------------
# knotd as the oracle for the CH answers

KNOT_IDENTITY_CONF = """\
    identity: "{identity}"
    version: "{version}"
    nsid: "{identity}"
"""


def ch_answers(port):
    """Whether the server on `port` answers a CH TXT query (knotd has no zone to ask for)."""
    q = dns.message.make_query("id.server.", "TXT", rdclass="CH")
    return udp_exchange("127.0.0.1", port, q.to_wire(), 0.2) is not None


def exchange(port, wire, tcp):
    if not tcp:
        return udp_exchange("127.0.0.1", port, wire, 2.0)
    with tcp_connect("127.0.0.1", port, 3.0) as s:
        s.sendall(tcp_frame(wire))
        return tcp_read_message(s, 3.0)


def comparable(data):
    """Everything of a response but its ID: header flags, rcode, question, each section's records
    (owner as sent, class, TTL, RDATA) and the OPT record's payload size and options."""
    assert data is not None
    r = dns.message.from_wire(data)
    rrs = lambda section: sorted((rrset.name.to_text(), dns.rdataclass.to_text(rrset.rdclass),
                                  rrset.ttl, rd.to_text()) for rrset in section for rd in rrset)
    return {
        "flags": dns.flags.to_text(r.flags), "rcode": dns.rcode.to_text(r.rcode()),
        "question": [q.to_text() for q in r.question],
        "answer": rrs(r.answer), "authority": rrs(r.authority), "additional": rrs(r.additional),
        "edns": r.edns, "payload": r.payload if r.edns >= 0 else None,
        "options": sorted((o.otype, o.to_wire()) for o in r.options),
    }


def test_ch_answers_and_nsid_match_knot(tmp_path, daemons):
    """Given the same identity, version and NSID, rrdnsd answers every CH TXT query as knotd does,
    byte for byte apart from the ID (and REFUSED for the names and types it does not answer)."""
    version = "rrdns-test 1.0"
    knot = Knot(tmp_path / "knot", server=KNOT_IDENTITY_CONF, identity=IDENTITY, version=version,
                ready=ch_answers).start()
    try:
        d = daemons(config=config_text('identity = "%s"\nversion = "%s"\nnsid = true\n'
                                       % (IDENTITY, version)))
        cases = 0
        for name in CH_NAMES + ("ID.Server.", "authors.bind.", "server.", "id.server.x."):
            for rtype in ("TXT", "A", "ANY"):
                for edns, nsid in ((False, False), (True, False), (True, True)):
                    for tcp in (False, True):
                        q = dns.message.make_query(name, rtype, rdclass="CH", use_edns=edns,
                                                   payload=1232)
                        if nsid:
                            q.use_edns(0, payload=1232, options=[dns.edns.GenericOption(3, b"")])
                        wire = q.to_wire()
                        ours, theirs = comparable(exchange(d.port, wire, tcp)), comparable(
                            exchange(knot.port, wire, tcp))
                        assert ours == theirs, "%s CH %s edns=%s nsid=%s tcp=%s" % (
                            name, rtype, edns, nsid, tcp)
                        cases += 1
        assert cases == 8 * 3 * 3 * 2
        # And an IN answer's NSID, as dig shows it.
        assert dig(d.port, "+nsid", "www.rr.test").nsid == IDENTITY
    finally:
        knot.stop()
