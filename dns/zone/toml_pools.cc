// toml_pools.cc -- the [pools] part of the TOML zone format (README.md, "Pools").
//
// A pool is read completely and only handed to ZoneBuilder::addPool when it had no errors, so
// a broken pool does not add follow-up errors about itself. Conflicts with records at the pool's
// names are ZoneBuilder::finish()'s to report, as it sees the whole zone.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/toml_support.hh"

namespace rrdns::zone::toml_support {
namespace {

namespace type = wire::type;

constexpr int64_t kMaxWeight = 1000;
constexpr int64_t kDefaultWeight = 100;
constexpr int64_t kMaxRiseFall = 100;
constexpr size_t kMaxPoolNameLength = 64;
// Longer durations are surely a mistake (a unit left out), and a day in ms fits uint32_t.
constexpr double kMaxDurationMs = 86'400'000;
constexpr uint32_t kDefaultIntervalMs = 2000;
constexpr uint32_t kDefaultTimeoutMs = 1000;
// Kubernetes and compose publish a replica's address within seconds; 10 s bounds how stale the
// set gets without loading the resolver (a short TTL makes it sooner).
constexpr uint32_t kDefaultDiscoveryIntervalMs = 10'000;
constexpr uint32_t kMinDiscoveryIntervalMs = 1'000;
// A site's capacity is a ratio to the others'; a million to one is past any real difference.
constexpr int64_t kMaxCapacity = 1'000'000;
constexpr int64_t kDefaultCapacity = 100;
// Each site answers from its own members, so there are never more sites than members can be.
constexpr size_t kMaxSites = kMaxPoolMembers;

constexpr std::string_view kDurationForms =
    "a number of seconds, or a string such as \"500ms\", \"2s\" or \"1m\"";

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return asciiLower(static_cast<uint8_t>(x)) == asciiLower(static_cast<uint8_t>(y));
         });
}

// Pool names end up in logs, status output and operators' commands, one per word.
bool validPoolName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxPoolNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
         });
}

