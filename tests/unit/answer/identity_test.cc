// identity_test.cc -- what the server says about itself: NSID (RFC 5001) in the OPT record, and
// CH TXT id.server / hostname.bind / version.server / version.bind (RFC 4892) as Knot DNS answers.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/question.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::ednsOption;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;

namespace {

const std::string kNsidAsked = ednsOption(wire::edns_option::NSID, "");
const std::string kCookie = ednsOption(10, "clientck");  // dig sends one by default

// The options of an OPT record, as (code, data) pairs; fails the test if they do not frame.
std::vector<std::pair<uint16_t, std::string>> optionsOf(const testutil::Record& opt) {
  std::vector<std::pair<uint16_t, std::string>> out;
  size_t pos = 0;
  while (pos < opt.rdata.size()) {
    REQUIRE(pos + 4 <= opt.rdata.size());
    const uint16_t code = load16(opt.rdata.data() + pos);
    const size_t len = load16(opt.rdata.data() + pos + 2);
    REQUIRE(pos + 4 + len <= opt.rdata.size());
    out.emplace_back(code, std::string(opt.rdata.begin() + pos + 4,
                                       opt.rdata.begin() + pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

// The NSID the response carries; "" when none (its absence is checked by the callers).
std::string nsidOf(const Message& m) {
  const testutil::Record* opt = m.opt();
  REQUIRE(opt != nullptr);
  std::string nsid;
  for (const auto& [code, data] : optionsOf(*opt))
    if (code == wire::edns_option::NSID) nsid = data;
  return nsid;
}

struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;
  std::string nsid = "ns1.anycast.example";
  std::string identity = "ns1.anycast.example";
  std::string version = "rrdns 9.9.9";
  answer::Options options;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("id.test."), "test");
    auto add = [&](const char* owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, ttl, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    add("id.test.", type::SOA, 300, testutil::soaRdata("id.test.", 1, 120));
    add("id.test.", type::NS, 300, testutil::name("ns1.id.test."));
    add("ns1.id.test.", type::A, 300, testutil::a("192.0.2.53"));
    add("www.id.test.", type::A, 60, testutil::a("192.0.2.1"));
    add("www.id.test.", type::A, 60, testutil::a("192.0.2.2"));
    for (int i = 1; i <= 40; ++i)
      add("big.id.test.", type::A, 300, testutil::a(("10.0.2." + std::to_string(i)).c_str()));
    catalog = testutil::catalogOf(b);
    REQUIRE(catalog->precompiled);
    options.self = {nsid, identity, version};
  }

  Message ask(const QuerySpec& spec, answer::Transport t = answer::Transport::Udp,
              answer::Outcome* outcome = nullptr) {
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(wire::kMaxMessageSize);
    const answer::Outcome o = answer::answer(*catalog, nullptr, {q, t}, out, options);
    if (outcome) *outcome = o;
    REQUIRE(o.size > 0);
    REQUIRE(o.size <= out.size());
    return testutil::decode(out.data(), o.size);
  }
};

QuerySpec nsidQuery(const char* qname, uint16_t qtype = type::A) {
  QuerySpec spec;
  spec.qname = qname;
  spec.qtype = qtype;
  spec.edns = true;
  spec.edns_options = kNsidAsked;
  return spec;
}

QuerySpec chaosQuery(const char* qname, uint16_t qtype = type::TXT) {
  QuerySpec spec;
  spec.qname = qname;
  spec.qtype = qtype;
  spec.qclass = wire::klass::CH;
  spec.keep_case = true;
  return spec;
}

// The one TXT string of a CH answer.
std::string txtOf(const Message& m) {
  REQUIRE(m.answer.size() == 1);
  const testutil::Record& r = m.answer[0];
  CHECK(r.type == type::TXT);
  CHECK(r.klass == wire::klass::CH);
  CHECK(r.ttl == 0);
  REQUIRE(!r.rdata.empty());
  REQUIRE(r.rdata[0] + 1u == r.rdata.size());
  return std::string(r.rdata.begin() + 1, r.rdata.end());
}

}  // namespace

TEST_CASE_FIXTURE(Fixture, "NSID: a query that asks gets it, whichever path answers") {
  // A name the fast path holds, a negative answer it replays, and the general path's REFUSED.
  for (const char* qname : {"www.id.test.", "nosuch.id.test.", "elsewhere.test."}) {
    CAPTURE(qname);
    const Message m = ask(nsidQuery(qname));
    CHECK(nsidOf(m) == nsid);
  }
  CHECK(nsidOf(ask(nsidQuery("www.id.test.", type::TXT))) == nsid);
  const Message m = ask(nsidQuery("www.id.test."));
  CHECK(m.aa());
  CHECK(m.answer.size() == 2);
  CHECK(m.rcode() == rcode::NOERROR);
  // Among other options (a cookie, which we do not answer), and over TCP.
  QuerySpec with_cookie = nsidQuery("www.id.test.");
  with_cookie.edns_options = kCookie + kNsidAsked;
  CHECK(nsidOf(ask(with_cookie)) == nsid);
  CHECK(nsidOf(ask(with_cookie, answer::Transport::Tcp)) == nsid);
  // RFC 5001 2.3: the option's data in a query is ignored; the answer is ours all the same.
  with_cookie.edns_options = ednsOption(wire::edns_option::NSID, "xyz");
  CHECK(nsidOf(ask(with_cookie)) == nsid);
}

TEST_CASE_FIXTURE(Fixture, "NSID: nothing changes for a query that does not ask, or when off") {
  QuerySpec plain = nsidQuery("www.id.test.");
  plain.edns_options = kCookie;
  const Message m = ask(plain);
  REQUIRE(m.opt() != nullptr);
  CHECK(m.opt()->rdata.empty());  // RDLENGTH 0: no options at all

  options.self.nsid = {};
  for (const char* qname : {"www.id.test.", "nosuch.id.test.", "elsewhere.test."}) {
    CAPTURE(qname);
    const Message off = ask(nsidQuery(qname));
    REQUIRE(off.opt() != nullptr);
    CHECK(off.opt()->rdata.empty());
  }
}

TEST_CASE_FIXTURE(Fixture, "NSID: no OPT, no NSID (no EDNS, FORMERR)") {
  QuerySpec noedns = nsidQuery("www.id.test.");
  noedns.edns = false;
  CHECK(ask(noedns).opt() == nullptr);
  QuerySpec broken = nsidQuery("www.id.test.");
  broken.edns_options = kNsidAsked + std::string("\0\x0a\0", 3);  // does not frame
  const Message m = ask(broken);
  CHECK(m.rcode() == rcode::FORMERR);
  CHECK(m.opt() == nullptr);
}

TEST_CASE_FIXTURE(Fixture, "NSID: room is kept for it; records that would crowd it out truncate") {
  // The longest NSID (255 bytes), and a payload that fits the 40 addresses without it but not
  // with it: the answer truncates, as Knot DNS's does, and the whole stays within the payload.
  nsid.assign(answer::kMaxIdentityText, 'n');
  options.self.nsid = nsid;
  QuerySpec plain = nsidQuery("big.id.test.");
  plain.edns_options.clear();
  plain.payload = 4096;
  options.udp_max_payload = 4096;
  const size_t without = ask(plain).wire.size();
  options.udp_max_payload = static_cast<uint16_t>(without + 100);

  QuerySpec asks = nsidQuery("big.id.test.");
  asks.payload = 4096;
  answer::Outcome outcome;
  const Message cut = ask(asks, answer::Transport::Udp, &outcome);
  CHECK(cut.tc());
  CHECK(outcome.truncated);
  CHECK(cut.answer.empty());
  CHECK(nsidOf(cut) == nsid);
  CHECK(cut.wire.size() <= options.udp_max_payload);

  const Message full = ask(plain);  // the same payload without NSID: everything
  CHECK_FALSE(full.tc());
  CHECK(full.answer.size() == 40);
  const Message tcp = ask(asks, answer::Transport::Tcp);
  CHECK_FALSE(tcp.tc());
  CHECK(tcp.answer.size() == 40);
  CHECK(nsidOf(tcp) == nsid);
}

TEST_CASE_FIXTURE(Fixture, "NSID: left out when it cannot fit beside the question") {
  // 512 bytes (the requester's payload), a question of 255 + 4 bytes: header, question and an
  // OPT record fit; with 259 more bytes of NSID they would not.
  nsid.assign(answer::kMaxIdentityText, 'n');
  options.self.nsid = nsid;
  std::string longest;
  for (int i = 0; i < 3; ++i) longest += std::string(63, 'a') + ".";
  longest += std::string(61, 'b') + ".";  // 4 labels: 3 * 64 + 62 + 1 = 255 bytes
  QuerySpec spec = nsidQuery(longest.c_str());
  spec.payload = 512;
  const Message m = ask(spec);
  CHECK(m.rcode() == rcode::REFUSED);
  REQUIRE(m.opt() != nullptr);
  CHECK(m.opt()->rdata.empty());
  CHECK(m.wire.size() <= 512);
}

TEST_CASE_FIXTURE(Fixture, "NSID: a slip answer keeps the OPT record, not the NSID") {
  const QuerySpec spec = nsidQuery("www.id.test.");
  const auto q = testutil::query(spec);
  std::vector<uint8_t> out(wire::kMaxMessageSize);
  const answer::Request request{q, answer::Transport::Udp};
  const answer::Outcome o = answer::answer(*catalog, nullptr, request, out, options);
  REQUIRE(!nsidOf(testutil::decode(out.data(), o.size)).empty());
  const size_t size = answer::slip(request, o, out, options);
  REQUIRE(size > 0);
  const Message m = testutil::decode(out.data(), size);
  CHECK(m.tc());
  REQUIRE(m.opt() != nullptr);
  CHECK(m.opt()->rdata.empty());
}

TEST_CASE_FIXTURE(Fixture, "CH TXT: id.server and hostname.bind answer the identity, as Knot DNS") {
  for (const char* qname : {"id.server.", "hostname.bind.", "ID.Server.", "HOSTNAME.BIND."}) {
    CAPTURE(qname);
    answer::Outcome outcome;
    const Message m = ask(chaosQuery(qname), answer::Transport::Udp, &outcome);
    CHECK(outcome.rcode == rcode::NOERROR);
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK_FALSE(m.aa());  // no zone holds these names: Knot DNS leaves AA clear too
    CHECK(m.rd());        // echoed
    CHECK(m.qclass == wire::klass::CH);
    CHECK(m.qname == qname);
    CHECK(txtOf(m) == identity);
    CHECK(m.answer[0].owner == qname);  // a pointer to the question: its letter case
    CHECK(m.authority.empty());
    CHECK(m.additional.empty());
  }
}

TEST_CASE_FIXTURE(Fixture, "CH TXT: version.server and version.bind answer the version") {
  for (const char* qname : {"version.server.", "version.bind.", "VERSION.bind."}) {
    CAPTURE(qname);
    const Message m = ask(chaosQuery(qname));
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK_FALSE(m.aa());
    CHECK(txtOf(m) == version);
  }
  // Over TCP, with EDNS and NSID: the same record, and the NSID beside it.
  QuerySpec spec = chaosQuery("version.bind.");
  spec.edns = true;
  spec.edns_options = kNsidAsked;
  const Message m = ask(spec, answer::Transport::Tcp);
  CHECK(txtOf(m) == version);
  CHECK(nsidOf(m) == nsid);
}

TEST_CASE_FIXTURE(Fixture, "CH: an empty text, another name or another type is REFUSED") {
  auto refused = [&](const QuerySpec& spec) {
    answer::Outcome outcome;
    const Message m = ask(spec, answer::Transport::Udp, &outcome);
    CHECK(outcome.rcode == rcode::REFUSED);
    CHECK_FALSE(m.aa());
    CHECK(m.answer.empty());
    CHECK(m.authority.empty());
    return m.rcode() == rcode::REFUSED;
  };
  CHECK(refused(chaosQuery("authors.bind.")));
  CHECK(refused(chaosQuery("server.")));
  CHECK(refused(chaosQuery("id.server.example.")));
  CHECK(refused(chaosQuery("www.id.test.", type::A)));
  CHECK(refused(chaosQuery("id.server.", type::A)));
  CHECK(refused(chaosQuery("id.server.", type::ANY)));
  CHECK(refused(chaosQuery("version.bind.", type::SOA)));

  options.self.version = {};  // version = "": not said
  CHECK(refused(chaosQuery("version.bind.")));
  CHECK(refused(chaosQuery("version.server.")));
  CHECK(txtOf(ask(chaosQuery("id.server."))) == identity);
  options.self.identity = {};
  CHECK(refused(chaosQuery("id.server.")));
  CHECK(refused(chaosQuery("hostname.bind.")));

  options = answer::Options{};  // nothing configured (tools, tests): REFUSED as before
  CHECK(refused(chaosQuery("id.server.")));
  CHECK(refused(chaosQuery("version.bind.")));
}

TEST_CASE_FIXTURE(Fixture, "CH TXT: the longest identity fits a 512-byte answer") {
  identity.assign(answer::kMaxIdentityText, 'x');
  options.self.identity = identity;
  const Message m = ask(chaosQuery("hostname.bind."));
  CHECK(txtOf(m) == identity);
  CHECK_FALSE(m.tc());
  CHECK(m.wire.size() <= 512);
}
