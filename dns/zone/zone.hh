// zone.hh -- the immutable zone model: RRsets at nodes, nodes in zones, zones in a ZoneSet.
//
// Built once by a loader through ZoneBuilder, then published read-only to the query workers.
// All names are lower-cased uncompressed wire form (see dns/wire/name.hh). Every ancestor of an
// owner name up to the apex has a node, so empty non-terminals exist as nodes without RRsets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rrdns::zone {

inline constexpr uint32_t kNoRotation = UINT32_MAX;

struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<std::string> rdata;  // wire-format RDATA, one entry per record, in zone order
  // Index of this RRset's rotation cursor (answer/rotation.hh), or kNoRotation. Assigned by
  // ZoneSet to address RRsets with more than one record.
  uint32_t rotation_slot = kNoRotation;
};

struct Node {
  std::string owner;
  std::vector<RRset> rrsets;
  bool delegation = false;  // NS below the apex: a zone cut (RFC 1034 4.2.1)

  const RRset* find(uint16_t rtype) const {
    for (const auto& r : rrsets)
      if (r.type == rtype) return &r;
    return nullptr;
  }
};

// Transparent hashing so lookups by string_view allocate nothing.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameMap = std::unordered_map<std::string, Node, NameHash, std::equal_to<>>;

class Zone {
 public:
  const std::string& apex() const { return d_apex; }
  const std::string& source() const { return d_source; }  // the file it came from
  uint32_t serial() const { return d_serial; }
  const Node& apexNode() const { return *d_apex_node; }
  const RRset& soa() const { return *d_soa; }
  // TTL for negative answers (RFC 2308 3): min(SOA TTL, SOA MINIMUM).
  uint32_t negativeTtl() const { return d_negative_ttl; }
  size_t nodeCount() const { return d_nodes.size(); }
  size_t recordCount() const { return d_records; }
  const NameMap& nodes() const { return d_nodes; }

  // The node at exactly `name` (lower-cased wire), or nullptr.
  const Node* find(std::string_view name) const {
    auto it = d_nodes.find(name);
    return it == d_nodes.end() ? nullptr : &it->second;
  }

 private:
  friend class ZoneBuilder;
  friend class ZoneSet;
  std::string d_apex;
  std::string d_source;
  NameMap d_nodes;
  const Node* d_apex_node = nullptr;
  const RRset* d_soa = nullptr;
  uint32_t d_serial = 0;
  uint32_t d_negative_ttl = 0;
  size_t d_records = 0;
};

// Collects records for one zone and checks them as a whole in finish().
class ZoneBuilder {
 public:
  ZoneBuilder(std::string apex, std::string source);

  // Adds one record. Returns an empty string, or what is wrong with it (the caller adds the
  // file:line). A second record of an existing RRset must carry the same TTL.
  std::string add(std::string_view owner, uint16_t rtype, uint32_t ttl, std::string rdata);

  // Whole-zone checks (SOA and NS at the apex, CNAME beside other data), empty non-terminals,
  // zone cuts. On success returns the zone; otherwise appends messages to `errors`.
  std::shared_ptr<Zone> finish(std::vector<std::string>& errors);

 private:
  std::unique_ptr<Zone> d_zone;
};

// All zones a server answers for. Finds the zone for a name by longest matching apex.
class ZoneSet {
 public:
  // Fails (returns an error message) when two zones have the same apex.
  std::string add(std::shared_ptr<Zone> zone);

  // The zone whose apex is the longest suffix of `name` (lower-cased wire), or nullptr.
  const Zone* findZone(std::string_view name) const;

  // Gives each rotating RRset (A/AAAA with more than one record) its cursor index; call once
  // after the last add(). Returns how many cursors answer/rotation.hh must provide.
  uint32_t assignRotationSlots();
  uint32_t rotationSlots() const { return d_rotation_slots; }

  const std::vector<std::shared_ptr<const Zone>>& zones() const { return d_list; }

 private:
  std::vector<std::shared_ptr<const Zone>> d_list;
  std::vector<std::shared_ptr<Zone>> d_mutable;  // until assignRotationSlots()
  std::unordered_map<std::string, const Zone*, NameHash, std::equal_to<>> d_by_apex;
  size_t d_longest_apex = 0;
  uint32_t d_rotation_slots = 0;
};

}  // namespace rrdns::zone
