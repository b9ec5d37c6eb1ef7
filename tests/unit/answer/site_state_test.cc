// Pools with sites (dns/answer/pool_state.cc, docs/topology.md): which sites can answer per
// address family, what each site list's clients get (the first site alone, a spill shared by
// capacity, the whole pool), the distinct answers and the route tables built from them.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <numeric>

#include "dns/answer/pool_state.hh"
#include "dns/topology/network.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using answer::PoolMode;
using answer::SiteAnswer;
using answer::TopologyState;
namespace type = wire::type;

namespace {

zone::PoolMember member(const char* address, uint16_t site, uint32_t weight = 100) {
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
  m.site = site;
  m.check.address = address;
  m.check.port = 8080;
  return m;
}

// A map whose lists are given as names; networks[0] sends 10.<i>.0.0/16 to lists[i] (i >= 1).
std::shared_ptr<topology::TopologyMap> mapOf(std::vector<topology::SiteList> lists) {
  auto map = std::make_shared<topology::TopologyMap>();
  map->name = "geo";
  map->lists = std::move(lists);
  for (uint32_t i = 1; i < map->lists.size(); ++i)
    map->networks[0].add(*topology::parseNetwork("10." + std::to_string(i) + ".0.0/16"), i);
  return map;
}

// A pool with `sites` (names) and `members`, its lists from `map` by name.
zone::Pool sitePool(std::vector<std::string> site_names, std::vector<zone::PoolMember> members,
                    std::shared_ptr<const topology::TopologyMap> map) {
  zone::Pool p;
  p.name = "www";
  p.owners = {testutil::name("www.pool.test.")};
  p.members = std::move(members);
  p.ttl = 30;
  p.degraded_ttl = 5;
  for (const auto& name : site_names) {
    zone::Site site;
    site.name = name;
    p.sites.push_back(site);
  }
  for (const auto& list : map->lists) {
    std::vector<uint16_t> indexes;
    for (const auto& name : list)
      for (uint16_t s = 0; s < p.sites.size(); ++s)
        if (p.sites[s].name == name) indexes.push_back(s);
    p.site_lists.push_back(indexes);
  }
  p.map = std::move(map);
  return p;
}

struct SiteFixture {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<answer::PoolStates> states;

  explicit SiteFixture(zone::Pool pool) {
    zone::ZoneBuilder b(testutil::name("pool.test."), "test");
    REQUIRE(
        b.add(testutil::name("pool.test."), type::SOA, 300, testutil::soaRdata("pool.test.", 1, 60))
            .ok());
    REQUIRE(
        b.add(testutil::name("pool.test."), type::NS, 300, testutil::name("ns1.pool.test.")).ok());
    const std::string err = zonetest::messageOf(b.addPool(std::move(pool)));
    REQUIRE_MESSAGE(err.empty(), err);
    zones = testutil::zoneSetOf(b);
  }

  const zone::Pool& pool() const { return *zones->pools().front(); }

  // `up[i]`: whether member i is up (targets are the members, in order: all distinct here).
  void health(std::vector<health::TargetHealth> targets, uint64_t now_ms = 1000000,
              const std::vector<answer::MemberOverride>* overrides = nullptr) {
    REQUIRE(targets.size() == zones->targets().size());
    health::HealthSnapshot snapshot;
    snapshot.targets = std::move(targets);
    // The states before lend their route tables, as the catalog publisher has them do.
    states = answer::computePoolStates(*zones, &snapshot, now_ms, overrides, states.get());
  }

  const answer::PoolState& state() const { return states->pools[pool().id]; }
  const TopologyState& topology() const {
    REQUIRE(state().topology);
    return *state().topology;
  }
  // What clients of site list `list` get, for family f (0: A, 1: AAAA).
  const SiteAnswer& answerFor(size_t list, int f = 0) const {
    const TopologyState& t = topology();
    REQUIRE(list < t.answer_of_list[f].size());
    return t.answers[f].at(t.answer_of_list[f][list]);
  }
  // The texts of the members an answer may give first.
  std::vector<std::string> texts(const SiteAnswer& a) const {
    std::vector<std::string> out;
    for (uint16_t i : a.state.eligible) out.push_back(pool().members[i].text);
    return out;
  }
};

health::TargetHealth up() { return {true, 100, 0}; }
health::TargetHealth down() { return {false, 100, 0}; }

using Names = std::vector<std::string>;
using Sites = std::vector<uint16_t>;

}  // namespace

