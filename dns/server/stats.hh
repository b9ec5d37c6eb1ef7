// stats.hh -- query statistics summed over the workers, and the buckets they are counted in.
//
// Plain data for whoever reports them (the shutdown log line, a control command, the metrics
// exporter); the live per-worker counters they are summed from are in counters.hh.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/wire/constants.hh"

namespace rrdns::server {

// Response codes worth telling apart; everything else lands in the last bucket.
inline constexpr size_t kRcodeBuckets = 8;
// Query types worth telling apart; everything else (including "no question") in the last one.
inline constexpr size_t kQtypeBuckets = 14;

// Bucket of an RCODE, extended ones included (BADVERS is 16): an index below kRcodeBuckets.
constexpr size_t rcodeBucket(uint16_t rcode) {
  // NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED are 0..5: the bucket is the code.
  if (rcode <= wire::rcode::REFUSED) return rcode;
  if (rcode == wire::rcode::BADVERS) return 6;
  return kRcodeBuckets - 1;
}

// Bucket of a QTYPE: an index below kQtypeBuckets, in the order of qtypeBucketName().
constexpr size_t qtypeBucket(uint16_t qtype) {
  namespace t = wire::type;
  switch (qtype) {
    case t::A:
      return 0;
    case t::AAAA:
      return 1;
    case t::CNAME:
      return 2;
    case t::MX:
      return 3;
    case t::NS:
      return 4;
    case t::SOA:
      return 5;
    case t::TXT:
      return 6;
    case t::SRV:
      return 7;
    case t::PTR:
      return 8;
    case t::CAA:
      return 9;
    case t::ANY:
      return 10;
    case t::AXFR:
      return 11;
    case t::IXFR:
      return 12;
    default:
      return kQtypeBuckets - 1;
  }
}

// "NOERROR", ..., "BADVERS", "other"; "other" for anything out of range too.
std::string_view rcodeBucketName(size_t bucket);
// "A", "AAAA", ..., "IXFR", "other"; "other" for anything out of range too.
std::string_view qtypeBucketName(size_t bucket);

struct Stats {
  uint64_t udp_queries = 0;
  uint64_t tcp_queries = 0;
  uint64_t udp_deferred = 0;  // answers that went through the queued uv_udp_send path
  uint64_t udp_dropped = 0;   // answers not sent: send error, or send queue full
  uint64_t tcp_accepted = 0;
  uint64_t tcp_rejected = 0;  // over tcp-max-connections or tcp-max-connections-per-client
  uint64_t tcp_evicted = 0;   // idle connections closed to make room for a new one (RFC 7766 6.2.3)
  uint64_t errors = 0;        // exceptions caught at the packet boundary
  uint64_t truncated = 0;     // responses with TC set
  uint64_t dropped = 0;       // queries answer() chose not to answer at all (not DNS, a response)
  uint64_t rate_limited = 0;  // UDP responses over rate-limit: dropped, or slipped (below)
  uint64_t rate_slipped = 0;  // of those, sent truncated (TC) instead of dropped
  // Responses produced (sent or not: see udp_dropped), by rcodeBucket().
  std::array<uint64_t, kRcodeBuckets> responses{};
  // Queries that reached answer(), by qtypeBucket() of their question.
  std::array<uint64_t, kQtypeBuckets> qtypes{};
  // Times each pool member was the first address of an answer, indexed like
  // catalog->zones->members() of the catalog the stats were asked for; empty without one.
  std::vector<uint64_t> member_first;
  // Of those, answers to clients spilled from their first site (Outcome::spilled), indexed
  // likewise: summed over a site's members, the spills that site took.
  std::vector<uint64_t> member_spilled;

  uint64_t queries() const { return udp_queries + tcp_queries; }
};

}  // namespace rrdns::server
