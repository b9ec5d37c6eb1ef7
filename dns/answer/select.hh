// select.hh -- the choices the fast and general paths (and explain) share, so that they cannot
// disagree: which pool states apply, and which member a pool answer starts with.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dns/answer/catalog.hh"
#include "dns/base/clock.hh"

namespace rrdns::answer {

// The pool states a query is answered from: `pools` when they were computed for `catalog`, else
// the catalog's initial ones (a reload publishes its catalog before its first health states).
inline const PoolStates& statesFor(const Catalog& catalog, const PoolStates* pools) {
  return pools && pools->catalog == &catalog ? *pools : *catalog.initial_pools;
}

// Per-thread generator for the random policy: no lock, no shared state.
inline uint64_t nextRandom() {
  thread_local uint64_t state = 0x9E3779B97F4A7C15ull ^ monotonicMs() ^
                                reinterpret_cast<uintptr_t>(&state);
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

// The position in f.eligible of the first address of this answer (f.eligible is not empty).
// A dry run (explain) leaves the cursor where it is and shows random pools in configured order.
// A template parameter, not a flag: the fast path's instance is the code it had before dry runs.
template <bool kDryRun = false>
inline size_t firstPoolMember(const Catalog& catalog, const zone::Pool& pool, int family,
                              const FamilyState& f) {
  const uint32_t slot = pool.rotation_slot + family;
  RotationState& cursors = *catalog.rotation;
  const auto cursor = [&] { return kDryRun ? cursors.peek(slot) : cursors.next(slot); };
  switch (f.policy) {
    case zone::PoolPolicy::Rotate:
      return cursor() % f.eligible.size();
    case zone::PoolPolicy::Weighted:
      return f.schedule[cursor() % f.schedule.size()];
    case zone::PoolPolicy::Random: {
      if (kDryRun) return 0;
      const uint32_t r = static_cast<uint32_t>(nextRandom() % f.cumulative.back());
      return std::upper_bound(f.cumulative.begin(), f.cumulative.end(), r) - f.cumulative.begin();
    }
  }
  return 0;
}

}  // namespace rrdns::answer
