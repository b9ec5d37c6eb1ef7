// admin_state_test.cc -- the operator's overrides (drain, weight, mark): which entry applies to
// which member, drains that expire, and the state file that keeps them over a restart.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dns/app/admin_state.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using app::AdminState;
using app::MemberAdmin;

namespace {

// Two pools sharing the address 192.0.2.2, so that an address-wide entry reaches both.
std::shared_ptr<zone::ZoneSet> twoPools() {
  zonetest::TempFile file(
      "origin = \"ad.test.\"\n[soa]\nprimary = \"ns1\"\ncontact = \"hostmaster\"\nserial = 1\n"
      "[names.\"@\"]\nNS = \"ns1\"\n[names.ns1]\nA = \"192.0.2.53\"\n"
      "[pools.www]\nnames = [\"www\"]\nmembers = [\"192.0.2.1\", \"192.0.2.2\"]\n"
      "[pools.www.check]\ntype = \"none\"\n"
      "[pools.api]\nnames = [\"api\"]\nmembers = [\"192.0.2.2\", \"192.0.2.3\"]\n"
      "[pools.api.check]\ntype = \"none\"\n");
  zone::ZoneLoad load = zone::loadTomlZone(file.path());
  REQUIRE_MESSAGE(load.zone.ok(), zonetest::joined(load.zone.errors()));
  auto zones = std::make_shared<zone::ZoneSet>();
  REQUIRE(zones->add(*load.zone).ok());
  zones->assignRotationSlots();
  return zones;
}

const zone::Pool& pool(const zone::ZoneSet& zones, const std::string& name) {
  for (const zone::Pool* p : zones.pools())
    if (p->name == name) return *p;
  FAIL("no pool " << name);
  throw 0;
}

// A path in a fresh directory, removed at the end of the test.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "rrdns-app-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()));
    dir = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string file(const char* name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

}  // namespace

TEST_CASE("admin state: a pool's own entry wins over the address-wide one") {
  auto zones = twoPools();
  AdminState state;
  CHECK(AdminState::key("", "192.0.2.2") == "192.0.2.2");
  CHECK(AdminState::key("www", "192.0.2.2") == "www/192.0.2.2");
  state.at("192.0.2.2").drained = true;
  state.at("www/192.0.2.2").weight = 7;

  const zone::Pool& www = pool(*zones, "www");
  const zone::Pool& api = pool(*zones, "api");
  const MemberAdmin* in_www = state.forMember(www, www.members[1]);
  REQUIRE(in_www);
  CHECK(in_www->weight == 7u);
  CHECK_FALSE(in_www->drained);  // the specific entry replaces the address-wide one, no merge
  const MemberAdmin* in_api = state.forMember(api, api.members[0]);
  REQUIRE(in_api);
  CHECK(in_api->drained);
  CHECK(state.forMember(www, www.members[0]) == nullptr);

  const auto overrides = state.overrides(*zones);
  REQUIRE(overrides.size() == zones->members().size());
  REQUIRE(overrides.size() == 4);
  CHECK(overrides[www.member_base + 1].weight == 7u);
  CHECK_FALSE(overrides[www.member_base + 1].drained);
  CHECK(overrides[api.member_base].drained);
  CHECK_FALSE(overrides[api.member_base].weight);
  CHECK_FALSE(overrides[www.member_base].drained);
  CHECK_FALSE(overrides[api.member_base + 1].up);
}

TEST_CASE("admin state: a mark becomes the member's up verdict") {
  auto zones = twoPools();
  AdminState state;
  state.at("api/192.0.2.3").mark = false;
  state.at("192.0.2.1").mark = true;
  const auto overrides = state.overrides(*zones);
  const zone::Pool& www = pool(*zones, "www");
  const zone::Pool& api = pool(*zones, "api");
  REQUIRE(overrides[api.member_base + 1].up);
  CHECK_FALSE(*overrides[api.member_base + 1].up);
  REQUIRE(overrides[www.member_base].up);
  CHECK(*overrides[www.member_base].up);
}

TEST_CASE("admin state: drains end at their time, and empty entries are pruned") {
  AdminState state;
  MemberAdmin& timed = state.at("192.0.2.1");
  timed.drained = true;
  timed.drain_until = 1000;
  MemberAdmin& timed_weight = state.at("192.0.2.2");
  timed_weight.drained = true;
  timed_weight.drain_until = 1000;
  timed_weight.weight = 5;
  state.at("192.0.2.3").drained = true;  // no end

  CHECK_FALSE(state.expire(999));
  CHECK(state.find("192.0.2.1"));
  std::vector<std::string> ended;
  CHECK(state.expire(1000, &ended));
  CHECK(ended == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});  // for the log line
  CHECK(state.find("192.0.2.1") == nullptr);  // nothing left to say: pruned
  const MemberAdmin* kept = state.find("192.0.2.2");
  REQUIRE(kept);  // the weight stays
  CHECK_FALSE(kept->drained);
  CHECK_FALSE(kept->drain_until);
  CHECK(kept->weight == 5u);
  REQUIRE(state.find("192.0.2.3"));
  CHECK(state.find("192.0.2.3")->drained);
  CHECK_FALSE(state.expire(1u << 30));

