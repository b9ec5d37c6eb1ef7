// explain_test.cc -- explain narrates what answer() does next, and never changes it.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/answer/explain.hh"
#include "dns/answer/pool_state.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::Record;
namespace type = wire::type;
using testutil::a;

namespace {

struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("ex.test."), "test");
    auto add = [&](const char* owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, ttl, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    add("ex.test.", type::SOA, 300, testutil::soaRdata("ex.test.", 1, 120));
    add("ex.test.", type::NS, 300, testutil::name("ns1.ex.test."));
    add("ex.test.", type::MX, 300, std::string("\0\x0a", 2) + testutil::name("ns1.ex.test."));
    add("ns1.ex.test.", type::A, 300, a("192.0.2.53"));
    for (int i = 1; i <= 3; ++i)
      add("www.ex.test.", type::A, 60, a(("10.0.0." + std::to_string(i)).c_str()));
    add("www.ex.test.", type::TXT, 60, "\x02hi");
    add("alias.ex.test.", type::CNAME, 300, testutil::name("www.ex.test."));
    add("chain.ex.test.", type::CNAME, 300, testutil::name("alias.ex.test."));
    add("outside.ex.test.", type::CNAME, 300, testutil::name("www.elsewhere.test."));
    add("dangling.ex.test.", type::CNAME, 300, testutil::name("nothere.ex.test."));
    add("towild.ex.test.", type::CNAME, 300, testutil::name("x.wild.ex.test."));
    add("loop1.ex.test.", type::CNAME, 300, testutil::name("loop2.ex.test."));
    add("loop2.ex.test.", type::CNAME, 300, testutil::name("loop1.ex.test."));
    add("*.wild.ex.test.", type::A, 30, a("192.0.2.80"));
    add("*.wild.ex.test.", type::A, 30, a("192.0.2.81"));
    add("sub.ex.test.", type::NS, 3600, testutil::name("ns.sub.ex.test."));
    add("ns.sub.ex.test.", type::A, 3600, a("192.0.2.99"));
    catalog = testutil::catalogOf(b);
  }

  answer::Explanation explain(const char* name, uint16_t qtype) const {
    return answer::explain(*catalog, nullptr, nullptr, nullptr, name, qtype);
  }

  Message ask(const char* name, uint16_t qtype) const {
    testutil::QuerySpec spec;
    spec.qname = name;
    spec.qtype = qtype;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    const auto o = answer::answer(*catalog, nullptr, {q, answer::Transport::Tcp}, out);
    REQUIRE(o.size > 0);
    return testutil::decode(out.data(), o.size);
  }
};

// A record of a real answer as explain writes it ("owner ttl IN TYPE rdata").
std::string line(const Message& m, const Record& r) {
  std::string rdata;
  if (r.type == type::A) rdata = m.address(r);
  if (r.type == type::CNAME || r.type == type::NS) rdata = m.rdataName(r);
  if (r.type == type::MX) rdata = std::to_string(r.rdata[0] << 8 | r.rdata[1]) + " " +
                                  m.rdataName(r, 2);
  if (r.type == type::TXT) rdata = "\"" + std::string(r.rdata.begin() + 1, r.rdata.end()) + "\"";
  return r.owner + " " + std::to_string(r.ttl) + " IN " + wire::typeName(r.type) + " " + rdata;
}

// What explain lists: the answer section, or a referral's NS records.
std::vector<std::string> shown(const Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.answer) out.push_back(line(m, r));
  if (m.answer.empty() && !m.aa())
    for (const auto& r : m.authority) out.push_back(line(m, r));
  return out;
}

