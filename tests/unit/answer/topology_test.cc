// topology_test.cc -- pools with sites in the answer path: which state a client gets (by its ECS
// address, else its source address, IPv4-mapped counting as IPv4, else the default list), the
// ECS scope the response carries, Outcome::spilled, and the fast path giving the general path's
// bytes. The TopologyState is built here by hand from a route table (computePoolStates builds it
// from the zone's sites in the daemon).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <optional>

#include "dns/answer/answer.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::ednsOption;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;

namespace {

const char* const kMembers[] = {"192.0.2.11", "192.0.2.12", "192.0.2.21", "192.0.2.22"};

// geo.test: pool www with members 0-1 in "east" and 2-3 in "west". The map: 10.1.0.0/16 east,
// 10.2.0.0/16 west, 2001:db8:1::/48 east; everyone else (the default list) the whole pool.
struct TopologyFixture {
  std::shared_ptr<const answer::Catalog> fast, general;
  std::shared_ptr<answer::PoolStates> fast_states, general_states;

  TopologyFixture() {
    zone::ZoneBuilder b(testutil::name("geo.test."), "test");
    REQUIRE(b.add(testutil::name("geo.test."), type::SOA, 300,
                  testutil::soaRdata("geo.test.", 1, 60)).ok());
    REQUIRE(b.add(testutil::name("geo.test."), type::NS, 300, testutil::name("ns1.geo.test."))
                .ok());
    REQUIRE(b.add(testutil::name("ns1.geo.test."), type::A, 300, testutil::a("192.0.2.53")).ok());
    zone::Pool pool;
    pool.name = "www";
    pool.owners = {testutil::name("www.geo.test.")};
    for (const char* address : kMembers) {
      zone::PoolMember m;
      m.text = address;
      m.address = testutil::a(address);
      m.rtype = type::A;
      m.check.address = address;
      m.check.port = 8080;
      pool.members.push_back(m);
    }
    pool.ttl = 30;
    pool.degraded_ttl = 5;
    const std::string err = zonetest::messageOf(b.addPool(std::move(pool)));
    REQUIRE_MESSAGE(err.empty(), err);
    fast = testutil::catalogOf(b);
    auto copy = std::make_shared<answer::Catalog>(*fast);
    copy->precompiled = answer::FastPath{};
    copy->rotation = std::make_shared<answer::RotationState>(fast->zones->rotationSlots());
    general = copy;

    // Sites: the whole pool's state cut down to each site's members.
    const answer::FamilyState& whole = fast->initial_pools->pools[0].family[0];
    REQUIRE(whole.eligible.size() == 4);
    auto site = [&](size_t from, bool spilled) {
      answer::SiteAnswer a;
      a.state = whole;
      a.state.eligible.assign(whole.eligible.begin() + from, whole.eligible.begin() + from + 2);
      a.state.weights.assign(2, 100);
      a.state.records = whole.records.substr(from * whole.record_size, 2 * whole.record_size);
      a.sites = {static_cast<uint16_t>(from / 2)};
      a.spilled = spilled;
      return a;
    };
    auto topo = std::make_shared<answer::TopologyState>();
    answer::SiteAnswer all;
    all.state = whole;
    topo->answers[0] = {all, site(0, false), site(2, true)};  // west's clients spilled, say
    // Lists: 0 the default (the whole pool), 1 [east], 2 [west].
    topo->answer_of_list[0] = {0, 1, 2};
    topology::PrefixMap v4(topology::Family::V4, 0), v6(topology::Family::V6, 0);
    v4.add(*topology::parseNetwork("10.1.0.0/16"), 1);
    v4.add(*topology::parseNetwork("10.2.0.0/16"), 2);
    v6.add(*topology::parseNetwork("2001:db8:1::/48"), 1);
    topo->routes[0][0] = v4.route(topo->answer_of_list[0]);
    topo->routes[0][1] = v6.route(topo->answer_of_list[0]);
    // AAAA: no members of that family; the whole pool's (empty) state for everyone.
    topo->answers[1] = {answer::SiteAnswer{fast->initial_pools->pools[0].family[1], {}, false}};
    topo->answer_of_list[1] = {0, 0, 0};
    topo->routes[1][0] = v4.route(topo->answer_of_list[1]);
    topo->routes[1][1] = v6.route(topo->answer_of_list[1]);

    fast_states = std::make_shared<answer::PoolStates>(*fast->initial_pools);
    fast_states->catalog = fast.get();
    fast_states->pools[0].topology = topo;
    general_states = std::make_shared<answer::PoolStates>(*fast_states);
    general_states->catalog = general.get();
  }

  // Asks both paths (they must agree byte for byte) with an ECS option of `subnet` (empty: none)
  // from `source` (null: none).
  Message ask(const std::string& subnet, const sockaddr* source, answer::Outcome* outcome = nullptr,
              bool on = true) {
    QuerySpec spec;
    spec.qname = "www.geo.test.";
    spec.edns = true;
    if (!subnet.empty()) spec.edns_options = ednsOption(8, subnet);
    const auto q = testutil::query(spec);
    answer::Options options;
    options.client_subnet = on;
    answer::Request request{q, answer::Transport::Udp, source};
    std::vector<uint8_t> a(65535), b(65535);
    const answer::Outcome x = answer::answer(*fast, fast_states.get(), request, a, options);
    const answer::Outcome y = answer::answer(*general, general_states.get(), request, b, options);
    a.resize(x.size);
    b.resize(y.size);
    CHECK(a == b);
    CHECK(x.scope == y.scope);
    CHECK(x.spilled == y.spilled);
    CHECK(x.first_member == y.first_member);
    if (outcome) *outcome = x;
    REQUIRE(x.size > 0);
    return testutil::decode(a.data(), a.size());
  }
};

std::string v4subnet(int source, std::initializer_list<int> address) {
  std::string s{'\0', '\1', static_cast<char>(source), '\0'};
  for (int b : address) s += static_cast<char>(b);
  return s;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const std::vector<std::string> kEast = {"192.0.2.11", "192.0.2.12"};
const std::vector<std::string> kWest = {"192.0.2.21", "192.0.2.22"};
const std::vector<std::string> kAll = {"192.0.2.11", "192.0.2.12", "192.0.2.21", "192.0.2.22"};

// The scope of the response's ECS option, or nullopt without one.
std::optional<int> scopeOf(const Message& m) {
  const testutil::Record* opt = m.opt();
  if (!opt || opt->rdata.size() < 8) return std::nullopt;
  return opt->rdata[7];
}

sockaddr_in v4source(const char* address) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, address, &sa.sin_addr) == 1);
  return sa;
}

