#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "dns/answer/answer.hh"
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




// The zone every case below is answered from. SOA TTL 300, minimum 120: negative TTL is 120.
struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("example.test."), "test");
    auto add = [&](const char* owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, ttl, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    add("example.test.", type::SOA, 300, testutil::soaRdata("example.test.", 2024010101, 120));
    add("example.test.", type::NS, 300, testutil::name("ns1.example.test."));
    add("example.test.", type::NS, 300, testutil::name("ns2.example.test."));
    add("example.test.", type::MX, 300, std::string("\0\x0a", 2) + testutil::name("mail.example.test."));
    add("example.test.", type::TXT, 300, "\x0bv=spf1 -all");
    add("ns1.example.test.", type::A, 300, a("192.0.2.53"));
    add("ns2.example.test.", type::A, 300, a("192.0.2.54"));
    add("mail.example.test.", type::A, 300, a("192.0.2.25"));
    add("mail.example.test.", type::AAAA, 300, aaaa("2001:db8::25"));
    for (int i = 1; i <= 4; ++i)
      add("www.example.test.", type::A, 60, a(("10.0.0." + std::to_string(i)).c_str()));
    add("www.example.test.", type::AAAA, 60, aaaa("2001:db8::1"));
    add("www.example.test.", type::AAAA, 60, aaaa("2001:db8::2"));
    add("alias.example.test.", type::CNAME, 300, testutil::name("www.example.test."));
    add("chain.example.test.", type::CNAME, 300, testutil::name("alias.example.test."));
    add("outside.example.test.", type::CNAME, 300, testutil::name("www.elsewhere.test."));
    add("dangling.example.test.", type::CNAME, 300, testutil::name("nothere.example.test."));
    add("loop1.example.test.", type::CNAME, 300, testutil::name("loop2.example.test."));
    add("loop2.example.test.", type::CNAME, 300, testutil::name("loop1.example.test."));
    add("*.wild.example.test.", type::A, 30, a("192.0.2.80"));
    add("*.wild.example.test.", type::A, 30, a("192.0.2.81"));
    add("exists.wild.example.test.", type::TXT, 300, "\x02hi");
    add("a.b.c.example.test.", type::A, 300, a("192.0.2.1"));  // b.c and c are empty non-terminals
    add("sub.example.test.", type::NS, 3600, testutil::name("ns1.sub.example.test."));
    add("sub.example.test.", type::NS, 3600, testutil::name("ns.elsewhere.test."));
    add("ns1.sub.example.test.", type::A, 3600, a("192.0.2.99"));
    add("bigmx.example.test.", type::MX, 300,
        std::string("\0\x0a", 2) + testutil::name("big.example.test."));
    add("srv.example.test.", type::SRV, 300,
        std::string("\0\1\0\5\x13\xc4", 6) + testutil::name("mail.example.test."));
    for (int i = 1; i <= 40; ++i)
      add("big.example.test.", type::A, 300, a(("10.0.2." + std::to_string(i)).c_str()));
    for (int i = 1; i <= 120; ++i)
      add("huge.example.test.", type::A, 300,
          a(("10.0." + std::to_string(3 + i / 250) + "." + std::to_string(i % 250)).c_str()));
    catalog = testutil::catalogOf(b);
  }

  Message ask(const QuerySpec& spec, answer::Transport t = answer::Transport::Udp,
              answer::Outcome* outcome = nullptr) {
    const auto q = testutil::query(spec);
    return askRaw(q, t, outcome);
  }

  Message ask(const char* qname, uint16_t qtype, answer::Transport t = answer::Transport::Udp) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    return ask(spec, t);
  }

  Message askRaw(const std::vector<uint8_t>& q, answer::Transport t = answer::Transport::Udp,
                 answer::Outcome* outcome = nullptr) {
    std::vector<uint8_t> out(65535);
    const auto o = answer::answer(*catalog, nullptr, {q, t}, out);
    if (outcome) *outcome = o;
    REQUIRE(o.size > 0);
    auto m = testutil::decode(out.data(), o.size);
    CHECK(m.rcode() == (o.rcode & 0x0F));
    return m;
  }
};

