"""rrdnsctl on its own: argument handling, exit codes, and output against a fake control socket.

The daemon is not involved: a small Unix socket server in this file answers canned JSON lines
and records the requests it got, so these tests pin the client's side of the protocol.
"""

import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import rrdnsctl_path

TIMEOUT = 20


@pytest.fixture(scope="module")
def ctl() -> Path:
    path = rrdnsctl_path()
    assert path.exists(), "rrdnsctl binary not found at %s (set RRDNSCTL)" % path
    return path


def run(ctl, *args, env_extra=None, timeout=TIMEOUT):
    env = dict(os.environ)
    env.pop("RRDNS_CONTROL", None)
    if env_extra:
        env.update(env_extra)
    return subprocess.run([str(ctl), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


class FakeDaemon:
    """Answers each request line with responses[cmd]: a dict (sent as JSON), a str (sent as
    is, newline added), CLOSE (hang up without a reply) or HANG (never answer)."""

    CLOSE = object()
    HANG = object()

    def __init__(self, path: Path, responses=None, default=None):
        self.path = str(path)
        self.responses = dict(responses or {})
        self.default = default if default is not None else {"v": 1, "ok": True}
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        with conn:
            conn.settimeout(10)
            buf = b""
            try:
                while b"\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
            except OSError:
                return
            request = json.loads(buf.split(b"\n", 1)[0])
            self.requests.append(request)
            answer = self.responses.get(request.get("cmd"), self.default)
            if answer is FakeDaemon.CLOSE:
                return
            if answer is FakeDaemon.HANG:
                self.stopping.wait(15)
                return
            line = answer if isinstance(answer, str) else json.dumps(answer, separators=(",", ":"))
            try:
                conn.sendall(line.encode() + b"\n")
            except OSError:
                pass

    def stop(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake(tmp_path):
    started = []

    def start(responses=None, default=None):
        d = FakeDaemon(tmp_path / ("ctl%d.sock" % len(started)), responses, default)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


# --------------------------------------------------------------------------------------------
# Usage errors: exit 2, before any connection is tried (the socket here does not exist).

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["pool"],
    ["status", "extra"],
    ["reload", "a", "b"],
    ["weight", "web1"],
    ["weight", "web1", "ten"],
    ["weight", "web1", "-1"],
    ["weight", "web1", "4294967296"],
    ["weight", "web1", "1001"],  # above the daemon's limit: refused here, not sent
    ["weight", "web1", "automatic"],
    ["drain", "web1", "--for", "5x"],
    ["drain", "web1", "--for", "1h30"],
    ["drain", "web1", "--for", "0s"],
    ["drain", "web1", "--for"],
    ["mark", "web1", "sideways"],
    ["status", "--pool", "www"],
    ["undrain", "web1", "--for", "5m"],
    ["status", "--bogus"],
    ["--timeout", "abc", "status"],
    ["--timeout", "0", "status"],
    ["--json=yaml", "status"],
    ["explain", "www.geo.test", "--client", "east-1"],
    ["explain", "www.geo.test", "--client", "10.1.2.0/24"],  # an address, not a network
    ["explain", "www.geo.test", "--subnet", "10.1.2.0/"],
    ["explain", "www.geo.test", "--subnet", "10.1.2/24"],
    ["explain", "www.geo.test", "--subnet", "10.1.2.0/2x"],
    ["pool", "www", "--subnet", "10.1.2.0/24"],
    ["dnssec"],
    ["dnssec", "keys"],
    ["dnssec", "ds"],
    ["dnssec", "ds", "a.test", "b.test"],
    ["dnssec", "status", "a.test", "b.test"],
    ["dnssec", "rollover", "a.test"],
    ["dnssec", "rollover", "a.test", "dsk"],
    ["dnssec", "submitted"],
])
def test_usage_errors_exit_2(ctl, tmp_path, args):
    r = run(ctl, "--socket", tmp_path / "missing.sock", *args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stderr.startswith("rrdnsctl: "), r.stderr
    assert "usage: rrdnsctl" in r.stderr
    assert r.stdout == ""


def test_weight_out_of_range_names_the_range(ctl, tmp_path):
    r = run(ctl, "--socket", tmp_path / "missing.sock", "weight", "web1", "1001")
    assert r.returncode == 2
    assert "weight needs a whole number from 0 to 1000, or auto, not '1001'" in r.stderr, r.stderr


def test_unknown_command_lists_the_commands(ctl):
    r = run(ctl, "frobnicate")
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr
    for command in ("reload", "status", "drain", "explain"):
        assert command in r.stderr


def test_help_and_version(ctl):
    r = run(ctl, "--help")
    assert r.returncode == 0 and "usage: rrdnsctl" in r.stdout and "exit status" in r.stdout
    # The weight range the daemon takes, and auto.
    weight_line = next(line for line in r.stdout.splitlines() if line.strip().startswith("weight"))
    assert "N|auto" in weight_line and "0 to 1000" in weight_line, weight_line
    assert "4294967295" not in r.stdout
    r = run(ctl, "--version")
    assert r.returncode == 0 and r.stdout.startswith("rrdnsctl ")


# --------------------------------------------------------------------------------------------
# No answer: exit 3 with the reason.

def test_missing_socket_exits_3(ctl, tmp_path):
    path = tmp_path / "nosuch.sock"
    r = run(ctl, "--socket", path, "status")
    assert r.returncode == 3, r.stderr
    assert "cannot connect to %s: no such file" % path in r.stderr


def test_default_socket_from_environment(ctl, tmp_path):
    path = tmp_path / "env.sock"
    r = run(ctl, "status", env_extra={"RRDNS_CONTROL": str(path)})
    assert r.returncode == 3
    assert str(path) in r.stderr


def test_stale_socket_exits_3(ctl, tmp_path):
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # bound, never listened: what a killed daemon leaves behind
    r = run(ctl, "--socket", path, "status")
    assert r.returncode == 3
    assert "connection refused" in r.stderr


def test_closed_without_reply_exits_3(ctl, fake):
    d = fake({"status": FakeDaemon.CLOSE})
    r = run(ctl, "--socket", d.path, "status")
    assert r.returncode == 3
    assert "without a reply" in r.stderr


def test_timeout_exits_3(ctl, fake):
    d = fake({"reload": FakeDaemon.HANG})
    start = time.monotonic()
    r = run(ctl, "--socket", d.path, "--timeout", "0.5", "reload")
    assert r.returncode == 3
    assert "no reply from rrdnsd within 0.5 s" in r.stderr
    assert time.monotonic() - start < 5


def test_malformed_reply_exits_3(ctl, fake):
    d = fake({"status": "this is not json"})
    r = run(ctl, "--socket", d.path, "status")
    assert r.returncode == 3
    assert "malformed reply" in r.stderr


def test_permission_denied_exits_3(ctl, fake):
    d = fake(default={"v": 1, "ok": False,
                      "error": "permission denied: uid 1000 is not the daemon's user"})
    r = run(ctl, "--socket", d.path, "status")
    assert r.returncode == 3
    assert "permission denied: uid 1000" in r.stderr


# --------------------------------------------------------------------------------------------
# The requests sent.

@pytest.mark.parametrize("args,request_", [
    (["reload"], {"v": 1, "cmd": "reload"}),
    (["reload", "rr.test"], {"v": 1, "cmd": "reload", "zone": "rr.test"}),
    (["check"], {"v": 1, "cmd": "check"}),
    (["status"], {"v": 1, "cmd": "status"}),
    (["stats"], {"v": 1, "cmd": "stats"}),
    (["pool", "www"], {"v": 1, "cmd": "pool", "name": "www"}),
    (["drain", "web1"], {"v": 1, "cmd": "drain", "member": "web1"}),
    (["drain", "web1", "--for", "5m", "--pool", "www"],
     {"v": 1, "cmd": "drain", "member": "web1", "for_s": 300, "pool": "www"}),
    (["drain", "--for=90", "web1"], {"v": 1, "cmd": "drain", "member": "web1", "for_s": 90}),
    (["drain", "web1", "--for", "1h30m"],
     {"v": 1, "cmd": "drain", "member": "web1", "for_s": 5400}),
    (["drain", "web1", "--for", "1.5s"], {"v": 1, "cmd": "drain", "member": "web1", "for_s": 1.5}),
    (["undrain", "web1", "--pool", "www"],
     {"v": 1, "cmd": "undrain", "member": "web1", "pool": "www"}),
    (["weight", "web1", "50"], {"v": 1, "cmd": "weight", "member": "web1", "weight": 50}),
    (["weight", "web1", "1000"], {"v": 1, "cmd": "weight", "member": "web1", "weight": 1000}),
    (["weight", "web1", "auto"], {"v": 1, "cmd": "weight", "member": "web1", "weight": "auto"}),
    (["weight", "web1", "Auto", "--pool", "www"],
     {"v": 1, "cmd": "weight", "member": "web1", "weight": "auto", "pool": "www"}),
    (["mark", "web1", "DOWN", "--pool", "www"],
     {"v": 1, "cmd": "mark", "member": "web1", "state": "down", "pool": "www"}),
    (["mark", "web1", "auto"], {"v": 1, "cmd": "mark", "member": "web1", "state": "auto"}),
    (["explain", "www.rr.test"], {"v": 1, "cmd": "explain", "name": "www.rr.test", "type": "A"}),
    (["explain", "www.rr.test", "aaaa"],
     {"v": 1, "cmd": "explain", "name": "www.rr.test", "type": "AAAA"}),
    (["explain", "www.geo.test", "--subnet", "10.1.2.0/24"],
     {"v": 1, "cmd": "explain", "name": "www.geo.test", "type": "A", "subnet": "10.1.2.0/24"}),
    (["explain", "www.geo.test", "AAAA", "--client=2001:db8::7", "--subnet", "2001:db8::/48"],
     {"v": 1, "cmd": "explain", "name": "www.geo.test", "type": "AAAA", "client": "2001:db8::7",
      "subnet": "2001:db8::/48"}),
    (["explain", "www.geo.test", "--subnet", "192.0.2.1"],  # a host: the daemon makes it /32
     {"v": 1, "cmd": "explain", "name": "www.geo.test", "type": "A", "subnet": "192.0.2.1"}),
    (["dnssec", "status"], {"v": 1, "cmd": "dnssec", "action": "status"}),
    (["dnssec", "status", "sig.test"],
     {"v": 1, "cmd": "dnssec", "action": "status", "zone": "sig.test"}),
    (["dnssec", "rollover", "sig.test", "ZSK"],
     {"v": 1, "cmd": "dnssec", "action": "rollover", "zone": "sig.test", "role": "zsk"}),
    (["dnssec", "submitted", "sig.test."],
     {"v": 1, "cmd": "dnssec", "action": "submitted", "zone": "sig.test."}),
])
def test_request_sent(ctl, fake, args, request_):
    d = fake()
    r = run(ctl, "--socket", d.path, *args)
    assert r.returncode == 0, r.stderr
    assert d.requests == [request_]
    assert r.stdout == "ok\n"  # an ok with nothing else to show


def test_socket_from_environment_and_options_after_the_command(ctl, fake):
    d = fake()
    r = run(ctl, "status", "--json", env_extra={"RRDNS_CONTROL": d.path})
    assert r.returncode == 0, r.stderr
    assert d.requests == [{"v": 1, "cmd": "status"}]
    assert r.stdout == '{"v":1,"ok":true}\n'


# --------------------------------------------------------------------------------------------
# Output.

STATUS = {
    "v": 1, "ok": True,
    "version": "0.1.0",
    "uptime_s": 3600.25,
    "zones": ["rr.test.", "demo.test."],
    "reloads": {"ok": 3, "failed": 0},
    "members": [
        {"name": "web11", "address": "127.0.0.11", "weight": 60, "health": {"state": "up"}},
        {"name": "web12", "address": "127.0.0.12", "weight": 5, "drained": True,
         "health": {"state": "down"}},
        {"name": "web13", "address": None, "weight": 0.3333},
    ],
    "threads": 4,
}


def test_text_rendering(ctl, fake):
    d = fake({"status": STATUS})
    r = run(ctl, "--socket", d.path, "status")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout == (
        "version:        0.1.0\n"
        "uptime_s:       3600.25\n"
        "zones:          rr.test., demo.test.\n"
        "reloads.ok:     3\n"
        "reloads.failed: 0\n"
        "\n"
        "members:\n"
        "  name   address     weight  health.state  drained\n"
        "  web11  127.0.0.11      60  up            -\n"
        "  web12  127.0.0.12       5  down          true\n"
        "  web13  -            0.333  -             -\n"
        "\n"
        "threads:        4\n"
    )


def test_drain_until_is_shown_as_a_utc_time_and_json_keeps_the_number(ctl, fake):
    until = int(time.time()) + 300
    d = fake({"drain": {"v": 1, "ok": True, "member": "web1", "drained": True,
                        "drain_until": until}})
    r = run(ctl, "--socket", d.path, "drain", "web1", "--for", "5m")
    assert r.returncode == 0, r.stderr
    m = re.search(r"^drain_until: +(\S+) \((\d+) s left\)$", r.stdout, re.M)
    assert m, r.stdout
    assert m.group(1) == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)), r.stdout
    assert 290 <= int(m.group(2)) <= 300, r.stdout
    r = run(ctl, "--socket", d.path, "--json", "drain", "web1", "--for", "5m")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["drain_until"] == until


