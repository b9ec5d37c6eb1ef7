#include "dns/zone/loader.hh"

#include <exception>
#include <string_view>

#include "dns/wire/name.hh"
#include "dns/zone/check.hh"

namespace rrdns::zone {
namespace {

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Which file already holds the zone at `apex`, for the "loaded twice" error.
std::string sourceOf(const ZoneSet& set, const std::string& apex) {
  for (const auto& zone : set.zones())
    if (zone->apex() == apex) return zone->source();
  return {};
}

void addZone(ZoneSet& set, std::shared_ptr<Zone> zone, std::vector<std::string>& errors) {
  const std::string apex = zone->apex();
  const std::string source = zone->source();
  const std::string first = sourceOf(set, apex);
  if (Result<void> added = set.add(std::move(zone)); !added.ok())
    errors.push_back(source + ": " + added.error().text() + " (also in " + first + ")");
}

}  // namespace

ZoneLoad loadZoneFile(const std::string& path) {
  if (!endsWith(path, ".toml")) return loadMasterFile(path);  // it runs the checks itself
  ZoneLoad load = loadTomlZone(path);
  applyZoneChecks(load, path);
  return load;
}

ZoneSetLoad loadZoneSet(const std::vector<std::string>& paths) {
  ZoneSetLoad result;
  try {
    auto set = std::make_shared<ZoneSet>();
    for (const auto& path : paths) {
      ZoneLoad load = loadZoneFile(path);
      result.errors.insert(result.errors.end(), load.errors.begin(), load.errors.end());
      result.warnings.insert(result.warnings.end(), load.warnings.begin(), load.warnings.end());
      if (load.zone) addZone(*set, std::move(load.zone), result.errors);
    }
    set->assignRotationSlots();
    if (result.errors.empty()) result.zones = std::move(set);
  } catch (const std::exception& e) {
    result.zones = nullptr;
    result.errors.push_back(std::string("cannot load zones: ") + e.what());
  }
  return result;
}

}  // namespace rrdns::zone
