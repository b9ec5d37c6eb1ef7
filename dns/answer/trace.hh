// trace.hh -- what the general path decides, step by step, told to a listener (explain).
//
// A traced answer is a dry run: rotation cursors are read, never advanced, and the random policy
// starts at the first eligible member, so that asking why does not change what comes next.
// Untraced answers pay one null-pointer test per event site.
#pragma once

#include <cstdint>
#include <string_view>

#include "dns/answer/lookup.hh"
#include "dns/answer/pool_state.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

enum Section : uint8_t { kAnswer, kAuthority, kAdditional };

// What became of a CNAME the general path met on its way (RFC 1034 4.3.2 step 3a).
enum class CnameStep : uint8_t {
  Followed,  // written; the answer goes on at its target
  LeftZone,  // written; the target is outside the zone, which the resolver follows
  TooLong,   // not written: the answer holds kMaxCnameChain CNAMEs already
  Loop,      // its node was followed before: the chain ends (written only if the RR is new)
};

class Trace {
 public:
  virtual ~Trace() = default;
  // The zone that answers, or null: the name is in no zone served here.
  virtual void zone(const zone::Zone* zone) = 0;
  // Where a name (the question's, then each in-zone CNAME target) landed in the zone.
  virtual void lookedUp(std::string_view name, const Lookup& found) = 0;
  // A CNAME at `owner` for `target`, and what the general path did with it.
  virtual void cname(std::string_view owner, std::string_view target, CnameStep step) = 0;
  // A pool answers `owner`, for the family of `rtype`, in the state `f`.
  virtual void pool(const zone::Pool& pool, std::string_view owner, uint16_t rtype,
                    const FamilyState& f) = 0;
  // A pool with sites routed the client: `client` (from ECS with `source_prefix`, or the
  // query's source when `from_subnet` is false) matched `match` in the pool's map, whose list
  // answers `answer` with this ECS scope. Precedes pool().
  virtual void route(const zone::Pool& pool, const topology::ClientAddress& client,
                     bool from_subnet, uint8_t source_prefix, const topology::PrefixMap::Match& match,
                     const SiteAnswer& answer, uint8_t scope) {}
  // An RRset of `count` records rotates; this answer starts at position `start`.
  virtual void rotation(size_t count, size_t start) = 0;
  // A negative answer: the SOA goes in authority with this TTL.
  virtual void negative(uint16_t rcode, uint32_t soa_ttl) = 0;
  // A record written, in the order written.
  virtual void record(Section section, std::string_view owner, uint16_t rtype, uint32_t ttl,
                      std::string_view rdata) = 0;
};

}  // namespace rrdns::answer
