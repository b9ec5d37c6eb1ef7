"""Shared helpers for the rrdnsd system tests.

The tests start the real daemon (env RRDNSD, default $RRDNS_SOURCE_DIR/build/rrdnsd) on free
loopback ports, talk DNS to it with dnspython and raw sockets, and stop only the processes they
started, by PID. The daemon's stderr goes to a temp file that is quoted in assertion messages.

Every wait is a bounded poll with a deadline; nothing sleeps to synchronise.
"""

import ctypes
import http.client
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

SYSTEM_DIR = Path(__file__).resolve().parent
FIXTURE_ZONES = SYSTEM_DIR / "zones"


def source_dir() -> Path:
    env = os.environ.get("RRDNS_SOURCE_DIR")
    return Path(env) if env else SYSTEM_DIR.parent.parent


def rrdnsd_path() -> Path:
    env = os.environ.get("RRDNSD")
    return Path(env) if env else source_dir() / "build" / "rrdnsd"


def rrdnsctl_path() -> Path:
    """rrdnsctl: env RRDNSCTL, else next to RRDNSD, else $RRDNS_SOURCE_DIR/build/rrdnsctl."""
    env = os.environ.get("RRDNSCTL")
    if env:
        return Path(env)
    daemon = os.environ.get("RRDNSD")
    if daemon:
        return Path(daemon).parent / "rrdnsctl"
    return source_dir() / "build" / "rrdnsctl"


def repo_zone(name: str) -> Path:
    """A zone file shipped in the repository's zones/ directory."""
    return source_dir() / "zones" / name


def fixture_zone(name: str) -> Path:
    """A zone file under tests/system/zones/."""
    return FIXTURE_ZONES / name


# --------------------------------------------------------------------------------------------
# Ports

_handed_out: set = set()


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(hosts=("127.0.0.1",)) -> int:
    """A port that is free for both UDP and TCP on every host (checked by binding, then released)."""
    for _ in range(200):
        probe = socket.socket(_family(hosts[0]), socket.SOCK_STREAM)
        held = [probe]
        try:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
            if port in _handed_out:
                continue
            ok = True
            for host in hosts:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    if host == hosts[0] and kind == socket.SOCK_STREAM:
                        continue
                    s = socket.socket(_family(host), kind)
                    held.append(s)
                    try:
                        s.bind((host, port))
                    except OSError:
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                _handed_out.add(port)
                return port
        finally:
            for s in held:
                s.close()
    raise AssertionError("could not find a free UDP+TCP port on %s" % (hosts,))


def listen_spec(host: str, port: int) -> str:
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# --------------------------------------------------------------------------------------------
# Raw DNS over sockets

def make_query(qname, qtype="A", *, rd=True, edns=None, payload=1232, qid=None):
    """A dns.message query; edns=None means no OPT, else the EDNS version number."""
    q = dns.message.make_query(qname, qtype, use_edns=False)
    if edns is not None:
        q.use_edns(edns, payload=payload)
        assert q.edns == edns
    q.id = random.randrange(0, 65536) if qid is None else qid
    if rd:
        q.flags |= dns.flags.RD
    else:
        q.flags &= ~dns.flags.RD
    return q


def header(wire: bytes):
    """(id, flags, qdcount, ancount, nscount, arcount) of a DNS message."""
    return struct.unpack("!HHHHHH", wire[:12])


