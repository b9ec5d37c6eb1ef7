// map.hh -- a topology map: client networks to ordered lists of site names, with a default list
// for clients that match nothing. Defined in a zone file's [maps.NAME] table, inline or in a nets
// file, optionally from a MaxMind DB (geoip.hh: countries, continents); built whole at load time and
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
  // One network a database gave (geoip.hh): longest prefix wins among these, and every network
  // addNetwork() or a nets file gave overrides them, whatever the prefix lengths. `origin` says
  // where it came from for explain ("GeoLite2-Country.mmdb: DE").
  void addDatabaseNetwork(const Network& network, SiteList sites, std::string origin);

  Result<std::shared_ptr<const TopologyMap>> finish();

 private:
  struct Entry {
    Network network;
    SiteList sites;
    std::string where;  // file:line (nets) or origin (database)
  };
  std::string d_name;
  std::string d_source;
  SiteList d_default;
  std::vector<Entry> d_nets;                 // addNetwork(), nets files
  std::map<std::string, size_t> d_net_index;  // formatNetwork() -> d_nets index (duplicates)
  std::vector<Entry> d_database;             // addDatabaseNetwork()
};

}  // namespace rrdns::topology
