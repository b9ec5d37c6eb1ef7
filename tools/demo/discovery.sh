#!/usr/bin/env bash
# discovery.sh -- docker/compose.yaml's topology without Docker, on loopback:
#   three web replicas          rrdns-replica on 127.0.0.11-13:$WEB_PORT (default 8080)
#   a service directory         rrdnsd on 127.0.0.1:$DIR_PORT (default 5380) serving
#                               web.svc.test (what Docker's or Kubernetes' DNS does there)
#   rrdnsd                      on 127.0.0.1:$PORT (default 5353), answering www.disc.test from
#                               whatever web.svc.test resolves to (zones/discovery.toml)
# It walks through a scale-down and a scale-up of the replica set, checking each step with dig
# and rrdns-verify, then keeps everything running until Ctrl-C (or exits, with --once).
# Any of the ports may be "auto": a free one is picked (the ctest demo-discovery does that).
# Exit status: 0 when every step showed what it should, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PORT=${PORT:-5353}
DIR_PORT=${DIR_PORT:-5380}
WEB_PORT=${WEB_PORT:-8080}
ONCE=false
[[ ${1:-} == --once ]] && ONCE=true

source "$ROOT/tools/demo/common.sh"
demo_needs discovery.sh rrdnsd rrdns-replica rrdns-verify rrdnsctl
[[ $PORT == auto ]] && PORT=$(free_port 127.0.0.1)
[[ $DIR_PORT == auto ]] && DIR_PORT=$(free_port 127.0.0.1)
[[ $WEB_PORT == auto ]] && WEB_PORT=$(free_port 127.0.0.11 127.0.0.12 127.0.0.13)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n==> %s\n' "$*"; }
# Waits (at most 10 s) until the daemon on $1 answers the SOA of $2; stops the demo if it died.
wait_ready() {
  local port=$1 zone=$2 pid=$3 log=$4 i
  for i in $(seq 50); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "discovery.sh: the rrdnsd for $zone did not start:" >&2
      cat "$log" >&2
      exit 1
    fi
    dig @127.0.0.1 -p "$port" "$zone" SOA +short +time=1 +tries=1 | grep -q . && return 0
    sleep 0.2
  done
  echo "discovery.sh: the rrdnsd for $zone does not answer on port $port" >&2
  exit 1
}
failed=0
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }

# The directory's zone: web.svc.test has one A record per replica "in the service".
directory_zone() {
  local serial=$1 a
  shift
  {
    printf '$ORIGIN svc.test.\n$TTL 60\n'
    printf '@ SOA ns1 hostmaster %s 3600 900 604800 60\n@ NS ns1\nns1 A 127.0.0.1\n' "$serial"
    for a in "$@"; do printf 'web 1 A %s\n' "$a"; done
  } >"$WORK/svc.test.zone.tmp"
  mv "$WORK/svc.test.zone.tmp" "$WORK/svc.test.zone"
}

# Waits (at most 15 s) until `dig www.disc.test` answers exactly the addresses given.
expect_answers() {
  local want got i
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  for i in $(seq 75); do
    got=$(dig @127.0.0.1 -p "$PORT" www.disc.test A +short +time=1 +tries=1 | sort | tr '\n' ' ')
    if [[ $got == "$want" ]]; then
      echo "   dig www.disc.test: ${got}(after $((i * 200)) ms)"
      return 0
    fi
    sleep 0.2
  done
  fail "www.disc.test answered '${got}', expected '${want}'"
}

say "web replicas web11-13 on 127.0.0.11-13:$WEB_PORT"
for i in 11 12 13; do
  "$BUILD_DIR/rrdns-replica" --listen "127.0.0.$i:$WEB_PORT" --name "web$i" 2>"$WORK/web$i.log" &
  PIDS+=($!)
done

say "service directory on 127.0.0.1:$DIR_PORT: web.svc.test -> 127.0.0.11 127.0.0.12 127.0.0.13"
directory_zone 1 127.0.0.11 127.0.0.12 127.0.0.13
"$BUILD_DIR/rrdnsd" --listen "127.0.0.1:$DIR_PORT" --threads 1 --log-level warn \
  "$WORK/svc.test.zone" 2>"$WORK/directory.log" &
DIR_PID=$!
PIDS+=("$DIR_PID")
wait_ready "$DIR_PORT" svc.test "$DIR_PID" "$WORK/directory.log"

say "rrdnsd on 127.0.0.1:$PORT, discovering www's members from web.svc.test"
sed "s/port = 8080/port = $WEB_PORT/" "$ROOT/zones/discovery.toml" >"$WORK/discovery.toml"
"$BUILD_DIR/rrdnsd" --listen "127.0.0.1:$PORT" --threads 1 --resolver "127.0.0.1:$DIR_PORT" \
  --control "$WORK/rrdnsd.sock" "$WORK/discovery.toml" 2>"$WORK/rrdnsd.log" &
RRDNSD_PID=$!
PIDS+=("$RRDNSD_PID")
wait_ready "$PORT" disc.test "$RRDNSD_PID" "$WORK/rrdnsd.log"
# Its discovery lines, as they come.
tail -n +1 -f "$WORK/rrdnsd.log" --pid "$RRDNSD_PID" | grep --line-buffered discovery &
PIDS+=($!)

expect_answers 127.0.0.11 127.0.0.12 127.0.0.13
say "rrdns-verify: 300 queries, every replica first in a third of them"
"$BUILD_DIR/rrdns-verify" rotation --server "127.0.0.1:$PORT" --count 300 \
  --expect 127.0.0.11=1,127.0.0.12=1,127.0.0.13=1 www.disc.test || fail "rotation"

say "scale down: web13 leaves the service (directory reloaded)"
directory_zone 2 127.0.0.11 127.0.0.12
kill -HUP "$DIR_PID"
expect_answers 127.0.0.11 127.0.0.12

say "scale up: web13 is back, but failing its health check: discovered, not answered"
curl -fsS -d state=down "http://127.0.0.13:$WEB_PORT/admin/health" >/dev/null
directory_zone 3 127.0.0.11 127.0.0.12 127.0.0.13
kill -HUP "$DIR_PID"
sleep 3
expect_answers 127.0.0.11 127.0.0.12
say "web13 passes its checks again: it joins"
curl -fsS -d state=up "http://127.0.0.13:$WEB_PORT/admin/health" >/dev/null
expect_answers 127.0.0.11 127.0.0.12 127.0.0.13
RRDNS_CONTROL=$WORK/rrdnsd.sock "$BUILD_DIR/rrdnsctl" pool www

if [[ $failed -ne 0 ]]; then
  say "some steps failed; logs in $WORK are removed on exit:"
  cat "$WORK/rrdnsd.log"
  exit 1
fi
say "all steps passed"
$ONCE && exit 0
cat <<EOT

Everything keeps running; Ctrl-C stops it. Try:
  dig @127.0.0.1 -p $PORT www.disc.test +short
  edit $WORK/svc.test.zone, then: kill -HUP $DIR_PID      (the directory reloads; rrdnsd follows)
  RRDNS_CONTROL=$WORK/rrdnsd.sock $BUILD_DIR/rrdnsctl pool www
EOT
wait
