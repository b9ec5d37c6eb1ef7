# common.sh -- what the loopback demos (discovery.sh, geo.sh) share; sourced, not run.

# Exits unless each binary is built in $BUILD_DIR and dig is installed. $1: the demo's name.
demo_needs() {
  local demo=$1 bin
  shift
  for bin in "$@"; do
    [[ -x $BUILD_DIR/$bin ]] || { echo "$demo: $BUILD_DIR/$bin missing; run tools/setup.sh test first" >&2; exit 1; }
  done
  command -v dig >/dev/null || { echo "$demo: dig missing (apt-get install bind9-dnsutils)" >&2; exit 1; }
}

# A port free for UDP and TCP on every address given.
free_port() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, sys
for _ in range(100):
    with socket.socket() as s:
        s.bind((sys.argv[1], 0)); port = s.getsockname()[1]
    try:
        for host in sys.argv[1:]:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as t:
                    t.bind((host, port))
        print(port); break
    except OSError:
        continue
PY
}
