// site_health.hh -- whether each site of a pool can take clients now, in the operator's terms
// (rrdnsctl explain and pool, metrics). The answers themselves come from TopologyState, which
// computePoolStates() builds by the same rule (docs/topology.md: "Site usable").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dns/zone/zone.hh"

namespace rrdns::answer {

// One site, one address family.
struct SiteHealth {
  uint32_t members = 0;  // of this family
  uint32_t active = 0;   // ... not drained (configured or operator weight above 0)
  uint32_t up = 0;       // ... of those, up
  bool usable = false;
  // Why it cannot answer, empty when usable: "no AAAA member", "every member drained",
  // "0 of 3 up", "1 of 3 up, min-healthy 0.5".
  std::string why;
};

// A site is usable for a family when at least one of its non-drained members of that family is
// up, and up/active reaches the site's min-healthy. No fail-open inside a site.
bool siteUsable(uint32_t up, uint32_t active, double min_healthy);

// Every site of `pool` (indexed like Pool::sites) for the members of type `rtype` (A or AAAA).
// `up[i]` and `weight[i]` describe Pool::members[i] as the operator sees it now: its health
// (checks, or an operator's mark) and its weight (configured or the operator's, 0 when drained).
std::vector<SiteHealth> siteHealth(const zone::Pool& pool, uint16_t rtype,
                                   const std::vector<bool>& up,
                                   const std::vector<uint32_t>& weight);

}  // namespace rrdns::answer
