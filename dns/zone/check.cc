// check.cc -- zone checks on a finished zone (check.hh).
//
// Both checks walk from a name up towards the apex looking for the closest zone cut; zones
// without delegations skip the walk entirely, so a flat million-name zone costs one pass.
#include "dns/zone/check.hh"

#include <set>
#include <string_view>
#include <utility>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::zone {
namespace {

namespace type = wire::type;

constexpr uint16_t kRrsig = 46;  // DNSSEC types that belong at a zone cut (RFC 4035 2.3, 2.4)
constexpr uint16_t kNsec = 47;
constexpr size_t kMaxErrors = 50;  // as the loaders

// The closest delegation at or above `name` (strictly above when `strict`), or nullptr.
const Node* cutAbove(const Zone& zone, std::string_view name, bool strict) {
  if (strict) {
    if (name.size() <= zone.apex().size()) return nullptr;
    name = wire::parentOf(name);
  }
  while (name.size() > zone.apex().size()) {
    const Node* node = zone.find(name);
    if (node && node->delegation) return node;
    name = wire::parentOf(name);
  }
  return nullptr;
}

bool isAddress(uint16_t rtype) { return rtype == type::A || rtype == type::AAAA; }

}  // namespace

void checkZone(const Zone& zone, std::vector<ZoneFinding>& errors,
               std::vector<ZoneFinding>& warnings) {
  if (!zone.hasDelegations()) return;

  // A name server inside a delegated subtree can only be found through glue: resolvers never
  // get an authoritative address for it from this zone (RFC 1034 4.2.1).
  std::set<std::string_view> glue;  // name servers below a cut that have addresses
  for (const auto& [owner, node] : zone.nodes()) {
    const RRset* ns = node.find(type::NS);
    if (!ns) continue;
    for (const auto& target : ns->rdata) {
      if (!wire::isSubdomainOf(target, zone.apex()) || !cutAbove(zone, target, false)) continue;
      const Node* server = zone.find(target);
      if (server && (server->find(type::A) || server->find(type::AAAA))) {
        glue.insert(server->owner);
        continue;
      }
      errors.push_back({owner, "'" + wire::nameToText(target) + "' is the name server of " +
                                   (owner == zone.apex() ? "the zone " : "the delegation ") +
                                   wire::nameToText(owner) +
                                   " and needs glue (an A or AAAA record)"});
    }
  }

  // Below a cut only the child zone answers; what this zone holds there is never served.
  for (const auto& [owner, node] : zone.nodes()) {
    if (node.rrsets.empty()) continue;
    const Node* cut = node.delegation ? &node : cutAbove(zone, owner, true);
    if (!cut) continue;
    const bool is_glue = glue.count(owner) > 0;
    std::string hidden;
    for (const auto& rrset : node.rrsets) {
      if (&node == cut && (rrset.type == type::NS || rrset.type == type::DS ||
                           rrset.type == kRrsig || rrset.type == kNsec))
        continue;
      if (is_glue && isAddress(rrset.type)) continue;
      hidden += (hidden.empty() ? "" : ", ") + wire::typeName(rrset.type);
    }
    if (hidden.empty()) continue;
    warnings.push_back(
        {owner, "'" + wire::nameToText(owner) + "' is at or below the zone cut " +
                    wire::nameToText(cut->owner) + " and its " + hidden +
                    " records are never answered (occluded); move them to the child zone "
                    "or delete them"});
  }
}

void applyZoneChecks(ZoneLoad& load, const std::string& path, const LineOf& line_of) {
  if (!load.zone) return;
  std::vector<ZoneFinding> errors, warnings;
  checkZone(**load.zone, errors, warnings);
  auto where = [&](ZoneFinding& finding) {
    const uint64_t line = line_of ? line_of(finding.owner) : 0;
    return errorAt(path, static_cast<uint32_t>(line), "", std::move(finding.message));
  };
  Errors found;
  for (auto& finding : errors) {
    if (found.size() == kMaxErrors) {
      found.push_back(errorAt(
          path, 0, "", "more than " + std::to_string(kMaxErrors) + " errors; stopping here"));
      break;
    }
    found.push_back(where(finding));
  }
  for (auto& finding : warnings) load.warnings.push_back(where(finding));
  if (!found.empty()) load.zone = std::move(found);
}

}  // namespace rrdns::zone
