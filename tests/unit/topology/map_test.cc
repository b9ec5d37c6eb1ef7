// TopologyMapBuilder: nets inline and in files, database networks under them, the interned
// site lists, and the errors an operator sees (file:line, both places of a duplicate).
#include "dns/topology/map.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

using namespace rrdns::topology;

namespace {

// A file in a fresh temporary directory, removed with it.
struct TempFile {
  std::string dir, path;
  explicit TempFile(const std::string& text) {
    char pattern[] = "/tmp/rrdns-map-test-XXXXXX";
    dir = mkdtemp(pattern);
    path = dir + "/geo.nets";
    std::ofstream(path) << text;
  }
  ~TempFile() {
    unlink(path.c_str());
    rmdir(dir.c_str());
  }
};

const SiteList& listOf(const TopologyMap& map, const char* address) {
  uint8_t bytes[16] = {};
  Family family = Family::V4;
  if (inet_pton(AF_INET, address, bytes) != 1) {
    REQUIRE(inet_pton(AF_INET6, address, bytes) == 1);
    family = Family::V6;
  }
  return map.lists.at(map.networks[static_cast<size_t>(family)].match(bytes).label);
}

}  // namespace

TEST_CASE("TopologyMapBuilder: inline networks, the default list and interned lists") {
  TopologyMapBuilder b("geo", "geo.toml:3");
  b.setDefault({"east", "west"});
  REQUIRE(b.addNetwork("10.1.0.0/16", {"east", "west"}, "geo.toml:5").ok());
  REQUIRE(b.addNetwork("10.2.0.0/16", {"west", "east"}, "geo.toml:5").ok());
  REQUIRE(b.addNetwork("2001:db8::/32", {"west"}, "geo.toml:5").ok());
  auto map = b.finish();
  REQUIRE(map.ok());
  const TopologyMap& m = **map;
  CHECK(m.name == "geo");
  CHECK(m.source == "geo.toml:3");
  REQUIRE(m.lists.size() == 3);  // the default and 10.1/16 share one list
  CHECK(m.lists[0] == SiteList{"east", "west"});
  CHECK(listOf(m, "10.1.2.3") == SiteList{"east", "west"});
  CHECK(listOf(m, "10.2.2.3") == SiteList{"west", "east"});
  CHECK(listOf(m, "192.0.2.1") == SiteList{"east", "west"});
  CHECK(listOf(m, "2001:db8::5") == SiteList{"west"});
  const uint8_t client[4] = {10, 1, 0, 1};
  CHECK(m.networks[0].match(client).label == 0);  // the default's list, but matched by 10.1/16
  CHECK(m.networks[0].match(client).matched);
  CHECK(m.networks[0].networks() == 2);
  CHECK(m.networks[1].networks() == 1);
  CHECK(m.origins.at("10.2.0.0/16") == "geo.toml:5");
  CHECK(m.origins.at("2001:db8::/32") == "geo.toml:5");
}

TEST_CASE("TopologyMapBuilder: without a default, unmatched clients get the empty list") {
  TopologyMapBuilder b("geo", "geo.toml:1");
  auto map = b.finish();
  REQUIRE(map.ok());
  REQUIRE((*map)->lists.size() == 1);
  CHECK((*map)->lists[0].empty());
  CHECK(listOf(**map, "10.0.0.1").empty());
}

TEST_CASE(
    "TopologyMapBuilder: operator networks override database networks whatever the prefixes") {
  TopologyMapBuilder b("geo", "geo.toml:1");
  b.setDefault({"east"});
  b.addDatabaseNetwork(*parseNetwork("10.0.0.0/8"), {"west"}, "GeoLite2-Country.mmdb: DE");
  b.addDatabaseNetwork(*parseNetwork("10.1.2.0/24"), {"north"}, "GeoLite2-Country.mmdb: FR");
  b.addDatabaseNetwork(*parseNetwork("10.3.0.0/16"), {"north"}, "GeoLite2-Country.mmdb: FR");
  REQUIRE(b.addNetwork("10.1.2.128/25", {"south"}, "geo.nets:4").ok());  // given before its /16
  REQUIRE(b.addNetwork("10.1.0.0/16", {"east", "west"}, "geo.nets:3").ok());
  auto map = b.finish();
  REQUIRE(map.ok());
  const TopologyMap& m = **map;
  CHECK(listOf(m, "10.1.2.1") == SiteList{"east", "west"});  // the nets /16 beats the database /24
  CHECK(listOf(m, "10.1.2.200") == SiteList{"south"});       // the longer nets network still wins
  CHECK(listOf(m, "10.3.0.1") == SiteList{"north"});         // database: longest prefix
  CHECK(listOf(m, "10.4.0.1") == SiteList{"west"});
  CHECK(listOf(m, "11.0.0.1") == SiteList{"east"});
  CHECK(m.origins.at("10.0.0.0/8") == "GeoLite2-Country.mmdb: DE");
  CHECK(m.origins.at("10.1.0.0/16") == "geo.nets:3");
}

