// clock.hh -- the one monotonic millisecond clock: health timestamps, weight ramps, the workers.
#pragma once

#include <time.h>

#include <cstdint>

namespace rrdns {

// Milliseconds on CLOCK_MONOTONIC, read through the vDSO (no system call). This is the clock of
// std::chrono::steady_clock in libstdc++ and of uv_now(), so values compare with either.
// TargetHealth::changed_ms and HealthSnapshot::taken_ms are on it, so slow-start ramps computed
// elsewhere must read it too (never the wall clock).
inline uint64_t monotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace rrdns
