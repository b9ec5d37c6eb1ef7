#include "dns/answer/pool_state.hh"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "dns/answer/reclaimer.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"

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
    for (auto& x : w) x = std::max<uint32_t>(1, static_cast<uint32_t>(x * kMaxSchedule / total));
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

void finishFamily(const zone::Pool& pool, FamilyState& f) {
  f.ttl = f.mode == PoolMode::Healthy ? pool.ttl : pool.degraded_ttl;
  f.policy = pool.policy;
  if (pool.policy == zone::PoolPolicy::Weighted) f.schedule = smoothSchedule(f.weights);
  if (pool.policy == zone::PoolPolicy::Random) {
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
}

FamilyState computeFamily(const zone::Pool& pool, uint16_t rtype,
                          const health::HealthSnapshot* health,
                          const std::vector<MemberOverride>* overrides, uint64_t now_ms,
                          bool& ramping) {
  FamilyState f;
  std::vector<uint16_t> members, up_drained;
  std::vector<uint32_t> weights;  // configured, with the operator's overrides
  for (uint16_t i = 0; i < pool.members.size(); ++i) {
    const zone::PoolMember& m = pool.members[i];
    if (m.rtype != rtype) continue;
    const MemberOverride* o = overrides ? &(*overrides)[pool.member_base + i] : nullptr;
    const MemberHealth h = memberHealth(pool, m, o, health, now_ms, ramping);
    const uint32_t weight = configuredWeight(m, o);
    members.push_back(i);
    weights.push_back(weight);
    if (weight == 0) {
      if (h.up) up_drained.push_back(i);
      continue;
    }
    ++f.active;
    if (h.up) ++f.up;
    if (h.up && h.weight > 0) {
      f.eligible.push_back(i);
      f.weights.push_back(h.weight);
    }
  }
  if (members.empty()) return f;  // this family has no members: NODATA

  auto failOpen = [&] {
    // Health is ignored: every non-drained member (or every member, if all are drained) answers
    // with its configured weight.
    f.mode = PoolMode::FailOpen;
    f.eligible.clear();
    f.weights.clear();
    for (size_t k = 0; k < members.size(); ++k) {
      if (weights[k] > 0 || f.active == 0) {
        f.eligible.push_back(members[k]);
        f.weights.push_back(std::max<uint32_t>(weights[k], 1));
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
  finishFamily(pool, f);
  return f;
}

}  // namespace

std::shared_ptr<PoolStates> computePoolStates(const zone::ZoneSet& zones,
                                              const health::HealthSnapshot* health,
                                              uint64_t now_ms,
                                              const std::vector<MemberOverride>* overrides) {
  if (health && health->targets.size() != zones.targets().size()) health = nullptr;
  if (overrides && overrides->size() != zones.members().size()) overrides = nullptr;
  auto states = Reclaimer::own(new PoolStates());  // freed off the query threads
  states->computed_ms = now_ms;
  states->pools.resize(zones.pools().size());
  for (const zone::Pool* pool : zones.pools()) {
    PoolState& s = states->pools[pool->id];
    s.family[0] = computeFamily(*pool, wire::type::A, health, overrides, now_ms, states->ramping);
    s.family[1] = computeFamily(*pool, wire::type::AAAA, health, overrides, now_ms, states->ramping);
  }
  return states;
}

}  // namespace rrdns::answer
