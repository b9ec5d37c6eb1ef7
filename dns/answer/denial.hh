// denial.hh -- which NSEC or NSEC3 records prove what a signed zone lacks (RFC 4035 3.1.3,
// RFC 4592 5, RFC 5155 7.2): one function per proof, each naming the records the authority
// section must carry, from NSEC RRsets at the nodes found through the canonical name order
// (SignedZone::canonical) or from the NSEC3 chain by hash (SignedZone::nsec3_chain). The writing,
// with each record's RRSIGs, is resolve.cc's. No allocation: they run on the query path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/zone/zone.hh"

namespace rrdns::answer {

// One denial record to write: `rdata` at `owner`, type NSEC or NSEC3, TTL `ttl`, with the
// RRSIGs among `signatures` that cover its type (RRSIG RDATA: a node's RRSIG RRset's, or an
// Nsec3Record's; null: none).
// Trivial on purpose (no initialisers), like Proof: made on the query path for signed answers.
struct DenialRecord {
  std::string_view owner;
  uint16_t type;
  uint32_t ttl;
  std::string_view rdata;
  const std::vector<std::string>* signatures;
};

// The records one answer's authority section proves with, gathered as the answer is built (a
// CNAME chain may pass through several wildcards) and written once; equal records are listed
// once. `count` must be set to 0 before the first proof.
struct Proof {
  static constexpr size_t kMax = 8;  // NXDOMAIN's two, one per wildcard of a CNAME chain
  DenialRecord records[kMax];
  size_t count;
};

// `name` does not exist: the NSEC that covers it, and the one that covers the wildcard at its
// closest encloser (RFC 4035 3.1.3.2, RFC 4592 3.3.1). NSEC3: the closest encloser proof and the
// NSEC3 covering the wildcard (RFC 5155 7.2.2).
void proveNxDomain(const zone::Zone& zone, std::string_view name, Proof& proof);

// `name` exists as `node` (or is synthesised from the wildcard `node`) without the type asked
// (RFC 4035 3.1.3.1, 3.1.3.4): the NSEC at the name; for an empty non-terminal, which the chain
// skips, the NSEC that covers it; for a wildcard, the NSEC that covers the name and the
// wildcard's own. NSEC3: the one matching the name (empty non-terminals have theirs, RFC 5155
// 7.2.3); for a wildcard, the closest encloser proof and the one matching the wildcard (7.2.5).
void proveNoData(const zone::Zone& zone, std::string_view name, const zone::Node& node,
                 Proof& proof);

// An answer synthesised from a wildcard for `name` (RFC 4035 3.1.3.3): the NSEC that proves the
// name itself does not exist. NSEC3: the one covering the next closer name (RFC 5155 7.2.6).
void proveWildcardAnswer(const zone::Zone& zone, std::string_view name, Proof& proof);

// A referral to `cut` that has no DS (RFC 4035 3.1.4.1): its NSEC (NSEC3: the one matching it,
// RFC 5155 7.2.7), whose bitmap shows NS and no DS.
void proveNoDs(const zone::Zone& zone, const zone::Node& cut, Proof& proof);

}  // namespace rrdns::answer
