#include <doctest/doctest.h>

#include <vector>

#include "tools/verify/client_subnet.hh"

namespace {

ClientSubnet parsed(const std::string& text) {
  std::string error;
  auto s = parseClientSubnet(text, error);
  REQUIRE_MESSAGE(s, error);
  return *s;
}

// A response: header (QDCOUNT 1, ANCOUNT 1, ARCOUNT 1), question www.t A, one A record with a
// compressed owner, and an OPT record whose RDATA is `options`.
std::vector<uint8_t> response(const std::vector<uint8_t>& options) {
  std::vector<uint8_t> m = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1,
                            3, 'w', 'w', 'w', 1, 't', 0, 0, 1, 0, 1,
                            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 1,
                            0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0};
  m.push_back(static_cast<uint8_t>(options.size() >> 8));
  m.push_back(static_cast<uint8_t>(options.size() & 0xff));
  m.insert(m.end(), options.begin(), options.end());
  return m;
}

}  // namespace

TEST_CASE("--subnet: the prefix's bytes only, host bits cleared (RFC 7871 6)") {
  ClientSubnet v4 = parsed("10.1.2.3/20");
  CHECK(v4.family == 1);
  CHECK(v4.source == 20);
  CHECK(v4.address == std::vector<uint8_t>{10, 1, 0});
  CHECK(formatClientSubnet(v4) == "10.1.0.0/20");
  CHECK(parsed("10.1.0.0/24").address == std::vector<uint8_t>{10, 1, 0});
  CHECK(parsed("0.0.0.0/0").address.empty());
  CHECK(parsed("192.0.2.7").source == 32);

  ClientSubnet v6 = parsed("2001:db8:ffff::/33");
  CHECK(v6.family == 2);
  CHECK(v6.address == std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0x80});
  CHECK(formatClientSubnet(v6) == "2001:db8:8000::/33");
  CHECK(parsed("::1").source == 128);

  std::string error;
  for (const char* bad : {"10.1.0.0/33", "2001:db8::/129", "10.1.0.0/", "10.1.0.0/x", "nonsense",
                          "10.1.0/24", "10.1.0.0/-1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseClientSubnet(bad, error));
  }
}

TEST_CASE("the option's bytes: CODE 8, LENGTH, FAMILY, SOURCE, SCOPE 0, ADDRESS") {
  CHECK(encodeClientSubnetOption(parsed("10.1.0.0/24")) ==
        std::vector<uint8_t>{0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 0});
  CHECK(encodeClientSubnetOption(parsed("0.0.0.0/0")) == std::vector<uint8_t>{0, 8, 0, 4, 0, 1, 0, 0});
}

TEST_CASE("the ECS option of a response, past compressed names and other options") {
  // A cookie option first (code 10, 8 bytes), then ECS 10.1.0.0/24 with scope 16.
  auto m = response({0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 8, 0, 7, 0, 1, 24, 16, 10, 1, 0});
  ClientSubnetReply r = findClientSubnet(m.data(), m.size());
  CHECK(r.opt);
  REQUIRE(r.option);
  CHECK(r.option->scope == 16);
  CHECK(r.option->sameSubnet(parsed("10.1.0.0/24")));
  CHECK_FALSE(r.option->sameSubnet(parsed("10.1.0.0/23")));
  CHECK_FALSE(r.option->sameSubnet(parsed("10.2.0.0/24")));

  ClientSubnetReply none = findClientSubnet(m.data(), 40);  // cut short before the OPT record
  CHECK_FALSE(none.opt);
  auto plain = response({});
  ClientSubnetReply noEcs = findClientSubnet(plain.data(), plain.size());
  CHECK(noEcs.opt);
  CHECK_FALSE(noEcs.option);
  CHECK_FALSE(noEcs.malformed);

  // ADDRESS longer than the source prefix needs, and a family that does not exist: malformed.
  for (const std::vector<uint8_t>& bad : {std::vector<uint8_t>{0, 8, 0, 8, 0, 1, 24, 0, 10, 1, 0, 0},
                                         std::vector<uint8_t>{0, 8, 0, 4, 0, 3, 0, 0},
                                         std::vector<uint8_t>{0, 8, 0, 9, 0, 1, 24}}) {
    auto mb = response(bad);
    ClientSubnetReply r2 = findClientSubnet(mb.data(), mb.size());
    CHECK(r2.malformed);
    CHECK_FALSE(r2.option);
  }
}

TEST_CASE("the scope tally counts echoes, missing options and other subnets apart") {
  ClientSubnet sent = parsed("10.1.0.0/24");
  ScopeTally t;
  auto m16 = response({0, 8, 0, 7, 0, 1, 24, 16, 10, 1, 0});
  auto m0 = response({0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 0});
  auto other = response({0, 8, 0, 7, 0, 1, 24, 0, 10, 2, 0});
  auto plain = response({});
  CHECK(t.add(sent, findClientSubnet(m16.data(), m16.size())) == 16);
  CHECK(t.add(sent, findClientSubnet(m16.data(), m16.size())) == 16);
  CHECK(t.ok());
  CHECK(t.summary() == "scope /16 in 2 responses");
  CHECK(t.add(sent, findClientSubnet(m0.data(), m0.size())) == 0);
  CHECK(t.summary() == "scope /0 in 1 response, /16 in 2");
  CHECK_FALSE(t.add(sent, findClientSubnet(other.data(), other.size())));
  CHECK_FALSE(t.add(sent, findClientSubnet(plain.data(), plain.size())));
  CHECK_FALSE(t.ok());
  CHECK(t.without == 1);
  CHECK(t.mismatched == 1);
}
