// verify_zone_test.cc -- a signed zone, as an AXFR sends it, accepted by ldns-verify-zone (NSEC
// and NSEC3): the chain, the bitmaps and what is signed are checked by a tool that is not ours.
#include <doctest/doctest.h>

#include <fstream>

#include "dns/dnssec/signer.hh"
#include "dns/dnssec/zone_signer.hh"
#include "tests/unit/dnssec/dnssec_test_util.hh"
#include "tests/unit/dnssec/openssl_signer.hh"
#include "tests/unit/dnssec/zone_text.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;

namespace {

struct Keys {
  std::shared_ptr<const zone::RRsetSigner> signer;
  std::vector<std::string> dnskeys;
};

// signed.test (tests/fixtures/zones/signed.test.toml), to be signed by `policy`.
std::shared_ptr<zone::Zone> fixture(const zone::DnssecPolicy& policy) {
  auto load = zone::loadTomlZone(zonetest::sourcePath("tests/fixtures/zones/signed.test.toml"));
  zonetest::loaded(load);
  std::shared_ptr<zone::Zone> unsigned_zone = *load.zone;
  zone::ZoneSettings settings = unsigned_zone->settings();
  settings.dnssec = policy;
  unsigned_zone->setSettings(settings);
  return unsigned_zone;
}

// The zone rrdns's Signer signs with: a KSK and a ZSK (or a CSK) of `policy`, made in `dir`.
Keys realKeys(const dnssectest::TempDir& dir, const zone::DnssecPolicy& policy,
              std::shared_ptr<dnssec::SigningStats> stats = nullptr) {
  const std::string apex = zonetest::wireName("signed.test.");
  auto make = [&](dnssec::KeyRole role) {
    auto key = dnssec::Key::generate(dir.path(), apex, policy.algorithm, role);
    REQUIRE(key.ok());
    return key.value();
  };
  if (!stats) stats = std::make_shared<dnssec::SigningStats>();
  auto cache = std::make_shared<dnssec::SignatureCache>(stats);
  if (policy.single_type_signing) {
    const dnssec::Key csk = make(dnssec::KeyRole::Csk);
    return {std::make_shared<dnssec::Signer>(apex, std::vector{csk}, std::vector{csk}, policy,
                                             cache, stats),
            {csk.dnskeyRdata()}};
  }
  const dnssec::Key ksk = make(dnssec::KeyRole::Ksk), zsk = make(dnssec::KeyRole::Zsk);
  return {std::make_shared<dnssec::Signer>(apex, std::vector{ksk}, std::vector{zsk}, policy, cache,
                                           stats),
          {ksk.dnskeyRdata(), zsk.dnskeyRdata()}};
}

// A key of the tests' own (OpenSSL), independent of dns/dnssec's.
Keys opensslKeys() {
  auto signer = std::make_shared<signertest::OpensslSigner>(zonetest::wireName("signed.test."));
  return {signer, {signer->dnskey()}};
}

// signed.test signed by `policy` with `keys` at `serial`, its AXFR as text.
std::string signedText(const zone::DnssecPolicy& policy, std::string salt, const Keys& keys,
                       uint32_t serial = 2) {
  auto set = std::make_shared<zone::ZoneSet>();
  REQUIRE(set->add(fixture(policy)).ok());
  set->assignRotationSlots();
  auto signed_set = set->withSigned([&](const zone::Zone& z) {
    return dnssec::signZone(z, {keys.signer, keys.dnskeys, 0, salt}, serial).zone;
  });
  return zonetext::axfrText(answer::Catalog::make(signed_set), *signed_set->zones()[0]);
}

// ldns-verify-zone's verdict on `text`.
std::pair<std::string, int> verify(const std::string& text) {
  const zonetest::TempFile file(text, ".zone");
  return zonetext::run("ldns-verify-zone " + file.path());
}

}  // namespace

