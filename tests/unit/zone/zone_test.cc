// The zone model (dns/zone/zone.cc) and loading sets of zones (dns/zone/loader.cc).
#include "dns/zone/zone.hh"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/loader.hh"
#include "dns/zone/rdata.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
namespace type = rrdns::wire::type;
using namespace zonetest;

namespace {

std::string soaRdata(uint32_t serial, uint32_t minimum) {
  std::string out, error;
  SoaFields fields{"ns1", "hostmaster", serial};
  fields.minimum = minimum;
  REQUIRE(encodeSOA(fields, wireName("z.test."), out, error));
  return out;
}

const std::string kAddress1 = std::string("\xc0\x00\x02\x01", 4);
const std::string kAddress2 = std::string("\xc0\x00\x02\x02", 4);

// A builder for z.test. that already has its SOA (TTL 600, minimum 300) and NS.
struct ZFixture {
  const std::string apex = wireName("z.test.");
  ZoneBuilder builder{apex, "z.toml"};

  ZFixture() {
    REQUIRE(builder.add(apex, type::SOA, 600, soaRdata(42, 300)).ok());
    REQUIRE(builder.add(apex, type::NS, 600, wireName("ns1.z.test.")).ok());
  }
  void add(std::string_view owner, uint16_t rtype, uint32_t ttl, std::string rdata) {
    const std::string error = messageOf(builder.add(wireName(owner), rtype, ttl, std::move(rdata)));
    REQUIRE_MESSAGE(error.empty(), error);
  }
  std::shared_ptr<Zone> finish() {
    auto zone = builder.finish();
    REQUIRE_MESSAGE(zone, joined(zone.errors()));
    return *zone;
  }
};

}  // namespace

// --- ZoneBuilder ---

TEST_CASE("finish creates every ancestor up to the apex as an empty node") {
  ZFixture z;
  z.add("a.b.c.z.test.", type::A, 60, kAddress1);
  z.add("x.c.z.test.", type::A, 60, kAddress2);
  const auto zone = z.finish();
  for (const char* name : {"b.c.z.test.", "c.z.test."}) {
    const Node* node = zone->find(wireName(name));
    REQUIRE_MESSAGE(node, name);
    CHECK(node->owner == wireName(name));
    CHECK(node->rrsets.empty());
  }
  CHECK(zone->nodeCount() == 5);  // apex, a.b.c, b.c, c, x.c
  CHECK(zone->find(wireName("a.b.c.z.test."))->owner == wireName("a.b.c.z.test."));
  CHECK_FALSE(zone->find(wireName("d.z.test.")));
}

TEST_CASE("NS below the apex is a delegation, NS at the apex is not") {
  ZFixture z;
  z.add("sub.z.test.", type::NS, 60, wireName("ns.sub.z.test."));
  z.add("ns.sub.z.test.", type::A, 60, kAddress1);
  const auto zone = z.finish();
  CHECK_FALSE(zone->apexNode().delegation);
  CHECK(zone->find(wireName("sub.z.test."))->delegation);
  CHECK_FALSE(zone->find(wireName("ns.sub.z.test."))->delegation);
}

TEST_CASE("duplicate records collapse and record order is kept") {
  ZFixture z;
  z.add("www.z.test.", type::A, 60, kAddress2);
  z.add("www.z.test.", type::A, 60, kAddress1);
  z.add("www.z.test.", type::A, 60, kAddress2);
  const auto zone = z.finish();
  CHECK(zone->find(wireName("www.z.test."))->find(type::A)->rdata ==
        std::vector<std::string>{kAddress2, kAddress1});
  CHECK(zone->recordCount() == 4);  // SOA, NS, 2 A
}

TEST_CASE("records of one RRset must share a TTL") {
  ZFixture z;
  z.add("www.z.test.", type::A, 60, kAddress1);
  const std::string error =
      messageOf(z.builder.add(wireName("www.z.test."), type::A, 61, kAddress2));
  CHECK(error == "TTL 61 differs from 60 of the other A records at 'www.z.test.' (RFC 2181 5.2)");
}

