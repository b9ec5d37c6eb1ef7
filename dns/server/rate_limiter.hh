// rate_limiter.hh -- response rate limiting per client prefix with TC "slip" (as Knot's rrl).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace rrdns::server {

struct RateLimit {
  unsigned rate = 0;  // responses per second per prefix; 0: no limit
  // Every slip-th limited response goes out truncated (TC=1, empty) so a real client behind
  // a flooded prefix retries over TCP; the others are dropped. 0: drop them all; 1: slip all.
  unsigned slip = 2;
  size_t table_size = 393241;  // buckets (Knot's default); more buckets, fewer shared ones
};

// One worker's limiter. Clients are grouped by prefix (IPv4 /24, IPv6 /56; an IPv4-mapped IPv6
// peer counts as IPv4), each with a token bucket that holds at most `rate` tokens (one second's
// worth of burst) and refills continuously. The table is allocated once by the constructor;
// check() neither allocates nor locks, and is for one thread (the worker's loop) only.
//
// The table is a fixed array probed at kProbe slots from the prefix's hash (seeded at random
// per limiter, so senders cannot aim at a victim's slots). A prefix that finds no slot of its
// own takes the slot idle longest, restarting that prefix's bucket full: more active prefixes
// than the table holds means some are limited less, never that a prefix is limited more.
class RateLimiter {
 public:
  enum class Decision : uint8_t { Pass, Drop, Slip };

  // `seed` fixes the hash for tests; 0 picks a random one.
  explicit RateLimiter(const RateLimit& limit, uint64_t seed = 0);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  bool enabled() const { return d_limit.rate != 0; }

  // One response about to go to `peer` at `now_ms` (a monotonic millisecond clock:
  // Worker::nowMs). Takes a token if there is one. Unknown address families always pass.
  Decision check(const sockaddr* peer, uint64_t now_ms);

  static constexpr size_t kProbe = 4;

 private:
  struct Bucket {
    uint64_t key = 0;      // the prefix with a family tag; 0: never used
    uint64_t credit = 0;   // thousandths of a token
    uint64_t last_ms = 0;  // when credit was last brought up to date
    uint32_t limited = 0;  // limited responses so far, for the slip rhythm
  };

  const RateLimit d_limit;
  const uint64_t d_capacity;  // rate * 1000: a full bucket, in thousandths
  uint64_t d_seed;
  std::unique_ptr<Bucket[]> d_table;
};

}  // namespace rrdns::server
