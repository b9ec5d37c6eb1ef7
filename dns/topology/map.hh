// map.hh -- a topology map: client networks to ordered lists of site names, with a default list
// for clients that match nothing. Defined in a zone file's [maps.NAME] table, inline or in a nets
// file, optionally from a MaxMind DB (countries, continents); built whole at load time and
// replaced whole by a reload, never changed in place.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dns/base/result.hh"
#include "dns/topology/prefix_map.hh"

namespace rrdns::topology {

using SiteList = std::vector<std::string>;  // site names, nearest first

struct TopologyMap {
  std::string name;    // its key in the zone file ("geo")
  std::string source;  // file:line of its table
  // The distinct site lists; a PrefixMap label indexes this. lists[0] is the default list.
  std::vector<SiteList> lists;
  PrefixMap networks[2] = {PrefixMap(Family::V4, 0), PrefixMap(Family::V6, 0)};  // by Family
  // Where each network came from ("geo.nets:12", "geo.toml:40", "GeoLite2: DE"), for explain;
  // keyed by formatNetwork().
  std::map<std::string, std::string> origins;
};

// Collects one map's networks; finish() checks it and builds the PrefixMaps.
class TopologyMapBuilder {
 public:
  TopologyMapBuilder(std::string name, std::string source);

  void setDefault(SiteList sites);  // without it: empty list (every client falls to the pool)
  // One network; `where` is its file:line. The same network twice is an error naming both.
  Result<void> addNetwork(std::string_view network, SiteList sites, std::string where);
  // A nets file: one network per line, "NETWORK SITE [SITE...]", '#' starts a comment; errors
  // with file:line. The same syntax as gdnsd's nets, one line each.
  Result<void> readNetsFile(const std::string& path);
  // A MaxMind DB (libmaxminddb): every network the database knows gets the list of its country
  // (ISO 3166 code), else of its continent code, else none. Networks added by addNetwork() or a
  // nets file override it, whatever the prefix lengths.
  Result<void> readGeoip(const std::string& path, const std::map<std::string, SiteList>& countries,
                         const std::map<std::string, SiteList>& continents, std::string where);

  Result<std::shared_ptr<const TopologyMap>> finish();
};

}  // namespace rrdns::topology
