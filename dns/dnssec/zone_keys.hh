// zone_keys.hh -- one signed zone's keys as the daemon runs them: read from (or created in) the
// key directory, moved along by the planner, and the Signer of the moment. Not thread-safe: the
// main loop owns it (signing itself, through Signer, may run on any thread but a query one).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/base/result.hh"
#include "dns/dnssec/key_state.hh"
#include "dns/dnssec/signer.hh"

namespace rrdns::dnssec {

// What status, metrics and rrdnsctl dnssec show of a key.
struct KeyStatus {
  KeyRecord record;
  KeyState state = KeyState::Generated;
};

class ZoneKeys {
 public:
  // The keys of `apex` (lower-cased wire) in KEY_DIRECTORY/ZONE (ZONE the name in text without
  // the final dot, "example.com"; created 0700), as its keys.json says, or new ones if there is
  // none; planned at `now` (planKeys) and saved. Fails with a clear reason (unreadable or
  // corrupt state file, a PEM file missing, an algorithm other than the policy's).
  static Result<std::unique_ptr<ZoneKeys>> open(const std::string& key_directory,
                                                std::string apex,
                                                const zone::DnssecPolicy& policy,
                                                const ZoneTimes& times, uint64_t now);

  // A reload's policy and times (a changed algorithm is refused: no algorithm rollover).
  Result<void> update(const zone::DnssecPolicy& policy, const ZoneTimes& times);
  // Plans at `now` (timers due: keys published, activated, retired, removed, a ZSK rollover
  // started); true if the keys changed, so the zone must be signed anew.
  Result<bool> step(uint64_t now);
  // The operator's commands (key_state.hh); the zone must be signed anew after them.
  Result<void> startRollover(KeyRole role, uint64_t now);
  Result<void> dsSubmitted(uint64_t now);

  // The DNSKEY RDATA to publish at `now` (every published key), and the signer with the keys
  // active at `now` (every published KSK/CSK signs the DNSKEY RRset: a successor that waits for
  // its DS, and an old one from `submitted` until it is removed).
  std::vector<std::string> dnskeys(uint64_t now) const;
  std::shared_ptr<const Signer> signer(uint64_t now) const;
  // The DS records for the parent in presentation form, one line each ("example.com. 3600 IN DS
  // 12345 13 2 ABCD..."): of every KSK/CSK that is ready or active and not retired.
  std::vector<std::string> dsRecords(uint64_t now) const;

  const zone::DnssecPolicy& policy() const { return d_policy; }
  const ZoneTimes& times() const { return d_times; }
  const std::string& nsec3Salt() const { return d_keys.nsec3_salt; }
  uint64_t nextEvent() const { return d_next_event; }  // 0: nothing planned
  std::vector<KeyStatus> status(uint64_t now) const;
  const std::shared_ptr<SigningStats>& stats() const { return d_stats; }
  size_t cacheSize() const;

 private:
  ZoneKeys() = default;
  // Takes a plan: new keys generated, removed keys' PEM files deleted, the NSEC3 salt as the
  // policy says, saved if anything changed (or `force_save`).
  Result<void> apply(KeyPlan plan, bool force_save = false);
  std::string d_directory;
  std::string d_apex;
  zone::DnssecPolicy d_policy;
  ZoneTimes d_times;
  KeySet d_keys;
  std::vector<Key> d_loaded;  // the key pairs of d_keys.keys, same order
  uint64_t d_next_event = 0;
  uint64_t d_last_step = 0;  // the `now` of the last plan: key states are compared with it
  std::shared_ptr<SigningStats> d_stats;
  std::shared_ptr<SignatureCache> d_cache;
};

}  // namespace rrdns::dnssec
