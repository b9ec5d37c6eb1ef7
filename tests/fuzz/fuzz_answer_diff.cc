// fuzz_answer_diff.cc -- libFuzzer target: the fast path and the general path must give the same
// bytes for every query.
//
// Each catalog is served twice: as Catalog::make() builds it (with its precompiled answer table)
// and as a copy without the table, so that every query takes the general path there. Each copy
// has its own rotation cursors; before every pair of answers all cursors of both are set to the
// same values (taken from the input, so a crash replays), and after it they must have moved
// alike. The response bytes and every field of the Outcome must be equal, over UDP (our payload
// 1232 and 512) and TCP (transfers allowed or not), as sent and again with an OPT record added,
// under three sets of pool states (initial, mixed health with load feedback, all down).
//
// Two catalogs: a rich set of zones (rotation, CNAME chains and loops, wildcards, delegations,
// empty non-terminals, truncation, pools of every policy but random -- whose draw is random by
// design -- and every all-down rule, a zone below another) and the same plus enough small zones
// to pass the number beyond which ready-made negative answers are off.
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "dns/zone/loader.hh"
#include "tests/fuzz/fuzz_support.hh"

namespace {

using namespace rrdns;

// Pools the shipped zones lack: mixed families, wildcard and apex names, weights with a drained
// member, max-addresses, min-healthy, all-down none and servfail, a family with no member, more
// members than fit in 512 bytes, a CNAME into a pool, a name beside a pool.
constexpr const char* kPoolZone = R"(origin = "px.test."
ttl = 300
[soa]
primary = "ns1"
contact = "host.master"
serial = 1
minimum = 60
[names."@"]
NS = ["ns1", "ns.elsewhere.example."]
MX = "10 mail"
[names.ns1]
A = "192.0.2.53"
[names.mail]
CNAME = "x.shop"
[names.chain]
CNAME = "mail"
[names.v4]
A = ["192.0.2.7", "192.0.2.8"]
[names."c.d.e"]
TXT = "empty non-terminals above"
[names.deleg]
NS = ["ns.deleg", "ns1"]
[names."ns.deleg"]
A = "192.0.2.99"
AAAA = "2001:db8::99"
[pools.apex]
names = ["@"]
members = ["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2", "2001:db8::3"]
[pools.apex.check]
type = "tcp"
port = 80
[pools.shop]
names = ["*.shop", "weighted"]
policy = "weighted"
max-addresses = 2
ttl = 20
degraded-ttl = 5
members = [
  { address = "192.0.2.11", weight = 50 },
  { address = "192.0.2.12", weight = 30 },
  { address = "192.0.2.13", weight = 1 },
  { address = "192.0.2.14", weight = 0 },
  { address = "2001:db8::11", weight = 7 },
]
[pools.shop.check]
type = "tcp"
port = 81
[pools.none]
names = ["none"]
all-down = "none"
min-healthy = 0.75
slow-start = 30
members = ["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"]
[pools.none.check]
type = "tcp"
port = 82
[pools.sf]
names = ["sf"]
all-down = "servfail"
members = ["192.0.2.31", "2001:db8::31"]
[pools.sf.check]
type = "tcp"
port = 83
[pools.six]
names = ["six"]
members = ["2001:db8::41", "2001:db8::42", "2001:db8::43"]
[pools.six.check]
type = "tcp"
port = 84
[pools.one]
names = ["one"]
max-addresses = 1
policy = "weighted"
members = [{ address = "192.0.2.51", weight = 2 }, { address = "192.0.2.52", weight = 1 }]
[pools.one.check]
type = "none"
[pools.big]
names = ["big"]
members = [
  "10.7.0.1", "10.7.0.2", "10.7.0.3", "10.7.0.4", "10.7.0.5", "10.7.0.6", "10.7.0.7",
  "10.7.0.8", "10.7.0.9", "10.7.0.10", "10.7.0.11", "10.7.0.12", "10.7.0.13", "10.7.0.14",
  "10.7.0.15", "10.7.0.16", "10.7.0.17", "10.7.0.18", "10.7.0.19", "10.7.0.20", "10.7.0.21",
  "10.7.0.22", "10.7.0.23", "10.7.0.24", "10.7.0.25", "10.7.0.26", "10.7.0.27", "10.7.0.28",
  "10.7.0.29", "10.7.0.30", "10.7.0.31", "10.7.0.32", "10.7.0.33", "10.7.0.34", "10.7.0.35",
  "10.7.0.36", "10.7.0.37", "10.7.0.38", "10.7.0.39", "10.7.0.40",
]
[pools.big.check]
type = "tcp"
port = 85
)";

// An RFC 1035 zone below rr.test. (the longest apex wins) whose SOA MNAME is out of zone and
// RNAME two labels below the apex, with an empty non-terminal and a type-rich name.
constexpr const char* kChildZone =
    "$ORIGIN child.rr.test.\n$TTL 60\n"
    "@ SOA ns.elsewhere.example. host.master.child.rr.test. 1 3600 900 604800 30\n"
    "@ NS ns.elsewhere.example.\n"
    "a.b.c A 192.0.2.1\n"
    "a.b.c A 192.0.2.2\n"
    "alias CNAME a.b.c\n"
    "out CNAME www.rr.test.\n"
    "many TXT \"t\"\nmany MX 1 a.b.c\nmany AAAA 2001:db8::1\nmany AAAA 2001:db8::2\n"
    "many TYPE65280 \\# 0\nmany TYPE65281 \\# 1 00\n";

