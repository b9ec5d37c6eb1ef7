// signer.hh -- zone::RRsetSigner with a zone's keys of the moment: signatures made once per
// distinct RRset and key, kept in a cache by content until they are due for refresh.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/dnssec/key.hh"
#include "dns/dnssec/rrsig.hh"
#include "dns/zone/dnssec.hh"

namespace rrdns::dnssec {

// Counters a zone's signing keeps (status, metrics). Shared by every Signer of the zone.
struct SigningStats {
  std::atomic<uint64_t> signatures{0};  // signatures computed (not taken from the cache)
  std::atomic<uint64_t> cache_entries{0};
};
// Signatures computed on a query thread (t_query_thread, dns/base/thread_role.hh): must stay 0.
uint64_t queryPathSignatures();

// What a signature is cached under: the RRset's content and the key, written out whole
// (owner, type, original TTL, canonical RDATA each with its length, key tag and algorithm), so
// two different RRsets never share an entry; `hash` is that content's, for the table.
struct CacheKey {
  uint64_t hash = 0;
  std::string content;
};
// `rdata` canonical (sorted, deduplicated: makeRrsig's order).
CacheKey cacheKey(std::string_view owner, uint16_t rtype, uint32_t ttl,
                  const std::vector<std::string_view>& rdata, const Key& key);

// Signatures by content: (owner, type, TTL, canonical RDATA, key tag) -> RRSIG RDATA. One per
// zone, kept across Signers (rollover steps, refreshes) and reloads; entries past their refresh
// time are replaced when asked for, and dropped by prune().
class SignatureCache {
 public:
  explicit SignatureCache(std::shared_ptr<SigningStats> stats);
  // The cached RRSIG RDATA for `key`, or "" when there is none still fresh at `now` (expiring
  // after now + refresh). Thread-safe.
  std::string find(const CacheKey& key, uint64_t now, uint32_t refresh) const;
  void put(CacheKey key, std::string rrsig);
  // Drops entries that expire before now + refresh.
  void prune(uint64_t now, uint32_t refresh);
  size_t size() const;

 private:
  struct Entry {
    std::string content;  // CacheKey::content: a hash collision is a miss, never a wrong RRSIG
    std::string rrsig;
  };
  mutable std::mutex d_mutex;
  std::unordered_map<uint64_t, Entry> d_entries;
  std::shared_ptr<SigningStats> d_stats;
};

// Signs with fixed keys: `ksks` sign DNSKEY RRsets, `zsks` every other type (with a CSK both
// hold it). New signatures are valid from now - 1 h to now + policy.rrsig_lifetime.
class Signer final : public zone::RRsetSigner {
 public:
  Signer(std::string apex, std::vector<Key> ksks, std::vector<Key> zsks,
         const zone::DnssecPolicy& policy, std::shared_ptr<SignatureCache> cache,
         std::shared_ptr<SigningStats> stats);
  std::vector<std::string> sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                const std::vector<std::string_view>& rdata) const override;

 private:
  std::string d_apex;
  std::vector<Key> d_ksks, d_zsks;
  zone::DnssecPolicy d_policy;
  std::shared_ptr<SignatureCache> d_cache;
  std::shared_ptr<SigningStats> d_stats;
};

}  // namespace rrdns::dnssec
