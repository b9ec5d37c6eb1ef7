// conformance_test.cc -- where the RFCs leave a choice, the answers Knot DNS 3.2 gives (checked
// side by side in tests/system/test_knot_differential.py): CNAME loops and the chain limit,
// QCLASS, and which header bits of a query come back.
#include <doctest/doctest.h>

#include <cctype>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/answer/explain.hh"
#include "dns/answer/resolve.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;
namespace klass = wire::klass;
using testutil::a;

namespace {

constexpr uint16_t kHS = 4, kNONE = 254, kUnassigned = 4242;
constexpr uint16_t kNotAuth = 9;
// Header bits of a query (RFC 1035 4.1.1, RFC 4035 3.2): the Z bit is 0x0040.
constexpr uint16_t kAA = 0x0400, kRD = 0x0100, kZ = 0x0040, kAD = 0x0020, kCD = 0x0010;

// The chain c<n>-0 -> c<n>-1 -> ... -> c<n>-<n-1> -> www: n CNAMEs, then the data.
std::string chainName(int n, int i) {
  return "c" + std::to_string(n) + "-" + std::to_string(i) + ".ex.test.";
}

struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("ex.test."), "test");
    auto add = [&](const std::string& owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner.c_str()), t, ttl, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    auto cname = [&](const std::string& owner, const std::string& target) {
      add(owner, type::CNAME, 300, testutil::name(target.c_str()));
    };
    add("ex.test.", type::SOA, 300, testutil::soaRdata("ex.test.", 1, 120));
    add("ex.test.", type::NS, 300, testutil::name("ns1.ex.test."));
    add("ns1.ex.test.", type::A, 300, a("192.0.2.53"));
    add("www.ex.test.", type::A, 60, a("192.0.2.1"));
    add("www.ex.test.", type::A, 60, a("192.0.2.2"));
    add("sub.ex.test.", type::NS, 3600, testutil::name("ns.sub.ex.test."));
    add("ns.sub.ex.test.", type::A, 3600, a("192.0.2.99"));
    cname("loop1.ex.test.", "loop2.ex.test.");  // a -> b -> a
    cname("loop2.ex.test.", "loop1.ex.test.");
    cname("self.ex.test.", "self.ex.test.");    // a -> a
    cname("tail.ex.test.", "ring1.ex.test.");   // a tail into a ring: tail -> r1 -> r2 -> r1
    cname("ring1.ex.test.", "ring2.ex.test.");
    cname("ring2.ex.test.", "ring1.ex.test.");
    cname("*.wl.ex.test.", "x.wl.ex.test.");    // a wildcard whose target it synthesises itself
    for (int n : {answer::kMaxCnameChain - 1, answer::kMaxCnameChain, answer::kMaxCnameChain + 1})
      for (int i = 0; i < n; ++i)
        cname(chainName(n, i), i + 1 < n ? chainName(n, i + 1) : "www.ex.test.");
    cname("d5-0.ex.test.", "d5-1.ex.test.");  // 5 CNAMEs, then a name that does not exist
    cname("d5-1.ex.test.", "d5-2.ex.test.");
    cname("d5-2.ex.test.", "d5-3.ex.test.");
    cname("d5-3.ex.test.", "d5-4.ex.test.");
    cname("d5-4.ex.test.", "missing.ex.test.");
    catalog = testutil::catalogOf(b);
  }

  Message ask(QuerySpec spec, answer::Transport t = answer::Transport::Udp,
              bool transfer_allowed = false) const {
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    answer::Request request{q, t};
    request.transfer_allowed = transfer_allowed;
    const auto o = answer::answer(*catalog, nullptr, request, out);
    REQUIRE(o.size > 0);
    return testutil::decode(out.data(), o.size);
  }

  Message ask(const std::string& qname, uint16_t qtype = type::A,
              uint16_t qclass = klass::IN) const {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    spec.qclass = qclass;
    return ask(spec);
  }
};

