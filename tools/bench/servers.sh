# servers.sh -- sourced by tools/bench/run: configure, start and stop each server on loopback.
# Adapted from the shared harness (../shared/bench/servers.sh) for rrdnsd, knotd, nsd, gdnsd,
# limit (the do-nothing responder) and rrdns-replica.
#
# Every process starts under setsid, so it leads its own process group: stopping it reaches what it
# forked (nsd's children) and nothing else. STARTED lists the groups this run started; the caller's
# EXIT trap passes them to stop_all, so Ctrl-C or an error never leaves a server behind.
# shellcheck shell=bash

START_TIMEOUT=${START_TIMEOUT:-15}   # s for a server to answer its first query
STOP_TIMEOUT=${STOP_TIMEOUT:-10}     # s between SIGTERM and SIGKILL
CMD=()          # set by setup_NAME: the server's foreground command line
CHECK=soa       # set by setup_NAME: how start_server knows it is up (soa: an rr.test SOA record; noerror)
CUR_PID=""      # process group of the server being measured
STARTED=()      # every process group this run started and has not stopped yet

note() { echo "# $*" >&2; }
die() { echo "tools/bench: $*" >&2; exit 1; }

binary_of() {
    case $1 in
        rrdnsd*) echo "$BUILD/rrdnsd" ;; knotd) echo knotd ;; nsd) echo nsd ;; gdnsd) echo gdnsd ;;
        limit) echo "$WORK/bin/limit" ;; *) die "unknown server $1" ;;
    esac
}

