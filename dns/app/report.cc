// report.cc -- describing a zone for people.
#include "dns/app/report.hh"

#include "dns/wire/name.hh"

namespace rrdns::app {

std::string describeZone(const zone::Zone& zone) {
  std::string text = wire::nameToText(zone.apex()) + " serial " + std::to_string(zone.serial()) +
                     ", " + std::to_string(zone.recordCount()) + " records";
  if (const size_t pools = zone.pools().size())
    text += ", " + std::to_string(pools) + (pools == 1 ? " pool" : " pools");
  return text + " (" + zone.source() + ")";
}

}  // namespace rrdns::app
