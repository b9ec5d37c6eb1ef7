// precompiled_test.cc -- the precompiled fast path gives the general path's bytes, query for query.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/wire/constants.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/message_util.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
namespace type = wire::type;

namespace {

// The zones of the demo setup: rotation, CNAME chains, referrals, negative answers and pools.
std::shared_ptr<const zone::ZoneSet> demoZones() {
  auto zones = std::make_shared<zone::ZoneSet>();
  for (const char* file : {"/zones/rr.test.toml", "/zones/demo.toml", "/zones/example.toml"}) {
    zone::ZoneLoad load = zone::loadTomlZone(std::string(RRDNS_SOURCE_DIR) + file);
    REQUIRE_MESSAGE(load.zone.ok(), zonetest::joined(load.zone.errors()));
    REQUIRE(zones->add(*load.zone).ok());
  }
  zones->assignRotationSlots();
  return zones;
}

// ECS options (RFC 7871 6) of each shape the paths treat apart.
const std::string kSubnetV4 =
    testutil::ednsOption(8, std::string("\0\1\x18\0\x0a\x01\x02", 7));
const std::string kSubnetV6Odd = testutil::ednsOption(
    8, std::string("\0\2\x3d\x08\x20\x01\x0d\xb8\x00\x00\x00\xff", 12));
const std::string kSubnetZero = testutil::ednsOption(8, std::string("\0\1\0\0", 4));
const std::string kSubnetLong =
    testutil::ednsOption(8, std::string("\0\1\x08\0\x0a\x01\x02\x03", 8));

std::vector<uint8_t> ask(const answer::Catalog& catalog, const std::vector<uint8_t>& query,
                         answer::Transport transport, answer::Outcome& outcome) {
  std::vector<uint8_t> out(wire::kMaxMessageSize);
  outcome = answer::answer(catalog, nullptr, {query, transport}, out, answer::Options{1232});
  out.resize(outcome.size);
  return out;
}

}  // namespace

TEST_CASE("precompiled: every name and type answers as the general path does") {
  auto fast = answer::Catalog::make(demoZones());
  REQUIRE(fast->precompiled);
  CHECK(fast->precompiled->size() > 10);
  // The same zones without the table, with cursors of their own at the same start.
  auto general = std::make_shared<answer::Catalog>(*fast);
  general->precompiled = answer::FastPath{};
  general->rotation = std::make_shared<answer::RotationState>(fast->zones->rotationSlots());
  // initial_pools names the catalog it belongs to; the copy needs its own.
  auto pools = std::make_shared<answer::PoolStates>(*fast->initial_pools);
  pools->catalog = general.get();
  general->initial_pools = pools;

  std::vector<std::string> names;
  for (const auto& z : fast->zones->zones())
    for (const auto& [owner, node] : z->nodes()) names.push_back(wire::nameToText(owner));
  names.push_back("WwW.Rr.TeSt.");
  // Names that do not exist, for the negative answers: in a zone that has a NegativeAnswer and
  // in one that has none (wildcards, a zone cut), below names that exist, below the SOA's MNAME
  // and RNAME (which the general path compresses against such a question), in no zone at all,
  // and with up to 100 labels (beyond 64 the general path's compression table is full).
  for (const char* name :
       {"nosuch.rr.test.", "NoSuch.Rr.Test.", "a.b.c.nosuch.rr.test.", "x.www.rr.test.",
        "x.ns1.rr.test.", "ns3.rr.test.", "hostmaster.rr.test.", "x.HostMaster.rr.test.",
        "test.rr.test.", "rr.test.rr.test.", "nosuch.demo.test.", "x.www.demo.test.",
        "x.ns1.demo.test.", "nosuch.example.test.", "x.wild.example.test.", "x.sub.example.test.",
        "nosuch.invalid.", "test.", "."})
    names.push_back(name);
  std::string deep = "rr.test.";
  for (int labels = 3; labels <= 100; ++labels) {
    deep = "d." + deep;
    if (labels % 7 == 0 || (labels >= 55 && labels <= 70)) names.push_back(deep);
  }
  names.push_back(std::string(63, 'x') + "." + std::string(63, 'y') + ".rr.test.");
  size_t hits = 0;
  for (const std::string& name : names) {
    for (uint16_t qtype : {type::A, type::AAAA, type::MX, type::NS, type::SOA, type::TXT,
                           type::CNAME, type::SRV, type::ANY, uint16_t{0}, type::OPT, type::DS,
                           type::AXFR, uint16_t{257} /* CAA */, uint16_t{65280}}) {
      for (int shape = 0; shape < 10; ++shape) {
        testutil::QuerySpec spec;
        spec.qname = name;
        spec.qtype = qtype;
        spec.keep_case = true;
        spec.id = static_cast<uint16_t>(hits * 7 + shape);
        spec.flags = shape % 2 ? 0x0110 /* RD CD */ : 0;
        spec.edns = shape >= 2;
        spec.dnssec_ok = shape == 3;
        spec.payload = shape == 4 || shape == 8 ? 512 : 1232;
        spec.edns_version = shape == 5 ? 1 : 0;
        // EDNS Client Subnet: sent back by both paths alike (the fast path writes it itself for
        // the well-formed ones with as many address bytes as the prefix needs).
        if (shape == 6) spec.edns_options = kSubnetV4;           // 10.1.2.0/24
        if (shape == 7) spec.edns_options = kSubnetV6Odd;        // bits past /61, scope 8
        if (shape == 8) spec.edns_options = kSubnetZero;         // /0, UDP payload 512
        if (shape == 9) spec.edns_options = kSubnetLong;         // /8 with 4 address bytes
        const auto query = testutil::query(spec);
        for (auto transport : {answer::Transport::Udp, answer::Transport::Tcp}) {
          // Twice, so that rotation moves on alike in both.
          for (int round = 0; round < 2; ++round) {
            answer::Outcome a, b;
            const auto from_fast = ask(*fast, query, transport, a);
            const auto from_general = ask(*general, query, transport, b);
            INFO(name << " type " << qtype << " shape " << shape << " round " << round);
            CHECK(from_fast == from_general);
            CHECK(a.rcode == b.rcode);
            CHECK(a.truncated == b.truncated);
            CHECK(a.qtype == b.qtype);
            CHECK(a.first_member == b.first_member);
            CHECK(a.scope == b.scope);
            CHECK(a.spilled == b.spilled);
            ++hits;
          }
        }
      }
    }
  }
  CHECK(hits > 1000);
}