TEST_CASE("TopologyMapBuilder: a nets file, with comments and blank lines") {
  TempFile file(
      "# east coast\n"
      "10.1.0.0/16   east west   # offices\n"
      "\n"
      "   \t\n"
      "10.2.0.0/16\twest  east\n"
      "2001:db8::/32 west\n"
      "10.9.9.9 east\r\n");
  TopologyMapBuilder b("geo", "geo.toml:1");
  auto read = b.readNetsFile(file.path);
  REQUIRE(read.ok());
  auto map = b.finish();
  REQUIRE(map.ok());
  const TopologyMap& m = **map;
  CHECK(listOf(m, "10.1.7.7") == SiteList{"east", "west"});
  CHECK(listOf(m, "10.2.7.7") == SiteList{"west", "east"});
  CHECK(listOf(m, "2001:db8::1") == SiteList{"west"});
  CHECK(listOf(m, "10.9.9.9") == SiteList{"east"});
  CHECK(m.origins.at("10.1.0.0/16") == file.path + ":2");
  CHECK(m.origins.at("10.2.0.0/16") == file.path + ":5");
  CHECK(m.origins.at("10.9.9.9/32") == file.path + ":7");
}

TEST_CASE("TopologyMapBuilder: nets file errors name the file and line") {
  TempFile file(
      "10.1.0.0/16 east\n"
      "10.1.2.0/16 east\n"  // host bits past the prefix
      "banana east\n"
      "10.3.0.0/16\n"  // no sites
      "10.1.0.0/16 west  # again\n");
  TopologyMapBuilder b("geo", "geo.toml:1");
  auto read = b.readNetsFile(file.path);
  REQUIRE_FALSE(read.ok());
  const auto lines = rrdns::texts(read.errors());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        file.path + ":2: \"10.1.2.0/16\" has bits set past its prefix length (10.1.0.0/16?)");
  CHECK(lines[1] == file.path + ":3: \"banana\" is not an IPv4 or IPv6 network (ADDRESS/PREFIX)");
  CHECK(lines[2] == file.path + ":4: network 10.3.0.0/16 has no sites (NETWORK SITE [SITE ...])");
  CHECK(lines[3] ==
        file.path + ":5: network 10.1.0.0/16 is listed twice (first at " + file.path + ":1)");
  CHECK(read.error().file == file.path);
  CHECK(read.error().line == 2);

  TopologyMapBuilder missing("geo", "geo.toml:1");
  auto none = missing.readNetsFile("/nonexistent/geo.nets");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().text() == "/nonexistent/geo.nets: cannot open: No such file or directory");
}

TEST_CASE("TopologyMapBuilder: the same network inline and in a file is an error naming both") {
  TempFile file("10.1.0.0/16 west\n");
  TopologyMapBuilder b("geo", "geo.toml:1");
  REQUIRE(b.addNetwork("10.1.0.0/16", {"east"}, "geo.toml:4").ok());
  auto read = b.readNetsFile(file.path);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().text() ==
        file.path + ":1: network 10.1.0.0/16 is listed twice (first at geo.toml:4)");
  auto mapped = b.addNetwork("::ffff:10.2.0.0/112", {"east"}, "geo.toml:6");
  REQUIRE_FALSE(mapped.ok());
  CHECK(mapped.error().text() ==
        "geo.toml:6: \"::ffff:10.2.0.0/112\" is IPv4-mapped: clients are routed by their IPv4 "
        "address, write 10.2.0.0/16");
  auto bad = b.addNetwork("10.0.0.0/33", {"east"}, "geo.toml:4");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().text() == "geo.toml:4: \"10.0.0.0/33\": prefix length must be 0 to 32");
}