// Text that goes into an HTTP request line or header as is: visible ASCII, no spaces.
bool visibleAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// Shortest text that reads back as `v` ("0.5", "2", "1e+30").
std::string numberText(double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

// One choice of a keyword-valued key ("policy", "all-down", ...).
template <typename Enum>
struct Choice {
  std::string_view word;
  Enum value;
};

class PoolReader {
 public:
  PoolReader(const std::string& origin, uint32_t zone_ttl, const TopologyMaps& maps,
             ZoneBuilder& builder, TomlReporter& reporter)
      : d_origin(origin), d_zone_ttl(zone_ttl), d_maps(maps), d_builder(builder), d_r(reporter) {}

  void readPools(const toml::node& node) {
    const auto* pools = node.as_table();
    if (!pools)
      return d_r.report(node, "pools",
                        "expected a table of pools (e.g. [pools.www]), got " +
                            std::string(describe(node.type())));
    for (const auto& [key, value] : inFileOrder(*pools)) readPool(*key, *value);
  }

 private:
  void readPool(const toml::key& key, const toml::node& node) {
    const std::string path = childPath("pools", key.str());
    const auto* table = node.as_table();
    if (!table)
      return d_r.report(node, path,
                        "expected a table with names and members (e.g. [pools.www]), got " +
                            std::string(describe(node.type())));
    const size_t errors_before = d_r.errorCount();
    if (!validPoolName(key.str()))
      d_r.report(key.source().begin.line, path,
                 "a pool name is 1 to " + std::to_string(kMaxPoolNameLength) +
                     " letters, digits, '-', '_' or '.'");
    d_r.checkKeys(
        *table, path,
        {"names", "policy", "max-addresses", "ttl", "degraded-ttl", "min-healthy", "all-down",
         "slow-start", "members", "discover", "check", "sites", "map", "spill"});

    Pool pool;
    pool.name = std::string(key.str());
    pool.source = d_r.path() + ":" + std::to_string(table->source().begin.line);
    readOwners(*table, path, pool.owners);
    if (const auto* v = table->get("policy"))
      pool.policy = readChoice<PoolPolicy>(*v, childPath(path, "policy"), "policy",
                                           {{"rotate", PoolPolicy::Rotate},
                                            {"weighted", PoolPolicy::Weighted},
                                            {"random", PoolPolicy::Random}})
                        .value_or(pool.policy);
    if (const auto* v = table->get("max-addresses"))
      pool.max_addresses =
          static_cast<uint32_t>(d_r.readInteger(*v, childPath(path, "max-addresses"), 0,
                                                static_cast<int64_t>(kMaxPoolMembers))
                                    .value_or(0));
    pool.ttl = d_zone_ttl;
    if (const auto* v = table->get("ttl"))
      pool.ttl = d_r.readTtl(*v, childPath(path, "ttl")).value_or(pool.ttl);
    pool.degraded_ttl = pool.ttl;
    if (const auto* v = table->get("degraded-ttl"))
      pool.degraded_ttl = d_r.readTtl(*v, childPath(path, "degraded-ttl")).value_or(pool.ttl);
    if (const auto* v = table->get("min-healthy"))
      pool.min_healthy = readFraction(*v, childPath(path, "min-healthy")).value_or(0.0);
    if (const auto* v = table->get("all-down"))
      pool.all_down =
          readChoice<AllDown>(
              *v, childPath(path, "all-down"), "all-down",
              {{"all", AllDown::All}, {"none", AllDown::None}, {"servfail", AllDown::Servfail}})
              .value_or(pool.all_down);
    if (const auto* v = table->get("slow-start"))
      pool.slow_start_ms = readDuration(*v, childPath(path, "slow-start")).value_or(0);

    const health::CheckSpec check = readCheck(table->get("check"), childPath(path, "check"));
    // Set when the pool names a map whose own errors are reported already.
    bool broken_map = false;
    if (const auto* sites = table->get("sites")) {
      readSites(*table, *sites, path, check, pool, broken_map);
    } else {
      for (std::string_view key : {"map", "spill"})
        if (const auto* v = table->get(key))
          d_r.report(*v, childPath(path, key),
                     "only a pool with sites has a " + std::string(key) + "; add [" +
                         childPath(path, "sites") + ".NAME] tables with the members of each");
      if (const auto* v = table->get("discover"))
        readDiscover(*v, childPath(path, "discover"), check, pool.discover);
      // Discovered members may be all there is; an empty `members` is still a mistake.
      std::vector<std::string> where;
      if (!table->get("discover") || table->get("members"))
        readMembers(*table, path, "members", "pool", check, pool.members, where);
    }

    d_r.sortByLineSince(errors_before);
    if (d_r.errorCount() != errors_before || broken_map) return;
    if (Result<void> added = d_builder.addPool(std::move(pool)); !added)
      d_r.report(*table, path, added.error().message);
  }

  void readOwners(const toml::table& pool, const std::string& path,
                  std::vector<std::string>& owners) {
    const auto* node = d_r.require(pool, "names", path,
                                   "missing; the names this pool answers, e.g. names = [\"www\"]");
    if (!node) return;
    const std::string names_path = childPath(path, "names");
    const auto* names = node->as_array();
    if (!names)
      return d_r.report(*node, names_path,
                        "expected an array of names (e.g. names = [\"www\", \"@\"]), got " +
                            std::string(describe(node->type())));
    if (names->empty())
      return d_r.report(*node, names_path, "empty array; a pool answers at least one name");
    for (size_t i = 0; i < names->size(); ++i) {
      const toml::node& element = *names->get(i);
      const std::string element_path = elementPath(names_path, i);
      const std::string* text = d_r.readString(element, element_path);
      if (!text) continue;
      std::string owner, error;
      if (!wire::nameFromText(*text, d_origin, owner, error)) {
        d_r.report(element, element_path, error);
      } else if (!wire::isSubdomainOf(owner, d_origin)) {
        d_r.report(
            element, element_path,
            "'" + wire::nameToText(owner) + "' is outside the zone " + wire::nameToText(d_origin));
      } else if (std::find(owners.begin(), owners.end(), owner) == owners.end()) {
        // A name spelled twice ("www", "www.example.com.") is still one name.
        owners.push_back(std::move(owner));
      }
    }
  }

  // --- the health check ---

  health::CheckSpec readCheck(const toml::node* node, const std::string& path) {
    health::CheckSpec spec;
    spec.interval_ms = kDefaultIntervalMs;
    spec.timeout_ms = kDefaultTimeoutMs;
    if (!node) return spec;
    const auto* check = node->as_table();
    if (!check) {
      d_r.report(*node, path,
                 "expected a table (e.g. [pools.www.check] with type = \"http\"), got " +
                     std::string(describe(node->type())));
      return spec;
    }
    d_r.checkKeys(*check, path,
                  {"type", "port", "path", "host", "expect", "body", "interval", "timeout",
                   "jitter", "rise", "fall", "initial"});
    using health::CheckKind;
    if (const auto* v = check->get("type"))
      spec.kind = readChoice<CheckKind>(*v, childPath(path, "type"), "check type",
                                        {{"http", CheckKind::Http},
                                         {"https", CheckKind::Https},
                                         {"tcp", CheckKind::Tcp},
                                         {"none", CheckKind::None}})
                      .value_or(spec.kind);
    if (const auto* v = check->get("port")) {
      spec.port = readPort(*v, childPath(path, "port")).value_or(spec.port);
    } else if (spec.kind == CheckKind::Https) {
      spec.port = 443;
    } else if (spec.kind == CheckKind::Tcp) {
      d_r.report(*check, childPath(path, "port"), "missing; a tcp check needs a port");
    }
    if (const auto* v = check->get("path")) readRequestPath(*v, childPath(path, "path"), spec.path);
    if (const auto* v = check->get("host")) readHost(*v, childPath(path, "host"), spec.host);
    if (const auto* v = check->get("expect"))
      readExpect(*v, childPath(path, "expect"), spec.expect);
    if (const auto* v = check->get("body")) {
      if (const auto* text = d_r.readString(*v, childPath(path, "body"))) spec.body_match = *text;
    }
    readTimers(*check, path, spec);
    if (const auto* v = check->get("rise"))
      spec.rise = static_cast<uint32_t>(
          d_r.readInteger(*v, childPath(path, "rise"), 1, kMaxRiseFall).value_or(spec.rise));
    if (const auto* v = check->get("fall"))
      spec.fall = static_cast<uint32_t>(
          d_r.readInteger(*v, childPath(path, "fall"), 1, kMaxRiseFall).value_or(spec.fall));
    if (const auto* v = check->get("initial"))
      spec.initial_up = readChoice<bool>(*v, childPath(path, "initial"), "initial state",
                                         {{"up", true}, {"down", false}})
                            .value_or(spec.initial_up);
    return spec;
  }

  void readTimers(const toml::table& check, const std::string& path, health::CheckSpec& spec) {
    bool interval_ok = true;  // else a timeout is not compared with an interval nobody wrote
    if (const auto* interval = check.get("interval")) {
      const std::string key = childPath(path, "interval");
      const auto ms = readDuration(*interval, key);
      if (ms && *ms == 0) d_r.report(*interval, key, "must be above 0");
      interval_ok = ms && *ms > 0;
      if (interval_ok) spec.interval_ms = *ms;
    }
    if (const auto* timeout = check.get("timeout")) {
      const std::string key = childPath(path, "timeout");
      const auto ms = readDuration(*timeout, key);
      if (ms && *ms == 0) {
        d_r.report(*timeout, key, "must be above 0");
      } else if (ms && interval_ok && *ms > spec.interval_ms) {
        // A probe still running when the next one is due would pile up.
        d_r.report(*timeout, key,
                   "timeout " + std::to_string(*ms) + " ms is longer than the interval " +
                       std::to_string(spec.interval_ms) + " ms");
      } else if (ms) {
        spec.timeout_ms = *ms;
      }
    } else {
      // The default yields to a short interval rather than making it an error.
      spec.timeout_ms = std::min(spec.timeout_ms, spec.interval_ms);
    }
    if (const auto* jitter = check.get("jitter"))
      spec.jitter_ms = readDuration(*jitter, childPath(path, "jitter")).value_or(0);
  }

  void readRequestPath(const toml::node& node, const std::string& path, std::string& out) {
    const std::string* text = d_r.readString(node, path);
    if (!text) return;
    if (text->empty() || text->front() != '/' || !visibleAscii(*text))
      return d_r.report(node, path,
                        "'" + *text +
                            "' is not a request path (it starts with '/' and has no spaces or "
                            "control characters)");
    out = *text;
  }

  void readHost(const toml::node& node, const std::string& path, std::string& out) {
    const std::string* text = d_r.readString(node, path);
    if (!text) return;
    if (text->empty() || !visibleAscii(*text))
      return d_r.report(
          node, path,
          "'" + *text + "' is not a Host header value (no spaces or control characters)");
    out = *text;
  }

  std::optional<uint16_t> readPort(const toml::node& node, const std::string& path) {
    const auto port = d_r.readInteger(node, path, 1, 0xFFFF, "port ");
    if (!port) return std::nullopt;
    return static_cast<uint16_t>(*port);
  }

  void readExpect(const toml::node& node, const std::string& path, std::vector<uint16_t>& out) {
    auto status = [&](const toml::node& element, const std::string& element_path) {
      return d_r.readInteger(element, element_path, 100, 599, "status ");
    };
    if (node.is_integer()) {
      if (const auto code = status(node, path)) out = {static_cast<uint16_t>(*code)};
      return;
    }
    const auto* codes = node.as_array();
    if (!codes)
      return d_r.report(node, path,
                        "expected a status code or an array of them (e.g. [200, 204]), got " +
                            std::string(describe(node.type())));
    if (codes->empty()) return d_r.report(node, path, "empty array; give at least one status code");
    std::vector<uint16_t> read;
    for (size_t i = 0; i < codes->size(); ++i)
      if (const auto code = status(*codes->get(i), elementPath(path, i)))
        read.push_back(static_cast<uint16_t>(*code));
    if (read.size() == codes->size()) out = std::move(read);
  }

  // --- members ---

  // `owner`'s members (a pool's or a site's, `what` says which) appended to `members`, checked
  // against those already there; `where` holds each one's key relative to the pool
  // ("sites.east.members[1]"), for the duplicate error, and `relative` is this key's.
  void readMembers(const toml::table& owner, const std::string& path, const std::string& relative,
                   std::string_view what, const health::CheckSpec& check,
                   std::vector<PoolMember>& members, std::vector<std::string>& where) {
    const std::string noun(what);
    const auto* node =
        d_r.require(owner, "members", path,
                    "missing; the " + noun +
                        "'s addresses, e.g. members = [\"192.0.2.1\", \"192.0.2.2\"], or discover "
                        "= \"web\" to take them from a DNS name");
    if (!node) return;
    const std::string members_path = childPath(path, "members");
    const auto* array = node->as_array();
    if (!array)
      return d_r.report(*node, members_path,
                        "expected an array of members, got " + std::string(describe(node->type())));
    if (array->empty())
      return d_r.report(*node, members_path,
                        "empty array; a " + noun + " needs at least one member");
    for (size_t i = 0; i < array->size(); ++i) {
      PoolMember member;
      const toml::node* at = nullptr;  // where the address is written
      std::string at_path;
      if (!readMember(*array->get(i), elementPath(members_path, i), check, member, at, at_path))
        continue;
      const auto same = std::find_if(members.begin(), members.end(), [&](const PoolMember& m) {
        return m.address == member.address;
      });
      if (same != members.end()) {
        d_r.report(*at, at_path,
                   "'" + member.text + "' is already a member of this pool (" +
                       where[same - members.begin()] + ")");
        continue;
      }
      members.push_back(std::move(member));
      where.push_back(elementPath(relative, i));
    }
  }

  // --- sites (docs/topology.md) ---

  // [pools.www.sites.NAME] tables, then the pool's map and spill, which only a pool with sites
  // has. `broken_map` is set when the map named has errors of its own.
  void readSites(const toml::table& table, const toml::node& node, const std::string& path,
                 const health::CheckSpec& check, Pool& pool, bool& broken_map) {
    const std::string sites_path = childPath(path, "sites");
    for (std::string_view key : {"members", "discover"})
      if (const auto* v = table.get(key))
        d_r.report(*v, childPath(path, key),
                   "a pool with sites has no members of its own: put them under [" + sites_path +
                       ".NAME]");
    const size_t errors_before = d_r.errorCount();
    if (const auto* sites = node.as_table()) {
      if (sites->empty())
        d_r.report(node, sites_path, "empty table; add [" + sites_path + ".NAME] tables");
      if (sites->size() > kMaxSites)
        d_r.report(node, sites_path,
                   std::to_string(sites->size()) + " sites; at most " + std::to_string(kMaxSites) +
                       " are allowed");
      std::vector<std::string> where;  // of each member, for duplicate errors
      for (const auto& [key, value] : inFileOrder(*sites)) {
        if (pool.sites.size() == kMaxSites) break;
        readSite(*key, *value, sites_path, check, pool, where);
      }
    } else {
      d_r.report(node, sites_path,
                 "expected a table of sites (e.g. [" + sites_path + ".east]), got " +
                     std::string(describe(node.type())));
    }
    const bool sites_ok = d_r.errorCount() == errors_before;

    if (const auto* v = table.get("spill"))
      pool.spill = static_cast<uint32_t>(
          d_r.readInteger(*v, childPath(path, "spill"), 0, kMaxSites).value_or(pool.spill));
    const std::string map_path = childPath(path, "map");
    const auto* map_node =
        d_r.require(table, "map", path,
                    "missing; a pool with sites needs map = \"NAME\", a [maps.NAME] table of this "
                    "file that gives each client its sites");
    if (!map_node) return;
    const std::string* name = d_r.readString(*map_node, map_path);
    if (!name) return;
    const auto found = d_maps.find(*name);
    if (found == d_maps.end()) {
      std::vector<std::string> names;
      for (const auto& [map_name, map] : d_maps) names.push_back("'" + map_name + "'");
      return d_r.report(*map_node, map_path,
                        "no map '" + *name + "' in this file (" +
                            (names.empty() ? "define it in a [maps." + *name + "] table"
                                           : "its maps: " + listOf(names)) +
                            ")");
    }
    if (!found->second) {
      broken_map = true;
      return;
    }
    pool.map = found->second;
    if (sites_ok) readSiteLists(*map_node, map_path, pool);
  }

  void readSite(const toml::key& key, const toml::node& node, const std::string& sites_path,
                const health::CheckSpec& check, Pool& pool, std::vector<std::string>& where) {
    const std::string path = childPath(sites_path, key.str());
    const auto* table = node.as_table();
    if (!table)
      return d_r.report(node, path,
                        "expected a table with the site's members (e.g. [" + path +
                            "] with members = [...]), got " + std::string(describe(node.type())));
    if (!validPoolName(key.str()))
      d_r.report(key.source().begin.line, path,
                 "a site name is 1 to " + std::to_string(kMaxPoolNameLength) +
                     " letters, digits, '-', '_' or '.'");
    d_r.checkKeys(*table, path, {"members", "discover", "capacity", "min-healthy"});
    Site site;
    site.name = std::string(key.str());
    site.source = d_r.path() + ":" + std::to_string(table->source().begin.line);
    site.capacity = kDefaultCapacity;
    site.min_healthy = pool.min_healthy;
    if (const auto* v = table->get("capacity"))
      site.capacity = static_cast<uint32_t>(
          d_r.readInteger(*v, childPath(path, "capacity"), 1, kMaxCapacity, "capacity ")
              .value_or(kDefaultCapacity));
    if (const auto* v = table->get("min-healthy"))
      site.min_healthy =
          readFraction(*v, childPath(path, "min-healthy")).value_or(site.min_healthy);

    const auto index = static_cast<uint16_t>(pool.sites.size());
    const size_t first_source = pool.discover.size();
    if (const auto* v = table->get("discover"))
      readDiscover(*v, childPath(path, "discover"), check, pool.discover);
    for (size_t i = first_source; i < pool.discover.size(); ++i) pool.discover[i].site = index;
    const size_t first_member = pool.members.size();
    if (!table->get("discover") || table->get("members"))
      readMembers(*table, path, childPath(childPath("sites", key.str()), "members"), "site", check,
                  pool.members, where);
    for (size_t i = first_member; i < pool.members.size(); ++i) pool.members[i].site = index;
    pool.sites.push_back(std::move(site));
  }

  // Pool::site_lists from the map's lists; every site they name must be one of the pool's.
  void readSiteLists(const toml::node& at, const std::string& map_path, Pool& pool) {
    std::vector<std::string> unknown;
    std::vector<std::vector<uint16_t>> lists;
    for (const auto& list : pool.map->lists) {
      std::vector<uint16_t>& indexes = lists.emplace_back();
      for (const auto& name : list) {
        const auto site = std::find_if(pool.sites.begin(), pool.sites.end(),
                                       [&](const Site& s) { return s.name == name; });
        if (site != pool.sites.end())
          indexes.push_back(static_cast<uint16_t>(site - pool.sites.begin()));
        else if (std::find(unknown.begin(), unknown.end(), "'" + name + "'") == unknown.end())
          unknown.push_back("'" + name + "'");
      }
    }
    if (unknown.empty()) {
      pool.site_lists = std::move(lists);
      return;
    }
    auto joined = [](const std::vector<std::string>& words) {
      std::string text;
      for (const auto& word : words) text += (text.empty() ? "" : ", ") + word;
      return text;
    };
    std::vector<std::string> names;
    for (const auto& site : pool.sites) names.push_back("'" + site.name + "'");
    d_r.report(at, map_path,
               "map '" + pool.map->name + "' (" + pool.map->source + ") lists " +
                   (unknown.size() == 1 ? "site " : "sites ") + joined(unknown) +
                   ", which this pool does not have (its sites: " + joined(names) + ")");
  }

  // --- member discovery ---

  // discover = "web" | { name, interval, family, weight } | an array of those.
  void readDiscover(const toml::node& node, const std::string& path, const health::CheckSpec& check,
                    std::vector<DiscoverySource>& out) {
    if (const auto* array = node.as_array()) {
      if (array->empty())
        return d_r.report(node, path, "empty array; give a name such as \"web\" or leave it out");
      for (size_t i = 0; i < array->size(); ++i)
        readDiscoverySource(*array->get(i), elementPath(path, i), check, out);
      return;
    }
    readDiscoverySource(node, path, check, out);
  }

  void readDiscoverySource(const toml::node& node, const std::string& path,
                           const health::CheckSpec& check, std::vector<DiscoverySource>& out) {
    DiscoverySource source;
    source.check = check;
    source.weight = kDefaultWeight;
    source.interval_ms = kDefaultDiscoveryIntervalMs;
    source.source = d_r.path() + ":" + std::to_string(node.source().begin.line);
    const toml::node* name = &node;
    std::string name_path = path;
    const auto* table = node.as_table();
    if (table) {
      d_r.checkKeys(*table, path, {"name", "interval", "family", "weight", "port"});
      name = d_r.require(*table, "name", path,
                         "missing; the DNS name to take members from, e.g. { name = \"web\" }");
      name_path = childPath(path, "name");
    } else if (!node.is_string()) {
      return d_r.report(node, path,
                        "expected a DNS name (e.g. \"web\") or a table { name, interval, family, "
                        "weight, port }, got " +
                            std::string(describe(node.type())));
    }
    const size_t errors_before = d_r.errorCount();
    if (name) {
      if (const std::string* text = d_r.readString(*name, name_path)) {
        std::string wire_name, error;
        // Relative names are kept as written: the resolver applies the host's search list, as
        // for any service name in a container.
        if (text->empty() || !wire::nameFromText(*text, ".", wire_name, error))
          d_r.report(*name, name_path,
                     "'" + *text + "' is not a DNS name" + (error.empty() ? "" : ": " + error));
        else
          source.hostname = *text;
      }
    }
    if (table) {
      if (const auto* v = table->get("interval")) {
        const auto ms = readDuration(*v, childPath(path, "interval"));
        if (ms && *ms < kMinDiscoveryIntervalMs)
          d_r.report(*v, childPath(path, "interval"), "must be at least 1 s");
        else if (ms)
          source.interval_ms = *ms;
      }
      if (const auto* v = table->get("family")) {
        const auto families = readChoice<int>(*v, childPath(path, "family"), "family",
                                              {{"A", 1}, {"AAAA", 2}, {"any", 3}});
        if (families) {
          source.want_a = (*families & 1) != 0;
          source.want_aaaa = (*families & 2) != 0;
        }
      }
      if (const auto* v = table->get("weight"))
        source.weight = static_cast<uint32_t>(
            d_r.readInteger(*v, childPath(path, "weight"), 0, kMaxWeight, "weight ")
                .value_or(kDefaultWeight));
      if (const auto* v = table->get("port"))
        source.check.port = readPort(*v, childPath(path, "port")).value_or(check.port);
    }
    if (!name || d_r.errorCount() != errors_before) return;
    if (std::any_of(out.begin(), out.end(),
                    [&](const DiscoverySource& s) { return s.hostname == source.hostname; }))
      return d_r.report(*name, name_path, "'" + source.hostname + "' is named twice in this pool");
    out.push_back(std::move(source));
  }

  // A member is "address" or { address, weight, port, host }. On success `at` and `at_path`
  // locate the address, for a later duplicate error.
  bool readMember(const toml::node& node, const std::string& path, const health::CheckSpec& check,
                  PoolMember& member, const toml::node*& at, std::string& at_path) {
    member.check = check;
    member.weight = kDefaultWeight;
    const auto* table = node.as_table();
    if (node.is_string()) {
      at = &node;
      at_path = path;
    } else if (table) {
      d_r.checkKeys(*table, path, {"address", "weight", "port", "host"});
      at = d_r.require(*table, "address", path,
                       "missing; a member table is { address = \"192.0.2.1\", weight = 100 }");
      at_path = childPath(path, "address");
    } else {
      d_r.report(node, path,
                 "expected an address (e.g. \"192.0.2.1\") or a table { address, weight, port, "
                 "host }, got " +
                     std::string(describe(node.type())));
      return false;
    }
    const size_t errors_before = d_r.errorCount();
    if (at) {
      if (const std::string* text = d_r.readString(*at, at_path))
        readAddress(*at, at_path, *text, member);
    }
    if (table) {
      if (const auto* v = table->get("weight"))
        member.weight = static_cast<uint32_t>(
            d_r.readInteger(*v, childPath(path, "weight"), 0, kMaxWeight, "weight ")
                .value_or(kDefaultWeight));
      if (const auto* v = table->get("port"))
        member.check.port = readPort(*v, childPath(path, "port")).value_or(check.port);
      if (const auto* v = table->get("host"))
        readHost(*v, childPath(path, "host"), member.check.host);
    }
    return at && d_r.errorCount() == errors_before;
  }

  void readAddress(const toml::node& node, const std::string& path, const std::string& text,
                   PoolMember& member) {
    uint8_t bytes[16];
    char canonical[INET6_ADDRSTRLEN];
    int family = AF_INET;
    if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
      member.rtype = type::A;
      member.address.assign(reinterpret_cast<const char*>(bytes), 4);
    } else if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
      family = AF_INET6;
      member.rtype = type::AAAA;
      member.address.assign(reinterpret_cast<const char*>(bytes), 16);
    } else {
      return d_r.report(node, path, "'" + text + "' is not an IP address");
    }
    // Canonical text, so "2001:DB8::1" and "2001:db8::1" are one check target.
    member.text = inet_ntop(family, bytes, canonical, sizeof canonical) ? canonical : text;
    member.check.address = member.text;
  }

  // --- typed values of the pool format ---

  template <typename Enum>
  std::optional<Enum> readChoice(const toml::node& node, const std::string& path,
                                 std::string_view what,
                                 std::initializer_list<Choice<Enum>> choices) {
    const std::string* text = d_r.readString(node, path);
    if (!text) return std::nullopt;
    std::vector<std::string_view> words;
    for (const auto& choice : choices) {
      if (equalsIgnoreCase(choice.word, *text)) return choice.value;
      words.push_back(choice.word);
    }
    d_r.report(
        node, path,
        "unknown " + std::string(what) + " '" + *text + "' (expected " + listOf(words) + ")");
    return std::nullopt;
  }

  // A fraction 0..1: a float, or the integer 0 or 1.
  std::optional<double> readFraction(const toml::node& node, const std::string& path) {
    double v;
    if (const auto* f = node.as_floating_point()) {
      v = f->get();
    } else if (const auto* i = node.as_integer()) {
      v = static_cast<double>(i->get());
    } else {
      d_r.report(node, path,
                 "expected a fraction from 0.0 to 1.0, got " + std::string(describe(node.type())));
      return std::nullopt;
    }
    if (!(v >= 0.0 && v <= 1.0)) {  // also rejects nan
      d_r.report(node, path, numberText(v) + " is out of range (0.0 to 1.0)");
      return std::nullopt;
    }
    return v;
  }

  // A duration in milliseconds: seconds as a number (2, 0.5) or a string with a unit ("500ms",
  // "2s", "1m").
  std::optional<uint32_t> readDuration(const toml::node& node, const std::string& path) {
    double ms = 0;
    std::string written;  // the value as the operator wrote it, for messages
    if (const auto* i = node.as_integer()) {
      ms = static_cast<double>(i->get()) * 1000;
      written = std::to_string(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      ms = f->get() * 1000;
      written = numberText(f->get());
    } else if (const auto* s = node.as_string()) {
      written = "'" + s->get() + "'";
      if (!parseDuration(s->get(), ms)) {
        d_r.report(node, path,
                   written + " is not a duration (" + std::string(kDurationForms) + ")");
        return std::nullopt;
      }
    } else {
      d_r.report(node, path,
                 "expected a duration (" + std::string(kDurationForms) + "), got " +
                     std::string(describe(node.type())));
      return std::nullopt;
    }
    if (std::isnan(ms)) {
      d_r.report(node, path, written + " is not a duration (" + std::string(kDurationForms) + ")");
      return std::nullopt;
    }
    if (ms < 0) {
      d_r.report(node, path, "duration " + written + " is negative");
      return std::nullopt;
    }
    if (ms > kMaxDurationMs) {
      d_r.report(node, path, "duration " + written + " is longer than a day");
      return std::nullopt;
    }
    return static_cast<uint32_t>(std::llround(ms));
  }

  // "500ms", "1.5s", "1m"; a number without a unit is refused, as "2" in quotes is more likely
  // a mistake than a deliberate choice of seconds.
  static bool parseDuration(std::string_view text, double& ms) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return false;
    const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    double scale;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else {
      return false;
    }
    ms = value * scale;
    return true;
  }

  const std::string& d_origin;
  const uint32_t d_zone_ttl;
  const TopologyMaps& d_maps;
  ZoneBuilder& d_builder;
  TomlReporter& d_r;
};

}  // namespace

void readPools(const toml::node& pools, const std::string& origin, uint32_t zone_ttl,
               const TopologyMaps& maps, ZoneBuilder& builder, TomlReporter& reporter) {
  PoolReader(origin, zone_ttl, maps, builder, reporter).readPools(pools);
}

}  // namespace rrdns::zone::toml_support
