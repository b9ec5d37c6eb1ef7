#!/usr/bin/env bash
# soak.sh -- soak test: rrdnsd under dnsperf load while zones reload every 100 ms and a pool
# member flaps every second; fails on any lost query, resident memory growth over 10 %, a
# sanitizer report, or rrdnsd not exiting 0 on SIGTERM.
#
#   tools/soak.sh [--duration N] [--quick] [--build-dir DIR] [--rate QPS] [--tcp-rate QPS]
#                 [--rss-limit PCT] [--keep]
#
# Everything runs on loopback: three rrdns-replica on 127.0.0.11-13 (one free port), rrdnsd on
# 127.0.0.1 (free port, --threads 2, a control socket) serving a copy of zones/rr.test.toml and
# a pool zone soak.test. over the replicas. For DURATION seconds (default 60, --quick: 8):
#   - dnsperf over UDP at --rate (default 20000 q/s) and over TCP at --tcp-rate (default 2000);
#   - every 100 ms the pool zone is rewritten (serial + 1, alternating two sets of static
#     records) and reloaded with `rrdnsctl reload`;
#   - every second replica 127.0.0.12 is told to fail or pass its health check (POST
#     /admin/health), so the pool drops and regains it;
#   - rrdnsd's VmRSS is sampled every second; the baseline is taken after a warm-up, and the
#     end may exceed it by --rss-limit % (default 10). With an AddressSanitizer build the
#     growth is only reported unless --rss-limit is given: ASan's quarantine and allocator
#     caches grow RSS for a minute or more by design (LeakSanitizer checks leaks at exit).
# Environment: BUILD_DIR (default build/; --build-dir wins), DNSPERF (default: dnsperf on PATH).
# Exit status: 0 pass, 1 a check failed, 2 usage or setup error. Logs stay in the work
# directory (printed) when the run fails or with --keep.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DURATION=60
WARMUP=3
RATE=20000
TCP_RATE=2000
KEEP=0
RSS_LIMIT=        # percent; empty: 10, or not enforced for an ASan build
RELOAD_EVERY_US=100000
FLAP_EVERY_US=1000000
FLAP_ADDR=127.0.0.12

usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }
die() { printf 'soak: %s\n' "$*" >&2; exit 2; }

