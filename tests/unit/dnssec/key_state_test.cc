// Key timers over time (dns/dnssec/key_state.cc): the planner on a made-up clock, the operator's
// rollovers, and the state file.
#include "dns/dnssec/key_state.hh"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "tests/unit/dnssec/dnssec_test_util.hh"

using namespace rrdns;
using namespace rrdns::dnssec;
using namespace dnssectest;

namespace {

constexpr uint64_t T0 = 1'800'000'000;

zone::DnssecPolicy shortPolicy(bool csk = false) {
  zone::DnssecPolicy p;
  p.single_type_signing = csk;
  p.zsk_lifetime = 1000;
  p.propagation_delay = 100;
  return p;
}
const ZoneTimes kTimes{50, 300};  // dnskey-ttl 50, largest TTL 300

// Gives the plan's new keys ids and tags, as ZoneKeys does after generating them.
KeySet named(KeySet set) {
  static int next = 0;
  for (KeyRecord& k : set.keys) {
    if (!k.id.empty()) continue;
    ++next;
    k.id = std::string(40, 'a') + std::to_string(next);
    k.tag = static_cast<uint16_t>(1000 + next);
  }
  return set;
}

const KeyRecord* find(const KeySet& set, KeyRole role, KeyState state, uint64_t now) {
  for (const KeyRecord& k : set.keys)
    if (k.role == role && keyState(k, now) == state) return &k;
  return nullptr;
}

size_t count(const KeySet& set, KeyRole role) {
  return static_cast<size_t>(std::count_if(set.keys.begin(), set.keys.end(),
                                           [role](const KeyRecord& k) { return k.role == role; }));
}

}  // namespace

TEST_CASE("a zone without keys gets a KSK and a ZSK, published and active at once") {
  KeyPlan plan = planKeys({}, shortPolicy(), kTimes, T0);
  CHECK(plan.changed);
  REQUIRE(plan.keys.keys.size() == 2);
  for (const KeyRecord& k : plan.keys.keys) {
    CHECK(k.id.empty());
    CHECK(k.algorithm == zone::DnssecAlgorithm::EcdsaP256Sha256);
    CHECK(k.created == T0);
    CHECK(k.publish == T0);
    CHECK(k.active == T0);
    CHECK(k.retire == 0);
    CHECK(k.remove == 0);
    CHECK(keyState(k, T0) == KeyState::Active);
  }
  CHECK(count(plan.keys, KeyRole::Ksk) == 1);
  CHECK(count(plan.keys, KeyRole::Zsk) == 1);
  CHECK(find(plan.keys, KeyRole::Ksk, KeyState::Active, T0)->ready == T0);  // its DS may go up now
  CHECK(plan.next_event == T0 + 1000);  // the ZSK's rollover
  // Planned again with nothing due: nothing changes.
  KeySet keys = named(plan.keys);
  KeyPlan again = planKeys(keys, shortPolicy(), kTimes, T0 + 999);
  CHECK_FALSE(again.changed);
  CHECK(again.keys.keys.size() == 2);
  CHECK(again.next_event == T0 + 1000);
}

TEST_CASE("single-type-signing: one CSK, which is not rolled by the clock") {
  zone::DnssecPolicy policy = shortPolicy(true);
  policy.algorithm = zone::DnssecAlgorithm::Ed25519;
  KeyPlan plan = planKeys({}, policy, kTimes, T0);
  REQUIRE(plan.keys.keys.size() == 1);
  CHECK(plan.keys.keys[0].role == KeyRole::Csk);
  CHECK(plan.keys.keys[0].algorithm == zone::DnssecAlgorithm::Ed25519);
  CHECK(plan.next_event == 0);
  KeyPlan later = planKeys(named(plan.keys), policy, kTimes, T0 + 100000);
  CHECK_FALSE(later.changed);
  CHECK(later.keys.keys.size() == 1);
}

