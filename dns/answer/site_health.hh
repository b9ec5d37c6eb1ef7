// site_health.hh -- whether each site of a pool can take clients now, in the operator's terms
// (rrdnsctl explain and pool, metrics). siteUsable() is the rule; computePoolStates() applies it
// to build TopologyState (docs/topology.md: "Site usable").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dns/zone/zone.hh"

namespace rrdns::answer {

// One pool member as the operator sees it now.
struct MemberStatus {
  bool up = true;        // its checks' verdict, or an operator's mark
  uint32_t weight = 0;   // configured or the operator's; 0 when drained
  bool load_zero = false;  // it reports X-Rrdns-Weight 0: up, but given no clients
};

// One site, one address family.
struct SiteHealth {
  uint32_t members = 0;  // of this family
  uint32_t active = 0;   // ... not drained (configured or operator weight above 0)
  uint32_t up = 0;       // ... of those, up
  bool usable = false;
  // Why it cannot answer, empty when usable: "no AAAA member", "every member drained",
  // "0 of 3 up", "1 of 3 up, min-healthy 0.5", "every member up reports X-Rrdns-Weight 0".
  std::string why;
};

// A site is usable for a family when one of its members of that family is up, not drained and
// not reporting load weight 0 (`answering`), and up/active reaches the site's min-healthy. No
// fail-open inside a site.
bool siteUsable(bool answering, uint32_t up, uint32_t active, double min_healthy);

// Every site of `pool` (indexed like Pool::sites) for its members of type `rtype` (A or AAAA);
// `members` is indexed like Pool::members.
std::vector<SiteHealth> siteHealth(const zone::Pool& pool, uint16_t rtype,
                                   const std::vector<MemberStatus>& members);

}  // namespace rrdns::answer
