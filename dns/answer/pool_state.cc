#include "dns/answer/pool_state.hh"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string_view>

#include "dns/answer/reclaimer.hh"
#include "dns/answer/site_health.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::answer {

const char* poolModeName(PoolMode mode) {
  switch (mode) {
    case PoolMode::Healthy:
      return "healthy";
    case PoolMode::Degraded:
      return "degraded";
    case PoolMode::FailOpen:
      return "fail-open";
    case PoolMode::AllDownNone:
      return "all-down (nodata)";
    case PoolMode::AllDownServfail:
      return "all-down (servfail)";
  }
  return "?";
}

uint32_t effectiveWeight(uint32_t weight, uint8_t load_weight, uint64_t up_for_ms,
                         uint32_t slow_start_ms) {
  if (weight == 0 || load_weight == 0) return 0;
  uint64_t scaled = uint64_t{weight} * std::min<uint8_t>(load_weight, 100);
  if (slow_start_ms > 0 && up_for_ms < slow_start_ms) scaled = scaled * up_for_ms / slow_start_ms;
  // Never 0 here: a member that is up and wanted always gets some share.
  return std::max<uint32_t>(1, static_cast<uint32_t>((scaled + 50) / 100));
}

std::vector<uint16_t> smoothSchedule(const std::vector<uint32_t>& weights) {
  std::vector<uint32_t> w = weights;
  uint64_t total = std::accumulate(w.begin(), w.end(), uint64_t{0});
  if (total == 0) return {};
  if (total > kMaxSchedule) {
    for (auto& x : w)
      x = std::max<uint32_t>(1, static_cast<uint32_t>(uint64_t{x} * kMaxSchedule / total));
    total = std::accumulate(w.begin(), w.end(), uint64_t{0});
  }
  uint32_t divisor = 0;
  for (auto x : w) divisor = std::gcd(divisor, x);
  for (auto& x : w) x /= divisor;
  total /= divisor;

  std::vector<uint16_t> schedule;
  schedule.reserve(total);
  std::vector<int64_t> current(w.size(), 0);
  for (uint64_t n = 0; n < total; ++n) {
    size_t best = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      current[i] += w[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<int64_t>(total);
    schedule.push_back(static_cast<uint16_t>(best));
  }
  return schedule;
}

namespace {

struct MemberHealth {
  bool up;
  uint32_t weight;  // effective
};

// The configured weight as the operator has it: drained is 0, an override replaces it.
uint32_t configuredWeight(const zone::PoolMember& member, const MemberOverride* o) {
  if (o && o->drained) return 0;
  return o && o->weight ? *o->weight : member.weight;
}

MemberHealth memberHealth(const zone::Pool& pool, const zone::PoolMember& member,
                          const MemberOverride* o, const health::HealthSnapshot* health,
                          uint64_t now_ms, bool& ramping) {
  const uint32_t weight = configuredWeight(member, o);
  if (o && o->up) return {*o->up, *o->up ? weight : 0};
  if (!health) return {member.check.startsUp(), weight};  // nothing reported yet
  const health::TargetHealth& t = health->targets[member.target];
  if (!t.up) return {false, 0};
  const uint64_t up_for = now_ms >= t.changed_ms ? now_ms - t.changed_ms : 0;
  // A target that has been up since it was first checked (changed_ms 0) is not "coming back".
  const bool returning = t.changed_ms != 0 && pool.slow_start_ms > 0 && up_for < pool.slow_start_ms;
  ramping = ramping || returning;
  return {true, effectiveWeight(weight, t.load_weight, returning ? up_for : UINT64_MAX,
                                pool.slow_start_ms)};
}

// One member of one address family as the operator and the checks have it now.
struct MemberView {
  uint16_t index;   // into Pool::members
  uint32_t weight;  // configured, with the operator's overrides: 0 is drained
  MemberHealth health;
};

// The members of `rtype`, in configured order; computed once per pool and family, then shared
// by the whole-pool state and each site's.
std::vector<MemberView> memberViews(const zone::Pool& pool, uint16_t rtype,
                                    const health::HealthSnapshot* health,
                                    const std::vector<MemberOverride>* overrides, uint64_t now_ms,
                                    bool& ramping) {
  std::vector<MemberView> views;
  for (uint16_t i = 0; i < pool.members.size(); ++i) {
    const zone::PoolMember& m = pool.members[i];
    if (m.rtype != rtype) continue;
    const MemberOverride* o = overrides ? &(*overrides)[pool.member_base + i] : nullptr;
    views.push_back({i, configuredWeight(m, o), memberHealth(pool, m, o, health, now_ms, ramping)});
  }
  return views;
}

// Signed zones: the RRSIG records over every RRset `f` can answer, for each owner of the pool
// and each window of its eligible members (FamilyState::signatures). The signer caches by
// content, so a set seen before (a member flapping back) costs a lookup, not a signature.
void signFamily(const zone::Pool& pool, const zone::RRsetSigner& signer, FamilyState& f) {
  const size_t n = f.eligible.size();
  if (n == 0 || pool.owners.empty()) return;  // nothing to answer, so nothing to sign
  const size_t count = pool.max_addresses ? std::min<size_t>(pool.max_addresses, n) : n;
  const size_t windows = count == n ? 1 : n;
  const uint16_t rtype = pool.members[f.eligible.front()].rtype;
  // Validators rebuild the RRset with the original TTL, whatever TTL the state serves.
  const uint32_t original_ttl = std::max(pool.ttl, pool.degraded_ttl);
  std::vector<std::string_view> rdata(count);
  std::string owner;
  size_t block = 0, records = 0;
  bool first = true, uniform = true;
  for (const std::string& name : pool.owners) {
    owner = name;
    wire::lowerName(reinterpret_cast<uint8_t*>(owner.data()), owner.size());
    for (size_t w = 0; w < windows; ++w) {
      for (size_t i = 0; i < count; ++i)
        rdata[i] = pool.members[f.eligible[(w + i) % n]].address;
      const std::vector<std::string> rrsigs = signer.sign(owner, rtype, original_ttl, rdata);
      const size_t at = f.signatures.size();
      for (const std::string& rrsig : rrsigs) {
        const size_t r = f.signatures.size();
        f.signatures.resize(r + 12 + rrsig.size());
        auto* p = reinterpret_cast<uint8_t*>(f.signatures.data() + r);
        store16(p, 0xC000 | wire::kHeaderSize);  // the question's name, as `records`
        store16(p + 2, wire::type::RRSIG);
        store16(p + 4, wire::klass::IN);
        store32(p + 6, f.ttl);
        store16(p + 10, static_cast<uint16_t>(rrsig.size()));
        std::memcpy(p + 12, rrsig.data(), rrsig.size());
      }
      if (first) {
        block = f.signatures.size();
        records = rrsigs.size();
        first = false;
      }
      uniform = uniform && f.signatures.size() - at == block && rrsigs.size() == records;
    }
  }
  // Blocks are found by position, so they must be of one size: they are, as the signatures of
  // one key have a fixed size (ECDSA P-256 and Ed25519: 64 bytes) and one signer name. Should
  // that ever not hold, the state is left unsigned (replay.cc then leaves DO=1 queries to the
  // general path) rather than served from misplaced blocks.
  assert(uniform);
  if (!uniform || block == 0 || block > UINT16_MAX) {
    f.signatures.clear();
    return;
  }
  f.windows = static_cast<uint32_t>(windows);
  f.signature_size = static_cast<uint16_t>(block);
  f.signature_count = static_cast<uint16_t>(records);
}

// Sets the TTL from the mode, the policy's tables and the fast path's records; for a signed
// zone (`signer` set), the signatures.
void finishFamily(const zone::Pool& pool, FamilyState& f, zone::PoolPolicy policy,
                  const zone::RRsetSigner* signer) {
  f.ttl = f.mode == PoolMode::Healthy ? pool.ttl : pool.degraded_ttl;
  f.policy = policy;
  if (policy == zone::PoolPolicy::Weighted) f.schedule = smoothSchedule(f.weights);
  if (policy == zone::PoolPolicy::Random) {
    f.cumulative.resize(f.weights.size());
    std::partial_sum(f.weights.begin(), f.weights.end(), f.cumulative.begin());
  }
  for (uint16_t member : f.eligible) {
    const zone::PoolMember& m = pool.members[member];
    const size_t at = f.records.size();
    f.records.resize(at + 12 + m.address.size());
    auto* r = reinterpret_cast<uint8_t*>(f.records.data() + at);
    store16(r, 0xC000 | wire::kHeaderSize);  // the question's name
    store16(r + 2, m.rtype);
    store16(r + 4, wire::klass::IN);
    store32(r + 6, f.ttl);
    store16(r + 10, static_cast<uint16_t>(m.address.size()));
    std::memcpy(r + 12, m.address.data(), m.address.size());
    f.record_size = static_cast<uint16_t>(12 + m.address.size());
  }
  if (signer) signFamily(pool, *signer, f);
}

// The pool as a whole (a pool without sites, or a client none of whose sites can answer).
FamilyState computeFamily(const zone::Pool& pool, const std::vector<MemberView>& views,
                          const zone::RRsetSigner* signer) {
  FamilyState f;
  std::vector<uint16_t> up_drained;
  for (const MemberView& v : views) {
    if (v.weight == 0) {
      if (v.health.up) up_drained.push_back(v.index);
      continue;
    }
    ++f.active;
    if (v.health.up) ++f.up;
    if (v.health.up && v.health.weight > 0) {
      f.eligible.push_back(v.index);
      f.weights.push_back(v.health.weight);
    }
  }
  if (views.empty()) return f;  // this family has no members: NODATA

  auto failOpen = [&] {
    // Health is ignored: every non-drained member (or every member, if all are drained) answers
    // with its configured weight.
    f.mode = PoolMode::FailOpen;
    f.eligible.clear();
    f.weights.clear();
    for (const MemberView& v : views) {
      if (v.weight > 0 || f.active == 0) {
        f.eligible.push_back(v.index);
        f.weights.push_back(std::max<uint32_t>(v.weight, 1));
      }
    }
  };

  const bool too_few = f.active > 0 && static_cast<double>(f.up) < pool.min_healthy * f.active;
  if (too_few) {
    failOpen();
  } else if (!f.eligible.empty()) {
    f.mode = f.up == f.active ? PoolMode::Healthy : PoolMode::Degraded;
  } else if (!up_drained.empty()) {
    // Weight 0 means "only when nothing else is left" (as Route 53): now nothing else is.
    f.mode = PoolMode::Degraded;
    f.eligible = up_drained;
    f.weights.assign(up_drained.size(), 1);
  } else {
    switch (pool.all_down) {
      case zone::AllDown::All:
        failOpen();
        break;
      case zone::AllDown::None:
        f.mode = PoolMode::AllDownNone;
        break;
      case zone::AllDown::Servfail:
        f.mode = PoolMode::AllDownServfail;
        break;
    }
  }
  finishFamily(pool, f, pool.policy, signer);
  return f;
}

// --- pools with sites (docs/topology.md) ---

// One site, one family: its eligible members and whether it may answer. No fail-open and no
// drained fallback inside a site: a site that cannot answer passes its clients on.
struct SiteFamily {
  FamilyState state;  // eligible and weights only; finished when it answers alone
  bool usable = false;
};

SiteFamily computeSite(const zone::Pool& pool, uint16_t site,
                       const std::vector<MemberView>& views) {
  SiteFamily s;
  FamilyState& f = s.state;
  for (const MemberView& v : views) {
    if (pool.members[v.index].site != site || v.weight == 0) continue;
    ++f.active;
    if (!v.health.up) continue;
    ++f.up;
    if (v.health.weight > 0) {
      f.eligible.push_back(v.index);
      f.weights.push_back(v.health.weight);
    }
  }
  s.usable = siteUsable(!f.eligible.empty(), f.up, f.active, pool.sites[site].min_healthy);
  f.mode = f.up == f.active ? PoolMode::Healthy : PoolMode::Degraded;
  return s;
}

// Spilled clients over `sites` (ascending): each site's share of first addresses is its
// capacity's share, split inside the site by its members' effective weights.
FamilyState spillState(const zone::Pool& pool, const std::vector<uint16_t>& sites,
                       const std::vector<SiteFamily>& site_states,
                       const zone::RRsetSigner* signer) {
  // The weights are scaled to about this total: fine enough for any capacity ratio worth
  // writing, small enough for the running sums of the random policy.
  constexpr double kScale = 1 << 16;
  double capacity = 0;
  for (uint16_t s : sites) capacity += pool.sites[s].capacity;
  std::vector<std::pair<uint16_t, uint32_t>> members;  // member index, weight
  FamilyState f;
  for (uint16_t s : sites) {
    const FamilyState& site = site_states[s].state;
    const double total = std::accumulate(site.weights.begin(), site.weights.end(), 0.0);
    const double share = pool.sites[s].capacity / capacity;
    for (size_t i = 0; i < site.eligible.size(); ++i)
      members.emplace_back(
          site.eligible[i],
          std::max<uint32_t>(
              1, static_cast<uint32_t>(std::llround(kScale * share * site.weights[i] / total))));
    f.up += site.up;
    f.active += site.active;
  }
  // In configured order, so an answer depends on the set of sites only (it is shared by every
  // list that spills to them).
  std::sort(members.begin(), members.end());
  for (const auto& [index, weight] : members) {
    f.eligible.push_back(index);
    f.weights.push_back(weight);
  }
  f.mode = PoolMode::Degraded;
  finishFamily(pool, f,
               pool.policy == zone::PoolPolicy::Random ? zone::PoolPolicy::Random
                                                       : zone::PoolPolicy::Weighted,
               signer);
  return f;
}

// What the clients with `list` get: its first site alone if it can answer, else the next
// `spill` sites that can, else the pool as a whole (a copy of `whole`, signatures included).
SiteAnswer answerOfList(const zone::Pool& pool, const std::vector<uint16_t>& list,
                        const std::vector<SiteFamily>& sites, const FamilyState& whole,
                        const zone::RRsetSigner* signer) {
  SiteAnswer answer;
  if (list.empty()) {
    answer.state = whole;
    return answer;
  }
  answer.spilled = true;
  const uint16_t first = list.front();
  if (sites[first].usable) {
    answer.spilled = false;
    answer.sites = {first};
    answer.state = sites[first].state;
    finishFamily(pool, answer.state, pool.policy, signer);
    return answer;
  }
  for (size_t i = 1; i < list.size() && answer.sites.size() < pool.spill; ++i)
    if (sites[list[i]].usable) answer.sites.push_back(list[i]);
  std::sort(answer.sites.begin(), answer.sites.end());
  answer.state = answer.sites.empty() ? whole : spillState(pool, answer.sites, sites, signer);
  return answer;
}

void computeTopology(const zone::Pool& pool, const std::vector<MemberView> (&views)[2],
                     const FamilyState (&whole)[2], const TopologyState* previous,
                     const zone::RRsetSigner* signer, TopologyState& t) {
  t.map = pool.map;
  for (int f = 0; f < 2; ++f) {
    std::vector<SiteFamily> sites;
    sites.reserve(pool.sites.size());
    for (uint16_t s = 0; s < pool.sites.size(); ++s)
      sites.push_back(computeSite(pool, s, views[f]));
    std::vector<SiteAnswer>& answers = t.answers[f];
    for (const auto& list : pool.site_lists) {
      SiteAnswer answer = answerOfList(pool, list, sites, whole[f], signer);
      // Lists that answer alike share one entry, so their clients share one ECS scope.
      auto same = std::find_if(answers.begin(), answers.end(), [&](const SiteAnswer& a) {
        return a.sites == answer.sites && a.spilled == answer.spilled;
      });
      t.answer_of_list[f].push_back(static_cast<uint32_t>(same - answers.begin()));
      if (same == answers.end()) answers.push_back(std::move(answer));
    }
    // Compiling a big map takes far longer than the rest; health changes that move no client
    // to another answer (most of them: a member of a site that still answers) need none.
    const bool same =
        previous && previous->map == pool.map && previous->answer_of_list[f] == t.answer_of_list[f];
    for (int c = 0; c < 2; ++c)
      t.routes[f][c] =
          same ? previous->routes[f][c] : pool.map->networks[c].route(t.answer_of_list[f]);
  }
}

}  // namespace

std::shared_ptr<PoolStates> computePoolStates(const zone::ZoneSet& zones,
                                              const health::HealthSnapshot* health, uint64_t now_ms,
                                              const std::vector<MemberOverride>* overrides,
                                              const PoolStates* previous) {
  if (health && health->targets.size() != zones.targets().size()) health = nullptr;
  if (overrides && overrides->size() != zones.members().size()) overrides = nullptr;
  auto states = Reclaimer::own(new PoolStates());  // freed off the query threads
  states->computed_ms = now_ms;
  states->pools.resize(zones.pools().size());
  for (const zone::Pool* pool : zones.pools()) {
    PoolState& s = states->pools[pool->id];
    const std::vector<MemberView> views[2] = {
        memberViews(*pool, wire::type::A, health, overrides, now_ms, states->ramping),
        memberViews(*pool, wire::type::AAAA, health, overrides, now_ms, states->ramping)};
    // Signed zones: every state is signed as it is computed, never on a query thread.
    const zone::Zone* zone = zones.findZone(pool->zone);
    const zone::SignedZone* signed_zone = zone ? zone->signedZone() : nullptr;
    const zone::RRsetSigner* signer = signed_zone ? signed_zone->signer.get() : nullptr;
    for (int f = 0; f < 2; ++f) s.family[f] = computeFamily(*pool, views[f], signer);
    if (!pool->sites.empty() && pool->map) {
      auto topology = std::make_shared<TopologyState>();
      const TopologyState* before = previous && pool->id < previous->pools.size()
                                        ? previous->pools[pool->id].topology.get()
                                        : nullptr;
      computeTopology(*pool, views, s.family, before, signer, *topology);
      s.topology = std::move(topology);
    }
  }
  return states;
}

}  // namespace rrdns::answer
