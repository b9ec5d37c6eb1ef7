// PrefixMap: longest prefix, paint(), match(); RouteTable: answers and scopes on small maps
// whose scopes can be worked out by hand (route_property_test.cc checks random ones).
#include "dns/topology/prefix_map.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace rrdns::topology;

namespace {

Network net(const char* text) { return *parseNetwork(text); }

struct Address {
  uint8_t bytes[16] = {};
  explicit Address(const std::string& text) {
    if (inet_pton(AF_INET, text.c_str(), bytes) != 1)
      REQUIRE(inet_pton(AF_INET6, text.c_str(), bytes) == 1);
  }
};

uint32_t labelOf(const PrefixMap& map, const char* address) {
  return map.match(Address(address).bytes).label;
}

}  // namespace

TEST_CASE("PrefixMap: the longest prefix wins, whatever the order networks were added in") {
  PrefixMap map(Family::V4, 0);
  map.add(net("10.1.2.0/24"), 3);
  map.add(net("10.0.0.0/8"), 1);
  map.add(net("10.1.0.0/16"), 2);
  CHECK(labelOf(map, "10.1.2.200") == 3);
  CHECK(labelOf(map, "10.1.3.1") == 2);
  CHECK(labelOf(map, "10.200.0.1") == 1);
  CHECK(labelOf(map, "11.0.0.1") == 0);
  CHECK(map.networks() == 3);
  map.add(net("10.1.0.0/16"), 4);  // the same network again: its label is replaced
  CHECK(labelOf(map, "10.1.3.1") == 4);
  CHECK(map.networks() == 3);
}

TEST_CASE("PrefixMap::match says which network decided") {
  PrefixMap map(Family::V4, 7);
  map.add(net("10.1.0.0/16"), 2);
  map.add(net("10.1.2.3/32"), 5);
  auto m = map.match(Address("10.1.200.9").bytes);
  CHECK(m.matched);
  CHECK(m.label == 2);
  CHECK(formatNetwork(m.network) == "10.1.0.0/16");
  m = map.match(Address("10.1.2.3").bytes);
  CHECK(m.label == 5);
  CHECK(formatNetwork(m.network) == "10.1.2.3/32");
  m = map.match(Address("192.0.2.1").bytes);
  CHECK_FALSE(m.matched);
  CHECK(m.label == 7);
  CHECK(m.network.prefix == 0);
  map.add(net("0.0.0.0/0"), 9);  // a network covering everything is a match, not the default
  m = map.match(Address("192.0.2.1").bytes);
  CHECK(m.matched);
  CHECK(m.label == 9);
  CHECK(formatNetwork(m.network) == "0.0.0.0/0");

  PrefixMap v6(Family::V6, 0);
  v6.add(net("2001:db8::/32"), 1);
  m = v6.match(Address("2001:db8:1::5").bytes);
  CHECK(m.matched);
  CHECK(formatNetwork(m.network) == "2001:db8::/32");
}

TEST_CASE("PrefixMap::paint overrides everything below, whatever its prefix lengths") {
  PrefixMap map(Family::V4, 0);
  map.add(net("10.0.0.0/8"), 1);  // a database's networks
  map.add(net("10.1.2.0/24"), 2);
  map.add(net("10.1.2.128/25"), 3);
  map.paint(net("10.1.0.0/16"), 4);  // an operator's network
  CHECK(labelOf(map, "10.1.2.200") == 4);
  CHECK(labelOf(map, "10.1.9.9") == 4);
  CHECK(labelOf(map, "10.2.0.1") == 1);  // above the painted network: untouched
  CHECK(map.networks() == 2);
  map.paint(net("10.1.3.0/24"), 5);  // a longer network painted later applies again
  map.add(net("10.1.4.0/24"), 6);
  CHECK(labelOf(map, "10.1.3.1") == 5);
  CHECK(labelOf(map, "10.1.4.1") == 6);
  CHECK(labelOf(map, "10.1.5.1") == 4);
  CHECK(map.networks() == 4);
}