TEST_CASE("ldns-verify-zone accepts a signed zone's AXFR: NSEC") {
  const std::string text = signedText({}, "", opensslKeys());
  CHECK(text.find(" NSEC ") != std::string::npos);
  const auto [output, status] = verify(text);
  CHECK_MESSAGE(status == 0, output << "\n" << text);
  CHECK(output.find("Zone is verified and complete") != std::string::npos);

  // The negative control: a signed record changed after signing is caught.
  std::string tampered = text;
  const size_t at = tampered.find("\"wildcard\"");
  REQUIRE(at != std::string::npos);
  tampered.replace(at, 10, "\"wildcarD\"");
  const auto [bad_output, bad_status] = verify(tampered);
  CHECK_MESSAGE(bad_status != 0, bad_output);
}

TEST_CASE("ldns-verify-zone accepts a signed zone's AXFR: NSEC3 with salt and iterations") {
  zone::DnssecPolicy policy;
  policy.nsec3 = true;
  policy.nsec3_iterations = 5;
  policy.nsec3_salt_length = 4;
  const std::string text = signedText(policy, "\x01\x02\x03\x04", opensslKeys());
  CHECK(text.find(" NSEC3 ") != std::string::npos);
  CHECK(text.find(" NSEC3PARAM ") != std::string::npos);
  const auto [output, status] = verify(text);
  CHECK_MESSAGE(status == 0, output << "\n" << text);
  CHECK(output.find("Zone is verified and complete") != std::string::npos);

  // An NSEC3 record left out breaks the chain.
  std::string broken;
  bool dropped = false;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start) + 1;
    const std::string line = text.substr(start, end - start);
    if (!dropped && line.find(" NSEC3 ") != std::string::npos) {
      dropped = true;
    } else {
      broken += line;
    }
    start = end;
  }
  REQUIRE(dropped);
  const auto [bad_output, bad_status] = verify(broken);
  CHECK_MESSAGE(bad_status != 0, bad_output);
}

TEST_CASE(
    "ldns-verify-zone accepts the zone signed by rrdns's Signer: KSK+ZSK and CSK, NSEC and NSEC3") {
  struct Case {
    zone::DnssecAlgorithm algorithm;
    bool csk;
    bool nsec3;
  };
  for (const Case c : {Case{zone::DnssecAlgorithm::EcdsaP256Sha256, false, false},
                       Case{zone::DnssecAlgorithm::EcdsaP256Sha256, false, true},
                       Case{zone::DnssecAlgorithm::Ed25519, true, false},
                       Case{zone::DnssecAlgorithm::Ed25519, true, true}}) {
    CAPTURE(static_cast<int>(c.algorithm));
    CAPTURE(c.nsec3);
    zone::DnssecPolicy policy;
    policy.algorithm = c.algorithm;
    policy.single_type_signing = c.csk;
    policy.nsec3 = c.nsec3;
    policy.nsec3_iterations = c.nsec3 ? 2 : 0;
    const dnssectest::TempDir dir;
    const std::string text = signedText(policy, c.nsec3 ? "\xab\xcd" : "", realKeys(dir, policy));
    const auto [output, status] = verify(text);
    CHECK_MESSAGE(status == 0, output << "\n" << text);
    CHECK(output.find("Zone is verified and complete") != std::string::npos);
  }
}

TEST_CASE("signing the zone again through the same Signer computes only the SOA's signature") {
  zone::DnssecPolicy policy;
  const dnssectest::TempDir dir;
  auto stats = std::make_shared<dnssec::SigningStats>();
  const Keys keys = realKeys(dir, policy, stats);
  const auto zone = fixture(policy);
  const auto first = dnssec::signZone(*zone, {keys.signer, keys.dnskeys, 0, ""}, 2);
  const uint64_t made = stats->signatures.load();
  // At least an NSEC and one RRset at each name of the chain.
  CHECK(made >= first.zone->signedZone()->canonical.size() * 2);
  const auto second = dnssec::signZone(*zone, {keys.signer, keys.dnskeys, 0, ""}, 3);
  CHECK(stats->signatures.load() == made + 1);  // the SOA at its new serial
  CHECK(second.signatures_digest == first.signatures_digest);
  CHECK(second.zone->serial() == 3);
}
