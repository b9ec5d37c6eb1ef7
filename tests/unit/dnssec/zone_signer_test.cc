// zone_signer_test.cc -- signZone with a stand-in signer: what it adds (DNSKEY, NSEC3PARAM, the
// NSEC or NSEC3 chain, RRSIG RRsets), what it leaves unsigned (delegation NS, glue), pools signed
// over all their members, the serial, the digests; Zone::copySigned and ZoneSet::withSigned; the
// AXFR of a signed zone.
#include "dns/dnssec/zone_signer.hh"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "dns/answer/catalog.hh"
#include "dns/answer/transfer.hh"
#include "dns/dnssec/nsec.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/query.hh"
#include "tests/unit/dnssec/signer_util.hh"
#include "tests/unit/message_util.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using signertest::covered;
using signertest::FakeSigner;
using zonetest::bytes;
using zonetest::wireName;
namespace type = wire::type;

namespace {

const std::string kDnskey = bytes({1, 1, 3, 13}) + std::string(64, '\x11');

// signed.test (tests/fixtures/zones/signed.test.toml), to be signed by `policy`.
std::shared_ptr<zone::Zone> fixture(const zone::DnssecPolicy& policy) {
  auto load = zone::loadTomlZone(zonetest::sourcePath("tests/fixtures/zones/signed.test.toml"));
  zonetest::loaded(load);
  std::shared_ptr<zone::Zone> zone = *load.zone;
  zone::ZoneSettings settings = zone->settings();
  settings.dnssec = policy;
  zone->setSettings(settings);
  return zone;
}

struct Signed {
  std::shared_ptr<FakeSigner> signer;
  dnssec::SignedResult result;
  const zone::Zone& zone() const { return *result.zone; }
};

Signed sign(const zone::Zone& zone, uint32_t serial, std::string salt = "") {
  Signed out;
  out.signer = std::make_shared<FakeSigner>(zone.apex());
  dnssec::ZoneSigning signing;
  signing.signer = out.signer;
  signing.dnskeys = {kDnskey};
  signing.dnskey_ttl = 7200;
  signing.nsec3_salt = std::move(salt);
  out.result = dnssec::signZone(zone, signing, serial);
  REQUIRE(out.result.zone);
  return out;
}

const zone::Node& node(const zone::Zone& z, const char* name) {
  const zone::Node* n = z.find(wireName(name));
  REQUIRE_MESSAGE(n, name);
  return *n;
}

// The types the RRSIG RRset at `name` covers, or {} when it has none.
std::multiset<uint16_t> coveredAt(const zone::Zone& z, const char* name) {
  std::multiset<uint16_t> out;
  if (const zone::RRset* rrsig = node(z, name).find(type::RRSIG))
    for (const auto& r : rrsig->rdata) out.insert(covered(r));
  return out;
}

// (next name, bitmap) of the NSEC at `name`.
std::pair<std::string, std::string> nsecAt(const zone::Zone& z, const char* name) {
  const zone::RRset* nsec = node(z, name).find(type::NSEC);
  REQUIRE_MESSAGE(nsec, name);
  REQUIRE(nsec->rdata.size() == 1);
  const std::string& rdata = nsec->rdata.front();
  size_t end = 0;
  while (rdata[end] != 0) end += 1 + static_cast<uint8_t>(rdata[end]);
  return {wire::nameToText(rdata.substr(0, end + 1)), rdata.substr(end + 1)};
}

uint32_t soaSerial(const zone::Zone& z) {
  const std::string& soa = z.soa().rdata.front();
  return load32(reinterpret_cast<const uint8_t*>(soa.data()) + soa.size() - 20);
}

}  // namespace

