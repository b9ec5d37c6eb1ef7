#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <map>

#include "dns/answer/answer.hh"
#include "dns/answer/explain.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;
using testutil::a;
using testutil::aaaa;

namespace {


zone::PoolMember member(const char* address, uint32_t weight) {
  zone::PoolMember m;
  m.text = address;
  uint8_t b[16];
  if (inet_pton(AF_INET, address, b) == 1) {
    m.address.assign(reinterpret_cast<char*>(b), 4);
    m.rtype = type::A;
  } else {
    REQUIRE(inet_pton(AF_INET6, address, b) == 1);
    m.address.assign(reinterpret_cast<char*>(b), 16);
    m.rtype = type::AAAA;
  }
  m.weight = weight;
  m.check.address = address;
  m.check.port = 8080;
  return m;
}

zone::Pool pool(const char* name, std::vector<zone::PoolMember> members,
                zone::PoolPolicy policy = zone::PoolPolicy::Rotate) {
  zone::Pool p;
  p.name = name;
  p.owners = {testutil::name(std::string(name) + ".pool.test.")};
  p.members = std::move(members);
  p.policy = policy;
  p.ttl = 30;
  p.degraded_ttl = 5;
  return p;
}

struct PoolFixture {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const answer::Catalog> catalog;
  std::shared_ptr<answer::PoolStates> states;

  // Builds pool.test with the given pools; `configure` may adjust them first.
  explicit PoolFixture(std::vector<zone::Pool> pools) {
    zone::ZoneBuilder b(testutil::name("pool.test."), "test");
    REQUIRE(b.add(testutil::name("pool.test."), type::SOA, 300, testutil::soaRdata("pool.test.", 1, 60)).ok());
    REQUIRE(b.add(testutil::name("pool.test."), type::NS, 300, testutil::name("ns1.pool.test.")).ok());
    REQUIRE(b.add(testutil::name("alias.pool.test."), type::CNAME, 300,
                  testutil::name("www.pool.test.")).ok());
    for (auto& p : pools) {
      const std::string err = zonetest::messageOf(b.addPool(std::move(p)));
      REQUIRE_MESSAGE(err.empty(), err);
    }
    zones = testutil::zoneSetOf(b);
    catalog = answer::Catalog::make(zones);
  }

  // Health of every target, in ZoneSet::targets() order; publishes computed states.
  void health(std::vector<health::TargetHealth> targets, uint64_t now_ms = 1000000) {
    health::HealthSnapshot snapshot;
    snapshot.targets = std::move(targets);
    REQUIRE(snapshot.targets.size() == zones->targets().size());
    states = answer::computePoolStates(*zones, &snapshot, now_ms);
    states->catalog = catalog.get();
  }

  const answer::FamilyState& family(const char* pool_name, int f = 0) {
    for (const zone::Pool* p : zones->pools())
      if (p->name == pool_name) return (states ? *states : *catalog->initial_pools).pools[p->id].family[f];
    FAIL("no pool " << pool_name);
    throw 0;
  }

  Message ask(const char* qname, uint16_t qtype = type::A) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    const auto o = answer::answer(*catalog, states.get(), {q, answer::Transport::Udp}, out);
    REQUIRE(o.size > 0);
    return testutil::decode(out.data(), o.size);
  }
};

health::TargetHealth up() { return {true, 100, 0}; }
health::TargetHealth down() { return {false, 100, 0}; }

}  // namespace

TEST_CASE("smooth weighted round robin spreads a round as evenly as possible") {
  // nginx's classic example: weights 5, 1, 1 give a a b a c a a.
  CHECK(answer::smoothSchedule({5, 1, 1}) == std::vector<uint16_t>{0, 0, 1, 0, 2, 0, 0});
  CHECK(answer::smoothSchedule({2, 2}) == std::vector<uint16_t>{0, 1});  // gcd-reduced
  const auto big = answer::smoothSchedule({60, 30, 10});
  REQUIRE(big.size() == 10);
  std::map<uint16_t, int> counts;
  for (auto i : big) ++counts[i];
  CHECK(counts[0] == 6);
  CHECK(counts[1] == 3);
  CHECK(counts[2] == 1);
  CHECK(answer::smoothSchedule({10000, 1}).size() <= answer::kMaxSchedule);
  CHECK(answer::smoothSchedule({}).empty());
}

