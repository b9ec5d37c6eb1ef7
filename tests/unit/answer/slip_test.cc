// slip_test.cc -- the truncated "slip" answer to a rate-limited client (answer::slip).
#include <doctest/doctest.h>

#include "dns/answer/answer.hh"
#include "dns/wire/constants.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;

namespace {

// The last 11 bytes of the answer to `slip.test. MX` (its additional section: mail's AAAA, which
// ends in them) read like an OPT record with DO set.
const std::string kOptLookalike("\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00", 11);

struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;

  Fixture() {
    zone::ZoneBuilder b(testutil::name("slip.test."), "test");
    auto add = [&](const char* owner, uint16_t t, std::string rdata) {
      const std::string err =
          zonetest::messageOf(b.add(testutil::name(owner), t, 300, std::move(rdata)));
      REQUIRE_MESSAGE(err.empty(), err);
    };
    add("slip.test.", type::SOA, testutil::soaRdata("slip.test.", 1, 120));
    add("slip.test.", type::NS, testutil::name("ns1.slip.test."));
    add("ns1.slip.test.", type::A, testutil::a("192.0.2.53"));
    add("www.slip.test.", type::A, testutil::a("192.0.2.1"));
    add("slip.test.", type::MX, std::string("\0\x0a", 2) + testutil::name("mail.slip.test."));
    add("mail.slip.test.", type::AAAA, testutil::aaaa("2001:db8:0:29:4d0:0:8000:0"));
    catalog = testutil::catalogOf(b);
  }

  // The slip for `spec` over UDP, and the answer it was cut from.
  Message slip(const QuerySpec& spec, Message* full = nullptr) {
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    const answer::Request request{q, answer::Transport::Udp};
    const answer::Outcome outcome = answer::answer(*catalog, nullptr, request, out);
    REQUIRE(outcome.size > 0);
    if (full) *full = testutil::decode(out.data(), outcome.size);
    const size_t size = answer::slip(request, outcome, out);
    REQUIRE(size > 0);
    REQUIRE(size <= outcome.size);
    return testutil::decode(out.data(), size);
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "slip: header and question with TC, the answer's flags and RCODE kept") {
  QuerySpec spec;
  spec.qname = "www.slip.test.";
  Message full;
  const Message m = slip(spec, &full);
  CHECK(m.tc());
  CHECK(m.flags == (full.flags | wire::flag::TC));
  CHECK(m.qname == "www.slip.test.");
  CHECK(m.qtype == type::A);
  CHECK(m.answer.empty());
  CHECK(m.authority.empty());
  CHECK(m.additional.empty());

  spec.qname = "nosuch.slip.test.";
  const Message nx = slip(spec);
  CHECK(nx.rcode() == rcode::NXDOMAIN);
  CHECK(nx.authority.empty());
}

TEST_CASE_FIXTURE(Fixture, "slip: an EDNS query's OPT is kept, with DO and the extended RCODE") {
  QuerySpec spec;
  spec.qname = "www.slip.test.";
  spec.edns = true;
  spec.dnssec_ok = true;
  const Message m = slip(spec);
  CHECK(m.tc());
  REQUIRE(m.additional.size() == 1);
  const testutil::Record* opt = m.opt();
  REQUIRE(opt != nullptr);
  CHECK(opt->klass == 1232);
  CHECK((opt->ttl & 0x8000) != 0);

  spec.edns_version = 1;  // BADVERS (16): its upper bits live in the OPT
  const Message badvers = slip(spec);
  REQUIRE(badvers.opt() != nullptr);
  CHECK((badvers.opt()->ttl >> 24) == 1);
}

// The slip used to be cut from the response's bytes, taking its last 11 as the OPT record if they
// looked like one: an answer ending in such bytes grew an OPT the query never asked for.
TEST_CASE_FIXTURE(Fixture, "slip_no_opt_from_the_answers_last_bytes") {
  QuerySpec spec;
  spec.qname = "slip.test.";
  spec.qtype = type::MX;
  Message full;
  const Message m = slip(spec, &full);
  REQUIRE(full.additional.size() == 1);  // the look-alike is really there, last in the answer
  REQUIRE(full.wire.size() > kOptLookalike.size());
  CHECK(std::string(full.wire.end() - kOptLookalike.size(), full.wire.end()) == kOptLookalike);
  CHECK(m.tc());
  CHECK(m.additional.empty());
  CHECK(m.opt() == nullptr);
}

TEST_CASE_FIXTURE(Fixture, "slip: FORMERR keeps no OPT") {
  QuerySpec spec;
  spec.edns = true;
  spec.edns_options = std::string("\0\x0a\0", 3);  // options that do not frame
  const Message m = slip(spec);
  CHECK(m.rcode() == rcode::FORMERR);
  CHECK(m.opt() == nullptr);
}

// The slip sends back what the answer did: the ECS option with the answer's scope (RFC 7871
// 7.2.1), none when the option was malformed (FORMERR, whose OPT it keeps) or ECS is off.
TEST_CASE_FIXTURE(Fixture, "slip: an ECS option goes back as in the answer") {
  QuerySpec spec;
  spec.qname = "www.slip.test.";
  spec.edns = true;
  const std::string ecs("\0\1\x18\0\x0a\x01\x02", 7);  // 10.1.2.0/24
  spec.edns_options = testutil::ednsOption(8, ecs);
  Message full;
  const Message m = slip(spec, &full);
  CHECK(m.tc());
  REQUIRE(m.opt() != nullptr);
  REQUIRE(full.opt() != nullptr);
  CHECK(m.opt()->rdata == full.opt()->rdata);
  CHECK(std::string(m.opt()->rdata.begin(), m.opt()->rdata.end()) ==
        testutil::ednsOption(8, ecs));

  spec.edns_options = testutil::ednsOption(8, std::string("\0\3\x08\0\x0a", 5));  // family 3
  const Message formerr = slip(spec, &full);
  CHECK(formerr.rcode() == rcode::FORMERR);
  REQUIRE(formerr.opt() != nullptr);
  CHECK(formerr.opt()->rdata.empty());
  REQUIRE(full.opt() != nullptr);
  CHECK(full.opt()->rdata.empty());
}
