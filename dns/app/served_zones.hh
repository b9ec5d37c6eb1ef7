// served_zones.hh -- from loaded zones to served ones: pools get the members their discovery
// sources resolve to, and are served anew whenever those change.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "dns/answer/precompiled.hh"
#include "dns/app/catalog_publisher.hh"
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
class ServedZones {
 public:
  // `resolver_servers` as Resolver::create ("": /etc/resolv.conf). The resolver starts with the
  // first zone set that discovers members, or at once when servers are given.
  ServedZones(uv_loop_t* loop, CatalogPublisher& publisher, std::string resolver_servers);
  ~ServedZones();
  ServedZones(const ServedZones&) = delete;
  ServedZones& operator=(const ServedZones&) = delete;

  // Serves `loaded` from now on, with what discovery knows so far (at startup: nothing, so
  // discovered members join as their names resolve, a few milliseconds later).
  // Fails when discovery cannot run (a bad resolver list), which is logged once: the zones are
  // served all the same, their pools with their configured members.
  Result<void> publish(std::shared_ptr<const zone::ZoneSet> loaded);
  // The same for a catalog already made of the loaded zones (start-up: the one the workers
  // start with), which is served as it is while nothing is discovered.
  Result<void> publish(std::shared_ptr<const answer::Catalog> catalog);

  // Whether discovery has answered (or failed) once for every name, so that the members it
  // gives are in the catalog served; true when nothing is discovered.
  bool discoverySettled() const { return !d_discovery || d_discovery->settled(); }

 private:
  Result<void> publish(std::shared_ptr<const zone::ZoneSet> loaded,
                       std::shared_ptr<const answer::Catalog> made);
  void rebuild(std::shared_ptr<const answer::Catalog> made = nullptr);

  uv_loop_t* d_loop;
  CatalogPublisher& d_publisher;
  std::string d_resolver_servers;
  std::unique_ptr<discovery::Resolver> d_resolver;
  bool d_resolver_failed = false;  // said once; pools keep their configured members
  std::unique_ptr<discovery::Discovery> d_discovery;
  std::shared_ptr<const zone::ZoneSet> d_loaded;
};

}  // namespace rrdns::app
