// select.hh -- the choices the fast and general paths (and explain) share, so that they cannot
// disagree: which pool states apply, which client a pool with sites routes, what it answers that
// client, and which member a pool answer starts with.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "dns/answer/catalog.hh"
#include "dns/base/clock.hh"
#include "dns/wire/question.hh"

namespace rrdns::answer {

// The pool states a query is answered from: `pools` when they were computed for `catalog`, else
// the catalog's initial ones (a reload publishes its catalog before its first health states).
inline const PoolStates& statesFor(const Catalog& catalog, const PoolStates* pools) {
  return pools && pools->catalog == &catalog ? *pools : *catalog.initial_pools;
}

// The client a pool with sites routes by: the query's ECS address (bits past its source prefix
// zero), else its source address (topology::ClientAddress). From the option data `ecs`
// (well-formed, wire::subnetWellFormed()):
inline void clientFromSubnet(const uint8_t* ecs, topology::ClientAddress& client) {
  const uint8_t source = ecs[2];
  const size_t bytes = wire::subnetAddressBytes(source);
  client.family = load16(ecs) == 1 ? topology::Family::V4 : topology::Family::V6;
  std::memset(client.address, 0, sizeof client.address);
  std::memcpy(client.address, ecs + 4, bytes);
  if (source % 8 != 0) client.address[bytes - 1] &= static_cast<uint8_t>(0xFF00 >> (source % 8));
}
// From a source address; IPv4-mapped IPv6 (::ffff:a.b.c.d, a dual-stack socket's IPv4 client)
// counts as IPv4. False for a null or non-IP address: no client (the map's default list).
inline bool clientFromSource(const sockaddr* source, topology::ClientAddress& client) {
  if (!source) return false;
  if (source->sa_family == AF_INET) {
    client.family = topology::Family::V4;
    std::memset(client.address, 0, sizeof client.address);
    std::memcpy(client.address, &reinterpret_cast<const sockaddr_in*>(source)->sin_addr, 4);
    return true;
  }
  if (source->sa_family != AF_INET6) return false;
  const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(source)->sin6_addr.s6_addr;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  std::memset(client.address, 0, sizeof client.address);
  if (std::memcmp(a, kMapped, 12) == 0) {
    client.family = topology::Family::V4;
    std::memcpy(client.address, a + 12, 4);
  } else {
    client.family = topology::Family::V6;
    std::memcpy(client.address, a, 16);
  }
  return true;
}

// What a pool with sites answers a client, and the ECS scope of that answer.
struct Routed {
  const SiteAnswer* answer;  // null: the pool as a whole (PoolState::family) answers
  uint8_t scope;
};
// The answer of `t` for address family `family` (0 A, 1 AAAA) to `client`; without a client (a
// query made up by a tool), the map's default list's, scope 0.
inline Routed routeClient(const TopologyState& t, int family,
                          const topology::ClientAddress* client) {
  if (!client) {
    const std::vector<uint32_t>& of_list = t.answer_of_list[family];
    if (of_list.empty()) return {nullptr, 0};
    return {&t.answers[family][of_list[0]], 0};  // lists[0] is the default list
  }
  const topology::RouteTable::Hit hit =
      t.routes[family][static_cast<int>(client->family)].find(client->address);
  return {&t.answers[family][hit.answer], hit.scope};
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
