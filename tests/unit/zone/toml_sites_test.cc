// Sites and topology maps in the TOML zone format (dns/zone/toml_maps.cc, toml_pools.cc): every
// key with its defaults, discovery per site, and the errors of broken maps and sites.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "dns/topology/network.hh"
#include "dns/wire/constants.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
using namespace zonetest;
namespace type = rrdns::wire::type;

namespace {

const Pool& onlyPool(const Zone& zone) {
  REQUIRE(zone.pools().size() == 1);
  return *zone.pools().front();
}

std::string baseName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// The site names the map gives `address` (IPv4 or IPv6 text).
topology::SiteList listFor(const topology::TopologyMap& map, const char* address) {
  uint8_t b[16];
  const bool v4 = inet_pton(AF_INET, address, b) == 1;
  REQUIRE((v4 || inet_pton(AF_INET6, address, b) == 1));
  const auto match = map.networks[v4 ? 0 : 1].match(b);
  REQUIRE(match.label < map.lists.size());
  return map.lists[match.label];
}

// The names of the sites a pool's site list holds.
std::vector<std::string> siteNames(const Pool& pool, const std::vector<uint16_t>& list) {
  std::vector<std::string> names;
  for (uint16_t s : list) names.push_back(pool.sites.at(s).name);
  return names;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("a pool with sites and a map: every key") {
  const TempFile nets(R"(# networks of the west
10.2.0.0/16   west east   # west first
2001:db8:2::/48 west

10.2.7.0/24 east
)",
                      ".nets");
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "west"]
nets = { "10.1.0.0/16" = ["east", "west"], "2001:db8:1::/48" = ["east"] }
nets-file = ")" + baseName(nets.path()) +
                                 R"("
[maps.unused]
default = ["nowhere"]

[pools.www]
names = ["www"]
map = "geo"
spill = 2
ttl = 5
degraded-ttl = 2
min-healthy = 0.25
[pools.www.sites.east]
members = ["127.0.1.1", "127.0.1.2", { address = "::1", weight = 50 }]
capacity = 300
min-healthy = 0.5
[pools.www.sites.west]
members = ["127.0.2.1", "127.0.2.2"]
[pools.www.check]
port = 8080
)"));
  const Pool& www = onlyPool(loaded(text.load()));
  REQUIRE(www.sites.size() == 2);
  CHECK(www.sites[0].name == "east");
  CHECK(www.sites[0].source == text.path() + ":" + std::to_string(kHeaderLines + 15));
  CHECK(www.sites[0].capacity == 300);
  CHECK(www.sites[0].min_healthy == 0.5);
  CHECK(www.sites[1].name == "west");
  CHECK(www.sites[1].capacity == 100);      // the default
  CHECK(www.sites[1].min_healthy == 0.25);  // the pool's
  CHECK(www.spill == 2);
  REQUIRE(www.members.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(www.members[i].site == (i < 3 ? 0 : 1));
    CHECK(www.members[i].check.port == 8080);  // the pool's check applies in every site
  }
  CHECK(www.members[2].weight == 50);
  CHECK(www.members[2].rtype == type::AAAA);

  REQUIRE(www.map);
  const topology::TopologyMap& map = *www.map;
  CHECK(map.name == "geo");
  CHECK(map.source == text.path() + ":" + std::to_string(kHeaderLines + 1));
  CHECK(map.lists[0] == Names{"east", "west"});  // the default
  CHECK(listFor(map, "10.1.2.3") == Names{"east", "west"});
  CHECK(listFor(map, "10.2.2.3") == Names{"west", "east"});
  CHECK(listFor(map, "10.2.7.9") == Names{"east"});  // longest prefix wins
  CHECK(listFor(map, "192.0.2.1") == Names{"east", "west"});
  CHECK(listFor(map, "2001:db8:1::5") == Names{"east"});
  CHECK(listFor(map, "2001:db8:2::5") == Names{"west"});
  CHECK(map.origins.at("10.2.0.0/16") == nets.path() + ":2");
  // The pool's lists are the map's, as indexes into its sites.
  REQUIRE(www.site_lists.size() == map.lists.size());
  for (size_t i = 0; i < map.lists.size(); ++i)
    CHECK(siteNames(www, www.site_lists[i]) == map.lists[i]);
}

