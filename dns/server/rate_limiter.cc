// rate_limiter.cc -- the per-prefix token buckets behind RateLimiter::check().
#include "dns/server/rate_limiter.hh"

#include <algorithm>
#include <random>

#include "dns/server/client_address.hh"

namespace rrdns::server {

namespace {

constexpr uint64_t kTagV4 = uint64_t{1} << 56;
constexpr uint64_t kTagV6 = uint64_t{2} << 56;

// IPv4 /24 or IPv6 /56 with a family tag in the top byte; 0 for other families.
uint64_t prefixKey(const sockaddr* peer) {
  const ClientAddress client = clientAddress(peer);
  const uint8_t* bytes = client.bytes;
  if (client.family == AF_INET6) {
    uint64_t key = kTagV6;
    for (int i = 0; i < 7; ++i) key |= uint64_t{bytes[i]} << (48 - 8 * i);
    return key;
  }
  if (client.family != AF_INET) return 0;
  return kTagV4 | uint64_t{bytes[0]} << 16 | uint64_t{bytes[1]} << 8 | bytes[2];
}

}  // namespace

RateLimiter::RateLimiter(const RateLimit& limit, uint64_t seed)
    : d_limit{limit.rate, limit.slip, std::max<size_t>(limit.table_size, 1)},
      d_capacity(uint64_t{limit.rate} * 1000),
      d_seed(seed) {
  if (d_seed == 0) {
    std::random_device random;
    d_seed = (uint64_t{random()} << 32 | random()) | 1;
  }
  if (enabled()) d_table = std::make_unique<Bucket[]>(d_limit.table_size);
}

RateLimiter::Decision RateLimiter::check(const sockaddr* peer, uint64_t now_ms) {
  if (!enabled()) return Decision::Pass;
  const uint64_t key = prefixKey(peer);
  if (key == 0) return Decision::Pass;

  const size_t size = d_limit.table_size;
  const size_t start = static_cast<size_t>(mixKey(key ^ d_seed) % size);
  const size_t probes = std::min(kProbe, size);
  Bucket* bucket = nullptr;
  Bucket* victim = nullptr;
  for (size_t i = 0; i < probes; ++i) {
    Bucket* b = &d_table[(start + i) % size];
    if (b->key == key) {
      bucket = b;
      break;
    }
    if (victim == nullptr || b->key == 0 || (victim->key != 0 && b->last_ms < victim->last_ms))
      victim = b;
  }
  if (bucket == nullptr) {
    bucket = victim;
    *bucket = Bucket{key, d_capacity, now_ms, 0};
  } else if (now_ms > bucket->last_ms) {
    // A full second idle refills the bucket; checking first keeps elapsed * rate from overflowing.
    const uint64_t elapsed = now_ms - bucket->last_ms;
    bucket->credit = elapsed >= 1000
                         ? d_capacity
                         : std::min(d_capacity, bucket->credit + elapsed * d_limit.rate);
    bucket->last_ms = now_ms;
  }

  if (bucket->credit >= 1000) {
    bucket->credit -= 1000;
    return Decision::Pass;
  }
  ++bucket->limited;
  if (d_limit.slip != 0 && bucket->limited % d_limit.slip == 0) return Decision::Slip;
  return Decision::Drop;
}

}  // namespace rrdns::server
