// The general path's NSEC3 proofs (RFC 5155 7.2) for a zone signed by dnssec::signZone with
// NSEC3 and a stand-in signer: each answer's NSEC3 records are checked against the hashes of the
// names they must match or cover, computed here with dnssec::nsec3Hash.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dns/answer/resolve.hh"
#include "dns/base/bytes.hh"
#include "dns/dnssec/nsec.hh"
#include "dns/dnssec/zone_signer.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/dnssec/signer_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;
using testutil::a;

namespace {

struct Nsec3Fixture {
  std::shared_ptr<const answer::Catalog> catalog;
  const zone::SignedZone* sz = nullptr;

  Nsec3Fixture() {
    zone::ZoneBuilder b(testutil::name("example.test."), "test");
    auto add = [&](const char* owner, uint16_t t, std::string rdata) {
      REQUIRE(b.add(testutil::name(owner), t, 300, std::move(rdata)).ok());
    };
    add("example.test.", type::SOA, testutil::soaRdata("example.test.", 1, 120));
    add("example.test.", type::NS, testutil::name("ns1.example.test."));
    add("ns1.example.test.", type::A, a("192.0.2.53"));
    add("www.example.test.", type::A, a("10.0.0.1"));
    add("a.b.c.example.test.", type::A, a("192.0.2.1"));  // b.c, c: empty non-terminals
    add("*.wild.example.test.", type::A, a("192.0.2.80"));
    add("sub.example.test.", type::NS, testutil::name("ns1.sub.example.test."));
    add("ns1.sub.example.test.", type::A, a("192.0.2.99"));
    zone::ZoneSettings settings;
    zone::DnssecPolicy policy;
    policy.nsec3 = true;
    policy.nsec3_iterations = 1;
    settings.dnssec = policy;
    b.setSettings(settings);
    auto built = b.finish();
    REQUIRE(built.ok());
    dnssec::ZoneSigning signing;
    signing.signer = std::make_shared<signertest::FakeSigner>(testutil::name("example.test."));
    signing.dnskeys = {std::string("\1\1\3\x0d", 4) + std::string(64, '\x11')};
    signing.dnskey_ttl = 300;
    signing.nsec3_salt = "\xab\xcd";
    const auto result = dnssec::signZone(**built, signing, 2);
    REQUIRE(result.zone);
    sz = result.zone->signedZone();
    REQUIRE(sz);
    REQUIRE(sz->nsec3);
    REQUIRE(sz->nsec3_chain.size() >= 8);
    auto set = std::make_shared<zone::ZoneSet>();
    REQUIRE(set->add(result.zone).ok());
    set->assignRotationSlots();
    catalog = answer::Catalog::make(set);
  }

  Message ask(const std::string& qname, uint16_t qtype, bool dnssec_ok = true) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    spec.edns = true;
    spec.dnssec_ok = dnssec_ok;
    spec.payload = 4096;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    answer::Options options;
    options.udp_max_payload = 4096;
    const auto o = answer::answerGeneral(*catalog, nullptr, {q, answer::Transport::Udp}, out,
                                         options);
    REQUIRE(o.size > 0);
    return testutil::decode(out.data(), o.size);
  }

  std::string hashOf(const std::string& name) const {
    uint8_t h[dnssec::kNsec3HashSize];
    dnssec::nsec3Hash(testutil::name(name), sz->nsec3_salt, sz->nsec3_iterations, h);
    return std::string(reinterpret_cast<char*>(h), sizeof h);
  }

  // The chain index of the NSEC3 record at `owner` (text), or -1.
  int indexOf(const std::string& owner) const {
    const std::string wire = testutil::name(owner);
    for (size_t i = 0; i < sz->nsec3_chain.size(); ++i)
      if (sz->nsec3_chain[i].owner == wire) return static_cast<int>(i);
    return -1;
  }

  // What each NSEC3 record of a section does for `name`: "match", "cover" or "-".
  bool matches(const testutil::Record& r, const std::string& name) const {
    const int i = indexOf(r.owner);
    REQUIRE(i >= 0);
    return sz->nsec3_chain[i].hash == hashOf(name);
  }
  bool covers(const testutil::Record& r, const std::string& name) const {
    const int i = indexOf(r.owner);
    REQUIRE(i >= 0);
    const std::string& from = sz->nsec3_chain[i].hash;
    const std::string& to = sz->nsec3_chain[(i + 1) % sz->nsec3_chain.size()].hash;
    const std::string h = hashOf(name);
    return from < to ? (from < h && h < to) : (h > from || h < to);  // the last wraps
  }
};

std::vector<testutil::Record> nsec3s(const Message& m) {
  std::vector<testutil::Record> out;
  for (const auto& r : m.authority)
    if (r.type == type::NSEC3) out.push_back(r);
  return out;
}

