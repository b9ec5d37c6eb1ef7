#!/usr/bin/python3
"""failover_times.py -- how long a dead replica stays in rrdnsd's answers, and a revived one out.

Starts three rrdns-replica processes (default 127.0.0.11-13:8080, as zones/demo.toml expects)
and rrdnsd on zones/demo.toml (on 127.0.0.1, a free port), waits until www.demo.test answers
all three, then RUNS times (default 5):

  1. kills one replica (SIGTERM, by PID; the victim cycles through the three), queries
     www.demo.test A every 50 ms and measures the time until the replica is absent from the
     answers: absent = it is missing from 3 consecutive answers, timed at the first of them;
  2. restarts it on the same address and port and measures, the same way, the time until it is
     back in 3 consecutive answers (timed at the first).

Each run is printed, then the medians:

  down: median 1.62 s (runs: 1.62 1.71 1.35 1.80 1.58)
  up: median 1.49 s (runs: ...)

The demo pool checks every 1 s with fall 2 and rise 2; the requirement is that a dead replica
leaves every answer within 3 s and a restored one returns within 4 s. Exit status: 0 if both
medians are within those bounds (--down-bound, --up-bound), 1 if not, 2 on a setup error.

Everything it starts is stopped by PID on exit, including on Ctrl-C or SIGTERM; the children also
get SIGTERM from the kernel if this script dies. Every wait has a deadline.

Usage (from the repository root, after building):
  /usr/bin/python3 tools/failover_times.py [--build build] [--runs 5]
  /usr/bin/python3 tools/failover_times.py --addresses 127.0.0.31,127.0.0.32,127.0.0.33 --port 18080

With addresses or a port other than the zone's, a copy of the zone with those members and that
check port is written to a temporary directory and served instead.

Needs dnspython (Debian: python3-dnspython).
"""

import argparse
import ctypes
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError:  # pragma: no cover
    sys.exit("failover_times.py: needs dnspython (apt-get install python3-dnspython)")

ROOT = Path(__file__).resolve().parent.parent
DEMO_ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
DEMO_PORT = 8080


class SetupError(Exception):
    pass


class Stop(Exception):
    """Raised from the SIGINT/SIGTERM handler: unwind and clean up."""


# --------------------------------------------------------------------------------------------
# Processes

def _die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Children:
    """Every process we started, so that exactly those are stopped, by PID."""

    def __init__(self):
        self.procs = []
        self.started = 0

    def start(self, argv, stderr):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True,
                                preexec_fn=_die_with_parent)
        self.procs.append(proc)
        self.started += 1
        return proc

    @staticmethod
    def stop(proc, timeout=5.0):
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs = [p for p in self.procs if p.poll() is None]


def check_bindable(host, port, kinds=(socket.SOCK_STREAM,)):
    for kind in kinds:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind) as s:
            try:
                s.bind((host, port))
            except OSError as e:
                raise SetupError("cannot use %s:%d (%s): is something else running there?"
                                 % (host, port, e.strerror))


def free_dns_port(host):
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        try:
            check_bindable(host, port, (socket.SOCK_DGRAM, socket.SOCK_STREAM))
            return port
        except SetupError:
            continue
    raise SetupError("no free UDP+TCP port on %s" % host)


class Replica:
    def __init__(self, children, binary, host, port, name, logdir):
        self.children = children
        self.binary = binary
        self.host = host
        self.port = port
        self.name = name
        self.log = open(Path(logdir) / ("%s.stderr" % name), "ab")
        self.proc = None

    def start(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        for _ in range(50):
            self.proc = self.children.start(
                [str(self.binary), "--listen", "%s:%d" % (self.host, self.port),
                 "--name", self.name], self.log)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self._accepts():
                    return
                time.sleep(0.01)
            if self.proc.poll() is None:
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)  # exit 1: port not released yet; try again until the deadline
        raise SetupError("replica %s on %s:%d did not come up (see %s)"
                         % (self.name, self.host, self.port, self.log.name))

    def _accepts(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self):
        Children.stop(self.proc)


# --------------------------------------------------------------------------------------------
# DNS

def ask(server, port, qname, timeout=0.5):
    """The A addresses and rcode of one UDP answer, or None if there was none."""
    q = dns.message.make_query(qname, "A")
    q.flags &= ~dns.flags.RD
    try:
        r = dns.query.udp(q, server, port=port, timeout=timeout)
    except (dns.exception.Timeout, OSError, dns.exception.DNSException):
        return None
    addrs = []
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.A:
            addrs += [rd.address for rd in rrset]
    return r.rcode(), addrs