TEST_CASE("effective weight: load feedback and slow start scale it, 0 stays 0") {
  CHECK(answer::effectiveWeight(100, 100, UINT64_MAX, 0) == 100);
  CHECK(answer::effectiveWeight(100, 50, UINT64_MAX, 0) == 50);
  CHECK(answer::effectiveWeight(100, 0, UINT64_MAX, 0) == 0);
  CHECK(answer::effectiveWeight(0, 100, UINT64_MAX, 0) == 0);
  CHECK(answer::effectiveWeight(100, 100, 5000, 10000) == 50);  // half way through slow start
  CHECK(answer::effectiveWeight(100, 100, 0, 10000) == 1);      // just back: the smallest share
  CHECK(answer::effectiveWeight(100, 100, 20000, 10000) == 100);
}

TEST_CASE("before any check reports, members are at their initial state") {
  auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)});
  p.members[1].check.initial_up = false;
  PoolFixture fx({std::move(p)});
  const auto& f = fx.family("www");
  CHECK(f.mode == answer::PoolMode::Degraded);
  CHECK(f.eligible == std::vector<uint16_t>{0});
  CHECK(f.ttl == 5);
  const Message m = fx.ask("www.pool.test.");
  CHECK(m.addresses(m.answer) == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("rotate: healthy members only, cyclic order, degraded TTL while one is down") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100),
                               member("192.0.2.3", 100)})});
  fx.health({up(), up(), up()});
  CHECK(fx.family("www").mode == answer::PoolMode::Healthy);
  Message m = fx.ask("www.pool.test.");
  CHECK(m.aa());
  REQUIRE(m.answer.size() == 3);
  CHECK(m.answer[0].ttl == 30);
  const auto first = m.addresses(m.answer);
  const Message next = fx.ask("www.pool.test.");
  const auto second = next.addresses(next.answer);
  // The next answer is the same cycle, one member further.
  CHECK(second == std::vector<std::string>{first[1], first[2], first[0]});

  fx.health({up(), down(), up()});
  CHECK(fx.family("www").mode == answer::PoolMode::Degraded);
  std::map<std::string, int> firsts;
  for (int i = 0; i < 10; ++i) {
    const Message d = fx.ask("www.pool.test.");
    const auto got = d.addresses(d.answer);
    REQUIRE(got.size() == 2);
    CHECK(d.answer[0].ttl == 5);
    for (const auto& a : got) CHECK(a != "192.0.2.2");
    ++firsts[got[0]];
  }
  CHECK(firsts["192.0.2.1"] == 5);
  CHECK(firsts["192.0.2.3"] == 5);
}

TEST_CASE("a CNAME to a pool name is answered from the pool") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)})});
  const Message m = fx.ask("alias.pool.test.");
  REQUIRE(m.answer.size() == 3);
  CHECK(m.answer[0].type == type::CNAME);
  CHECK(m.addresses(m.answer).size() == 2);
}

TEST_CASE("max-addresses caps the answer") {
  auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100),
                        member("192.0.2.3", 100)});
  p.max_addresses = 1;
  PoolFixture fx({std::move(p)});
  std::map<std::string, int> seen;
  for (int i = 0; i < 6; ++i) {
    const Message m = fx.ask("www.pool.test.");
    REQUIRE(m.answer.size() == 1);
    ++seen[m.address(m.answer[0])];
  }
  CHECK(seen.size() == 3);
  for (const auto& [address, count] : seen) CHECK(count == 2);
}

TEST_CASE("address families are answered separately, and a family without members is NODATA") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("2001:db8::1", 100)})});
  const Message v6 = fx.ask("www.pool.test.", type::AAAA);
  REQUIRE(v6.answer.size() == 1);
  CHECK(v6.answer[0].type == type::AAAA);
  PoolFixture v4only({pool("www", {member("192.0.2.1", 100)})});
  const Message none = v4only.ask("www.pool.test.", type::AAAA);
  CHECK(none.rcode() == rcode::NOERROR);
  CHECK(none.answer.empty());
  REQUIRE(none.authority.size() == 1);
  CHECK(none.authority[0].type == type::SOA);
}

TEST_CASE("weight 0 is drained: never answered while another member is up") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 0)})});
  fx.health({up(), up()});
  for (int i = 0; i < 4; ++i) {
    const Message m = fx.ask("www.pool.test.");
    CHECK(m.addresses(m.answer) == std::vector<std::string>{"192.0.2.1"});
  }
  CHECK(fx.family("www").mode == answer::PoolMode::Healthy);
  fx.health({down(), up()});  // only the drained one is left: it answers
  const Message last = fx.ask("www.pool.test.");
  CHECK(last.addresses(last.answer) == std::vector<std::string>{"192.0.2.2"});
  CHECK(fx.family("www").mode == answer::PoolMode::Degraded);
}

