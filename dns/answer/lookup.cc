#include "dns/answer/lookup.hh"

#include <cstring>

#include "dns/wire/constants.hh"

namespace rrdns::answer {

Lookup lookup(const zone::Zone& zone, std::string_view name, uint16_t qtype) {
  // Label start offsets of `name` below the apex, so we can walk down from the apex one label at
  // a time: suffix name.substr(starts[i]) is the (i+1)-th ancestor counted from the name.
  uint8_t starts[wire::kMaxNameLength / 2 + 1];
  size_t depth = 0;
  const size_t apex_start = name.size() - zone.apex().size();
  for (size_t i = 0; i < apex_start; i += 1 + static_cast<uint8_t>(name[i]))
    starts[depth++] = static_cast<uint8_t>(i);

  const zone::Node* closest = &zone.apexNode();
  while (depth > 0) {
    const std::string_view ancestor = name.substr(starts[--depth]);
    const zone::Node* node = zone.find(ancestor);
    if (!node) break;
    const bool at_name = depth == 0;
    if (node->delegation && !(at_name && qtype == wire::type::DS))
      return {Lookup::Delegation, node};
    if (at_name) return {Lookup::Exact, node};
    closest = node;
  }
  if (name.size() == zone.apex().size()) return {Lookup::Exact, closest};

  // RFC 4592 3.3.1: the source of synthesis is "*.<closest encloser>".
  uint8_t wildcard[wire::kMaxNameLength + 2];
  const std::string_view encloser = closest->owner;
  if (encloser.size() + 2 > wire::kMaxNameLength) return {Lookup::NxDomain, nullptr};
  wildcard[0] = 1;
  wildcard[1] = '*';
  std::memcpy(wildcard + 2, encloser.data(), encloser.size());
  const zone::Node* source =
      zone.find(std::string_view(reinterpret_cast<const char*>(wildcard), encloser.size() + 2));
  if (!source) return {Lookup::NxDomain, nullptr};
  if (source->delegation) return {Lookup::Delegation, source};
  return {Lookup::Wildcard, source};
}

}  // namespace rrdns::answer