struct Pair {
  std::shared_ptr<const answer::Catalog> fast;
  std::shared_ptr<answer::Catalog> general;
  // Pool states per health variant, one computed for each catalog (they name their catalog).
  std::vector<std::shared_ptr<answer::PoolStates>> fast_pools, general_pools;
};

std::string writeScratch(const char* name, const std::string& text) {
  return fuzz::inputFile(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name);
}

Pair makePair(const std::vector<std::string>& files) {
  auto load = zone::loadZoneSet(files);
  if (!load.zones) {
    for (const auto& e : load.zones.errors()) std::fprintf(stderr, "%s\n", e.text().c_str());
    fuzz::fail("the differential fuzz catalog's zones did not load");
  }
  const auto& zones = *load.zones;
  Pair p;
  p.fast = answer::Catalog::make(zones);
  p.general = fuzz::withoutFastPath(p.fast);

  const size_t targets = zones->targets().size();
  for (int variant = 0; variant < 2; ++variant) {
    health::HealthSnapshot snapshot;
    snapshot.targets.resize(targets);
    snapshot.taken_ms = 100000;
    for (size_t i = 0; i < targets; ++i) {
      auto& t = snapshot.targets[i];
      if (variant == 0) {  // mixed: some down, some reporting load, some in slow start
        t.up = i % 3 != 1;
        t.load_weight = static_cast<uint8_t>(i % 4 == 0 ? 40 : 100);
        t.changed_ms = i % 5 == 0 ? 95000 : 0;
      } else {  // all down
        t.up = false;
      }
    }
    auto states = answer::computePoolStates(*zones, &snapshot, snapshot.taken_ms);
    states->catalog = p.fast.get();
    auto copy = std::make_shared<answer::PoolStates>(*states);
    copy->catalog = p.general.get();
    p.fast_pools.push_back(std::move(states));
    p.general_pools.push_back(std::move(copy));
  }
  return p;
}

const std::vector<Pair>& pairs() {
  static const std::vector<Pair> all = [] {
    const std::string root = RRDNS_SOURCE_DIR;
    std::vector<std::string> files = {root + "/zones/rr.test.toml",
                                      root + "/zones/demo.toml",
                                      root + "/zones/example.toml",
                                      root + "/tests/system/zones/fx.test.toml",
                                      root + "/tests/system/zones/diff.test.zone",
                                      writeScratch("px.test.toml", kPoolZone),
                                      writeScratch("child.rr.test.zone", kChildZone)};
    std::vector<Pair> out;
    out.push_back(makePair(files));
    for (int i = 0; i < 12; ++i) {
      const std::string apex = "z" + std::to_string(i) + ".test.";
      files.push_back(writeScratch((apex + "zone").c_str(),
                                   "$ORIGIN " + apex + "\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n" +
                                       "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\nwww A 192.0.2.3\n"));
    }
    out.push_back(makePair(files));
    return out;
  }();
  return all;
}

void compare(const Pair& p, int health, const answer::Request& request,
             const answer::Options& options, uint32_t seed, const char* setup) {
  fuzz::compareFastAndGeneral(*p.fast, health < 0 ? nullptr : p.fast_pools[health].get(),
                              *p.general, health < 0 ? nullptr : p.general_pools[health].get(),
                              request, options, seed, setup);
}

void compareAll(std::span<const uint8_t> query, uint32_t seed) {
  using answer::Transport;
  answer::Options plain;  // our payload 1232
  answer::Options small;
  small.udp_max_payload = 512;
  const char* names[] = {"initial pools", "mixed health", "all down"};
  char setup[96];
  for (const Pair& p : pairs()) {
    const char* catalog = &p == &pairs().front() ? "rich catalog" : "many-zone catalog";
    for (int health = -1; health < 2; ++health) {
      std::snprintf(setup, sizeof setup, "%s, %s, UDP 1232", catalog, names[health + 1]);
      compare(p, health, {query, Transport::Udp}, plain, seed, setup);
      std::snprintf(setup, sizeof setup, "%s, %s, UDP 512", catalog, names[health + 1]);
      compare(p, health, {query, Transport::Udp}, small, seed, setup);
      std::snprintf(setup, sizeof setup, "%s, %s, TCP", catalog, names[health + 1]);
      compare(p, health, {query, Transport::Tcp}, plain, seed, setup);
      std::snprintf(setup, sizeof setup, "%s, %s, TCP transfer allowed", catalog,
                    names[health + 1]);
      compare(p, health, {query, Transport::Tcp, nullptr, true}, plain, seed, setup);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> query(data, size);
  uint32_t seed = 0;
  for (size_t i = 0; i < size; ++i) seed = seed * 31 + data[i];
  compareAll(query, seed);
  // The same message with an OPT record appended (payload and DO from the seed), so every
  // query is also asked with EDNS (or, if it had an OPT already, with two: FORMERR for both).
  if (size >= wire::kHeaderSize && size <= 65535 - wire::kOptRecordSize) {
    std::vector<uint8_t> edns(data, data + size);
    const uint16_t arcount = static_cast<uint16_t>(wire::header::arcount(edns.data()) + 1);
    edns[10] = static_cast<uint8_t>(arcount >> 8), edns[11] = static_cast<uint8_t>(arcount);
    const uint16_t payload = seed % 3 == 0 ? 512 : seed % 3 == 1 ? 1232 : 4096;
    const uint8_t opt[] = {0,    0, 41, uint8_t(payload >> 8), uint8_t(payload & 0xFF), 0, 0,
                           uint8_t(seed & 8 ? 0x80 : 0), 0, 0, 0};
    edns.insert(edns.end(), opt, opt + sizeof opt);
    compareAll(edns, seed ^ 0x5bd1e995u);
  }
  return 0;
}
