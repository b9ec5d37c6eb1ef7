// The zone's RRsetSigner and its signature cache (dns/dnssec/signer.cc); a zone signed through it
// checked by ldns-verify-zone.
#include "dns/dnssec/signer.hh"

#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <thread>

#include "dns/base/thread_role.hh"
#include "tests/unit/dnssec/dnssec_test_util.hh"

using namespace rrdns;
using namespace rrdns::dnssec;
using namespace dnssectest;
using zone::DnssecAlgorithm;

namespace {

constexpr uint16_t kA = 1, kNs = 2, kSoa = 6, kRrsig = 46, kNsec = 47, kDnskey = 48;

Key makeKey(const TempDir& dir, KeyRole role, DnssecAlgorithm alg = DnssecAlgorithm::EcdsaP256Sha256) {
  auto key = Key::generate(dir.path(), wireName("example.com."), alg, role);
  REQUIRE(key.ok());
  return key.value();
}

std::string a(uint8_t last) { return std::string("\xc0\x00\x02", 3) + static_cast<char>(last); }

std::vector<std::string_view> views(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

// An NSEC RDATA (RFC 4034 4.1): the next name, then window 0's bitmap of `types`.
std::string nsec(std::string_view next, std::vector<uint16_t> types) {
  uint8_t bits[32] = {};
  size_t len = 0;
  for (uint16_t t : types) {
    bits[t / 8] |= static_cast<uint8_t>(0x80 >> (t % 8));
    len = std::max(len, size_t{t / 8u + 1});
  }
  std::string out(next);
  out.push_back(0);
  out.push_back(static_cast<char>(len));
  out.append(reinterpret_cast<const char*>(bits), len);
  return out;
}

struct RRset {
  std::string owner;
  uint16_t rtype;
  uint32_t ttl;
  std::vector<std::string> rdata;
};

// A small zone, complete with its DNSKEY RRset and NSEC chain: what ldns-verify-zone needs to
// accept it, everything else being ours to sign.
std::vector<RRset> smallZone(const std::vector<Key>& keys) {
  std::string apex = wireName("example.com."), wild = wireName("*.example.com."),
              ns1 = wireName("ns1.example.com."), www = wireName("www.example.com.");
  std::string soa = ns1 + wireName("hostmaster.example.com.");
  for (uint32_t v : {2026120301u, 3600u, 600u, 86400u, 300u})
    for (int shift = 24; shift >= 0; shift -= 8) soa.push_back(static_cast<char>(v >> shift));
  std::vector<std::string> dnskeys;
  for (const Key& k : keys) dnskeys.push_back(k.dnskeyRdata());
  return {
      {apex, kSoa, 3600, {soa}},
      {apex, kNs, 3600, {ns1}},
      {apex, kDnskey, 3600, dnskeys},
      {apex, kNsec, 300, {nsec(wild, {kNs, kSoa, kRrsig, kNsec, kDnskey})}},
      {wild, kA, 3600, {a(9)}},
      {wild, kNsec, 300, {nsec(ns1, {kA, kRrsig, kNsec})}},
      {ns1, kA, 3600, {a(1)}},
      {ns1, kNsec, 300, {nsec(www, {kA, kRrsig, kNsec})}},
      // Unsorted, with a duplicate: the zone text has each once, the signature covers that.
      {www, kA, 3600, {a(3), a(2), a(3), a(1)}},
      {www, kNsec, 300, {nsec(apex, {kA, kRrsig, kNsec})}},
  };
}

// The zone as text in generic form, each RRset with the RRSIGs `signer` made; `corrupt` flips a
// bit in the signature over the RRset of that index.
std::string signedZoneText(const std::vector<RRset>& zone, const Signer& signer, int corrupt = -1) {
  std::string text;
  for (size_t i = 0; i < zone.size(); ++i) {
    const RRset& rr = zone[i];
    std::vector<std::string> unique = rr.rdata;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    for (const std::string& rd : unique) text += genericRecord(rr.owner, rr.ttl, rr.rtype, rd);
    std::vector<std::string> sigs = signer.sign(rr.owner, rr.rtype, rr.ttl, views(rr.rdata));
    REQUIRE(!sigs.empty());
    for (std::string sig : sigs) {
      if (static_cast<int>(i) == corrupt) sig.back() ^= 1;
      text += genericRecord(rr.owner, rr.ttl, kRrsig, sig);
    }
  }
  return text;
}

}  // namespace

TEST_CASE("a zone signed by the Signer passes ldns-verify-zone, and a broken signature does not") {
  for (auto alg : {DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519}) {
    CAPTURE(static_cast<int>(alg));
    TempDir dir;
    Key ksk = makeKey(dir, KeyRole::Ksk, alg), zsk = makeKey(dir, KeyRole::Zsk, alg);
    auto stats = std::make_shared<SigningStats>();
    zone::DnssecPolicy policy;
    policy.algorithm = alg;
    Signer signer(wireName("example.com."), {ksk}, {zsk}, policy,
                  std::make_shared<SignatureCache>(stats), stats);
    auto zone = smallZone({ksk, zsk});
    std::string file = dir.path() + "/example.com.zone";
    writeFile(file, signedZoneText(zone, signer));
    auto [status, out] = run("ldns-verify-zone " + file);
    CHECK_MESSAGE(status == 0, out);
    CHECK(out.find("Zone is verified and complete") != std::string::npos);
    // The negative control: the same check fails on one bad signature (www's A RRset), so a
    // pass above is not the checker skipping what it cannot read.
    writeFile(file, signedZoneText(zone, signer, 8));
    auto [bad_status, bad_out] = run("ldns-verify-zone " + file);
    CHECK_MESSAGE(bad_status != 0, bad_out);
  }
}

TEST_CASE("the DNSKEY RRset is signed by every KSK, the rest by the ZSK") {
  TempDir dir;
  Key ksk1 = makeKey(dir, KeyRole::Ksk), ksk2 = makeKey(dir, KeyRole::Ksk),
      zsk = makeKey(dir, KeyRole::Zsk);
  auto stats = std::make_shared<SigningStats>();
  zone::DnssecPolicy policy;
  Signer signer(wireName("example.com."), {ksk1, ksk2}, {zsk}, policy,
                std::make_shared<SignatureCache>(stats), stats);
  std::string apex = wireName("example.com.");
  std::vector<std::string> keys{ksk1.dnskeyRdata(), ksk2.dnskeyRdata(), zsk.dnskeyRdata()};
  auto dnskey_sigs = signer.sign(apex, kDnskey, 3600, views(keys));
  REQUIRE(dnskey_sigs.size() == 2);
  CHECK(u16(dnskey_sigs[0], 16) == ksk1.tag());
  CHECK(u16(dnskey_sigs[1], 16) == ksk2.tag());
  CHECK(verifyRrsig(ksk1, dnskey_sigs[0], apex, kDnskey, views(keys)));
  CHECK(verifyRrsig(ksk2, dnskey_sigs[1], apex, kDnskey, views(keys)));
  std::vector<std::string> addrs{a(1), a(2)};
  auto a_sigs = signer.sign(wireName("www.example.com."), kA, 60, views(addrs));
  REQUIRE(a_sigs.size() == 1);
  CHECK(u16(a_sigs[0], 16) == zsk.tag());
  CHECK(verifyRrsig(zsk, a_sigs[0], wireName("www.example.com."), kA, views(addrs)));
  CHECK(stats->signatures.load() == 3);
}

TEST_CASE("signatures are valid from an hour ago to rrsig-lifetime from now") {
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  zone::DnssecPolicy policy;
  policy.rrsig_lifetime = 5 * 86400;
  auto stats = std::make_shared<SigningStats>();
  Signer signer(wireName("example.com."), {}, {zsk}, policy, std::make_shared<SignatureCache>(stats),
                stats);
  std::vector<std::string> addrs{a(1)};
  uint32_t before = static_cast<uint32_t>(std::time(nullptr));
  auto sigs = signer.sign(wireName("www.example.com."), kA, 60, views(addrs));
  uint32_t after = static_cast<uint32_t>(std::time(nullptr));
  REQUIRE(sigs.size() == 1);
  CHECK(u32(sigs[0], 12) >= before - 3600);
  CHECK(u32(sigs[0], 12) <= after - 3600);
  CHECK(u32(sigs[0], 8) >= before + 5 * 86400);
  CHECK(u32(sigs[0], 8) <= after + 5 * 86400);
}

TEST_CASE("an equal RRset is signed once: the cache hands out the same RRSIG") {
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  zone::DnssecPolicy policy;
  auto stats = std::make_shared<SigningStats>();
  auto cache = std::make_shared<SignatureCache>(stats);
  Signer signer(wireName("example.com."), {}, {zsk}, policy, cache, stats);
  std::string owner = wireName("pool.example.com.");
  std::vector<std::string> set1{a(1), a(2), a(3)}, set1_shuffled{a(3), a(1), a(2), a(1)};
  auto first = signer.sign(owner, kA, 30, views(set1));
  auto again = signer.sign(owner, kA, 30, views(set1_shuffled));
  REQUIRE(first.size() == 1);
  CHECK(again == first);
  CHECK(stats->signatures.load() == 1);
  CHECK(cache->size() == 1);
  CHECK(stats->cache_entries.load() == 1);
  // A different set, TTL, owner or type is another RRset.
  std::vector<std::string> set2{a(1), a(2)};
  CHECK(signer.sign(owner, kA, 30, views(set2)) != first);
  CHECK(signer.sign(owner, kA, 31, views(set1)) != first);
  CHECK(signer.sign(wireName("pool2.example.com."), kA, 30, views(set1)) != first);
  CHECK(stats->signatures.load() == 4);
  CHECK(cache->size() == 4);
  // Another Signer of the zone (the next rollover step) with the same key shares the cache.
  Signer next(wireName("example.com."), {}, {zsk}, policy, cache, stats);
  CHECK(next.sign(owner, kA, 30, views(set1)) == first);
  CHECK(stats->signatures.load() == 4);
  // With another key the cached signature is not the one: a new ZSK signs anew.
  Key zsk2 = makeKey(dir, KeyRole::Zsk);
  Signer rolled(wireName("example.com."), {}, {zsk2}, policy, cache, stats);
  auto by_new = rolled.sign(owner, kA, 30, views(set1));
  REQUIRE(by_new.size() == 1);
  CHECK(u16(by_new[0], 16) == zsk2.tag());
  CHECK(verifyRrsig(zsk2, by_new[0], owner, kA, views(set1)));
  CHECK(stats->signatures.load() == 5);
}

TEST_CASE("a cached signature due for refresh is made anew, and prune drops it") {
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  zone::DnssecPolicy policy;
  policy.rrsig_lifetime = 100;
  policy.rrsig_refresh = 200;  // every signature is due at once
  auto stats = std::make_shared<SigningStats>();
  auto cache = std::make_shared<SignatureCache>(stats);
  Signer signer(wireName("example.com."), {}, {zsk}, policy, cache, stats);
  std::vector<std::string> set{a(1)};
  signer.sign(wireName("www.example.com."), kA, 30, views(set));
  signer.sign(wireName("www.example.com."), kA, 30, views(set));
  CHECK(stats->signatures.load() == 2);
  CHECK(cache->size() == 1);
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  cache->prune(now, 0);  // expiring in 100 s: kept
  CHECK(cache->size() == 1);
  cache->prune(now, 200);
  CHECK(cache->size() == 0);
  CHECK(stats->cache_entries.load() == 0);
}

TEST_CASE("the cache never answers for other content under the same hash") {
  auto stats = std::make_shared<SigningStats>();
  SignatureCache cache(stats);
  std::string rrsig(18, '\0');
  rrsig[8] = 0x7f;  // expiration 0x7f000000: far ahead of `now` below
  cache.put(CacheKey{42, "one"}, rrsig);
  CHECK(cache.find(CacheKey{42, "one"}, 1000, 0) == rrsig);
  CHECK(cache.find(CacheKey{42, "two"}, 1000, 0).empty());
  CHECK(cache.find(CacheKey{43, "one"}, 1000, 0).empty());
  // Expiry is serial arithmetic on 32 bits: 0x7f000000 is past for a `now` after it.
  CHECK(cache.find(CacheKey{42, "one"}, 0x7f000000, 0).empty());
  // The content key of two RRsets differs whenever the RRsets do, also across RDATA boundaries.
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  std::string owner = wireName("x.example.com.");
  std::vector<std::string_view> ab{"ab"}, a_b{"a", "b"};
  CHECK(cacheKey(owner, 16, 60, ab, zsk).content != cacheKey(owner, 16, 60, a_b, zsk).content);
  CHECK(cacheKey(owner, 16, 60, ab, zsk).hash == cacheKey(owner, 16, 60, ab, zsk).hash);
}

TEST_CASE("signatures computed on a query thread are counted, cached ones and others not") {
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  zone::DnssecPolicy policy;
  auto stats = std::make_shared<SigningStats>();
  Signer signer(wireName("example.com."), {}, {zsk}, policy, std::make_shared<SignatureCache>(stats),
                stats);
  std::vector<std::string> cached{a(1)}, fresh{a(2)};
  uint64_t before = queryPathSignatures();
  signer.sign(wireName("www.example.com."), kA, 30, views(cached));
  CHECK(queryPathSignatures() == before);
  std::thread worker([&] {
    t_query_thread = true;
    signer.sign(wireName("www.example.com."), kA, 30, views(cached));  // from the cache
    signer.sign(wireName("www.example.com."), kA, 30, views(fresh));   // computed: counted
  });
  worker.join();
  CHECK(queryPathSignatures() == before + 1);
}

TEST_CASE("threads sign at once with the same keys and cache") {
  TempDir dir;
  Key zsk = makeKey(dir, KeyRole::Zsk);
  zone::DnssecPolicy policy;
  auto stats = std::make_shared<SigningStats>();
  auto cache = std::make_shared<SignatureCache>(stats);
  Signer signer(wireName("example.com."), {}, {zsk}, policy, cache, stats);
  std::string owner = wireName("pool.example.com.");
  constexpr int kThreads = 4, kSets = 40;
  std::vector<std::map<int, std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSets; ++i) {
        std::vector<std::string> set{a(static_cast<uint8_t>(i)), a(200)};
        auto sigs = signer.sign(owner, kA, 30, views(set));
        if (sigs.size() == 1) results[t][i] = sigs[0];
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(cache->size() == kSets);
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(results[t].size() == kSets);
    for (auto& [i, sig] : results[t]) {
      std::vector<std::string> set{a(static_cast<uint8_t>(i)), a(200)};
      CHECK(verifyRrsig(zsk, sig, owner, kA, views(set)));
    }
  }
}
