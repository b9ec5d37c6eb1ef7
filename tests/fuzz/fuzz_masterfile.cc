// fuzz_masterfile.cc -- libFuzzer target: an RFC 1035 master file through libzscanner, our
// loader and the zone checks, and, when it loads, served like fuzz_toml_zone.cc. Without an
// $ORIGIN the file name makes the origin rr.test., as for tests/fixtures/zones/rr.test.zone.
#include <cstdint>

#include "dns/zone/loader.hh"
#include "tests/fuzz/fuzz_support.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::inputFile(data, size, "rr.test.zone");
  rrdns::zone::ZoneLoad load = rrdns::zone::loadZoneFile(path);
  if (load.zone && !*load.zone) fuzz::fail("a zone came back null");
  if (!load.zone && load.zone.errors().empty()) fuzz::fail("no zone and no error");
  if (load.zone) fuzz::serveZone(std::move(load.zone).value());
  return 0;
}
