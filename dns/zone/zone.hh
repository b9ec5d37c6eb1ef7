// zone.hh -- the immutable zone model: RRsets at nodes, nodes in zones, zones in a ZoneSet.
//
// Built once by a loader through ZoneBuilder, then published read-only to the query workers.
// All names are lower-cased uncompressed wire form (see dns/wire/name.hh). Every ancestor of an
// owner name up to the apex has a node, so empty non-terminals exist as nodes without RRsets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dns/base/result.hh"
#include "dns/health/state.hh"
#include "dns/topology/map.hh"
#include "dns/zone/dnssec.hh"
#include "dns/zone/secondaries.hh"

namespace rrdns::zone {

inline constexpr uint32_t kNoRotation = UINT32_MAX;
inline constexpr size_t kMaxPoolMembers = 256;

struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<std::string> rdata;  // wire-format RDATA, one entry per record, in zone order
  // Index of this RRset's rotation cursor (answer/rotation.hh), or kNoRotation. Assigned by
  // ZoneSet to address RRsets with more than one record.
  uint32_t rotation_slot = kNoRotation;
};

// A pool: names whose A/AAAA answers are chosen from health-checked, weighted members.
struct PoolMember {
  std::string address;  // wire RDATA: 4 bytes (A) or 16 bytes (AAAA)
  std::string text;     // "127.0.0.11", for logs and status
  uint16_t rtype = 0;   // A or AAAA
  uint32_t weight = 100;     // 0: drained, answered only when nothing else is left
  health::CheckSpec check;   // pool check with this member's overrides applied
  uint32_t target = 0;       // index into ZoneSet::targets(), set by assignRotationSlots()
  std::string discovered_from;  // the DiscoverySource::hostname it came from; "" if configured
  uint16_t site = 0;  // index into Pool::sites (pools with sites only)
};

// A DNS name whose addresses are members of a pool: a compose service or a Kubernetes headless
// service, whose replicas come and go. Resolved by dns/discovery; ZoneSet::withDiscovered()
// turns the answers into members.
struct DiscoverySource {
  std::string hostname;   // as written: resolved with the host's search rules, like getaddrinfo
  bool want_a = true;     // which address families become members
  bool want_aaaa = true;
  uint32_t interval_ms = 10000;  // re-resolved this often at most (sooner if the TTL runs out)
  uint32_t weight = 100;         // of every member it yields
  health::CheckSpec check;       // the pool's check, to which each address is given
  std::string source;            // file:line it was configured at
  uint16_t site = 0;             // the Pool::sites entry its members join (pools with sites)

  // Sources that resolve alike share one resolution.
  std::string key() const {
    return hostname + (want_a ? "/A" : "") + (want_aaaa ? "/AAAA" : "");
  }
};

// One address a discovery source resolved to.
struct DiscoveredAddress {
  std::string address;  // wire RDATA: 4 or 16 bytes
  std::string text;     // canonical text
  uint16_t rtype = 0;   // A or AAAA
};

enum class PoolPolicy : uint8_t {
  Rotate,    // round robin over the healthy members; weights only matter as 0 (drained)
  Weighted,  // first address in proportion to weight, by smooth weighted round robin
  Random,    // first address drawn at random in proportion to weight
};

// As the TOML `policy` key spells it (status, pool and explain show it so).
constexpr std::string_view policyName(PoolPolicy policy) {
  constexpr std::string_view kNames[] = {"rotate", "weighted", "random"};
  return kNames[static_cast<int>(policy)];
}

enum class AllDown : uint8_t {
  All,       // fail open: answer every member (the usual choice for DNS)
  None,      // NODATA
  Servfail,  // SERVFAIL
};

// A place a pool's members run in (a data centre, a region). Inside a site, rotation, weights,
// slow start, load feedback, overrides and discovery work as in a pool without sites.
struct Site {
  std::string name;        // its key in the zone file ("east")
  std::string source;      // file:line of its table
  uint32_t capacity = 100; // spilled clients are shared among sites in proportion to this
  double min_healthy = 0;  // fraction of its non-drained members that must be up for it to answer
};