TEST_CASE("the ZSK rolls by pre-publication: published, active after propagation + dnskey-ttl, "
          "the old one removed after propagation + the largest TTL") {
  zone::DnssecPolicy policy = shortPolicy();
  KeySet keys = named(planKeys({}, policy, kTimes, T0).keys);
  std::string old_id = find(keys, KeyRole::Zsk, KeyState::Active, T0)->id;

  KeyPlan roll = planKeys(keys, policy, kTimes, T0 + 1000);
  CHECK(roll.changed);
  keys = named(roll.keys);
  REQUIRE(count(keys, KeyRole::Zsk) == 2);
  const KeyRecord* old_zsk = find(keys, KeyRole::Zsk, KeyState::Active, T0 + 1000);
  const KeyRecord* successor = find(keys, KeyRole::Zsk, KeyState::Published, T0 + 1000);
  REQUIRE(old_zsk);
  REQUIRE(successor);
  CHECK(old_zsk->id == old_id);
  CHECK(successor->publish == T0 + 1000);
  CHECK(successor->active == T0 + 1000 + 100 + 50);
  CHECK(old_zsk->retire == T0 + 1150);
  CHECK(old_zsk->remove == T0 + 1150 + 100 + 300);
  CHECK(roll.next_event == T0 + 1150);
  // The KSK is not touched.
  CHECK(find(keys, KeyRole::Ksk, KeyState::Active, T0 + 1000)->retire == 0);

  // While the successor waits, no second rollover starts, however late the planner runs.
  KeyPlan waiting = planKeys(keys, policy, kTimes, T0 + 1100);
  CHECK_FALSE(waiting.changed);
  CHECK(waiting.keys.keys.size() == 3);
  CHECK(waiting.next_event == T0 + 1150);

  // The switch: the successor signs, the old key is retired (still published).
  KeyPlan active = planKeys(keys, policy, kTimes, T0 + 1150);
  CHECK_FALSE(active.changed);  // timers reached, none set
  CHECK(keyState(*successor, T0 + 1150) == KeyState::Active);
  CHECK(keyState(*old_zsk, T0 + 1150) == KeyState::Retired);
  CHECK(active.next_event == T0 + 1550);

  // Removal: the old key leaves the set; the next rollover is lifetime after the new activation.
  KeyPlan removed = planKeys(keys, policy, kTimes, T0 + 1550);
  CHECK(removed.changed);
  REQUIRE(count(removed.keys, KeyRole::Zsk) == 1);
  CHECK(removed.keys.keys.size() == 2);
  CHECK(find(removed.keys, KeyRole::Zsk, KeyState::Active, T0 + 1550)->id == successor->id);
  CHECK(removed.next_event == T0 + 1150 + 1000);
}

TEST_CASE("zsk-lifetime 0 never rolls the ZSK") {
  zone::DnssecPolicy policy = shortPolicy();
  policy.zsk_lifetime = 0;
  KeyPlan plan = planKeys({}, policy, kTimes, T0);
  CHECK(plan.next_event == 0);
  KeyPlan later = planKeys(named(plan.keys), policy, kTimes, T0 + 10'000'000);
  CHECK_FALSE(later.changed);
  CHECK(later.keys.keys.size() == 2);
}

TEST_CASE("a daemon that was down past every timer catches up in one step") {
  zone::DnssecPolicy policy = shortPolicy();
  KeySet keys = named(planKeys({}, policy, kTimes, T0).keys);
  keys = named(planKeys(keys, policy, kTimes, T0 + 1000).keys);
  REQUIRE(keys.keys.size() == 3);
  // Long after the old ZSK's removal and past the new one's own lifetime: the old one leaves and
  // the new one (active since T0 + 1150) starts its successor.
  KeyPlan plan = planKeys(keys, policy, kTimes, T0 + 5000);
  CHECK(plan.changed);
  REQUIRE(count(plan.keys, KeyRole::Zsk) == 2);
  CHECK(find(plan.keys, KeyRole::Zsk, KeyState::Active, T0 + 5000)->retire == T0 + 5150);
  CHECK(find(plan.keys, KeyRole::Zsk, KeyState::Published, T0 + 5000)->active == T0 + 5150);
}

TEST_CASE("the operator's ZSK rollover starts now, once") {
  zone::DnssecPolicy policy = shortPolicy();
  KeySet keys = named(planKeys({}, policy, kTimes, T0).keys);
  auto plan = startRollover(keys, KeyRole::Zsk, policy, kTimes, T0 + 10);
  REQUIRE(plan.ok());
  CHECK(plan->changed);
  keys = named(plan->keys);
  const KeyRecord* successor = find(keys, KeyRole::Zsk, KeyState::Published, T0 + 10);
  REQUIRE(successor);
  CHECK(successor->active == T0 + 160);
  CHECK(plan->next_event == T0 + 160);
  auto twice = startRollover(keys, KeyRole::Zsk, policy, kTimes, T0 + 20);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().text().find("under way") != std::string::npos);
}

