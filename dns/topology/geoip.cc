#include "dns/topology/geoip.hh"

#include <maxminddb.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace rrdns::topology {
namespace {

// What decided a data record's networks: a configured country or continent (its index in
// Walk::d_decisions), or nothing (the network is left to the map's default).
constexpr uint32_t kNoDecision = UINT32_MAX;
// A subtree whose networks are not all decided alike: its uniform parts were added already.
constexpr uint32_t kMixed = UINT32_MAX - 1;

// Errors are reported at the table that named the database (its file:line), and name the file.
Error databaseError(const GeoipSource& source, const std::string& message) {
  std::string file = source.where;
  uint32_t line = 0;
  if (const size_t colon = file.rfind(':'); colon != std::string::npos) {
    const char* digits = file.c_str() + colon + 1;
    const auto [end, ec] = std::from_chars(digits, file.c_str() + file.size(), line);
    if (ec == std::errc() && *end == '\0' && end != digits)
      file.resize(colon);
    else
      line = 0;
  }
  return errorAt(file, line, {}, "MaxMind DB " + source.database + ": " + message);
}

struct Decision {
  const SiteList* sites;
  std::string origin;  // "GeoLite2-Country.mmdb: DE", for explain
};

// The database, open; closed when it goes.
class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    if (d_open) MMDB_close(&d_mmdb);
  }
  int open(const std::string& path) {
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &d_mmdb);
    d_open = status == MMDB_SUCCESS;
    return status;
  }
  const MMDB_s& mmdb() const { return d_mmdb; }

 private:
  MMDB_s d_mmdb{};
  bool d_open = false;
};

// One depth-first walk of the search tree. Each call returns how its subtree is decided: one
// decision for all of it (the caller may merge it with its sibling into one wider network), or
// kMixed once its uniform parts have been added. So adjacent networks the same country or
// continent decides become one network wherever the tree has them as siblings, at the cost of
// nothing but the recursion (depth <= 128): no network is held back.
class Walk {
 public:
  Walk(const MMDB_s& mmdb, const GeoipSource& source, TopologyMapBuilder& map)
      : d_mmdb(mmdb), d_source(source), d_map(map) {
    const std::string& path = source.database;
    const std::string name = path.substr(path.rfind('/') + 1);
    // Countries first: a country's list beats its continent's.
    for (const auto& [code, sites] : source.countries) {
      d_country_decision.emplace(code, d_decisions.size());
      d_decisions.push_back({&sites, name + ": " + code});
    }
    for (const auto& [code, sites] : source.continents) {
      d_continent_decision.emplace(code, d_decisions.size());
      d_decisions.push_back({&sites, name + ": " + code});
    }
  }

  Result<void> run() {
    const MMDB_metadata_s& meta = d_mmdb.metadata;
    if (meta.ip_version == 4) {
      d_family = Family::V4;
      finishTop(walkNode(0, 0), 0);
    } else if (meta.ip_version == 6) {
      findIpv4Root();
      d_family = Family::V6;
      finishTop(walkNode(0, 0), 0);
      if (!d_failed && d_ipv4_root != kNoNode) {
        // The IPv4 space, ::/96: its own family, networks counted from its root.
        d_family = Family::V4;
        std::memset(d_address, 0, sizeof d_address);
        finishTop(walkNode(d_ipv4_root, 0), 0);
      }
    } else {
      return fail("ip_version " + std::to_string(meta.ip_version) + " is neither 4 nor 6");
    }
    if (d_failed) return d_error;
    if (d_data_records > 0 && d_records_with_country == 0 && d_records_with_continent == 0)
      return fail(
          "no country or continent data (neither country.iso_code, country_code nor "
          "continent.code in its records): not a country database?");
    if (!d_source.continents.empty() && d_records_with_continent == 0)
      return fail(
          "has no continent data (no continent.code in its records; ip-location-db's "
          "databases have country_code only): map countries instead of continents");
    return {};
  }

