// fuzz_answer.cc -- libFuzzer target: one query message, parsed and answered over UDP and TCP.
//
// The catalog is zones/rr.test.toml + zones/demo.toml (rotation, CNAMEs, wildcards, delegation,
// truncation, pools). Every response is checked by fuzz_support.hh's checkMessage().
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/zone/loader.hh"
#include "tests/fuzz/fuzz_support.hh"

namespace {

struct Served {
  std::shared_ptr<const rrdns::answer::Catalog> catalog;
  // Pool states other than the initial ones: every check target down, so pools fail open or
  // follow their all-down rule.
  std::shared_ptr<rrdns::answer::PoolStates> all_down;
};

const Served& served() {
  static const Served s = [] {
    using namespace rrdns;
    const std::string root = RRDNS_SOURCE_DIR;
    auto load = zone::loadZoneSet({root + "/zones/rr.test.toml", root + "/zones/demo.toml"});
    if (!load.zones) fuzz::fail("the fuzz catalog's zones did not load");
    const auto& zones = *load.zones;
    Served out;
    out.catalog = answer::Catalog::make(zones);
    health::HealthSnapshot snapshot;
    snapshot.targets.resize(zones->targets().size());
    for (auto& t : snapshot.targets) t.up = false;
    out.all_down = answer::computePoolStates(*zones, &snapshot, 1000);
    out.all_down->catalog = out.catalog.get();
    return out;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using rrdns::answer::Transport;
  const Served& s = served();
  const std::span<const uint8_t> query(data, size);
  rrdns::answer::Options small;
  small.udp_max_payload = 512;
  fuzz::answerAndCheck(s.catalog, nullptr, {query, Transport::Udp}, {});
  fuzz::answerAndCheck(s.catalog, s.all_down.get(), {query, Transport::Udp}, small);
  fuzz::answerAndCheck(s.catalog, nullptr, {query, Transport::Tcp}, {});
  fuzz::answerAndCheck(s.catalog, s.all_down.get(), {query, Transport::Tcp, nullptr, true}, {});
  return 0;
}