std::vector<std::string> types(const std::vector<testutil::Record>& section) {
  std::vector<std::string> out;
  for (const auto& r : section) out.push_back(wire::typeName(r.type) + " " + r.owner);
  return out;
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "positive answer: AA, RA clear, RD and id copied, question echoed") {
  const Message m = ask("www.example.test.", type::A);
  CHECK(m.qr());
  CHECK(m.aa());
  CHECK_FALSE(m.ra());
  CHECK(m.rd());
  CHECK(m.id == 0x1234);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.qname == "www.example.test.");
  REQUIRE(m.answer.size() == 4);
  for (const auto& r : m.answer) {
    CHECK(r.owner == "www.example.test.");
    CHECK(r.ttl == 60);
    CHECK(r.klass == 1);
  }
  CHECK(m.authority.empty());
  CHECK(m.additional.empty());
}

TEST_CASE_FIXTURE(Fixture, "RD clear stays clear") {
  QuerySpec spec;
  spec.flags = 0;
  CHECK_FALSE(ask(spec).rd());
}

TEST_CASE_FIXTURE(Fixture, "letter case of the question comes back (0x20)") {
  QuerySpec spec;
  spec.qname = "wWw.ExAmPlE.tEsT.";
  spec.keep_case = true;
  const Message m = ask(spec);
  CHECK(m.qname == "wWw.ExAmPlE.tEsT.");
  REQUIRE(m.answer.size() == 4);
  CHECK(m.answer[0].owner == "wWw.ExAmPlE.tEsT.");
}

TEST_CASE_FIXTURE(Fixture, "rotation: each answer starts one address further, cyclically") {
  std::vector<std::string> zone_order = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
  const Message m0 = ask("www.example.test.", type::A);
  const auto first = m0.addresses(m0.answer);
  REQUIRE(first.size() == 4);
  const auto start = std::find(zone_order.begin(), zone_order.end(), first[0]) - zone_order.begin();
  for (int i = 1; i <= 8; ++i) {
    const Message m = ask("www.example.test.", type::A);
    const auto got = m.addresses(m.answer);
    REQUIRE(got.size() == 4);
    for (size_t k = 0; k < 4; ++k) CHECK(got[k] == zone_order[(start + i + k) % 4]);
  }
}

TEST_CASE_FIXTURE(Fixture, "rotation cursor can be pinned, and AAAA rotates on its own cursor") {
  const zone::Zone* z = catalog->zones->findZone(testutil::name("example.test."));
  const zone::Node* www = z->find(testutil::name("www.example.test."));
  catalog->rotation->set(www->find(type::A)->rotation_slot, 2);
  const Message m = ask("www.example.test.", type::A);
  CHECK(m.addresses(m.answer) ==
        std::vector<std::string>{"10.0.0.3", "10.0.0.4", "10.0.0.1", "10.0.0.2"});
  const Message v6a = ask("www.example.test.", type::AAAA);
  const Message v6b = ask("www.example.test.", type::AAAA);
  REQUIRE(v6a.answer.size() == 2);
  CHECK(v6a.answer[0].rdata == v6b.answer[1].rdata);
  CHECK(v6a.answer[1].rdata == v6b.answer[0].rdata);
}

TEST_CASE_FIXTURE(Fixture, "non-address RRsets keep zone order") {
  for (int i = 0; i < 3; ++i) {
    const Message m = ask("example.test.", type::NS);
    REQUIRE(m.answer.size() == 2);
    CHECK(m.rdataName(m.answer[0]) == "ns1.example.test.");
    CHECK(m.rdataName(m.answer[1]) == "ns2.example.test.");
  }
}

TEST_CASE_FIXTURE(Fixture, "NS answer carries the name servers' addresses in additional") {
  const Message m = ask("example.test.", type::NS);
  CHECK(m.addresses(m.additional) == std::vector<std::string>{"192.0.2.53", "192.0.2.54"});
}

TEST_CASE_FIXTURE(Fixture, "MX and SRV answers add the target's A and AAAA") {
  const Message mx = ask("example.test.", type::MX);
  REQUIRE(mx.answer.size() == 1);
  CHECK(mx.rdataName(mx.answer[0], 2) == "mail.example.test.");
  CHECK(types(mx.additional) ==
        std::vector<std::string>{"A mail.example.test.", "AAAA mail.example.test."});
  const Message srv = ask("srv.example.test.", type::SRV);
  CHECK(types(srv.additional) ==
        std::vector<std::string>{"A mail.example.test.", "AAAA mail.example.test."});
}

