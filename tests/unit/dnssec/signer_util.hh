// signer_util.hh -- a stand-in RRsetSigner for the zone signer's tests: RRSIG-shaped RDATA that
// depends only on the RRset's content (so equal RRsets get equal signatures, like a cache), and
// a record of what it was asked to sign.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dns/base/bytes.hh"
#include "dns/zone/dnssec.hh"

namespace signertest {

struct SignCall {
  std::string owner;
  uint16_t rtype;
  uint32_t ttl;
  std::vector<std::string> rdata;  // sorted, deduplicated
};

class FakeSigner final : public rrdns::zone::RRsetSigner {
 public:
  explicit FakeSigner(std::string apex) : d_apex(std::move(apex)) {}

  std::vector<std::string> sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                const std::vector<std::string_view>& rdata) const override {
    SignCall call{std::string(owner), rtype, ttl, {rdata.begin(), rdata.end()}};
    std::sort(call.rdata.begin(), call.rdata.end());
    call.rdata.erase(std::unique(call.rdata.begin(), call.rdata.end()), call.rdata.end());
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&h](std::string_view bytes) {
      for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
      h = (h ^ bytes.size()) * 0x100000001b3ull;
    };
    mix(owner);
    for (const auto& r : call.rdata) mix(r);
    h ^= (uint64_t{rtype} << 32) | ttl;
    // Type covered, algorithm 13, labels 0, original TTL, expiration, inception, key tag 4242,
    // the signer's name, then 8 bytes standing for the signature.
    std::string out(18, '\0');
    auto* p = reinterpret_cast<uint8_t*>(out.data());
    rrdns::store16(p, rtype);
    p[2] = 13;
    rrdns::store32(p + 4, ttl);
    rrdns::store32(p + 8, 2000000000u);
    rrdns::store32(p + 12, 1700000000u);
    rrdns::store16(p + 16, 4242);
    out += d_apex;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(h >> (8 * i)));
    std::lock_guard lock(d_mutex);
    d_calls.push_back(std::move(call));
    return {out};
  }

  std::vector<SignCall> calls() const {
    std::lock_guard lock(d_mutex);
    return d_calls;
  }
  const SignCall* find(std::string_view owner, uint16_t rtype) const {
    std::lock_guard lock(d_mutex);
    for (const auto& c : d_calls)
      if (c.owner == owner && c.rtype == rtype) return &c;
    return nullptr;
  }

 private:
  std::string d_apex;
  mutable std::mutex d_mutex;
  mutable std::vector<SignCall> d_calls;
};

// The type an RRSIG RDATA covers.
inline uint16_t covered(std::string_view rrsig) {
  return rrdns::load16(reinterpret_cast<const uint8_t*>(rrsig.data()));
}

}  // namespace signertest