TEST_CASE("a site's defaults, and a map without networks") {
  const TextZone text(withHeader(R"([maps.flat]
[pools.www]
names = ["www"]
map = "flat"
[pools.www.sites.only]
members = ["192.0.2.1"]
)"));
  const Pool& www = onlyPool(loaded(text.load()));
  CHECK(www.spill == 1);
  CHECK(www.sites[0].capacity == 100);
  CHECK(www.sites[0].min_healthy == 0.0);
  // No default list: every client falls to the whole pool.
  REQUIRE(www.site_lists.size() == 1);
  CHECK(www.site_lists[0].empty());
  CHECK(www.map->networks[0].networks() == 0);
}

TEST_CASE("discovery per site: found members join their source's site") {
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "west"]
[pools.www]
names = ["www"]
map = "geo"
[pools.www.sites.east]
members = ["192.0.2.1"]
discover = "east.svc"
[pools.www.sites.west]
discover = [{ name = "west.svc", weight = 20 }]
)"));
  const Zone& zone = loaded(text.load());
  const Pool& www = onlyPool(zone);
  REQUIRE(www.discover.size() == 2);
  CHECK(www.discover[0].hostname == "east.svc");
  CHECK(www.discover[0].site == 0);
  CHECK(www.discover[1].hostname == "west.svc");
  CHECK(www.discover[1].site == 1);

  ZoneSet set;
  REQUIRE(set.add(*text.load().zone).ok());
  set.assignRotationSlots();
  const std::map<std::string, std::vector<DiscoveredAddress>> resolved{
      {"east.svc/A/AAAA", {{bytes({192, 0, 2, 2}), "192.0.2.2", type::A}}},
      // 192.0.2.1 is east's already: the configured member wins, in its own site.
      {"west.svc/A/AAAA",
       {{bytes({192, 0, 2, 1}), "192.0.2.1", type::A},
        {bytes({198, 51, 100, 1}), "198.51.100.1", type::A}}},
  };
  Errors warnings;
  auto served = set.withDiscovered(
      [&](const DiscoverySource& s) -> const std::vector<DiscoveredAddress>* {
        auto it = resolved.find(s.key());
        return it == resolved.end() ? nullptr : &it->second;
      },
      warnings);
  CHECK(warnings.empty());
  REQUIRE(served->pools().size() == 1);
  const Pool& found = *served->pools().front();
  REQUIRE(found.members.size() == 3);
  CHECK(found.members[0].text == "192.0.2.1");
  CHECK(found.members[0].site == 0);
  CHECK(found.members[1].text == "192.0.2.2");
  CHECK(found.members[1].site == 0);
  CHECK(found.members[2].text == "198.51.100.1");
  CHECK(found.members[2].site == 1);
  CHECK(found.members[2].weight == 20);
  // The copy keeps the sites and the map.
  CHECK(found.sites.size() == 2);
  CHECK(found.map == www.map);
  CHECK(found.site_lists == www.site_lists);
}

TEST_CASE("sites and map go together; members go in the sites") {
  const TextZone text(withHeader(R"([maps.geo]
default = ["east"]
[pools.a]
names = ["a"]
members = ["192.0.2.1"]
discover = "web"
[pools.a.sites.east]
members = ["192.0.2.2"]
[pools.b]
names = ["b"]
map = "geo"
spill = 1
members = ["192.0.2.3"]
[pools.c]
names = ["c"]
[pools.c.sites.east]
members = ["192.0.2.4"]
)"));
  CHECK_FALSE(text.load().zone);
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(
      text.errors() ==
      std::vector<std::string>{
          at(3, "pools.a.map") + "missing; a pool with sites needs map = \"NAME\", a "
                                 "[maps.NAME] table of this file that gives each client its sites",
          at(5, "pools.a.members") +
              "a pool with sites has no members of its own: put them under [pools.a.sites.NAME]",
          at(6, "pools.a.discover") +
              "a pool with sites has no members of its own: put them under [pools.a.sites.NAME]",
          at(11, "pools.b.map") +
              "only a pool with sites has a map; add [pools.b.sites.NAME] tables with the "
              "members of each",
          at(12, "pools.b.spill") +
              "only a pool with sites has a spill; add [pools.b.sites.NAME] tables with the "
              "members of each",
          at(14, "pools.c.map") + "missing; a pool with sites needs map = \"NAME\", a "
                                  "[maps.NAME] table of this file that gives each client its sites",
      });
}

TEST_CASE("a pool's map must exist in its file and list only the pool's sites") {
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "west"]
nets = { "10.1.0.0/16" = ["north", "east"] }
[pools.a]
names = ["a"]
map = "geo"
[pools.a.sites.east]
members = ["192.0.2.1"]
[pools.b]
names = ["b"]
map = "elsewhere"
[pools.b.sites.east]
members = ["192.0.2.2"]
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() ==
        std::vector<std::string>{
            at(6, "pools.a.map") + "map 'geo' (" + text.path() + ":" +
                std::to_string(kHeaderLines + 1) +
                ") lists sites 'west', 'north', which this pool does not have (its sites: "
                "'east')",
            at(11, "pools.b.map") + "no map 'elsewhere' in this file (its maps: 'geo')",
        });
}

