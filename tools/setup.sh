#!/usr/bin/env bash
# setup.sh -- the README's Quick start: installs what is missing (Debian 12), builds, then
#   tools/setup.sh run    starts rrdnsd on the example zones on 127.0.0.1:$PORT (default 5353)
#   tools/setup.sh test   runs every test (unit + system) through ctest
# Environment: PORT, BUILD_DIR (default build/), JOBS (default: number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PORT=${PORT:-5353}
JOBS=${JOBS:-$(nproc)}

# Build tools and libraries, plus what the tests drive the daemon with (dig, pytest, dnspython).
PACKAGES=(g++ cmake ninja-build pkg-config
          libuv1-dev libc-ares-dev libtomlplusplus-dev libspdlog-dev doctest-dev libcpp-httplib-dev
          bind9-dnsutils python3 python3-pytest python3-dnspython)

say() { printf '==> %s\n' "$*" >&2; }

install_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  say "installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  say "building in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run() {
  local at="@127.0.0.1 -p $PORT"
  cat <<EOT

rrdnsd serves zones/rr.test.toml and zones/example.toml on 127.0.0.1:$PORT (udp+tcp).
Ctrl-C stops it. Try these in another terminal:

  dig $at www.rr.test A +short          # run it a few times: the list starts one address further each time
  dig $at alias.rr.test A               # CNAME, then the rotating www addresses
  dig $at nosuch.rr.test A              # NXDOMAIN with the SOA in the authority section
  dig $at big.rr.test A +ignore +noedns # 40 addresses do not fit in 512 bytes: flags show tc
  dig $at big.rr.test A +tcp +short     # the same over TCP: all 40
  dig $at www.sub.example.test A        # referral: NS in authority, glue in additional, no aa
  kill -HUP <pid>                       # reloads the zone files (the old ones stay if the new ones are broken)

EOT
  exec "$BUILD_DIR/rrdnsd" --listen "127.0.0.1:$PORT" "$ROOT/zones/rr.test.toml" "$ROOT/zones/example.toml"
}

run_tests() {
  say "running the tests"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
}

case "${1:-}" in
  run) install_missing; build; run ;;
  test) install_missing; build; run_tests ;;
  *) echo "usage: tools/setup.sh run|test" >&2; exit 2 ;;
esac