def udp_exchange(host: str, port: int, wire: bytes, timeout: float = 2.0, match_id=True):
    """Sends one datagram; returns the first reply (with the same id if match_id), or None."""
    with socket.socket(_family(host), socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        for _ in range(100):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if not match_id or (len(wire) >= 2 and len(data) >= 2 and data[:2] == wire[:2]):
                return data
        return None


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    """Reads exactly n bytes before the deadline; returns fewer only if the peer closed."""
    buf = b""
    for _ in range(100000):
        if len(buf) >= n:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out after %d of %d bytes" % (len(buf), n))
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def tcp_connect(host: str, port: int, timeout: float = 3.0) -> socket.socket:
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def tcp_frame(wire: bytes) -> bytes:
    return struct.pack("!H", len(wire)) + wire


def tcp_read_message(sock: socket.socket, timeout: float = 3.0):
    """One length-prefixed message, or None if the server closed (or reset) the connection first."""
    deadline = time.monotonic() + timeout
    try:
        hdr = recv_exact(sock, 2, deadline)
        if len(hdr) < 2:
            return None
        (length,) = struct.unpack("!H", hdr)
        body = recv_exact(sock, length, deadline)
    except ConnectionResetError:
        return None
    if len(body) < length:
        return None
    return body


def parse(wire: bytes) -> dns.message.Message:
    return dns.message.from_wire(wire)


def rcode_of(msg: dns.message.Message) -> int:
    return msg.rcode()


def first_addresses(msg: dns.message.Message, rdtype=dns.rdatatype.A):
    """The addresses of the first RRset of rdtype in the answer, in wire order."""
    for rrset in msg.answer:
        if rrset.rdtype == rdtype:
            return [rd.address for rd in rrset]
    return []


def send_in_background(sock: socket.socket, data: bytes):
    """Sends `data` on `sock` from a thread, so that the test can read answers meanwhile.
    Returns the thread (join it) and the list the thread appends an OSError to."""
    errors = []

    def writer():
        try:
            sock.sendall(data)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    return t, errors


# --------------------------------------------------------------------------------------------
# The daemon

def _die_with_parent():
    """In the child before exec: get SIGTERM if the test run dies, so no daemon outlives it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Daemon:
    """One rrdnsd process: quick mode (zones + args) or config mode (config callable)."""

    def __init__(self, workdir: Path, *, zones=(), hosts=("127.0.0.1",), threads=1,
                 extra_args=(), config=None, probe=("rr.test.", "SOA"), zone_flag=None,
                 files=()):
        self.binary = rrdnsd_path()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        for f in files:  # copied into workdir, e.g. zones a config names relative to its dir
            shutil.copyfile(f, self.workdir / Path(f).name)
        self.zones = [str(z) for z in zones]
        self.hosts = tuple(hosts)
        self.threads = threads
        self.extra_args = list(extra_args)
        self.config = config  # callable(list of listen specs) -> TOML text
        self.probe = probe
        self.zone_flag = zone_flag  # e.g. "--zone" to pass each zone with that option
        self.port = None
        self.proc = None
        self.stopped_by_us = False
        self.stderr_path = None
        self.stdout_path = None
        self.config_path = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self.hosts[0]

    def argv(self):
        specs = [listen_spec(h, self.port) for h in self.hosts]
        if self.config is not None:
            self.config_path = self.workdir / "server.toml"
            self.config_path.write_text(self.config(specs))
            return [str(self.binary), "--config", str(self.config_path)] + self.extra_args
        argv = [str(self.binary)]
        for spec in specs:
            argv += ["--listen", spec]
        if self.threads is not None:
            argv += ["--threads", str(self.threads)]
        argv += self.extra_args
        for z in self.zones:
            argv += [self.zone_flag, z] if self.zone_flag else [z]
        return argv

    def start(self, timeout: float = 15.0):
        assert self.binary.exists(), "rrdnsd binary not found at %s (set RRDNSD)" % self.binary
        for attempt in range(5):
            self.port = free_port(self.hosts)
            tag = "%d-%d" % (self.port, attempt)
            self.stderr_path = self.workdir / ("rrdnsd-%s.stderr" % tag)
            self.stdout_path = self.workdir / ("rrdnsd-%s.stdout" % tag)
            argv = self.argv()
            with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=err, cwd="/", start_new_session=True,
                                             preexec_fn=_die_with_parent)
            self.argv_used = argv
            state = self._wait_ready(timeout)
            if state == "ready":
                return self
            if state == "port-in-use":
                continue
            raise AssertionError("rrdnsd did not become ready (%s)\n%s" % (state, self.diag()))
        raise AssertionError("rrdnsd kept failing to bind\n%s" % self.diag())

    def _wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            if self.proc.poll() is not None:
                if "in use" in self.stderr_text().lower():
                    return "port-in-use"
                return "exited with status %s" % self.proc.returncode
            if time.monotonic() > deadline:
                return "no answer within %.0f s" % timeout
            if self._probe_ok():
                return "ready"
        return "gave up polling"

    def _probe_ok(self) -> bool:
        qname, qtype = self.probe
        for host in self.hosts:
            q = make_query(qname, qtype)
            data = udp_exchange(host, self.port, q.to_wire(), timeout=0.2)
            if data is None:
                return False
            try:
                r = parse(data)
            except Exception:
                return False
            if r.rcode() != dns.rcode.NOERROR or not r.answer:
                return False
            try:
                with tcp_connect(host, self.port, timeout=1.0) as s:
                    s.sendall(tcp_frame(make_query(qname, qtype).to_wire()))
                    if tcp_read_message(s, timeout=1.0) is None:
                        return False
            except OSError:
                return False
        return True

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 5.0):
        """Signals our process, waits (bounded), kills as a last resort. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.stopped_by_us = True
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def hup(self):
        assert self.alive(), "rrdnsd is not running\n" + self.diag()
        self.proc.send_signal(signal.SIGHUP)

    def stderr_text(self) -> str:
        try:
            return Path(self.stderr_path).read_text(errors="replace")
        except (OSError, TypeError):
            return ""

    def stdout_text(self) -> str:
        try:
            return Path(self.stdout_path).read_text(errors="replace")
        except (OSError, TypeError):
            return ""

    def diag(self) -> str:
        status = "running" if self.alive() else "exit status %s" % (
            self.proc.returncode if self.proc else None)
        err = self.stderr_text()
        if len(err) > 6000:
            err = "...\n" + err[-6000:]
        return "--- rrdnsd %s (%s) stderr:\n%s\n---" % (
            " ".join(getattr(self, "argv_used", [])), status, err)

    def stderr_mark(self) -> int:
        """The current length of stderr, for wait_stderr(since=...)."""
        return len(self.stderr_text())

    def wait_stderr(self, needle: str, timeout: float = 5.0, since: int = 0) -> bool:
        """Polls until stderr (from offset `since`) contains needle."""
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            if needle in self.stderr_text()[since:]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return False

    # --- queries ---------------------------------------------------------------------------

    def udp_raw(self, wire: bytes, timeout: float = 2.0, host=None, match_id=True):
        return udp_exchange(host or self.host, self.port, wire, timeout, match_id)

    def tcp_raw(self, wire: bytes, timeout: float = 3.0, host=None):
        with tcp_connect(host or self.host, self.port, timeout) as s:
            s.sendall(tcp_frame(wire))
            return tcp_read_message(s, timeout)

    def query(self, qname, qtype="A", *, tcp=False, host=None, timeout=None, **kw):
        """Sends a query made by make_query(**kw); returns (query, parsed response)."""
        q = make_query(qname, qtype, **kw)
        wire = q.to_wire()
        try:
            if tcp:
                data = self.tcp_raw(wire, timeout or 3.0, host)
            else:
                data = self.udp_raw(wire, timeout or 2.0, host)
        except OSError as e:
            raise AssertionError("%s %s over %s: %r\n%s" % (
                qname, qtype, "TCP" if tcp else "UDP", e, self.diag())) from e
        assert data is not None, "no %s answer to %s %s\n%s" % (
            "TCP" if tcp else "UDP", qname, qtype, self.diag())
        return q, parse(data)

    def ask(self, qname, qtype="A", **kw) -> dns.message.Message:
        return self.query(qname, qtype, **kw)[1]


@pytest.fixture(scope="session")
def binary() -> Path:
    path = rrdnsd_path()
    assert path.exists(), "rrdnsd binary not found at %s (set RRDNSD)" % path
    return path


@pytest.fixture
def daemons(tmp_path):
    """Factory: daemons(zones=..., ...) starts a Daemon; all are stopped at teardown."""
    started = []

    def start(**kw):
        d = Daemon(tmp_path / ("d%d" % len(started)), **kw)
        started.append(d)
        return d.start()

    yield start
    stop_all(started)


def stop_all(started):
    """Stops our daemons; a sanitizer report in any daemon's stderr fails the test."""
    """Stops our daemons. Fails the test if one died on its own, did not exit 0 on SIGTERM,
    or reported a sanitizer error."""
    reports = []
    for d in started:
        if d.proc is None:
            continue
        died = d.proc.poll() is not None and not d.stopped_by_us
        status = d.stop()
        err = d.stderr_text()
        if died:
            reports.append("rrdnsd exited on its own\n" + d.diag())
        elif status != 0:
            reports.append("rrdnsd exit status %s on SIGTERM\n%s" % (status, d.diag()))
        elif any(marker in err for marker in SANITIZER_MARKERS):
            reports.append("rrdnsd reported a sanitizer error\n" + d.diag())
    if reports:
        pytest.fail("\n".join(reports), pytrace=False)


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")


@pytest.fixture(scope="module")
def module_daemons(tmp_path_factory):
    started = []

    def start(**kw):
        d = Daemon(tmp_path_factory.mktemp("rrdnsd"), **kw)
        started.append(d)
        return d.start()

    yield start
    stop_all(started)


RR_TEST = repo_zone("rr.test.toml")
FX_TEST = fixture_zone("fx.test.toml")


@pytest.fixture(scope="module")
def server(module_daemons, binary):
    """rrdnsd serving the repository's rr.test and the fixture zone fx.test, one thread."""
    return module_daemons(zones=[RR_TEST, FX_TEST], threads=1)


def copy_zone(src: Path, dst_dir: Path, name=None) -> Path:
    dst = Path(dst_dir) / (name or Path(src).name)
    shutil.copyfile(src, dst)
    return dst


def write_zone(path: Path, text: str) -> Path:
    """Writes a zone file atomically (temp file + rename), so a reload never sees half a file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def simple_zone(origin: str, serial: int, www, *, extra: str = "") -> str:
    """A small valid TOML zone with `www` A records and the given serial."""
    addrs = ", ".join('"%s"' % a for a in www)
    return (
        'origin = "%s"\n'
        "ttl = 300\n"
        "[soa]\n"
        'primary = "ns1"\n'
        'contact = "hostmaster"\n'
        "serial = %d\n"
        "minimum = 300\n"
        '[names."@"]\n'
        'NS = ["ns1"]\n'
        "[names.ns1]\n"
        'A = "192.0.2.53"\n'
        "[names.www]\n"
        "A = [%s]\n" % (origin, serial, addrs)
    ) + extra


# --- web replicas (rrdns-replica) shared by the pool and control tests ---

def replica_path() -> Path:
    env = os.environ.get("RRDNS_REPLICA")
    if env:
        return Path(env)
    daemon = rrdnsd_path()
    if (daemon.parent / "rrdns-replica").exists():
        return daemon.parent / "rrdns-replica"
    source = os.environ.get("RRDNS_SOURCE_DIR")
    return (Path(source) if source else Path(__file__).resolve().parent.parent.parent) / "build" / "rrdns-replica"


def free_tcp_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Replica:
    """One rrdns-replica on host:port; keeps its port across stop()/start() so the zone holds."""

    def __init__(self, host, name, args=()):
        self.host = host
        self.name = name
        self.args = list(args)
        self.port = None
        self.proc = None
        self.stderr = None

    @property
    def listen(self) -> str:
        return "[%s]:%d" % (self.host, self.port) if ":" in self.host else "%s:%d" % (
            self.host, self.port)

    def start(self, timeout=10.0, args=None):
        fixed = self.port is not None
        for _ in range(20):
            if not fixed:
                self.port = free_tcp_port(self.host)
            if self.stderr is None:
                self.stderr = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(
                [str(replica_path()), "--listen", self.listen, "--name", self.name,
                 *(self.args if args is None else args)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                preexec_fn=_die_with_parent)
            if self._wait_ready(timeout):
                return self
            if self.proc.poll() == 1 and "Address already in use" in self.log():
                time.sleep(0.1)  # restarting on our own port: wait for it to be released
                continue
            raise AssertionError("replica %s did not come up:\n%s" % (self.listen, self.log()))
        raise AssertionError("replica %s: port stayed taken" % self.listen)

    def _wait_ready(self, timeout) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.request("GET", "/admin/state", timeout=1.0)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def request(self, method, path, timeout=5.0):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def post(self, path):
        status, body = self.request("POST", path)
        assert status == 200, "POST %s to %s: %s %s" % (path, self.listen, status, body)
        return body

    def health(self, up: bool):
        self.post("/admin/health?state=%s" % ("up" if up else "down"))

    def weight(self, value):
        self.post("/admin/weight?value=%s" % value)

    def stop(self):
        stop_process(self.proc)

    def log(self) -> str:
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def check_url(self) -> str:
        """How the daemon names this replica's HTTP check in its log."""
        return "http://%s/healthz" % self.listen


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def stop_replicas(started):
    """Stops every replica (by PID), then closes their stderr files."""
    for r in started:
        r.stop()
    for r in started:
        if r.stderr is not None:
            r.stderr.close()


@pytest.fixture(scope="module")
def replica_binary() -> Path:
    path = replica_path()
    if not path.exists():
        pytest.fail("rrdns-replica not found at %s: build it, or set RRDNS_REPLICA" % path)
    return path


# The loopback addresses the pool and control tests give their replicas: webN on 127.0.0.N.
REPLICA_ADDR = {n: "127.0.0.%d" % n for n in range(21, 30)}


@pytest.fixture
def replicas(replica_binary):
    """Factory: replicas(21, 22, ..., args=()) starts web21 on 127.0.0.21 etc. (free ports) and
    returns that Replica, or the list for several numbers; all are stopped after the test."""
    started = []

    def start(*numbers, args=()):
        out = []
        for n in numbers:
            r = Replica(REPLICA_ADDR[n], "web%d" % n, args)
            started.append(r)
            out.append(r.start())
        return out[0] if len(out) == 1 else out

    yield start
    stop_replicas(started)


def toml_value(v) -> str:
    """A Python value as a TOML inline value, for zones written by tests."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"%s"' % v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, toml_value(x)) for k, x in v.items()) + " }"
    raise TypeError(v)


def pool_tables(pools: dict, check=None) -> str:
    """[pools.NAME] and [pools.NAME.check] tables for a TOML zone written by a test, from
    {name: {key: value, ...}}; a pool's "check" key (else `check`) fills its check table."""
    text = ""
    for name, spec in pools.items():
        spec = dict(spec)
        pool_check = spec.pop("check", check or {})
        text += "[pools.%s]\n" % name
        for k, v in spec.items():
            text += "%s = %s\n" % (k, toml_value(v))
        text += "[pools.%s.check]\n" % name
        for k, v in pool_check.items():
            text += "%s = %s\n" % (k, toml_value(v))
    return text


def stop_process(proc):
    """SIGTERM by PID, then SIGKILL if it ignores that; waits for the exit. Never by name."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def malloc_counter_preload(shim) -> str:
    """LD_PRELOAD for the malloc counter shim. In a sanitizer build (RRDNS_SANITIZED=1) the
    sanitizer runtime (RRDNS_SANITIZER_RUNTIME, a dynamically linked libasan as with g++) must
    come first in the process; the shim then counts through the sanitizer allocator's hooks."""
    preload = str(shim)
    if os.environ.get("RRDNS_SANITIZED") and os.environ.get("RRDNS_SANITIZER_RUNTIME"):
        preload = os.environ["RRDNS_SANITIZER_RUNTIME"] + " " + preload
    return preload


def run_script(cmd, timeout, env=None):
    """Runs a tool script to its end; returns (exit status, stdout, stderr). Past `timeout` it
    gets SIGTERM, so its trap stops what it started (SIGKILL only if it hangs), and the test
    fails with its output."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=10)
        pytest.fail("%s did not finish in %d s\nstdout:\n%s\nstderr:\n%s"
                    % (" ".join(str(c) for c in cmd), timeout, out, err))
    return proc.returncode, out, err