def wait_dns_ready(server, port, origin, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        q = dns.message.make_query(origin, "SOA")
        try:
            r = dns.query.udp(q, server, port=port, timeout=0.2)
            if r.rcode() == dns.rcode.NOERROR and r.answer:
                return True
        except Exception:
            pass
        time.sleep(0.02)
    return False


def measure(server, port, qname, pred, since, period, streak, timeout):
    """Queries every `period` s until pred(addrs) holds for `streak` answers in a row; returns
    the send time of the first of them minus `since`, or None after `timeout` s."""
    run_start = None
    run = 0
    deadline = since + timeout
    next_at = time.monotonic()
    while True:
        sent = time.monotonic()
        if sent > deadline:
            return None
        got = ask(server, port, qname)
        if got is not None and got[0] == dns.rcode.NOERROR and pred(got[1]):
            if run == 0:
                run_start = sent
            run += 1
            if run >= streak:
                return run_start - since
        else:
            run = 0
        next_at += period
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.monotonic()


# --------------------------------------------------------------------------------------------
# Zone

def zone_for(zone_path, addresses, port, tmpdir):
    """The zone to serve: the given one, or a copy with other member addresses / check port."""
    if tuple(addresses) == DEMO_ADDRESSES and port == DEMO_PORT:
        return zone_path
    text = zone_path.read_text()
    for old, new in zip(DEMO_ADDRESSES, addresses):
        text = text.replace('"%s"' % old, '"%s"' % new)
    text, n = re.subn(r"(?m)^(\s*port\s*=\s*)%d\b" % DEMO_PORT, r"\g<1>%d" % port, text)
    if n == 0:
        raise SetupError("%s has no 'port = %d' check to rewrite" % (zone_path, DEMO_PORT))
    out = Path(tmpdir) / zone_path.name
    out.write_text(text)
    return out


def origin_of(zone_path):
    m = re.search(r'(?m)^origin\s*=\s*"([^"]+)"', zone_path.read_text())
    if not m:
        raise SetupError("no origin in %s" % zone_path)
    return m.group(1)


# --------------------------------------------------------------------------------------------

def fmt(t):
    return "%.2f" % t if t is not None else "timeout"


def fmt_s(t):
    return "%.2f s" % t if t is not None else "never (timed out)"


def median_text(label, times):
    # A run that timed out counts as infinitely slow.
    med = statistics.median([t if t is not None else float("inf") for t in times])
    runs = " ".join(fmt(t) for t in times)
    med_text = "%.2f s" % med if med != float("inf") else "timeout"
    return med, "%s: median %s (runs: %s)" % (label, med_text, runs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"),
                    help="build directory holding rrdnsd and rrdns-replica (default: build/)")
    ap.add_argument("--zone", default=str(ROOT / "zones" / "demo.toml"),
                    help="zone to serve (default: zones/demo.toml)")
    ap.add_argument("--name", default="www.demo.test.", help="pool name to query")
    ap.add_argument("--runs", type=int, default=5, help="kill/restart cycles (default 5)")
    ap.add_argument("--addresses", default=",".join(DEMO_ADDRESSES),
                    help="three replica addresses (default 127.0.0.11,127.0.0.12,127.0.0.13)")
    ap.add_argument("--port", type=int, default=DEMO_PORT, help="replica port (default 8080)")
    ap.add_argument("--dns", default="127.0.0.1", help="address rrdnsd listens on")
    ap.add_argument("--dns-port", type=int, default=0, help="rrdnsd port (default: a free one)")
    ap.add_argument("--period", type=float, default=0.05, help="query interval (default 0.05 s)")
    ap.add_argument("--streak", type=int, default=3,
                    help="consecutive answers that must agree (default 3)")
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="give up on one measurement after this many seconds (default 20)")
    ap.add_argument("--down-bound", type=float, default=3.0,
                    help="required median for leaving the answers (default 3 s)")
    ap.add_argument("--up-bound", type=float, default=4.0,
                    help="required median for coming back (default 4 s)")
    ap.add_argument("--seed", type=int, default=None, help="seed for the random pauses")
    args = ap.parse_args(argv)

    if args.runs < 1 or args.runs > 1000:
        ap.error("--runs must be 1..1000")
    if not 0.001 <= args.period <= 5 or args.streak < 1 or args.timeout <= 0:
        ap.error("bad --period, --streak or --timeout")
    addresses = [a.strip() for a in args.addresses.split(",") if a.strip()]
    if len(addresses) != 3:
        ap.error("--addresses needs three addresses")
    rng = random.Random(args.seed)

    build = Path(args.build)
    rrdnsd, replica_bin = build / "rrdnsd", build / "rrdns-replica"
    children = Children()
    tmpdir = tempfile.mkdtemp(prefix="failover-times-")
    daemon = None
    daemon_log = Path(tmpdir) / "rrdnsd.stderr"

    def on_signal(signum, frame):
        raise Stop(signal.Signals(signum).name)

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 2
    try:
        for b in (rrdnsd, replica_bin):
            if not b.exists():
                raise SetupError("%s not found (build first, or pass --build)" % b)
        zone_src = Path(args.zone)
        if not zone_src.exists():
            raise SetupError("zone %s not found" % zone_src)
        zone = zone_for(zone_src, addresses, args.port, tmpdir)
        origin = origin_of(zone)
        for host in addresses:
            check_bindable(host, args.port)
        dns_port = args.dns_port or free_dns_port(args.dns)

        replicas = [Replica(children, replica_bin, host, args.port, "web%s" % host.split(".")[-1],
                            tmpdir) for host in addresses]
        for r in replicas:
            r.start()
        with open(daemon_log, "wb") as log:
            daemon = children.start([str(rrdnsd), "--listen", "%s:%d" % (args.dns, dns_port),
                                     "--threads", "1", str(zone)], log)
        if not wait_dns_ready(args.dns, dns_port, origin, daemon, 10.0):
            raise SetupError("rrdnsd did not answer on %s:%d:\n%s" % (
                args.dns, dns_port, daemon_log.read_text(errors="replace")[-3000:]))
        print("rrdnsd %s:%d serving %s; replicas %s port %d; querying %s every %g s" % (
            args.dns, dns_port, zone, ",".join(addresses), args.port, args.name, args.period),
            flush=True)

        everyone = set(addresses)
        t = measure(args.dns, dns_port, args.name, lambda a: everyone <= set(a),
                    time.monotonic(), args.period, args.streak, args.timeout)
        if t is None:
            raise SetupError("%s never answered all three replicas:\n%s" % (
                args.name, daemon_log.read_text(errors="replace")[-3000:]))

        downs, ups = [], []
        for i in range(args.runs):
            victim = replicas[i % len(replicas)]
            # Kill at a random phase of the check interval, so the runs sample it.
            time.sleep(rng.uniform(0.0, 1.0))
            if daemon.poll() is not None:
                raise SetupError("rrdnsd exited (status %s)" % daemon.returncode)
            since = time.monotonic()
            victim.kill()
            down = measure(args.dns, dns_port, args.name, lambda a: victim.host not in a,
                           since, args.period, args.streak, args.timeout)
            time.sleep(rng.uniform(0.0, 1.0))
            since = time.monotonic()
            victim.start()
            up = measure(args.dns, dns_port, args.name, lambda a: victim.host in a,
                         since, args.period, args.streak, args.timeout)
            downs.append(down)
            ups.append(up)
            print("run %d: %s (%s) killed: absent after %s; restarted: back after %s" % (
                i + 1, victim.name, victim.host, fmt_s(down), fmt_s(up)), flush=True)
            if up is None:
                # Without it back, later runs would measure something else.
                everyone_back = measure(args.dns, dns_port, args.name,
                                        lambda a: everyone <= set(a), time.monotonic(),
                                        args.period, args.streak, args.timeout)
                if everyone_back is None:
                    raise SetupError("%s did not come back; stopping" % victim.name)

        down_med, down_line = median_text("down", downs)
        up_med, up_line = median_text("up", ups)
        print(down_line)
        print(up_line)
        ok = True
        if not down_med <= args.down_bound:
            print("FAIL: a dead replica must leave every answer within %g s (median)"
                  % args.down_bound)
            ok = False
        if not up_med <= args.up_bound:
            print("FAIL: a restored replica must be back within %g s (median)" % args.up_bound)
            ok = False
        status = 0 if ok else 1
    except SetupError as e:
        print("failover_times.py: %s" % e, file=sys.stderr)
        status = 2
    except Stop as e:
        print("failover_times.py: interrupted (%s), stopping what it started" % e,
              file=sys.stderr)
        status = 130
    finally:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)  # no second interrupt in the middle of cleanup
        children.stop_all()
        for s, h in old_handlers.items():
            signal.signal(s, h)
        if status in (0, 130) or not children.started:
            shutil.rmtree(tmpdir, ignore_errors=True)
        else:
            print("logs kept in %s" % tmpdir, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
