#include "dns/topology/map.hh"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace rrdns::topology {

namespace {

// An error at `where` ("geo.nets:12"): file and line apart when it has them, so the error
// formats as every other load error does.
Error errorAtPlace(const std::string& where, std::string message) {
  const size_t colon = where.rfind(':');
  if (colon != std::string::npos && colon + 1 < where.size() &&
      std::all_of(where.begin() + static_cast<std::ptrdiff_t>(colon) + 1, where.end(),
                  [](unsigned char c) { return std::isdigit(c); }) &&
      where.size() - colon - 1 <= 9)
    return errorAt(where.substr(0, colon),
                   static_cast<uint32_t>(std::stoul(where.substr(colon + 1))), "",
                   std::move(message));
  return error(where.empty() ? std::move(message) : where + ": " + message);
}

}  // namespace

TopologyMapBuilder::TopologyMapBuilder(std::string name, std::string source)
    : d_name(std::move(name)), d_source(std::move(source)) {}

void TopologyMapBuilder::setDefault(SiteList sites) { d_default = std::move(sites); }

Result<void> TopologyMapBuilder::addNetwork(std::string_view network, SiteList sites,
                                            std::string where) {
  Result<Network> parsed = parseNetwork(network);
  if (!parsed) return errorAtPlace(where, parsed.error().message);
  // Clients with IPv4-mapped addresses are routed as IPv4 (network.hh), so such a network would
  // never match anyone.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (parsed->family == Family::V6 && parsed->prefix >= 96 &&
      std::equal(kMapped, kMapped + 12, parsed->address)) {
    Network v4{Family::V4, static_cast<uint8_t>(parsed->prefix - 96), {}};
    std::copy(parsed->address + 12, parsed->address + 16, v4.address);
    return errorAtPlace(where, "\"" + std::string(network) +
                                   "\" is IPv4-mapped: clients are routed by their IPv4 address, "
                                   "write " +
                                   formatNetwork(v4));
  }
  const std::string key = formatNetwork(*parsed);
  const auto [it, added] = d_net_index.try_emplace(key, d_nets.size());
  if (!added)
    return errorAtPlace(
        where, "network " + key + " is listed twice (first at " + d_nets[it->second].where + ")");
  d_nets.push_back(Entry{*parsed, std::move(sites), std::move(where)});
  return success();
}

Result<void> TopologyMapBuilder::readNetsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errorAt(path, 0, "", std::string("cannot open: ") + std::strerror(errno));
  Errors errors;
  std::string line;
  for (uint32_t number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    std::vector<std::string> words;
    for (size_t at = 0;;) {
      at = line.find_first_not_of(" \t\r\v\f", at);
      if (at == std::string::npos) break;
      const size_t end = std::min(line.find_first_of(" \t\r\v\f", at), line.size());
      words.push_back(line.substr(at, end - at));
      at = end;
    }
    if (words.empty()) continue;
    if (words.size() == 1) {
      errors.push_back(errorAt(path, number, "",
                               "network " + words[0] + " has no sites (NETWORK SITE [SITE ...])"));
      continue;
    }
    Result<void> added = addNetwork(words[0], SiteList(words.begin() + 1, words.end()),
                                    path + ":" + std::to_string(number));
    for (Error& e : added.errors()) errors.push_back(std::move(e));
  }
  if (in.bad())
    errors.push_back(errorAt(path, 0, "", std::string("read failed: ") + std::strerror(errno)));
  return errors;
}

void TopologyMapBuilder::addDatabaseNetwork(const Network& network, SiteList sites,
                                            std::string origin) {
  d_database.push_back(Entry{network, std::move(sites), std::move(origin)});
}

Result<std::shared_ptr<const TopologyMap>> TopologyMapBuilder::finish() {
  auto map = std::make_shared<TopologyMap>();
  map->name = d_name;
  map->source = d_source;
  std::map<SiteList, uint32_t> ids;  // interned lists
  map->lists.push_back(d_default);
  ids.emplace(d_default, 0);
  auto intern = [&](const SiteList& sites) {
    const auto [it, added] = ids.try_emplace(sites, static_cast<uint32_t>(map->lists.size()));
    if (added) map->lists.push_back(sites);
    return it->second;
  };
  // Database networks first, longest prefix among them; then the operator's networks painted
  // over them, shortest first, so that each drops the database networks below it while the
  // longer operator networks inside it still win.
  for (const Entry& e : d_database) {
    map->networks[static_cast<size_t>(e.network.family)].add(e.network, intern(e.sites));
    map->origins[formatNetwork(e.network)] = e.where;
  }
  std::vector<const Entry*> nets;
  for (const Entry& e : d_nets) nets.push_back(&e);
  std::stable_sort(nets.begin(), nets.end(), [](const Entry* a, const Entry* b) {
    return a->network.prefix < b->network.prefix;
  });
  for (const Entry* e : nets) {
    map->networks[static_cast<size_t>(e->network.family)].paint(e->network, intern(e->sites));
    map->origins[formatNetwork(e->network)] = e->where;
  }
  return std::shared_ptr<const TopologyMap>(std::move(map));
}

}  // namespace rrdns::topology
