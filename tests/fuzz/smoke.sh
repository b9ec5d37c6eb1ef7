#!/bin/sh
# smoke.sh -- runs every libFuzzer target for a bounded time over a copy of its seed corpus;
# fails on the first crash, leak, sanitizer report, timeout or out-of-memory.
#
#   tests/fuzz/smoke.sh BUILD_DIR [SECONDS_PER_TARGET]
#
# BUILD_DIR is configured with CXX=clang++ -DRRDNS_FUZZ=ON (and best -DRRDNS_SANITIZE=address,
# undefined), with the fuzz_* targets built. The corpus in the repository is left untouched:
# inputs found on the way are thrown away, a crashing one is kept in the work directory and
# its path printed, ready to be added to corpus/<target>/ once fixed.
set -eu

build=${1:?usage: smoke.sh BUILD_DIR [SECONDS_PER_TARGET]}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rrdns-fuzz-smoke.XXXXXX")

# The targets write each input to a file under TMPDIR (the loaders read files): keep that here.
export TMPDIR="$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for target in answer answer_diff toml_zone masterfile control; do
  binary=$build/tests/fuzz/fuzz_$target
  if [ ! -x "$binary" ]; then
    echo "smoke: $binary is missing (configure with CXX=clang++ -DRRDNS_FUZZ=ON and build it)" >&2
    exit 1
  fi
  mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
  cp "$here/corpus/$target/"* "$work/$target/corpus/"
  dict=
  if [ -f "$here/$target.dict" ]; then dict=-dict=$here/$target.dict; fi
  echo "smoke: fuzz_$target for ${seconds}s"
  # -timeout: one input taking over 10 s is a hang; -max_len: zone files may be larger than
  # any seed. stdin is /dev/null so a file name the mutator makes up can never block on it.
  if "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
       -print_final_stats=1 -artifact_prefix="$work/$target/artifacts/" $dict \
       "$work/$target/corpus" </dev/null >"$work/$target/log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done' "$work/$target/log" | tr '\n' ' '
    echo
  else
    status=1
    echo "smoke: fuzz_$target FAILED; log and input in $work/$target:" >&2
    tail -40 "$work/$target/log" >&2
    ls -l "$work/$target/artifacts" >&2
  fi
done
if [ "$status" -eq 0 ]; then
  rm -rf "$work"
  echo "smoke: every fuzzer ran ${seconds}s without a crash"
fi
exit "$status"
