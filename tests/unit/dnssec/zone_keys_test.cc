// A signed zone's keys as the daemon runs them (dns/dnssec/zone_keys.cc): the key directory, steps
// on a made-up clock, the signer, DNSKEY and DS records of each moment.
#include "dns/dnssec/zone_keys.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "tests/unit/dnssec/dnssec_test_util.hh"

using namespace rrdns;
using namespace rrdns::dnssec;
using namespace dnssectest;

namespace {

constexpr uint64_t T0 = 1'800'000'000;
constexpr uint16_t kA = 1, kDnskey = 48;

zone::DnssecPolicy shortPolicy(bool csk = false) {
  zone::DnssecPolicy p;
  p.single_type_signing = csk;
  p.zsk_lifetime = 1000;
  p.propagation_delay = 100;
  return p;
}
const ZoneTimes kTimes{50, 300};

std::unique_ptr<ZoneKeys> openKeys(const TempDir& dir, const zone::DnssecPolicy& policy,
                                   uint64_t now = T0) {
  auto zk = ZoneKeys::open(dir.path(), wireName("example.com."), policy, kTimes, now);
  REQUIRE_MESSAGE(zk.ok(), (zk.ok() ? "" : zk.error().text()));
  return std::move(zk.value());
}

int mode(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

std::set<std::string> pemFiles(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".pem") out.insert(e.path().stem().string());
  return out;
}

std::vector<std::string_view> views(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

// The key tags of the RRSIGs the signer of `now` makes over `rtype`.
std::set<uint16_t> signingTags(const ZoneKeys& zk, uint64_t now, uint16_t rtype) {
  std::vector<std::string> rdata =
      rtype == kDnskey ? zk.dnskeys(now) : std::vector<std::string>{std::string("\x0a\0\0\x01", 4)};
  std::string owner = rtype == kDnskey ? wireName("example.com.") : wireName("www.example.com.");
  std::set<uint16_t> tags;
  for (const std::string& sig : zk.signer(now)->sign(owner, rtype, 60, views(rdata)))
    tags.insert(u16(sig, 16));
  return tags;
}

uint16_t tagOf(const ZoneKeys& zk, KeyRole role, KeyState state, uint64_t now) {
  for (const KeyStatus& s : zk.status(now))
    if (s.record.role == role && s.state == state) return s.record.tag;
  FAIL("no ", roleName(role), " in state ", keyStateName(state));
  return 0;
}

}  // namespace

TEST_CASE("open creates a private key directory with a KSK and a ZSK and their state") {
  TempDir dir;
  auto zk = openKeys(dir, shortPolicy());
  std::string zone_dir = dir.path() + "/example.com";
  CHECK(mode(zone_dir) == 0700);
  CHECK(mode(zone_dir + "/keys.json") == 0600);
  auto pems = pemFiles(zone_dir);
  REQUIRE(pems.size() == 2);
  for (const std::string& id : pems) CHECK(mode(zone_dir + "/" + id + ".pem") == 0600);
  auto status = zk->status(T0);
  REQUIRE(status.size() == 2);
  for (const KeyStatus& s : status) {
    CHECK(s.state == KeyState::Active);
    CHECK(pems.count(s.record.id) == 1);
  }
  CHECK(zk->dnskeys(T0).size() == 2);
  CHECK(zk->nextEvent() == T0 + 1000);
  // The DNSKEY RRset is signed by the KSK, everything else by the ZSK.
  uint16_t ksk = tagOf(*zk, KeyRole::Ksk, KeyState::Active, T0);
  uint16_t zsk = tagOf(*zk, KeyRole::Zsk, KeyState::Active, T0);
  CHECK(signingTags(*zk, T0, kDnskey) == std::set<uint16_t>{ksk});
  CHECK(signingTags(*zk, T0, kA) == std::set<uint16_t>{zsk});
}

TEST_CASE("the DS records are the KSK's, in presentation form ldns-key2ds agrees with") {
  TempDir dir;
  auto zk = openKeys(dir, shortPolicy());
  auto ds = zk->dsRecords(T0);
  REQUIRE(ds.size() == 1);
  uint16_t ksk = tagOf(*zk, KeyRole::Ksk, KeyState::Active, T0);
  std::string prefix = "example.com. 50 IN DS " + std::to_string(ksk) + " 13 2 ";
  REQUIRE(ds[0].rfind(prefix, 0) == 0);
  std::string digest = ds[0].substr(prefix.size());
  CHECK(digest.size() == 64);
  CHECK(digest.find_first_not_of("0123456789ABCDEF") == std::string::npos);
  // The KSK's DNSKEY (the one of the published set with flags 257) through ldns-key2ds.
  std::string file = dir.path() + "/ksk.key";
  for (const std::string& rdata : zk->dnskeys(T0))
    if (u16(rdata, 0) == 257) writeFile(file, genericRecord(wireName("example.com."), 50, kDnskey, rdata));
  auto [status, out] = run("ldns-key2ds -n -2 " + file);
  REQUIRE_MESSAGE(status == 0, out);
  std::string lower = digest;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  CHECK_MESSAGE(out.find("DS\t" + std::to_string(ksk) + " 13 2 " + lower) != std::string::npos, out);
}

TEST_CASE("open again loads the same keys and generates none") {
  TempDir dir;
  std::vector<std::string> ds, dnskeys;
  {
    auto zk = openKeys(dir, shortPolicy());
    ds = zk->dsRecords(T0);
    dnskeys = zk->dnskeys(T0);
  }
  auto before = pemFiles(dir.path() + "/example.com");
  auto zk = openKeys(dir, shortPolicy(), T0 + 10);
  CHECK(zk->dsRecords(T0 + 10) == ds);
  CHECK(zk->dnskeys(T0 + 10) == dnskeys);
  CHECK(pemFiles(dir.path() + "/example.com") == before);
}

TEST_CASE("steps through a ZSK rollover: published, signing, removed with its PEM file") {
  TempDir dir;
  auto zk = openKeys(dir, shortPolicy());
  std::string zone_dir = dir.path() + "/example.com";
  uint16_t old_zsk = tagOf(*zk, KeyRole::Zsk, KeyState::Active, T0);
  auto nothing = zk->step(T0 + 500);
  REQUIRE(nothing.ok());
  CHECK_FALSE(*nothing);

  auto rolled = zk->step(T0 + 1000);
  REQUIRE(rolled.ok());
  CHECK(*rolled);
  CHECK(zk->dnskeys(T0 + 1000).size() == 3);
  CHECK(pemFiles(zone_dir).size() == 3);
  uint16_t new_zsk = tagOf(*zk, KeyRole::Zsk, KeyState::Published, T0 + 1000);
  CHECK(signingTags(*zk, T0 + 1000, kA) == std::set<uint16_t>{old_zsk});
  CHECK(zk->nextEvent() == T0 + 1150);

  auto switched = zk->step(T0 + 1150);
  REQUIRE(switched.ok());
  CHECK(*switched);  // no timer set, but the signing key changed
  CHECK(signingTags(*zk, T0 + 1150, kA) == std::set<uint16_t>{new_zsk});
  CHECK(zk->dnskeys(T0 + 1150).size() == 3);  // the old one still published
  CHECK(zk->nextEvent() == T0 + 1550);

  auto removed = zk->step(T0 + 1550);
  REQUIRE(removed.ok());
  CHECK(*removed);
  CHECK(zk->dnskeys(T0 + 1550).size() == 2);
  CHECK(pemFiles(zone_dir).size() == 2);
  CHECK(zk->status(T0 + 1550).size() == 2);
  // The state on disk is the same: a restart carries on from here.
  auto reopened = openKeys(dir, shortPolicy(), T0 + 1600);
  CHECK(tagOf(*reopened, KeyRole::Zsk, KeyState::Active, T0 + 1600) == new_zsk);
  CHECK(reopened->nextEvent() == T0 + 2150);
}

TEST_CASE("a KSK rollover: double signature, DS when ready, the old KSK gone after submitted") {
  TempDir dir;
  zone::DnssecPolicy policy = shortPolicy();
  policy.zsk_lifetime = 0;
  auto zk = openKeys(dir, policy);
  uint16_t old_ksk = tagOf(*zk, KeyRole::Ksk, KeyState::Active, T0);
  CHECK_FALSE(zk->dsSubmitted(T0 + 1).ok());
  REQUIRE(zk->startRollover(KeyRole::Ksk, T0 + 10).ok());
  CHECK_FALSE(zk->startRollover(KeyRole::Ksk, T0 + 11).ok());
  uint16_t new_ksk = tagOf(*zk, KeyRole::Ksk, KeyState::Published, T0 + 10);
  CHECK(zk->dnskeys(T0 + 10).size() == 3);
  CHECK(signingTags(*zk, T0 + 10, kDnskey) == std::set<uint16_t>{old_ksk, new_ksk});
  CHECK(zk->dsRecords(T0 + 10).size() == 1);  // not ready: only the old KSK's DS
  CHECK(zk->nextEvent() == T0 + 160);

  auto ready = zk->step(T0 + 160);
  REQUIRE(ready.ok());
  CHECK(*ready);
  auto both = zk->dsRecords(T0 + 160);
  REQUIRE(both.size() == 2);
  CHECK(std::count_if(both.begin(), both.end(), [&](const std::string& ds) {
          return ds.find(" DS " + std::to_string(new_ksk) + " ") != std::string::npos;
        }) == 1);

  REQUIRE(zk->dsSubmitted(T0 + 200).ok());
  CHECK(tagOf(*zk, KeyRole::Ksk, KeyState::Active, T0 + 200) == new_ksk);
  CHECK(tagOf(*zk, KeyRole::Ksk, KeyState::Retired, T0 + 200) == old_ksk);
  // The old KSK still signs the DNSKEY RRset until it is removed, for the old DS in caches.
  CHECK(signingTags(*zk, T0 + 200, kDnskey) == std::set<uint16_t>{old_ksk, new_ksk});
  auto after = zk->dsRecords(T0 + 200);
  REQUIRE(after.size() == 1);
  CHECK(after[0].find(" DS " + std::to_string(new_ksk) + " ") != std::string::npos);
  CHECK(zk->dnskeys(T0 + 200).size() == 3);  // the old KSK stays published a while
  auto removed = zk->step(T0 + 350);
  REQUIRE(removed.ok());
  CHECK(*removed);
  CHECK(zk->dnskeys(T0 + 350).size() == 2);
  CHECK(signingTags(*zk, T0 + 350, kDnskey) == std::set<uint16_t>{new_ksk});
}

TEST_CASE("an existing key directory keeps its mode; the zone's own is made private") {
  TempDir dir;
  REQUIRE(chmod(dir.path().c_str(), 0750) == 0);
  std::string zone_dir = dir.path() + "/example.com";
  REQUIRE(mkdir(zone_dir.c_str(), 0755) == 0);
  auto zk = openKeys(dir, shortPolicy());
  CHECK(mode(dir.path()) == 0750);
  CHECK(mode(zone_dir) == 0700);
  // A key directory that is not there yet is made, 0700.
  auto nested = ZoneKeys::open(dir.path() + "/keys", wireName("example.org."), shortPolicy(), kTimes, T0);
  REQUIRE(nested.ok());
  CHECK(mode(dir.path() + "/keys") == 0700);
  CHECK(mode(dir.path() + "/keys/example.org") == 0700);
}

TEST_CASE("a CSK zone: one key signs everything and has the DS") {
  TempDir dir;
  zone::DnssecPolicy policy = shortPolicy(true);
  policy.algorithm = zone::DnssecAlgorithm::Ed25519;
  auto zk = openKeys(dir, policy);
  REQUIRE(zk->status(T0).size() == 1);
  uint16_t csk = tagOf(*zk, KeyRole::Csk, KeyState::Active, T0);
  CHECK(signingTags(*zk, T0, kDnskey) == std::set<uint16_t>{csk});
  CHECK(signingTags(*zk, T0, kA) == std::set<uint16_t>{csk});
  auto ds = zk->dsRecords(T0);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].rfind("example.com. 50 IN DS " + std::to_string(csk) + " 15 2 ", 0) == 0);
  CHECK(zk->nextEvent() == 0);
}