// The answer section as "owner CNAME target" / "owner A" lines, in order.
std::vector<std::string> lines(const Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.answer)
    out.push_back(r.owner + " " + wire::typeName(r.type) +
                  (r.type == type::CNAME ? " " + m.rdataName(r) : std::string()));
  return out;
}

// RFC 2181 5: no two records of an answer have the same owner, type, class and data.
void checkNoDuplicates(const Message& m) {
  std::set<std::tuple<std::string, uint16_t, uint16_t, std::string>> seen;
  for (const auto& r : m.answer) {
    std::string owner = r.owner;
    for (char& c : owner) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // A CNAME's RDATA may be a compression pointer: compare the name it stands for.
    std::string data = r.type == type::CNAME ? m.rdataName(r)
                                              : std::string(r.rdata.begin(), r.rdata.end());
    for (char& c : data) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK_MESSAGE(seen.emplace(owner, r.type, r.klass, data).second,
                  "duplicate " << r.owner << " " << wire::typeName(r.type));
  }
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "a CNAME loop ends where it comes round, no record repeated") {
  using V = std::vector<std::string>;
  SUBCASE("a -> b -> a") {
    const Message m = ask("loop1.ex.test.");
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(m.aa());
    CHECK(lines(m) ==
          V{"loop1.ex.test. CNAME loop2.ex.test.", "loop2.ex.test. CNAME loop1.ex.test."});
    CHECK(m.authority.empty());  // as Knot: no SOA, the chain just ends
    checkNoDuplicates(m);
  }
  SUBCASE("a -> a") {
    const Message m = ask("self.ex.test.");
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(lines(m) == V{"self.ex.test. CNAME self.ex.test."});
    CHECK(m.authority.empty());
  }
  SUBCASE("a tail into a ring") {
    const Message m = ask("tail.ex.test.");
    CHECK(lines(m) == V{"tail.ex.test. CNAME ring1.ex.test.", "ring1.ex.test. CNAME ring2.ex.test.",
                        "ring2.ex.test. CNAME ring1.ex.test."});
    checkNoDuplicates(m);
  }
  SUBCASE("a wildcard reached again under another name writes that new RR, then stops") {
    // As Knot: a.wl is synthesised from *.wl, so is its target x.wl (a new owner, a new RR).
    const Message m = ask("a.wl.ex.test.");
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(lines(m) == V{"a.wl.ex.test. CNAME x.wl.ex.test.", "x.wl.ex.test. CNAME x.wl.ex.test."});
    checkNoDuplicates(m);
  }
  SUBCASE("a wildcard reached again under the same name is not repeated (Knot repeats it)") {
    const Message m = ask("x.wl.ex.test.");
    CHECK(lines(m) == V{"x.wl.ex.test. CNAME x.wl.ex.test."});
    checkNoDuplicates(m);
  }
  SUBCASE("the same over TCP and for other types") {
    QuerySpec spec;
    spec.qname = "loop2.ex.test.";
    spec.qtype = type::TXT;
    const Message m = ask(spec, answer::Transport::Tcp);
    CHECK(lines(m) ==
          V{"loop2.ex.test. CNAME loop1.ex.test.", "loop1.ex.test. CNAME loop2.ex.test."});
  }
}