  state.at("192.0.2.9");  // an entry that says nothing
  CHECK(state.find("192.0.2.9"));
  state.prune();
  CHECK(state.find("192.0.2.9") == nullptr);
}

TEST_CASE("admin state: the state file keeps every field over a save and a load") {
  TempDir tmp;
  const std::string path = (tmp.dir / "state.json").string();
  AdminState state;
  state.at("192.0.2.1").drained = true;
  state.at("192.0.2.1").drain_until = 1700000000;
  state.at("www/192.0.2.2").weight = 0;
  state.at("2001:db8::1").mark = false;
  state.at("api/192.0.2.3").mark = true;
  REQUIRE(state.save(path).ok());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  AdminState back;
  back.at("192.0.2.99").drained = true;  // replaced by what the file holds
  REQUIRE(back.load(path).ok());
  CHECK(back.toJson() == state.toJson());
  CHECK(back.find("192.0.2.99") == nullptr);
  REQUIRE(back.find("www/192.0.2.2"));
  CHECK(back.find("www/192.0.2.2")->weight == 0u);
  REQUIRE(back.find("2001:db8::1"));
  CHECK(back.find("2001:db8::1")->mark == false);
  CHECK(back.find("192.0.2.1")->drain_until == 1700000000);
}

TEST_CASE("admin state: a missing state file is an empty state, a bad one an error") {
  TempDir tmp;
  AdminState state;
  state.at("192.0.2.1").drained = true;
  CHECK(state.load((tmp.dir / "absent.json").string()).ok());
  CHECK(state.find("192.0.2.1") == nullptr);

  struct Bad {
    const char* text;
    const char* error;
  };
  for (const Bad& bad : {
           Bad{"{", "corrupt state file"},
           Bad{"{\"version\": 2, \"members\": {}}", "unknown state file version"},
           Bad{"{\"members\": {}}", "corrupt state file"},
           Bad{"{\"version\": 1, \"members\": {\"a\": {\"mark\": \"sideways\"}}}",
               "a: mark is not up or down"},
           Bad{"{\"version\": 1, \"members\": {\"a\": {\"drained\": \"yes\"}}}",
               "corrupt state file"},
       }) {
    const std::string path = tmp.file("bad.json", bad.text);
    AdminState loaded;
    loaded.at("192.0.2.1").drained = true;
    const rrdns::Result<void> result = loaded.load(path);
    REQUIRE_FALSE(result.ok());
    const std::string error = result.error().text();
    INFO(std::string(bad.text));
    CHECK(error.find(path) == 0);
    CHECK(error.find(bad.error) != std::string::npos);
    CHECK(loaded.find("192.0.2.1") == nullptr);  // left empty
  }
}

TEST_CASE("admin state: a weight of -1 in a hand-edited state file is refused, not read as 4294967295") {
  TempDir tmp;
  for (const char* weight : {"-1", "1001", "4294967295", "2.5", "\"5\""}) {
    const std::string path = tmp.file(
        "state.json", std::string("{\"version\": 1, \"members\": {\"192.0.2.1\": {\"drained\": "
                                  "true}, \"www/192.0.2.2\": {\"weight\": ") +
                          weight + "}}}");
    AdminState state;
    const rrdns::Result<void> result = state.load(path);
    INFO(weight);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().text() == path + ": www/192.0.2.2: weight " + weight +
                                       " is not an integer from 0 to 1000");
    // As with every bad entry, the file is not half applied.
    CHECK(state.find("192.0.2.1") == nullptr);
    CHECK(state.find("www/192.0.2.2") == nullptr);
  }
  for (const char* weight : {"0", "1000"}) {
    const std::string path = tmp.file(
        "state.json",
        std::string("{\"version\": 1, \"members\": {\"a\": {\"weight\": ") + weight + "}}}");
    AdminState state;
    REQUIRE(state.load(path).ok());
    REQUIRE(state.find("a"));
    CHECK(state.find("a")->weight == static_cast<uint32_t>(std::stoul(weight)));
  }
}

