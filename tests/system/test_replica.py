"""System test for rrdns-replica, the stand-in web replica that rrdnsd health-checks.

Starts the real binary (env RRDNS_REPLICA, else next to RRDNSD, else
$RRDNS_SOURCE_DIR/build/rrdns-replica) on free loopback ports and talks HTTP to it with
http.client only. Processes are stopped by PID, and only those started here; every wait is a
bounded poll with a deadline.
"""

import http.client
import json
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (_die_with_parent, free_tcp_port, has_ipv6_loopback, listen_spec, replica_path,
                      stop_process, stop_replicas)


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body
        self.elapsed = elapsed


class Replica:
    """One rrdns-replica process on host:port; stderr goes to a temp file."""

    def __init__(self, host="127.0.0.1", args=()):
        self.host = host
        self.args = list(args)
        self.port = None
        self.proc = None
        self.stderr = None

    @property
    def listen(self) -> str:
        return listen_spec(self.host, self.port)

    def start(self, timeout=10.0):
        # The port is found by binding port 0 and released before the replica binds it, so
        # another process may take it in between: retry a few times on that one failure.
        for _ in range(3):
            self.port = free_tcp_port(self.host)
            self.stderr = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(
                [str(replica_path()), "--listen", self.listen, *self.args],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
                preexec_fn=_die_with_parent)
            if self.wait_ready(timeout):
                return self
            if self.proc.poll() == 1 and "Address already in use" in self.log():
                continue
            raise AssertionError(f"replica on {self.listen} did not come up:\n{self.log()}")
        raise AssertionError(f"no free port for a replica on {self.host}")

    def wait_ready(self, timeout) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if self.request("GET", "/admin/state", timeout=1.0).status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def request(self, method, path, body=None, headers=None, timeout=5.0) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            start = time.monotonic()
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read().decode()
            return Response(resp.status, resp.headers, data, time.monotonic() - start)
        finally:
            conn.close()

    def get(self, path, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path, body=None, form=False) -> Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        return self.request("POST", path, body=body, headers=headers)

    def state(self) -> dict:
        resp = self.get("/admin/state")
        assert resp.status == 200
        assert resp.headers.get("Content-Type", "").startswith("application/json")
        return json.loads(resp.body)

    def log(self) -> str:
        if self.stderr is None:
            return ""
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait_exit(self, timeout=10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def replicas(replica_binary):
    """Factory: replicas(host, *args) starts one and stops it after the test."""
    started = []

    def start(host="127.0.0.1", *args):
        replica = Replica(host, args)
        started.append(replica)
        return replica.start()

    yield start
    stop_replicas(started)


def run_replica(*args, timeout=10.0) -> subprocess.CompletedProcess:
    """A replica expected to exit by itself (usage errors, --help, bind failures)."""
    return subprocess.run([str(replica_path()), *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_die_with_parent)


def poll_status(replica, path, want, timeout=5.0) -> Response:
    deadline = time.monotonic() + timeout
    resp = replica.get(path)
    while resp.status != want and time.monotonic() < deadline:
        time.sleep(0.02)
        resp = replica.get(path)
    return resp


# --------------------------------------------------------------------------------------------
# Serving


def test_root_names_the_replica(replicas):
    web11 = replicas("127.0.0.11", "--name", "web11")
    web12 = replicas("127.0.0.12", "--name", "web12")
    for replica, name in ((web11, "web11"), (web12, "web12")):
        resp = replica.get("/")
        assert resp.status == 200
        assert resp.body == f"{name} {replica.listen}\n"
        assert resp.headers.get("X-Rrdns-Replica") == name
        assert resp.headers.get("Content-Type", "").startswith("text/plain")
    assert web11.state()["requests"] == 1
    web11.get("/")
    web11.get("/healthz")  # health checks are not counted as served requests
    assert web11.state()["requests"] == 2


def test_name_defaults_to_listen_address(replicas):
    replica = replicas("127.0.0.13")
    resp = replica.get("/")
    assert resp.body == f"{replica.listen} {replica.listen}\n"
    assert resp.headers.get("X-Rrdns-Replica") == replica.listen


def test_state_json(replicas):
    replica = replicas("127.0.0.11", "--name", "web11")
    assert replica.state() == {"name": "web11", "listen": replica.listen, "healthy": True,
                               "weight": None, "latency_ms": 0, "requests": 0}
    replica = replicas("127.0.0.12", "--name", "web12", "--weight", "30", "--latency-ms", "5",
                       "--unhealthy")
    assert replica.state() == {"name": "web12", "listen": replica.listen, "healthy": False,
                               "weight": 30, "latency_ms": 5, "requests": 0}


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_listen(replicas):
    replica = replicas("::1", "--name", "web6")
    resp = replica.get("/")
    assert resp.status == 200
    assert resp.body == f"web6 [::1]:{replica.port}\n"


def test_stderr_has_no_access_log(replicas):
    replica = replicas("127.0.0.11", "--name", "web11")
    for _ in range(5):
        replica.get("/")
        replica.get("/healthz")
    lines = replica.log().splitlines()
    assert len(lines) == 1, replica.log()
    assert lines[0].endswith(f"web11 listening on {replica.listen}")


# --------------------------------------------------------------------------------------------
# Health


def test_health_via_admin(replicas):
    replica = replicas("127.0.0.11", "--name", "web11")
    resp = replica.get("/healthz")
    assert (resp.status, resp.body) == (200, "ok\n")
    assert resp.headers.get("X-Rrdns-Weight") is None

    # Query parameter, no body at all (what `curl -X POST '...?state=down'` sends).
    resp = replica.post("/admin/health?state=down")
    assert (resp.status, resp.body) == (200, "health down\n")
    resp = replica.get("/healthz")
    assert (resp.status, resp.body) == (503, "unhealthy\n")
    assert replica.state()["healthy"] is False

    # Form body, as `curl -d state=up` sends it.
    resp = replica.post("/admin/health", body="state=up", form=True)
    assert (resp.status, resp.body) == (200, "health up\n")
    assert replica.get("/healthz").status == 200

    # Bare word, with and without a form content type.
    assert replica.post("/admin/health", body="down").status == 200
    assert replica.get("/healthz").status == 503
    assert replica.post("/admin/health", body="up", form=True).status == 200
    assert replica.get("/healthz").status == 200

    # / keeps serving while marked down: only the health check reports it.
    replica.post("/admin/health?state=down")
    assert replica.get("/").status == 200
    log = replica.log()
    assert "web11 marked down (admin)" in log and "web11 marked up (admin)" in log


def test_health_via_signals(replicas):
    replica = replicas("127.0.0.11", "--name", "web11")
    replica.signal(signal.SIGUSR1)
    assert poll_status(replica, "/healthz", 503).status == 503
    replica.signal(signal.SIGUSR2)
    assert poll_status(replica, "/healthz", 200).status == 200
    assert replica.proc.poll() is None
    log = replica.log()
    assert "marked down (SIGUSR1)" in log and "marked up (SIGUSR2)" in log


def test_starts_unhealthy(replicas):
    replica = replicas("127.0.0.12", "--unhealthy")
    assert replica.get("/healthz").status == 503
    replica.signal(signal.SIGUSR2)
    assert poll_status(replica, "/healthz", 200).status == 200


# --------------------------------------------------------------------------------------------
# Weight and latency


def test_weight_header(replicas):
    replica = replicas("127.0.0.11")
    assert replica.get("/healthz").headers.get("X-Rrdns-Weight") is None

    resp = replica.post("/admin/weight", body="value=40", form=True)
    assert (resp.status, resp.body) == (200, "weight 40\n")
    assert replica.get("/healthz").headers.get("X-Rrdns-Weight") == "40"

    resp = replica.post("/admin/weight?value=0")
    assert resp.status == 200
    assert replica.get("/healthz").headers.get("X-Rrdns-Weight") == "0"

    # Still sent while unhealthy: the checker may log it either way.
    replica.post("/admin/health?state=down")
    resp = replica.get("/healthz")
    assert resp.status == 503 and resp.headers.get("X-Rrdns-Weight") == "0"

    resp = replica.post("/admin/weight", body="none")
    assert (resp.status, resp.body) == (200, "weight none\n")
    assert replica.get("/healthz").headers.get("X-Rrdns-Weight") is None
    assert replica.state()["weight"] is None


def test_weight_from_command_line(replicas):
    replica = replicas("127.0.0.12", "--weight", "100")
    assert replica.get("/healthz").headers.get("X-Rrdns-Weight") == "100"
    # / is the replica's content, not its health: no weight there.
    assert replica.get("/").headers.get("X-Rrdns-Weight") is None


def test_latency(replicas):
    replica = replicas("127.0.0.11")
    resp = replica.post("/admin/latency", body="ms=300", form=True)
    assert (resp.status, resp.body) == (200, "latency 300\n")
    for path in ("/", "/healthz"):
        resp = replica.get(path)
        assert resp.status == 200
        assert resp.elapsed >= 0.3, (path, resp.elapsed)
    # The admin endpoints are not delayed, so a demo can always undo a slow setting at once.
    assert replica.post("/admin/latency?ms=0").status == 200
    assert replica.state()["latency_ms"] == 0


def test_latency_from_command_line(replicas):
    replica = replicas("127.0.0.12", "--latency-ms", "300")
    resp = replica.get("/healthz")
    assert resp.status == 200 and resp.elapsed >= 0.3
    assert replica.state()["latency_ms"] == 300


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("path,body", [
    ("/admin/health", "state=sideways"),
    ("/admin/health", ""),
    ("/admin/weight", "value=101"),
    ("/admin/weight", "value=-1"),
    ("/admin/weight", "value=4x"),
    ("/admin/weight", "value="),
    ("/admin/latency", "ms=-5"),
    ("/admin/latency", "ms=60001"),
    ("/admin/latency", "ms=fast"),
])
def test_bad_admin_values(replicas, path, body):
    replica = replicas("127.0.0.11")
    before = replica.state()
    resp = replica.post(path, body=body, form=True)
    assert resp.status == 400
    assert resp.body.endswith("\n") and resp.body.count("\n") == 1 and len(resp.body) > 1
    assert replica.state() == before


def test_bad_admin_query_value(replicas):
    replica = replicas("127.0.0.11")
    resp = replica.post("/admin/weight?value=lots")
    assert resp.status == 400 and "lots" in resp.body


@pytest.mark.parametrize("args", [
    ["--listen", "127.0.0.1"],
    ["--listen", "999.0.0.1:8080"],
    ["--listen", "127.0.0.1:70000"],
    ["--listen", "localhost:8080"],
    ["--listen", "::1:8080"],
    ["--listen", "127.0.0.1:80", "--weight", "101"],
    ["--listen", "127.0.0.1:80", "--latency-ms", "soon"],
    ["--listen", "127.0.0.1:80", "--bogus"],
    ["--listen"],
    ["--name", "web11"],
])
def test_bad_command_line(replica_binary, args):
    result = run_replica(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("rrdns-replica: ")
    assert "usage:" in result.stderr


def test_help(replica_binary):
    result = run_replica("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: rrdns-replica --listen")
    assert "/healthz" in result.stdout and "SIGUSR1" in result.stdout


def test_address_in_use(replicas):
    # Taken by another replica: must not share the port (SO_REUSEPORT would let it).
    first = replicas("127.0.0.11")
    result = run_replica("--listen", first.listen)
    assert result.returncode == 1
    assert f"cannot listen on {first.listen}" in result.stderr
    assert "Address already in use" in result.stderr

    # Taken by some other program.
    with socket.socket() as holder:
        holder.bind(("127.0.0.12", 0))
        holder.listen()
        spec = listen_spec("127.0.0.12", holder.getsockname()[1])
        result = run_replica("--listen", spec)
    assert result.returncode == 1
    assert f"cannot listen on {spec}" in result.stderr


# --------------------------------------------------------------------------------------------
# Stopping


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(replicas, signum):
    replica = replicas("127.0.0.11", "--name", "web11")
    replica.get("/")
    replica.signal(signum)
    assert replica.wait_exit() == 0, replica.log()
    assert "web11 stopped" in replica.log()


def test_sigterm_while_slow_request_in_flight(replicas):
    replica = replicas("127.0.0.11", "--latency-ms", "500")
    conn = http.client.HTTPConnection(replica.host, replica.port, timeout=5)
    try:
        conn.request("GET", "/")
        time.sleep(0.1)  # let the request reach its handler
        replica.signal(signal.SIGTERM)
        assert replica.wait_exit() == 0, replica.log()
    finally:
        conn.close()
