// explain.cc -- the general path's dry run (trace.hh), in words: explain and answer() cannot
// disagree, because explain only narrates what the resolver decided.
#include "dns/answer/explain.hh"

#include <cstring>

#include "dns/answer/resolve.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"
#include "dns/wire/name.hh"
#include "dns/zone/rdata.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;

std::string recordLine(std::string_view owner, uint32_t ttl, uint16_t rtype, std::string_view rdata) {
  return wire::nameToText(owner) + " " + std::to_string(ttl) + " IN " + wire::typeName(rtype) +
         " " + zone::rdataToText(rtype, rdata);
}

// Turns the general path's steps into sentences. Knows nothing of how an answer is chosen: it
// only hears what a dry run of the real thing decided (trace.hh).
class Explainer final : public Trace {
 public:
  Explainer(const Catalog& catalog, const health::HealthSnapshot* health,
            const std::vector<MemberOverride>* overrides, Explanation& e)
      : d_catalog(catalog), d_health(health), d_overrides(overrides), d_e(e) {}

  void zone(const zone::Zone* z) override {
    if (!z) {
      d_e.outcome = "refused";
      d_e.steps.push_back(d_e.name + " is in no zone served here");
      return;
    }
    d_zone = z;
    d_e.zone = wire::nameToText(z->apex());
  }

  void lookedUp(std::string_view name, const Lookup& found) override {
    d_name = name;
    d_wildcard = found.kind == Lookup::Wildcard;
    if (d_wildcard)
      d_e.steps.push_back(wire::nameToText(name) + " is synthesised from the wildcard " +
                          wire::nameToText(found.node->owner));
    if (found.kind == Lookup::Delegation) {
      d_e.outcome = "referral";
      d_e.steps.push_back("at or below the zone cut " + wire::nameToText(found.node->owner) +
                          ": a referral (AA clear) with these NS records and their glue");
    }
  }

  void cname(std::string_view owner, std::string_view target, CnameStep step) override {
    d_e.outcome = "cname";
    const std::string alias = wire::nameToText(owner);
    switch (step) {
      case CnameStep::Followed:
        d_e.steps.push_back(alias + " is a CNAME for " + wire::nameToText(target));
        break;
      case CnameStep::LeftZone:
        d_e.steps.push_back(alias + " is a CNAME for " + wire::nameToText(target));
        d_e.steps.push_back(wire::nameToText(target) + " is outside " + d_e.zone +
                            "; the resolver follows it");
        break;
      case CnameStep::TooLong:
        d_e.steps.push_back(alias + " is a CNAME too, but the answer holds " +
                            std::to_string(kMaxCnameChain) +
                            " CNAMEs already, the most one answer follows: the chain ends");
        break;
      case CnameStep::Loop:
        d_e.steps.push_back(alias + " is a CNAME for " + wire::nameToText(target) +
                            ", back into the chain: a CNAME loop, which ends here");
        break;
    }
  }

  void pool(const zone::Pool& p, std::string_view owner, uint16_t rtype,
            const FamilyState& f) override {
    d_e.outcome = "pool";
    d_e.pool = p.name;
    d_e.policy = zone::policyName(p.policy);
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
    for (size_t i = 0; i < p.members.size(); ++i) candidate(p, i, rtype, f);
    if (f.mode == PoolMode::AllDownServfail)
      d_e.steps.push_back("no member is up: all-down = servfail");
    else if (f.eligible.empty())
      d_e.steps.push_back("no eligible member of this family: NODATA");
    else if (p.policy == zone::PoolPolicy::Random)
      d_e.steps.push_back("random: the first address is drawn in proportion to the weights; "
                          "shown here in configured order");
  }

  void rotation(size_t count, size_t start) override {
    d_e.steps.push_back(std::to_string(count) +
                        " addresses rotate: the next answer starts at the " +
                        std::to_string(start + 1) + ". in zone order");
  }

  void negative(uint16_t rcode, uint32_t soa_ttl) override {
    if (d_e.outcome == "pool") return;  // the pool has said why
    if (rcode == wire::rcode::NXDOMAIN) {
      d_e.outcome = "nxdomain";
      d_e.steps.push_back(wire::nameToText(d_name) + " does not exist; the SOA goes in the " +
                          "authority section with TTL " + std::to_string(soa_ttl));
      return;
    }
    d_e.outcome = "nodata";
    d_e.steps.push_back(wire::nameToText(d_name) + " exists but has no " + d_e.type +
                        " records (NODATA, SOA in authority)");
  }

  void record(Section section, std::string_view owner, uint16_t rtype, uint32_t ttl,
              std::string_view rdata) override {
    // The answer section, or a referral's NS records; not glue, not a negative answer's SOA.
    const bool shown = section == kAnswer || (section == kAuthority && d_e.outcome == "referral");
    if (!shown) return;
    if (section == kAnswer && rtype != wire::type::CNAME && d_e.outcome.empty())
      d_e.outcome = d_wildcard ? "wildcard" : "records";
    if (section == kAnswer && rtype != wire::type::CNAME && d_e.outcome == "cname" && d_wildcard)
      d_e.outcome = "wildcard";
    d_e.records.push_back(recordLine(owner, ttl, rtype, rdata));
  }

 private:
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
  const health::HealthSnapshot* d_health;
  const std::vector<MemberOverride>* d_overrides;
  Explanation& d_e;
  const zone::Zone* d_zone = nullptr;
  std::string_view d_name;  // the name looked up last
  bool d_wildcard = false;  // ... and it was synthesised from a wildcard
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
  if (qtype == type::AXFR || qtype == type::IXFR) {
    e.outcome = "error";
    e.steps.push_back("explain covers queries, not zone transfers (AXFR, IXFR)");
    return e;
  }
  // The query a client would send, answered by the general path as over TCP (nothing left out
  // for size), dry run: the fast path replays exactly what the general path writes.
  std::vector<uint8_t> query(wire::kHeaderSize + wire_name.size() + 4);
  query[wire::header::kQdCount + 1] = 1;
  std::memcpy(query.data() + wire::kHeaderSize, wire_name.data(), wire_name.size());
  uint8_t* tail = query.data() + wire::kHeaderSize + wire_name.size();
  tail[0] = static_cast<uint8_t>(qtype >> 8);
  tail[1] = static_cast<uint8_t>(qtype);
  tail[3] = static_cast<uint8_t>(wire::klass::IN);
  std::vector<uint8_t> response(wire::kMaxMessageSize);
  Explainer explainer(catalog, health, overrides, e);
  const Request request{query, Transport::Tcp};
  const Outcome outcome = traceGeneral(catalog, pools, request, response, Options{}, explainer);
  e.rcode = wire::rcodeName(outcome.rcode);
  if (e.outcome.empty()) e.outcome = "records";  // ANY at a name whose RRsets are all shown
  return e;
}

}  // namespace rrdns::answer