TEST_CASE("the signature cache is the zone's: shared by its signers over time") {
  TempDir dir;
  auto zk = openKeys(dir, shortPolicy());
  std::vector<std::string> rdata{std::string("\x0a\0\0\x01", 4)};
  auto first = zk->signer(T0)->sign(wireName("www.example.com."), kA, 60, views(rdata));
  auto second = zk->signer(T0 + 1)->sign(wireName("www.example.com."), kA, 60, views(rdata));
  CHECK(first == second);
  CHECK(zk->stats()->signatures.load() == 1);
  CHECK(zk->cacheSize() == 1);
}

TEST_CASE("keys the policy cannot use, and a missing or broken state, are clear errors") {
  TempDir dir;
  { auto zk = openKeys(dir, shortPolicy()); }
  std::string zone_dir = dir.path() + "/example.com";
  zone::DnssecPolicy ed = shortPolicy();
  ed.algorithm = zone::DnssecAlgorithm::Ed25519;
  auto other_alg = ZoneKeys::open(dir.path(), wireName("example.com."), ed, kTimes, T0);
  REQUIRE_FALSE(other_alg.ok());
  CHECK(other_alg.error().text().find("ed25519") != std::string::npos);
  CHECK(other_alg.error().text().find(zone_dir + "/keys.json") != std::string::npos);
  auto csk = ZoneKeys::open(dir.path(), wireName("example.com."), shortPolicy(true), kTimes, T0);
  CHECK_FALSE(csk.ok());

  auto zk = openKeys(dir, shortPolicy());
  CHECK_FALSE(zk->update(ed, kTimes).ok());
  CHECK_FALSE(zk->update(shortPolicy(true), kTimes).ok());
  CHECK(zk->update(shortPolicy(), kTimes).ok());

  std::string pem = zone_dir + "/" + *pemFiles(zone_dir).begin() + ".pem";
  std::filesystem::remove(pem);
  auto missing = ZoneKeys::open(dir.path(), wireName("example.com."), shortPolicy(), kTimes, T0);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().text().find(pem) != std::string::npos);

  writeFile(zone_dir + "/keys.json", "{ nope");
  auto broken = ZoneKeys::open(dir.path(), wireName("example.com."), shortPolicy(), kTimes, T0);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().text().find(zone_dir + "/keys.json:1") != std::string::npos);
}

