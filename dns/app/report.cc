// report.cc -- describing a zone for people.
#include "dns/app/report.hh"

#include "dns/wire/name.hh"

namespace rrdns::app {

std::string describeZone(const zone::Zone& zone) {
  return wire::nameToText(zone.apex()) + " serial " + std::to_string(zone.serial()) + ", " +
         std::to_string(zone.recordCount()) + " records (" + zone.source() + ")";
}

}  // namespace rrdns::app