bool hasStep(const answer::Explanation& e, const std::string& text) {
  for (const auto& s : e.steps)
    if (s.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "explain lists exactly what answer() sends next, round after round") {
  const std::pair<const char*, uint16_t> questions[] = {
      {"www.ex.test.", type::A},        {"www.ex.test.", type::TXT},
      {"www.ex.test.", type::MX},       {"alias.ex.test.", type::A},
      {"chain.ex.test.", type::A},      {"outside.ex.test.", type::A},
      {"dangling.ex.test.", type::A},   {"towild.ex.test.", type::A},
      {"loop1.ex.test.", type::A},      {"a.b.wild.ex.test.", type::A},
      {"host.sub.ex.test.", type::A},   {"ex.test.", type::MX},
      {"www.ex.test.", type::ANY},          {"nosuch.ex.test.", type::A},
      {"www.elsewhere.test.", type::A},
  };
  for (int round = 0; round < 4; ++round) {
    for (const auto& [name, qtype] : questions) {
      CAPTURE(name);
      CAPTURE(qtype);
      const answer::Explanation first = explain(name, qtype);
      const answer::Explanation again = explain(name, qtype);
      CHECK(again.records == first.records);  // explaining moved no cursor
      const Message m = ask(name, qtype);
      CHECK(first.records == shown(m));
      CHECK(first.rcode == wire::rcodeName(m.rcode()));
    }
  }
}

TEST_CASE_FIXTURE(Fixture, "explain names the outcome and says why, step by step") {
  auto e = explain("www.ex.test.", type::A);
  CHECK(e.outcome == "records");
  CHECK(e.zone == "ex.test.");
  CHECK(hasStep(e, "3 addresses rotate: the next answer starts at the "));

  e = explain("chain.ex.test.", type::A);
  CHECK(e.outcome == "cname");
  CHECK(hasStep(e, "chain.ex.test. is a CNAME for alias.ex.test."));
  CHECK(hasStep(e, "alias.ex.test. is a CNAME for www.ex.test."));
  CHECK(e.records.size() == 5);

  e = explain("outside.ex.test.", type::A);
  CHECK(e.outcome == "cname");
  CHECK(hasStep(e, "www.elsewhere.test. is outside ex.test.; the resolver follows it"));

  e = explain("loop1.ex.test.", type::A);
  CHECK(e.outcome == "cname");
  CHECK(hasStep(e, "loop1.ex.test. is a CNAME for loop2.ex.test."));
  CHECK(hasStep(e, "loop2.ex.test. is a CNAME for loop1.ex.test."));
  CHECK(hasStep(e, "loop1.ex.test. is a CNAME for loop2.ex.test., back into the chain: a CNAME "
                   "loop, which ends here"));
  CHECK(e.records.size() == 2);  // each CNAME once (RFC 2181 5)

  e = explain("dangling.ex.test.", type::A);
  CHECK(e.outcome == "nxdomain");
  CHECK(e.rcode == "NXDOMAIN");  // RFC 6604: the rcode of the last name
  CHECK(hasStep(e, "nothere.ex.test. does not exist; the SOA goes in the authority section "
                   "with TTL 120"));

  e = explain("a.b.wild.ex.test.", type::A);
  CHECK(e.outcome == "wildcard");
  CHECK(hasStep(e, "a.b.wild.ex.test. is synthesised from the wildcard *.wild.ex.test."));
  e = explain("towild.ex.test.", type::A);
  CHECK(e.outcome == "wildcard");

  e = explain("host.sub.ex.test.", type::A);
  CHECK(e.outcome == "referral");
  CHECK(hasStep(e, "at or below the zone cut sub.ex.test."));
  CHECK(e.records == std::vector<std::string>{"sub.ex.test. 3600 IN NS ns.sub.ex.test."});

  e = explain("www.ex.test.", type::MX);
  CHECK(e.outcome == "nodata");
  CHECK(e.rcode == "NOERROR");
  CHECK(hasStep(e, "www.ex.test. exists but has no MX records (NODATA, SOA in authority)"));

  e = explain("www.elsewhere.test.", type::A);
  CHECK(e.outcome == "refused");
  CHECK(e.rcode == "REFUSED");
  CHECK(e.zone.empty());

  e = explain("ex.test.", type::AXFR);
  CHECK(e.outcome == "error");
  e = explain("bad..name", type::A);
  CHECK(e.outcome == "error");
}

TEST_CASE("explain follows a weighted pool's schedule as answer() does") {
  zone::ZoneBuilder b(testutil::name("pool.test."), "test");
  REQUIRE(b.add(testutil::name("pool.test."), type::SOA, 300,
                testutil::soaRdata("pool.test.", 1, 60)).ok());
  REQUIRE(b.add(testutil::name("pool.test."), type::NS, 300, testutil::name("ns1.pool.test."))
              .ok());
  zone::Pool p;
  p.name = "www";
  p.owners = {testutil::name("www.pool.test.")};
  p.policy = zone::PoolPolicy::Weighted;
  p.ttl = 30;
  p.degraded_ttl = 5;
  const uint32_t weights[] = {300, 100, 100};
  for (int i = 0; i < 3; ++i) {
    zone::PoolMember m;
    m.text = "192.0.2." + std::to_string(i + 1);
    m.address = a(m.text.c_str());
    m.rtype = type::A;
    m.weight = weights[i];
    m.check.address = m.text;
    m.check.port = 8080;
    p.members.push_back(std::move(m));
  }
  REQUIRE(b.addPool(std::move(p)).ok());
  auto zones = testutil::zoneSetOf(b);
  auto catalog = answer::Catalog::make(zones);
  health::HealthSnapshot snapshot;
  snapshot.targets.assign(zones->targets().size(), {true, 100, 0});
  auto states = answer::computePoolStates(*zones, &snapshot, 1000000);
  states->catalog = catalog.get();

  testutil::QuerySpec spec;
  spec.qname = "www.pool.test.";
  const auto q = testutil::query(spec);
  std::vector<uint8_t> out(65535);
  for (int round = 0; round < 10; ++round) {
    const auto e =
        answer::explain(*catalog, states.get(), &snapshot, nullptr, "www.pool.test.", type::A);
    REQUIRE(e.outcome == "pool");
    CHECK(e.policy == "weighted");
    const auto o = answer::answer(*catalog, states.get(), {q, answer::Transport::Udp}, out);
    const Message m = testutil::decode(out.data(), o.size);
    CHECK(e.records == shown(m));
  }
}

TEST_CASE_FIXTURE(Fixture, "a client address or ECS changes nothing for names without sites") {
  answer::ExplainClient client;
  client.subnet = *topology::parseNetwork("10.1.2.0/24");
  sockaddr_storage source{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&source);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(0x0a010203);
  client.source = source;
  for (const char* name : {"www.ex.test.", "alias.ex.test.", "nosuch.ex.test."}) {
    CAPTURE(name);
    const answer::Explanation plain = explain(name, type::A);
    const answer::Explanation asked =
        answer::explain(*catalog, nullptr, nullptr, nullptr, name, type::A, client);
    CHECK(asked.records == plain.records);
    CHECK(asked.outcome == plain.outcome);
    CHECK(asked.rcode == plain.rcode);  // the query with its ECS option is well formed
    CHECK_FALSE(asked.route.has_value());
  }
  client.client_subnet = false;
  const answer::Explanation off =
      answer::explain(*catalog, nullptr, nullptr, nullptr, "www.ex.test.", type::A, client);
  CHECK(hasStep(off, "edns-client-subnet is off"));
}