TEST_CASE("precompiled: negative answers of an RFC 1035 zone with odd corners") {
  // An MNAME outside the zone, an RNAME two labels below the apex, an empty non-terminal, a name
  // with more types than precompile() takes, and a CNAME.
  std::string text =
      "$ORIGIN odd.test.\n$TTL 60\n"
      "@ SOA ns.elsewhere.example. host.master.odd.test. 1 3600 900 604800 30\n"
      "@ NS ns.elsewhere.example.\n"
      "a.b.c A 192.0.2.1\n"
      "alias CNAME a.b.c\n";
  for (int t = 0; t < 20; ++t) text += "many TYPE" + std::to_string(65280 + t) + " \\# 0\n";
  zonetest::TempFile file(text, ".zone");
  zone::ZoneLoad load = zone::loadMasterFile(file.path());
  REQUIRE_MESSAGE(load.zone.ok(), zonetest::joined(load.zone.errors()));
  auto zones = std::make_shared<zone::ZoneSet>();
  REQUIRE(zones->add(*load.zone).ok());
  zones->assignRotationSlots();
  auto fast = answer::Catalog::make(zones);
  REQUIRE(fast->precompiled->negatives().size() == 1);
  const auto& negative = fast->precompiled->negatives().front();
  CHECK(negative.usable);
  CHECK(negative.avoid[0].empty());  // ns.elsewhere.example. is not in the zone
  CHECK(negative.avoid[1] == std::string("\x06master"));
  auto general = std::make_shared<answer::Catalog>(*fast);
  general->precompiled = answer::FastPath{};

  size_t compared = 0;
  for (const char* name :
       {"odd.test.", "c.odd.test.", "b.c.odd.test.", "a.b.c.odd.test.", "x.b.c.odd.test.",
        "alias.odd.test.", "many.odd.test.", "nosuch.odd.test.", "master.odd.test.",
        "host.master.odd.test.", "x.Master.odd.test.", "ns.odd.test.", "elsewhere.odd.test."}) {
    for (int t = 0; t < 24; ++t) {
      for (uint16_t qtype : {uint16_t(65280 + t), type::A, type::MX}) {
        testutil::QuerySpec spec;
        spec.qname = name;
        spec.qtype = qtype;
        spec.edns = t % 2 == 0;
        const auto query = testutil::query(spec);
        answer::Outcome a, b;
        const auto from_fast = ask(*fast, query, answer::Transport::Udp, a);
        const auto from_general = ask(*general, query, answer::Transport::Udp, b);
        INFO(name << " type " << qtype);
        CHECK(from_fast == from_general);
        CHECK(a.rcode == b.rcode);
        ++compared;
      }
    }
  }
  CHECK(compared > 900);
}

