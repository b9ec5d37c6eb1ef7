// subnet_test.cc -- EDNS Client Subnet (RFC 7871) in the answer path: which options are malformed
// (as Knot DNS 3.2 with edns-client-subnet on decides), the option every response to a
// well-formed one carries back, and the off switch; on the fast and the general path alike.
#include <doctest/doctest.h>

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
namespace rcode = wire::rcode;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s += static_cast<char>(v);
  return s;
}

// ECS option data: FAMILY, SOURCE, SCOPE, ADDRESS.
std::string subnet(int family, int source, int scope, const std::string& address) {
  return bytes({0, family, source, scope}) + address;
}

// The options of a response's OPT record, by code (the last of a code wins); nullopt: no OPT.
std::optional<std::vector<std::pair<uint16_t, std::string>>> optionsOf(const Message& m) {
  const testutil::Record* opt = m.opt();
  if (!opt) return std::nullopt;
  std::vector<std::pair<uint16_t, std::string>> out;
  const auto& r = opt->rdata;
  for (size_t at = 0; at < r.size();) {
    REQUIRE(at + 4 <= r.size());
    const uint16_t code = static_cast<uint16_t>(r[at] << 8 | r[at + 1]);
    const size_t len = static_cast<size_t>(r[at + 2] << 8 | r[at + 3]);
    REQUIRE(at + 4 + len <= r.size());
    out.emplace_back(code, std::string(r.begin() + at + 4, r.begin() + at + 4 + len));
    at += 4 + len;
  }
  return out;
}

std::optional<std::string> subnetOf(const Message& m) {
  const auto options = optionsOf(m);
  if (!options) return std::nullopt;
  for (const auto& [code, data] : *options)
    if (code == wire::edns_option::ECS) return data;
  return std::nullopt;
}

struct Fixture {
  std::shared_ptr<const answer::Catalog> fast, general;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("ecs.test."), "test");
    auto add = [&](const char* owner, uint16_t t, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, 300, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    add("ecs.test.", type::SOA, testutil::soaRdata("ecs.test.", 1, 120));
    add("ecs.test.", type::NS, testutil::name("ns1.ecs.test."));
    add("ns1.ecs.test.", type::A, testutil::a("192.0.2.53"));
    add("www.ecs.test.", type::A, testutil::a("192.0.2.1"));
    add("www.ecs.test.", type::A, testutil::a("192.0.2.2"));
    std::string big;
    for (int i = 0; i < 4; ++i) big += static_cast<char>(250) + std::string(250, 'x');
    add("big.ecs.test.", type::TXT, big);
    zone::Pool pool;
    pool.name = "app";
    pool.owners = {testutil::name("app.ecs.test.")};
    for (const char* address : {"192.0.2.10", "192.0.2.11"}) {
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
    REQUIRE(fast->precompiled);
    auto copy = std::make_shared<answer::Catalog>(*fast);
    copy->precompiled = answer::FastPath{};
    copy->rotation = std::make_shared<answer::RotationState>(fast->zones->rotationSlots());
    auto pools = std::make_shared<answer::PoolStates>(*fast->initial_pools);
    pools->catalog = copy.get();
    copy->initial_pools = pools;
    general = copy;
  }

  // Asks both paths; they must agree byte for byte. Returns the response and its outcome.
  Message ask(const QuerySpec& spec, answer::Outcome* outcome = nullptr, bool on = true,
              answer::Transport transport = answer::Transport::Udp) {
    const auto q = testutil::query(spec);
    answer::Options options;
    options.client_subnet = on;
    std::vector<uint8_t> a(65535), b(65535);
    const answer::Outcome x = answer::answer(*fast, nullptr, {q, transport}, a, options);
    const answer::Outcome y = answer::answer(*general, nullptr, {q, transport}, b, options);
    REQUIRE(x.size > 0);
    a.resize(x.size);
    b.resize(y.size);
    CHECK(a == b);
    CHECK(x.scope == y.scope);
    if (outcome) *outcome = x;
    return testutil::decode(a.data(), a.size());
  }
};

