// The general path's answers to DO=1 queries for a signed zone (RFC 4035 3.1): which RRSIG and
// NSEC records each kind of answer carries. The zone is signed by hand: NSEC and RRSIG RRsets
// added as data, each RRSIG's RDATA made up but naming the type it covers (all the answer code
// reads), and the chain's canonical order given to the zone as a SignedZone.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dns/answer/pool_state.hh"
#include "dns/answer/resolve.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;
using testutil::a;
using namespace std::string_literals;

namespace {

// RRSIG RDATA covering `covered` at `owner`: the fixed fields, the signer, and a "signature"
// that names owner and type, so that a test can tell which one went out.
std::string madeUpRrsig(uint16_t covered, const std::string& owner, uint32_t ttl) {
  std::string r;
  r += static_cast<char>(covered >> 8);
  r += static_cast<char>(covered & 0xFF);
  r += '\x0d';  // algorithm 13
  r += '\x03';  // labels
  for (uint32_t v : {ttl, 2000000000u, 1700000000u}) {
    uint8_t b[4];
    store32(b, v);
    r.append(reinterpret_cast<char*>(b), 4);
  }
  r += "\x1a\x2b";  // key tag
  r += testutil::name("example.test.");
  r += "sig:" + owner + "/" + std::to_string(covered);
  return r;
}

uint16_t coveredOf(const testutil::Record& r) {
  REQUIRE(r.rdata.size() >= 2);
  return load16(r.rdata.data());
}

// The DNSSEC types by name, whether or not dns/wire knows their mnemonics yet.
const std::map<uint16_t, std::string> kDnssecTypes = {
    {type::DS, "DS"}, {type::RRSIG, "RRSIG"}, {type::NSEC, "NSEC"}, {type::DNSKEY, "DNSKEY"},
    {type::NSEC3, "NSEC3"}, {type::NSEC3PARAM, "NSEC3PARAM"}};

std::string typeText(uint16_t t) {
  const auto it = kDnssecTypes.find(t);
  return it != kDnssecTypes.end() ? it->second : wire::typeName(t);
}

uint16_t typeNamed(const std::string& text) {
  for (const auto& [t, name] : kDnssecTypes)
    if (name == text) return t;
  const auto t = wire::typeFromName(text);
  REQUIRE(t);
  return *t;
}

// "TYPE owner" per record; an RRSIG as "RRSIG(covered) owner".
std::vector<std::string> described(const std::vector<testutil::Record>& section) {
  std::vector<std::string> out;
  for (const auto& r : section) {
    if (r.type == type::OPT) continue;
    const std::string t =
        r.type == type::RRSIG ? "RRSIG(" + typeText(coveredOf(r)) + ")" : typeText(r.type);
    out.push_back(t + " " + r.owner);
  }
  return out;
}

using Names = std::vector<std::string>;

// example.test. signed with NSEC. Names of the chain, in canonical order:
//   example.test. alias a.b.c mail ns1 sec sub web *.wild www
// (b.c and c are empty non-terminals, ns1.sub is glue: neither is in the chain)
struct SignedFixture {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const answer::Catalog> catalog;
  std::shared_ptr<answer::PoolStates> states;
  std::map<std::string, std::set<uint16_t>> types;  // owner text -> types, for NSEC and RRSIG

