#include "dns/answer/denial.hh"

#include <algorithm>
#include <cstring>

#include "dns/dnssec/nsec.hh"
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
  const zone::RRset* rrsig = node.find(type::RRSIG);
  proof.records[proof.count++] = {node.owner, type::NSEC, nsec->ttl, rdata,
                                  rrsig ? &rrsig->rdata : nullptr};
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

// The closest encloser of `name`, which the zone lacks: its nearest ancestor that exists (an
// empty non-terminal counts; the apex at the latest).
std::string_view closestEncloser(const zone::Zone& zone, std::string_view name) {
  std::string_view ce = name;
  while (ce.size() > zone.apex().size()) {
    ce.remove_prefix(1 + static_cast<uint8_t>(ce[0]));
    if (zone.find(ce)) break;
  }
  return ce;
}

// "*.<name>" into `buf` (kMaxNameLength + 2 bytes); empty if too long.
std::string_view wildcardAt(std::string_view name, uint8_t* buf) {
  if (name.size() + 2 > wire::kMaxNameLength) return {};
  buf[0] = 1;
  buf[1] = '*';
  std::memcpy(buf + 2, name.data(), name.size());
  return {reinterpret_cast<const char*>(buf), name.size() + 2};
}

// NSEC3 (RFC 5155): records found by the hash of a name.
struct Nsec3Chain {
  const zone::SignedZone& sz;

  void hash(std::string_view name, uint8_t out[dnssec::kNsec3HashSize]) const {
    dnssec::nsec3Hash(name, sz.nsec3_salt, sz.nsec3_iterations, out);
  }
  static std::string_view view(const uint8_t* h) {
    return {reinterpret_cast<const char*>(h), dnssec::kNsec3HashSize};
  }
  // The first record whose hash is not below `h`.
  std::vector<zone::Nsec3Record>::const_iterator lowerBound(std::string_view h) const {
    return std::lower_bound(
        sz.nsec3_chain.begin(), sz.nsec3_chain.end(), h,
        [](const zone::Nsec3Record& r, std::string_view x) { return r.hash < x; });
  }
  void add(const zone::Nsec3Record& r, Proof& proof) const {
    for (size_t i = 0; i < proof.count; ++i)
      if (proof.records[i].rdata.data() == r.rdata.data()) return;
    if (proof.count == Proof::kMax) return;
    proof.records[proof.count++] = {r.owner, type::NSEC3, sz.nsec_ttl, r.rdata, &r.rrsig};
  }
  // The record whose hash is that of `name` (it exists in the zone). False if none.
  bool addMatching(std::string_view name, Proof& proof) const {
    uint8_t h[dnssec::kNsec3HashSize];
    hash(name, h);
    const auto it = lowerBound(view(h));
    if (it == sz.nsec3_chain.end() || it->hash != view(h)) return false;
    add(*it, proof);
    return true;
  }
  // The record whose hash is the last before that of `name` (wrapping to the last): it covers
  // the name, which the zone lacks.
  void addCovering(std::string_view name, Proof& proof) const {
    uint8_t h[dnssec::kNsec3HashSize];
    hash(name, h);
    const auto it = lowerBound(view(h));
    add(it == sz.nsec3_chain.begin() ? sz.nsec3_chain.back() : *(it - 1), proof);
  }
  // RFC 5155 7.2.1: the closest encloser's record, and the one covering the next closer name
  // (the encloser's child on the way to `name`). Returns the closest encloser.
  std::string_view addEncloserProof(const zone::Zone& zone, std::string_view name,
                                    Proof& proof) const {
    const std::string_view ce = closestEncloser(zone, name);
    addMatching(ce, proof);
    std::string_view next_closer = name;
    while (next_closer.size() > ce.size() &&
           next_closer.size() - (1 + static_cast<uint8_t>(next_closer[0])) > ce.size())
      next_closer.remove_prefix(1 + static_cast<uint8_t>(next_closer[0]));
    if (next_closer.size() > ce.size()) addCovering(next_closer, proof);
    return ce;
  }
};

const zone::SignedZone* nsec3Of(const zone::Zone& zone) {
  const zone::SignedZone* sz = zone.signedZone();
  return sz && sz->nsec3 && !sz->nsec3_chain.empty() ? sz : nullptr;
}

}  // namespace

void proveNxDomain(const zone::Zone& zone, std::string_view name, Proof& proof) {
  // The closest encloser is found again here rather than kept by lookup(), which every DO=0
  // answer runs. The source of synthesis "*.<closest encloser>" does not exist either (RFC 4592
  // 3.3.1).
  uint8_t buf[wire::kMaxNameLength + 2];
  if (const zone::SignedZone* sz = nsec3Of(zone)) {
    const Nsec3Chain chain{*sz};
    const std::string_view wildcard = wildcardAt(chain.addEncloserProof(zone, name, proof), buf);
    if (!wildcard.empty()) chain.addCovering(wildcard, proof);
    return;
  }
  addCovering(zone, name, proof);
  const std::string_view wildcard = wildcardAt(closestEncloser(zone, name), buf);
  if (!wildcard.empty()) addCovering(zone, wildcard, proof);
}

void proveNoData(const zone::Zone& zone, std::string_view name, const zone::Node& node,
                 Proof& proof) {
  const bool synthesised = name.data() != node.owner.data() && name != node.owner;
  if (const zone::SignedZone* sz = nsec3Of(zone)) {
    const Nsec3Chain chain{*sz};
    if (synthesised) chain.addEncloserProof(zone, name, proof);
    chain.addMatching(node.owner, proof);
    return;
  }
  if (synthesised) {
    addCovering(zone, name, proof);
    addNsecAt(node, proof);
    return;
  }
  if (!addNsecAt(node, proof)) addCovering(zone, name, proof);  // an empty non-terminal
}

void proveWildcardAnswer(const zone::Zone& zone, std::string_view name, Proof& proof) {
  if (const zone::SignedZone* sz = nsec3Of(zone)) {
    // Only the next closer name's cover: the closest encloser is implied by the RRSIG's labels.
    const Nsec3Chain chain{*sz};
    const std::string_view ce = closestEncloser(zone, name);
    std::string_view next_closer = name;
    while (next_closer.size() - (1 + static_cast<uint8_t>(next_closer[0])) > ce.size())
      next_closer.remove_prefix(1 + static_cast<uint8_t>(next_closer[0]));
    chain.addCovering(next_closer, proof);
    return;
  }
  addCovering(zone, name, proof);
}

void proveNoDs(const zone::Zone& zone, const zone::Node& cut, Proof& proof) {
  if (const zone::SignedZone* sz = nsec3Of(zone)) {
    Nsec3Chain{*sz}.addMatching(cut.owner, proof);
    return;
  }
  addNsecAt(cut, proof);
}

}  // namespace rrdns::answer