 private:
  static constexpr uint32_t kNoNode = UINT32_MAX;

  Error fail(std::string message) {
    if (!d_failed) {
      d_failed = true;
      d_error = databaseError(d_source, message);
    }
    return d_error;
  }

  // In an IPv6 database IPv4 lives under ::/96; MaxMind's databases also point ::ffff:0:0/96,
  // 2001::/32 (Teredo) and 2002::/16 (6to4) at that same node. Found by following ::/96.
  void findIpv4Root() {
    uint32_t node = 0;
    for (int depth = 0; depth < 96; ++depth) {
      MMDB_search_node_s n;
      if (MMDB_read_node(&d_mmdb, node, &n) != MMDB_SUCCESS ||
          n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
        return;  // no IPv4 subtree (an IPv6-only database, or ::/N is one record)
      node = static_cast<uint32_t>(n.left_record);
    }
    d_ipv4_root = node;
  }

  uint8_t bitsOfFamily() const { return bits(d_family); }

  // How the subtree at `node`, `depth` bits down, is decided; adds its uniform parts when mixed.
  uint32_t walkNode(uint32_t node, uint8_t depth) {
    if (d_failed) return kMixed;
    if (++d_nodes_visited > d_mmdb.metadata.node_count) {
      // Each node of a tree is reached once (aliases aside, which are not followed): more
      // visits than nodes means records point back up or across: the walk could take forever.
      fail("corrupt search tree (a node is reached twice: only IPv4's may be, by aliases)");
      return kMixed;
    }
    MMDB_search_node_s n;
    const int status = MMDB_read_node(&d_mmdb, node, &n);
    if (status != MMDB_SUCCESS) {
      fail(std::string("corrupt search tree: ") + MMDB_strerror(status));
      return kMixed;
    }
    const uint32_t left =
        walkRecord(n.left_record, n.left_record_type, n.left_record_entry, depth + 1, 0);
    const uint32_t right =
        walkRecord(n.right_record, n.right_record_type, n.right_record_entry, depth + 1, 1);
    if (left == right) return left;  // kMixed twice too: nothing more to add
    addIfDecided(left, depth + 1, 0);
    addIfDecided(right, depth + 1, 1);
    return kMixed;
  }

  // One record of a node: `depth` is its prefix length, `bit` the bit it stands for.
  uint32_t walkRecord(uint64_t record, uint8_t type, MMDB_entry_s entry, uint8_t depth, int bit) {
    setBit(depth - 1, bit);
    switch (type) {
      case MMDB_RECORD_TYPE_EMPTY:
        return kNoDecision;
      case MMDB_RECORD_TYPE_DATA:
        return decide(entry);
      case MMDB_RECORD_TYPE_SEARCH_NODE: {
        const auto child = static_cast<uint32_t>(record);
        if (d_family == Family::V6 && child == d_ipv4_root) {
          // ::/96 is walked as IPv4 on its own; the aliases that point at the same node
          // (::ffff:0:0/96, 2001::/32, 2002::/16) are not walked at all: a client there is
          // routed as IPv4 (mapped) or gets the default (Teredo, 6to4). None of them merges
          // with its neighbours.
          return kMixed;
        }
        if (depth >= bitsOfFamily()) {
          fail("corrupt search tree (deeper than " + std::to_string(bitsOfFamily()) + " bits)");
          return kMixed;
        }
        const uint32_t result = walkNode(child, depth);
        clearBitsFrom(depth);
        return result;
      }
      default:
        fail("corrupt search tree (a record of unknown type)");
        return kMixed;
    }
  }

  // The decision for one data record: its country's list, else its continent's, else none.
  // Records are shared by many networks, so each is decoded once.
  uint32_t decide(MMDB_entry_s entry) {
    const auto [it, fresh] = d_decision_of_record.try_emplace(entry.offset, kNoDecision);
    if (!fresh) return it->second;
    ++d_data_records;
    const std::string country = stringAt(entry, {"country", "iso_code"}, {"country_code"});
    const std::string continent = stringAt(entry, {"continent", "code"}, {});
    if (!country.empty()) ++d_records_with_country;
    if (!continent.empty()) ++d_records_with_continent;
    if (auto c = d_country_decision.find(country);
        !country.empty() && c != d_country_decision.end())
      it->second = c->second;
    else if (auto k = d_continent_decision.find(continent);
             !continent.empty() && k != d_continent_decision.end())
      it->second = k->second;
    return it->second;
  }

  // The UTF-8 string at `path` in the record, else at `alternative`; empty: neither is one.
  std::string stringAt(MMDB_entry_s entry, std::initializer_list<const char*> path,
                       std::initializer_list<const char*> alternative) {
    for (const auto& p : {path, alternative}) {
      if (p.size() == 0) continue;
      std::vector<const char*> keys(p);
      keys.push_back(nullptr);
      MMDB_entry_data_s data;
      const int status = MMDB_aget_value(&entry, &data, keys.data());
      if (status == MMDB_SUCCESS && data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING)
        return std::string(data.utf8_string, data.data_size);
      if (status != MMDB_SUCCESS && status != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        fail(std::string("corrupt data section: ") + MMDB_strerror(status));
        return {};
      }
    }
    return {};
  }

  void addIfDecided(uint32_t decision, uint8_t prefix, int bit) {
    if (decision == kNoDecision || decision == kMixed) return;
    setBit(prefix - 1, bit);
    add(decision, prefix);
  }

  // The walk's top: a whole tree (family) decided alike is one network.
  void finishTop(uint32_t decision, uint8_t prefix) {
    if (decision == kNoDecision || decision == kMixed || d_failed) return;
    clearBitsFrom(prefix);
    add(decision, prefix);
  }

  void add(uint32_t decision, uint8_t prefix) {
    Network network;
    network.family = d_family;
    network.prefix = prefix;
    std::memcpy(network.address, d_address, bits(d_family) / 8);
    clearBits(network.address, prefix, bits(d_family));
    const Decision& d = d_decisions[decision];
    d_map.addDatabaseNetwork(network, *d.sites, d.origin);
  }

  void setBit(unsigned index, int bit) {
    if (bit)
      d_address[index / 8] |= static_cast<uint8_t>(0x80u >> (index % 8));
    else
      d_address[index / 8] &= static_cast<uint8_t>(~(0x80u >> (index % 8)));
  }
  void clearBitsFrom(unsigned index) { clearBits(d_address, index, 128); }
  static void clearBits(uint8_t* address, unsigned from, unsigned to) {
    for (unsigned b = from; b < to; ++b)
      address[b / 8] &= static_cast<uint8_t>(~(0x80u >> (b % 8)));
  }

  const MMDB_s& d_mmdb;
  const GeoipSource& d_source;
  TopologyMapBuilder& d_map;
  std::vector<Decision> d_decisions;
  std::unordered_map<std::string, uint32_t> d_country_decision, d_continent_decision;
  std::unordered_map<uint32_t, uint32_t> d_decision_of_record;  // data offset -> decision
  Family d_family = Family::V6;
  uint32_t d_ipv4_root = kNoNode;
  uint8_t d_address[16] = {};  // the bits above the node being walked
  uint64_t d_nodes_visited = 0;
  uint64_t d_data_records = 0, d_records_with_country = 0, d_records_with_continent = 0;
  bool d_failed = false;
  Error d_error;
};

}  // namespace

Result<void> readGeoip(const GeoipSource& source, TopologyMapBuilder& map) {
  Database database;
  const int status = database.open(source.database);
  if (status != MMDB_SUCCESS) {
    const int open_errno = errno;
    std::string why = MMDB_strerror(status);
    if (status == MMDB_FILE_OPEN_ERROR) why += std::string(": ") + std::strerror(open_errno);
    return databaseError(source, why);
  }
  return Walk(database.mmdb(), source, map).run();
}

}  // namespace rrdns::topology
