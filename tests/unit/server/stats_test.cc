// stats_test.cc -- statistics buckets and their names, and the single-writer counter.
#include "dns/server/stats.hh"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "dns/server/counters.hh"
#include "dns/wire/constants.hh"

using namespace rrdns;
using namespace rrdns::server;

TEST_CASE("RCODE buckets") {
  namespace rcode = wire::rcode;
  CHECK(rcodeBucketName(rcodeBucket(rcode::NOERROR)) == "NOERROR");
  CHECK(rcodeBucketName(rcodeBucket(rcode::FORMERR)) == "FORMERR");
  CHECK(rcodeBucketName(rcodeBucket(rcode::SERVFAIL)) == "SERVFAIL");
  CHECK(rcodeBucketName(rcodeBucket(rcode::NXDOMAIN)) == "NXDOMAIN");
  CHECK(rcodeBucketName(rcodeBucket(rcode::NOTIMP)) == "NOTIMP");
  CHECK(rcodeBucketName(rcodeBucket(rcode::REFUSED)) == "REFUSED");
  CHECK(rcodeBucketName(rcodeBucket(rcode::BADVERS)) == "BADVERS");
  for (int other : {6, 9, 15, 17, 23, 4095, 65535})
    CHECK(rcodeBucketName(rcodeBucket(static_cast<uint16_t>(other))) == "other");
  CHECK(rcodeBucket(65535) == kRcodeBuckets - 1);
  CHECK(rcodeBucketName(kRcodeBuckets) == "other");  // out of range is not undefined
}

TEST_CASE("QTYPE buckets") {
  namespace type = wire::type;
  const std::pair<uint16_t, const char*> known[] = {
      {type::A, "A"},      {type::AAAA, "AAAA"}, {type::CNAME, "CNAME"}, {type::MX, "MX"},
      {type::NS, "NS"},    {type::SOA, "SOA"},   {type::TXT, "TXT"},     {type::SRV, "SRV"},
      {type::PTR, "PTR"},  {type::CAA, "CAA"},   {type::ANY, "ANY"},     {type::AXFR, "AXFR"},
      {type::IXFR, "IXFR"}};
  std::set<size_t> seen;
  for (const auto& [qtype, name] : known) {
    CAPTURE(name);
    CHECK(qtypeBucketName(qtypeBucket(qtype)) == name);
    seen.insert(qtypeBucket(qtype));
  }
  CHECK(seen.size() == kQtypeBuckets - 1);  // each its own bucket
  for (int other : {0, int{type::HINFO}, int{type::OPT}, int{type::DS}, 65, 256, 65535})
    CHECK(qtypeBucketName(qtypeBucket(static_cast<uint16_t>(other))) == "other");
  CHECK(qtypeBucketName(kQtypeBuckets + 3) == "other");
}

TEST_CASE("bucket mapping is usable at compile time") {
  static_assert(rcodeBucket(wire::rcode::NXDOMAIN) == 3);
  static_assert(qtypeBucket(wire::type::A) == 0);
  static_assert(qtypeBucket(12345) == kQtypeBuckets - 1);
}

TEST_CASE("counters sum into Stats") {
  WorkerCounters a, b;
  for (int i = 0; i < 5; ++i) bump(a.udp_queries);
  ++b.udp_queries;  // the operator form is the same single-writer increment
  bump(b.tcp_queries);
  bump(a.responses[rcodeBucket(wire::rcode::NXDOMAIN)]);
  bump(b.responses[rcodeBucket(wire::rcode::NXDOMAIN)]);
  bump(b.qtypes[qtypeBucket(wire::type::MX)]);
  bump(a.truncated);
  bump(b.dropped);
  Stats total;
  a.addTo(total);
  b.addTo(total);
  CHECK(total.udp_queries == 6);
  CHECK(total.tcp_queries == 1);
  CHECK(total.queries() == 7);
  CHECK(total.responses[3] == 2);
  CHECK(total.qtypes[3] == 1);
  CHECK(total.truncated == 1);
  CHECK(total.dropped == 1);
  CHECK(total.errors == 0);
  CHECK(total.member_first.empty());
}