struct Pool {
  std::string name;  // the pool's key in its zone file ("www")
  std::string zone;  // apex of the zone it belongs to (wire)
  std::string source;  // file:line it was defined at
  std::vector<std::string> owners;  // names answered from it (wire)
  std::vector<PoolMember> members;  // in configured order, then discovered ones
  std::vector<DiscoverySource> discover;  // where more members come from
  PoolPolicy policy = PoolPolicy::Rotate;
  uint32_t max_addresses = 0;  // 0: every eligible member
  uint32_t ttl = 0;
  uint32_t degraded_ttl = 0;  // TTL while a member is down, or the pool fails open
  double min_healthy = 0.0;   // fraction of non-drained members that must be up, else fail open
  AllDown all_down = AllDown::All;
  uint32_t slow_start_ms = 0;  // a member coming back ramps its weight up over this long
  uint32_t id = 0;             // index into ZoneSet::pools(), set by assignRotationSlots()
  uint32_t member_base = 0;    // members[i] is ZoneSet::members()[member_base + i]
  uint32_t rotation_slot = 0;  // cursors: slot for A, slot + 1 for AAAA
  // Topology (docs/topology.md): empty `sites` means none. Each client gets the first site of
  // its list (from `map`) that can answer; when that site cannot, the next `spill` sites that can
  // share its clients by capacity; when none can, the pool answers as a pool without sites.
  std::vector<Site> sites;
  std::shared_ptr<const topology::TopologyMap> map;
  uint32_t spill = 1;
  // map->lists[i] as indexes into `sites`, in the same order.
  std::vector<std::vector<uint16_t>> site_lists;
};

struct Node {
  // The node's name: a view of its key in the zone's map, which never moves (the map is
  // node-based), so a million names are stored once.
  std::string_view owner;
  std::vector<RRset> rrsets;
  const Pool* pool = nullptr;  // A/AAAA come from this pool instead of RRsets
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
  // The serial served (the SOA's): the file's, unless the serial policy moved it (serial.hh).
  uint32_t serial() const { return d_serial; }
  uint32_t fileSerial() const { return d_file_serial; }
  // A digest of the records a transfer sends (pools as their members), all but the SOA serial:
  // equal digests mean secondaries have nothing new to fetch. Order-independent.
  uint64_t digest() const { return d_digest; }
  // Its secondaries: where NOTIFY goes, how the serial is kept.
  const ZoneSettings& settings() const { return d_settings; }
  const Node& apexNode() const { return *d_apex_node; }
  const RRset& soa() const { return *d_soa; }
  // TTL for negative answers (RFC 2308 3): min(SOA TTL, SOA MINIMUM).
  uint32_t negativeTtl() const { return d_negative_ttl; }
  size_t nodeCount() const { return d_nodes.size(); }
  size_t recordCount() const { return d_records; }
  size_t rrsetCount() const { return d_rrsets; }
  // Nodes with a pool or a CNAME (which answer A and AAAA beyond their own RRsets).
  size_t aliasCount() const { return d_aliases; }
  bool hasDelegations() const { return d_has_delegations; }
  const NameMap& nodes() const { return d_nodes; }
  const std::vector<std::unique_ptr<Pool>>& pools() const { return d_pools; }

  // Signed zones only (DNSSEC, dnssec.hh): the NSEC3 chain, the names' canonical order, the
  // signer of pool answers. Null: the zone is served unsigned.
  const SignedZone* signedZone() const { return d_signed.get(); }