TEST_CASE("signZone (NSEC): DNSKEY, an NSEC chain in canonical order, RRSIGs where authoritative") {
  const auto unsigned_zone = fixture({});
  const Signed s = sign(*unsigned_zone, 7);
  const zone::Zone& z = s.zone();

  CHECK(z.serial() == 7);
  CHECK(soaSerial(z) == 7);
  CHECK(unsigned_zone->serial() == 1);  // the input is left as it was
  const zone::SignedZone* sz = z.signedZone();
  REQUIRE(sz);
  CHECK(sz->signer == s.signer);
  CHECK_FALSE(sz->nsec3);
  CHECK(sz->nsec_ttl == 300);  // min(SOA TTL 3600, MINIMUM 300)
  CHECK(sz->nsec3_chain.empty());

  // Names with data or a delegation, not the empty non-terminals (ent, deep.ent, wild) nor glue.
  std::vector<std::string> canonical;
  for (const auto& name : sz->canonical) canonical.push_back(wire::nameToText(name));
  CHECK(canonical == std::vector<std::string>{"signed.test.", "host.deep.ent.signed.test.",
                                              "mail.signed.test.", "ns1.signed.test.",
                                              "secure.signed.test.", "sub.signed.test.",
                                              "*.wild.signed.test.", "www.signed.test."});

  const zone::RRset* dnskey = z.apexNode().find(type::DNSKEY);
  REQUIRE(dnskey);
  CHECK(dnskey->ttl == 7200);
  CHECK(dnskey->rdata == std::vector<std::string>{kDnskey});
  CHECK_FALSE(z.apexNode().find(type::NSEC3PARAM));

  // Bitmaps: the types at the name, pool families included, plus RRSIG and NSEC.
  using Types = std::vector<uint16_t>;
  CHECK(nsecAt(z, "signed.test.") ==
        std::pair{std::string("host.deep.ent.signed.test."),
                  dnssec::typeBitmap(
                      Types{type::SOA, type::NS, type::A, type::DNSKEY, type::RRSIG, type::NSEC})});
  CHECK(nsecAt(z, "sub.signed.test.") ==
        std::pair{std::string("*.wild.signed.test."),
                  dnssec::typeBitmap(Types{type::NS, type::RRSIG, type::NSEC})});
  CHECK(nsecAt(z, "secure.signed.test.").second ==
        dnssec::typeBitmap(Types{type::NS, type::DS, type::RRSIG, type::NSEC}));
  CHECK(nsecAt(z, "www.signed.test.") ==
        std::pair{std::string("signed.test."),  // the last wraps to the apex
                  dnssec::typeBitmap(Types{type::A, type::AAAA, type::RRSIG, type::NSEC})});
  CHECK(node(z, "www.signed.test.").find(type::NSEC)->ttl == 300);
  for (const char* none : {"ns.sub.signed.test.", "ns.secure.signed.test.", "ent.signed.test.",
                           "deep.ent.signed.test.", "wild.signed.test."}) {
    CAPTURE(none);
    CHECK_FALSE(node(z, none).find(type::NSEC));
    CHECK(coveredAt(z, none).empty());
  }

  // Signatures over every authoritative RRset; at a cut only DS and NSEC (RFC 4035 2.2).
  CHECK(coveredAt(z, "signed.test.") ==
        std::multiset<uint16_t>{type::SOA, type::NS, type::A, type::DNSKEY, type::NSEC});
  CHECK(coveredAt(z, "sub.signed.test.") == std::multiset<uint16_t>{type::NSEC});
  CHECK(coveredAt(z, "secure.signed.test.") == std::multiset<uint16_t>{type::DS, type::NSEC});
  CHECK(coveredAt(z, "*.wild.signed.test.") == std::multiset<uint16_t>{type::TXT, type::NSEC});
  CHECK(coveredAt(z, "mail.signed.test.") ==
        std::multiset<uint16_t>{type::MX, type::A, type::NSEC});

  // A pool: every member of each family, original TTL max(ttl 30, degraded-ttl 10).
  const auto* pool_a = s.signer->find(wireName("www.signed.test."), type::A);
  REQUIRE(pool_a);
  CHECK(pool_a->ttl == 30);
  CHECK(pool_a->rdata ==
        std::vector<std::string>{testutil::a("192.0.2.10"), testutil::a("192.0.2.11")});
  const auto* pool_aaaa = s.signer->find(wireName("www.signed.test."), type::AAAA);
  REQUIRE(pool_aaaa);
  CHECK(pool_aaaa->rdata == std::vector<std::string>{testutil::aaaa("2001:db8::10")});
  CHECK(coveredAt(z, "www.signed.test.") ==
        std::multiset<uint16_t>{type::A, type::AAAA, type::NSEC});
  // The RRSIG RRset's own TTL is the lowest it covers (the pool's 30).
  CHECK(node(z, "www.signed.test.").find(type::RRSIG)->ttl == 30);
  // The SOA is signed with the new serial.
  const auto* soa = s.signer->find(z.apex(), type::SOA);
  REQUIRE(soa);
  CHECK(soa->rdata == z.soa().rdata);
  CHECK_FALSE(s.signer->find(wireName("sub.signed.test."), type::NS));
  CHECK_FALSE(s.signer->find(wireName("ns.sub.signed.test."), type::A));

  // The copy keeps the pools (its own), and its digest covers what was added.
  REQUIRE(z.pools().size() == 2);
  CHECK(node(z, "www.signed.test.").pool == z.pools()[0].get());
  CHECK(z.pools()[0].get() != unsigned_zone->pools()[0].get());
  CHECK(z.digest() != unsigned_zone->digest());
  CHECK(z.settings().dnssec.has_value());
}