TEST_CASE_FIXTURE(Fixture, "NXDOMAIN: SOA in authority with TTL min(SOA TTL, minimum)") {
  const Message m = ask("nosuch.example.test.", type::A);
  CHECK(m.rcode() == rcode::NXDOMAIN);
  CHECK(m.aa());
  CHECK(m.answer.empty());
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].type == type::SOA);
  CHECK(m.authority[0].owner == "example.test.");
  CHECK(m.authority[0].ttl == 120);
  CHECK(m.rdataName(m.authority[0]) == "ns1.example.test.");
}

TEST_CASE_FIXTURE(Fixture, "NODATA: existing name, no such type") {
  const Message m = ask("www.example.test.", type::MX);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.aa());
  CHECK(m.answer.empty());
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].type == type::SOA);
  CHECK(m.authority[0].ttl == 120);
}

TEST_CASE_FIXTURE(Fixture, "empty non-terminals are NODATA, not NXDOMAIN") {
  for (const char* name : {"b.c.example.test.", "c.example.test."}) {
    const Message m = ask(name, type::A);
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(m.answer.empty());
    REQUIRE(m.authority.size() == 1);
    CHECK(m.authority[0].type == type::SOA);
  }
  CHECK(ask("x.b.c.example.test.", type::A).rcode() == rcode::NXDOMAIN);
}

TEST_CASE_FIXTURE(Fixture, "CNAME is chased inside the zone") {
  const Message m = ask("alias.example.test.", type::A);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.aa());
  REQUIRE(m.answer.size() == 5);
  CHECK(m.answer[0].type == type::CNAME);
  CHECK(m.rdataName(m.answer[0]) == "www.example.test.");
  CHECK(m.addresses(m.answer).size() == 4);
  CHECK(m.answer[1].owner == "www.example.test.");
}

TEST_CASE_FIXTURE(Fixture, "CNAME chains, out-of-zone targets, dangling targets, loops") {
  const Message chain = ask("chain.example.test.", type::A);
  CHECK(types(chain.answer)[0] == "CNAME chain.example.test.");
  CHECK(types(chain.answer)[1] == "CNAME alias.example.test.");
  CHECK(chain.answer.size() == 6);

  const Message outside = ask("outside.example.test.", type::A);
  CHECK(outside.rcode() == rcode::NOERROR);
  CHECK(types(outside.answer) == std::vector<std::string>{"CNAME outside.example.test."});
  CHECK(outside.authority.empty());

  const Message dangling = ask("dangling.example.test.", type::A);
  CHECK(dangling.rcode() == rcode::NXDOMAIN);
  CHECK(dangling.answer.size() == 1);
  REQUIRE(dangling.authority.size() == 1);
  CHECK(dangling.authority[0].type == type::SOA);

  const Message loop = ask("loop1.example.test.", type::A);
  CHECK(loop.rcode() == rcode::NOERROR);
  CHECK(loop.answer.size() == 2);  // each CNAME once (conformance_test.cc has the cases)
}

TEST_CASE_FIXTURE(Fixture, "asking for the CNAME itself returns just the CNAME") {
  const Message m = ask("alias.example.test.", type::CNAME);
  CHECK(types(m.answer) == std::vector<std::string>{"CNAME alias.example.test."});
}

TEST_CASE_FIXTURE(Fixture, "wildcards synthesise the query name (RFC 4592)") {
  QuerySpec spec;
  spec.qname = "Host.Wild.example.test.";
  spec.keep_case = true;
  const Message m = ask(spec);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.aa());
  REQUIRE(m.answer.size() == 2);
  CHECK(m.answer[0].owner == "Host.Wild.example.test.");
  CHECK(m.answer[0].ttl == 30);
  // Deeper names are covered too; existing names are not.
  CHECK(ask("a.b.wild.example.test.", type::A).answer.size() == 2);
  const Message exists = ask("exists.wild.example.test.", type::A);
  CHECK(exists.answer.empty());
  CHECK(exists.rcode() == rcode::NOERROR);
  // The wildcard's node exists for other types: NODATA, not NXDOMAIN.
  const Message nodata = ask("host.wild.example.test.", type::MX);
  CHECK(nodata.rcode() == rcode::NOERROR);
  CHECK(nodata.answer.empty());
  // The parent of the wildcard is an empty non-terminal.
  CHECK(ask("wild.example.test.", type::A).rcode() == rcode::NOERROR);
}

