// toml_maps.cc -- the [maps] part of the TOML zone format (docs/topology.md): topology maps from
// client networks to ordered lists of site names, written inline (nets), in a nets file, or
// taken from a MaxMind DB (geoip). Pools name a map of their own file (toml_pools.cc checks that
// its lists name the pool's sites). The networks themselves are checked by
// topology::TopologyMapBuilder, whose messages are reported at the key that gave them.
#include <algorithm>
#include <array>
#include <filesystem>
#include <utility>

#include "dns/topology/geoip.hh"
#include "dns/topology/map.hh"
#include "dns/zone/toml_support.hh"

namespace rrdns::zone::toml_support {
namespace {

constexpr size_t kMaxMapNameLength = 64;
// MaxMind's continent codes (GeoLite2 and GeoIP2 databases).
constexpr std::array<std::string_view, 7> kContinents = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};

// Map names are written in pools' `map` keys and shown by explain, like pool names.
bool validMapName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxMapNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
         });
}

bool isAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

class MapReader {
 public:
  explicit MapReader(TomlReporter& reporter) : d_r(reporter) {}

  TopologyMaps readMaps(const toml::node& node) {
    TopologyMaps maps;
    const auto* table = node.as_table();
    if (!table) {
      d_r.report(
          node, "maps",
          "expected a table of maps (e.g. [maps.geo]), got " + std::string(describe(node.type())));
      return maps;
    }
    for (const auto& [key, value] : inFileOrder(*table))
      maps[std::string(key->str())] = readMap(*key, *value);
    return maps;
  }

 private:
  // The map, or null after reporting what is wrong with it.
  std::shared_ptr<const topology::TopologyMap> readMap(const toml::key& key,
                                                       const toml::node& node) {
    const std::string path = childPath("maps", key.str());
    const auto* table = node.as_table();
    if (!table) {
      d_r.report(node, path,
                 "expected a table with default, nets, nets-file or geoip (e.g. [" + path +
                     "]), got " + std::string(describe(node.type())));
      return nullptr;
    }
    const size_t errors_before = d_r.errorCount();
    if (!validMapName(key.str()))
      d_r.report(key.source().begin.line, path,
                 "a map name is 1 to " + std::to_string(kMaxMapNameLength) +
                     " letters, digits, '-', '_' or '.'");
    d_r.checkKeys(*table, path, {"default", "nets", "nets-file", "geoip"});
    topology::TopologyMapBuilder builder(
        std::string(key.str()), d_r.path() + ":" + std::to_string(table->source().begin.line));
    if (const auto* v = table->get("default")) {
      if (auto sites = readSiteList(*v, childPath(path, "default")))
        builder.setDefault(std::move(*sites));
    }
    if (const auto* v = table->get("nets")) readNets(*v, childPath(path, "nets"), builder);
    if (const auto* v = table->get("geoip")) readGeoipTable(*v, childPath(path, "geoip"), builder);
    d_r.sortByLineSince(errors_before);
    // Its errors are in its own file, after this one's.
    if (const auto* v = table->get("nets-file"))
      readNetsFile(*v, childPath(path, "nets-file"), builder);
    if (d_r.errorCount() != errors_before) return nullptr;

    Result<std::shared_ptr<const topology::TopologyMap>> map = builder.finish();
    if (!map) {
      for (const Error& e : map.errors()) d_r.report(*table, path, e.message);
      return nullptr;
    }
    return std::move(map).value();
  }

