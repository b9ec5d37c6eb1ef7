// probe.hh -- what the probers share: the completion callback type and latency arithmetic.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "dns/health/state.hh"

namespace rrdns::health {

// Called once per probe, on the loop thread, unless the prober is shut down first.
using ProbeDone = std::function<void(ProbeResult)>;

inline uint32_t elapsedUs(std::chrono::steady_clock::time_point since) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - since)
                      .count();
  return us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(us);
}

}  // namespace rrdns::health