TEST_CASE_FIXTURE(Fixture, "delegation: referral with NS in authority and glue in additional") {
  for (const char* name : {"sub.example.test.", "www.sub.example.test.", "ns1.sub.example.test."}) {
    const Message m = ask(name, type::A);
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK_FALSE(m.aa());
    CHECK(m.answer.empty());
    REQUIRE(m.authority.size() == 2);
    CHECK(m.authority[0].type == type::NS);
    CHECK(m.authority[0].owner == "sub.example.test.");
    CHECK(m.authority[0].ttl == 3600);
    CHECK(m.addresses(m.additional) == std::vector<std::string>{"192.0.2.99"});
  }
}

TEST_CASE_FIXTURE(Fixture, "DS at the zone cut is answered by the parent") {
  const Message m = ask("sub.example.test.", type::DS);
  CHECK(m.aa());
  CHECK(m.rcode() == rcode::NOERROR);
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].type == type::SOA);
}

TEST_CASE_FIXTURE(Fixture, "names outside every zone are REFUSED") {
  const Message m = ask("www.elsewhere.test.", type::A);
  CHECK(m.rcode() == rcode::REFUSED);
  CHECK_FALSE(m.aa());
  CHECK(m.answer.empty());
  CHECK(m.qname == "www.elsewhere.test.");
  CHECK(ask("test.", type::SOA).rcode() == rcode::REFUSED);
}

TEST_CASE_FIXTURE(Fixture, "other classes and zone transfers are REFUSED") {
  QuerySpec chaos;
  chaos.qname = "version.bind.";
  chaos.qtype = type::TXT;
  chaos.qclass = wire::klass::CH;
  CHECK(ask(chaos).rcode() == rcode::REFUSED);
  CHECK(ask("example.test.", type::AXFR, answer::Transport::Tcp).rcode() == rcode::REFUSED);
  CHECK(ask("example.test.", type::AXFR, answer::Transport::Udp).rcode() == rcode::NOTIMP);
  // IXFR over UDP is answered (with the SOA) only to clients the transfer ACL allows.
  CHECK(ask("example.test.", type::IXFR, answer::Transport::Udp).rcode() == rcode::REFUSED);
}

TEST_CASE_FIXTURE(Fixture, "opcodes other than QUERY are NOTIMP") {
  QuerySpec spec;
  spec.flags = 4 << 11;
  const Message m = ask(spec);
  CHECK(m.rcode() == rcode::NOTIMP);
  CHECK(((m.flags >> 11) & 0xF) == 4);
  CHECK(m.has_question);
  CHECK(m.answer.empty());
}

TEST_CASE_FIXTURE(Fixture, "malformed queries that can be answered get FORMERR") {
  auto q = testutil::query(QuerySpec{});
  q[5] = 2;  // qdcount 2
  const Message two = askRaw(q);
  CHECK(two.rcode() == rcode::FORMERR);
  CHECK_FALSE(two.has_question);
  CHECK(two.id == 0x1234);
  q[5] = 0;
  CHECK(askRaw(q).rcode() == rcode::FORMERR);
  std::vector<uint8_t> loop = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1};
  CHECK(askRaw(loop).rcode() == rcode::FORMERR);
}

TEST_CASE_FIXTURE(Fixture, "responses and runts are dropped") {
  std::vector<uint8_t> out(65535);
  QuerySpec spec;
  spec.flags = 0x8000;
  const auto response = testutil::query(spec);
  CHECK(answer::answer(*catalog, nullptr, {response, answer::Transport::Udp}, out).size == 0);
  const std::vector<uint8_t> runt(5, 0);
  CHECK(answer::answer(*catalog, nullptr, {runt, answer::Transport::Udp}, out).size == 0);
}

