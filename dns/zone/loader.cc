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

// Adds `zone` to `set`, or says in `errors` which file has its apex already.
void addZone(ZoneSet& set, std::shared_ptr<Zone> zone, Errors& errors) {
  const std::string apex = zone->apex();
  const std::string source = zone->source();
  const std::string first = sourceOf(set, apex);
  if (Result<void> added = set.add(std::move(zone)); !added.ok()) {
    Error error = added.error();
    error.file = source;
    error.message += " (also in " + first + ")";
    errors.push_back(std::move(error));
  }
}

}  // namespace

ZoneLoad loadZoneFile(const std::string& path) {
  if (!endsWith(path, ".toml")) return loadMasterFile(path);  // it runs the checks itself
  ZoneLoad load = loadTomlZone(path);
  applyZoneChecks(load, path);
  return load;
}

// What a signed zone cannot hold, wherever its dnssec policy was given: a pool answering NODATA
// when every member is down, which the zone's NSEC (listing A/AAAA at the name) cannot prove.
static void checkSignable(const Zone& zone, Errors& errors) {
  if (!zone.settings().dnssec) return;
  for (const auto& pool : zone.pools())
    if (pool->all_down == AllDown::None)
      errors.push_back(error(pool->source + ": pools." + pool->name +
                             ".all-down: \"none\" cannot be used in a signed zone (its NODATA "
                             "cannot be proven: the NSEC lists A/AAAA at the name); use \"all\" "
                             "or \"servfail\""));
}

ZoneSetLoad loadZoneSet(const std::vector<std::string>& paths,
                        const ZoneFileSettingsMap& settings) {
  Errors errors, warnings;
  try {
    auto set = std::make_shared<ZoneSet>();
    for (const auto& path : paths) {
      ZoneLoad load = loadZoneFile(path);
      warnings.insert(warnings.end(), load.warnings.begin(), load.warnings.end());
      if (auto given = settings.find(path); given != settings.end() && load.zone) {
        Zone& zone = **load.zone;
        if (!zone.settings().empty()) {
          errors.push_back(errorAt(given->second.file, given->second.line, "zones",
                                   path + " sets notify, serial or dnssec itself; set them in one place"));
          continue;
        }
        zone.setSettings(given->second.settings);
      }
      if (load.zone) checkSignable(**load.zone, errors);
      if (load.zone)
        addZone(*set, std::move(load.zone).value(), errors);
      else
        errors.insert(errors.end(), load.zone.errors().begin(), load.zone.errors().end());
    }
    set->assignRotationSlots();
    if (errors.empty())
      return {std::shared_ptr<const ZoneSet>(std::move(set)), std::move(warnings)};
  } catch (const std::exception& e) {
    errors.push_back(error(std::string("cannot load zones: ") + e.what()));
  }
  return {std::move(errors), std::move(warnings)};
}

}  // namespace rrdns::zone
