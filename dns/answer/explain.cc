// explain.cc -- replays lookup() and the pool policy in words, without touching any cursor.
#include "dns/answer/explain.hh"

#include "dns/answer/lookup.hh"
#include "dns/answer/select.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/rdata.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;

constexpr int kMaxChain = 8;  // as answer()

std::string recordLine(std::string_view owner, uint32_t ttl, uint16_t rtype, std::string_view rdata) {
  return wire::nameToText(owner) + " " + std::to_string(ttl) + " IN " + wire::typeName(rtype) +
         " " + zone::rdataToText(rtype, rdata);
}

const char* policyName(zone::PoolPolicy policy) {
  switch (policy) {
    case zone::PoolPolicy::Rotate:
      return "rotate";
    case zone::PoolPolicy::Weighted:
      return "weighted";
    case zone::PoolPolicy::Random:
      return "random";
  }
  return "?";
}

class Explainer {
 public:
  Explainer(const Catalog& catalog, const PoolStates& pools, const health::HealthSnapshot* health,
            const std::vector<MemberOverride>* overrides, Explanation& e)
      : d_catalog(catalog), d_pools(pools), d_health(health), d_overrides(overrides), d_e(e) {}

  void run(std::string_view name, uint16_t qtype) {
    const zone::Zone* z = d_catalog.zones->findZone(name);
    if (!z) {
      d_e.outcome = "refused";
      d_e.rcode = "REFUSED";
      d_e.steps.push_back(wire::nameToText(name) + " is in no zone served here");
      return;
    }
    d_e.zone = wire::nameToText(z->apex());
    d_e.rcode = "NOERROR";
    std::string current(name);
    for (int chain = 0; chain < kMaxChain; ++chain) {
      const Lookup found = lookup(*z, current, qtype);
      if (found.kind == Lookup::Delegation) return referral(*found.node);
      if (found.kind == Lookup::NxDomain) {
        d_e.outcome = "nxdomain";
        d_e.rcode = "NXDOMAIN";
        d_e.steps.push_back(wire::nameToText(current) + " does not exist; the SOA goes in the " +
                            "authority section with TTL " + std::to_string(z->negativeTtl()));
        return;
      }
      const zone::Node& node = *found.node;
      const std::string owner(found.kind == Lookup::Exact ? node.owner : std::string_view(current));
      if (found.kind == Lookup::Wildcard)
        d_e.steps.push_back(wire::nameToText(current) + " is synthesised from the wildcard " +
                            wire::nameToText(node.owner));
      if (node.pool && (qtype == type::A || qtype == type::AAAA))
        return pool(*node.pool, owner, qtype);
      if (const zone::RRset* rrset = node.find(qtype)) {
        d_e.outcome = found.kind == Lookup::Wildcard ? "wildcard" : (chain ? "cname" : "records");
        records(owner, *rrset);
        return;
      }
      const zone::RRset* cname = node.find(type::CNAME);
      if (!cname) {
        d_e.outcome = "nodata";
        d_e.steps.push_back(wire::nameToText(owner) + " exists but has no " +
                            wire::typeName(qtype) + " records (NODATA, SOA in authority)");
        return;
      }
      d_e.outcome = "cname";
      d_e.records.push_back(recordLine(owner, cname->ttl, type::CNAME, cname->rdata.front()));
      current = cname->rdata.front();
      d_e.steps.push_back(wire::nameToText(owner) + " is a CNAME for " + wire::nameToText(current));
      if (!wire::isSubdomainOf(current, z->apex())) {
        d_e.steps.push_back(wire::nameToText(current) + " is outside " + d_e.zone +
                            "; the resolver follows it");
        return;
      }
    }
    d_e.steps.push_back("the CNAME chain is longer than " + std::to_string(kMaxChain) + " links");
  }

 private:
  void referral(const zone::Node& cut) {
    d_e.outcome = "referral";
    d_e.steps.push_back("at or below the zone cut " + wire::nameToText(cut.owner) +
                        ": a referral (AA clear) with these NS records and their glue");
    for (const auto& rdata : cut.find(type::NS)->rdata)
      d_e.records.push_back(recordLine(cut.owner, cut.find(type::NS)->ttl, type::NS, rdata));
  }

  void records(std::string_view owner, const zone::RRset& rrset) {
    const size_t n = rrset.rdata.size();
    size_t start = 0;
    if (rrset.rotation_slot != zone::kNoRotation) {
      start = d_catalog.rotation->peek(rrset.rotation_slot) % n;
      d_e.steps.push_back(std::to_string(n) + " addresses rotate: the next answer starts at the " +
                          std::to_string(start + 1) + ". in zone order");
    }
    for (size_t i = 0; i < n; ++i)
      d_e.records.push_back(recordLine(owner, rrset.ttl, rrset.type, rrset.rdata[(start + i) % n]));
  }