TEST_CASE("records the builder refuses") {
  ZFixture z;
  auto add = [&](std::string_view owner, uint16_t rtype, uint32_t ttl) {
    return messageOf(z.builder.add(wireName(owner), rtype, ttl, kAddress1));
  };
  CHECK(add("www.other.test.", type::A, 60) == "'www.other.test.' is outside the zone z.test.");
  CHECK(add("z.test.", type::A, 0x80000000) == "TTL 2147483648 is above 2^31-1 (RFC 2181 8)");
  CHECK(add("www.z.test.", type::SOA, 60) == "SOA must be at the zone apex z.test.");
  CHECK(messageOf(z.builder.add(wireName("z.test."), type::SOA, 600, soaRdata(1, 300))) ==
        "a zone has exactly one SOA record");
  // RDATA the answer code reads must have its type's form (an RFC 3597 "\#" line can give any).
  const std::string malformed =
      "the RDATA of this MX record does not have the form MX requires (RFC 1035 3.3; check a \\# "
      "RFC 3597 form)";
  CHECK(messageOf(z.builder.add(wireName("z.test."), type::MX, 60, std::string(1, '\0'))) ==
        malformed);
  CHECK(messageOf(z.builder.add(wireName("z.test."), type::MX, 60, std::string("\0\1\5", 3))) ==
        malformed);
  CHECK(add("z.test.", type::SOA, 600) != "");  // an address is no SOA
  CHECK(add("www.z.test.", type::ANY, 60) == "type ANY cannot be stored in a zone");
}

TEST_CASE("serial and negative TTL come from the SOA") {
  ZFixture z;
  auto zone = z.finish();
  CHECK(zone->serial() == 42);
  CHECK(zone->negativeTtl() == 300);  // min(SOA TTL 600, minimum 300)

  ZoneBuilder low(wireName("z.test."), "z.toml");
  REQUIRE(low.add(wireName("z.test."), type::SOA, 100, soaRdata(1, 300)).ok());
  REQUIRE(low.add(wireName("z.test."), type::NS, 100, wireName("ns1.z.test.")).ok());
  Result<std::shared_ptr<Zone>> finished = low.finish();
  REQUIRE(finished);
  zone = *finished;
  CHECK(zone->negativeTtl() == 100);
}

TEST_CASE("a CNAME at the apex is refused") {
  ZFixture z;
  z.add("z.test.", type::CNAME, 600, wireName("other.test."));
  const Result<std::shared_ptr<Zone>> finished = z.builder.finish();
  CHECK_FALSE(finished);
  const std::vector<std::string> errors = errorLines(finished);
  CHECK(std::find(errors.begin(), errors.end(), "the zone apex z.test. cannot be a CNAME") !=
        errors.end());
}

TEST_CASE("the builder's errors and warnings carry only a message; the loader places them") {
  ZFixture z;
  const Result<void> refused = z.builder.add(wireName("www.other.test."), type::A, 60, kAddress1);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().file.empty());
  CHECK(refused.error().line == 0);
  CHECK(refused.error().text() == "'www.other.test.' is outside the zone z.test.");

  std::optional<Error> warning;
  REQUIRE(z.builder.add(wireName("www.z.test."), type::A, 60, kAddress1, &warning).ok());
  CHECK_FALSE(warning);
  REQUIRE(z.builder.add(wireName("www.z.test."), type::A, 60, kAddress1, &warning).ok());
  REQUIRE(warning);
  CHECK(warning->text() ==
        "duplicate A record at 'www.z.test.' is served once; delete the repeated line");
}

TEST_CASE("pools the builder refuses") {
  auto pool = [](std::string name, std::vector<std::string> owners, size_t members) {
    Pool p;
    p.name = std::move(name);
    for (const auto& owner : owners) p.owners.push_back(wireName(owner));
    for (size_t i = 0; i < members; ++i) {
      PoolMember m;
      m.address = kAddress1;
      m.text = "192.0.2.1";
      m.rtype = type::A;
      p.members.push_back(std::move(m));
    }
    return p;
  };
  ZFixture z;
  CHECK(messageOf(z.builder.addPool(pool("www", {"www.z.test."}, 0))) ==
        "pool 'www' has no members");
  CHECK(messageOf(z.builder.addPool(pool("www", {"www.z.test."}, kMaxPoolMembers + 1))) ==
        "pool 'www' has 257 members; at most 256 are allowed");
  CHECK(messageOf(z.builder.addPool(pool("www", {}, 1))) == "pool 'www' answers no names");
  CHECK(messageOf(z.builder.addPool(pool("www", {"www.other.test."}, 1))) ==
        "'www.other.test.' is outside the zone z.test.");
  REQUIRE(z.builder.addPool(pool("www", {"www.z.test."}, 1)).ok());
  CHECK(messageOf(z.builder.addPool(pool("www", {"api.z.test."}, 1))) ==
        "pool 'www' is defined twice");
  CHECK(messageOf(z.builder.addPool(pool("api", {"www.z.test."}, 1))) ==
        "'www.z.test.' is already answered by pool 'www'");
}

