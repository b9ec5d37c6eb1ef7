// dnssec_zones.hh -- the daemon's signed zones: their keys (one dnssec::ZoneKeys per zone, kept
// across reloads), the signing step before a zone set is served, and the timer that rolls keys and
// refreshes signatures. What rrdnsctl dnssec and the metrics show comes from here.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/base/result.hh"
#include "dns/dnssec/zone_keys.hh"
#include "dns/uv/handle.hh"
#include "dns/zone/zone.hh"

namespace rrdns::app {

// What status and metrics show of one signed zone.
struct DnssecZoneStatus {
  std::string zone;  // text, "example.com."
  zone::DnssecAlgorithm algorithm = zone::DnssecAlgorithm::EcdsaP256Sha256;
  bool nsec3 = false;
  std::vector<dnssec::KeyStatus> keys;
  uint64_t next_event = 0;    // unix seconds: the next key event (0: none planned)
  uint64_t next_refresh = 0;  // unix seconds: when the zone is signed anew at the latest
  uint64_t last_signed = 0;   // unix seconds
  uint32_t serial = 0;        // the serial last served signed
  uint64_t signatures = 0;    // signatures computed (not taken from the cache)
  size_t cache_entries = 0;
};

// The zone signing times the key planner needs (dnssec::ZoneTimes): the DNSKEY TTL (the policy's,
// or the SOA's TTL) and the largest TTL the zone serves, pools' TTLs included.
dnssec::ZoneTimes zoneTimes(const zone::Zone& zone, const zone::DnssecPolicy& policy);

// Main loop only.
class DnssecZones final : public uv::HandleOwner {
 public:
  // `resign` rebuilds the served zones (ServedZones::rebuild), which calls sign(); the timer calls
  // it when keys move or signatures are due for refresh.
  DnssecZones(uv_loop_t* loop, std::function<void()> resign);
  ~DnssecZones();
  DnssecZones(const DnssecZones&) = delete;
  DnssecZones& operator=(const DnssecZones&) = delete;
  void close() override;

  // An error when `loaded` has a signed zone and no key directory is given (rrdnsd --check too).
  static Result<void> checkKeyDirectory(const zone::ZoneSet& loaded,
                                        const std::string& key_directory);

  // Readies the keys of every signed zone of `loaded` before it is served: opened from (or
  // created in) `key_directory`, or the ones already open given the zone's policy of this load;
  // the keys of zones no longer signed are let go. On error (no key directory, an unreadable or
  // corrupt key file, a changed algorithm) nothing changes: the zones served keep serving.
  Result<void> prepare(const zone::ZoneSet& loaded, const std::string& key_directory);

  // `served` (serials set by the serial policy) with every signed zone signed at `now`: the
  // last step before a catalog is made. A zone whose signatures changed while its serial did not
  // rise is signed again at the last served serial + 1, so secondaries fetch the new signatures.
  std::shared_ptr<const zone::ZoneSet> sign(const std::shared_ptr<const zone::ZoneSet>& served);

  // The operator's commands (rrdnsctl dnssec ...), for the zone named `zone` (text). Each signs
  // the zones anew.
  Result<void> rollover(std::string_view zone, dnssec::KeyRole role);
  Result<void> submitted(std::string_view zone);
  Result<std::vector<std::string>> ds(std::string_view zone) const;

  bool isSigned(std::string_view apex) const { return d_zones.count(std::string(apex)) != 0; }
  // Every signed zone (or only `zone`, text: an error if it is not signed), by name.
  Result<std::vector<DnssecZoneStatus>> status(std::string_view zone = "") const;

 private:
  struct SignedState {
    std::unique_ptr<dnssec::ZoneKeys> keys;
    bool served = false;         // served signed at least once: last_* are set
    uint32_t last_serial = 0;    // what was served last
    uint64_t last_digest = 0;    // its signatures_digest
    uint64_t last_signed = 0;    // unix seconds
  };
  static void onTimer(uv_timer_t* timer);
  // The timer at the earliest key event or refresh of any zone.
  void schedule();
  // After a key change made by the operator or the timer: signs the zones anew.
  void resign();
  // The zone named `zone` (text) if it is signed, else null and `why`.
  const SignedState* find(std::string_view zone, std::string& why) const;
  SignedState* find(std::string_view zone, std::string& why) {
    return const_cast<SignedState*>(std::as_const(*this).find(zone, why));
  }

  uv_loop_t* d_loop;
  std::function<void()> d_resign;
  uv_timer_t d_timer;
  bool d_closed = false;
  std::map<std::string, SignedState> d_zones;  // by apex (wire)
};

}  // namespace rrdns::app