TEST_CASE("admin state: health round trip - verdict, weight, observed time - and its age") {
  TempDir tmp;
  const std::string path = (tmp.dir / "state.json").string();
  rrdns::health::CheckSpec spec;
  spec.address = "127.0.0.12";
  spec.port = 8080;
  spec.interval_ms = 1000;
  spec.rise = 2;
  spec.fall = 3;
  const int64_t now = 1'764'770'000'000;
  AdminState state;
  state.at("192.0.2.1").drained = true;
  state.health()[spec.key()] = {spec.description(), {false, std::nullopt, now - 1500}};
  state.health()["tcp|11:192.0.2.7|443|1000|"] = {"tcp 192.0.2.7:443", {true, 40, now - 10}};
  REQUIRE(state.save(path).ok());

  AdminState back;
  REQUIRE(back.load(path).ok());
  CHECK(back.toJson() == state.toJson());
  REQUIRE(back.find("192.0.2.1"));  // the operator's entries are kept beside it
  REQUIRE(back.health().count(spec.key()) == 1);
  const auto& down = back.health().at(spec.key());
  CHECK(down.description == "http://127.0.0.12:8080/healthz");
  CHECK(down.health == rrdns::health::SavedHealth{false, std::nullopt, now - 1500});
  CHECK(back.health().at("tcp|11:192.0.2.7|443|1000|").health.reported_weight == 40);
  // Saved down 1.5 s ago: usable for 1 s x rise 2; not once 2 s have passed.
  CHECK(rrdns::health::savedHealthUsable(spec, down.health, now));
  CHECK_FALSE(rrdns::health::savedHealthUsable(spec, down.health, now + 500));

  // Loading replaces the saved health too.
  const std::string plain = tmp.file("plain.json", "{\"version\": 1, \"members\": {}}");
  REQUIRE(back.load(plain).ok());
  CHECK(back.health().empty());
}

TEST_CASE("admin state: a state file from before saved health still loads") {
  TempDir tmp;
  const std::string path = tmp.file(
      "old.json", "{\"version\": 1, \"members\": {\"www/192.0.2.2\": {\"weight\": 5}}}");
  AdminState state;
  REQUIRE(state.load(path).ok());
  CHECK(state.find("www/192.0.2.2")->weight == 5u);
  CHECK(state.health().empty());
  CHECK_FALSE(state.toJson().contains("health"));  // and is written back the same way
}

TEST_CASE("admin state: a malformed health entry is an error naming the file and the entry") {
  TempDir tmp;
  struct Bad {
    const char* health;
    const char* error;
  };
  for (const Bad& bad : {
           Bad{"[]", "health: is not an object"},
           Bad{"{\"k\": 1}", "k: health entry is not an object"},
           Bad{"{\"k\": {\"observed_ms\": 5}}", "k: health entry has no \"up\" of true or false"},
           Bad{"{\"k\": {\"up\": \"yes\", \"observed_ms\": 5}}", "k: health entry has no \"up\""},
           Bad{"{\"k\": {\"up\": true}}", "k: health entry has no \"observed_ms\""},
           Bad{"{\"k\": {\"up\": true, \"observed_ms\": \"now\"}}", "no \"observed_ms\""},
           Bad{"{\"k\": {\"up\": true, \"observed_ms\": -3}}", "no \"observed_ms\""},
           Bad{"{\"k\": {\"up\": true, \"observed_ms\": 5, \"weight\": 101}}",
               "k: health weight 101 is not an integer from 0 to 100"},
       }) {
    const std::string path = tmp.file(
        "bad.json", std::string("{\"version\": 1, \"members\": {\"192.0.2.1\": {\"drained\": "
                                "true}}, \"health\": ") +
                        bad.health + "}");
    AdminState state;
    const rrdns::Result<void> result = state.load(path);
    INFO(bad.health);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().text().find(path) == 0);
    CHECK(result.error().text().find(bad.error) != std::string::npos);
    CHECK(state.find("192.0.2.1") == nullptr);  // nothing half applied
    CHECK(state.health().empty());
  }
}