while (($#)); do
  case $1 in
    --duration) (($# >= 2)) || die "--duration needs a value"; DURATION=$2; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --quick) DURATION=8; WARMUP=2; shift ;;
    --build-dir) (($# >= 2)) || die "--build-dir needs a value"; BUILD_DIR=$2; shift 2 ;;
    --build-dir=*) BUILD_DIR=${1#*=}; shift ;;
    --rate) (($# >= 2)) || die "--rate needs a value"; RATE=$2; shift 2 ;;
    --rate=*) RATE=${1#*=}; shift ;;
    --tcp-rate) (($# >= 2)) || die "--tcp-rate needs a value"; TCP_RATE=$2; shift 2 ;;
    --tcp-rate=*) TCP_RATE=${1#*=}; shift ;;
    --rss-limit) (($# >= 2)) || die "--rss-limit needs a value"; RSS_LIMIT=$2; shift 2 ;;
    --rss-limit=*) RSS_LIMIT=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 4 && DURATION <= 86400)) ||
  die "--duration wants whole seconds, 4-86400"
[[ $RATE =~ ^[0-9]+$ ]] && ((RATE >= 1)) || die "--rate wants a positive number"
[[ $TCP_RATE =~ ^[0-9]+$ ]] || die "--tcp-rate wants a number (0: no TCP load)"
[[ -z $RSS_LIMIT || $RSS_LIMIT =~ ^[0-9]+$ ]] || die "--rss-limit wants a whole percentage"
((WARMUP < DURATION - 1)) || WARMUP=1

BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || die "no build directory '$BUILD_DIR'"
RRDNSD=$BUILD_DIR/rrdnsd
RRDNSCTL=$BUILD_DIR/rrdnsctl
REPLICA=$BUILD_DIR/rrdns-replica
for b in "$RRDNSD" "$RRDNSCTL" "$REPLICA"; do
  [[ -x $b ]] || die "$b not found: build it (cmake --build $BUILD_DIR) or set BUILD_DIR"
done
ASAN=0
grep -q __asan_init "$RRDNSD" && ASAN=1
if [[ -z $RSS_LIMIT ]]; then ((ASAN)) || RSS_LIMIT=10; fi
DNSPERF=${DNSPERF:-$(command -v dnsperf || true)}
[[ -n $DNSPERF && -x $DNSPERF ]] || die "dnsperf not found (Debian package dnsperf)"
command -v curl >/dev/null || die "curl not found (Debian package curl)"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || die "python3 not found"

WORK=$(mktemp -d /tmp/rrsoak.XXXXXX)
PIDS=()          # every process started here, stopped by PID on exit
REPLICA_PIDS=()
RRDNSD_PID=
FAILED=1         # cleared once every check passed

stop_pid() {     # SIGTERM, up to 5 s, then SIGKILL; only our own children
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if ((FAILED || KEEP)); then
    printf 'soak: logs kept in %s\n' "$WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# One port free on 127.0.0.11-13 for the replicas (TCP), one free for UDP and TCP on 127.0.0.1.
read -r HTTP_PORT DNS_PORT < <("$PY" - <<'EOF'
import socket
def free(hosts, kinds):
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as p:
            p.bind((hosts[0], 0))
            port = p.getsockname()[1]
            held, ok = [], True
            try:
                for h in hosts:
                    for k in kinds:
                        if h == hosts[0] and k == socket.SOCK_STREAM:
                            continue
                        s = socket.socket(socket.AF_INET, k)
                        held.append(s)
                        try:
                            s.bind((h, port))
                        except OSError:
                            ok = False
            finally:
                for s in held:
                    s.close()
            if ok:
                return port
    raise SystemExit("no free port")
http = free(["127.0.0.11", "127.0.0.12", "127.0.0.13"], [socket.SOCK_STREAM])
dns = free(["127.0.0.1"], [socket.SOCK_DGRAM, socket.SOCK_STREAM])
print(http, dns)
EOF
) || die "could not find free ports"
[[ -n ${DNS_PORT:-} ]] || die "could not find free ports"

# --- replicas ---
for n in 11 12 13; do
  "$REPLICA" --listen "127.0.0.$n:$HTTP_PORT" --name "soak$n" </dev/null \
    >"$WORK/replica$n.log" 2>&1 &
  PIDS+=($!)
  REPLICA_PIDS+=($!)
done
for n in 11 12 13; do
  for ((i = 0; i < 100; i++)); do
    curl -fs -m 1 -o /dev/null "http://127.0.0.$n:$HTTP_PORT/healthz" && break
    sleep 0.1
  done
  ((i < 100)) || die "replica 127.0.0.$n:$HTTP_PORT did not come up: $(tail -3 "$WORK/replica$n.log")"
done

# --- zones ---
cp "$ROOT/zones/rr.test.toml" "$WORK/rr.test.toml"
POOL_ZONE=$WORK/soak.test.toml

pool_zone() {    # pool_zone SERIAL: version A (even) or B (odd) of soak.test.
  local serial=$1 static info
  if ((serial % 2)); then
    static='"192.0.2.11", "192.0.2.12"'; info='"version b"'
  else
    static='"192.0.2.1", "192.0.2.2", "192.0.2.3"'; info='"version a"'
  fi
  cat <<EOF
# soak.test. -- written by tools/soak.sh; serial $serial
origin = "soak.test."
ttl = 30
[soa]
primary = "ns1"
contact = "hostmaster"
serial = $serial
minimum = 60
[names."@"]
NS = "ns1"
TXT = $info
[names.ns1]
A = "127.0.0.1"
[names.static]
A = [$static]
[pools.www]
names = ["www"]
policy = "rotate"
ttl = 5
degraded-ttl = 2
members = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
[pools.www.check]
type = "http"
port = $HTTP_PORT
path = "/healthz"
interval = 0.25
timeout = 0.2
rise = 2
fall = 2
EOF
}

write_pool_zone() {   # atomically, so a reload never reads half a file
  pool_zone "$1" >"$POOL_ZONE.tmp" && mv -f "$POOL_ZONE.tmp" "$POOL_ZONE"
}
write_pool_zone 1

cat >"$WORK/queries.txt" <<'EOF'
www.rr.test A
api.rr.test AAAA
alias.rr.test A
rr.test MX
rr.test SOA
mail.rr.test A
nosuch.rr.test A
www.soak.test A
www.soak.test A
static.soak.test A
soak.test TXT
soak.test SOA
EOF

# --- rrdnsd ---
SOCK=$WORK/control.sock
: >"$WORK/rrdnsd.log"   # exists before the first grep below, whenever the child opens it
"$RRDNSD" --listen "127.0.0.1:$DNS_PORT" --threads 2 --control "$SOCK" \
  "$WORK/rr.test.toml" "$POOL_ZONE" </dev/null >"$WORK/rrdnsd.out" 2>"$WORK/rrdnsd.log" &
RRDNSD_PID=$!
PIDS+=("$RRDNSD_PID")
for ((i = 0; i < 200; i++)); do
  grep -q 'listening on' "$WORK/rrdnsd.log" && break
  kill -0 "$RRDNSD_PID" 2>/dev/null || die "rrdnsd exited at start: $(tail -5 "$WORK/rrdnsd.log")"
  sleep 0.1
done
((i < 200)) || die "rrdnsd did not start within 20 s: $(tail -5 "$WORK/rrdnsd.log")"
ctl() { "$RRDNSCTL" --socket "$SOCK" --timeout 10 "$@"; }
# Wait (bounded) until the pool has all three members up, so the flaps start from a known state.
for ((i = 0; i < 100; i++)); do
  ctl status 2>/dev/null | grep -Eq '^ *www +soak\.test\. +A +healthy +3 +3\b' && break
  sleep 0.1
done

printf 'soak: %d s, rrdnsd %s (pid %d) on 127.0.0.1:%d, replicas 127.0.0.11-13:%d, work %s\n' \
  "$DURATION" "$RRDNSD" "$RRDNSD_PID" "$DNS_PORT" "$HTTP_PORT" "$WORK" >&2

START_US=${EPOCHREALTIME/./}
END_US=$((START_US + DURATION * 1000000))

# --- load ---
"$DNSPERF" -s 127.0.0.1 -p "$DNS_PORT" -m udp -d "$WORK/queries.txt" -l "$DURATION" \
  -Q "$RATE" -q 200 -t 5 </dev/null >"$WORK/dnsperf-udp.out" 2>&1 &
PERF_UDP=$!
PIDS+=("$PERF_UDP")
PERF_TCP=
if ((TCP_RATE > 0)); then
  "$DNSPERF" -s 127.0.0.1 -p "$DNS_PORT" -m tcp -c 2 -d "$WORK/queries.txt" -l "$DURATION" \
    -Q "$TCP_RATE" -q 20 -t 5 </dev/null >"$WORK/dnsperf-tcp.out" 2>&1 &
  PERF_TCP=$!
  PIDS+=("$PERF_TCP")
fi

# --- a reload every 100 ms until the end (bounded by time and count) ---
reload_loop() {   # one reload starts every RELOAD_EVERY_US; a late one starts at once
  local serial=1 ok=0 failed=0 n wait_us next=$START_US t0 took slowest=0
  for ((n = 0; n < DURATION * 20 && ${EPOCHREALTIME/./} < END_US; n++)); do
    serial=$((serial + 1))
    write_pool_zone "$serial"
    t0=${EPOCHREALTIME/./}
    if ctl reload >>"$WORK/reload.out" 2>&1; then
      ok=$((ok + 1))
      took=$((${EPOCHREALTIME/./} - t0))
      echo "$(((t0 - START_US) / 1000)) $((took / 1000))" >>"$WORK/reload-ms"
      ((took <= slowest)) || slowest=$took
    else
      failed=$((failed + 1))
      echo "reload of serial $serial failed" >>"$WORK/reload.out"
    fi
    echo "$ok $failed $serial $((slowest / 1000))" >"$WORK/reloads"
    next=$((next + RELOAD_EVERY_US))
    wait_us=$((next - ${EPOCHREALTIME/./}))
    if ((wait_us > 0)); then
      sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
    else
      next=${EPOCHREALTIME/./}
    fi
  done
}
reload_loop &
PIDS+=($!)
RELOAD_PID=$!

# --- one replica flaps every second (bounded by time and count) ---
flap_loop() {     # a flap at START + 1 s, + 2 s, ...
  local done=0 failed=0 n state=down wait_us
  for ((n = 1; n <= DURATION && ${EPOCHREALTIME/./} < END_US; n++)); do
    wait_us=$((START_US + n * FLAP_EVERY_US - ${EPOCHREALTIME/./}))
    ((wait_us <= 0)) || sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
    ((${EPOCHREALTIME/./} < END_US)) || break
    if curl -fs -m 2 -o /dev/null -d "state=$state" "http://$FLAP_ADDR:$HTTP_PORT/admin/health"; then
      done=$((done + 1))
    else
      failed=$((failed + 1))
    fi
    echo "$done $failed" >"$WORK/flaps"
    [[ $state == down ]] && state=up || state=down
  done
}
flap_loop &
PIDS+=($!)
FLAP_PID=$!

# --- RSS every second, in this shell ---
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
RSS_BASE='' RSS_MAX=0 RSS_END='' ALIVE=1
: >"$WORK/rss"
for ((n = 0; n <= DURATION + 1; n++)); do
  now=${EPOCHREALTIME/./}
  ((now < END_US)) || break
  rss=$(rss_kb "$RRDNSD_PID")
  if [[ -z $rss ]]; then ALIVE=0; break; fi
  t=$(((now - START_US) / 1000000))
  echo "$t $rss" >>"$WORK/rss"
  if [[ -z $RSS_BASE ]] && ((now - START_US >= WARMUP * 1000000)); then RSS_BASE=$rss; fi
  if [[ -n $RSS_BASE ]]; then
    ((rss > RSS_MAX)) && RSS_MAX=$rss
    RSS_END=$rss
  fi
  left=$(((END_US - now) / 1000))
  if ((left >= 1000)); then sleep 1; else sleep "0.$(printf '%03d' "$left")"; fi
done
# The last sample is taken as the load ends.
if ((ALIVE)); then
  rss=$(rss_kb "$RRDNSD_PID")
  if [[ -n $rss ]]; then
    echo "$DURATION $rss" >>"$WORK/rss"
    RSS_END=$rss
    [[ -n $RSS_BASE ]] && ((rss > RSS_MAX)) && RSS_MAX=$rss
  else
    ALIVE=0
  fi
fi

# --- wind down: dnsperf finishes by itself (its time limit + query timeout) ---
wait_bounded() {   # wait_bounded PID SECONDS: its exit status, or 124 after killing it
  local pid=$1 i rc=0
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid"; return 124; fi
  wait "$pid" || rc=$?
  return "$rc"
}
PERF_UDP_RC=0; wait_bounded "$PERF_UDP" 30 || PERF_UDP_RC=$?
PERF_TCP_RC=0; [[ -z $PERF_TCP ]] || wait_bounded "$PERF_TCP" 30 || PERF_TCP_RC=$?
wait_bounded "$RELOAD_PID" 20 || true
wait_bounded "$FLAP_PID" 10 || true

STATS=$(ctl stats 2>&1 || true)
echo "$STATS" >"$WORK/stats.out"
POOL_LOG_DOWN=$(grep -c "health: .*$FLAP_ADDR.* is down" "$WORK/rrdnsd.log" || true)
POOL_LOG_UP=$(grep -c "health: .*$FLAP_ADDR.* is up" "$WORK/rrdnsd.log" || true)

# --- stop rrdnsd: it must still be running and exit 0 on SIGTERM ---
kill -0 "$RRDNSD_PID" 2>/dev/null || ALIVE=0
RRDNSD_RC=
if ((ALIVE)); then
  kill -TERM "$RRDNSD_PID"
  RRDNSD_RC=0
  wait_bounded "$RRDNSD_PID" 30 || RRDNSD_RC=$?
else
  RRDNSD_RC=0; wait "$RRDNSD_PID" 2>/dev/null || RRDNSD_RC=$?
fi
# Everything else has been reaped by now; stop the replicas (their sanitizer output counts too).
PIDS=("${REPLICA_PIDS[@]}")
for pid in "${PIDS[@]}"; do stop_pid "$pid"; done

# --- report ---
perf_field() {   # perf_field FILE LABEL -> the number after "LABEL:"
  sed -n "s/^ *$2: *\([0-9][0-9]*\).*/\1/p" "$1" 2>/dev/null | head -1
}
perf_line() {
  local f=$1 sent completed lost
  sent=$(perf_field "$f" 'Queries sent'); completed=$(perf_field "$f" 'Queries completed')
  lost=$(perf_field "$f" 'Queries lost')
  printf 'sent %s  completed %s  lost %s' "${sent:-?}" "${completed:-?}" "${lost:-?}"
}
REASONS=()
check_perf() {   # check_perf NAME FILE RC
  local sent lost
  sent=$(perf_field "$2" 'Queries sent'); lost=$(perf_field "$2" 'Queries lost')
  if [[ $3 != 0 ]]; then REASONS+=("dnsperf $1 exited $3"); fi
  if [[ -z $sent || -z $lost ]]; then REASONS+=("no dnsperf $1 summary (see $2)"); return; fi
  ((sent > 0)) || REASONS+=("dnsperf $1 sent nothing")
  ((lost == 0)) || REASONS+=("dnsperf $1 lost $lost queries")
}
check_perf udp "$WORK/dnsperf-udp.out" "$PERF_UDP_RC"
[[ -z $PERF_TCP ]] || check_perf tcp "$WORK/dnsperf-tcp.out" "$PERF_TCP_RC"

read -r RELOADS_OK RELOADS_FAILED LAST_SERIAL RELOAD_MAX_MS <"$WORK/reloads" 2>/dev/null || true
RELOADS_OK=${RELOADS_OK:-0}; RELOADS_FAILED=${RELOADS_FAILED:-0}
((RELOADS_FAILED == 0)) || REASONS+=("$RELOADS_FAILED reloads failed (see $WORK/reload.out)")
((RELOADS_OK > 0)) || REASONS+=("no reload succeeded")
STATS_RELOADS=$(echo "$STATS" | sed -n 's/^ *reloads\.ok: *\([0-9]*\).*/\1/p' | head -1)
read -r FLAPS FLAPS_FAILED <"$WORK/flaps" 2>/dev/null || true
FLAPS=${FLAPS:-0}; FLAPS_FAILED=${FLAPS_FAILED:-0}
((FLAPS_FAILED == 0)) || REASONS+=("$FLAPS_FAILED flap requests failed")

GROWTH='?'
if [[ -n $RSS_BASE && -n $RSS_END ]]; then
  GROWTH=$(awk -v b="$RSS_BASE" -v e="$RSS_END" 'BEGIN { printf "%.1f", (e - b) * 100 / b }')
  if [[ -n $RSS_LIMIT ]]; then
    awk -v g="$GROWTH" -v l="$RSS_LIMIT" 'BEGIN { exit !(g <= l) }' ||
      REASONS+=("RSS grew $GROWTH % (over $RSS_LIMIT %)")
  fi
else
  REASONS+=("no RSS baseline (rrdnsd gone before the warm-up ended?)")
fi

SAN_PATTERN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer'
SAN=$(grep -E -m 3 "$SAN_PATTERN" "$WORK"/rrdnsd.log "$WORK"/replica*.log 2>/dev/null || true)
[[ -z $SAN ]] || REASONS+=("sanitizer report")
((ALIVE)) || REASONS+=("rrdnsd was not running at the end")
if ((ALIVE)); then
  [[ $RRDNSD_RC == 0 ]] || REASONS+=("rrdnsd exited $RRDNSD_RC on SIGTERM")
fi

if ((${#REASONS[@]} == 0)); then FAILED=0; RESULT=PASS; else RESULT=FAIL; fi

{
  echo "soak summary: $DURATION s, build $BUILD_DIR"
  echo "  queries udp:  $(perf_line "$WORK/dnsperf-udp.out")  (-Q $RATE)"
  [[ -z $PERF_TCP ]] || echo "  queries tcp:  $(perf_line "$WORK/dnsperf-tcp.out")  (-Q $TCP_RATE)"
  echo "  reloads:      $RELOADS_OK ok, $RELOADS_FAILED failed (rrdnsctl stats reloads.ok: ${STATS_RELOADS:-?}; last serial ${LAST_SERIAL:-?}; slowest ${RELOAD_MAX_MS:-?} ms)"
  echo "  flaps:        $FLAPS ($FLAP_ADDR; rrdnsd logged it down $POOL_LOG_DOWN times, up $POOL_LOG_UP times)"
  echo "  rss kB:       warm-up ${RSS_BASE:-?} (after ${WARMUP} s)  max $RSS_MAX  end ${RSS_END:-?}  growth $GROWTH % ($( [[ -n $RSS_LIMIT ]] && echo "limit $RSS_LIMIT %" || echo "ASan build: not enforced"))"
  if [[ -z $SAN ]]; then
    echo "  sanitizer:    no report"
  else
    echo "  sanitizer:    REPORT:"
    echo "$SAN" | sed 's/^/    /'
  fi
  if ((ALIVE)); then
    echo "  rrdnsd:       alive at the end, exit status $RRDNSD_RC on SIGTERM"
  else
    echo "  rrdnsd:       DIED before the end (exit status $RRDNSD_RC)"
  fi
  echo "  result:       $RESULT"
  for r in "${REASONS[@]}"; do echo "    - $r"; done
} | tee "$WORK/summary"

((FAILED == 0)) || exit 1
exit 0
