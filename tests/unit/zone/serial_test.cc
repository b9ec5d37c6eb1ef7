// serial_test.cc -- RFC 1982 serial comparison, the IXFR up-to-date rule, the serial policy, and
// the zone digest the policy compares.
#include <doctest/doctest.h>

#include "dns/zone/secondaries.hh"
#include "dns/zone/serial.hh"
#include "dns/zone/zone.hh"
#include "dns/base/bytes.hh"
#include "tests/unit/message_util.hh"

namespace rrdns::zone {
namespace {

TEST_CASE("compareSerial follows RFC 1982 3.2, wrapping at 2^32") {
  CHECK(compareSerial(5, 5) == SerialOrder::Equal);
  CHECK(compareSerial(6, 5) == SerialOrder::Greater);
  CHECK(compareSerial(5, 6) == SerialOrder::Lower);
  // Across the wrap: 0 follows 0xFFFFFFFF, and 10 is newer than 0xFFFFFFF0.
  CHECK(compareSerial(0, 0xFFFFFFFFu) == SerialOrder::Greater);
  CHECK(compareSerial(10, 0xFFFFFFF0u) == SerialOrder::Greater);
  CHECK(compareSerial(0xFFFFFFF0u, 10) == SerialOrder::Lower);
  // Up to 2^31 - 1 ahead is newer; exactly 2^31 apart is undefined (incomparable).
  CHECK(compareSerial(0x7FFFFFFFu, 0) == SerialOrder::Greater);
  CHECK(compareSerial(0x80000000u, 0) == SerialOrder::Incomparable);
  CHECK(compareSerial(0, 0x80000000u) == SerialOrder::Incomparable);
  CHECK(compareSerial(0x80000001u, 0) == SerialOrder::Lower);
  CHECK(serialGreater(2024010102u, 2024010101u));
  CHECK_FALSE(serialGreater(2024010101u, 2024010101u));
}

TEST_CASE("an IXFR client is up to date unless our serial is newer or incomparable") {
  CHECK(ixfrUpToDate(100, 100));         // current: the single SOA
  CHECK(ixfrUpToDate(100, 101));         // the client is newer (a restored backup of ours?)
  CHECK(ixfrUpToDate(0xFFFFFFFFu, 0));   // newer across the wrap
  CHECK_FALSE(ixfrUpToDate(101, 100));   // behind: a transfer
  CHECK_FALSE(ixfrUpToDate(0, 0xFFFFFFFFu));
  CHECK_FALSE(ixfrUpToDate(0x80000000u, 0));  // incomparable: a transfer, as Knot DNS
}

TEST_CASE("serial policy keep: the file's serial, stale when records change without a raise") {
  const ServedSerial last{100, 0xAAAA};
  CHECK(decideSerial(SerialPolicy::Keep, 100, 0xAAAA, nullptr).serial == 100);
  auto d = decideSerial(SerialPolicy::Keep, 100, 0xAAAA, &last);
  CHECK(d.serial == 100);
  CHECK_FALSE(d.stale);
  d = decideSerial(SerialPolicy::Keep, 100, 0xBBBB, &last);  // changed, same serial
  CHECK(d.serial == 100);
  CHECK(d.stale);
  d = decideSerial(SerialPolicy::Keep, 99, 0xBBBB, &last);  // changed, serial went back
  CHECK(d.serial == 99);
  CHECK(d.stale);
  d = decideSerial(SerialPolicy::Keep, 101, 0xBBBB, &last);  // changed and raised: fine
  CHECK(d.serial == 101);
  CHECK_FALSE(d.stale);
}

TEST_CASE("serial policy auto: max(file serial, last served + 1) when the records change") {
  const ServedSerial last{100, 0xAAAA};
  CHECK(decideSerial(SerialPolicy::Auto, 7, 0xAAAA, nullptr).serial == 7);  // first load
  CHECK(decideSerial(SerialPolicy::Auto, 100, 0xBBBB, &last).serial == 101);
  CHECK(decideSerial(SerialPolicy::Auto, 50, 0xBBBB, &last).serial == 101);
  CHECK(decideSerial(SerialPolicy::Auto, 200, 0xBBBB, &last).serial == 200);  // raised by hand
  CHECK(decideSerial(SerialPolicy::Auto, 50, 0xAAAA, &last).serial == 100);   // unchanged: kept
  CHECK(decideSerial(SerialPolicy::Auto, 200, 0xAAAA, &last).serial == 200);
  const ServedSerial top{0xFFFFFFFFu, 1};
  CHECK(decideSerial(SerialPolicy::Auto, 0xFFFFFFF0u, 2, &top).serial == 0);  // wraps: newer
  CHECK_FALSE(decideSerial(SerialPolicy::Auto, 100, 0xBBBB, &last).stale);
}

TEST_CASE("parseNotifyTarget: ADDR, ADDR:PORT, IPv6 with or without brackets; port 53 default") {
  std::string error;
  auto t = parseNotifyTarget("192.0.2.1", error);
  REQUIRE(t);
  CHECK(t->text == "192.0.2.1:53");
  t = parseNotifyTarget("127.0.0.1:5300", error);
  REQUIRE(t);
  CHECK(t->text == "127.0.0.1:5300");
  t = parseNotifyTarget("2001:db8::1", error);
  REQUIRE(t);
  CHECK(t->text == "[2001:db8::1]:53");
  t = parseNotifyTarget("[::1]:5301", error);
  REQUIRE(t);
  CHECK(t->text == "[::1]:5301");
  for (const char* bad : {"", "ns1.example.", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:70000",
                          "[::1", "[::1]5300", "300.0.0.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseNotifyTarget(bad, error));
    CHECK_FALSE(error.empty());
  }
}

std::shared_ptr<Zone> zoneWith(uint32_t serial, const char* www) {
  ZoneBuilder b(testutil::name("d.test."), "test");
  REQUIRE(b.add(testutil::name("d.test."), 6, 300, testutil::soaRdata("d.test.", serial, 60)).ok());
  REQUIRE(b.add(testutil::name("d.test."), 2, 300, testutil::name("ns1.d.test.")).ok());
  uint8_t ip[4] = {192, 0, 2, static_cast<uint8_t>(www[0])};
  REQUIRE(b.add(testutil::name("www.d.test."), 1, 300, std::string(reinterpret_cast<char*>(ip), 4))
              .ok());
  auto zone = b.finish();
  REQUIRE(zone.ok());
  return *zone;
}

TEST_CASE("the digest sees every record but the SOA serial; copyWithSerial keeps it") {
  const auto a = zoneWith(1, "a");
  CHECK(a->digest() == zoneWith(2, "a")->digest());  // the serial alone differs
  CHECK(a->digest() != zoneWith(1, "b")->digest());  // a record differs
  const auto bumped = a->copyWithSerial(7);
  CHECK(bumped->serial() == 7);
  CHECK(bumped->fileSerial() == 1);
  CHECK(bumped->digest() == a->digest());
  const std::string& soa = bumped->soa().rdata.front();
  CHECK(load32(reinterpret_cast<const uint8_t*>(soa.data()) + soa.size() - 20) == 7);
  CHECK(a->serial() == 1);  // the original is untouched
}

}  // namespace
}  // namespace rrdns::zone
