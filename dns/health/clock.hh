// clock.hh -- the monotonic millisecond clock shared by the health checker and weight selection.
#pragma once

#include <chrono>
#include <cstdint>

namespace rrdns::health {

// Milliseconds on std::chrono::steady_clock. TargetHealth::changed_ms and HealthSnapshot::taken_ms
// are on this clock, so slow-start ramps computed elsewhere must read it too (never system_clock).
inline uint64_t monotonicMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace rrdns::health
