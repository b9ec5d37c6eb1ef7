// client_connections.hh -- open TCP connections per client address (tcp-max-connections-per-client).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dns/server/client_address.hh"

namespace rrdns::server {

// Shared by every worker: SO_REUSEPORT spreads one client's connections over all of them.
// Lock-free and fixed in size: counts live in kBuckets atomic slots chosen by a hash of the
// client's full address (an IPv4-mapped IPv6 peer counts as its IPv4 address). Two clients that
// share a slot share its limit; with 65536 slots and at most tcp-max-connections clients that
// is rare, and it can only make the limit stricter, never let a client past it.
class ClientConnections {
 public:
  static constexpr uint32_t kBuckets = 65536;
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // `limit` 0: no per-client limit (nothing is allocated; acquire() always succeeds).
  explicit ClientConnections(unsigned limit) : d_limit(limit) {
    if (d_limit != 0) d_counts = std::make_unique<std::atomic<uint32_t>[]>(kBuckets);
  }

  // Counts one more connection from `peer` and returns the slot to release() when it closes.
  // When the client already has `limit` open, counts nothing and sets `refused`. Without a limit
  // it returns kNoSlot, which release() ignores.
  uint32_t acquire(const sockaddr* peer, bool& refused) {
    refused = false;
    if (d_limit == 0) return kNoSlot;
    const uint32_t slot = static_cast<uint32_t>(hash(peer) % kBuckets);
    if (d_counts[slot].fetch_add(1, std::memory_order_relaxed) >= d_limit) {
      d_counts[slot].fetch_sub(1, std::memory_order_relaxed);
      refused = true;
      return kNoSlot;
    }
    return slot;
  }

  void release(uint32_t slot) {
    if (slot != kNoSlot && d_counts) d_counts[slot].fetch_sub(1, std::memory_order_relaxed);
  }

  unsigned limit() const { return d_limit; }

 private:
  // The full address, hashed.
  static uint64_t hash(const sockaddr* peer) {
    const ClientAddress client = clientAddress(peer);
    if (client.family == AF_INET) {
      uint32_t v4;
      std::memcpy(&v4, client.bytes, 4);
      return mixKey(v4);
    }
    if (client.family == AF_INET6) {
      uint64_t high, low;
      std::memcpy(&high, client.bytes, 8);
      std::memcpy(&low, client.bytes + 8, 8);
      return mixKey(high ^ mixKey(low));
    }
    return 0;
  }

  const unsigned d_limit;
  std::unique_ptr<std::atomic<uint32_t>[]> d_counts;
};

}  // namespace rrdns::server