def test_dnssec_ds_prints_the_records_alone(ctl, fake):
    # Scripts feed them to a resolver's trust anchors: nothing else may be on stdout.
    lines = ["sig.test. 3600 IN DS 12345 13 2 ABCDEF", "sig.test. 3600 IN DS 23456 13 2 012345"]
    d = fake({"dnssec": {"v": 1, "ok": True, "zone": "sig.test", "ds": lines}})
    r = run(ctl, "--socket", d.path, "dnssec", "ds", "sig.test")
    assert r.returncode == 0, r.stderr
    assert d.requests == [{"v": 1, "cmd": "dnssec", "action": "ds", "zone": "sig.test"}]
    assert r.stdout == "\n".join(lines) + "\n"


def test_json_output_is_the_line_as_received(ctl, fake):
    line = '{"v":1,"ok":true,"b":2,"a":{"z":1,"y":[1,2.50]}}'
    d = fake({"stats": line})
    r = run(ctl, "--socket", d.path, "--json", "stats")
    assert r.returncode == 0
    assert r.stdout == line + "\n"
    r = run(ctl, "--socket", d.path, "--json=pretty", "stats")
    assert r.returncode == 0
    assert json.loads(r.stdout) == json.loads(line)
    assert r.stdout.startswith('{\n  "v": 1,\n  "ok": true,\n  "b": 2,')  # order kept


def test_error_exits_1(ctl, fake):
    d = fake({"reload": {"v": 1, "ok": False, "error": "reload failed: 2 errors in rr.test.",
                         "errors": ["zones/rr.test.toml:3: bad ttl", "zones/rr.test.toml:9: dup"]}})
    r = run(ctl, "--socket", d.path, "reload", "rr.test")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == ("rrdnsctl: reload failed: 2 errors in rr.test.\n"
                        "zones/rr.test.toml:3: bad ttl\n"
                        "zones/rr.test.toml:9: dup\n")


def test_error_with_json_exits_1_and_prints_the_json(ctl, fake):
    line = '{"v":1,"ok":false,"error":"no such pool: nope"}'
    d = fake({"pool": line})
    r = run(ctl, "--socket", d.path, "--json", "pool", "nope")
    assert r.returncode == 1
    assert r.stdout == line + "\n"


def test_version_mismatch_is_a_daemon_error(ctl, fake):
    d = fake(default={"v": 1, "ok": False,
                      "error": "unsupported protocol version 2; this rrdnsd speaks 1"})
    r = run(ctl, "--socket", d.path, "status")
    assert r.returncode == 1
    assert "unsupported protocol version" in r.stderr
