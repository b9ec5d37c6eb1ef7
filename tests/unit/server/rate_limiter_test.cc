// rate_limiter_test.cc -- per-prefix token buckets, slip rhythm, prefixes and table pressure.
#include "dns/server/rate_limiter.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "dns/server/client_connections.hh"

using namespace rrdns::server;
using Decision = RateLimiter::Decision;

namespace {

sockaddr_storage address(const std::string& text) {
  sockaddr_storage storage{};
  if (text.find(':') != std::string::npos) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1);
  }
  return storage;
}

Decision check(RateLimiter& limiter, const std::string& peer, uint64_t now_ms) {
  sockaddr_storage storage = address(peer);
  return limiter.check(reinterpret_cast<const sockaddr*>(&storage), now_ms);
}

// n responses at one instant: how many pass, are dropped, are slipped.
struct Tally {
  int pass = 0, drop = 0, slip = 0;
};
Tally burst(RateLimiter& limiter, const std::string& peer, uint64_t now_ms, int n) {
  Tally t;
  for (int i = 0; i < n; ++i) {
    switch (check(limiter, peer, now_ms)) {
      case Decision::Pass:
        ++t.pass;
        break;
      case Decision::Drop:
        ++t.drop;
        break;
      case Decision::Slip:
        ++t.slip;
        break;
    }
  }
  return t;
}

}  // namespace

TEST_CASE("rate 0 is off: everything passes and no table is allocated") {
  RateLimiter limiter({0, 2, 1000}, 42);
  CHECK_FALSE(limiter.enabled());
  Tally t = burst(limiter, "192.0.2.1", 1000, 10000);
  CHECK(t.pass == 10000);
}

TEST_CASE("a burst gets `rate` answers, then every 2nd limited one slips (slip 2)") {
  RateLimiter limiter({5, 2, 1024}, 42);
  REQUIRE(limiter.enabled());
  std::vector<Decision> seen;
  for (int i = 0; i < 11; ++i) seen.push_back(check(limiter, "192.0.2.1", 5000));
  const std::vector<Decision> expected = {Decision::Pass, Decision::Pass, Decision::Pass,
                                          Decision::Pass, Decision::Pass, Decision::Drop,
                                          Decision::Slip, Decision::Drop, Decision::Slip,
                                          Decision::Drop, Decision::Slip};
  CHECK(seen == expected);
}

TEST_CASE("slip 0 drops every limited response, slip 1 truncates every one") {
  RateLimiter drop_all({3, 0, 64}, 1);
  Tally t = burst(drop_all, "198.51.100.7", 0, 103);
  CHECK(t.pass == 3);
  CHECK(t.drop == 100);
  CHECK(t.slip == 0);

  RateLimiter slip_all({3, 1, 64}, 1);
  t = burst(slip_all, "198.51.100.7", 0, 103);
  CHECK(t.pass == 3);
  CHECK(t.slip == 100);
  CHECK(t.drop == 0);

  RateLimiter slip_3({3, 3, 64}, 1);
  t = burst(slip_3, "198.51.100.7", 0, 33);
  CHECK(t.pass == 3);
  CHECK(t.slip == 10);
  CHECK(t.drop == 20);
}