TEST_CASE("min-healthy: below the fraction the pool fails open to every member") {
  auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100),
                        member("192.0.2.3", 100), member("192.0.2.4", 0)});
  p.min_healthy = 0.5;
  PoolFixture fx({std::move(p)});
  fx.health({up(), up(), down(), up()});  // 2 of 3 non-drained: enough
  CHECK(fx.family("www").mode == answer::PoolMode::Degraded);
  CHECK(fx.family("www").eligible.size() == 2);
  fx.health({up(), down(), down(), up()});  // 1 of 3: fail open, the drained one stays out
  CHECK(fx.family("www").mode == answer::PoolMode::FailOpen);
  const Message m = fx.ask("www.pool.test.");
  CHECK(m.addresses(m.answer).size() == 3);
  CHECK(m.answer[0].ttl == 5);
}

TEST_CASE("all down: all, none and servfail") {
  SUBCASE("all (default) answers every member") {
    PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)})});
    fx.health({down(), down()});
    CHECK(fx.family("www").mode == answer::PoolMode::FailOpen);
    CHECK(fx.ask("www.pool.test.").answer.size() == 2);
  }
  SUBCASE("none is NODATA") {
    auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)});
    p.all_down = zone::AllDown::None;
    PoolFixture fx({std::move(p)});
    fx.health({down(), down()});
    const Message m = fx.ask("www.pool.test.");
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(m.answer.empty());
    CHECK(m.authority.size() == 1);
  }
  SUBCASE("servfail") {
    auto p = pool("www", {member("192.0.2.1", 100)});
    p.all_down = zone::AllDown::Servfail;
    PoolFixture fx({std::move(p)});
    fx.health({down()});
    const Message m = fx.ask("www.pool.test.");
    CHECK(m.rcode() == rcode::SERVFAIL);
    CHECK(m.answer.empty());
  }
}

TEST_CASE("load feedback scales weights, and 0 sheds the member without calling it down") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)},
                       zone::PoolPolicy::Weighted)});
  fx.health({{true, 100, 0}, {true, 25, 0}});
  CHECK(fx.family("www").weights == std::vector<uint32_t>{100, 25});
  CHECK(fx.family("www").schedule.size() == 5);  // 4:1 after reduction
  fx.health({{true, 100, 0}, {true, 0, 0}});
  CHECK(fx.family("www").eligible == std::vector<uint16_t>{0});
  CHECK(fx.family("www").up == 2);
}

TEST_CASE("slow start ramps a returning member and asks to be recomputed") {
  auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)},
                zone::PoolPolicy::Weighted);
  p.slow_start_ms = 10000;
  PoolFixture fx({std::move(p)});
  fx.health({up(), {true, 100, 1000}}, 1000 + 2500);  // back for 2.5 s of 10 s
  CHECK(fx.family("www").weights == std::vector<uint32_t>{100, 25});
  CHECK(fx.states->ramping);
  fx.health({up(), {true, 100, 1000}}, 1000 + 20000);
  CHECK(fx.family("www").weights == std::vector<uint32_t>{100, 100});
  CHECK_FALSE(fx.states->ramping);
}

TEST_CASE("weighted: over 10,000 answers first addresses follow the weights (chi-square)") {
  for (auto policy : {zone::PoolPolicy::Weighted, zone::PoolPolicy::Random}) {
    CAPTURE(static_cast<int>(policy));
    PoolFixture fx({pool("www", {member("192.0.2.1", 60), member("192.0.2.2", 30),
                                 member("192.0.2.3", 10)}, policy)});
    fx.health({up(), up(), up()});
    std::map<std::string, int> firsts;
    for (int i = 0; i < 10000; ++i) {
      const Message m = fx.ask("www.pool.test.");
      REQUIRE(m.answer.size() == 3);
      ++firsts[m.address(m.answer[0])];
    }
    const double expected[] = {6000, 3000, 1000};
    const char* addresses[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
    double chi2 = 0;
    for (int i = 0; i < 3; ++i) {
      const double d = firsts[addresses[i]] - expected[i];
      chi2 += d * d / expected[i];
    }
    // 2 degrees of freedom: chi2 > 27.6 has probability 1e-6. Smooth WRR is exact (chi2 = 0).
    CHECK(chi2 < 27.6);
    if (policy == zone::PoolPolicy::Weighted) CHECK(chi2 == 0);
  }
}

TEST_CASE("states computed for another catalog are ignored") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)})});
  fx.health({down(), up()});
  fx.states->catalog = nullptr;  // as if computed for the previous catalog
  CHECK(fx.ask("www.pool.test.").answer.size() == 2);  // initial states: both up
}