TEST_CASE_FIXTURE(Fixture, "CNAME chains: at most kMaxCnameChain CNAMEs, as Knot DNS") {
  constexpr int limit = answer::kMaxCnameChain;
  CHECK(limit == 5);  // Knot DNS 3.2's CNAME_CHAIN_MAX
  for (int n : {limit - 1, limit}) {
    CAPTURE(n);
    const Message m = ask(chainName(n, 0));
    CHECK(m.rcode() == rcode::NOERROR);
    REQUIRE(m.answer.size() == static_cast<size_t>(n) + 2);  // n CNAMEs, then www's two A
    for (int i = 0; i < n; ++i) CHECK(m.answer[i].type == type::CNAME);
    CHECK(m.answer[n].owner == "www.ex.test.");
    CHECK(m.answer[n].type == type::A);
  }
  // One more: the last CNAME is left out, and so is the data; NOERROR without a SOA.
  const Message over = ask(chainName(limit + 1, 0));
  CHECK(over.rcode() == rcode::NOERROR);
  CHECK(over.aa());
  REQUIRE(over.answer.size() == static_cast<size_t>(limit));
  for (const auto& r : over.answer) CHECK(r.type == type::CNAME);
  CHECK(over.answer.back().owner == chainName(limit + 1, limit - 1));
  CHECK(over.authority.empty());
  // Starting one link further in, the same chain fits.
  CHECK(ask(chainName(limit + 1, 1)).answer.size() == static_cast<size_t>(limit) + 2);

  // The name after the last CNAME allowed is still looked up: NXDOMAIN (RFC 6604).
  const Message dangling = ask("d5-0.ex.test.");
  CHECK(dangling.rcode() == rcode::NXDOMAIN);
  CHECK(dangling.answer.size() == 5);
  REQUIRE(dangling.authority.size() == 1);
  CHECK(dangling.authority[0].type == type::SOA);
}

TEST_CASE_FIXTURE(Fixture, "explain says where a loop or an over-long chain ends") {
  auto e = answer::explain(*catalog, nullptr, nullptr, nullptr, "loop1.ex.test.", type::A);
  CHECK(e.outcome == "cname");
  CHECK(e.records.size() == 2);
  bool said = false;
  for (const auto& s : e.steps)
    said = said || s == "loop1.ex.test. is a CNAME for loop2.ex.test., back into the chain: a "
                        "CNAME loop, which ends here";
  CHECK(said);

  e = answer::explain(*catalog, nullptr, nullptr, nullptr,
                      chainName(answer::kMaxCnameChain + 1, 0), type::A);
  CHECK(e.records.size() == static_cast<size_t>(answer::kMaxCnameChain));
  said = false;
  for (const auto& s : e.steps)
    said = said || s == chainName(answer::kMaxCnameChain + 1, answer::kMaxCnameChain) +
                            " is a CNAME too, but the answer holds 5 CNAMEs already, the most "
                            "one answer follows: the chain ends";
  CHECK(said);
}

TEST_CASE_FIXTURE(Fixture, "QCLASS ANY is answered from the IN data, as by Knot DNS") {
  const Message in = ask("www.ex.test.");
  const Message any = ask("www.ex.test.", type::A, klass::ANY);
  CHECK(any.rcode() == rcode::NOERROR);
  CHECK(any.aa());
  CHECK(any.qclass == klass::ANY);  // the question as sent
  REQUIRE(any.answer.size() == 2);
  for (const auto& r : any.answer) CHECK(r.klass == klass::IN);  // the data's class
  CHECK(any.addresses(any.answer).size() == 2);

  const Message nx = ask("nope.ex.test.", type::A, klass::ANY);
  CHECK(nx.rcode() == rcode::NXDOMAIN);
  CHECK(nx.aa());
  REQUIRE(nx.authority.size() == 1);
  CHECK(nx.authority[0].type == type::SOA);
  CHECK(nx.authority[0].klass == klass::IN);

  const Message referral = ask("x.sub.ex.test.", type::A, klass::ANY);
  CHECK(referral.rcode() == rcode::NOERROR);
  CHECK_FALSE(referral.aa());
  CHECK(referral.authority.size() == 1);
  CHECK(referral.additional.size() == 1);

  const Message chain = ask("loop1.ex.test.", type::A, klass::ANY);
  CHECK(chain.answer.size() == 2);

  CHECK(ask("www.elsewhere.test.", type::A, klass::ANY).rcode() == rcode::REFUSED);
}

