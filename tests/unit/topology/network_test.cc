// parseNetwork() and formatNetwork(): the networks topology maps are written in.
#include "dns/topology/network.hh"

#include <doctest/doctest.h>

using namespace rrdns::topology;

TEST_CASE("parseNetwork reads IPv4 and IPv6 networks and bare addresses") {
  auto v4 = parseNetwork("10.1.0.0/16");
  REQUIRE(v4.ok());
  CHECK(v4->family == Family::V4);
  CHECK(v4->prefix == 16);
  CHECK(v4->address[0] == 10);
  CHECK(v4->address[1] == 1);
  CHECK(formatNetwork(*v4) == "10.1.0.0/16");

  auto host = parseNetwork("192.0.2.7");
  REQUIRE(host.ok());
  CHECK(host->prefix == 32);
  CHECK(formatNetwork(*host) == "192.0.2.7/32");

  auto v6 = parseNetwork("2001:db8::/32");
  REQUIRE(v6.ok());
  CHECK(v6->family == Family::V6);
  CHECK(v6->prefix == 32);
  CHECK(formatNetwork(*v6) == "2001:db8::/32");
  CHECK(parseNetwork("::1")->prefix == 128);
  CHECK(parseNetwork("0.0.0.0/0")->prefix == 0);
  CHECK(parseNetwork("::/0")->prefix == 0);
}

TEST_CASE("parseNetwork refuses what is not a network, with the reason") {
  auto bad = parseNetwork("10.1.0/16");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().text() == "\"10.1.0/16\" is not an IPv4 or IPv6 network (ADDRESS/PREFIX)");
  CHECK(parseNetwork("east").error().text().find("not an IPv4 or IPv6 network") !=
        std::string::npos);
  CHECK(parseNetwork("10.0.0.0/33").error().text() ==
        "\"10.0.0.0/33\": prefix length must be 0 to 32");
  CHECK(parseNetwork("2001:db8::/129").error().text().find("0 to 128") != std::string::npos);
  CHECK_FALSE(parseNetwork("10.0.0.0/").ok());
  CHECK_FALSE(parseNetwork("10.0.0.0/-1").ok());
  CHECK_FALSE(parseNetwork("10.0.0.0/8x").ok());
  // Host bits past the prefix: refused, with the network that was probably meant.
  CHECK(parseNetwork("10.1.2.0/16").error().text() ==
        "\"10.1.2.0/16\" has bits set past its prefix length (10.1.0.0/16?)");
  CHECK(parseNetwork("2001:db8::1/64").error().text().find("(2001:db8::/64?)") !=
        std::string::npos);
}
