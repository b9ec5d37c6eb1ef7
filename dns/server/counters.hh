// counters.hh -- per-worker event counts, written by their worker only and readable live.
#pragma once

#include <atomic>
#include <cstdint>

#include "dns/server/stats.hh"

namespace rrdns::server {

// A count with a single writer (its worker's loop thread) that any thread may read at any time.
// The increment is a relaxed load and store, not fetch_add: with one writer nothing is lost,
// and the query path pays for no lock-prefixed instruction. The atomic type is what makes the
// concurrent read well defined.
class Counter {
 public:
  void bump() noexcept {
    d_value.store(d_value.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  Counter& operator++() noexcept {  // the same single-writer increment
    bump();
    return *this;
  }
  uint64_t load() const noexcept { return d_value.load(std::memory_order_relaxed); }
  // Writer thread only, like bump().
  void set(uint64_t value) noexcept { d_value.store(value, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> d_value{0};
};

inline void bump(Counter& counter) noexcept { counter.bump(); }

struct WorkerCounters {
  Counter udp_queries;
  Counter udp_deferred;  // answers that went through the queued uv_udp_send path
  Counter udp_dropped;   // answers not sent: send error, or send queue full
  Counter tcp_queries;
  Counter tcp_accepted;
  Counter tcp_rejected;              // over tcp-max-connections(-per-client)
  Counter tcp_evicted;               // idle connections closed to make room (table full)
  Counter errors;                    // exceptions caught at the packet boundary
  Counter truncated;                 // responses with TC set
  Counter dropped;                   // answer() produced nothing to send
  Counter rate_limited;              // UDP responses over rate-limit (dropped or slipped)
  Counter rate_slipped;              // of those, sent truncated instead
  Counter responses[kRcodeBuckets];  // by rcodeBucket()
  Counter qtypes[kQtypeBuckets];     // by qtypeBucket()

  // Any thread: adds a live reading of every count (each one consistent, not all together).
  void addTo(Stats& total) const {
    total.udp_queries += udp_queries.load();
    total.udp_deferred += udp_deferred.load();
    total.udp_dropped += udp_dropped.load();
    total.tcp_queries += tcp_queries.load();
    total.tcp_accepted += tcp_accepted.load();
    total.tcp_rejected += tcp_rejected.load();
    total.tcp_evicted += tcp_evicted.load();
    total.errors += errors.load();
    total.truncated += truncated.load();
    total.dropped += dropped.load();
    total.rate_limited += rate_limited.load();
    total.rate_slipped += rate_slipped.load();
    for (size_t i = 0; i < kRcodeBuckets; ++i) total.responses[i] += responses[i].load();
    for (size_t i = 0; i < kQtypeBuckets; ++i) total.qtypes[i] += qtypes[i].load();
  }
};

}  // namespace rrdns::server