TEST_CASE_FIXTURE(Fixture, "other classes are REFUSED, without AA, whatever the name") {
  for (uint16_t qclass : {klass::CH, kHS, kNONE, kUnassigned, uint16_t{0}}) {
    for (const char* name : {"www.ex.test.", "nope.ex.test.", "ex.test.", "x.sub.ex.test.",
                             "www.elsewhere.test."}) {
      CAPTURE(qclass);
      CAPTURE(name);
      const Message m = ask(name, type::A, qclass);
      CHECK(m.rcode() == rcode::REFUSED);
      CHECK_FALSE(m.aa());
      CHECK(m.answer.empty());
      CHECK(m.authority.empty());
      CHECK(m.qclass == qclass);
    }
  }
}

TEST_CASE_FIXTURE(Fixture,
                  "zone transfers: class ANY transfers the IN zone, CH NOTIMP, others REFUSED") {
  answer::Outcome o;
  auto transfer = [&](uint16_t qclass) {
    QuerySpec spec;
    spec.qname = "ex.test.";
    spec.qtype = type::AXFR;
    spec.qclass = qclass;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    answer::Request request{q, answer::Transport::Tcp};
    request.transfer_allowed = true;
    o = answer::answer(*catalog, nullptr, request, out);
    return o.size ? testutil::decode(out.data(), o.size) : Message{};
  };
  transfer(klass::IN);
  CHECK(o.transfer_zone != nullptr);
  transfer(klass::ANY);
  CHECK(o.transfer_zone != nullptr);
  CHECK(o.rcode == rcode::NOERROR);
  CHECK(transfer(klass::CH).rcode() == rcode::NOTIMP);
  CHECK(o.transfer_zone == nullptr);
  for (uint16_t qclass : {kHS, kNONE, kUnassigned}) {
    CAPTURE(qclass);
    CHECK(transfer(qclass).rcode() == rcode::REFUSED);
    CHECK(o.transfer_zone == nullptr);
  }
  // A name that is no apex stays NOTAUTH in class ANY.
  QuerySpec spec;
  spec.qname = "www.ex.test.";
  spec.qtype = type::AXFR;
  spec.qclass = klass::ANY;
  CHECK(ask(spec, answer::Transport::Tcp, true).rcode() == kNotAuth);
}

TEST_CASE_FIXTURE(Fixture, "header bits of a query: RD comes back; AA, AD, CD and Z do not") {
  // Knot DNS and NSD clear CD for zones without DNSSEC, and rrdnsd serves none; AD is for
  // validated data (RFC 6840 5.7), AA and Z mean nothing in a query.
  struct Case {
    const char* name;
    uint16_t qclass;
  };
  // A fast-path hit, a negative answer, a referral, the general path (class ANY), REFUSED.
  for (const Case c : {Case{"www.ex.test.", klass::IN}, Case{"nope.ex.test.", klass::IN},
                       Case{"x.sub.ex.test.", klass::IN}, Case{"www.ex.test.", klass::ANY},
                       Case{"www.elsewhere.test.", klass::IN}}) {
    for (uint16_t bits :
         {uint16_t{0}, kAA, kRD, kZ, kAD, kCD, uint16_t(kAA | kRD | kZ | kAD | kCD)}) {
      for (bool edns : {false, true}) {
        CAPTURE(c.name);
        CAPTURE(bits);
        QuerySpec spec;
        spec.qname = c.name;
        spec.qclass = c.qclass;
        spec.flags = bits;
        spec.edns = edns;
        const Message m = ask(spec);
        CHECK(m.rd() == ((bits & kRD) != 0));
        CHECK((m.flags & (kAD | kCD | kZ)) == 0);
        CHECK_FALSE(m.ra());
        // AA is ours to set: on authoritative answers, whatever the query said.
        const bool authoritative =
            m.rcode() != rcode::REFUSED && std::string(c.name) != "x.sub.ex.test.";
        CHECK(m.aa() == authoritative);
      }
    }
  }
}
