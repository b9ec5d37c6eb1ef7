// client_address.hh -- a client's address as the per-client limits key it, and the hash they use.
//
// Shared by ClientConnections (tcp-max-connections-per-client: the full address) and RateLimiter
// (rate-limit: the /24 or /56 prefix), so both treat an IPv4-mapped IPv6 peer (a dual-stack
// socket's IPv4 client) as the IPv4 address it is, and spread keys with the same mixer.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

namespace rrdns::server {

// The address bytes of `peer` in network order: 4 for IPv4 (IPv4-mapped IPv6 included), 16 for
// other IPv6, none (family 0) for anything else. Points into `peer`.
struct ClientAddress {
  int family = 0;  // AF_INET, AF_INET6 or 0
  const uint8_t* bytes = nullptr;
};

inline ClientAddress clientAddress(const sockaddr* peer) {
  if (peer->sa_family == AF_INET)
    return {AF_INET,
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr)};
  if (peer->sa_family == AF_INET6) {
    const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr.s6_addr;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMapped, sizeof kMapped) == 0) return {AF_INET, a + 12};
    return {AF_INET6, a};
  }
  return {};
}

// splitmix64's finaliser: every key bit reaches every output bit.
inline uint64_t mixKey(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace rrdns::server