  // ["east", "west"]: site names, nearest first. Empty: clients fall to the whole pool.
  std::optional<topology::SiteList> readSiteList(const toml::node& node, const std::string& path) {
    const auto* array = node.as_array();
    if (!array) {
      d_r.report(node, path,
                 "expected an array of site names, nearest first (e.g. [\"east\", \"west\"]), "
                 "got " +
                     std::string(describe(node.type())));
      return std::nullopt;
    }
    topology::SiteList sites;
    bool ok = true;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = elementPath(path, i);
      const std::string* name = d_r.readString(element, element_path);
      if (!name) {
        ok = false;
      } else if (name->empty()) {
        d_r.report(element, element_path, "empty site name");
        ok = false;
      } else if (std::find(sites.begin(), sites.end(), *name) != sites.end()) {
        d_r.report(element, element_path, "'" + *name + "' is listed twice");
        ok = false;
      } else {
        sites.push_back(*name);
      }
    }
    if (!ok) return std::nullopt;
    return sites;
  }

  // nets = { "10.1.0.0/16" = ["east", "west"], ... }
  void readNets(const toml::node& node, const std::string& path,
                topology::TopologyMapBuilder& builder) {
    const auto* nets = node.as_table();
    if (!nets)
      return d_r.report(node, path,
                        "expected a table of networks (e.g. nets = { \"10.1.0.0/16\" = [\"east\", "
                        "\"west\"] }), got " +
                            std::string(describe(node.type())));
    for (const auto& [key, value] : inFileOrder(*nets)) {
      const std::string net_path = childPath(path, key->str());
      auto sites = readSiteList(*value, net_path);
      if (!sites) continue;
      const uint32_t line = key->source().begin.line;
      Result<void> added = builder.addNetwork(key->str(), std::move(*sites),
                                              d_r.path() + ":" + std::to_string(line));
      if (!added) d_r.report(line, net_path, added.error().message);
    }
  }

  // nets-file = "geo.nets", relative to the zone file's directory.
  void readNetsFile(const toml::node& node, const std::string& path,
                    topology::TopologyMapBuilder& builder) {
    const std::string* name = d_r.readString(node, path);
    if (!name) return;
    Result<void> read = builder.readNetsFile(besideZone(*name));
    size_t shown = 0;
    for (Error& e : read.errors()) {
      if (e.line == 0) {  // about the file as a whole (cannot open it): said at the key
        d_r.report(node, path, e.file + ": " + e.message);
      } else if (shown++ < kMaxErrors) {
        d_r.appendUncounted(std::move(e));
      }
    }
    if (shown > kMaxErrors)
      d_r.appendUncounted(errorAt(besideZone(*name), 0, "",
                                  std::to_string(shown - kMaxErrors) + " more errors not shown"));
  }

  // [maps.NAME.geoip]: database, countries, continents.
  void readGeoipTable(const toml::node& node, const std::string& path,
                      topology::TopologyMapBuilder& builder) {
    const auto* table = node.as_table();
    if (!table)
      return d_r.report(node, path,
                        "expected a table with database, countries and continents (e.g. [" + path +
                            "] with database = \"GeoLite2-Country.mmdb\"), got " +
                            std::string(describe(node.type())));
    const size_t errors_before = d_r.errorCount();
    d_r.checkKeys(*table, path, {"database", "countries", "continents"});
    topology::GeoipSource source;
    source.where = d_r.path() + ":" + std::to_string(table->source().begin.line);
    const auto* database =
        d_r.require(*table, "database", path,
                    "missing; the MaxMind DB to read, e.g. database = \"GeoLite2-Country.mmdb\"");
    if (database) {
      if (const std::string* name = d_r.readString(*database, childPath(path, "database")))
        source.database = besideZone(*name);
    }
    if (const auto* v = table->get("countries"))
      readCodes(*v, childPath(path, "countries"), "country", source.countries);
    if (const auto* v = table->get("continents"))
      readCodes(*v, childPath(path, "continents"), "continent", source.continents);
    if (!table->get("countries") && !table->get("continents"))
      d_r.report(*table, path,
                 "no countries or continents; give e.g. countries = { DE = [\"west\", \"east\"] }");
    if (d_r.errorCount() != errors_before) return;
    // The database's own errors name it ("MaxMind DB PATH: ..."); said at the table.
    const Result<void> read = topology::readGeoip(source, builder);
    for (const Error& e : read.errors()) d_r.report(*table, path, e.message);
  }

  // countries = { DE = ["west", "east"] } (ISO 3166-1 alpha-2) or continents = { EU = [...] }.
  void readCodes(const toml::node& node, const std::string& path, std::string_view what,
                 std::map<std::string, topology::SiteList>& out) {
    const auto* codes = node.as_table();
    if (!codes)
      return d_r.report(node, path,
                        "expected a table of " + std::string(what) +
                            " codes to site lists (e.g. { " + (what == "country" ? "DE" : "EU") +
                            " = [\"west\", \"east\"] }), got " +
                            std::string(describe(node.type())));
    for (const auto& [key, value] : inFileOrder(*codes)) {
      const std::string code_path = childPath(path, key->str());
      const std::string code = upper(key->str());
      const uint32_t line = key->source().begin.line;
      if (what == "country" &&
          (code.size() != 2 || !isAsciiLetter(code[0]) || !isAsciiLetter(code[1]))) {
        d_r.report(line, code_path,
                   "'" + std::string(key->str()) +
                       "' is not a country code (two letters, ISO 3166-1 alpha-2, e.g. DE)");
        continue;
      }
      if (what == "continent" &&
          std::find(kContinents.begin(), kContinents.end(), code) == kContinents.end()) {
        d_r.report(line, code_path,
                   "'" + std::string(key->str()) + "' is not a continent code (expected " +
                       listOf(kContinents) + ")");
        continue;
      }
      if (out.count(code)) {
        d_r.report(line, code_path, "'" + code + "' is given twice");
        continue;
      }
      if (auto sites = readSiteList(*value, code_path)) out[code] = std::move(*sites);
    }
  }

  // A file named in the zone file: relative to its directory.
  std::string besideZone(const std::string& name) const {
    const std::filesystem::path relative(name);
    if (relative.is_absolute()) return name;
    return (std::filesystem::path(d_r.path()).parent_path() / relative).lexically_normal().string();
  }

  TomlReporter& d_r;
};

}  // namespace

TopologyMaps readMaps(const toml::node& maps, TomlReporter& reporter) {
  return MapReader(reporter).readMaps(maps);
}

}  // namespace rrdns::zone::toml_support
