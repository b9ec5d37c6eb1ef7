// check.hh -- whole-zone checks that need the finished zone (its zone cuts), run on every zone
// whatever its file format: name servers below a zone cut without glue (an error) and data
// hidden below a zone cut (a warning). ZoneBuilder::finish() checks the rest (SOA and NS at the
// apex, CNAME beside other data, names outside the zone).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/zone/loader.hh"
#include "dns/zone/zone.hh"

namespace rrdns::zone {

struct ZoneFinding {
  std::string owner;    // the name the finding is about (wire), to look up its line
  std::string message;  // what is wrong and what to do, without file or line
};

// Appends what is wrong to `errors` and what is suspicious to `warnings`.
void checkZone(const Zone& zone, std::vector<ZoneFinding>& errors,
               std::vector<ZoneFinding>& warnings);

// The line a name's records start at in the file, or 0 when unknown.
using LineOf = std::function<uint64_t(std::string_view owner)>;

// Runs checkZone() on a loaded zone and files its findings in `load` as Errors at PATH and the
// line `line_of` gives (none when it is 0); a zone with errors is dropped, as every failed load
// returns none.
void applyZoneChecks(ZoneLoad& load, const std::string& path, const LineOf& line_of = {});

}  // namespace rrdns::zone