TEST_CASE("finish refuses a pool at a delegation, and reports every error it finds") {
  ZFixture z;
  z.add("sub.z.test.", type::NS, 60, wireName("ns.elsewhere.test."));
  z.add("alias.z.test.", type::CNAME, 60, wireName("www.z.test."));
  z.add("alias.z.test.", type::TXT, 60, std::string("\1x", 2));
  Pool p;
  p.name = "sub";
  p.owners = {wireName("sub.z.test.")};
  p.members.push_back(PoolMember{kAddress1, "192.0.2.1", type::A});
  REQUIRE(z.builder.addPool(std::move(p)).ok());
  const Result<std::shared_ptr<Zone>> finished = z.builder.finish();
  REQUIRE_FALSE(finished.ok());
  std::vector<std::string> errors = errorLines(finished);
  std::sort(errors.begin(), errors.end());  // in the order of the node map
  CHECK(errors == std::vector<std::string>{
                      "'alias.z.test.' has a CNAME and other data; a CNAME must be alone (RFC "
                      "1034 3.6.2)",
                      "'sub.z.test.' is answered by pool 'sub' but is also a delegation (NS)"});
}

// --- ZoneSet and loadZoneSet ---

TEST_CASE("loadZoneSet finds zones by longest matching apex") {
  const auto load = loadZoneSet(
      {sourcePath("zones/rr.test.toml"), sourcePath("tests/fixtures/zones/sub.rr.test.toml")});
  REQUIRE_MESSAGE(errorLines(load).empty(), joined(errorLines(load)));
  REQUIRE(load.zones);
  const ZoneSet& set = **load.zones;
  CHECK(set.zones().size() == 2);

  const Zone* rr = set.findZone(wireName("www.rr.test."));
  const Zone* sub = set.findZone(wireName("www.sub.rr.test."));
  REQUIRE(rr);
  REQUIRE(sub);
  CHECK(rr->apex() == wireName("rr.test."));
  CHECK(sub->apex() == wireName("sub.rr.test."));
  CHECK(set.findZone(wireName("sub.rr.test.")) == sub);
  CHECK(set.findZone(wireName("a.b.c.d.sub.rr.test.")) == sub);
  CHECK(set.findZone(wireName("xsub.rr.test.")) == rr);
  CHECK(set.findZone(wireName("rr.test.")) == rr);
  CHECK_FALSE(set.findZone(wireName("test.")));
  CHECK_FALSE(set.findZone(wireName("www.other.test.")));
  CHECK_FALSE(set.findZone(wireName(".")));
}

TEST_CASE("rotation slots go to A and AAAA RRsets with more than one record") {
  const auto load = loadZoneSet(
      {sourcePath("zones/rr.test.toml"), sourcePath("tests/fixtures/zones/sub.rr.test.toml")});
  REQUIRE_MESSAGE(load.zones, joined(errorLines(load)));
  // rr.test.: www A, api A, api AAAA, big A; sub.rr.test.: www A.
  CHECK((*load.zones)->rotationSlots() == 5);

  std::set<uint32_t> slots;
  for (const auto& zone : (*load.zones)->zones()) {
    for (const auto& [owner, node] : zone->nodes()) {
      for (const auto& rrset : node.rrsets) {
        const bool rotates =
            (rrset.type == type::A || rrset.type == type::AAAA) && rrset.rdata.size() > 1;
        if (rotates) {
          CHECK(rrset.rotation_slot < 5);
          slots.insert(rrset.rotation_slot);
        } else {
          CHECK_MESSAGE(rrset.rotation_slot == kNoRotation, wire::nameToText(owner), " ",
                        wire::typeName(rrset.type));
        }
      }
    }
  }
  CHECK(slots.size() == 5);  // all distinct
}

TEST_CASE("the same apex in two files is an error naming both") {
  const std::string first = sourcePath("zones/rr.test.toml");
  const std::string second = sourcePath("tests/fixtures/zones/rr.test-again.toml");
  const auto load = loadZoneSet({first, second});
  CHECK_FALSE(load.zones);
  CHECK(
      errorLines(load) ==
      std::vector<std::string>{second + ": zone rr.test. is loaded twice (also in " + first + ")"});
}

TEST_CASE("an error in one file means no zone set, and every file's errors are reported") {
  const std::string bad = sourcePath("tests/fixtures/zones/bad-many.toml");
  const std::string missing = sourcePath("tests/fixtures/zones/missing.toml");
  const auto load = loadZoneSet({sourcePath("zones/rr.test.toml"), bad, missing});
  CHECK_FALSE(load.zones);
  const std::vector<std::string> errors = errorLines(load);
  REQUIRE(errors.size() == 7);
  CHECK(errors[0].starts_with(bad + ":3: tll: "));
  CHECK(errors[6] == missing + ": cannot read: No such file or directory");
}

TEST_CASE("an empty list of files is an empty set") {
  const auto load = loadZoneSet({});
  REQUIRE(load.zones);
  CHECK((*load.zones)->zones().empty());
  CHECK_FALSE((*load.zones)->findZone(wireName("www.rr.test.")));
}
