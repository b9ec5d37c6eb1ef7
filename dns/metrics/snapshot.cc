// snapshot.cc -- unit conversion for histograms kept in integer microseconds.
#include "dns/metrics/snapshot.hh"

namespace rrdns::metrics {

HistogramSnapshot histogramFromMicroseconds(std::span<const uint32_t> bounds_us,
                                            std::span<const uint64_t> cumulative, uint64_t sum_us,
                                            uint64_t count) {
  HistogramSnapshot h;
  h.upper_bounds.reserve(bounds_us.size());
  for (uint32_t b : bounds_us) h.upper_bounds.push_back(b / 1e6);
  h.cumulative.assign(cumulative.begin(), cumulative.end());
  h.sum = static_cast<double>(sum_us) / 1e6;
  h.count = count;
  return h;
}

}  // namespace rrdns::metrics