TEST_CASE("RouteTable: answers and the widest prefix that shares them") {
  PrefixMap map(Family::V4, 0);
  map.add(net("10.1.0.0/16"), 1);
  map.add(net("10.2.0.0/16"), 2);
  map.add(net("10.1.2.0/24"), 3);
  auto find = [](const RouteTable& t, const char* a) { return t.find(Address(a).bytes); };

  // All four labels answer differently.
  RouteTable t = map.route(std::vector<uint32_t>{10, 11, 12, 13});
  CHECK(find(t, "10.1.2.3").answer == 13);
  CHECK(find(t, "10.1.2.3").scope == 24);
  CHECK(find(t, "10.1.3.3").answer == 11);
  CHECK(find(t, "10.1.3.3").scope == 24);  // 10.1.3.0/24 is all label 1; 10.1.2.0/23 is not
  CHECK(find(t, "10.1.128.1").scope == 17);
  CHECK(find(t, "10.1.64.1").scope == 18);
  CHECK(find(t, "10.2.0.1").answer == 12);
  CHECK(find(t, "10.2.0.1").scope == 16);
  CHECK(find(t, "10.3.0.1").answer == 10);
  CHECK(find(t, "10.3.0.1").scope == 16);  // 10.2.0.0/15 holds 10.2/16
  CHECK(find(t, "10.0.0.1").scope == 16);  // 10.0.0.0/15 holds 10.1/16
  CHECK(find(t, "10.4.0.1").scope == 14);
  CHECK(find(t, "128.0.0.1").scope == 1);
  CHECK(find(t, "0.0.0.1").scope == 5);  // 0/5 is all default; 0/4 holds 10/8

  // Label 3 answers as label 1 does: the /24 merges into its /16.
  t = map.route(std::vector<uint32_t>{10, 11, 12, 11});
  CHECK(find(t, "10.1.2.3").answer == 11);
  CHECK(find(t, "10.1.2.3").scope == 16);
  // Everything answers alike: scope 0.
  t = map.route(std::vector<uint32_t>{7, 7, 7, 7});
  CHECK(find(t, "10.1.2.3").answer == 7);
  CHECK(find(t, "10.1.2.3").scope == 0);
  CHECK(find(t, "200.1.2.3").scope == 0);
  // 10.2/16 answers as the default: only 10.1/16 stands out.
  t = map.route(std::vector<uint32_t>{1, 2, 1, 2});
  CHECK(find(t, "10.2.0.1").scope == 15);
  CHECK(find(t, "10.1.2.3").scope == 16);
}

TEST_CASE("RouteTable: host routes, IPv6, and the table before route()") {
  PrefixMap map(Family::V4, 0);
  map.add(net("192.0.2.1/32"), 1);
  RouteTable t = map.route(std::vector<uint32_t>{0, 1});
  CHECK(t.find(Address("192.0.2.1").bytes).answer == 1);
  CHECK(t.find(Address("192.0.2.1").bytes).scope == 32);
  CHECK(t.find(Address("192.0.2.0").bytes).answer == 0);
  CHECK(t.find(Address("192.0.2.0").bytes).scope == 32);
  CHECK(t.find(Address("192.0.2.2").bytes).scope == 31);
  CHECK(t.bytes() >= 4 * 256 * sizeof(uint32_t));  // one table per byte down to the host

  PrefixMap v6(Family::V6, 0);
  v6.add(net("2001:db8::/32"), 1);
  v6.add(net("2001:db8::1/128"), 2);
  t = v6.route(std::vector<uint32_t>{0, 1, 2});
  CHECK(t.family() == Family::V6);
  CHECK(t.find(Address("2001:db8::1").bytes).answer == 2);
  CHECK(t.find(Address("2001:db8::1").bytes).scope == 128);
  CHECK(t.find(Address("2001:db8:1::").bytes).answer == 1);
  CHECK(t.find(Address("2001:db8:1::").bytes).scope == 48);
  CHECK(t.find(Address("2001:db9::").bytes).answer == 0);
  CHECK(t.find(Address("2001:db9::").bytes).scope == 32);

  // 10.1.2.0/24 and 10.2.2.0/24 make the same table below 10.1 and 10.2: it is held once.
  PrefixMap twins(Family::V4, 0);
  twins.add(net("10.1.2.0/24"), 1);
  twins.add(net("10.2.2.0/24"), 1);
  t = twins.route(std::vector<uint32_t>{0, 1});
  CHECK(t.find(Address("10.1.2.1").bytes).answer == 1);
  CHECK(t.find(Address("10.2.2.1").bytes).answer == 1);
  CHECK(t.find(Address("10.2.3.1").bytes).scope == 24);
  CHECK(t.bytes() < 4 * 256 * sizeof(uint32_t));  // root, 10, one shared table

  const RouteTable empty;
  CHECK(empty.find(Address("10.0.0.1").bytes).answer == 0);
  CHECK(empty.find(Address("10.0.0.1").bytes).scope == 0);
}
