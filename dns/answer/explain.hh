// explain.hh -- why the next answer for a name is what it is, for operators (rrdnsctl explain).
// Cold path: allocates freely, never advances a rotation cursor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/answer/answer.hh"

namespace rrdns::answer {

struct Candidate {
  std::string address;
  std::string state;  // "up", "down", "drained"
  uint32_t weight = 0;            // configured, with operator overrides
  uint32_t effective_weight = 0;  // as the policy uses it now (0: not eligible)
  bool eligible = false;
  std::string note;  // "operator drained", "marked down", "load feedback 0", ...
};

struct Explanation {
  std::string name;  // as asked, presentation form
  std::string type;
  std::string zone;     // apex of the zone that answers, or "" (REFUSED)
  std::string outcome;  // refused, nxdomain, nodata, records, cname, wildcard, referral, pool
  std::string rcode;
  std::vector<std::string> steps;    // how the lookup went, one sentence each
  std::vector<std::string> records;  // the answer section as it would be written next
  // Pool answers only.
  std::string pool, policy, mode, ttl_rule;
  uint32_t ttl = 0;
  bool fail_open = false;
  std::vector<Candidate> candidates;
};

// `name` in presentation form; `qtype` a type number. Uses `pools` when computed for `catalog`;
// `health` (indexed like the catalog's targets) and `overrides` (like its members) say why a
// member is or is not eligible; either may be null.
Explanation explain(const Catalog& catalog, const PoolStates* pools,
                    const health::HealthSnapshot* health,
                    const std::vector<MemberOverride>* overrides, std::string_view name,
                    uint16_t qtype);

}  // namespace rrdns::answer
