// question_test.cc -- the one reader of a query's question and OPT record (dns/wire/question.hh).
#include <doctest/doctest.h>

#include "dns/wire/query.hh"
#include "dns/wire/question.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns::wire;
using testutil::ednsOption;
using testutil::QuerySpec;

namespace {

ParseStatus parse(const std::vector<uint8_t>& m, Query& q) {
  return parseQuery(std::span<const uint8_t>(m.data(), m.size()), q);
}

}  // namespace

TEST_CASE("readQuestion: lower-cases and hashes the name as the table does") {
  QuerySpec spec;
  spec.qname = "WwW.Example.TEST.";
  spec.keep_case = true;
  spec.qtype = type::AAAA;
  const auto m = testutil::query(spec);
  Question q;
  REQUIRE(readQuestion(m, q));
  CHECK(q.name() == testutil::name("www.example.test."));
  CHECK(q.hash == hashName(testutil::name("www.example.test.")));
  CHECK(q.qtype == type::AAAA);
  CHECK(q.qclass == klass::IN);
  CHECK(q.end == m.size());
}

TEST_CASE("readQuestion: cut short, bad label types and over-long names are refused") {
  QuerySpec spec;
  auto m = testutil::query(spec);
  Question q;
  for (size_t size = kHeaderSize; size < m.size(); ++size)
    CHECK_FALSE(readQuestion(std::span<const uint8_t>(m.data(), size), q));
  m[kHeaderSize] = 0x40;  // extended label type
  CHECK_FALSE(readQuestion(m, q));
  std::vector<uint8_t> long_name(kHeaderSize, 0);
  for (int i = 0; i < 4; ++i) {  // 4 x 64 bytes of labels: 256 with the root
    long_name.push_back(63);
    long_name.insert(long_name.end(), 63, 'a');
  }
  long_name.insert(long_name.end(), {0, 0, 1, 0, 1});
  CHECK_FALSE(readQuestion(long_name, q));
}

// Knot DNS refuses a compressed question too (knot_pkt_parse_question): a pointer there can only
// point into the header.
TEST_CASE("parseQuery: a compression pointer in the question is FORMERR") {
  std::vector<uint8_t> m = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x04, 0, 1, 0, 1};
  Query q;
  CHECK(parse(m, q) == ParseStatus::FormErr);
  CHECK_FALSE(q.has_question);
}

TEST_CASE("parseQuery: NSID and EDNS Client Subnet options are noted, others skipped") {
  QuerySpec spec;
  spec.edns = true;
  const std::string ecs = std::string("\0\1\x18\0", 4) + "\xc6\x33\x64";  // 198.51.100.0/24
  spec.edns_options = ednsOption(10, "12345678") + ednsOption(edns_option::NSID, "") +
                      ednsOption(edns_option::ECS, ecs);
  const auto m = testutil::query(spec);
  Query q;
  REQUIRE(parse(m, q) == ParseStatus::Ok);
  REQUIRE(q.edns.present);
  CHECK(q.edns.options.nsid);
  REQUIRE(q.edns.options.subnet != 0);
  ClientSubnet subnet;
  REQUIRE(readClientSubnet(m, q.edns.options, subnet) == SubnetStatus::Valid);
  CHECK(subnet.family == 1);
  CHECK(subnet.source_prefix == 24);
  CHECK(subnet.scope_prefix == 0);
  CHECK(subnet.address[0] == 198);
  CHECK(subnet.address[2] == 100);
  CHECK(subnet.address[3] == 0);

  spec.edns_options = ednsOption(10, "12345678");
  Query plain;
  REQUIRE(parse(testutil::query(spec), plain) == ParseStatus::Ok);
  CHECK_FALSE(plain.edns.options.nsid);
  CHECK(readClientSubnet(m, plain.edns.options, subnet) == SubnetStatus::None);
}