TEST_CASE("a pool without sites has no topology state") {
  zone::Pool p;
  p.name = "plain";
  p.owners = {testutil::name("plain.pool.test.")};
  p.members = {member("192.0.2.1", 0)};
  SiteFixture fx(std::move(p));
  fx.health({up()});
  CHECK_FALSE(fx.state().topology);
}

TEST_CASE("the first site of a list answers alone while it can, per address family") {
  // east has A and AAAA members, west A only.
  SiteFixture fx(sitePool({"east", "west"},
                          {member("192.0.2.1", 0), member("192.0.2.2", 0), member("2001:db8::1", 0),
                           member("198.51.100.1", 1), member("198.51.100.2", 1)},
                          mapOf({{}, {"east", "west"}, {"west", "east"}})));
  fx.health({up(), up(), up(), up(), up()});

  // A: list 1 east alone, list 2 west alone, the default (empty) list the whole pool.
  CHECK(fx.answerFor(1).sites == Sites{0});
  CHECK_FALSE(fx.answerFor(1).spilled);
  CHECK(fx.texts(fx.answerFor(1)) == Names{"192.0.2.1", "192.0.2.2"});
  CHECK(fx.answerFor(1).state.mode == PoolMode::Healthy);
  CHECK(fx.answerFor(1).state.ttl == 30);
  CHECK(fx.answerFor(1).state.policy == zone::PoolPolicy::Rotate);
  CHECK(fx.answerFor(1).state.records.size() == 2 * 16);  // the fast path's records
  CHECK(fx.answerFor(2).sites == Sites{1});
  CHECK(fx.texts(fx.answerFor(2)) == Names{"198.51.100.1", "198.51.100.2"});
  CHECK(fx.answerFor(0).sites.empty());
  CHECK_FALSE(fx.answerFor(0).spilled);  // no list at all is not a spill
  CHECK(fx.texts(fx.answerFor(0)) ==
        Names{"192.0.2.1", "192.0.2.2", "198.51.100.1", "198.51.100.2"});
  // The pool as a whole is still there, as before sites.
  CHECK(fx.state().family[0].eligible.size() == 4);

  // AAAA: west has no AAAA member, so it cannot answer; its clients spill to east.
  CHECK(fx.answerFor(1, 1).sites == Sites{0});
  CHECK_FALSE(fx.answerFor(1, 1).spilled);
  CHECK(fx.answerFor(2, 1).sites == Sites{0});
  CHECK(fx.answerFor(2, 1).spilled);
  CHECK(fx.texts(fx.answerFor(2, 1)) == Names{"2001:db8::1"});
  CHECK(fx.answerFor(2, 1).state.ttl == 5);  // a spill is served with the degraded TTL
}

TEST_CASE("min-healthy per site: below it the site passes its clients on, no fail-open inside") {
  auto p = sitePool({"east", "west"},
                    {member("192.0.2.1", 0), member("192.0.2.2", 0), member("192.0.2.3", 0),
                     member("192.0.2.4", 0), member("198.51.100.1", 1)},
                    mapOf({{}, {"east", "west"}}));
  p.sites[0].min_healthy = 0.5;
  SiteFixture fx(std::move(p));

  fx.health({up(), up(), down(), down(), up()});  // 2 of 4: enough
  CHECK(fx.answerFor(1).sites == Sites{0});
  CHECK(fx.answerFor(1).state.mode == PoolMode::Degraded);
  CHECK(fx.answerFor(1).state.ttl == 5);
  CHECK(fx.texts(fx.answerFor(1)) == Names{"192.0.2.1", "192.0.2.2"});
  CHECK(fx.answerFor(1).state.up == 2);
  CHECK(fx.answerFor(1).state.active == 4);

  fx.health({up(), down(), down(), down(), up()});  // 1 of 4: east's clients go to west
  CHECK(fx.answerFor(1).sites == Sites{1});
  CHECK(fx.answerFor(1).spilled);
  CHECK(fx.texts(fx.answerFor(1)) == Names{"198.51.100.1"});
}

