#include "dns/answer/denial.hh"

#include <algorithm>
#include <cstring>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;

// Adds the NSEC record at `node`, unless the proof has it already. False if the node has none
// (an empty non-terminal, or an unsigned zone).
bool addNsecAt(const zone::Node& node, Proof& proof) {
  const zone::RRset* nsec = node.find(type::NSEC);
  if (!nsec || nsec->rdata.empty()) return false;
  const std::string_view rdata = nsec->rdata.front();
  for (size_t i = 0; i < proof.count; ++i)
    if (proof.records[i].rdata.data() == rdata.data()) return true;
  if (proof.count == Proof::kMax) return true;
  proof.records[proof.count++] = {node.owner, type::NSEC, nsec->ttl, rdata,
                                  node.find(type::RRSIG)};
  return true;
}

// The NSEC whose owner is the last name of the chain before `name` (wrapping to the last
// name): it covers `name`, which the chain lacks (RFC 4034 4.1.1).
void addCovering(const zone::Zone& zone, std::string_view name, Proof& proof) {
  const zone::SignedZone* signed_zone = zone.signedZone();
  if (!signed_zone || signed_zone->canonical.empty()) return;
  const auto& names = signed_zone->canonical;
  auto it = std::upper_bound(names.begin(), names.end(), name,
                             [](std::string_view a, const std::string& b) {
                               return wire::compareCanonical(a, b) < 0;
                             });
  const std::string& owner = it == names.begin() ? names.back() : *(it - 1);
  if (const zone::Node* node = zone.find(owner)) addNsecAt(*node, proof);
}

}  // namespace

void proveNxDomain(const zone::Zone& zone, std::string_view name, Proof& proof) {
  addCovering(zone, name, proof);
  // The closest encloser: the nearest ancestor that exists (an empty non-terminal counts). Found
  // again here rather than kept by lookup(), which every DO=0 answer runs.
  std::string_view ce = name;
  while (ce.size() > zone.apex().size()) {
    ce.remove_prefix(1 + static_cast<uint8_t>(ce[0]));
    if (zone.find(ce)) break;
  }
  // The source of synthesis "*.<closest encloser>" does not exist either (RFC 4592 3.3.1).
  uint8_t wildcard[wire::kMaxNameLength + 2];
  if (ce.size() + 2 > wire::kMaxNameLength) return;
  wildcard[0] = 1;
  wildcard[1] = '*';
  std::memcpy(wildcard + 2, ce.data(), ce.size());
  addCovering(zone, std::string_view(reinterpret_cast<const char*>(wildcard), ce.size() + 2),
              proof);
}

void proveNoData(const zone::Zone& zone, std::string_view name, const zone::Node& node,
                 Proof& proof) {
  const bool synthesised = name.data() != node.owner.data() && name != node.owner;
  if (synthesised) {
    addCovering(zone, name, proof);
    addNsecAt(node, proof);
    return;
  }
  if (!addNsecAt(node, proof)) addCovering(zone, name, proof);  // an empty non-terminal
}

void proveWildcardAnswer(const zone::Zone& zone, std::string_view name, Proof& proof) {
  addCovering(zone, name, proof);
}

void proveNoDs(const zone::Zone&, const zone::Node& cut, Proof& proof) {
  addNsecAt(cut, proof);
}

}  // namespace rrdns::answer
