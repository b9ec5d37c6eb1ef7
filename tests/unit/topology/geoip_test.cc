#include "dns/topology/geoip.hh"

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "dns/topology/network.hh"

using namespace rrdns;
using namespace rrdns::topology;

namespace {

// The real database tools/setup.sh installs from npm (tools/geoip); CMake says where.
const std::string kRealDatabase = RRDNS_GEOIP_TEST_DATABASE;

// Whether the real database is there. Missing in CI (CI=true, which installs it) fails the
// test; elsewhere (a worktree without tools/geoip/node_modules) it says so and the test does
// nothing.
bool haveRealDatabase() {
  if (std::filesystem::exists(kRealDatabase)) return true;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true")
    FAIL("the GeoLite2 test database " << kRealDatabase
                                       << " is missing: tools/setup.sh test installs it (npm ci "
                                          "in tools/geoip)");
  WARN_MESSAGE(false, "not run: " << kRealDatabase << " is missing (run npm ci in tools/geoip)");
  return false;
}

std::string temporaryPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("rrdns-geoip-test-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::shared_ptr<const TopologyMap> load(const GeoipSource& source) {
  TopologyMapBuilder builder("geo", "geo.toml:1");
  builder.setDefault({"default"});
  Result<void> read = readGeoip(source, builder);
  REQUIRE_MESSAGE(read.ok(), (read.ok() ? "" : read.error().text()));
  auto map = builder.finish();
  REQUIRE(map.ok());
  return *map;
}

Network net(const std::string& text) {
  Result<Network> n = parseNetwork(text);
  REQUIRE_MESSAGE(n.ok(), text);
  return *n;
}

// What the map says for one address: its site list and where the network that decided it came
// from ("" for the default).
struct Lookup {
  SiteList sites;
  std::string network;
  std::string origin;
};
Lookup lookup(const TopologyMap& map, const std::string& address) {
  const Network host = net(address);
  const PrefixMap::Match m = map.networks[static_cast<size_t>(host.family)].match(host.address);
  Lookup out{map.lists.at(m.label), "", ""};
  if (m.matched) {
    out.network = formatNetwork(m.network);
    out.origin = map.origins.at(out.network);
  }
  return out;
}

// A MaxMind DB written by the test (the format's spec: maxmind.github.io/MaxMind-DB), small
// enough to say which networks it has: 32-bit records, data records that are maps of strings.
class MmdbWriter {
 public:
  struct Value;  // a string or a map
  using Map = std::vector<std::pair<std::string, Value>>;
  struct Value {
    std::string text;
    Map map;
    bool is_map = false;
    Value(const char* s) : text(s) {}                  // NOLINT: reads as the data it stands for
    Value(Map m) : map(std::move(m)), is_map(true) {}  // NOLINT
  };

  explicit MmdbWriter(int ip_version) : d_ip_version(ip_version) { d_nodes.push_back({}); }

  // A data record for `network` (an IPv4 network goes under ::/96 in an IPv6 database).
  void add(const std::string& network, const Map& data) {
    const uint32_t offset = static_cast<uint32_t>(d_data.size());
    encode(d_data, Value(data));
    setRecord(network, Record{Record::Data, offset});
  }
  // The record for `network` points at the node that `target` starts at (an alias, or with a
  // target above it a loop, which a corrupt database may have).
  void alias(const std::string& network, const std::string& target) {
    const auto [node, bits, prefix] = walkTo(target);
    (void)bits;
    (void)prefix;
    setRecord(network, Record{Record::Node, node});
  }

  void write(const std::string& path) const {
    const auto count = static_cast<uint32_t>(d_nodes.size());
    std::string out;
    for (const auto& node : d_nodes)
      for (const Record& r : node) {
        const uint32_t value = r.kind == Record::Empty  ? count
                               : r.kind == Record::Node ? r.value
                                                        : count + 16 + r.value;
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>(value >> shift);
      }
    out.append(16, '\0');
    out += d_data;
    out += "\xAB\xCD\xEFMaxMind.com";
    std::string meta;
    // The metadata map: keys the reader requires, types the spec gives them.
    meta += static_cast<char>(7 << 5 | 9);
    encode(meta, "binary_format_major_version");
    unsigned_(meta, 5, 2);
    encode(meta, "binary_format_minor_version");
    unsigned_(meta, 5, 0);
    encode(meta, "build_epoch");
    unsigned_(meta, 9, 1700000000);
    encode(meta, "database_type");
    encode(meta, "rrdns-test");
    encode(meta, "description");
    encode(meta, Value(Map{}));
    encode(meta, "ip_version");
    unsigned_(meta, 5, static_cast<uint64_t>(d_ip_version));
    encode(meta, "languages");
    meta += static_cast<char>(0);  // an empty array: extended type 11
    meta += static_cast<char>(11 - 7);
    encode(meta, "node_count");
    unsigned_(meta, 6, count);
    encode(meta, "record_size");
    unsigned_(meta, 5, 32);
    out += meta;
    std::ofstream(path, std::ios::binary) << out;
  }