TEST_CASE("a KSK rollover is double-signature: ready after propagation + dnskey-ttl, the old KSK "
          "retires when the DS is submitted") {
  zone::DnssecPolicy policy = shortPolicy();
  policy.zsk_lifetime = 0;  // only the KSK moves here
  KeySet keys = named(planKeys({}, policy, kTimes, T0).keys);
  const uint64_t T1 = T0 + 500;
  CHECK_FALSE(dsSubmitted(keys, policy, kTimes, T1).ok());  // nothing waits for a DS

  auto plan = startRollover(keys, KeyRole::Ksk, policy, kTimes, T1);
  REQUIRE(plan.ok());
  keys = named(plan->keys);
  REQUIRE(count(keys, KeyRole::Ksk) == 2);
  const KeyRecord* successor = find(keys, KeyRole::Ksk, KeyState::Published, T1);
  REQUIRE(successor);
  CHECK(successor->publish == T1);
  CHECK(successor->ready == T1 + 150);
  CHECK(successor->active == 0);  // signs the DNSKEY RRset (the signer's rule), not active yet
  CHECK(plan->next_event == T1 + 150);
  std::string new_id = successor->id;
  auto again = startRollover(keys, KeyRole::Ksk, policy, kTimes, T1 + 1);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().text().find("under way") != std::string::npos);

  // Submitted too early: refused with the time it will be ready.
  auto early = dsSubmitted(keys, policy, kTimes, T1 + 149);
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().text().find(std::to_string(T1 + 150)) != std::string::npos);
  CHECK(keyState(*successor, T1 + 150) == KeyState::Ready);

  // Still waiting much later: the planner leaves it be (no timer of its own moves it on).
  KeyPlan waiting = planKeys(keys, policy, kTimes, T1 + 400);
  CHECK(find(waiting.keys, KeyRole::Ksk, KeyState::Ready, T1 + 400)->id == new_id);

  auto submitted = dsSubmitted(keys, policy, kTimes, T1 + 400);
  REQUIRE(submitted.ok());
  CHECK(submitted->changed);
  keys = submitted->keys;
  const KeyRecord* now_active = find(keys, KeyRole::Ksk, KeyState::Active, T1 + 400);
  REQUIRE(now_active);
  CHECK(now_active->id == new_id);
  CHECK(now_active->submitted == T1 + 400);
  const KeyRecord* old_ksk = find(keys, KeyRole::Ksk, KeyState::Retired, T1 + 400);
  REQUIRE(old_ksk);
  CHECK(old_ksk->retire == T1 + 400);
  CHECK(old_ksk->remove == T1 + 400 + 100 + 50);  // propagation + dnskey-ttl
  KeyPlan gone = planKeys(keys, policy, kTimes, T1 + 550);
  CHECK(gone.changed);
  CHECK(count(gone.keys, KeyRole::Ksk) == 1);
  CHECK(gone.keys.keys.size() == 2);
  CHECK_FALSE(dsSubmitted(gone.keys, policy, kTimes, T1 + 600).ok());
}

TEST_CASE("a CSK rolls like a KSK, its old key kept as long as its data signatures live") {
  zone::DnssecPolicy policy = shortPolicy(true);
  KeySet keys = named(planKeys({}, policy, kTimes, T0).keys);
  CHECK_FALSE(startRollover(keys, KeyRole::Ksk, policy, kTimes, T0).ok());
  CHECK_FALSE(startRollover(keys, KeyRole::Zsk, policy, kTimes, T0).ok());
  auto plan = startRollover(keys, KeyRole::Csk, policy, kTimes, T0);
  REQUIRE(plan.ok());
  keys = named(plan->keys);
  CHECK(count(keys, KeyRole::Csk) == 2);
  auto submitted = dsSubmitted(keys, policy, kTimes, T0 + 150);
  REQUIRE(submitted.ok());
  const KeyRecord* old_csk = find(submitted->keys, KeyRole::Csk, KeyState::Retired, T0 + 150);
  REQUIRE(old_csk);
  CHECK(old_csk->remove == T0 + 150 + 100 + 300);  // propagation + the largest TTL
  // A KSK + ZSK zone has no CSK to roll.
  KeySet split = named(planKeys({}, shortPolicy(), kTimes, T0).keys);
  CHECK_FALSE(startRollover(split, KeyRole::Csk, shortPolicy(), kTimes, T0).ok());
}