  void pool(const zone::Pool& p, std::string_view owner, uint16_t qtype) {
    const int family = qtype == type::A ? 0 : 1;
    const FamilyState& f = d_pools.pools[p.id].family[family];
    d_e.outcome = "pool";
    d_e.pool = p.name;
    d_e.policy = policyName(p.policy);
    d_e.mode = poolModeName(f.mode);
    d_e.fail_open = f.mode == PoolMode::FailOpen;
    d_e.ttl = f.ttl;
    d_e.ttl_rule = f.mode == PoolMode::Healthy
                       ? "ttl " + std::to_string(p.ttl) + ": every member is up"
                       : "degraded-ttl " + std::to_string(p.degraded_ttl) + ": " +
                             std::to_string(f.up) + " of " + std::to_string(f.active) +
                             " members up";
    d_e.steps.push_back(wire::nameToText(owner) + " is answered by pool '" + p.name + "' (" +
                        d_e.policy + ", " + d_e.mode + ")");
    if (f.mode == PoolMode::FailOpen)
      d_e.steps.push_back(f.up == 0 ? "no member is up: all-down = all, every member answers"
                                    : "fewer than min-healthy are up: the pool fails open");
    for (size_t i = 0; i < p.members.size(); ++i) candidate(p, i, qtype, f);
    if (f.mode == PoolMode::AllDownServfail) {
      d_e.rcode = "SERVFAIL";
      d_e.steps.push_back("no member is up: all-down = servfail");
      return;
    }
    if (f.eligible.empty()) {
      d_e.steps.push_back("no eligible member of this family: NODATA");
      return;
    }
    const size_t n = f.eligible.size();
    const uint32_t cursor = d_catalog.rotation->peek(p.rotation_slot + family);
    size_t first = 0;
    if (p.policy == zone::PoolPolicy::Rotate) first = cursor % n;
    if (p.policy == zone::PoolPolicy::Weighted) first = f.schedule[cursor % f.schedule.size()];
    if (p.policy == zone::PoolPolicy::Random)
      d_e.steps.push_back("random: the first address is drawn in proportion to the weights; "
                          "shown here in configured order");
    const size_t count = p.max_addresses ? std::min<size_t>(p.max_addresses, n) : n;
    for (size_t i = 0; i < count; ++i) {
      const zone::PoolMember& m = p.members[f.eligible[(first + i) % n]];
      d_e.records.push_back(recordLine(owner, f.ttl, qtype, m.address));
    }
  }

  void candidate(const zone::Pool& p, size_t i, uint16_t qtype, const FamilyState& f) {
    const zone::PoolMember& m = p.members[i];
    if (m.rtype != qtype) return;
    Candidate c;
    c.address = m.text;
    const MemberOverride* o = d_overrides && d_overrides->size() == d_catalog.zones->members().size()
                                  ? &(*d_overrides)[p.member_base + i]
                                  : nullptr;
    c.weight = o && o->drained ? 0 : (o && o->weight ? *o->weight : m.weight);
    bool up = m.check.startsUp();
    if (d_health && d_health->targets.size() == d_catalog.zones->targets().size()) {
      const health::TargetHealth& t = d_health->targets[m.target];
      up = t.up;
      if (t.up && t.load_weight < 100)
        c.note = "reports X-Rrdns-Weight " + std::to_string(t.load_weight);
    }
    if (o && o->up) {
      up = *o->up;
      c.note = std::string("marked ") + (up ? "up" : "down") + " by an operator";
    }
    if (o && o->drained) c.note = "drained by an operator";
    c.state = !up ? "down" : (c.weight == 0 ? "drained" : "up");
    for (size_t k = 0; k < f.eligible.size(); ++k) {
      if (f.eligible[k] == i) {
        c.eligible = true;
        c.effective_weight = f.weights[k];
      }
    }
    d_e.candidates.push_back(std::move(c));
  }

  const Catalog& d_catalog;
  const PoolStates& d_pools;
  const health::HealthSnapshot* d_health;
  const std::vector<MemberOverride>* d_overrides;
  Explanation& d_e;
};

}  // namespace

Explanation explain(const Catalog& catalog, const PoolStates* pools,
                    const health::HealthSnapshot* health,
                    const std::vector<MemberOverride>* overrides, std::string_view name,
                    uint16_t qtype) {
  Explanation e;
  e.type = wire::typeName(qtype);
  std::string wire_name, error;
  const std::string root(1, '\0');
  if (!wire::nameFromText(name, root, wire_name, error)) {
    e.name = std::string(name);
    e.outcome = "error";
    e.steps.push_back(error);
    return e;
  }
  e.name = wire::nameToText(wire_name);
  Explainer(catalog, statesFor(catalog, pools), health, overrides, e).run(wire_name, qtype);
  return e;
}

}  // namespace rrdns::answer