TEST_CASE("signatures_digest leaves the SOA out: a new serial alone does not change it") {
  const auto zone = fixture({});
  const Signed first = sign(*zone, 7);
  const Signed second = sign(*zone, 8);
  CHECK(first.result.signatures_digest != 0);
  CHECK(first.result.signatures_digest == second.result.signatures_digest);
  CHECK(first.zone().digest() != second.zone().digest());  // the SOA's RRSIG differs

  // Another DNSKEY is another DNSKEY RRset and signature.
  auto signer = std::make_shared<FakeSigner>(zone->apex());
  dnssec::ZoneSigning other{signer, {kDnskey, kDnskey + "x"}, 7200, ""};
  CHECK(dnssec::signZone(*zone, other, 7).signatures_digest != first.result.signatures_digest);
}

TEST_CASE("signZone (NSEC3): NSEC3PARAM, one NSEC3 per name incl. empty non-terminals, hashed") {
  zone::DnssecPolicy policy;
  policy.nsec3 = true;
  policy.nsec3_iterations = 1;
  const auto zone = fixture(policy);
  const std::string salt = bytes({0xaa, 0xbb});
  const Signed s = sign(*zone, 3, salt);
  const zone::Zone& z = s.zone();
  const zone::SignedZone* sz = z.signedZone();
  REQUIRE(sz);
  CHECK(sz->nsec3);
  CHECK(sz->nsec3_iterations == 1);
  CHECK(sz->nsec3_salt == salt);
  CHECK(sz->canonical.empty());

  const zone::RRset* param = z.apexNode().find(type::NSEC3PARAM);
  REQUIRE(param);
  CHECK(param->rdata == std::vector<std::string>{bytes({1, 0, 0, 1, 2, 0xaa, 0xbb})});
  CHECK(coveredAt(z, "signed.test.").count(type::NSEC3PARAM) == 1);

  // Every authoritative name, empty non-terminals too; not the glue below the cuts.
  const char* kNames[] = {"signed.test.",          "ns1.signed.test.",          "mail.signed.test.",
                          "sub.signed.test.",      "secure.signed.test.",       "wild.signed.test.",
                          "*.wild.signed.test.",   "www.signed.test.",          "ent.signed.test.",
                          "deep.ent.signed.test.", "host.deep.ent.signed.test."};
  std::map<std::string, std::string> bitmap_by_hash;  // raw hash -> bitmap
  REQUIRE(sz->nsec3_chain.size() == std::size(kNames));
  for (size_t k = 0; k < sz->nsec3_chain.size(); ++k) {
    const zone::Nsec3Record& r = sz->nsec3_chain[k];
    const zone::Nsec3Record& next = sz->nsec3_chain[(k + 1) % sz->nsec3_chain.size()];
    if (k + 1 < sz->nsec3_chain.size()) CHECK(r.hash < next.hash);
    CHECK(r.owner == std::string(1, 32) + dnssec::base32hex(r.hash) + z.apex());
    // Algorithm 1, flags 0 (no opt-out), iterations, salt, the next hash, the bitmap.
    const std::string head = bytes({1, 0, 0, 1, 2, 0xaa, 0xbb, 20});
    REQUIRE(r.rdata.size() >= head.size() + 20);
    CHECK(r.rdata.substr(0, head.size()) == head);
    CHECK(r.rdata.substr(head.size(), 20) == next.hash);
    bitmap_by_hash[r.hash] = r.rdata.substr(head.size() + 20);
    REQUIRE(r.rrsig.size() == 1);
    CHECK(covered(r.rrsig.front()) == type::NSEC3);
    CHECK(s.signer->find(r.owner, type::NSEC3)->ttl == 300);
  }
  auto bitmapOf = [&](const char* name) {
    uint8_t hash[dnssec::kNsec3HashSize];
    dnssec::nsec3Hash(wireName(name), salt, 1, hash);
    const auto it = bitmap_by_hash.find(std::string(reinterpret_cast<char*>(hash), 20));
    REQUIRE_MESSAGE(it != bitmap_by_hash.end(), name);
    return it->second;
  };
  using Types = std::vector<uint16_t>;
  for (const char* name : kNames) bitmapOf(name);
  CHECK(bitmapOf("signed.test.") ==
        dnssec::typeBitmap(
            Types{type::SOA, type::NS, type::A, type::DNSKEY, type::NSEC3PARAM, type::RRSIG}));
  CHECK(bitmapOf("ent.signed.test.").empty());
  CHECK(bitmapOf("wild.signed.test.").empty());
  // An insecure delegation has nothing signed at its name: no RRSIG bit (RFC 5155 7.1).
  CHECK(bitmapOf("sub.signed.test.") == dnssec::typeBitmap(Types{type::NS}));
  CHECK(bitmapOf("secure.signed.test.") ==
        dnssec::typeBitmap(Types{type::NS, type::DS, type::RRSIG}));
  CHECK(bitmapOf("www.signed.test.") ==
        dnssec::typeBitmap(Types{type::A, type::AAAA, type::RRSIG}));

  // No NSEC anywhere; the insecure delegation has no RRSIG RRset at all.
  for (const auto& [owner, n] : z.nodes()) CHECK_FALSE(n.find(type::NSEC));
  CHECK(coveredAt(z, "sub.signed.test.").empty());
  CHECK(coveredAt(z, "secure.signed.test.") == std::multiset<uint16_t>{type::DS});
}

