// served_zones.hh -- from loaded zones to served ones: pools get the members their discovery
// sources resolve to, and are served anew whenever those change.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dns/answer/precompiled.hh"
#include "dns/app/catalog_publisher.hh"
#include "dns/app/dnssec_zones.hh"
#include "dns/app/notifier.hh"
#include "dns/base/result.hh"
#include "dns/discovery/discovery.hh"
#include "dns/discovery/resolver.hh"
#include "dns/zone/zone.hh"

namespace rrdns::app {

// answer::Catalog::ReadyHook for the daemon's catalogs: logs that the fast path is in use.
void logTableReady(const answer::PrecompiledAnswers& table, double seconds);

// Main loop only. Zone files are read once per (re)load; a change in discovered addresses
// rebuilds the served set from the loaded one (copying the zones that have pools only) without
// touching the files, so an edited but not reloaded file is never served by surprise.
// Every served set passes the serial policy (zone/serial.hh) against what was served before,
// then signed zones are signed (DnssecZones::sign), and each zone whose served serial changed (or that is served for the first time, as Knot DNS
// does on load) is announced to its secondaries by `notifier`.
class ServedZones {
 public:
  // `resolver_servers` as Resolver::create ("": /etc/resolv.conf). The resolver starts with the
  // first zone set that discovers members, or at once when servers are given. `notify`: the
  // server-wide secondaries, for zones that name none of their own.
  ServedZones(uv_loop_t* loop, CatalogPublisher& publisher, std::string resolver_servers,
              Notifier& notifier, std::vector<zone::NotifyTarget> notify);
  // A reload's new server-wide list (applies from the next publication on).
  void setDefaultNotify(std::vector<zone::NotifyTarget> notify) { d_notify = std::move(notify); }

  // What serving `loaded` now would warn of (rrdnsctl check): zones whose records changed while
  // their serial did not rise.
  Errors serialWarnings(const zone::ZoneSet& loaded) const;
  ~ServedZones();
  ServedZones(const ServedZones&) = delete;
  ServedZones& operator=(const ServedZones&) = delete;

  // Serves `loaded` from now on, with what discovery knows so far (at startup: nothing, so
  // discovered members join as their names resolve, a few milliseconds later).
  // Fails when discovery cannot run (a bad resolver list), which is logged once: the zones are
  // served all the same, their pools with their configured members. The serial policy's
  // warnings are logged, and added to `warnings` if given.
  Result<void> publish(std::shared_ptr<const zone::ZoneSet> loaded, Errors* warnings = nullptr);
  // The same for a catalog already made of the loaded zones (start-up: the one the workers
  // start with), which is served as it is while nothing is discovered.
  Result<void> publish(std::shared_ptr<const answer::Catalog> catalog);

  // Readies the keys of `loaded`'s signed zones (DnssecZones::prepare) before it is published;
  // on error nothing changes and the zones served keep serving.
  Result<void> prepareKeys(const zone::ZoneSet& loaded, const std::string& key_directory) {
    return d_dnssec.prepare(loaded, key_directory);
  }
  DnssecZones& dnssec() { return d_dnssec; }
  const DnssecZones& dnssec() const { return d_dnssec; }

  // Whether discovery has answered (or failed) once for every name, so that the members it
  // gives are in the catalog served; true when nothing is discovered.
  bool discoverySettled() const { return !d_discovery || d_discovery->settled(); }

 private:
  Result<void> publish(std::shared_ptr<const zone::ZoneSet> loaded,
                       std::shared_ptr<const answer::Catalog> made, Errors* warnings);
  void rebuild(std::shared_ptr<const answer::Catalog> made = nullptr, Errors* warnings = nullptr);
  // `loaded` with the members discovery knows (as it would be served, before the serial policy).
  std::shared_ptr<const zone::ZoneSet> withMembers(
      const std::shared_ptr<const zone::ZoneSet>& loaded) const;
  // `served` with the serials the policy gives against d_served; says what is stale.
  std::shared_ptr<const zone::ZoneSet> withPolicySerials(
      const std::shared_ptr<const zone::ZoneSet>& served, Errors& stale) const;
  const std::vector<zone::NotifyTarget>& notifyTargets(const zone::Zone& zone) const {
    return zone.settings().notify ? *zone.settings().notify : d_notify;
  }

  uv_loop_t* d_loop;
  CatalogPublisher& d_publisher;
  std::string d_resolver_servers;
  std::unique_ptr<discovery::Resolver> d_resolver;
  bool d_resolver_failed = false;  // said once; pools keep their configured members
  std::unique_ptr<discovery::Discovery> d_discovery;
  std::shared_ptr<const zone::ZoneSet> d_loaded;
  Notifier& d_notifier;
  std::vector<zone::NotifyTarget> d_notify;
  std::unordered_map<std::string, zone::ServedSerial> d_served;  // by apex: what serves now
  // Zones already warned of as stale since the last load, so that discovery does not repeat it.
  std::unordered_set<std::string> d_warned_stale;
  // Signed zones are signed last, after the serial policy; its timer rebuilds when keys move.
  DnssecZones d_dnssec{d_loop, [this] { rebuild(); }};
};

}  // namespace rrdns::app