TEST_CASE("site errors: no members, duplicates across sites, bad values and keys") {
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "west"]
[pools.www]
names = ["www"]
map = "geo"
spill = -1
[pools.www.sites.east]
members = ["192.0.2.1"]
capacity = 0
min-healthy = 2
weight = 5
[pools.www.sites.west]
members = ["192.0.2.2", "192.0.2.1"]
[pools.www.sites.empty]
capacity = 10
[pools.www.sites."bad name"]
members = ["192.0.2.9"]
)"));
  CHECK_FALSE(text.load().zone);
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() ==
        std::vector<std::string>{
            at(6, "pools.www.spill") + "-1 is out of range (0 to 256)",
            at(9, "pools.www.sites.east.capacity") + "capacity 0 is out of range (1 to 1000000)",
            at(10, "pools.www.sites.east.min-healthy") + "2 is out of range (0.0 to 1.0)",
            at(11, "pools.www.sites.east.weight") +
                "unknown key (expected members, discover, capacity or min-healthy)",
            at(13, "pools.www.sites.west.members[1]") +
                "'192.0.2.1' is already a member of this pool (sites.east.members[0])",
            at(14, "pools.www.sites.empty.members") +
                "missing; the site's addresses, e.g. members = [\"192.0.2.1\", "
                "\"192.0.2.2\"], or discover = \"web\" to take them from a DNS name",
            at(16, "pools.www.sites.\"bad name\"") +
                "a site name is 1 to 64 letters, digits, '-', '_' or '.'",
        });
}

TEST_CASE("map errors: networks, site lists, keys; a broken map adds no pool errors") {
  const TempFile nets(R"(10.1.0.0/16 east
10.3.0.0/16
10.4.0.1/16 east
)",
                      ".nets");
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "east"]
nets = { "10.1.0.0/16" = ["west"], "10.2.0.0/33" = ["east"], "10.5.0.0/16" = "east" }
nets-file = ")" + baseName(nets.path()) +
                                 R"("
colour = "blue"
[maps.missing]
nets-file = "no-such.nets"
[maps.notatable]
[pools.www]
names = ["www"]
map = "geo"
[pools.www.sites.east]
members = ["192.0.2.1"]
)"));
  CHECK_FALSE(text.load().zone);
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  const std::string dir = std::filesystem::path(text.path()).parent_path().string();
  INFO(text.dump());
  CHECK(
      text.errors() ==
      std::vector<std::string>{
          at(2, "maps.geo.default[1]") + "'east' is listed twice",
          at(3, "maps.geo.nets.\"10.2.0.0/33\"") + "\"10.2.0.0/33\": prefix length must be 0 to 32",
          at(3, "maps.geo.nets.\"10.5.0.0/16\"") +
              "expected an array of site names, nearest first (e.g. [\"east\", \"west\"]), got "
              "a string",
          at(5, "maps.geo.colour") + "unknown key (expected default, nets, nets-file or geoip)",
          nets.path() + ":1: network 10.1.0.0/16 is listed twice (first at " + text.path() + ":" +
              std::to_string(kHeaderLines + 3) + ")",
          nets.path() + ":2: network 10.3.0.0/16 has no sites (NETWORK SITE [SITE ...])",
          nets.path() + ":3: \"10.4.0.1/16\" has bits set past its prefix length (10.4.0.0/16?)",
          at(7, "maps.missing.nets-file") + dir +
              "/no-such.nets: cannot open: No such file or "
              "directory",
      });
}

TEST_CASE("maps must be tables; map names are words") {
  const TextZone text(withHeader(R"([maps]
geo = 1
"a b" = {}
)"));
  INFO(text.dump());
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() ==
        std::vector<std::string>{
            at(2, "maps.geo") +
                "expected a table with default, nets, nets-file or geoip (e.g. [maps.geo]), got "
                "an integer",
            at(3, "maps.\"a b\"") + "a map name is 1 to 64 letters, digits, '-', '_' or '.'",
        });
}

