// RRSIG RDATA and the data it covers (dns/dnssec/rrsig.cc).
#include "dns/dnssec/rrsig.hh"

#include <doctest/doctest.h>

#include "tests/unit/dnssec/dnssec_test_util.hh"

using namespace rrdns;
using namespace rrdns::dnssec;
using namespace dnssectest;
using zone::DnssecAlgorithm;

namespace {

Key zsk(const TempDir& dir, DnssecAlgorithm alg = DnssecAlgorithm::EcdsaP256Sha256) {
  auto key = Key::generate(dir.path(), wireName("example.com."), alg, KeyRole::Zsk);
  REQUIRE(key.ok());
  return key.value();
}

const std::string kA1("\xc0\x00\x02\x01", 4), kA2("\xc0\x00\x02\x02", 4), kA3("\xc0\x00\x02\x03", 4);

}  // namespace

TEST_CASE("the RRSIG RDATA has RFC 4034 3.1's fields and the signer name in lower case") {
  TempDir dir;
  Key key = zsk(dir);
  std::string owner = wireName("WWW.Example.COM.");
  std::string rrsig = makeRrsig(key, wireName("Example.com."), owner, 1, 300, {kA1, kA2},
                                Validity{1000000, 2000000});
  std::string signer = wireName("example.com.");
  REQUIRE(rrsig.size() == 18 + signer.size() + 64);
  CHECK(u16(rrsig, 0) == 1);                        // type covered
  CHECK(static_cast<uint8_t>(rrsig[2]) == 13);      // algorithm
  CHECK(static_cast<uint8_t>(rrsig[3]) == 3);       // labels
  CHECK(u32(rrsig, 4) == 300);                      // original TTL
  CHECK(u32(rrsig, 8) == 2000000);                  // expiration
  CHECK(u32(rrsig, 12) == 1000000);                 // inception
  CHECK(u16(rrsig, 16) == key.tag());               // key tag
  CHECK(rrsig.substr(18, signer.size()) == signer);  // signer's name
  CHECK(verifyRrsig(key, rrsig, owner, 1, {kA1, kA2}));
  CHECK(verifyRrsig(key, rrsig, wireName("www.example.com."), 1, {kA1, kA2}));
}

TEST_CASE("the signature covers the canonical RRset: any order, duplicates once") {
  TempDir dir;
  for (auto alg : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519}) {
    Key key = zsk(dir, alg);
    std::string owner = wireName("www.example.com.");
    std::string rrsig = makeRrsig(key, wireName("example.com."), owner, 1, 300,
                                  {kA3, kA1, kA2, kA1}, Validity{1, 2});
    CHECK(verifyRrsig(key, rrsig, owner, 1, {kA1, kA2, kA3}));
    CHECK(verifyRrsig(key, rrsig, owner, 1, {kA2, kA3, kA1, kA3}));
    CHECK_FALSE(verifyRrsig(key, rrsig, owner, 1, {kA1, kA2}));       // a record less
    CHECK_FALSE(verifyRrsig(key, rrsig, owner, 28, {kA1, kA2, kA3}));  // another type
    CHECK_FALSE(verifyRrsig(key, rrsig, wireName("ftp.example.com."), 1, {kA1, kA2, kA3}));
    std::string tampered = rrsig;
    tampered[5] ^= 1;  // the original TTL is signed too
    CHECK_FALSE(verifyRrsig(key, tampered, owner, 1, {kA1, kA2, kA3}));
    CHECK_FALSE(verifyRrsig(key, rrsig.substr(0, 20), owner, 1, {kA1, kA2, kA3}));
  }
}

TEST_CASE("a wildcard's labels do not count the asterisk, and it verifies as expanded") {
  TempDir dir;
  Key key = zsk(dir);
  std::string wild = wireName("*.example.com.");
  std::string rrsig = makeRrsig(key, wireName("example.com."), wild, 1, 300, {kA1}, Validity{1, 2});
  CHECK(static_cast<uint8_t>(rrsig[3]) == 2);
  CHECK(verifyRrsig(key, rrsig, wild, 1, {kA1}));
  // RFC 4035 5.3.2: a validator rebuilds "*.example.com." from an expanded name.
  CHECK(verifyRrsig(key, rrsig, wireName("a.b.example.com."), 1, {kA1}));
  CHECK_FALSE(verifyRrsig(key, rrsig, wireName("a.b.example.org."), 1, {kA1}));
}

TEST_CASE("an RRSIG by another key does not verify") {
  TempDir dir;
  Key a = zsk(dir), b = zsk(dir);
  std::string owner = wireName("www.example.com.");
  std::string rrsig = makeRrsig(a, wireName("example.com."), owner, 1, 300, {kA1}, Validity{1, 2});
  CHECK_FALSE(verifyRrsig(b, rrsig, owner, 1, {kA1}));
}