TEST_CASE("walkOptions: each option visited once, in order; a false from the visitor stops") {
  const std::string opts =
      ednsOption(10, "12345678") + ednsOption(edns_option::NSID, "") + ednsOption(12, "");
  const auto* m = reinterpret_cast<const uint8_t*>(opts.data());
  std::vector<std::pair<uint16_t, size_t>> seen;
  CHECK(walkOptions(m, 0, opts.size(), [&](uint16_t code, size_t data, size_t len) {
    CHECK(data + len <= opts.size());
    seen.emplace_back(code, len);
    return true;
  }));
  CHECK(seen == std::vector<std::pair<uint16_t, size_t>>{{10, 8}, {edns_option::NSID, 0}, {12, 0}});
  seen.clear();
  CHECK_FALSE(walkOptions(m, 0, opts.size(), [&](uint16_t code, size_t, size_t len) {
    seen.emplace_back(code, len);
    return code != edns_option::NSID;
  }));
  CHECK(seen.size() == 2);
  int calls = 0;
  CHECK(walkOptions(m, 0, 0, [&](uint16_t, size_t, size_t) { return ++calls, false; }));
  CHECK(calls == 0);  // no options: the visitor is never asked
  CHECK_FALSE(walkOptions(m, 0, opts.size() - 1, [](uint16_t, size_t, size_t) { return true; }));
}

TEST_CASE("readClientSubnet: malformed as Knot DNS 3.2 decides (RFC 7871 6)") {
  auto status = [](const std::string& data) {
    QuerySpec spec;
    spec.edns = true;
    spec.edns_options = ednsOption(edns_option::ECS, data);
    const auto m = testutil::query(spec);
    Query q;
    REQUIRE(parse(m, q) == ParseStatus::Ok);
    ClientSubnet subnet;
    return readClientSubnet(m, q.edns.options, subnet);
  };
  CHECK(status(std::string("\0\2\x38\0", 4) + std::string(7, '\x20')) == SubnetStatus::Valid);
  CHECK(status(std::string("\0\1\x18", 3)) == SubnetStatus::Malformed);           // too short
  CHECK(status(std::string("\0\3\x08\0", 4) + "\x0a") == SubnetStatus::Malformed);  // family 3
  CHECK(status(std::string("\0\1\x21\0", 4) + "abcde") == SubnetStatus::Malformed); // /33
  CHECK(status(std::string("\0\1\x18\0", 4) + "ab") == SubnetStatus::Malformed);    // 2 of 3 bytes
  CHECK(status(std::string("\0\1\x18\x21", 4) + "abc") == SubnetStatus::Malformed); // scope /33
  CHECK(status(std::string("\0\0\0\0", 4)) == SubnetStatus::Malformed);             // family 0
  // What RFC 7871 6 says a server SHOULD refuse and Knot DNS accepts: more address bytes than
  // the prefix needs, bits past it, a scope in the query.
  CHECK(status(std::string("\0\1\x08\0", 4) + "ab") == SubnetStatus::Valid);        // 2 for /8
  CHECK(status(std::string("\0\1\x17\x08", 4) + "\x0a\x01\x03") == SubnetStatus::Valid);
  CHECK(status(std::string("\0\1\0\0", 4)) == SubnetStatus::Valid);                 // /0
}

TEST_CASE("readClientSubnet: the address is read with the bits past the prefix zero") {
  QuerySpec spec;
  spec.edns = true;
  spec.edns_options =
      ednsOption(edns_option::ECS, std::string("\0\1\x14\x08\x0a\x01\x1f\x77", 8));  // /20
  const auto m = testutil::query(spec);
  Query q;
  REQUIRE(parse(m, q) == ParseStatus::Ok);
  ClientSubnet subnet;
  REQUIRE(readClientSubnet(m, q.edns.options, subnet) == SubnetStatus::Valid);
  CHECK(subnet.source_prefix == 20);
  CHECK(subnet.scope_prefix == 8);
  CHECK(subnet.address[0] == 10);
  CHECK(subnet.address[1] == 1);
  CHECK(subnet.address[2] == 0x10);
  CHECK(subnet.address[3] == 0);
}

TEST_CASE("parseQuery: options that do not frame to RDLENGTH are FORMERR") {
  QuerySpec spec;
  spec.edns = true;
  spec.edns_options = ednsOption(10, "1234").substr(0, 6);  // claims 4 bytes, has 2
  Query q;
  CHECK(parse(testutil::query(spec), q) == ParseStatus::FormErr);
  spec.edns_options = std::string("\0\x0a\0", 3);  // not even an option header
  CHECK(parse(testutil::query(spec), q) == ParseStatus::FormErr);
}
