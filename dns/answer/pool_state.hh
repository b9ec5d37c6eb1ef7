// pool_state.hh -- what each pool answers right now: the eligible members per address family
// and their weighted schedule, computed off the query path from the pools, a health snapshot and
// the clock, and published to the workers as one immutable object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/health/state.hh"
#include "dns/topology/prefix_map.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

struct Catalog;

enum class PoolMode : uint8_t {
  Healthy,          // every non-drained member is up
  Degraded,         // some are down (or only drained members are left): the rest answer
  FailOpen,         // too few are up (min-healthy, or all down with all-down = "all"): all answer
  AllDownNone,      // all down, all-down = "none": NODATA
  AllDownServfail,  // all down, all-down = "servfail": SERVFAIL
};

const char* poolModeName(PoolMode mode);

// One pool, one address family (A or AAAA).
struct FamilyState {
  PoolMode mode = PoolMode::Healthy;
  uint32_t ttl = 0;
  uint32_t up = 0;      // non-drained members that are up
  uint32_t active = 0;  // non-drained members
  // How the first address is chosen: the pool's policy, except that clients spilled over
  // several sites are shared by weight (capacity) whatever the pool's policy is.
  zone::PoolPolicy policy = zone::PoolPolicy::Rotate;
  std::vector<uint16_t> eligible;   // indexes into Pool::members, in configured order
  std::vector<uint32_t> weights;    // effective weight of each eligible member
  // Weighted policy: positions in `eligible`, in smooth weighted round-robin order, so any
  // window of answers is as close to the weights as it can be.
  std::vector<uint16_t> schedule;
  // Random policy: running sums of `weights`.
  std::vector<uint32_t> cumulative;
  // The answer records of `eligible`, in that order, for the precompiled fast path (replay.cc):
  // owner a compression pointer to the question name, this TTL, all of record_size bytes, so an
  // answer is a rotated copy.
  std::string records;
  uint16_t record_size = 0;
  // Signed zones (DNSSEC) only: the RRSIG records over every RRset this state can answer, encoded
  // like `records` (owner a compression pointer to the question name, TTL `ttl`), made off the
  // query path when the state is computed (through SignedZone::signer, which caches them by
  // content). An answer is a window: `count` members from eligible position `first`, wrapping
  // (replay.cc, resolve.cc answerPool()). There are `windows` of them: 1 when every eligible
  // member is answered (max-addresses 0 or at least eligible.size()), else eligible.size(),
  // window w starting at position w. For the pool's owner k (Pool::owners) and window w the
  // RRSIG records are the `signature_count` records of `signature_size` bytes in all at
  // signatures[(k * windows + w) * signature_size]. Empty (signature_size 0): unsigned zone.
  std::string signatures;
  uint32_t windows = 0;
  uint16_t signature_size = 0;
  uint16_t signature_count = 0;
};

// One answer a pool with sites gives some clients under the current health state.
struct SiteAnswer {
  FamilyState state;
  std::vector<uint16_t> sites;  // the Pool::sites it answers from; empty: the whole pool
  bool spilled = false;         // the client's first site cannot answer: the next ones share it
};

// A pool with sites: what each client gets. Two clients share an answer exactly when they get
// the same `answers` entry, so the ECS scope (RouteTable::Hit::scope) is as wide as it can be.
struct TopologyState {
  std::vector<SiteAnswer> answers[2];           // [0] A, [1] AAAA: the distinct answers
  std::vector<uint32_t> answer_of_list[2];      // Pool::site_lists index -> answers index
  topology::RouteTable routes[2][2];            // [answer family][topology::Family of client]
  // The map `routes` were compiled from: with the same answer_of_list they come out the same, so
  // the next computation copies them rather than compiling a big map again.
  std::shared_ptr<const topology::TopologyMap> map;
};

struct PoolState {
  FamilyState family[2];  // [0] A, [1] AAAA: the pool as a whole
  std::shared_ptr<const TopologyState> topology;  // pools with sites only
};

struct PoolStates {
  const Catalog* catalog = nullptr;  // the catalog these were computed for (identity only)
  std::vector<PoolState> pools;      // indexed by Pool::id
  uint64_t computed_ms = 0;
  bool ramping = false;  // some member is in slow start: recompute soon to raise its weight
};

// An operator's word on one pool member (rrdnsctl drain/weight/mark), applied on top of the
// zone file and the health checks.
struct MemberOverride {
  bool drained = false;            // as weight 0: answered only when nothing else is left
  std::optional<uint32_t> weight;  // replaces the configured weight
  std::optional<bool> up;          // replaces the checks' verdict
};

// `health` may be null (no check has reported yet): every target is at its initial state.
// `health` must describe zones.targets() (same indexes); a snapshot of another length is
// ignored likewise. `overrides`, when given, is indexed like zones.members(). `previous`, the
// states computed last (for any catalog), lends its route tables where they would come out the
// same.
std::shared_ptr<PoolStates> computePoolStates(
    const zone::ZoneSet& zones, const health::HealthSnapshot* health, uint64_t now_ms,
    const std::vector<MemberOverride>* overrides = nullptr, const PoolStates* previous = nullptr);

// Effective weight of a member: configured weight scaled by its load feedback (0..100) and, in
// slow start, by the time since it came up. 0 only when the configured or reported weight is 0.
uint32_t effectiveWeight(uint32_t weight, uint8_t load_weight, uint64_t up_for_ms,
                         uint32_t slow_start_ms);

// The smooth weighted round-robin order (as nginx) of positions 0..weights.size()-1, one
// round long (sum of weights, scaled down to at most kMaxSchedule entries).
std::vector<uint16_t> smoothSchedule(const std::vector<uint32_t>& weights);
inline constexpr uint32_t kMaxSchedule = 4096;

}  // namespace rrdns::answer