TEST_CASE("precompiled: negative answers are replayed where the zone allows it") {
  auto catalog = answer::Catalog::make(demoZones());
  REQUIRE(catalog->precompiled);
  const auto& negatives = catalog->precompiled->negatives();
  REQUIRE(negatives.size() == 3);
  CHECK(catalog->precompiled->replayedNegativeZones() == 2);  // what the ready log line counts
  for (const auto& negative : negatives) {
    const std::string apex = wire::nameToText(negative.apex);
    INFO(apex);
    // example.test has a wildcard and a zone cut: its negative answers depend on the name.
    CHECK(negative.usable == (apex != "example.test."));
    if (!negative.usable) continue;
    CHECK(negative.counts[1] == 1);        // the SOA
    CHECK(negative.pointers.size() >= 1);  // at least the SOA's owner, the apex in the question
    CHECK(negative.avoid[0] == std::string("\x03ns1"));
    CHECK(negative.avoid[1] == std::string("\x0ahostmaster"));
  }
}

TEST_CASE("precompiled: malformed and unusual queries fall through to the general path") {
  auto fast = answer::Catalog::make(demoZones());
  auto general = std::make_shared<answer::Catalog>(*fast);
  general->precompiled = answer::FastPath{};
  testutil::QuerySpec spec;
  spec.qname = "mail.rr.test.";
  const auto good = testutil::query(spec);
  std::vector<std::vector<uint8_t>> queries;
  for (size_t cut = 0; cut < good.size(); ++cut)  // every truncation
    queries.emplace_back(good.begin(), good.begin() + static_cast<long>(cut));
  auto trailing = good;
  trailing.push_back(0);  // a byte after the question
  queries.push_back(trailing);
  auto response = good;
  response[2] |= 0x80;  // QR
  queries.push_back(response);
  auto notify = good;
  notify[2] |= 0x20;  // opcode 4
  queries.push_back(notify);
  auto chaos = good;
  chaos[chaos.size() - 1] = 3;  // class CH
  queries.push_back(chaos);
  auto counted = good;
  counted[7] = 1;  // ANCOUNT 1 with no record
  queries.push_back(counted);
  for (const auto& query : queries) {
    answer::Outcome a, b;
    const auto from_fast = ask(*fast, query, answer::Transport::Udp, a);
    const auto from_general = ask(*general, query, answer::Transport::Udp, b);
    CHECK(from_fast == from_general);
  }
}