installed() { command -v "$(binary_of "$1")" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# Per-server setup: write the config into a fresh DIR holding rr.test.zone, for PORT, and set CMD.
# Every server gets one UDP worker (and one TCP worker) where that can be configured.

# SIGN_ZONES=1: a key directory in DIR (0700, as rrdnsd makes its own), for the signed zones among
# the extra ones (the DNSSEC case of run: signed.test.toml has a [dnssec] table).
setup_rrdnsd() {   # setup_rrdnsd DIR PORT [THREADS [EXTRA ZONE FILES...]]
    local d=$1 port=$2 threads=${3:-1} keys=()
    if [[ -n ${SIGN_ZONES:-} ]]; then mkdir -m 0700 -p "$d/keys"; keys=(--key-directory "$d/keys"); fi
    CMD=("$BUILD/rrdnsd" --listen "127.0.0.1:$port" --threads "$threads" --log-level warn "${keys[@]}"
         "${RRDNSD_ZONE:-$d/rr.test.zone}" "${@:4}")
    CHECK=soa
}

# setup_knotd DIR PORT [THREADS [ZONE_FILE...]]: THREADS is ignored (one UDP worker); each extra
# ORIGIN.zone is served as ORIGIN. KNOTD_ECS=1: edns-client-subnet on (the ECS case of run).
# SIGN_ZONES=1: the extra zones are signed by knotd (automatic signing, policy "bench": ECDSA
# P-256, KSK + ZSK, NSEC; keys in DIR/db/keys, made at start), rr.test is not.
setup_knotd() {
    local d=$1 port=$2 extra="" ecs="" policy="" f
    [[ -z ${KNOTD_ECS:-} ]] || ecs=$'\n''    edns-client-subnet: on'
    for f in "${@:4}"; do
        cp "$f" "$d/"
        extra+=$'\n'"  - domain: $(basename "$f" .zone)."$'\n'"    file: \"$(basename "$f")\""
        [[ -z ${SIGN_ZONES:-} ]] || extra+=$'\n''    dnssec-signing: on'$'\n''    dnssec-policy: bench'
    done
    [[ -z ${SIGN_ZONES:-} ]] || policy=$'policy:\n  - id: bench\n    algorithm: ecdsap256sha256\n'
    mkdir -p "$d/db"
    cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d"
    pidfile: "$d/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1$ecs
database:
    storage: "$d/db"
log:
  - target: stderr
    any: info
${policy}template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: rr.test.
    file: "rr.test.zone"$extra
EOF
    CMD=(knotd -c "$d/knot.conf")
    CHECK=soa
}

setup_nsd() {
    local d=$1 port=$2
    cat >"$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$d"
    pidfile: "$d/nsd.pid"
    database: ""
    zonelistfile: "$d/zone.list"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d"
    verbosity: 1
    # Debian's nsd is built with response rate limiting (200 qps per /24): a load test from
    # 127.0.0.1 would measure RRL drops and TC=1 slips, not answers.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "rr.test"
    zonefile: "rr.test.zone"
EOF
    CMD=(nsd -d -c "$d/nsd.conf")
    CHECK=soa
}

setup_gdnsd() {
    local d=$1 port=$2
    mkdir -p "$d/zones" "$d/run" "$d/state"
    cp "$d/rr.test.zone" "$d/zones/rr.test"
    cat >"$d/config" <<EOF
options => {
    listen => [ 127.0.0.1:$port ]
    udp_threads => 1
    tcp_threads => 1
    run_dir => $d/run
    state_dir => $d/state
}
EOF
    CMD=(gdnsd -c "$d" start)
    CHECK=soa
}

# limit answers every query NODATA-shaped, so any NOERROR reply means it is up.
setup_limit() { CMD=("$WORK/bin/limit" -p "$2" -b 64); CHECK=noerror; }

# prepare_server NAME DIR PORT [ARGS...]: fresh DIR with a copy of $ZONE, config written, CMD set.
prepare_server() {
    local name=$1 dir=$2 port=$3
    rm -rf "$dir"; mkdir -p "$dir"; cp "$ZONE" "$dir/rr.test.zone"
    "setup_${name%%-*}" "$dir" "$port" "${@:4}"
}

# ---------------------------------------------------------------------------------------------
# Process control.

port_busy() {   # port_busy PORT [ADDR]: anything listening there (UDP or TCP)?
    local port=$1 addr=${2:-}
    if [[ -n $addr ]]; then
        [[ -n $(ss -Hlnu "src $addr:$port") || -n $(ss -Hlnt "src $addr:$port") ]]
    else
        [[ -n $(ss -Hlnu "sport = :$port") || -n $(ss -Hlnt "sport = :$port") ]]
    fi
}

group_alive() {   # any non-zombie process left in process group $1?
    ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

stop_group() {   # stop_group PGID: SIGTERM to the group, SIGKILL after STOP_TIMEOUT s
    local pid=$1 i rest=()
    kill -TERM -- "-$pid" 2>/dev/null || true
    for (( i = 0; i < STOP_TIMEOUT * 10; i++ )); do group_alive "$pid" || break; sleep 0.1; done
    if group_alive "$pid"; then
        note "process group $pid ignored SIGTERM for $STOP_TIMEOUT s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for i in "${STARTED[@]}"; do [[ $i == "$pid" ]] || rest+=("$i"); done
    STARTED=("${rest[@]}")
}

stop_server() { [[ -z $CUR_PID ]] || { stop_group "$CUR_PID"; CUR_PID=""; }; }

stop_all() { local pid; for pid in "${STARTED[@]}"; do stop_group "$pid"; done; CUR_PID=""; }

# spawn CPUS LOG CMD...: start CMD in its own process group pinned to CPUS; sets SPAWNED.
spawn() {
    local cpus=$1 log=$2
    setsid taskset -c "$cpus" "${@:3}" >"$log" 2>&1 </dev/null &
    SPAWNED=$!
    STARTED+=("$SPAWNED")
}

dig_local() { dig @127.0.0.1 -p "$1" +norec +time=1 +tries=1 "${@:2}" 2>/dev/null; }

answers() {   # answers PORT: is the server on PORT up, by CHECK?
    if [[ $CHECK == noerror ]]; then dig_local "$1" rr.test SOA | grep -q 'status: NOERROR'
    else dig_local "$1" rr.test SOA +short | grep -q .; fi
}

# start_server NAME PORT LOG CPUS: run CMD; sets CUR_PID. Returns 1 (and says why in WHY) if the
# port is busy or the server never answers.
start_server() {
    local name=$1 port=$2 log=$3 cpus=$4 i
    WHY=""
    if port_busy "$port"; then WHY="port $port busy"; note "$name: $WHY; skipped (use --base-port)"; return 1; fi
    spawn "$cpus" "$log" "${CMD[@]}"
    CUR_PID=$SPAWNED
    for (( i = 0; i < START_TIMEOUT * 10; i++ )); do
        answers "$port" && return 0
        kill -0 "$CUR_PID" 2>/dev/null || break
        sleep 0.1
    done
    WHY="did not start"
    note "$name did not answer on 127.0.0.1:$port; last lines of $log:"
    tail -n 15 "$log" >&2
    stop_server
    return 1
}

CLK_TCK=$(getconf CLK_TCK)
group_cpu_ticks() {   # "utime stime" clock ticks summed over the processes of group $1
    local p
    for p in $(pgrep -g "$1"); do
        # After the ") " that ends the command name (which may hold spaces), utime is field 12.
        sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
    done | awk '{ u += $12; s += $13 } END { printf "%d %d\n", u, s }'
}

cpu_ticks() {   # "busy total" jiffies of CPU $1 (busy excludes idle and iowait)
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