TEST_CASE("ZoneSet::withSigned: signed copies numbered anew beside shared and copied zones") {
  auto plain = [](const char* apex) {
    zone::ZoneBuilder b(wireName(apex), "test");
    REQUIRE(b.add(wireName(apex), type::SOA, 300, testutil::soaRdata(apex, 1, 300)).ok());
    REQUIRE(b.add(wireName(apex), type::NS, 300, wireName(std::string("ns.") + apex)).ok());
    for (const char* ip : {"192.0.2.1", "192.0.2.2"})
      REQUIRE(b.add(wireName(std::string("multi.") + apex), type::A, 300, testutil::a(ip)).ok());
    auto zone = b.finish();
    REQUIRE(zone.ok());
    return *zone;
  };
  auto set = std::make_shared<zone::ZoneSet>();
  REQUIRE(set->add(plain("first.test.")).ok());
  REQUIRE(set->add(fixture({})).ok());
  REQUIRE(set->add(plain("last.test.")).ok());
  const uint32_t slots = set->assignRotationSlots();

  std::shared_ptr<FakeSigner> signer;
  auto signed_set = set->withSigned([&](const zone::Zone& zone) -> std::shared_ptr<zone::Zone> {
    if (!zone.settings().dnssec) return nullptr;
    signer = std::make_shared<FakeSigner>(zone.apex());
    return dnssec::signZone(zone, {signer, {kDnskey}, 0, ""}, zone.serial() + 1).zone;
  });
  REQUIRE(signed_set->zones().size() == 3);
  CHECK(signed_set->zones()[0] == set->zones()[0]);  // unsigned and pool-free: shared
  CHECK(signed_set->zones()[2] == set->zones()[2]);
  const zone::Zone& z = *signed_set->zones()[1];
  REQUIRE(z.signedZone());
  CHECK(z.serial() == 2);
  CHECK(z.apexNode().find(type::DNSKEY)->ttl == 3600);  // dnskey_ttl 0: the SOA's TTL
  CHECK(signed_set->findZone(wireName("www.signed.test.")) == &z);
  // Same rotation slots and pools as the unsigned set: the signer adds no rotating RRset.
  CHECK(signed_set->rotationSlots() == slots);
  REQUIRE(signed_set->pools().size() == 2);
  CHECK(signed_set->pools()[0] == z.pools()[0].get());
  CHECK(signed_set->pools()[0]->rotation_slot == set->pools()[0]->rotation_slot);
  CHECK(signed_set->members().size() == set->members().size());
  CHECK(signed_set->targets().size() == set->targets().size());
}

