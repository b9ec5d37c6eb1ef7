#include <doctest/doctest.h>

#include "dns/wire/query.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns::wire;
using testutil::QuerySpec;

namespace {

ParseStatus parse(const std::vector<uint8_t>& m, Query& q) {
  return parseQuery(std::span<const uint8_t>(m.data(), m.size()), q);
}

}  // namespace

TEST_CASE("parseQuery: a plain query") {
  QuerySpec spec;
  spec.qname = "WwW.Example.TEST.";
  spec.keep_case = true;
  const auto m = testutil::query(spec);
  Query q;
  REQUIRE(parse(m, q) == ParseStatus::Ok);
  CHECK(q.id == 0x1234);
  CHECK(q.has_question);
  CHECK(q.qtype == type::A);
  CHECK(q.qclass == klass::IN);
  CHECK(q.qname.view() == testutil::nameKeepCase("WwW.Example.TEST."));
  CHECK(q.lower.view() == testutil::name("www.example.test."));
  CHECK_FALSE(q.edns.present);
}

TEST_CASE("parseQuery: EDNS payload, version and DO bit") {
  QuerySpec spec;
  spec.edns = true;
  spec.payload = 4096;
  spec.edns_version = 1;
  spec.dnssec_ok = true;
  Query q;
  REQUIRE(parse(testutil::query(spec), q) == ParseStatus::Ok);
  CHECK(q.edns.present);
  CHECK(q.edns.payload == 4096);
  CHECK(q.edns.version == 1);
  CHECK(q.edns.dnssec_ok);
}

TEST_CASE("parseQuery: what gets no reply") {
  Query q;
  CHECK(parse({}, q) == ParseStatus::Drop);
  CHECK(parse(std::vector<uint8_t>(11, 0), q) == ParseStatus::Drop);
  QuerySpec spec;
  spec.flags = 0x8000;  // QR: a response
  CHECK(parse(testutil::query(spec), q) == ParseStatus::Drop);
}

TEST_CASE("parseQuery: qdcount other than 1 is FORMERR without a question") {
  auto m = testutil::query(QuerySpec{});
  Query q;
  m[5] = 0;
  CHECK(parse(m, q) == ParseStatus::FormErr);
  CHECK_FALSE(q.has_question);
  m[5] = 2;
  CHECK(parse(m, q) == ParseStatus::FormErr);
  CHECK_FALSE(q.has_question);
}

TEST_CASE("parseQuery: truncated or malformed question is FORMERR") {
  const auto whole = testutil::query(QuerySpec{});
  Query q;
  for (size_t cut = 12; cut < whole.size(); ++cut) {
    std::vector<uint8_t> m(whole.begin(), whole.begin() + static_cast<long>(cut));
    CHECK(parse(m, q) == ParseStatus::FormErr);
  }
  auto loop = whole;
  loop.resize(12);
  loop.insert(loop.end(), {0xC0, 0x0C, 0, 1, 0, 1});  // qname points at itself
  CHECK(parse(loop, q) == ParseStatus::FormErr);
}

TEST_CASE("parseQuery: other opcodes are NOTIMP, question kept") {
  QuerySpec spec;
  spec.flags = 4 << 11;  // NOTIFY
  Query q;
  CHECK(parse(testutil::query(spec), q) == ParseStatus::NotImp);
  CHECK(q.has_question);
}

TEST_CASE("parseQuery: broken OPT records are FORMERR") {
  QuerySpec spec;
  spec.edns = true;
  auto m = testutil::query(spec);
  Query q;
  SUBCASE("two OPT records") {
    auto twice = m;
    twice.insert(twice.end(), m.end() - 11, m.end());
    twice[11] = 2;
    CHECK(parse(twice, q) == ParseStatus::FormErr);
  }
  SUBCASE("option longer than RDATA") {
    auto bad = m;
    bad[bad.size() - 1] = 4;  // rdlength 4
    bad.insert(bad.end(), {0, 10, 0, 8});  // option code 10, length 8: runs past rdata
    CHECK(parse(bad, q) == ParseStatus::FormErr);
  }
  SUBCASE("RDATA runs past the message") {
    auto bad = m;
    bad[bad.size() - 1] = 9;
    CHECK(parse(bad, q) == ParseStatus::FormErr);
  }
  SUBCASE("additional count larger than the records present") {
    auto bad = m;
    bad[11] = 3;
    CHECK(parse(bad, q) == ParseStatus::FormErr);
  }
}

TEST_CASE("parseQuery: qtype OPT is FORMERR") {
  QuerySpec spec;
  spec.qtype = type::OPT;
  Query q;
  CHECK(parse(testutil::query(spec), q) == ParseStatus::FormErr);
}

TEST_CASE("parseQuery: bytes after the last record are FORMERR, question kept") {
  QuerySpec spec;
  for (bool edns : {false, true}) {
    spec.edns = edns;
    auto m = testutil::query(spec);
    Query q;
    REQUIRE(parse(m, q) == ParseStatus::Ok);
    m.push_back(0);
    CHECK(parse(m, q) == ParseStatus::FormErr);
    CHECK(q.has_question);
  }
}
