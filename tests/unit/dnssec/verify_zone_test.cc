// verify_zone_test.cc -- a signed zone, as an AXFR sends it, accepted by ldns-verify-zone (NSEC
// and NSEC3): the chain, the bitmaps and what is signed are checked by a tool that is not ours.
#include <doctest/doctest.h>

#include <fstream>

#include "dns/dnssec/zone_signer.hh"
#include "tests/unit/dnssec/openssl_signer.hh"
#include "tests/unit/dnssec/zone_text.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;

namespace {

// signed.test signed by `policy` with `signer`, its AXFR as text.
std::string signedText(const zone::DnssecPolicy& policy, std::string salt) {
  auto load = zone::loadTomlZone(zonetest::sourcePath("tests/fixtures/zones/signed.test.toml"));
  zonetest::loaded(load);
  std::shared_ptr<zone::Zone> unsigned_zone = *load.zone;
  zone::ZoneSettings settings = unsigned_zone->settings();
  settings.dnssec = policy;
  unsigned_zone->setSettings(settings);
  auto set = std::make_shared<zone::ZoneSet>();
  REQUIRE(set->add(unsigned_zone).ok());
  set->assignRotationSlots();
  auto signer = std::make_shared<signertest::OpensslSigner>(unsigned_zone->apex());
  auto signed_set = set->withSigned([&](const zone::Zone& z) {
    return dnssec::signZone(z, {signer, {signer->dnskey()}, 0, salt}, 2).zone;
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
  const std::string text = signedText({}, "");
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
  const std::string text = signedText(policy, "\x01\x02\x03\x04");
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