 private:
  struct Record {
    enum Kind { Empty, Node, Data } kind = Empty;
    uint32_t value = 0;
  };

  static void encode(std::string& out, const Value& v) {
    if (v.is_map) {
      REQUIRE(v.map.size() < 29);
      out += static_cast<char>(7 << 5 | v.map.size());
      for (const auto& [key, value] : v.map) {
        encode(out, Value(key.c_str()));
        encode(out, value);
      }
    } else {
      REQUIRE(v.text.size() < 29);
      out += static_cast<char>(2 << 5 | v.text.size());
      out += v.text;
    }
  }
  // An unsigned integer of type 5 (uint16), 6 (uint32) or 9 (uint64, extended), shortest form.
  static void unsigned_(std::string& out, int type, uint64_t value) {
    std::string bytes;
    for (; value != 0; value >>= 8) bytes.insert(bytes.begin(), static_cast<char>(value & 0xff));
    if (type < 8) {
      out += static_cast<char>(type << 5 | bytes.size());
    } else {
      out += static_cast<char>(bytes.size());
      out += static_cast<char>(type - 7);
    }
    out += bytes;
  }

  // The network's bits as the tree sees them, and its prefix length there.
  std::pair<std::array<uint8_t, 16>, unsigned> treeBits(const std::string& text) const {
    const Network n = net(text);
    std::array<uint8_t, 16> bits{};
    if (d_ip_version == 4) {
      REQUIRE(n.family == Family::V4);
      std::memcpy(bits.data(), n.address, 4);
      return {bits, n.prefix};
    }
    if (n.family == Family::V4) {
      std::memcpy(bits.data() + 12, n.address, 4);
      return {bits, 96u + n.prefix};
    }
    std::memcpy(bits.data(), n.address, 16);
    return {bits, n.prefix};
  }
  static int bitAt(const std::array<uint8_t, 16>& bits, unsigned i) {
    return bits[i / 8] >> (7 - i % 8) & 1;
  }

  // The node whose subtree is `text`, made on the way; the bits and prefix for the caller.
  std::tuple<uint32_t, std::array<uint8_t, 16>, unsigned> walkTo(const std::string& text) {
    const auto [bits, prefix] = treeBits(text);
    uint32_t node = 0;
    for (unsigned i = 0; i < prefix; ++i) node = child(node, bitAt(bits, i));
    return {node, bits, prefix};
  }
  // The node below `node` on side `bit`, made if there is none.
  uint32_t child(uint32_t node, int bit) {
    const Record r = d_nodes[node][static_cast<size_t>(bit)];
    if (r.kind == Record::Node) return r.value;
    REQUIRE(r.kind == Record::Empty);
    const auto made = static_cast<uint32_t>(d_nodes.size());
    d_nodes.push_back({});  // after reading r: this may move the nodes
    d_nodes[node][static_cast<size_t>(bit)] = Record{Record::Node, made};
    return made;
  }
  void setRecord(const std::string& network, Record record) {
    const auto [bits, prefix] = treeBits(network);
    REQUIRE(prefix > 0);
    // The parent of the network's node, then its record for the network's last bit.
    uint32_t node = 0;
    for (unsigned i = 0; i + 1 < prefix; ++i) node = child(node, bitAt(bits, i));
    Record& last = d_nodes[node][static_cast<size_t>(bitAt(bits, prefix - 1))];
    REQUIRE(last.kind == Record::Empty);
    last = record;
  }

  int d_ip_version;
  std::vector<std::array<Record, 2>> d_nodes;
  std::string d_data;
};

MmdbWriter::Map maxmind(const char* country, const char* continent) {
  return {{"continent", MmdbWriter::Map{{"code", continent}}},
          {"country", MmdbWriter::Map{{"iso_code", country}}}};
}

}  // namespace

