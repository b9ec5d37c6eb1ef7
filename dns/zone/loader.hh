// loader.hh -- reading zone files into the zone model.
//
// Every error is one line "FILE:LINE: KEY: what is wrong" (LINE and KEY where known), ready to
// print. Loading never throws; a failed load returns no zone and leaves whatever was serving.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dns/zone/zone.hh"

namespace rrdns::zone {

struct ZoneLoad {
  std::shared_ptr<Zone> zone;       // null when errors is not empty
  std::vector<std::string> errors;  // "file:line: key: message"
};

// A TOML zone (format documented in README.md, example in zones/rr.test.toml).
ZoneLoad loadTomlZone(const std::string& path);

// Picks the loader by file name: *.toml is TOML; anything else is an RFC 1035 master file.
ZoneLoad loadZoneFile(const std::string& path);

struct ZoneSetLoad {
  std::shared_ptr<const ZoneSet> zones;  // null when errors is not empty
  std::vector<std::string> errors;
};

// Loads every file; the set is only returned when all of them load. Rotation slots are assigned.
ZoneSetLoad loadZoneSet(const std::vector<std::string>& paths);

}  // namespace rrdns::zone
