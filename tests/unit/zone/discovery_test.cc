// Member discovery in the zone model: `discover` in TOML pools (dns/zone/toml_pools.cc) and
// ZoneSet::withDiscovered(), which turns resolved addresses into pool members.
#include <doctest/doctest.h>

#include <map>

#include "dns/wire/constants.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
using namespace zonetest;
namespace type = rrdns::wire::type;

namespace {

DiscoveredAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {bytes({a, b, c, d}), std::to_string(a) + "." + std::to_string(b) + "." +
                                   std::to_string(c) + "." + std::to_string(d),
          type::A};
}

DiscoveredAddress v6one() { return {std::string(15, '\0') + "\x01", "::1", type::AAAA}; }

const Pool& onlyPool(const ZoneSet& set) {
  REQUIRE(set.pools().size() == 1);
  return *set.pools().front();
}

std::vector<std::string> texts(const Pool& pool) {
  std::vector<std::string> out;
  for (const auto& m : pool.members) out.push_back(m.text);
  return out;
}

constexpr std::string_view kTwoZones = R"(
[names.www]
A = ["192.0.2.1", "192.0.2.2"]
[pools.web]
names = ["web"]
members = ["192.0.2.10"]
discover = [{ name = "web.svc.test.", interval = 2, weight = 7, port = 8081 }, "api"]
[pools.web.check]
type = "http"
port = 8080
)";

}  // namespace