TEST_CASE("geoip: a GeoLite2 country database maps well-known networks to their country's list") {
  if (!haveRealDatabase()) return;
  GeoipSource source;
  source.database = kRealDatabase;
  source.countries = {{"DE", {"west", "east"}}, {"FR", {"west"}}, {"US", {"east", "west"}}};
  source.where = "geo.toml:7";
  const auto map = load(source);
  const std::string db = std::filesystem::path(kRealDatabase).filename().string();

  // Deutsche Telekom, Orange France, Google, Comcast; IPv4 and IPv6 each.
  for (const char* address : {"80.133.1.1", "217.0.0.1", "2003:e0::1"}) {
    CAPTURE(address);
    const Lookup l = lookup(*map, address);
    CHECK(l.sites == SiteList{"west", "east"});
    CHECK(l.origin == db + ": DE");
  }
  for (const char* address : {"90.1.1.1", "2a01:cb00::1"}) {
    CAPTURE(address);
    CHECK(lookup(*map, address).sites == SiteList{"west"});
    CHECK(lookup(*map, address).origin == db + ": FR");
  }
  for (const char* address : {"8.8.8.8", "73.1.2.3", "2001:4860:4860::8888"}) {
    CAPTURE(address);
    CHECK(lookup(*map, address).sites == SiteList{"east", "west"});
  }
  // The network that decided covers the address, within the family it belongs to.
  CHECK(net(lookup(*map, "8.8.8.8").network).family == Family::V4);
  CHECK(net(lookup(*map, "2003:e0::1").network).family == Family::V6);

  // Countries with no list (NTT in Japan, RIPE's k-root in the Netherlands) are not added:
  // those clients get the default list.
  for (const char* address : {"133.1.1.1", "2400:4000::1", "193.0.14.129"}) {
    CAPTURE(address);
    const Lookup l = lookup(*map, address);
    CHECK(l.sites == SiteList{"default"});
    CHECK(l.network.empty());
  }
  // IPv4 lives under ::/96 in this IPv6 database: it becomes IPv4 networks, and no IPv6 network
  // covers IPv4-mapped addresses (those clients are routed as IPv4).
  CHECK(lookup(*map, "::ffff:80.133.1.1").network.empty());
  CHECK(lookup(*map, "::80.133.1.1").network.empty());

  // Both families have networks, in the numbers a country database has for three countries.
  CHECK(map->networks[0].networks() > 10000);
  CHECK(map->networks[1].networks() > 10000);
}

TEST_CASE("geoip: the whole GeoLite2 database, every country mapped (load time and counts)") {
  if (!haveRealDatabase()) return;
  // Every two-letter code has a list, one of three: what a map of the world does at most.
  GeoipSource source;
  source.database = kRealDatabase;
  for (char a = 'A'; a <= 'Z'; ++a)
    for (char b = 'A'; b <= 'Z'; ++b)
      source.countries[std::string{a, b}] = {std::string("site") + char('0' + (a + b) % 3)};
  TopologyMapBuilder builder("world", "world.toml:1");
  const auto start = std::chrono::steady_clock::now();
  Result<void> read = readGeoip(source, builder);
  REQUIRE(read.ok());
  const auto walked = std::chrono::steady_clock::now();
  auto map = builder.finish();
  REQUIRE(map.ok());
  const auto built = std::chrono::steady_clock::now();
  const size_t v4 = (*map)->networks[0].networks(), v6 = (*map)->networks[1].networks();
  MESSAGE("whole database: readGeoip "
          << std::chrono::duration<double>(walked - start).count() << " s, finish "
          << std::chrono::duration<double>(built - walked).count() << " s; " << v4
          << " IPv4 networks, " << v6 << " IPv6 networks");
  CHECK(v4 > 100000);
  CHECK(v6 > 100000);
  // A country's networks decide, whichever list it has.
  CHECK(lookup(**map, "80.133.1.1").origin.ends_with(": DE"));
  CHECK(lookup(**map, "2400:4000::1").origin.ends_with(": JP"));
}

TEST_CASE("geoip: IPv4 under ::/96 of the IPv6 database is what the IPv4-only database has") {
  if (!haveRealDatabase()) return;
  // The package ships the same data three ways: both families in one IPv6 database (IPv4 under
  // ::/96), and an IPv4 (ip_version 4) and an IPv6-only database.
  const std::filesystem::path dir = std::filesystem::path(kRealDatabase).parent_path();
  GeoipSource source;
  source.countries = {{"DE", {"west"}}, {"FR", {"west"}}, {"US", {"east"}}, {"BR", {"south"}}};
  source.database = kRealDatabase;
  const auto both = load(source);
  source.database = (dir / "geolite2-country-ipv4.mmdb").string();
  const auto v4 = load(source);
  source.database = (dir / "geolite2-country-ipv6.mmdb").string();
  const auto v6 = load(source);
  CHECK(both->networks[0].networks() == v4->networks[0].networks());
  CHECK(v4->networks[1].networks() == 0);
  CHECK(both->networks[1].networks() == v6->networks[1].networks());
  CHECK(v6->networks[0].networks() == 0);
  for (const char* address : {"80.133.1.1", "90.1.1.1", "8.8.8.8", "177.0.0.1", "133.1.1.1"}) {
    CAPTURE(address);
    CHECK(lookup(*both, address).network == lookup(*v4, address).network);
    CHECK(lookup(*both, address).sites == lookup(*v4, address).sites);
  }
}