  // A copy of this zone in which every pool's members are `members(pool)`; for a new ZoneSet
  // (its slots are assigned anew there). The copy is unsigned: signing comes last (withSigned).
  std::shared_ptr<Zone> copyWithMembers(
      const std::function<std::vector<PoolMember>(const Pool&)>& members) const;
  // Loaders only, before the zone joins a set: the settings its file is named with.
  void setSettings(ZoneSettings settings) { d_settings = std::move(settings); }
  // A copy served with `serial` in its SOA (the serial policy's choice); its digest is the same.
  std::shared_ptr<Zone> copyWithSerial(uint32_t serial) const;
  // The signed copy of this zone that dns/dnssec's zone signer makes: every RRset of `added` put
  // at its owner (the node must exist, or be created as a leaf with its empty non-terminals; an
  // RRset of a type the node has already replaces it: the SOA with the signed serial), served at
  // `serial` (the SOA in `added` carries it), with `signed_zone` attached. Its digest covers the
  // added RRsets; pools, settings and rotation are as in this zone.
  std::shared_ptr<Zone> copySigned(std::vector<std::pair<std::string, RRset>> added,
                                   uint32_t serial,
                                   std::shared_ptr<const SignedZone> signed_zone) const;

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
  std::vector<std::unique_ptr<Pool>> d_pools;
  const Node* d_apex_node = nullptr;
  const RRset* d_soa = nullptr;
  uint32_t d_serial = 0;
  uint32_t d_file_serial = 0;
  uint64_t d_digest = 0;
  ZoneSettings d_settings;
  std::shared_ptr<const SignedZone> d_signed;
  uint32_t d_negative_ttl = 0;
  size_t d_records = 0;
  size_t d_rrsets = 0;
  size_t d_aliases = 0;
  bool d_has_delegations = false;
  // A/AAAA RRsets of more than one record: the ones assignRotationSlots() gives a cursor. Kept
  // so that it need not walk a million nodes to find a few.
  std::vector<RRset*> d_rotatable;
  uint32_t d_rotating = 0;  // RRsets given a rotation slot, counted by assignRotationSlots()

  // Sets each node's owner to its key, and the counts and lists above: after the nodes are
  // complete or copied.
  void index();
  void indexNode(std::string_view owner, Node& node);
};

// Collects records for one zone and checks them as a whole in finish().
class ZoneBuilder {
 public:
  ZoneBuilder(std::string apex, std::string source);
  const std::string& apex() const { return d_zone->d_apex; }

  // Room for about `names` owner names, so that a big zone's map is not rehashed as it grows.
  void reserve(size_t names) { d_zone->d_nodes.reserve(names); }

  // While on, add() refuses a record that would put a CNAME beside other data, rather than leave
  // it to finish(): the RFC 1035 loader wants the error on the offending record's line. Returns
  // the previous setting.
  bool refuseCnameConflicts(bool on) { return std::exchange(d_refuse_cname_conflicts, on); }

  // Adds one record, or says what is wrong with it: an Error with only a message, to which the
  // caller adds the file and line it knows. Without `warning`, a second record of an existing
  // RRset must carry the same TTL and a duplicate record collapses silently. With it, both are
  // set there as a warning instead (the RRset keeps its first TTL, as Knot and BIND do) and the
  // record is kept; a warning has only a message as well.
  Result<void> add(std::string_view owner, uint16_t rtype, uint32_t ttl, std::string rdata,
                   std::optional<Error>* warning = nullptr);

  // The node at `owner` (lower-cased wire) as added so far, or nullptr: lets a loader check a
  // record against its neighbours while it still knows the record's line.
  const Node* node(std::string_view owner) const {
    auto it = d_zone->d_nodes.find(owner);
    return it == d_zone->d_nodes.end() ? nullptr : &it->second;
  }

  // Adds a pool answering A/AAAA at pool.owners, or says what is wrong (a pool name used twice,
  // an owner outside the zone or already served by another pool, no members), as add() does.
  // Conflicts with records at those names (static A/AAAA, a CNAME) are reported by finish().
  Result<void> addPool(Pool pool);

  // Where its NOTIFYs go and how its serial is kept (the loader sets them; default: the
  // server-wide NOTIFY list, the file's serial).
  void setSettings(ZoneSettings settings) { d_zone->d_settings = std::move(settings); }
  const ZoneSettings& settings() const { return d_zone->d_settings; }
  // A zone whose signatures and NSEC records were added as data (tests of signed answers; the
  // daemon signs through Zone::copySigned): what its denials search.
  void setSigned(std::shared_ptr<const SignedZone> signed_zone) {
    d_zone->d_signed = std::move(signed_zone);
  }