TEST_CASE("key states follow the timers; their names") {
  KeyRecord k;
  k.publish = 10;
  k.ready = 20;
  k.active = 30;
  k.retire = 40;
  k.remove = 50;
  CHECK(keyState(k, 9) == KeyState::Generated);
  CHECK(keyState(k, 10) == KeyState::Published);
  CHECK(keyState(k, 20) == KeyState::Ready);
  CHECK(keyState(k, 30) == KeyState::Active);
  CHECK(keyState(k, 40) == KeyState::Retired);
  CHECK(keyState(k, 50) == KeyState::Removed);
  CHECK(keyStateName(KeyState::Generated) == "generated");
  CHECK(keyStateName(KeyState::Published) == "published");
  CHECK(keyStateName(KeyState::Ready) == "ready");
  CHECK(keyStateName(KeyState::Active) == "active");
  CHECK(keyStateName(KeyState::Retired) == "retired");
  CHECK(keyStateName(KeyState::Removed) == "removed");
}

TEST_CASE("keys.json round-trips, is 0600 and replaced atomically") {
  TempDir dir;
  std::string path = dir.path() + "/keys.json";
  auto none = readKeySet(path);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  KeySet set = named(planKeys({}, shortPolicy(), kTimes, T0).keys);
  set.keys[0].submitted = T0 + 7;
  set.keys[1].retire = T0 + 8;
  set.keys[1].remove = T0 + 9;
  set.nsec3_salt = std::string("\x00\xff\x10", 3);
  REQUIRE(writeKeySet(path, set).ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  auto read = readKeySet(path);
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  const KeySet& back = **read;
  CHECK(back.nsec3_salt == set.nsec3_salt);
  REQUIRE(back.keys.size() == set.keys.size());
  for (size_t i = 0; i < set.keys.size(); ++i) {
    const KeyRecord &a = set.keys[i], &b = back.keys[i];
    CHECK(a.id == b.id);
    CHECK(a.tag == b.tag);
    CHECK(a.algorithm == b.algorithm);
    CHECK(a.role == b.role);
    CHECK(a.created == b.created);
    CHECK(a.publish == b.publish);
    CHECK(a.ready == b.ready);
    CHECK(a.active == b.active);
    CHECK(a.retire == b.retire);
    CHECK(a.remove == b.remove);
    CHECK(a.submitted == b.submitted);
  }
  // Written again over a file someone opened up: private again.
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  REQUIRE(writeKeySet(path, back).ok());
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("a broken keys.json is an error that says where") {
  TempDir dir;
  std::string path = dir.path() + "/keys.json";
  writeFile(path, "{\n  \"version\": 1,\n  \"keys\": [\n    {\"id\": \"ab\",,}\n  ]\n}\n");
  auto bad_json = readKeySet(path);
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.error().text().rfind(path + ":4: ", 0) == 0);

  writeFile(path, R"({"version": 1, "keys": [{"id": "../../etc/x", "tag": 1, "algorithm": 13, "role": "ksk"}]})");
  auto bad_id = readKeySet(path);
  REQUIRE_FALSE(bad_id.ok());
  CHECK(bad_id.error().text().find("keys[0].id") != std::string::npos);

  writeFile(path, R"({"version": 1, "keys": [{"id": "ab", "tag": 1, "algorithm": 8, "role": "ksk"}]})");
  CHECK_FALSE(readKeySet(path).ok());
  writeFile(path, R"({"version": 1, "keys": [{"id": "ab", "tag": 1, "algorithm": 13, "role": "big"}]})");
  CHECK_FALSE(readKeySet(path).ok());
  writeFile(path, R"({"version": 2, "keys": []})");
  CHECK_FALSE(readKeySet(path).ok());
  writeFile(path, R"({"version": 1, "keys": [{"id": "ab", "tag": 1, "algorithm": 13, "role": "zsk", "active": -5}]})");
  CHECK_FALSE(readKeySet(path).ok());
  writeFile(path, R"({"version": 1, "keys": [{"id": "ab", "tag": 1, "algorithm": 13, "role": "zsk", "active": 5}]})");
  auto good = readKeySet(path);
  REQUIRE(good.ok());
  CHECK((*good)->keys.at(0).active == 5);
}