TEST_CASE("geoip table: database, country and continent codes") {
  const TextZone text(withHeader(R"([maps.geo.geoip]
countries = { DE = ["west"], DEU = ["east"], de = ["east"] }
continents = { EU = ["west"], XX = ["east"] }
[maps.none.geoip]
database = "x.mmdb"
[maps.absent.geoip]
database = "no-such.mmdb"
continents = { na = ["east"] }
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  const std::string dir = std::filesystem::path(text.path()).parent_path().string();
  const auto errors = text.errors();
  REQUIRE_MESSAGE(errors.size() == 6, text.dump());
  CHECK(errors[0] == at(1, "maps.geo.geoip.database") +
                         "missing; the MaxMind DB to read, e.g. database = "
                         "\"GeoLite2-Country.mmdb\"");
  CHECK(errors[1] == at(2, "maps.geo.geoip.countries.DEU") +
                         "'DEU' is not a country code (two letters, ISO 3166-1 alpha-2, e.g. DE)");
  CHECK(errors[2] == at(2, "maps.geo.geoip.countries.de") + "'DE' is given twice");
  CHECK(errors[3] == at(3, "maps.geo.geoip.continents.XX") +
                         "'XX' is not a continent code (expected AF, AN, AS, EU, NA, OC or SA)");
  CHECK(errors[4] == at(4, "maps.none.geoip") +
                         "no countries or continents; give e.g. countries = { DE = [\"west\", "
                         "\"east\"] }");
  // A valid table is read: a database that is not there is an error at the table.
  CHECK(errors[5] == at(6, "maps.absent.geoip") + "MaxMind DB " + dir +
                         "/no-such.mmdb: Error opening the specified MaxMind DB file: No such file "
                         "or directory");
}

TEST_CASE("a geoip map: a real GeoLite2 database gives countries' networks their lists") {
  const std::string database = RRDNS_GEOIP_TEST_DATABASE;
  if (!std::filesystem::exists(database)) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true")
      FAIL(database << " is missing: tools/setup.sh test installs it (npm ci in tools/geoip)");
    WARN_MESSAGE(false, "not run: " << database << " is missing (run npm ci in tools/geoip)");
    return;
  }
  const TextZone text(withHeader(R"([maps.geo]
default = ["east", "west"]
nets = { "80.133.0.0/16" = ["east"] }
[maps.geo.geoip]
database = ")" + database + R"("
countries = { DE = ["west", "east"] }

[pools.www]
names = ["www"]
map = "geo"
[pools.www.sites.east]
members = ["127.0.1.1"]
[pools.www.sites.west]
members = ["127.0.2.1"]
)"));
  const Pool& www = onlyPool(loaded(text.load()));
  REQUIRE(www.map);
  const topology::TopologyMap& map = *www.map;
  // Deutsche Telekom, IPv4 and IPv6: Germany's list; the zone's own network beats the database.
  CHECK(listFor(map, "217.0.0.1") == Names{"west", "east"});
  CHECK(listFor(map, "2003:e0::1") == Names{"west", "east"});
  CHECK(listFor(map, "80.133.1.1") == Names{"east"});
  CHECK(listFor(map, "80.134.1.1") == Names{"west", "east"});
  // Google (US, no list): the default.
  CHECK(listFor(map, "8.8.8.8") == Names{"east", "west"});
}

TEST_CASE("ZoneBuilder::addPool refuses sites the answer path could not index") {
  auto make = [] {
    Pool p;
    p.name = "www";
    p.owners = {wireName("www.t.test.")};
    PoolMember m;
    m.address = bytes({192, 0, 2, 1});
    m.text = "192.0.2.1";
    m.rtype = type::A;
    p.members = {m};
    auto map = std::make_shared<topology::TopologyMap>();
    map->name = "geo";
    map->lists = {{"east"}};
    p.map = map;
    p.sites = {Site{"east", "", 100, 0}};
    p.site_lists = {{0}};
    return p;
  };
  auto refused = [](Pool p) {
    ZoneBuilder b(wireName("t.test."), "test");
    return messageOf(b.addPool(std::move(p)));
  };
  CHECK(refused(make()).empty());
  Pool no_map = make();
  no_map.map = nullptr;
  CHECK(refused(no_map) == "pool 'www' has sites but no map");
  Pool no_sites = make();
  no_sites.sites.clear();
  CHECK(refused(no_sites) == "pool 'www' has a map but no sites");
  Pool short_lists = make();
  short_lists.site_lists.clear();
  CHECK(refused(short_lists) == "pool 'www': its site lists do not match map 'geo'");
  Pool bad_list = make();
  bad_list.site_lists = {{1}};
  CHECK(refused(bad_list) == "pool 'www': a site list names no site of it");
  Pool bad_member = make();
  bad_member.members[0].site = 1;
  CHECK(refused(bad_member) == "pool 'www': member 192.0.2.1 is in no site of it");
}
