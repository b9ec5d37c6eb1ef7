// Key pairs (dns/dnssec/key.cc): generated into and loaded from a key directory, their DNSKEY,
// tag and DS, and signatures checked by libdnssec and by ldns.
#include "dns/dnssec/key.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/unit/dnssec/dnssec_test_util.hh"

using namespace rrdns;
using namespace rrdns::dnssec;
using namespace dnssectest;
using zone::DnssecAlgorithm;

namespace {

// RFC 4034 appendix B, written out here so the tag is not only libdnssec's word.
uint16_t keyTagOf(std::string_view rdata) {
  uint32_t ac = 0;
  for (size_t i = 0; i < rdata.size(); ++i) {
    uint8_t b = static_cast<uint8_t>(rdata[i]);
    ac += (i & 1) ? b : static_cast<uint32_t>(b) << 8;
  }
  ac += (ac >> 16) & 0xffff;
  return static_cast<uint16_t>(ac & 0xffff);
}

Key generated(const TempDir& dir, DnssecAlgorithm alg, KeyRole role) {
  auto key = Key::generate(dir.path(), wireName("example.com."), alg, role);
  REQUIRE_MESSAGE(key.ok(), (key.ok() ? "" : key.error().text()));
  return key.value();
}

}  // namespace

TEST_CASE("a generated key has a private PEM file, its DNSKEY and tag") {
  TempDir dir;
  for (auto [alg, pubkey] : {std::pair{DnssecAlgorithm::EcdsaP256Sha256, size_t{64}},
                             std::pair{DnssecAlgorithm::Ed25519, size_t{32}}}) {
    CAPTURE(static_cast<int>(alg));
    for (KeyRole role : {KeyRole::Ksk, KeyRole::Zsk, KeyRole::Csk}) {
      Key key = generated(dir, alg, role);
      CHECK(!key.id().empty());
      std::string pem = dir.path() + "/" + key.id() + ".pem";
      struct stat st{};
      REQUIRE(stat(pem.c_str(), &st) == 0);
      CHECK((st.st_mode & 0777) == 0600);
      CHECK(key.role() == role);
      CHECK(key.algorithm() == alg);
      uint16_t flags = role == KeyRole::Zsk ? 256 : 257;
      CHECK(key.flags() == flags);
      // RFC 4034 2.1: flags, protocol 3, algorithm, the public key (RFC 6605: x || y; RFC 8080).
      std::string rdata = key.dnskeyRdata();
      REQUIRE(rdata.size() == 4 + pubkey);
      CHECK(u16(rdata, 0) == flags);
      CHECK(rdata[2] == 3);
      CHECK(static_cast<uint8_t>(rdata[3]) == static_cast<uint8_t>(alg));
      CHECK(key.tag() == keyTagOf(rdata));
    }
  }
  CHECK(roleName(KeyRole::Ksk) == "ksk");
  CHECK(roleName(KeyRole::Zsk) == "zsk");
  CHECK(roleName(KeyRole::Csk) == "csk");
}

TEST_CASE("two keys are different keys") {
  TempDir dir;
  Key a = generated(dir, DnssecAlgorithm::EcdsaP256Sha256, KeyRole::Zsk);
  Key b = generated(dir, DnssecAlgorithm::EcdsaP256Sha256, KeyRole::Zsk);
  CHECK(a.id() != b.id());
  CHECK(a.dnskeyRdata() != b.dnskeyRdata());
}

TEST_CASE("signatures are 64 bytes and verify; other data or a flipped bit does not") {
  TempDir dir;
  for (auto alg : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519}) {
    CAPTURE(static_cast<int>(alg));
    Key key = generated(dir, alg, KeyRole::Zsk);
    Key other = generated(dir, alg, KeyRole::Zsk);
    std::string sig = key.sign("some data");
    CHECK(sig.size() == 64);
    CHECK(key.verify("some data", sig));
    CHECK_FALSE(key.verify("some datA", sig));
    CHECK_FALSE(other.verify("some data", sig));
    std::string flipped = sig;
    flipped[10] ^= 1;
    CHECK_FALSE(key.verify("some data", flipped));
    CHECK_FALSE(key.verify("some data", sig.substr(0, 63)));
  }
}

TEST_CASE("a loaded key is the generated one") {
  TempDir dir;
  for (auto alg : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519}) {
    Key key = generated(dir, alg, KeyRole::Ksk);
    auto loaded = Key::load(dir.path(), key.id(), wireName("example.com."), alg, KeyRole::Ksk);
    REQUIRE(loaded.ok());
    CHECK(loaded->id() == key.id());
    CHECK(loaded->tag() == key.tag());
    CHECK(loaded->dnskeyRdata() == key.dnskeyRdata());
    CHECK(loaded->dsRdata() == key.dsRdata());
    // Its private half too: what it signs, the original verifies.
    CHECK(key.verify("x", loaded->sign("x")));
    // The role sets the flags, which the tag covers.
    auto as_zsk = Key::load(dir.path(), key.id(), wireName("example.com."), alg, KeyRole::Zsk);
    REQUIRE(as_zsk.ok());
    CHECK(as_zsk->flags() == 256);
    CHECK(as_zsk->tag() == keyTagOf(as_zsk->dnskeyRdata()));
  }
}

TEST_CASE("loading a key that is not there says which file") {
  TempDir dir;
  auto missing = Key::load(dir.path(), "0123456789abcdef0123456789abcdef01234567",
                           wireName("example.com."), DnssecAlgorithm::EcdsaP256Sha256,
                           KeyRole::Zsk);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text().find(dir.path() + "/0123456789abcdef0123456789abcdef01234567.pem") !=
        std::string::npos);
  auto nodir = Key::generate(dir.path() + "/nope", wireName("example.com."),
                             DnssecAlgorithm::EcdsaP256Sha256, KeyRole::Zsk);
  CHECK_FALSE(nodir.ok());
}

TEST_CASE("the DS is SHA-256 over owner and DNSKEY, as ldns-key2ds computes it") {
  TempDir dir;
  for (auto alg : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519}) {
    CAPTURE(static_cast<int>(alg));
    Key key = generated(dir, alg, KeyRole::Ksk);
    std::string ds = key.dsRdata();
    // RFC 4509: key tag, algorithm, digest type 2, 32 bytes of digest.
    REQUIRE(ds.size() == 4 + 32);
    CHECK(u16(ds, 0) == key.tag());
    CHECK(static_cast<uint8_t>(ds[2]) == static_cast<uint8_t>(alg));
    CHECK(ds[3] == 2);
    std::string file = dir.path() + "/k.key";
    writeFile(file, genericRecord(wireName("example.com."), 3600, 48, key.dnskeyRdata()));
    auto [status, out] = run("ldns-key2ds -n -2 " + file);
    REQUIRE_MESSAGE(status == 0, out);
    // "example.com.	3600	IN	DS	TAG ALG 2 HEX"
    std::string expect = "\tDS\t" + std::to_string(key.tag()) + " " +
                         std::to_string(static_cast<int>(alg)) + " 2 " + hex(ds.substr(4)) + "\n";
    CHECK_MESSAGE(out.find(expect) != std::string::npos, out, " lacks ", expect);
  }
}