TEST_CASE("AXFR of a signed zone: RRSIGs at their RRsets' TTLs, pools whole, NSEC3 records") {
  zone::DnssecPolicy policy;
  policy.nsec3 = true;
  const auto zone = fixture(policy);
  auto set = std::make_shared<zone::ZoneSet>();
  REQUIRE(set->add(zone).ok());
  set->assignRotationSlots();
  std::shared_ptr<FakeSigner> signer;
  auto signed_set = set->withSigned([&](const zone::Zone& z) {
    signer = std::make_shared<FakeSigner>(z.apex());
    return dnssec::signZone(z, {signer, {kDnskey}, 0, ""}, 5).zone;
  });
  auto catalog = answer::Catalog::make(signed_set);
  const zone::Zone& z = *signed_set->zones()[0];

  testutil::QuerySpec spec;
  spec.qname = "signed.test.";
  spec.qtype = type::AXFR;
  const auto q = testutil::query(spec);
  wire::Query parsed;
  REQUIRE(wire::parseQuery(q, parsed) == wire::ParseStatus::Ok);
  answer::Transfer transfer(catalog, z, parsed);
  std::vector<uint8_t> out(65535);
  size_t size = 0;
  // (owner, type, covered type or 0) -> TTLs
  std::map<std::tuple<std::string, uint16_t, uint16_t>, std::multiset<uint32_t>> seen;
  size_t messages = 0;
  while (transfer.next(out, size) && ++messages < 100) {
    const auto m = testutil::decode(out.data(), size);
    for (const auto& r : m.answer) {
      const uint16_t cov = r.type == type::RRSIG ? load16(r.rdata.data()) : 0;
      std::string owner = r.owner;
      std::transform(owner.begin(), owner.end(), owner.begin(), ::tolower);
      seen[{owner, r.type, cov}].insert(r.ttl);
    }
  }
  auto ttls = [&](const char* owner, uint16_t t, uint16_t cov = 0) {
    return seen[{owner, t, cov}];
  };
  // The pool goes out as its members at its TTL, its RRSIG (over them all) at that TTL too.
  CHECK(ttls("www.signed.test.", type::A) == std::multiset<uint32_t>{30, 30});
  CHECK(ttls("www.signed.test.", type::RRSIG, type::A) == std::multiset<uint32_t>{30});
  CHECK(ttls("www.signed.test.", type::RRSIG, type::AAAA) == std::multiset<uint32_t>{30});
  CHECK(ttls("signed.test.", type::RRSIG, type::DNSKEY) == std::multiset<uint32_t>{3600});
  CHECK(ttls("signed.test.", type::RRSIG, type::SOA) == std::multiset<uint32_t>{3600});
  CHECK(ttls("signed.test.", type::RRSIG, type::A) == std::multiset<uint32_t>{60});
  CHECK(ttls("signed.test.", type::DNSKEY) == std::multiset<uint32_t>{3600});
  CHECK(ttls("signed.test.", type::NSEC3PARAM) == std::multiset<uint32_t>{300});
  CHECK(ttls("ns.sub.signed.test.", type::A) == std::multiset<uint32_t>{3600});
  CHECK(ttls("ns.sub.signed.test.", type::RRSIG, type::A).empty());
  // Every NSEC3 record and its signature, at the NSEC3 TTL.
  size_t nsec3 = 0, nsec3_rrsigs = 0;
  for (const auto& [key, t] : seen) {
    if (std::get<1>(key) == type::NSEC3) nsec3 += t.size();
    if (std::get<2>(key) == type::NSEC3) nsec3_rrsigs += t.size();
    if (std::get<1>(key) == type::NSEC3 || std::get<2>(key) == type::NSEC3)
      CHECK(t.count(300) == t.size());
  }
  CHECK(nsec3 == z.signedZone()->nsec3_chain.size());
  CHECK(nsec3_rrsigs == nsec3);
  CHECK(transfer.recordsSent() ==
        z.recordCount() - 1 + 3 /* pool members */ + 1 /* apex pool */ + 2 * nsec3);
}