sockaddr_in6 v6source(const char* address) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  REQUIRE(inet_pton(AF_INET6, address, &sa.sin6_addr) == 1);
  return sa;
}

}  // namespace

TEST_CASE_FIXTURE(TopologyFixture, "topology: the ECS address routes, and the scope is the map's") {
  answer::Outcome outcome;
  Message m = ask(v4subnet(24, {10, 1, 2}), nullptr, &outcome);
  CHECK(sorted(m.addresses(m.answer)) == kEast);
  CHECK(scopeOf(m) == 16);  // 10.1.0.0/16: every address in it gets east
  CHECK(outcome.scope == 16);
  CHECK_FALSE(outcome.spilled);

  m = ask(v4subnet(24, {10, 2, 5}), nullptr, &outcome);
  CHECK(sorted(m.addresses(m.answer)) == kWest);
  CHECK(scopeOf(m) == 16);
  CHECK(outcome.spilled);  // the state says west's clients spilled
  CHECK(outcome.first_member >= 2);

  // The default list: 10.3.0.0 shares its answer with everything up to 10.2.0.0/16's sibling,
  // 192.0.2.0 with everything outside 0.0.0.0/1.
  m = ask(v4subnet(24, {10, 3, 0}), nullptr, &outcome);
  CHECK(sorted(m.addresses(m.answer)) == kAll);
  CHECK(scopeOf(m) == 16);
  m = ask(v4subnet(24, {192, 0, 2}), nullptr);
  CHECK(sorted(m.addresses(m.answer)) == kAll);
  CHECK(scopeOf(m) == 1);
  // A scope longer than the source prefix (RFC 7871 7.2.1 allows it): 10.0.0.0/8 routes
  // 10.0.0.0, whose answer holds for 10.0.0.0/16 only (10.1.0.0/16 is east).
  m = ask(v4subnet(8, {10}), nullptr);
  CHECK(sorted(m.addresses(m.answer)) == kAll);
  CHECK(scopeOf(m) == 16);
  // IPv6.
  const std::string v6 =
      std::string("\0\2\x38\0", 4) + std::string("\x20\x01\x0d\xb8\x00\x01\x77", 7);
  m = ask(v6, nullptr);
  CHECK(sorted(m.addresses(m.answer)) == kEast);
  CHECK(scopeOf(m) == 48);
}

TEST_CASE_FIXTURE(TopologyFixture, "topology: without ECS the source routes, IPv4-mapped as IPv4") {
  const sockaddr_in east = v4source("10.1.200.7");
  answer::Outcome outcome;
  Message m = ask("", reinterpret_cast<const sockaddr*>(&east), &outcome);
  CHECK(sorted(m.addresses(m.answer)) == kEast);
  CHECK(scopeOf(m) == std::nullopt);  // no ECS asked, none sent
  CHECK(outcome.scope == 0);
  const sockaddr_in6 mapped = v6source("::ffff:10.2.0.9");
  m = ask("", reinterpret_cast<const sockaddr*>(&mapped), &outcome);
  CHECK(sorted(m.addresses(m.answer)) == kWest);
  CHECK(outcome.spilled);
  const sockaddr_in6 v6 = v6source("2001:db8:1:2::1");
  m = ask("", reinterpret_cast<const sockaddr*>(&v6));
  CHECK(sorted(m.addresses(m.answer)) == kEast);
  // The ECS address wins over the source...
  m = ask(v4subnet(24, {10, 2, 5}), reinterpret_cast<const sockaddr*>(&east));
  CHECK(sorted(m.addresses(m.answer)) == kWest);
  CHECK(scopeOf(m) == 16);
  // ...unless ECS is off: then the source routes and no option goes back.
  m = ask(v4subnet(24, {10, 2, 5}), reinterpret_cast<const sockaddr*>(&east), &outcome, false);
  CHECK(sorted(m.addresses(m.answer)) == kEast);
  CHECK(scopeOf(m) == std::nullopt);
  CHECK(outcome.scope == 0);
  // No client at all (a tool's query): the default list.
  m = ask("", nullptr);
  CHECK(sorted(m.addresses(m.answer)) == kAll);
}

TEST_CASE_FIXTURE(TopologyFixture, "topology: names without sites keep scope 0 beside them") {
  QuerySpec spec;
  spec.qname = "ns1.geo.test.";
  spec.edns = true;
  spec.edns_options = ednsOption(8, v4subnet(24, {10, 1, 2}));
  const auto q = testutil::query(spec);
  std::vector<uint8_t> out(65535);
  const answer::Outcome o =
      answer::answer(*fast, fast_states.get(), {q, answer::Transport::Udp}, out);
  const Message m = testutil::decode(out.data(), o.size);
  CHECK(m.answer.size() == 1);
  CHECK(scopeOf(m) == 0);
  CHECK(o.scope == 0);
}
