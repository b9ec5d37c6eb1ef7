// geoip.hh -- a topology map's networks from a MaxMind DB (libmaxminddb): countries and
// continents to site lists.
#pragma once

#include <map>
#include <string>

#include "dns/base/result.hh"
#include "dns/topology/map.hh"

namespace rrdns::topology {

struct GeoipSource {
  std::string database;                      // path of the .mmdb file
  std::map<std::string, SiteList> countries;   // ISO 3166-1 alpha-2 code ("DE") -> sites
  std::map<std::string, SiteList> continents;  // continent code ("EU") -> sites
  std::string where;                         // file:line of the table that named it
};

// Adds every network of the database whose country has a list (else whose continent has one)
// to `map` with addDatabaseNetwork(). Errors name the database and what is wrong (unreadable,
// not a MaxMind DB, no country or continent data).
Result<void> readGeoip(const GeoipSource& source, TopologyMapBuilder& map);

}  // namespace rrdns::topology