QuerySpec ecsQuery(const char* name, uint16_t qtype, const std::string& data) {
  QuerySpec spec;
  spec.qname = name;
  spec.qtype = qtype;
  spec.edns = true;
  spec.edns_options = ednsOption(wire::edns_option::ECS, data);
  return spec;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "ECS: every answer to a well-formed option carries it back, scope 0") {
  const std::string v4 = subnet(1, 24, 0, bytes({10, 1, 2}));
  for (const auto& [name, qtype, code] :
       {std::tuple{"www.ecs.test.", type::A, rcode::NOERROR},       // static, rotating
        std::tuple{"ns1.ecs.test.", type::A, rcode::NOERROR},       // static
        std::tuple{"www.ecs.test.", type::MX, rcode::NOERROR},      // NODATA
        std::tuple{"nosuch.ecs.test.", type::A, rcode::NXDOMAIN},   // NXDOMAIN
        std::tuple{"app.ecs.test.", type::A, rcode::NOERROR},       // a pool without sites
        std::tuple{"ecs.test.", type::ANY, rcode::NOERROR},         // the general path's
        std::tuple{"other.test.", type::A, rcode::REFUSED},         // no zone: REFUSED
        std::tuple{"ecs.test.", type::AXFR, rcode::NOTIMP}}) {      // AXFR over UDP
    INFO(name << " " << qtype);
    answer::Outcome outcome;
    const Message m = ask(ecsQuery(name, qtype, v4), &outcome);
    CHECK(m.rcode() == code);
    CHECK(subnetOf(m) == v4);
    CHECK(outcome.scope == 0);
    CHECK_FALSE(outcome.spilled);
  }
  // IPv6, and the TCP answer.
  const std::string v6 = subnet(2, 56, 0, bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x12}));
  CHECK(subnetOf(ask(ecsQuery("www.ecs.test.", type::A, v6))) == v6);
  CHECK(subnetOf(ask(ecsQuery("www.ecs.test.", type::A, v6), nullptr, true,
                     answer::Transport::Tcp)) == v6);
  // No option, no ECS.
  QuerySpec plain = ecsQuery("www.ecs.test.", type::A, "");
  plain.edns_options.clear();
  CHECK(optionsOf(ask(plain))->empty());
}

// What knotd 3.2 (edns-client-subnet: on) answers FORMERR, each checked against it: the OPT
// record comes back, without ECS; AA clear, the question echoed.
TEST_CASE_FIXTURE(Fixture, "ECS: malformed options are FORMERR, as Knot DNS") {
  for (const std::string& data : {
           bytes({0, 1, 24}),                            // shorter than 4 bytes
           std::string(),                                // empty
           subnet(0, 0, 0, ""),                          // family 0
           subnet(3, 8, 0, bytes({10})),                 // family 3
           subnet(1, 33, 0, bytes({10, 1, 2, 3, 0})),    // source past 32
           subnet(2, 129, 0, std::string(17, '\0')),     // source past 128
           subnet(1, 24, 33, bytes({10, 1, 2})),         // scope past 32
           subnet(1, 24, 0, bytes({10, 1})),             // 2 address bytes for /24
           subnet(2, 56, 0, bytes({0x20, 1, 0x0d})),     // 3 for /56
       }) {
    INFO("option data of " << data.size() << " bytes");
    const Message m = ask(ecsQuery("www.ecs.test.", type::A, data));
    CHECK(m.rcode() == rcode::FORMERR);
    CHECK_FALSE(m.aa());
    CHECK(m.qname == "www.ecs.test.");
    CHECK(m.answer.empty());
    REQUIRE(optionsOf(m));
    CHECK(optionsOf(m)->empty());
  }
  // A malformed option is FORMERR before an EDNS version is BADVERS, as in Knot...
  QuerySpec spec = ecsQuery("www.ecs.test.", type::A, subnet(3, 8, 0, bytes({10})));
  spec.edns_version = 1;
  Message m = ask(spec);
  CHECK(m.rcode() == rcode::FORMERR);
  REQUIRE(m.opt() != nullptr);
  CHECK((m.opt()->ttl >> 24) == 0);
  CHECK(optionsOf(m)->empty());
  // ...and BADVERS sends a well-formed one back.
  spec.edns_options = ednsOption(8, subnet(1, 24, 0, bytes({10, 1, 2})));
  m = ask(spec);
  CHECK((m.opt()->ttl >> 24) == (rcode::BADVERS >> 4));
  CHECK(subnetOf(m) == subnet(1, 24, 0, bytes({10, 1, 2})));
}