TEST_CASE("a site whose members are all drained moves its clients to the next site") {
  SiteFixture fx(sitePool(
      {"east", "west"}, {member("192.0.2.1", 0), member("192.0.2.2", 0), member("198.51.100.1", 1)},
      mapOf({{}, {"east", "west"}})));
  std::vector<answer::MemberOverride> overrides(3);
  overrides[0].drained = true;
  fx.health({up(), up(), up()}, 1000000, &overrides);
  CHECK(fx.answerFor(1).sites == Sites{0});  // one left: east still answers
  CHECK(fx.texts(fx.answerFor(1)) == Names{"192.0.2.2"});
  overrides[1].weight = 0;  // weight 0 drains as well
  fx.health({up(), up(), up()}, 1000000, &overrides);
  CHECK(fx.answerFor(1).sites == Sites{1});
  CHECK(fx.answerFor(1).spilled);
  CHECK(fx.texts(fx.answerFor(1)) == Names{"198.51.100.1"});
}

TEST_CASE("spilled clients are shared by capacity over the next `spill` usable sites") {
  // a is down; b (capacity 100, two members weighted 3:1) and c (capacity 300, one member).
  auto build = [](uint32_t spill, zone::PoolPolicy policy) {
    auto p = sitePool(
        {"a", "b", "skip", "c"},
        {member("192.0.2.1", 0), member("198.51.100.1", 1, 300), member("198.51.100.2", 1, 100),
         member("203.0.113.9", 2), member("203.0.113.1", 3)},
        mapOf({{}, {"a", "b", "skip", "c"}}));
    p.sites[3].capacity = 300;
    p.spill = spill;
    p.policy = policy;
    return p;
  };
  SUBCASE("weighted schedule: b gets 1/4 of first addresses (3:1 inside), c 3/4") {
    SiteFixture fx(build(2, zone::PoolPolicy::Rotate));
    fx.health({down(), up(), up(), down(), up()});  // "skip" is down and skipped
    const SiteAnswer& a = fx.answerFor(1);
    CHECK(a.spilled);
    CHECK(a.sites == Sites{1, 3});
    CHECK(fx.texts(a) == Names{"198.51.100.1", "198.51.100.2", "203.0.113.1"});
    CHECK(a.state.policy == zone::PoolPolicy::Weighted);  // the pool's rotate gives way
    CHECK(a.state.mode == PoolMode::Degraded);
    CHECK(a.state.ttl == 5);
    REQUIRE_FALSE(a.state.schedule.empty());
    std::map<uint16_t, size_t> firsts;  // positions in eligible
    for (uint16_t position : a.state.schedule) ++firsts[position];
    const double n = static_cast<double>(a.state.schedule.size());
    CHECK(firsts[0] / n == doctest::Approx(3.0 / 16).epsilon(0.01));
    CHECK(firsts[1] / n == doctest::Approx(1.0 / 16).epsilon(0.01));
    CHECK(firsts[2] / n == doctest::Approx(12.0 / 16).epsilon(0.01));
  }
  SUBCASE("spill = 1: the next usable site only") {
    SiteFixture fx(build(1, zone::PoolPolicy::Rotate));
    fx.health({down(), up(), up(), up(), up()});
    CHECK(fx.answerFor(1).sites == Sites{1});
    CHECK(fx.answerFor(1).spilled);
  }
  SUBCASE("random stays random, its running sums in the capacity ratio") {
    SiteFixture fx(build(2, zone::PoolPolicy::Random));
    fx.health({down(), up(), up(), down(), up()});
    const SiteAnswer& a = fx.answerFor(1);
    CHECK(a.state.policy == zone::PoolPolicy::Random);
    REQUIRE(a.state.cumulative.size() == 3);
    const double total = a.state.cumulative.back();
    CHECK(a.state.cumulative[1] / total == doctest::Approx(0.25).epsilon(0.01));
  }
  SUBCASE("spill = 0: no spill, the pool as a whole") {
    SiteFixture fx(build(0, zone::PoolPolicy::Rotate));
    fx.health({down(), up(), up(), up(), up()});
    CHECK(fx.answerFor(1).sites.empty());
    CHECK(fx.answerFor(1).spilled);
    CHECK(fx.answerFor(1).state.eligible == fx.state().family[0].eligible);
  }
}