TEST_CASE("geoip: ip-location-db's databases have no continents: mapping one is an error") {
  if (!haveRealDatabase()) return;
  GeoipSource source;
  source.database = kRealDatabase;
  source.continents = {{"EU", {"west"}}};
  source.where = "geo.toml:9";
  TopologyMapBuilder builder("geo", "geo.toml:1");
  Result<void> read = readGeoip(source, builder);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().file == "geo.toml");
  CHECK(read.error().line == 9);
  CHECK(read.error().message.find("no continent data") != std::string::npos);
}

TEST_CASE("geoip: a missing, a garbage or a truncated file is a clear error") {
  GeoipSource source;
  source.countries = {{"DE", {"west"}}};
  source.where = "geo.toml:12";
  TopologyMapBuilder builder("geo", "geo.toml:1");

  source.database = temporaryPath("missing.mmdb");
  Result<void> missing = readGeoip(source, builder);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text().starts_with("geo.toml:12: MaxMind DB " + source.database + ": "));
  CHECK(missing.error().message.find("No such file or directory") != std::string::npos);

  source.database = temporaryPath("garbage.mmdb");
  std::ofstream(source.database) << std::string(4096, 'x');
  Result<void> garbage = readGeoip(source, builder);
  std::filesystem::remove(source.database);
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().message.find(source.database) != std::string::npos);
  CHECK(garbage.error().message.find("metadata") != std::string::npos);

  if (haveRealDatabase()) {  // the real thing cut in half: no metadata at its end
    source.database = temporaryPath("half.mmdb");
    std::filesystem::copy_file(kRealDatabase, source.database);
    std::filesystem::resize_file(source.database, std::filesystem::file_size(kRealDatabase) / 2);
    Result<void> half = readGeoip(source, builder);
    std::filesystem::remove(source.database);
    REQUIRE_FALSE(half.ok());
    CHECK(half.error().message.find(source.database) != std::string::npos);
  }
}

TEST_CASE("geoip: MaxMind's layout: country.iso_code, else continent.code") {
  MmdbWriter writer(6);
  writer.add("10.1.0.0/16", maxmind("DE", "EU"));
  writer.add("10.2.0.0/16", maxmind("FR", "EU"));
  writer.add("10.3.0.0/16", maxmind("JP", "AS"));
  writer.add("2001:db8::/32", maxmind("DE", "EU"));
  writer.add("2001:db9::/32", maxmind("AT", "EU"));
  // A network with a continent and no country (MaxMind has them: "EU" for some anycast).
  writer.add("10.4.0.0/16", {{"continent", MmdbWriter::Map{{"code", "EU"}}}});
  GeoipSource source;
  source.database = temporaryPath("maxmind.mmdb");
  writer.write(source.database);
  source.countries = {{"DE", {"west"}}};
  source.continents = {{"EU", {"east", "west"}}};
  const auto map = load(source);
  std::filesystem::remove(source.database);
  const std::string db = std::filesystem::path(source.database).filename().string();

  CHECK(lookup(*map, "10.1.2.3").sites == SiteList{"west"});
  CHECK(lookup(*map, "10.1.2.3").origin == db + ": DE");
  CHECK(lookup(*map, "10.2.2.3").sites == SiteList{"east", "west"});
  CHECK(lookup(*map, "10.2.2.3").origin == db + ": EU");
  CHECK(lookup(*map, "10.4.0.1").sites == SiteList{"east", "west"});
  CHECK(lookup(*map, "10.3.0.1").sites == SiteList{"default"});  // AS has no list
  CHECK(lookup(*map, "2001:db8::1").sites == SiteList{"west"});
  CHECK(lookup(*map, "2001:db9::1").sites == SiteList{"east", "west"});
  CHECK(lookup(*map, "2001:db8::1").network == "2001:db8::/32");
  CHECK(lookup(*map, "10.1.2.3").network == "10.1.0.0/16");
}

