#include <doctest/doctest.h>

#include <vector>

#include "dns/wire/writer.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns::wire;

TEST_CASE("Writer compresses against names already written, case-insensitively") {
  uint8_t buf[512];
  Writer w(buf, sizeof buf);
  const std::string question = testutil::nameKeepCase("WWW.Example.TEST.");
  w.name(question);  // offset 0
  const size_t second = w.size();
  w.name(testutil::name("www.example.test."));
  CHECK(w.size() == second + 2);  // just a pointer
  CHECK(buf[second] == 0xC0);
  CHECK(buf[second + 1] == 0x00);

  const size_t third = w.size();
  w.name(testutil::name("mail.example.test."));
  // "\4mail" then a pointer to "example.test." at offset 4
  CHECK(w.size() == third + 5 + 2);
  CHECK(buf[third + 5] == 0xC0);
  CHECK(buf[third + 6] == 4);
  REQUIRE(w.ok());
}

TEST_CASE("Writer limit is sticky and rollback forgets compression targets") {
  uint8_t buf[64];
  Writer w(buf, 30);
  const auto start = w.mark();
  w.name(testutil::name("abcdefghij.example.test."));  // 25 bytes
  CHECK(w.ok());
  w.u32(0);
  w.u16(0);  // 31 > 30
  CHECK_FALSE(w.ok());
  w.u8(1);  // no-op after an error
  CHECK(w.size() == 29);
  w.rollback(start);
  CHECK(w.ok());
  CHECK(w.size() == 0);
  // Nothing to compress against any more: the name is written in full again.
  w.name(testutil::name("example.test."));
  CHECK(w.size() == 14);
}

TEST_CASE("Writer::record compresses names inside NS, CNAME, MX and SOA RDATA") {
  uint8_t buf[512];
  Writer w(buf, sizeof buf);
  const std::string apex = testutil::name("example.test.");
  w.name(apex);
  const std::string mx = std::string("\0\x0a", 2) + testutil::name("mail.example.test.");
  w.record(apex, type::MX, klass::IN, 300, mx);
  REQUIRE(w.ok());
  // owner pointer (2) + type/class/ttl/rdlength (10) + preference (2) + "\4mail" (5) + pointer (2)
  CHECK(w.size() == apex.size() + 2 + 10 + 2 + 5 + 2);
  const auto msg_size = w.size();
  CHECK(rrdns::load16(buf + msg_size - 11) == 9);  // rdlength

  const std::string soa = testutil::name("ns1.example.test.") +
                          testutil::name("hostmaster.example.test.") + std::string(20, '\1');
  const size_t before = w.size();
  w.record(apex, type::SOA, klass::IN, 300, soa);
  REQUIRE(w.ok());
  CHECK(w.size() - before == 2 + 10 + (4 + 2) + (11 + 2) + 20);
}

TEST_CASE("Writer::record leaves other RDATA alone") {
  uint8_t buf[512];
  Writer w(buf, sizeof buf);
  const std::string apex = testutil::name("example.test.");
  w.name(apex);
  // SRV targets are never compressed (RFC 2782).
  const std::string srv = std::string("\0\0\0\5\x13\xc4", 6) + apex;
  w.record(apex, type::SRV, klass::IN, 60, srv);
  REQUIRE(w.ok());
  CHECK(std::string(reinterpret_cast<char*>(buf) + w.size() - srv.size(), srv.size()) == srv);
}

TEST_CASE("Writer::opt writes an RFC 6891 OPT record") {
  uint8_t buf[32];
  Writer w(buf, sizeof buf);
  w.opt(1232, 1, true);
  REQUIRE(w.size() == kOptRecordSize);
  const uint8_t expected[] = {0, 0, 41, 0x04, 0xD0, 1, 0, 0x80, 0, 0, 0};
  CHECK(std::equal(buf, buf + kOptRecordSize, expected));
}

TEST_CASE("Writer::opt with an NSID: one option, RDLENGTH covering it (RFC 5001 2.3)") {
  uint8_t buf[64];
  Writer w(buf, sizeof buf);
  w.opt(1232, 0, false, "ns1");
  REQUIRE(w.ok());
  REQUIRE(w.size() == Writer::optSize("ns1"));
  CHECK(Writer::optSize("ns1") == kOptRecordSize + 4 + 3);
  CHECK(Writer::optSize("") == kOptRecordSize);
  const uint8_t expected[] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 7, 0, 3, 0, 3, 'n', 's', '1'};
  CHECK(std::equal(buf, buf + sizeof expected, expected));

  Writer small(buf, kOptRecordSize + 6);  // all or nothing
  small.opt(1232, 0, false, "ns1");
  CHECK_FALSE(small.ok());
  CHECK(small.size() == 0);
}

TEST_CASE("Writer::opt with NSID and ECS: NSID first, ECS with our scope (RFC 7871 7.2.1)") {
  uint8_t buf[64];
  Writer w(buf, sizeof buf);
  const uint8_t query_option[] = {0, 1, 23, 0, 10, 1, 3};  // 10.1.3.0/23: a bit past the prefix
  const SubnetEcho echo{query_option, sizeof query_option, 16};
  CHECK(echo.wireSize() == 4 + 7);
  w.opt(1232, 0, false, "ns1", echo);
  REQUIRE(w.ok());
  REQUIRE(w.size() == Writer::optSize("ns1", echo));
  const uint8_t expected[] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 18, 0, 3,  0, 3, 'n', 's',
                              '1', 0, 8, 0, 7, 0, 1, 23, 16, 10, 1, 2};
  CHECK(w.size() == sizeof expected);
  CHECK(std::equal(buf, buf + sizeof expected, expected));
}

TEST_CASE("putClientSubnet: the address as sent, masked to SOURCE, extra bytes zero (as Knot)") {
  const uint8_t query_option[] = {0, 2, 12, 9, 0x20, 0x1f, 0xee, 0xdd};  // /12 with 4 bytes
  uint8_t out[16] = {};
  putClientSubnet(out, {query_option, sizeof query_option, 3});
  const uint8_t expected[] = {0, 8, 0, 8, 0, 2, 12, 3, 0x20, 0x10, 0, 0};
  CHECK(std::equal(out, out + sizeof expected, expected));
}

TEST_CASE("type names") {
  CHECK(typeName(type::AAAA) == "AAAA");
  CHECK(typeName(type::CAA) == "CAA");
  CHECK(typeName(65000) == "TYPE65000");
  CHECK(typeFromName("aaaa") == type::AAAA);
  CHECK(typeFromName("caa") == type::CAA);
  CHECK(typeFromName("TYPE65000") == 65000);
  CHECK_FALSE(typeFromName("TYPE70000").has_value());
  CHECK_FALSE(typeFromName("bogus").has_value());
}