TEST_CASE("discover: a name, a table or an array of them; members become optional") {
  const TextZone text(withHeader(R"([pools.a]
names = ["a"]
discover = "web"
[pools.b]
names = ["b"]
members = ["192.0.2.1"]
discover = { name = "web.default.svc.cluster.local", interval = "5s", family = "AAAA", weight = 3 }
)"));
  const Zone& zone = loaded(text.load());
  REQUIRE(zone.pools().size() == 2);
  const Pool& a = *zone.pools()[0];
  CHECK(a.members.empty());
  REQUIRE(a.discover.size() == 1);
  CHECK(a.discover[0].hostname == "web");  // relative: the host's search list applies
  CHECK(a.discover[0].interval_ms == 10000);
  CHECK(a.discover[0].want_a);
  CHECK(a.discover[0].want_aaaa);
  CHECK(a.discover[0].weight == 100);
  CHECK(a.discover[0].source == text.path() + ":" + std::to_string(kHeaderLines + 3));
  const Pool& b = *zone.pools()[1];
  CHECK(b.members.size() == 1);
  REQUIRE(b.discover.size() == 1);
  CHECK(b.discover[0].hostname == "web.default.svc.cluster.local");
  CHECK(b.discover[0].interval_ms == 5000);
  CHECK_FALSE(b.discover[0].want_a);
  CHECK(b.discover[0].want_aaaa);
  CHECK(b.discover[0].weight == 3);
  CHECK(b.discover[0].key() == "web.default.svc.cluster.local/AAAA");
}

TEST_CASE("discover: errors name the key and line") {
  const TextZone text(withHeader(R"([pools.a]
names = ["a"]
discover = []
[pools.b]
names = ["b"]
discover = [{ name = "web", interval = 0.5 }, { interval = 3 }, "web", 7, { name = "x", family = "MX" }]
[pools.c]
names = ["c"]
discover = "bad..name"
[pools.d]
names = ["d"]
discover = "web"
members = []
)"));
  CHECK_FALSE(text.load().zone);
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(3, "pools.a.discover"), "empty array");
  CHECK_ERROR(text, at(6, "pools.b.discover[0].interval"), "must be at least 1 s");
  CHECK_ERROR(text, at(6, "pools.b.discover[1].name"), "missing; the DNS name to take members from");
  CHECK_ERROR(text, at(6, "pools.b.discover[3]"), "expected a DNS name");
  CHECK_ERROR(text, at(6, "pools.b.discover[4].family"), "unknown family 'MX'");
  CHECK_ERROR(text, at(9, "pools.c.discover"), "'bad..name' is not a DNS name");
  CHECK_ERROR(text, at(13, "pools.d.members"), "empty array");
}

TEST_CASE("a pool without members or discover is still an error") {
  const TextZone text(withHeader(R"([pools.a]
names = ["a"]
)"));
  CHECK_ERROR(text, text.at(kHeaderLines + 1, "pools.a.members"), "or discover = \"web\"");
}

TEST_CASE("withDiscovered: configured members first, then each source's addresses") {
  const TextZone pools(withHeader(kTwoZones));
  const TempFile plain(R"($ORIGIN plain.test.
@ 60 SOA ns1 hostmaster 1 3600 900 604800 60
@ 60 NS ns1
ns1 60 A 192.0.2.53
www 60 A 192.0.2.1
www 60 A 192.0.2.2
)",
                       ".zone");
  const auto load = loadZoneSet({pools.path(), plain.path()});
  REQUIRE_MESSAGE(errorLines(load).empty(), joined(errorLines(load)));
  const ZoneSet& loaded_set = **load.zones;
  const auto sources = loaded_set.discoverySources();
  REQUIRE(sources.size() == 2);
  CHECK(sources[0].hostname == "web.svc.test.");
  CHECK(sources[1].hostname == "api");

  std::map<std::string, std::vector<DiscoveredAddress>> resolved{
      // .10 is configured already; ::1 is a second family, kept as an AAAA member.
      {"web.svc.test./A/AAAA", {v4(192, 0, 2, 10), v4(192, 0, 2, 11), v6one()}},
  };
  auto lookup = [&](const DiscoverySource& s) -> const std::vector<DiscoveredAddress>* {
    auto it = resolved.find(s.key());
    return it == resolved.end() ? nullptr : &it->second;  // "api": not resolved yet
  };
  Errors warnings;
  auto served = loaded_set.withDiscovered(lookup, warnings);
  CHECK(warnings.empty());
  const Pool& web = onlyPool(*served);
  CHECK(texts(web) == std::vector<std::string>{"192.0.2.10", "192.0.2.11", "::1"});
  const PoolMember& found = web.members[1];
  CHECK(found.discovered_from == "web.svc.test.");
  CHECK(found.weight == 7);
  CHECK(found.check.port == 8081);
  CHECK(found.check.address == "192.0.2.11");
  CHECK_FALSE(found.check.initial_up);  // checked before it is answered
  CHECK(web.members[0].discovered_from.empty());
  CHECK(web.members[0].check.port == 8080);
  CHECK(served->members().size() == 3);
  CHECK(served->targets().size() == 3);

  // The served set answers from its own copy of the pool zone; the plain zone is shared.
  const Zone* pool_zone = served->findZone(wireName("web.t.test."));
  REQUIRE(pool_zone);
  CHECK(pool_zone != loaded_set.findZone(wireName("web.t.test.")));
  CHECK(pool_zone->find(wireName("web.t.test."))->pool == &web);
  CHECK(served->findZone(wireName("www.plain.test.")) ==
        loaded_set.findZone(wireName("www.plain.test.")));
  CHECK(served->rotationSlots() == loaded_set.rotationSlots());
  CHECK(pool_zone->find(wireName("www.t.test."))->find(type::A)->rotation_slot ==
        loaded_set.findZone(wireName("web.t.test."))
            ->find(wireName("www.t.test."))
            ->find(type::A)
            ->rotation_slot);
  CHECK(loaded_set.pools().front()->members.size() == 1);  // the loaded set is untouched

  // Rebuilt from the served set: old discovered members are replaced, never piled up.
  resolved["web.svc.test./A/AAAA"] = {v4(192, 0, 2, 12)};
  resolved["api/A/AAAA"] = {v4(192, 0, 2, 12), v4(192, 0, 2, 13)};
  auto again = served->withDiscovered(lookup, warnings);
  CHECK(texts(onlyPool(*again)) ==
        std::vector<std::string>{"192.0.2.10", "192.0.2.12", "192.0.2.13"});
  CHECK(onlyPool(*again).members[2].discovered_from == "api");
}

TEST_CASE("withDiscovered: family filter, and at most kMaxPoolMembers with a warning") {
  const TextZone text(withHeader(R"([pools.web]
names = ["web"]
discover = { name = "many", family = "A" }
)"));
  const auto load = loadZoneSet({text.path()});
  REQUIRE_MESSAGE(errorLines(load).empty(), joined(errorLines(load)));
  std::vector<DiscoveredAddress> many{v6one()};
  for (int i = 0; i < 300; ++i)
    many.push_back(v4(10, 0, static_cast<uint8_t>(i / 256), static_cast<uint8_t>(i % 256)));
  Errors warnings;
  auto served =
      (*load.zones)->withDiscovered([&](const DiscoverySource&) { return &many; }, warnings);
  const Pool& web = onlyPool(*served);
  CHECK(web.members.size() == kMaxPoolMembers);
  CHECK(web.members.front().rtype == type::A);  // ::1 is not wanted
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].text().find("10.0.1.0 and later ones are left out") != std::string::npos);
  CHECK(warnings[0].text().find(": pool '") != std::string::npos);
}
