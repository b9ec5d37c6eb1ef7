// report.hh -- the one-line description of a loaded zone, shared by --check, startup and reload.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "dns/zone/zone.hh"

namespace rrdns::app {

// "rr.test. serial 2024010101, 62 records (zones/rr.test.toml)"
std::string describeZone(const zone::Zone& zone);

// "1 zone", "3 zones": a count for the log, `noun` in the singular (its plural adds an s).
std::string quantity(size_t count, std::string_view noun);

}  // namespace rrdns::app
