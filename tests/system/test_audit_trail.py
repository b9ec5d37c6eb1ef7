"""The audit trail: every change made through the control socket (drain, undrain, weight, mark,
reload) is logged at info with the peer's uid and pid, the member and pool, and old -> new; a
timed drain's end names the member and pool it ends."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import FIXTURE_ZONES, rrdnsctl_path

ZONE = FIXTURE_ZONES / "pools-none.toml"


@pytest.fixture
def sockdir():
    """A short directory: AF_UNIX paths are limited to 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="raud", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def ctl(sock, *args):
    """Runs rrdnsctl; returns (its pid, its exit status, its output)."""
    proc = subprocess.Popen([str(rrdnsctl_path()), "--socket", str(sock), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    out, _ = proc.communicate(timeout=20)
    return proc.pid, proc.returncode, out


def audit_line(d, since, pid, needle):
    """The log line rrdnsd wrote for rrdnsctl process `pid`'s change containing `needle`."""
    prefix = "control: uid %d pid %d: " % (os.geteuid(), pid)
    assert d.wait_stderr(prefix, timeout=5, since=since), \
        "no audit line for pid %d\n%s" % (pid, d.diag())
    for line in d.stderr_text()[since:].splitlines():
        if prefix in line and needle in line:
            assert " info control: " in line, line  # logged at info
            return line
    raise AssertionError("no line with %r for pid %d\n%s" % (needle, pid, d.diag()))


def test_control_changes_are_logged_with_who_and_old_and_new(daemons, binary, sockdir, tmp_path):
    zone = tmp_path / "pn.test.toml"
    shutil.copyfile(ZONE, zone)
    sock = sockdir / "control.sock"
    d = daemons(zones=[zone], probe=("pn.test.", "SOA"),
                extra_args=["--control", str(sock), "--state-file", str(tmp_path / "state.json")])

    steps = [
        (("drain", "192.0.2.2", "--pool", "www"),
         "drain member 192.0.2.2 pool www: drain off -> on"),
        (("weight", "192.0.2.2", "5", "--pool", "www"),
         "weight member 192.0.2.2 pool www: weight auto -> 5"),
        (("weight", "192.0.2.2", "7", "--pool", "www"),
         "weight member 192.0.2.2 pool www: weight 5 -> 7"),
        (("mark", "192.0.2.11", "down"),
         "mark member 192.0.2.11 pool * (every pool): mark auto -> down"),
        (("mark", "192.0.2.11", "auto"),
         "mark member 192.0.2.11 pool * (every pool): mark down -> auto"),
        (("undrain", "192.0.2.2", "--pool", "www"),
         "undrain member 192.0.2.2 pool www: drain on -> off"),
    ]
    for args, expected in steps:
        since = d.stderr_mark()
        pid, rc, out = ctl(sock, *args)
        assert rc == 0, out
        audit_line(d, since, pid, expected)

    # A timed drain: logged with its end, and its end names what it ends.
    since = d.stderr_mark()
    pid, rc, out = ctl(sock, "drain", "192.0.2.12", "--pool", "one", "--for", "1s")
    assert rc == 0, out
    line = audit_line(d, since, pid, "drain member 192.0.2.12 pool one: drain off -> until ")
    assert re.search(r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line), line
    assert d.wait_stderr("timed drain ended: member 192.0.2.12 pool one", timeout=5,
                         since=since), d.diag()
    assert "a timed drain ended" not in d.stderr_text()

    # A reload: the serials before and after.
    text = zone.read_text().replace("serial = 1", "serial = 2")
    zone.write_text(text)
    since = d.stderr_mark()
    pid, rc, out = ctl(sock, "reload")
    assert rc == 0, out
    audit_line(d, since, pid, "reload serials: pn.test. 1 -> 2")

    # A request that fails changes nothing and logs no change.
    since = d.stderr_mark()
    pid, rc, out = ctl(sock, "drain", "192.0.2.99")
    assert rc != 0, out
    assert "member 192.0.2.99" not in d.stderr_text()[since:], d.diag()
