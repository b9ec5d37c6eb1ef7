// loader.hh -- reading zone files into the zone model.
//
// Every error is an rrdns::Error with its file, and its line and key where they are known: it
// prints as the one line "FILE:LINE: KEY: what is wrong". Loading never throws; a failed load
// returns no zone and leaves whatever was serving. Warnings are Errors too, but they never fail
// a load (a TTL mismatch inside an RRset, a duplicate record, data hidden below a zone cut), as
// in Knot.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/base/result.hh"
#include "dns/zone/zone.hh"

namespace rrdns::zone {

struct ZoneLoad {
  Result<std::shared_ptr<Zone>> zone;  // the zone, or every error that kept it from loading
  Errors warnings;                     // whether or not it loaded
};

// A TOML zone (format documented in README.md, example in zones/rr.test.toml).
ZoneLoad loadTomlZone(const std::string& path);

// An RFC 1035 master file, parsed by Knot's libzscanner ($ORIGIN, $TTL, $INCLUDE, RFC 3597
// unknown types). The zone's apex is the $ORIGIN the file starts with, else `origin_hint`, else
// taken from the file name: "rr.test.zone" is rr.test., "db.example.com" is example.com.
// Without $TTL or a TTL on the record, records get 3600.
ZoneLoad loadMasterFile(const std::string& path, std::string origin_hint = "");

// Reads the records of an RFC 1035 file into `builder`, with the builder's apex as origin (a
// TOML zone's `file = "..."`: static records under pools and extra records). Returns its errors
// and appends its warnings; the zone checks run later, on the whole zone.
Result<void> readMasterFileInto(const std::string& path, ZoneBuilder& builder, Errors& warnings);

// Picks the loader by file name: *.toml is TOML; anything else is an RFC 1035 master file.
// Either way the zone checks of check.hh run on the result.
ZoneLoad loadZoneFile(const std::string& path);

struct ZoneSetLoad {
  // The set, or the errors of every file (the reloader puts the config's errors here too).
  Result<std::shared_ptr<const ZoneSet>> zones;
  Errors warnings;  // of every file; they do not stop the set loading
};

// Settings for the zone of a file, given where the file is named (the server config's zones
// entry), by the path as in `paths`; `file` and `line` are that entry's, for errors.
struct ZoneFileSettings {
  ZoneSettings settings;
  std::string file;
  uint32_t line = 0;
};
using ZoneFileSettingsMap = std::unordered_map<std::string, ZoneFileSettings>;

// Loads every file; the set is only returned when all of them load. Rotation slots are assigned.
// A zone gets the settings `settings` has for its file; a TOML zone that has its own `notify` or
// `serial` key as well is an error (one place per zone).
ZoneSetLoad loadZoneSet(const std::vector<std::string>& paths,
                        const ZoneFileSettingsMap& settings = {});

}  // namespace rrdns::zone