TEST_CASE("precompiled: a background build answers from the general path until it is ready") {
  auto zones = demoZones();
  auto now = answer::Catalog::make(zones);
  auto later = answer::Catalog::make(zones, answer::Precompile::Background);
  testutil::QuerySpec spec;
  spec.qname = "mail.rr.test.";
  const auto query = testutil::query(spec);
  answer::Outcome a, b;
  // Whether or not the table is there yet, the bytes are the same (both cursors start alike).
  CHECK(ask(*later, query, answer::Transport::Udp, a) ==
        ask(*now, query, answer::Transport::Udp, b));
  for (int i = 0; i < 500 && !later->precompiled; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(later->precompiled);
  CHECK(later->precompiled->size() == now->precompiled->size());
  CHECK(ask(*later, query, answer::Transport::Udp, a) ==
        ask(*now, query, answer::Transport::Udp, b));
}

TEST_CASE("precompiled: a catalog dropped while its table is built stops the build") {
  // A zone big enough that the build is still running when the catalog goes.
  zone::ZoneBuilder builder(std::string("\3big\4test\0", 10), "test");
  REQUIRE(builder.add(builder.apex(), type::SOA, 300,
                      std::string("\3ns1\0\1h\0", 8) + std::string(20, '\1')).ok());
  REQUIRE(builder.add(builder.apex(), type::NS, 300, std::string("\3ns1\0", 5)).ok());
  for (int i = 0; i < 50000; ++i) {
    const std::string label = "h" + std::to_string(i);
    REQUIRE(builder.add(std::string(1, static_cast<char>(label.size())) + label + builder.apex(),
                        type::A, 300, std::string("\12\0\0\1", 4)).ok());
  }
  auto zone = builder.finish();
  REQUIRE(zone);
  auto zones = std::make_shared<zone::ZoneSet>();
  REQUIRE(zones->add(*zone).ok());
  zones->assignRotationSlots();
  for (int i = 0; i < 3; ++i) {
    auto catalog = answer::Catalog::make(zones, answer::Precompile::Background);
    CHECK(catalog->zones->zones().front()->recordCount() == 50002);
  }  // each destructor stops its build and joins it; a crash or a hang here is the failure
}

// The zone of a missed name used to be found by comparing each of its suffixes with each apex,
// so catalogs of more than 16 zones answered every NXDOMAIN and NODATA the general way.
TEST_CASE("precompiled: ready-made negative answers hold for 1,000 zones") {
  auto zones = std::make_shared<zone::ZoneSet>();
  auto addZone = [&](const std::string& apex) {
    zone::ZoneBuilder b(testutil::name(apex), "test");
    REQUIRE(b.add(testutil::name(apex), type::SOA, 300, testutil::soaRdata(apex, 1, 60)).ok());
    REQUIRE(b.add(testutil::name(apex), type::NS, 300, testutil::name("ns.elsewhere.example.")).ok());
    REQUIRE(b.add(testutil::name("www." + apex), type::A, 300, testutil::a("192.0.2.1")).ok());
    auto zone = b.finish();
    REQUIRE(zone);
    REQUIRE(zones->add(*zone).ok());
  };
  for (int i = 0; i < 999; ++i) addZone("z" + std::to_string(i) + ".test.");
  addZone("child.z7.test.");  // below another zone's apex: the longer apex wins
  zones->assignRotationSlots();
  auto fast = answer::Catalog::make(zones);
  REQUIRE(fast->precompiled);
  CHECK(fast->precompiled->replayedNegativeZones() == 1000);

  // The lookup itself: a suffix finds its zone, whatever the number of zones.
  auto zoneOf = [&](const std::string& text) -> std::string {
    const std::string wire = testutil::name(text);
    uint8_t padded[wire::kMaxNameLength + 8] = {};
    std::memcpy(padded, wire.data(), wire.size());
    const answer::NegativeAnswer* zone = fast->precompiled->negativeZone(padded, wire.size());
    return zone ? wire::nameToText(zone->apex) : "";
  };
  CHECK(zoneOf("z0.test.") == "z0.test.");
  CHECK(zoneOf("z998.test.") == "z998.test.");
  CHECK(zoneOf("child.z7.test.") == "child.z7.test.");
  CHECK(zoneOf("z999.test.").empty());
  CHECK(zoneOf("test.").empty());

  // And the answers: the same bytes as the general path's.
  auto general = std::make_shared<answer::Catalog>(*fast);
  general->precompiled = answer::FastPath{};
  size_t compared = 0;
  for (const char* name : {"nosuch.z0.test.", "www.z0.test.", "x.y.z500.test.", "www.z998.test.",
                           "nosuch.child.z7.test.", "www.child.z7.test.", "x.z7.test.",
                           "nosuch.z999.test.", "WwW.Z42.TeSt."}) {
    for (uint16_t qtype : {type::A, type::MX, type::TXT}) {
      testutil::QuerySpec spec;
      spec.qname = name;
      spec.qtype = qtype;
      spec.edns = qtype != type::TXT;
      const auto query = testutil::query(spec);
      answer::Outcome a, b;
      INFO(name << " type " << qtype);
      CHECK(ask(*fast, query, answer::Transport::Udp, a) ==
            ask(*general, query, answer::Transport::Udp, b));
      CHECK(a.rcode == b.rcode);
      ++compared;
    }
  }
  CHECK(compared == 27);
}