TEST_CASE("the outcome names the member answered first, for answer-share counters") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)})});
  QuerySpec spec;
  spec.qname = "www.pool.test.";
  std::vector<uint8_t> out(65535);
  for (int i = 0; i < 4; ++i) {
    const auto o = answer::answer(*fx.catalog, nullptr,
                                  {testutil::query(spec), answer::Transport::Udp}, out);
    REQUIRE(o.first_member != answer::Outcome::kNoMember);
    const Message m = testutil::decode(out.data(), o.size);
    CHECK(fx.zones->members()[o.first_member]->text == m.address(m.answer[0]));
    CHECK(o.qtype == type::A);
  }
  spec.qname = "alias.pool.test.";
  spec.qtype = type::TXT;  // no pool answer: no member
  const auto none = answer::answer(*fx.catalog, nullptr,
                                   {testutil::query(spec), answer::Transport::Udp}, out);
  CHECK(none.first_member == answer::Outcome::kNoMember);
  CHECK(none.qtype == type::TXT);
}

TEST_CASE("operator overrides: drain, weight and mark win over the zone file and the checks") {
  PoolFixture fx({pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100)},
                       zone::PoolPolicy::Weighted)});
  health::HealthSnapshot snapshot;
  snapshot.targets = {up(), down()};
  std::vector<answer::MemberOverride> overrides(fx.zones->members().size());
  auto compute = [&] {
    fx.states = answer::computePoolStates(*fx.zones, &snapshot, 1000, &overrides);
    fx.states->catalog = fx.catalog.get();
    return fx.family("www");
  };
  CHECK(compute().eligible == std::vector<uint16_t>{0});
  overrides[1].up = true;  // an external monitor says the second is fine
  CHECK(compute().eligible == std::vector<uint16_t>{0, 1});
  overrides[0].weight = 300;
  CHECK(compute().weights == std::vector<uint32_t>{300, 100});
  overrides[0].drained = true;  // drained beats the weight override
  CHECK(compute().eligible == std::vector<uint16_t>{1});
  overrides[1].up = false;  // now nothing but the drained member is up: it answers
  const auto last = compute();
  CHECK(last.eligible == std::vector<uint16_t>{0});
  CHECK(last.mode == answer::PoolMode::Degraded);
}

TEST_CASE("explain says which members answer next and why, without moving the cursor") {
  auto p = pool("www", {member("192.0.2.1", 100), member("192.0.2.2", 100),
                        member("192.0.2.3", 100)});
  PoolFixture fx({std::move(p)});
  fx.health({up(), down(), up()});
  std::vector<answer::MemberOverride> overrides(fx.zones->members().size());
  overrides[2].drained = true;
  health::HealthSnapshot snapshot;
  snapshot.targets = {up(), down(), up()};
  fx.states = answer::computePoolStates(*fx.zones, &snapshot, 1000, &overrides);
  fx.states->catalog = fx.catalog.get();

  const auto e = answer::explain(*fx.catalog, fx.states.get(), &snapshot, &overrides,
                                 "alias.pool.test", type::A);
  CHECK(e.zone == "pool.test.");
  CHECK(e.outcome == "pool");
  CHECK(e.pool == "www");
  CHECK(e.mode == "degraded");
  CHECK(e.ttl == 5);
  CHECK(e.ttl_rule.find("degraded-ttl") != std::string::npos);
  REQUIRE(e.candidates.size() == 3);
  CHECK(e.candidates[0].state == "up");
  CHECK(e.candidates[0].eligible);
  CHECK(e.candidates[1].state == "down");
  CHECK_FALSE(e.candidates[1].eligible);
  CHECK(e.candidates[2].state == "drained");
  CHECK(e.candidates[2].note == "drained by an operator");
  REQUIRE(e.records.size() == 2);  // the CNAME, then the one eligible member
  CHECK(e.records[0] == "alias.pool.test. 300 IN CNAME www.pool.test.");
  CHECK(e.records[1] == "www.pool.test. 5 IN A 192.0.2.1");
  // explain must not advance rotation: the real answer still starts where explain said.
  const Message m = fx.ask("www.pool.test.");
  CHECK(m.address(m.answer[0]) == "192.0.2.1");

  CHECK(answer::explain(*fx.catalog, nullptr, nullptr, nullptr, "nosuch.pool.test.", type::A)
            .outcome == "nxdomain");
  CHECK(answer::explain(*fx.catalog, nullptr, nullptr, nullptr, "elsewhere.test.", type::A)
            .outcome == "refused");
}
