#!/usr/bin/env bash
# package_check.sh -- the Debian packages as an operator meets them (CI runs it after the tests):
#   1. ./tools/setup.sh package builds rrdns and rrdns-replica into dist/;
#   2. lintian dist/*.deb reports no errors (it prints its warnings);
#   3. apt-get install ./dist/rrdns_*.deb (and rrdns-replica);
#   4. rrdnsd --check passes on the installed /etc/rrdns/rrdnsd.toml;
#   5. man -w finds rrdnsd(8), rrdnsctl(8), rrdns-verify(1), rrdns.toml(5) and rrdns-replica(1);
#   6. the installed rrdnsd, started in the foreground with no arguments (so with the installed
#      config), answers dig on 127.0.0.1:53 while rrdnsctl status, with no flags, reports on it,
#      as root and as the rrdns user; it runs as rrdns, and SIGTERM stops it cleanly.
# Needs root and a free 127.0.0.1:53; no systemd (a running rrdnsd.service would hold the port).
# The packages stay installed unless --purge is given (CI's machine is thrown away).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
purge=false
[[ ${1:-} == --purge ]] && purge=true

step() { printf '==> %s\n' "$*"; }
fail() { printf 'package_check: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "run as root (it installs the packages and binds port 53)"

# What the checks use: lintian, man, dig, runuser.
need=()
command -v lintian >/dev/null || need+=(lintian)
command -v man >/dev/null || need+=(man-db)
command -v dig >/dev/null || need+=(bind9-dnsutils)
if [[ ${#need[@]} -gt 0 ]]; then
  step "installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

step "building the packages: ./tools/setup.sh package"
./tools/setup.sh package
step "packages built in ${SECONDS} s"

step "lintian dist/*.deb"
lintian --fail-on error --tag-display-limit 0 dist/*.deb

pid=
log=$(mktemp)
cleanup() {
  if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if $purge; then
    step "purging rrdns rrdns-replica"
    apt-get purge -y -q rrdns rrdns-replica >/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT

step "installing dist/rrdns_*.deb dist/rrdns-replica_*.deb"
# On a machine that runs systemd the package would start rrdnsd.service, which would hold
# 127.0.0.1:53 before the foreground check below: policy-rc.d (101: action not allowed) keeps
# the service from starting, as in image builds.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=true
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./dist/rrdns_*.deb ./dist/rrdns-replica_*.deb
if $own_policy; then rm -f "$policy"; fi
getent passwd rrdns >/dev/null || fail "the package did not create the rrdns user"

step "rrdnsd --check (the installed /etc/rrdns/rrdnsd.toml)"
rrdnsd --check

step "man -w rrdnsd rrdnsctl rrdns-verify rrdns.toml rrdns-replica"
man -w rrdnsd rrdnsctl rrdns-verify rrdns.toml rrdns-replica ||
  fail "a man page is missing from the packages (docs/man)"

step "the installed rrdnsd in the foreground, with the installed config"
fresh_run_dir=true
[[ -e /run/rrdns ]] && fresh_run_dir=false
rrdnsd >"$log" 2>&1 &
pid=$!
for _ in $(seq 150); do
  grep -q 'listening on' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "rrdnsd exited during startup"; }
  sleep 0.1
done
grep -q 'listening on' "$log" || { cat "$log"; fail "rrdnsd did not start within 15 s"; }
cat "$log"
user=$(ps -o user= -p "$pid")
[[ $user == rrdns ]] || fail "rrdnsd runs as '$user', not rrdns"

step "dig @127.0.0.1 www.rr.test A"
answer=$(dig @127.0.0.1 -p 53 www.rr.test A +norecurse +time=2 +tries=2)
echo "$answer"
grep -q 'status: NOERROR' <<<"$answer" || fail "no NOERROR answer"
grep -q 'flags:.* aa' <<<"$answer" || fail "the answer is not authoritative"
grep -q '^www\.rr\.test\..*IN[[:space:]]*A' <<<"$answer" || fail "no A records in the answer"

step "rrdnsctl status (no flags, as root)"
status_out=$(rrdnsctl status) || fail "rrdnsctl status fails as root"
echo "$status_out"
grep -q 'rr\.test' <<<"$status_out" || fail "rrdnsctl status does not list rr.test."
step "rrdnsctl status (no flags, as the rrdns user)"
runuser -u rrdns -- rrdnsctl status >/dev/null || fail "rrdnsctl status fails as the rrdns user"

step "SIGTERM"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || { cat "$log"; fail "rrdnsd exited with status $status after SIGTERM"; }
# The run directory it created belongs to rrdns, so rrdns could remove its socket.
if $fresh_run_dir && [[ -e /run/rrdns/control.sock ]]; then
  fail "rrdnsd left /run/rrdns/control.sock behind"
fi
step "the packages work"