  SignedFixture() {
    zone::ZoneBuilder b(testutil::name("example.test."), "test");
    auto add = [&](const std::string& owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, ttl, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
      types[owner].insert(t);
    };
    add("example.test.", type::SOA, 300, testutil::soaRdata("example.test.", 1, 120));
    add("example.test.", type::NS, 300, testutil::name("ns1.example.test."));
    add("example.test.", type::MX, 300,
        std::string("\0\x0a", 2) + testutil::name("mail.example.test."));
    add("example.test.", type::DNSKEY, 300, std::string("\1\1\3\x0d", 4) + "key");
    add("ns1.example.test.", type::A, 300, a("192.0.2.53"));
    add("mail.example.test.", type::A, 300, a("192.0.2.25"));
    add("www.example.test.", type::A, 60, a("10.0.0.1"));
    add("www.example.test.", type::A, 60, a("10.0.0.2"));
    add("alias.example.test.", type::CNAME, 300, testutil::name("www.example.test."));
    add("a.b.c.example.test.", type::A, 300, a("192.0.2.1"));
    add("*.wild.example.test.", type::A, 30, a("192.0.2.80"));
    add("sub.example.test.", type::NS, 3600, testutil::name("ns1.sub.example.test."));
    add("sec.example.test.", type::NS, 3600, testutil::name("ns.elsewhere.test."));
    add("sec.example.test.", type::DS, 3600, std::string("\x30\x39\x0d\x02", 4) + "digest");
    zone::Pool pool;
    pool.name = "web";
    pool.owners = {testutil::name("web.example.test.")};
    for (const char* address : {"10.1.0.1", "10.1.0.2", "10.1.0.3"}) {
      zone::PoolMember m;
      m.text = address;
      m.address = a(address);
      m.rtype = type::A;
      m.check.address = address;
      m.check.port = 8080;
      pool.members.push_back(m);
    }
    pool.ttl = 30;
    pool.degraded_ttl = 5;
    pool.max_addresses = 2;
    REQUIRE(b.addPool(std::move(pool)).ok());
    types["web.example.test."].insert(type::A);
    const std::string glue = "ns1.sub.example.test.";
    REQUIRE(b.add(testutil::name(glue), type::A, 3600, a("192.0.2.99")).ok());

    // The chain: every owner but the glue, in canonical order, each NSEC naming the next.
    std::vector<std::string> chain;
    for (const auto& [owner, t] : types) chain.push_back(testutil::name(owner));
    std::sort(chain.begin(), chain.end(), [](const std::string& x, const std::string& y) {
      return wire::compareCanonical(x, y) < 0;
    });
    for (size_t i = 0; i < chain.size(); ++i) {
      const std::string owner = wire::nameToText(chain[i]);
      const std::string& next = chain[(i + 1) % chain.size()];
      REQUIRE(b.add(chain[i], type::NSEC, 120, next + "\0\x01\x62"s).ok());
      types[owner].insert(type::NSEC);
    }
    for (const auto& [owner, set] : types) {
      const bool cut = owner == "sub.example.test." || owner == "sec.example.test.";
      for (uint16_t t : set) {
        if (cut && t == type::NS) continue;  // the child's, unsigned
        REQUIRE(b.add(testutil::name(owner), type::RRSIG, 300, madeUpRrsig(t, owner, 300)).ok());
      }
    }
    auto signed_zone = std::make_shared<zone::SignedZone>();
    signed_zone->canonical = chain;
    signed_zone->nsec_ttl = 120;
    b.setSigned(signed_zone);
    zones = testutil::zoneSetOf(b);
    catalog = answer::Catalog::make(zones);

    // Pool states with a signature block as computePoolStates will fill it: per window, one
    // RRSIG record encoded for the fast path (owner a pointer to the question).
    states = answer::computePoolStates(*zones, nullptr, 1000);
    states->catalog = catalog.get();
    answer::FamilyState& f = states->pools[0].family[0];
    REQUIRE(f.eligible.size() == 3);
    f.windows = 3;
    f.signature_count = 1;
    for (uint32_t w = 0; w < f.windows; ++w) {
      const std::string rdata = madeUpRrsig(type::A, "web-window-" + std::to_string(w), f.ttl);
      std::string record("\xc0\x0c\x00\x2e\x00\x01", 6);
      uint8_t b4[4];
      store32(b4, f.ttl);
      record.append(reinterpret_cast<char*>(b4), 4);
      record += static_cast<char>(rdata.size() >> 8);
      record += static_cast<char>(rdata.size() & 0xFF);
      record += rdata;
      f.signature_size = static_cast<uint16_t>(record.size());
      f.signatures += record;
    }
  }

  Message ask(const std::string& qname, uint16_t qtype, bool dnssec_ok = true,
              answer::Transport t = answer::Transport::Udp, uint16_t payload = 4096) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = qtype;
    spec.edns = true;
    spec.dnssec_ok = dnssec_ok;
    spec.payload = payload;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    answer::Options options;
    options.udp_max_payload = 4096;
    const auto o = answer::answerGeneral(*catalog, states.get(), {q, t}, out, options);
    REQUIRE(o.size > 0);
    return testutil::decode(out.data(), o.size);
  }
};

