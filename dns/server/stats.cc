// stats.cc -- the names of the statistics buckets, as reports and metric labels show them.
#include "dns/server/stats.hh"

namespace rrdns::server {

namespace {

constexpr std::array<std::string_view, kRcodeBuckets> kRcodeNames = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"};

constexpr std::array<std::string_view, kQtypeBuckets> kQtypeNames = {
    "A",   "AAAA", "CNAME", "MX",  "NS",   "SOA",  "TXT",
    "SRV", "PTR",  "CAA",   "ANY", "AXFR", "IXFR", "other"};

}  // namespace

std::string_view rcodeBucketName(size_t bucket) {
  return bucket < kRcodeNames.size() ? kRcodeNames[bucket] : kRcodeNames.back();
}

std::string_view qtypeBucketName(size_t bucket) {
  return bucket < kQtypeNames.size() ? kQtypeNames[bucket] : kQtypeNames.back();
}

}  // namespace rrdns::server