  // Whole-zone checks (SOA and NS at the apex, CNAME beside other data), empty non-terminals,
  // zone cuts. Returns the zone, or every error found, each with only a message (they are
  // about the whole file: the caller adds it). Call once.
  Result<std::shared_ptr<Zone>> finish();

 private:
  std::unique_ptr<Zone> d_zone;
  bool d_refuse_cname_conflicts = false;
};

// All zones a server answers for. Finds the zone for a name by longest matching apex.
class ZoneSet {
 public:
  // Fails when two zones have the same apex.
  Result<void> add(std::shared_ptr<Zone> zone);
  // Adds a zone already numbered by another set whose zones came in the same order, with as
  // many RRsets and pools before it (see withDiscovered()); its slots are left as they are.
  Result<void> addShared(std::shared_ptr<const Zone> zone);

  // The zone whose apex is the longest suffix of `name` (lower-cased wire), or nullptr.
  const Zone* findZone(std::string_view name) const;

  // Gives each rotating RRset (A/AAAA with more than one record) and each pool its cursor
  // indexes, numbers the pools, and collects the distinct health-check targets of all pool
  // members; call once after the last add(). Returns how many cursors answer/rotation.hh needs.
  uint32_t assignRotationSlots();
  uint32_t rotationSlots() const { return d_rotation_slots; }
  const std::vector<const Pool*>& pools() const { return d_pools; }
  // Every pool member of every zone, pool after pool: a flat index for per-member counters.
  const std::vector<const PoolMember*>& members() const { return d_members; }
  // Distinct check targets (by CheckSpec::key()); PoolMember::target indexes this list.
  const std::vector<health::CheckSpec>& targets() const { return d_targets; }

  const std::vector<std::shared_ptr<const Zone>>& zones() const { return d_list; }

  // Every discovery source of every pool, once per key().
  std::vector<DiscoverySource> discoverySources() const;

  // The same zones with each pool's discovered members replaced: its configured members, then
  // the addresses `resolved(source)` gives for each of its sources (null: none yet), in source
  // order, without duplicates, up to kMaxPoolMembers (what is left out is said in `warnings`).
  // Pool-free zones are shared with this set rather than copied: their rotation slots come out
  // the same, since discovery changes members but never the number of pools or RRsets.
  using ResolvedLookup =
      std::function<const std::vector<DiscoveredAddress>*(const DiscoverySource&)>;
  std::shared_ptr<const ZoneSet> withDiscovered(const ResolvedLookup& resolved,
                                                Errors& warnings) const;

  // The same zones, each served with the serial `serial_for(zone)` gives (the serial policy):
  // a zone whose serial changes is copied (so is every zone with pools, which a new set must
  // number anew), the others are shared.
  std::shared_ptr<const ZoneSet> withSerials(
      const std::function<uint32_t(const Zone&)>& serial_for) const;

  // The same zones, each signed zone replaced by `sign(zone)` (Zone::copySigned); a null result
  // serves the zone as it is (unsigned zones). The last step before a catalog is made.
  std::shared_ptr<const ZoneSet> withSigned(
      const std::function<std::shared_ptr<Zone>(const Zone&)>& sign) const;

 private:
  std::vector<std::shared_ptr<const Zone>> d_list;
  std::vector<std::shared_ptr<Zone>> d_mutable;  // until assignRotationSlots(); null if shared
  std::unordered_map<std::string, const Zone*, NameHash, std::equal_to<>> d_by_apex;
  size_t d_longest_apex = 0;
  uint32_t d_rotation_slots = 0;
  std::vector<const Pool*> d_pools;
  std::vector<const PoolMember*> d_members;
  std::vector<health::CheckSpec> d_targets;
};

}  // namespace rrdns::zone