// Every NSEC3 of the authority section comes with its RRSIG (covering NSEC3), at its owner.
void checkSigned(const Message& m) {
  for (const auto& r : m.authority) {
    if (r.type != type::NSEC3) continue;
    const bool signed_ = std::any_of(m.authority.begin(), m.authority.end(), [&](const auto& s) {
      return s.type == type::RRSIG && s.owner == r.owner && load16(s.rdata.data()) == type::NSEC3;
    });
    CHECK_MESSAGE(signed_, r.owner);
  }
}

}  // namespace

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 NXDOMAIN: closest encloser match, next closer cover, wildcard cover") {
  const Message m = ask("x.nothere.example.test.", type::A);
  CHECK(m.rcode() == rcode::NXDOMAIN);
  CHECK(m.authority.front().type == type::SOA);
  const auto n = nsec3s(m);
  checkSigned(m);
  REQUIRE(!n.empty());
  REQUIRE(n.size() <= 3);
  auto any = [&](auto pred) { return std::any_of(n.begin(), n.end(), pred); };
  CHECK(any([&](const auto& r) { return matches(r, "example.test."); }));
  CHECK(any([&](const auto& r) { return covers(r, "nothere.example.test."); }));
  CHECK(any([&](const auto& r) { return covers(r, "*.example.test."); }));
  // Nothing about the query name itself (RFC 5155 7.2.2: the next closer suffices).
  for (const auto& r : n) CHECK(r.ttl == 120);
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 NODATA: the NSEC3 matching the name; an empty non-terminal has one") {
  const Message m = ask("www.example.test.", type::TXT);
  CHECK(m.rcode() == rcode::NOERROR);
  auto n = nsec3s(m);
  REQUIRE(n.size() == 1);
  CHECK(matches(n[0], "www.example.test."));
  checkSigned(m);
  const Message ent = ask("b.c.example.test.", type::A);
  CHECK(ent.rcode() == rcode::NOERROR);
  n = nsec3s(ent);
  REQUIRE(n.size() == 1);
  CHECK(matches(n[0], "b.c.example.test."));
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 wildcard answer: the cover of the next closer name") {
  const Message m = ask("x.y.wild.example.test.", type::A);
  CHECK(m.rcode() == rcode::NOERROR);
  REQUIRE(m.answer.size() == 2);  // A, RRSIG(A)
  const auto n = nsec3s(m);
  REQUIRE(n.size() == 1);
  CHECK(covers(n[0], "y.wild.example.test."));
  checkSigned(m);
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 wildcard NODATA: encloser, next closer, the wildcard's match") {
  const Message m = ask("x.wild.example.test.", type::MX);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.answer.empty());
  const auto n = nsec3s(m);
  REQUIRE(n.size() == 3);
  auto any = [&](auto pred) { return std::any_of(n.begin(), n.end(), pred); };
  CHECK(any([&](const auto& r) { return matches(r, "wild.example.test."); }));
  CHECK(any([&](const auto& r) { return covers(r, "x.wild.example.test."); }));
  CHECK(any([&](const auto& r) { return matches(r, "*.wild.example.test."); }));
  checkSigned(m);
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 referral without DS: the NSEC3 matching the cut; DS NODATA likewise") {
  const Message m = ask("foo.sub.example.test.", type::A);
  CHECK_FALSE(m.aa());
  auto n = nsec3s(m);
  REQUIRE(n.size() == 1);
  CHECK(matches(n[0], "sub.example.test."));
  checkSigned(m);
  const Message ds = ask("sub.example.test.", type::DS);
  CHECK(ds.aa());
  n = nsec3s(ds);
  REQUIRE(n.size() == 1);
  CHECK(matches(n[0], "sub.example.test."));
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3 zone, DO=0: no NSEC3 and no RRSIG") {
  for (const char* name : {"x.nothere.example.test.", "www.example.test.", "x.wild.example.test."}) {
    const Message m = ask(name, type::MX, false);
    for (const auto* section : {&m.answer, &m.authority})
      for (const auto& r : *section) CHECK((r.type != type::NSEC3 && r.type != type::RRSIG));
  }
}

TEST_CASE_FIXTURE(Nsec3Fixture, "NSEC3PARAM and DNSKEY at the apex: with their RRSIGs; an NSEC3 owner is no name") {
  for (uint16_t t : {type::NSEC3PARAM, type::DNSKEY}) {
    const Message m = ask("example.test.", t);
    REQUIRE(m.answer.size() == 2);
    CHECK(m.answer[0].type == t);
    CHECK(m.answer[1].type == type::RRSIG);
    CHECK(load16(m.answer[1].rdata.data()) == t);
  }
  // RFC 5155 7.2.8: a query for an NSEC3 record's owner is answered as for any missing name.
  const Message m =
      ask(wire::nameToText(sz->nsec3_chain.front().owner), type::NSEC3);
  CHECK(m.rcode() == rcode::NXDOMAIN);
  CHECK(m.answer.empty());
}