// The owner text of the NSEC record's next name.
std::string nextOf(const Message& m, const testutil::Record& nsec) { return m.rdataName(nsec); }

}  // namespace

TEST_CASE_FIXTURE(SignedFixture, "DO=1 positive answer: the RRset and its RRSIG, nothing else") {
  const Message m = ask("www.example.test.", type::A);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(described(m.answer) == Names{"A www.example.test.", "A www.example.test.",
                                     "RRSIG(A) www.example.test."});
  CHECK(m.answer[2].ttl == 60);  // the TTL of the RRset it covers
  CHECK(m.authority.empty());
  CHECK(described(m.additional).empty());
}

TEST_CASE_FIXTURE(SignedFixture, "DO=0 from a signed zone: no DNSSEC record anywhere") {
  for (const auto& [name, t] : std::vector<std::pair<std::string, uint16_t>>{
           {"www.example.test.", type::A},
           {"nothere.example.test.", type::A},
           {"www.example.test.", type::TXT},
           {"x.wild.example.test.", type::A},
           {"foo.sub.example.test.", type::A},
           {"example.test.", type::MX}}) {
    CAPTURE(name);
    const Message m = ask(name, t, false);
    for (const auto* section : {&m.answer, &m.authority, &m.additional})
      for (const auto& r : *section) CHECK((r.type != type::RRSIG && r.type != type::NSEC && r.type != type::DS));
  }
}

TEST_CASE_FIXTURE(SignedFixture, "NXDOMAIN: SOA, the NSEC covering the name, the NSEC covering the wildcard") {
  const Message m = ask("nothere.example.test.", type::A);
  CHECK(m.rcode() == rcode::NXDOMAIN);
  // nothere sorts between mail and ns1; *.example.test sorts between the apex and *.wild.
  CHECK(described(m.authority) ==
        Names{"SOA example.test.", "RRSIG(SOA) example.test.", "NSEC mail.example.test.",
              "RRSIG(NSEC) mail.example.test.", "NSEC example.test.",
              "RRSIG(NSEC) example.test."});
  CHECK(nextOf(m, m.authority[2]) == "ns1.example.test.");
  CHECK(m.authority[1].ttl == 120);  // the SOA's negative TTL, as the SOA
  CHECK(m.authority[2].ttl == 120);
}

