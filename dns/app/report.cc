// report.cc -- describing a zone for people.
#include "dns/app/report.hh"

#include "dns/wire/name.hh"

namespace rrdns::app {

std::string quantity(size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

std::string describeZone(const zone::Zone& zone) {
  std::string text = wire::nameToText(zone.apex()) + " serial " + std::to_string(zone.serial()) +
                     ", " + quantity(zone.recordCount(), "record");
  if (const size_t pools = zone.pools().size()) text += ", " + quantity(pools, "pool");
  return text + " (" + zone.source() + ")";
}

}  // namespace rrdns::app