// RFC 7871 6 says a server SHOULD refuse these; knotd 3.2 answers them, and so does rrdnsd, with
// the address read (and sent back) with the bits and bytes past SOURCE zero.
TEST_CASE_FIXTURE(Fixture, "ECS: what Knot DNS accepts that RFC 7871 says to refuse") {
  struct Case {
    std::string sent, back;
  };
  for (const Case& c : {
           Case{subnet(1, 23, 0, bytes({10, 1, 3})), subnet(1, 23, 0, bytes({10, 1, 2}))},
           Case{subnet(1, 20, 0, bytes({10, 1, 0x1f})), subnet(1, 20, 0, bytes({10, 1, 0x10}))},
           Case{subnet(1, 24, 0, bytes({10, 1, 2, 0xff})), subnet(1, 24, 0, bytes({10, 1, 2, 0}))},
           Case{subnet(1, 0, 0, bytes({10, 1, 2, 3})), subnet(1, 0, 0, bytes({0, 0, 0, 0}))},
           Case{subnet(2, 56, 0, std::string(17, '\x11')),
                subnet(2, 56, 0, std::string(7, '\x11') + std::string(10, '\0'))},
           Case{subnet(1, 24, 24, bytes({10, 1, 2})), subnet(1, 24, 0, bytes({10, 1, 2}))},
           Case{subnet(2, 128, 128, std::string(16, '\x22')),
                subnet(2, 128, 0, std::string(16, '\x22'))},
           Case{subnet(1, 0, 5, ""), subnet(1, 0, 0, "")},
           Case{subnet(2, 0, 0, ""), subnet(2, 0, 0, "")},
       }) {
    const Message m = ask(ecsQuery("www.ecs.test.", type::A, c.sent));
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(m.answer.size() == 2);
    CHECK(subnetOf(m) == c.back);
  }
}

TEST_CASE_FIXTURE(Fixture, "ECS: the last option counts; NSID goes before it, as Knot DNS") {
  const std::string good = subnet(1, 24, 0, bytes({10, 1, 2}));
  const std::string bad = subnet(3, 8, 0, bytes({10}));
  QuerySpec spec = ecsQuery("www.ecs.test.", type::A, bad);
  spec.edns_options += ednsOption(8, good);
  Message m = ask(spec);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(subnetOf(m) == good);
  spec.edns_options = ednsOption(8, good) + ednsOption(8, bad);
  CHECK(ask(spec).rcode() == rcode::FORMERR);

  // NSID: the general path's to write, with ECS after it.
  spec.edns_options = ednsOption(8, good) + ednsOption(wire::edns_option::NSID, "");
  const auto q = testutil::query(spec);
  answer::Options options;
  options.self.nsid = "ns1";
  std::vector<uint8_t> out(65535);
  const answer::Outcome outcome = answer::answer(*fast, nullptr, {q, answer::Transport::Udp}, out,
                                                 options);
  m = testutil::decode(out.data(), outcome.size);
  REQUIRE(optionsOf(m));
  const auto options_back = *optionsOf(m);
  REQUIRE(options_back.size() == 2);
  CHECK(options_back[0] == std::pair<uint16_t, std::string>{wire::edns_option::NSID, "ns1"});
  CHECK(options_back[1] == std::pair<uint16_t, std::string>{wire::edns_option::ECS, good});
}

TEST_CASE_FIXTURE(Fixture, "ECS: a truncated answer keeps it, its room kept like the OPT's") {
  const std::string v4 = subnet(1, 24, 0, bytes({10, 1, 2}));
  QuerySpec spec = ecsQuery("big.ecs.test.", type::TXT, v4);
  spec.payload = 512;
  const Message m = ask(spec);
  CHECK(m.tc());
  CHECK(m.answer.empty());
  CHECK(subnetOf(m) == v4);
  spec.payload = 1232;
  const Message full = ask(spec);
  CHECK_FALSE(full.tc());
  CHECK(full.answer.size() == 1);
  CHECK(subnetOf(full) == v4);
}

TEST_CASE_FIXTURE(Fixture, "ECS off: the option is ignored, malformed or not, and never sent") {
  for (const std::string& data :
       {subnet(1, 24, 0, bytes({10, 1, 2})), subnet(3, 8, 0, bytes({10})), bytes({0, 1})}) {
    for (const char* name : {"www.ecs.test.", "app.ecs.test.", "nosuch.ecs.test."}) {
      answer::Outcome outcome;
      const Message m = ask(ecsQuery(name, type::A, data), &outcome, false);
      CHECK(m.rcode() != rcode::FORMERR);
      REQUIRE(optionsOf(m));
      CHECK(optionsOf(m)->empty());
      CHECK(outcome.scope == 0);
    }
  }
}