TEST_CASE("no site of the list can answer: the pool's own all-down rule") {
  auto build = [](zone::AllDown all_down) {
    auto p = sitePool({"east", "west"}, {member("192.0.2.1", 0), member("198.51.100.1", 1)},
                      mapOf({{}, {"east", "west"}, {"east"}}));
    p.all_down = all_down;
    return p;
  };
  SiteFixture fail_open(build(zone::AllDown::All));
  fail_open.health({down(), down()});
  CHECK(fail_open.answerFor(1).sites.empty());
  CHECK(fail_open.answerFor(1).spilled);
  CHECK(fail_open.answerFor(1).state.mode == PoolMode::FailOpen);
  CHECK(fail_open.texts(fail_open.answerFor(1)) == Names{"192.0.2.1", "198.51.100.1"});

  SiteFixture servfail(build(zone::AllDown::Servfail));
  servfail.health({down(), down()});
  CHECK(servfail.answerFor(1).state.mode == PoolMode::AllDownServfail);
  // Only east listed, east down, west up: the whole pool answers, with west's member.
  servfail.health({down(), up()});
  CHECK(servfail.answerFor(2).sites.empty());
  CHECK(servfail.answerFor(2).spilled);
  CHECK(servfail.answerFor(2).state.mode == PoolMode::Degraded);
  CHECK(servfail.texts(servfail.answerFor(2)) == Names{"198.51.100.1"});
}

TEST_CASE("lists that answer alike share one answer, and the route tables follow them") {
  // Lists: 0 default [], 1 [b, a], 2 [a, b], 3 [a, c], 4 [b]; list i serves 10.i.0.0/16.
  SiteFixture fx(
      sitePool({"a", "b", "c"},
               {member("192.0.2.1", 0), member("198.51.100.1", 1), member("203.0.113.1", 2)},
               mapOf({{}, {"b", "a"}, {"a", "b"}, {"a", "c"}, {"b"}})));
  auto routed = [&](const char* address) {
    uint8_t b[4];
    REQUIRE(inet_pton(AF_INET, address, b) == 1);
    return fx.topology().routes[0][0].find(b);
  };

  fx.health({up(), up(), up()});
  // a alone for lists 2 and 3; b alone for 1 and 4; the whole pool for the default.
  {
    const TopologyState& t = fx.topology();
    CHECK(t.answers[0].size() == 3);
    CHECK(t.answer_of_list[0][2] == t.answer_of_list[0][3]);
    CHECK(t.answer_of_list[0][1] == t.answer_of_list[0][4]);
    CHECK(t.answer_of_list[0][0] != t.answer_of_list[0][1]);
    CHECK(t.answer_of_list[0][0] != t.answer_of_list[0][2]);
    CHECK(routed("10.2.2.3").answer == t.answer_of_list[0][2]);
    CHECK(routed("10.4.2.3").answer == t.answer_of_list[0][4]);
    CHECK(routed("192.0.2.1").answer == t.answer_of_list[0][0]);
    // 10.2/16 and 10.3/16 answer alike: the scope widens to their /15.
    CHECK(routed("10.3.2.3").scope == 15);
    CHECK(routed("10.1.2.3").scope == 16);
  }

  fx.health({down(), up(), up()});
  // a is down: [a, b] spills to b, [a, c] to c; [b, a] and [b] get b alone, not spilled.
  const TopologyState& t = fx.topology();
  CHECK(t.answers[0].size() == 4);
  CHECK(fx.answerFor(2).sites == Sites{1});
  CHECK(fx.answerFor(2).spilled);
  CHECK(fx.answerFor(3).sites == Sites{2});
  CHECK(fx.answerFor(1).sites == Sites{1});
  CHECK_FALSE(fx.answerFor(1).spilled);
  CHECK(t.answer_of_list[0][1] == t.answer_of_list[0][4]);
  CHECK(t.answer_of_list[0][2] != t.answer_of_list[0][1]);  // b spilled is not b alone
  CHECK(routed("10.2.2.3").answer == t.answer_of_list[0][2]);
  CHECK(routed("10.3.2.3").answer == t.answer_of_list[0][3]);
  CHECK(routed("10.3.2.3").scope == 16);  // 10.2 and 10.3 differ now
  // Every answer index is in range, for both families.
  for (int f = 0; f < 2; ++f)
    for (uint32_t i : t.answer_of_list[f]) CHECK(i < t.answers[f].size());
  // No AAAA member anywhere: every list gets the whole pool's NODATA (spilled or, for the
  // default list, not).
  CHECK(t.answers[1].size() == 2);
  CHECK(fx.answerFor(1, 1).state.eligible.empty());
}

