// report.hh -- the one-line description of a loaded zone, shared by --check, startup and reload.
#pragma once

#include <string>

#include "dns/zone/zone.hh"

namespace rrdns::app {

// "rr.test. serial 2024010101, 62 records (zones/rr.test.toml)"
std::string describeZone(const zone::Zone& zone);

}  // namespace rrdns::app