TEST_CASE_FIXTURE(Fixture, "EDNS: OPT echoed with our payload size, DO copied") {
  QuerySpec spec;
  spec.edns = true;
  spec.payload = 4096;
  spec.dnssec_ok = true;
  const Message m = ask(spec);
  const testutil::Record* opt = m.opt();
  REQUIRE(opt != nullptr);
  CHECK(opt->owner == ".");
  CHECK(opt->klass == 1232);
  CHECK((opt->ttl & 0x8000) != 0);
  CHECK(((opt->ttl >> 16) & 0xFF) == 0);  // version 0
  CHECK(m.answer.size() == 4);
  CHECK(ask("www.example.test.", type::A).opt() == nullptr);
}

TEST_CASE_FIXTURE(Fixture, "EDNS version above 0 gets BADVERS") {
  QuerySpec spec;
  spec.edns = true;
  spec.edns_version = 1;
  answer::Outcome outcome;
  const Message m = ask(spec, answer::Transport::Udp, &outcome);
  CHECK(outcome.rcode == rcode::BADVERS);
  CHECK(m.rcode() == 0);
  const testutil::Record* opt = m.opt();
  REQUIRE(opt != nullptr);
  CHECK((opt->ttl >> 24) == 1);  // upper 8 bits of 16
  CHECK(((opt->ttl >> 16) & 0xFF) == 0);
  CHECK(m.answer.empty());
}

TEST_CASE_FIXTURE(Fixture, "truncation: whole RRsets over UDP, everything over TCP") {
  answer::Outcome outcome;
  QuerySpec plain;
  plain.qname = "big.example.test.";
  const Message udp = ask(plain, answer::Transport::Udp, &outcome);
  CHECK(udp.tc());
  CHECK(outcome.truncated);
  CHECK(udp.answer.empty());  // 40 A (about 680 bytes) do not fit in 512
  CHECK(udp.wire.size() <= 512);

  const Message tcp = ask(plain, answer::Transport::Tcp);
  CHECK_FALSE(tcp.tc());
  CHECK(tcp.answer.size() == 40);

  QuerySpec edns = plain;
  edns.edns = true;
  const Message fits = ask(edns);
  CHECK_FALSE(fits.tc());
  CHECK(fits.answer.size() == 40);

  QuerySpec huge = edns;
  huge.qname = "huge.example.test.";
  const Message cut = ask(huge);
  CHECK(cut.tc());
  CHECK(cut.answer.empty());
  CHECK(cut.opt() != nullptr);  // the OPT always has room
  CHECK(cut.wire.size() <= 1232);
  CHECK(ask(huge, answer::Transport::Tcp).answer.size() == 120);
}

TEST_CASE_FIXTURE(Fixture, "a small EDNS payload is raised to 512, a large one capped at ours") {
  QuerySpec spec;
  spec.qname = "big.example.test.";
  spec.edns = true;
  spec.payload = 100;
  CHECK(ask(spec).tc());
  spec.payload = 65000;
  spec.qname = "huge.example.test.";
  const Message m = ask(spec);
  CHECK(m.tc());
  CHECK(m.wire.size() <= 1232);
}

TEST_CASE_FIXTURE(Fixture, "additional records that do not fit are left out without TC") {
  // bigmx's exchange is big (40 A, ~680 bytes): the MX fits in 512, its addresses do not.
  const Message m = ask("bigmx.example.test.", type::MX);
  CHECK_FALSE(m.tc());
  CHECK(m.answer.size() == 1);
  CHECK(m.additional.empty());
  QuerySpec spec;
  spec.qname = "bigmx.example.test.";
  spec.qtype = type::MX;
  spec.edns = true;
  CHECK(ask(spec).additional.size() == 41);  // 40 A + OPT
}

TEST_CASE_FIXTURE(Fixture, "ANY: one RRset over UDP (RFC 8482), all over TCP") {
  const Message udp = ask("example.test.", type::ANY);
  CHECK(udp.rcode() == rcode::NOERROR);
  CHECK(udp.answer.size() == 1);
  const Message tcp = ask("example.test.", type::ANY, answer::Transport::Tcp);
  std::set<uint16_t> seen;
  for (const auto& r : tcp.answer) seen.insert(r.type);
  CHECK(seen == std::set<uint16_t>{type::SOA, type::NS, type::MX, type::TXT});
  const Message empty = ask("c.example.test.", type::ANY);
  CHECK(empty.answer.empty());
  CHECK(empty.authority.size() == 1);
}