TEST_CASE("a changed policy moves the next event, and a due rollover is due at once") {
  TempDir dir;
  auto zk = openKeys(dir, shortPolicy());
  CHECK(zk->nextEvent() == T0 + 1000);
  zone::DnssecPolicy longer = shortPolicy();
  longer.zsk_lifetime = 5000;
  REQUIRE(zk->update(longer, kTimes).ok());
  CHECK(zk->nextEvent() == T0 + 5000);
  REQUIRE(zk->step(T0 + 2000).ok());
  zone::DnssecPolicy shorter = shortPolicy();
  shorter.zsk_lifetime = 1500;
  REQUIRE(zk->update(shorter, kTimes).ok());
  CHECK(zk->nextEvent() == T0 + 2000);  // due: the caller steps at once
  CHECK(zk->status(T0 + 2000).size() == 2);  // but the rollover starts at that step's time
  REQUIRE(zk->step(T0 + 2100).ok());
  CHECK(zk->status(T0 + 2100).size() == 3);
  CHECK(zk->nextEvent() == T0 + 2100 + 150);
}

TEST_CASE("the NSEC3 salt is made once, kept across restarts, and follows the policy's length") {
  TempDir dir;
  zone::DnssecPolicy policy = shortPolicy();
  policy.nsec3 = true;
  policy.nsec3_salt_length = 8;
  std::string salt;
  {
    auto zk = openKeys(dir, policy);
    salt = zk->nsec3Salt();
    CHECK(salt.size() == 8);
  }
  auto zk = openKeys(dir, policy);
  CHECK(zk->nsec3Salt() == salt);
  policy.nsec3_salt_length = 0;
  REQUIRE(zk->update(policy, kTimes).ok());
  CHECK(zk->nsec3Salt().empty());
  auto reopened = openKeys(dir, policy);
  CHECK(reopened->nsec3Salt().empty());
}
