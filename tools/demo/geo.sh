#!/usr/bin/env bash
# geo.sh -- zones/geo.toml on loopback: the nearest healthy site by client subnet.
#   site east                   rrdns-replica east1-3 on 127.0.1.1-3:$WEB_PORT (default 8080)
#   site west                   rrdns-replica west1-3 on 127.0.2.1-3:$WEB_PORT
#   rrdnsd                      on 127.0.0.1:$PORT (default 5353), answering www.geo.test by the
#                               map geo: 10.1.0.0/16 -> east, west; 10.2.0.0/16 -> west, east;
#                               everyone else -> east, west
# Clients are played by `dig +subnet=...` (EDNS Client Subnet, RFC 7871): it shows east clients
# on east and west clients on west with the scope of each answer, stops the east replicas and
# shows 10.1.x clients moving to west (and how long that took), then starts them again and shows
# them coming back. It then keeps everything running until Ctrl-C (or exits, with --once).
# Either port may be "auto": a free one is picked (the ctest demo-geo does that).
# Exit status: 0 when every step showed what it should, 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PORT=${PORT:-5353}
WEB_PORT=${WEB_PORT:-8080}
ONCE=false
[[ ${1:-} == --once ]] && ONCE=true

EAST=(127.0.1.1 127.0.1.2 127.0.1.3)
WEST=(127.0.2.1 127.0.2.2 127.0.2.3)

source "$ROOT/tools/demo/common.sh"
demo_needs geo.sh rrdnsd rrdns-replica rrdnsctl
[[ $PORT == auto ]] && PORT=$(free_port 127.0.0.1)
[[ $WEB_PORT == auto ]] && WEB_PORT=$(free_port "${EAST[@]}" "${WEST[@]}")

WORK=$(mktemp -d)
PIDS=()
declare -A REPLICA_PID=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}" "${REPLICA_PID[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n==> %s\n' "$*"; }
failed=0
fail() { printf 'FAIL: %s\n' "$*"; failed=1; }

# start_replica NAME ADDRESS / stop_replica ADDRESS: by the PID this script started.
start_replica() {
  "$BUILD_DIR/rrdns-replica" --listen "$2:$WEB_PORT" --name "$1" 2>>"$WORK/$1.log" &
  REPLICA_PID[$2]=$!
}
stop_replica() {
  kill "${REPLICA_PID[$1]}" 2>/dev/null || true
  wait "${REPLICA_PID[$1]}" 2>/dev/null || true
  unset "REPLICA_PID[$1]"
}

# ask SUBNET: "ADDRESSES (scope N)" for www.geo.test A as a client of SUBNET sees it; the
# addresses sorted, the scope from the ECS option of the answer ("-" without one).
ask() {
  local out addrs scope
  out=$(dig @127.0.0.1 -p "$PORT" www.geo.test A +subnet="$1" +time=1 +tries=1 +norecurse) || true
  addrs=$(awk '$1 == "www.geo.test." && $4 == "A" { print $5 }' <<<"$out" | sort | tr '\n' ' ')
  scope=$(sed -n 's/^; CLIENT-SUBNET: [^ ]*\/\([0-9]*\)$/\1/p' <<<"$out")
  printf '%s(scope %s)' "$addrs" "${scope:--}"
}

# expect SUBNET ADDRESS...: waits (at most 15 s) until clients of SUBNET get exactly these
# addresses; prints the answer and how long it took to show.
expect() {
  local subnet=$1 want got i start now
  shift
  want="$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
  start=$(date +%s%N)
  for i in $(seq 150); do
    got=$(ask "$subnet")
    if [[ ${got%(scope*} == "$want" ]]; then
      now=$(date +%s%N)
      printf '   dig www.geo.test +subnet=%-15s %s after %d ms\n' "$subnet" "$got" \
        $(((now - start) / 1000000))
      return 0
    fi
    sleep 0.1
  done
  fail "clients of $subnet got '${got}', expected '${want}'"
}

say "site east: replicas east1-3 on 127.0.1.1-3:$WEB_PORT; site west: west1-3 on 127.0.2.1-3:$WEB_PORT"
for i in 1 2 3; do
  start_replica "east$i" "127.0.1.$i"
  start_replica "west$i" "127.0.2.$i"
done

say "rrdnsd on 127.0.0.1:$PORT serving zones/geo.toml"
sed "s/^port = 8080$/port = $WEB_PORT/" "$ROOT/zones/geo.toml" >"$WORK/geo.toml"
"$BUILD_DIR/rrdnsd" --listen "127.0.0.1:$PORT" --threads 1 --control "$WORK/rrdnsd.sock" \
  "$WORK/geo.toml" 2>"$WORK/rrdnsd.log" &
RRDNSD_PID=$!
PIDS+=("$RRDNSD_PID")
for i in $(seq 75); do
  if ! kill -0 "$RRDNSD_PID" 2>/dev/null; then
    echo "geo.sh: rrdnsd did not start:" >&2
    cat "$WORK/rrdnsd.log" >&2
    exit 1
  fi
  dig @127.0.0.1 -p "$PORT" geo.test SOA +short +time=1 +tries=1 | grep -q . && break
  sleep 0.2
done
# Its health and pool lines, as they come.
tail -n +1 -f "$WORK/rrdnsd.log" --pid "$RRDNSD_PID" | grep --line-buffered -E 'health|pool|site' &
PIDS+=($!)

say "east clients (10.1.0.0/16) get east, west clients (10.2.0.0/16) west, others east"
expect 10.1.2.0/24 "${EAST[@]}"
expect 10.2.5.0/24 "${WEST[@]}"
expect 192.0.2.0/24 "${EAST[@]}"
expect 2001:db8::/48 "${EAST[@]}"

say "the east replicas stop: east's clients spill to west"
for a in "${EAST[@]}"; do stop_replica "$a"; done
expect 10.1.2.0/24 "${WEST[@]}"
expect 192.0.2.0/24 "${WEST[@]}"
expect 10.2.5.0/24 "${WEST[@]}"

say "the east replicas start again: east's clients come back"
for i in 1 2 3; do start_replica "east$i" "127.0.1.$i"; done
expect 10.1.2.0/24 "${EAST[@]}"
expect 10.2.5.0/24 "${WEST[@]}"
RRDNS_CONTROL=$WORK/rrdnsd.sock "$BUILD_DIR/rrdnsctl" pool www

if [[ $failed -ne 0 ]]; then
  say "some steps failed; logs in $WORK are removed on exit:"
  cat "$WORK/rrdnsd.log"
  exit 1
fi
say "all steps passed"
$ONCE && exit 0
cat <<EOT

Everything keeps running; Ctrl-C stops it. Try, in another terminal (docs/topology.md):
  export PATH=$BUILD_DIR:\$PATH RRDNS_CONTROL=$WORK/rrdnsd.sock
  dig @127.0.0.1 -p $PORT www.geo.test +subnet=10.1.2.0/24       # east, with the ECS scope
  dig @127.0.0.1 -p $PORT www.geo.test +subnet=10.2.5.0/24       # west
  curl -d state=down http://127.0.1.1:$WEB_PORT/admin/health     # one east replica fails its check
  rrdnsctl pool www
  rrdnsctl explain www.geo.test --subnet 10.1.2.0/24
EOT
wait "$RRDNSD_PID"