TEST_CASE("tokens come back with time, never more than one second's worth") {
  RateLimiter limiter({10, 2, 1024}, 7);
  CHECK(burst(limiter, "203.0.113.9", 10'000, 10).pass == 10);
  CHECK(check(limiter, "203.0.113.9", 10'000) != Decision::Pass);
  // 10/s: one token per 100 ms.
  CHECK(check(limiter, "203.0.113.9", 10'099) != Decision::Pass);
  CHECK(check(limiter, "203.0.113.9", 10'100) == Decision::Pass);
  CHECK(check(limiter, "203.0.113.9", 10'100) != Decision::Pass);
  // 250 ms later: two and a half tokens, so two answers.
  CHECK(burst(limiter, "203.0.113.9", 10'350, 5).pass == 2);
  // A long silence refills the bucket to `rate` and no further.
  CHECK(burst(limiter, "203.0.113.9", 3'600'000, 50).pass == 10);
  // A clock that does not move gives nothing back.
  CHECK(burst(limiter, "203.0.113.9", 3'600'000, 5).pass == 0);
}

TEST_CASE("a steady sender at the rate is never limited") {
  RateLimiter limiter({100, 2, 1024}, 9);
  int passed = 0;
  for (uint64_t ms = 0; ms < 10'000; ms += 10) passed += check(limiter, "192.0.2.200", ms) == Decision::Pass;
  CHECK(passed == 1000);
}

TEST_CASE("clients are grouped by IPv4 /24 and IPv6 /56") {
  RateLimiter limiter({4, 2, 4096}, 3);
  CHECK(burst(limiter, "192.0.2.1", 0, 4).pass == 4);
  CHECK(burst(limiter, "192.0.2.254", 0, 4).pass == 0);   // same /24: shares the bucket
  CHECK(burst(limiter, "192.0.3.1", 0, 4).pass == 4);     // the next /24 has its own
  CHECK(burst(limiter, "::ffff:192.0.2.77", 0, 4).pass == 0);  // mapped IPv4 is the IPv4 peer

  CHECK(burst(limiter, "2001:db8:0:100::1", 0, 4).pass == 4);
  CHECK(burst(limiter, "2001:db8:0:1ff:ffff::9", 0, 4).pass == 0);  // same /56
  CHECK(burst(limiter, "2001:db8:0:200::1", 0, 4).pass == 4);       // next /56
  // An IPv6 prefix whose bits happen to spell an IPv4 /24 is still its own.
  CHECK(burst(limiter, "c000:0200::", 0, 4).pass == 4);
}

TEST_CASE("unknown address families pass") {
  RateLimiter limiter({1, 2, 16}, 3);
  sockaddr_storage storage{};
  storage.ss_family = AF_UNIX;
  for (int i = 0; i < 10; ++i)
    CHECK(limiter.check(reinterpret_cast<const sockaddr*>(&storage), 0) == Decision::Pass);
}

TEST_CASE("many more prefixes than buckets: the limit still holds for a flooding prefix") {
  // 64 buckets, thousands of one-shot prefixes interleaved with one flooder. Eviction takes the
  // bucket idle longest, so the flooder (active every millisecond) keeps its own.
  RateLimiter limiter({20, 2, 64}, 11);
  int flooder_passed = 0;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t now = static_cast<uint64_t>(i) / 10;  // 500 ms in all
    const std::string other = "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".1";
    CHECK(check(limiter, other, now) == Decision::Pass);  // each new prefix starts full
    flooder_passed += check(limiter, "198.51.100.1", now) == Decision::Pass;
  }
  // 20 at once plus 20/s over 499 ms (29 in all); slack for an eviction by an unlucky hash,
  // which restarts the flooder with a full bucket.
  CHECK(flooder_passed >= 29);
  CHECK(flooder_passed <= 40);
}

TEST_CASE("a table of one bucket still answers every prefix sensibly") {
  RateLimiter limiter({2, 2, 1}, 5);
  CHECK(burst(limiter, "192.0.2.1", 0, 3).pass == 2);
  // Another prefix evicts the first and starts full; the first then starts full again.
  CHECK(burst(limiter, "198.51.100.1", 0, 3).pass == 2);
  CHECK(burst(limiter, "192.0.2.1", 0, 3).pass == 2);
}

TEST_CASE("different seeds spread prefixes differently, same behaviour") {
  for (uint64_t seed : {1ULL, 2ULL, 0xdeadbeefULL, 0ULL /* random */}) {
    RateLimiter limiter({3, 2, 8}, seed);
    for (int n = 0; n < 8; ++n)
      CHECK(burst(limiter, "10.0." + std::to_string(n) + ".1", 0, 5).pass == 3);
  }
}

TEST_CASE("per-client TCP connection counts") {
  ClientConnections counts(2);
  sockaddr_storage a = address("192.0.2.1"), mapped = address("::ffff:192.0.2.1"),
                   b = address("2001:db8::1");
  auto* pa = reinterpret_cast<const sockaddr*>(&a);
  auto* pm = reinterpret_cast<const sockaddr*>(&mapped);
  auto* pb = reinterpret_cast<const sockaddr*>(&b);
  bool refused = true;
  const uint32_t s1 = counts.acquire(pa, refused);
  CHECK_FALSE(refused);
  const uint32_t s2 = counts.acquire(pm, refused);  // the same client through a dual-stack socket
  CHECK_FALSE(refused);
  CHECK(counts.acquire(pa, refused) == ClientConnections::kNoSlot);
  CHECK(refused);
  const uint32_t s3 = counts.acquire(pb, refused);  // another client is unaffected
  CHECK_FALSE(refused);
  counts.release(s1);
  const uint32_t s4 = counts.acquire(pa, refused);  // a slot came back
  CHECK_FALSE(refused);
  for (uint32_t s : {s2, s3, s4}) counts.release(s);

  ClientConnections unlimited(0);
  for (int i = 0; i < 1000; ++i) {
    CHECK(unlimited.acquire(pa, refused) == ClientConnections::kNoSlot);
    CHECK_FALSE(refused);
  }
  unlimited.release(ClientConnections::kNoSlot);
}
