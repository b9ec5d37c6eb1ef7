// lookup.hh -- where a name lands in a zone (RFC 1034 4.3.2 steps 3a-3c, RFC 4592 wildcards).
#pragma once

#include <cstdint>
#include <string_view>

#include "dns/zone/zone.hh"

namespace rrdns::answer {

struct Lookup {
  enum Kind : uint8_t {
    Exact,       // node is the name itself (it may hold no RRsets: an empty non-terminal)
    Wildcard,    // node is the wildcard "*.<closest encloser>" that synthesises the name
    Delegation,  // node is a zone cut at or above the name: answer with a referral
    NxDomain,    // the name does not exist
  };
  Kind kind = NxDomain;
  const zone::Node* node = nullptr;
};

// Looks `name` (lower-cased wire, inside `zone`) up. A zone cut on the way down wins, except
// that DS at the cut itself is parent-side data (RFC 4035 3.1.4.1), answered authoritatively.
Lookup lookup(const zone::Zone& zone, std::string_view name, uint16_t qtype);

}  // namespace rrdns::answer