TEST_CASE_FIXTURE(SignedFixture, "NXDOMAIN where one NSEC covers both the name and the wildcard: listed once") {
  // zzz sorts after www, the last name: www's NSEC (wrapping to the apex) covers it; *.example
  // is covered by the apex's NSEC.
  const Message m = ask("zzz.example.test.", type::A);
  CHECK(m.rcode() == rcode::NXDOMAIN);
  CHECK(described(m.authority) ==
        Names{"SOA example.test.", "RRSIG(SOA) example.test.", "NSEC www.example.test.",
              "RRSIG(NSEC) www.example.test.", "NSEC example.test.", "RRSIG(NSEC) example.test."});
  // Below a name that exists (www): the wildcard *.www is covered by www's NSEC as well.
  const Message below = ask("x.www.example.test.", type::A);
  CHECK(below.rcode() == rcode::NXDOMAIN);
  CHECK(described(below.authority) ==
        Names{"SOA example.test.", "RRSIG(SOA) example.test.", "NSEC www.example.test.",
              "RRSIG(NSEC) www.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "NODATA: SOA and the NSEC at the name") {
  const Message m = ask("www.example.test.", type::TXT);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.answer.empty());
  CHECK(described(m.authority) == Names{"SOA example.test.", "RRSIG(SOA) example.test.",
                                        "NSEC www.example.test.", "RRSIG(NSEC) www.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "empty non-terminal NODATA: the NSEC that covers it") {
  const Message m = ask("b.c.example.test.", type::A);
  CHECK(m.rcode() == rcode::NOERROR);
  // b.c sorts before its descendant a.b.c: alias's NSEC covers it.
  REQUIRE(described(m.authority).size() == 4);
  CHECK(described(m.authority)[2].rfind("NSEC ", 0) == 0);
  const auto& nsec = m.authority[2];
  const std::string owner = testutil::name(nsec.owner), next = testutil::name(nextOf(m, nsec));
  const std::string ent = testutil::name("b.c.example.test.");
  CHECK(wire::compareCanonical(owner, ent) < 0);
  CHECK(wire::compareCanonical(ent, next) < 0);
}

TEST_CASE_FIXTURE(SignedFixture, "wildcard answer: RRSIG from the wildcard, NSEC proving the name absent") {
  const Message m = ask("x.wild.example.test.", type::A);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(described(m.answer) == Names{"A x.wild.example.test.", "RRSIG(A) x.wild.example.test."});
  CHECK(described(m.authority) ==
        Names{"NSEC *.wild.example.test.", "RRSIG(NSEC) *.wild.example.test."});
  CHECK(nextOf(m, m.authority[0]) == "www.example.test.");
}

TEST_CASE_FIXTURE(SignedFixture, "wildcard NODATA: the NSEC covering the name and the wildcard's, once") {
  const Message m = ask("x.wild.example.test.", type::MX);
  CHECK(m.rcode() == rcode::NOERROR);
  CHECK(m.answer.empty());
  CHECK(described(m.authority) ==
        Names{"SOA example.test.", "RRSIG(SOA) example.test.", "NSEC *.wild.example.test.",
              "RRSIG(NSEC) *.wild.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "CNAME: each RRset with its RRSIG") {
  const Message m = ask("alias.example.test.", type::A);
  CHECK(described(m.answer) ==
        Names{"CNAME alias.example.test.", "RRSIG(CNAME) alias.example.test.",
              "A www.example.test.", "A www.example.test.", "RRSIG(A) www.example.test."});
  CHECK(m.authority.empty());
}

TEST_CASE_FIXTURE(SignedFixture, "referral to an unsigned child: NS, NSEC at the cut, glue unsigned") {
  const Message m = ask("foo.sub.example.test.", type::A);
  CHECK_FALSE(m.aa());
  CHECK(m.answer.empty());
  CHECK(described(m.authority) == Names{"NS sub.example.test.", "NSEC sub.example.test.",
                                        "RRSIG(NSEC) sub.example.test."});
  CHECK(described(m.additional) == Names{"A ns1.sub.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "referral to a signed child: NS, DS and its RRSIG") {
  const Message m = ask("foo.sec.example.test.", type::A);
  CHECK_FALSE(m.aa());
  CHECK(described(m.authority) ==
        Names{"NS sec.example.test.", "DS sec.example.test.", "RRSIG(DS) sec.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "DS at a cut is the parent's: answered with its RRSIG, or NODATA with the cut's NSEC") {
  const Message ds = ask("sec.example.test.", type::DS);
  CHECK(ds.aa());
  CHECK(described(ds.answer) == Names{"DS sec.example.test.", "RRSIG(DS) sec.example.test."});
  const Message none = ask("sub.example.test.", type::DS);
  CHECK(none.aa());
  CHECK(none.answer.empty());
  CHECK(described(none.authority) ==
        Names{"SOA example.test.", "RRSIG(SOA) example.test.", "NSEC sub.example.test.",
              "RRSIG(NSEC) sub.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "DNSSEC types asked for: DNSKEY, NSEC with RRSIGs; RRSIG alone") {
  CHECK(described(ask("example.test.", type::DNSKEY).answer) ==
        Names{"DNSKEY example.test.", "RRSIG(DNSKEY) example.test."});
  CHECK(described(ask("www.example.test.", type::NSEC).answer) ==
        Names{"NSEC www.example.test.", "RRSIG(NSEC) www.example.test."});
  CHECK(described(ask("www.example.test.", type::RRSIG).answer) ==
        Names{"RRSIG(A) www.example.test.", "RRSIG(NSEC) www.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "additional addresses of the zone carry their RRSIGs") {
  const Message m = ask("example.test.", type::MX);
  CHECK(described(m.answer) == Names{"MX example.test.", "RRSIG(MX) example.test."});
  CHECK(described(m.additional) == Names{"A mail.example.test.", "RRSIG(A) mail.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "ANY: each RRset with its RRSIGs; over UDP the first only") {
  const Message udp = ask("www.example.test.", type::ANY);
  CHECK(described(udp.answer) == Names{"A www.example.test.", "A www.example.test.",
                                       "RRSIG(A) www.example.test."});
  const Message tcp = ask("www.example.test.", type::ANY, true, answer::Transport::Tcp);
  CHECK(described(tcp.answer) ==
        Names{"A www.example.test.", "A www.example.test.", "RRSIG(A) www.example.test.",
              "NSEC www.example.test.", "RRSIG(NSEC) www.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "pool answer: the RRSIG of the window answered, from the state's block") {
  std::set<std::string> windows;
  for (int i = 0; i < 3; ++i) {
    const Message m = ask("web.example.test.", type::A);
    REQUIRE(described(m.answer) == Names{"A web.example.test.", "A web.example.test.",
                                         "RRSIG(A) web.example.test."});
    // Window w starts at eligible position w: the first address answered is member w.
    const std::string first = m.address(m.answer[0]);
    const std::string sig(m.answer[2].rdata.begin(), m.answer[2].rdata.end());
    const size_t at = sig.find("web-window-");
    REQUIRE(at != std::string::npos);
    const char w = sig[at + 11];
    CHECK(first == std::string("10.1.0.") + static_cast<char>(w + 1));
    windows.insert(sig);
  }
  CHECK(windows.size() == 3);  // rotation moved the window each time
}

TEST_CASE_FIXTURE(SignedFixture, "pool NODATA (AAAA): the NSEC at the pool's name") {
  const Message m = ask("web.example.test.", type::AAAA);
  CHECK(m.answer.empty());
  CHECK(described(m.authority) == Names{"SOA example.test.", "RRSIG(SOA) example.test.",
                                        "NSEC web.example.test.", "RRSIG(NSEC) web.example.test."});
}

TEST_CASE_FIXTURE(SignedFixture, "RRSIGs of an answer that do not fit set TC") {
  // 512 bytes (no room beyond): the big DNSKEY-less case is made with a small payload: the
  // answer RRset fits but not with its RRSIG.
  const Message plain = ask("www.example.test.", type::A, true);
  QuerySpec spec;
  spec.qname = "www.example.test.";
  spec.qtype = type::A;
  spec.edns = true;
  spec.dnssec_ok = true;
  const auto q = testutil::query(spec);
  // The answer with its RRSIG needs plain.wire.size() bytes; give one byte fewer.
  std::vector<uint8_t> out(plain.wire.size() - 1);
  answer::Options options;
  options.udp_max_payload = 4096;
  const auto o = answer::answerGeneral(*catalog, states.get(), {q, answer::Transport::Udp}, out,
                                       options);
  REQUIRE(o.size > 0);
  const Message m = testutil::decode(out.data(), o.size);
  CHECK(m.tc());
}

// Knot DNS as the oracle: the zone knotd signed (tests/fixtures/dnssec, capture_knot.py), served
// by rrdns, must answer each DO=1 query with the records knotd sent, section by section (the
// order inside a section is free: Knot puts a section's RRSIGs after its RRsets, rrdns puts each
// RRset's right after it).
namespace {

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

struct KnotOracle {
  std::shared_ptr<const answer::Catalog> catalog;

  KnotOracle() {
    std::ifstream records(zonetest::sourcePath("tests/fixtures/dnssec/knot-signed.records"));
    REQUIRE(records);
    zone::ZoneBuilder b(testutil::name("s.test."), "knot-signed.records");
    std::vector<std::string> chain;
    std::string owner, hex;
    uint32_t ttl = 0, rtype = 0;
    while (records >> owner >> ttl >> rtype >> hex) {
      // A node's RRSIGs are one RRset in rrdns whose TTL is not served (each RRSIG goes out
      // with its RRset's TTL): the warning that TTLs differ is expected.
      std::optional<Error> warning;
      const std::string err = zonetest::messageOf(
          b.add(testutil::name(owner), static_cast<uint16_t>(rtype), ttl, unhex(hex), &warning));
      REQUIRE_MESSAGE(err.empty(), owner << " " << rtype << ": " << err);
      if (rtype == type::NSEC) chain.push_back(testutil::name(owner));
    }
    std::sort(chain.begin(), chain.end(), [](const std::string& x, const std::string& y) {
      return wire::compareCanonical(x, y) < 0;
    });
    REQUIRE(chain.size() > 5);
    auto signed_zone = std::make_shared<zone::SignedZone>();
    signed_zone->canonical = std::move(chain);
    b.setSigned(signed_zone);
    catalog = testutil::catalogOf(b);
  }

  // What rrdns answers, in the form knot-answers.txt has: "query NAME TYPE RCODE aa|noaa", then
  // "SECTION OWNER TYPE" lines, each section's lines sorted.
  std::vector<std::string> answer(const std::string& qname, const std::string& qtype) {
    QuerySpec spec;
    spec.qname = qname;
    spec.qtype = typeNamed(qtype);
    spec.edns = true;
    spec.dnssec_ok = true;
    spec.payload = 4096;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    answer::Options options;
    options.udp_max_payload = 4096;
    const auto o = answer::answerGeneral(*catalog, nullptr, {q, answer::Transport::Udp}, out,
                                         options);
    REQUIRE(o.size > 0);
    const Message m = testutil::decode(out.data(), o.size);
    std::vector<std::string> lines{"query " + qname + " " + qtype + " " +
                                   (m.rcode() == rcode::NXDOMAIN ? "NXDOMAIN" : m.rcode() == 0 ? "NOERROR" : "OTHER") +
                                   (m.aa() ? " aa" : " noaa")};
    for (const auto& [label, section] : {std::pair{"answer", &m.answer},
                                         std::pair{"authority", &m.authority},
                                         std::pair{"additional", &m.additional}}) {
      std::vector<std::string> part;
      for (const auto& d : described(*section)) {
        const size_t space = d.find(' ');
        part.push_back(std::string(label) + " " + d.substr(space + 1) + " " + d.substr(0, space));
      }
      std::sort(part.begin(), part.end());
      lines.insert(lines.end(), part.begin(), part.end());
    }
    return lines;
  }
};

// knot-answers.txt as one list of lines per query, each section's lines sorted.
std::vector<std::vector<std::string>> knotAnswers() {
  std::ifstream in(zonetest::sourcePath("tests/fixtures/dnssec/knot-answers.txt"));
  REQUIRE(in);
  std::vector<std::vector<std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("query ", 0) == 0) {
      out.push_back({line});
      continue;
    }
    REQUIRE(!out.empty());
    out.back().push_back(line);
  }
  for (auto& q : out) {
    // Sorted within each section: sections come in order and sort apart by their label, but
    // "additional" < "answer" < "authority" alphabetically, so sort per label.
    std::vector<std::string> sorted{q.front()};
    for (const char* label : {"answer ", "authority ", "additional "}) {
      std::vector<std::string> part;
      for (size_t i = 1; i < q.size(); ++i)
        if (q[i].rfind(label, 0) == 0) part.push_back(q[i]);
      std::sort(part.begin(), part.end());
      sorted.insert(sorted.end(), part.begin(), part.end());
    }
    q = std::move(sorted);
  }
  return out;
}

}  // namespace

TEST_CASE("DO=1 answers of a zone knotd signed carry the records knotd's do") {
  KnotOracle rrdns;
  const auto expected = knotAnswers();
  REQUIRE(expected.size() >= 20);
  for (const auto& knot : expected) {
    std::istringstream head(knot.front());
    std::string word, qname, qtype;
    head >> word >> qname >> qtype;
    CAPTURE(knot.front());
    CHECK(zonetest::joined(rrdns.answer(qname, qtype)) == zonetest::joined(knot));
  }
}

TEST_CASE_FIXTURE(SignedFixture, "CD is not copied, signed zone or not, DO or not: as knotd 3.2.6") {
  for (bool dnssec_ok : {true, false}) {
    QuerySpec spec;
    spec.qname = "www.example.test.";
    spec.flags = wire::flag::RD | wire::flag::CD;
    spec.edns = true;
    spec.dnssec_ok = dnssec_ok;
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    for (bool general : {true, false}) {
      const auto o = general ? answer::answerGeneral(*catalog, states.get(), {q}, out, {})
                             : answer::answer(*catalog, states.get(), {q}, out);
      REQUIRE(o.size > 0);
      const Message m = testutil::decode(out.data(), o.size);
      CHECK(m.rd());
      CHECK((m.flags & wire::flag::CD) == 0);
    }
  }
}
