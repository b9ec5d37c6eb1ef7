// fuzz_toml_zone.cc -- libFuzzer target: a TOML zone file through the loader and zone checks,
// and, when it loads, served: every name asked and the zone transferred (fuzz_support.hh).
#include <cstdint>

#include "dns/zone/loader.hh"
#include "tests/fuzz/fuzz_support.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::inputFile(data, size, "fuzz.toml");
  rrdns::zone::ZoneLoad load = rrdns::zone::loadZoneFile(path);
  if (load.zone && !*load.zone) fuzz::fail("a zone came back null");
  if (!load.zone && load.zone.errors().empty()) fuzz::fail("no zone and no error");
  if (load.zone) fuzz::serveZone(std::move(load.zone).value());
  return 0;
}