TEST_CASE("geoip: IPv4 aliases in an IPv6 database (::ffff:0:0/96, 2002::/16) are not walked") {
  MmdbWriter writer(6);
  writer.add("10.1.0.0/16", {{"country_code", "DE"}});
  writer.add("192.0.2.0/24", {{"country_code", "FR"}});
  writer.add("2003::/19", {{"country_code", "DE"}});
  // As MaxMind's writer does: both point at the IPv4 tree's root, the node at ::/96.
  writer.alias("::ffff:0:0/96", "::/96");
  writer.alias("2002::/16", "::/96");
  GeoipSource source;
  source.database = temporaryPath("aliases.mmdb");
  writer.write(source.database);
  source.countries = {{"DE", {"west"}}, {"FR", {"east"}}};
  const auto map = load(source);
  std::filesystem::remove(source.database);

  CHECK(lookup(*map, "10.1.2.3").network == "10.1.0.0/16");
  CHECK(lookup(*map, "192.0.2.1").network == "192.0.2.0/24");
  CHECK(lookup(*map, "2003::1").network == "2003::/19");
  // Walked as IPv6 they would have made ::ffff:10.1.0.0/112, 2002:a01::/32 and so on.
  CHECK(lookup(*map, "::ffff:10.1.2.3").network.empty());
  CHECK(lookup(*map, "2002:a01:203::1").network.empty());
  CHECK(lookup(*map, "::10.1.2.3").network.empty());
  CHECK(map->networks[0].networks() == 2);
  CHECK(map->networks[1].networks() == 1);
}

TEST_CASE("geoip: siblings one country decides merge into one network") {
  MmdbWriter writer(4);
  // Two records for one country (they differ in a field the map does not read) side by side.
  writer.add("10.0.0.0/25", maxmind("DE", "EU"));
  writer.add("10.0.0.128/25", {{"country_code", "DE"}});
  // Siblings of different countries stay apart, even with the same list.
  writer.add("10.0.1.0/25", maxmind("DE", "EU"));
  writer.add("10.0.1.128/25", maxmind("AT", "EU"));
  // Not siblings: 10.0.2.0/24 and 10.0.4.0/24 have a gap between them.
  writer.add("10.0.2.0/24", maxmind("DE", "EU"));
  writer.add("10.0.4.0/24", maxmind("DE", "EU"));
  GeoipSource source;
  source.database = temporaryPath("merge.mmdb");
  writer.write(source.database);
  source.countries = {{"DE", {"west"}}, {"AT", {"west"}}};
  const auto map = load(source);
  std::filesystem::remove(source.database);

  CHECK(lookup(*map, "10.0.0.200").network == "10.0.0.0/24");
  CHECK(lookup(*map, "10.0.1.1").network == "10.0.1.0/25");
  CHECK(lookup(*map, "10.0.1.129").network == "10.0.1.128/25");
  CHECK(lookup(*map, "10.0.2.1").network == "10.0.2.0/24");
  CHECK(lookup(*map, "10.0.4.1").network == "10.0.4.0/24");
  CHECK(lookup(*map, "10.0.3.1").network.empty());
  CHECK(map->networks[0].networks() == 5);
  CHECK(map->networks[1].networks() == 0);  // an IPv4 database
}

TEST_CASE("geoip: a search tree that loops back is a corrupt database, not an endless walk") {
  MmdbWriter writer(4);
  writer.add("10.1.0.0/16", maxmind("DE", "EU"));
  writer.alias("10.2.0.0/16", "0.0.0.0/0");  // back to the root
  GeoipSource source;
  source.database = temporaryPath("loop.mmdb");
  writer.write(source.database);
  source.countries = {{"DE", {"west"}}};
  source.where = "geo.toml:3";
  TopologyMapBuilder builder("geo", "geo.toml:1");
  Result<void> read = readGeoip(source, builder);
  std::filesystem::remove(source.database);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().text().starts_with("geo.toml:3: MaxMind DB " + source.database +
                                        ": corrupt search tree"));
}

TEST_CASE("geoip: a database without country or continent data is refused") {
  MmdbWriter writer(4);
  writer.add("10.1.0.0/16", {{"isp", "Example"}});
  GeoipSource source;
  source.database = temporaryPath("asn.mmdb");
  writer.write(source.database);
  source.countries = {{"DE", {"west"}}};
  TopologyMapBuilder builder("geo", "geo.toml:1");
  Result<void> read = readGeoip(source, builder);
  std::filesystem::remove(source.database);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message.find("no country or continent data") != std::string::npos);
}
