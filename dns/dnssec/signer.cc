// signer.cc -- the zone's RRsetSigner: a signature per distinct RRset and key, made once and
// kept by content until it is due for refresh.
#include "dns/dnssec/signer.hh"

#include <algorithm>
#include <ctime>
#include <functional>

namespace rrdns::dnssec {

namespace {

constexpr uint16_t kTypeDnskey = 48;
constexpr uint32_t kInceptionSkew = 3600;  // inception an hour back, for validators' clock skew

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

// The RRSIG's expiration (RFC 4034 3.1.5), compared in serial arithmetic (RFC 1982) with `time`:
// true if it comes after.
bool expiresAfter(std::string_view rrsig, uint64_t time) {
  if (rrsig.size() < 12) return false;
  uint32_t expiration = 0;
  for (size_t i = 8; i < 12; ++i) expiration = expiration << 8 | static_cast<uint8_t>(rrsig[i]);
  return static_cast<int32_t>(expiration - static_cast<uint32_t>(time)) > 0;
}

}  // namespace

CacheKey cacheKey(std::string_view owner, uint16_t rtype, uint32_t ttl,
                  const std::vector<std::string_view>& rdata, const Key& key) {
  CacheKey out;
  size_t size = owner.size() + 9;
  for (std::string_view rd : rdata) size += 2 + rd.size();
  out.content.reserve(size);
  out.content += owner;  // a wire name: its labels say where it ends
  put16(out.content, rtype);
  put16(out.content, static_cast<uint16_t>(ttl >> 16));
  put16(out.content, static_cast<uint16_t>(ttl & 0xffff));
  put16(out.content, key.tag());
  out.content.push_back(static_cast<char>(key.algorithm()));
  for (std::string_view rd : rdata) {
    put16(out.content, static_cast<uint16_t>(rd.size()));
    out.content += rd;
  }
  out.hash = std::hash<std::string_view>{}(out.content);
  return out;
}

SignatureCache::SignatureCache(std::shared_ptr<SigningStats> stats) : d_stats(std::move(stats)) {}

std::string SignatureCache::find(const CacheKey& key, uint64_t now, uint32_t refresh) const {
  std::lock_guard lock(d_mutex);
  auto it = d_entries.find(key.hash);
  if (it == d_entries.end() || it->second.content != key.content) return {};
  if (!expiresAfter(it->second.rrsig, now + refresh)) return {};
  return it->second.rrsig;
}

void SignatureCache::put(CacheKey key, std::string rrsig) {
  std::lock_guard lock(d_mutex);
  // A different RRset under the same hash is replaced: the table stays correct, only that
  // (astronomically rare) pair of RRsets gets signed again each time.
  d_entries.insert_or_assign(key.hash, Entry{std::move(key.content), std::move(rrsig)});
  if (d_stats) d_stats->cache_entries.store(d_entries.size(), std::memory_order_relaxed);
}

void SignatureCache::prune(uint64_t now, uint32_t refresh) {
  std::lock_guard lock(d_mutex);
  std::erase_if(d_entries, [&](const auto& e) { return !expiresAfter(e.second.rrsig, now + refresh); });
  if (d_stats) d_stats->cache_entries.store(d_entries.size(), std::memory_order_relaxed);
}

size_t SignatureCache::size() const {
  std::lock_guard lock(d_mutex);
  return d_entries.size();
}

Signer::Signer(std::string apex, std::vector<Key> ksks, std::vector<Key> zsks,
               const zone::DnssecPolicy& policy, std::shared_ptr<SignatureCache> cache,
               std::shared_ptr<SigningStats> stats)
    : d_apex(std::move(apex)),
      d_ksks(std::move(ksks)),
      d_zsks(std::move(zsks)),
      d_policy(policy),
      d_cache(std::move(cache)),
      d_stats(std::move(stats)) {}

std::vector<std::string> Signer::sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                      const std::vector<std::string_view>& rdata) const {
  const std::vector<Key>& keys = rtype == kTypeDnskey ? d_ksks : d_zsks;
  std::vector<std::string_view> canonical = rdata;
  std::sort(canonical.begin(), canonical.end());
  canonical.erase(std::unique(canonical.begin(), canonical.end()), canonical.end());
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  Validity validity{static_cast<uint32_t>(now - kInceptionSkew),
                    static_cast<uint32_t>(now + d_policy.rrsig_lifetime)};
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const Key& key : keys) {
    CacheKey ck = cacheKey(owner, rtype, ttl, canonical, key);
    if (d_cache) {
      std::string cached = d_cache->find(ck, now, d_policy.rrsig_refresh);
      if (!cached.empty()) {
        out.push_back(std::move(cached));
        continue;
      }
    }
    std::string rrsig = makeRrsig(key, d_apex, owner, rtype, ttl, canonical, validity);
    if (rrsig.empty()) continue;  // the library failed: better no RRSIG than a broken one
    if (d_stats) d_stats->signatures.fetch_add(1, std::memory_order_relaxed);
    if (d_cache) d_cache->put(std::move(ck), rrsig);
    out.push_back(std::move(rrsig));
  }
  return out;
}

}  // namespace rrdns::dnssec