TEST_CASE("slow start works inside a site, and in a spill") {
  auto p = sitePool({"east", "west"},
                    {member("192.0.2.1", 0), member("192.0.2.2", 0), member("198.51.100.1", 1),
                     member("198.51.100.2", 1)},
                    mapOf({{}, {"east", "west"}, {"west", "east"}}));
  p.slow_start_ms = 10000;
  p.policy = zone::PoolPolicy::Weighted;
  SiteFixture fx(std::move(p));
  fx.health({up(), {true, 100, 1000}, down(), down()}, 1000 + 2500);  // back for 2.5 s of 10
  CHECK(fx.states->ramping);
  CHECK(fx.answerFor(1).sites == Sites{0});
  CHECK(fx.answerFor(1).state.weights == std::vector<uint32_t>{100, 25});
  CHECK(fx.answerFor(1).state.schedule.size() == 5);
  // west is down: its clients spill to east, still ramped 4:1.
  const SiteAnswer& spill = fx.answerFor(2);
  CHECK(spill.sites == Sites{0});
  REQUIRE(spill.state.weights.size() == 2);
  CHECK(spill.state.weights[0] == doctest::Approx(4.0 * spill.state.weights[1]).epsilon(0.001));
  fx.health({up(), {true, 100, 1000}, down(), down()}, 1000 + 20000);
  CHECK(fx.answerFor(1).state.weights == std::vector<uint32_t>{100, 100});
  CHECK_FALSE(fx.states->ramping);
}

TEST_CASE("route tables carry over only while every list keeps its answer") {
  // Lists: 0 default [], 1 [b, a], 2 [a, b], 3 [a, c]; list i serves 10.i.0.0/16.
  SiteFixture fx(sitePool({"a", "b", "c"},
                          {member("192.0.2.1", 0), member("192.0.2.2", 0),
                           member("198.51.100.1", 1), member("203.0.113.1", 2)},
                          mapOf({{}, {"b", "a"}, {"a", "b"}, {"a", "c"}})));
  auto routed = [&](const char* address) {
    uint8_t b[4];
    REQUIRE(inet_pton(AF_INET, address, b) == 1);
    return fx.topology().routes[0][0].find(b);
  };
  fx.health({up(), up(), up(), up()});
  CHECK(fx.topology().map == fx.pool().map);
  CHECK(routed("10.3.2.3").scope == 15);  // 10.2 and 10.3 both get a
  // One of a's members goes down: a still answers, every list keeps its answer, the tables
  // carry over and still route alike.
  fx.health({up(), down(), up(), up()});
  CHECK(routed("10.3.2.3").scope == 15);
  CHECK(routed("10.3.2.3").answer == fx.topology().answer_of_list[0][3]);
  CHECK(fx.answerFor(3).state.mode == PoolMode::Degraded);
  // a goes down: 10.2 and 10.3 now differ, and the tables must say so.
  fx.health({down(), down(), up(), up()});
  CHECK(routed("10.3.2.3").scope == 16);
  CHECK(routed("10.2.2.3").answer == fx.topology().answer_of_list[0][2]);
  CHECK(routed("10.3.2.3").answer == fx.topology().answer_of_list[0][3]);
  CHECK(fx.answerFor(3).sites == Sites{2});
}
