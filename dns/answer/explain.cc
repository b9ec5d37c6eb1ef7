// explain.cc -- the general path's dry run (trace.hh), in words: explain and answer() cannot
// disagree, because explain only narrates what the resolver decided.
#include "dns/answer/explain.hh"

#include <arpa/inet.h>

#include <cmath>
#include <cstring>

#include "dns/answer/resolve.hh"
#include "dns/answer/site_health.hh"
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

std::string percent(double share) {
  return std::to_string(static_cast<int>(std::lround(share * 100))) + "%";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The client address as a host or, from ECS, as the network the option carried.
std::string clientText(const topology::ClientAddress& client, bool from_subnet, uint8_t prefix) {
  topology::Network n{client.family, topology::bits(client.family), {}};
  std::memcpy(n.address, client.address, sizeof n.address);
  if (from_subnet) n.prefix = prefix;
  const std::string text = topology::formatNetwork(n);
  return from_subnet ? text : text.substr(0, text.find('/'));
}

// The network of `prefix` bits around the client's address.
std::string networkAround(const topology::ClientAddress& client, uint8_t prefix) {
  topology::Network n{client.family, prefix, {}};
  for (unsigned bit = 0; bit < prefix && bit < topology::bits(client.family); ++bit)
    n.address[bit / 8] |= client.address[bit / 8] & (0x80u >> (bit % 8));
  return topology::formatNetwork(n);
}

// Turns the general path's steps into sentences. Knows nothing of how an answer is chosen: it
// only hears what a dry run of the real thing decided (trace.hh).
class Explainer final : public Trace {
 public:
  Explainer(const Catalog& catalog, const health::HealthSnapshot* health,
            const std::vector<MemberOverride>* overrides, bool has_client, Explanation& e)
      : d_catalog(catalog), d_health(health), d_overrides(overrides), d_has_client(has_client),
        d_e(e) {}

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
    // Spilled clients are shared by capacity whatever the pool's policy (FamilyState::policy).
    d_e.policy = zone::policyName(p.sites.empty() ? p.policy : f.policy);
    const SiteAnswer* routed = d_route ? d_answer : nullptr;
    if (d_route) routeSites(p, rtype);
    d_answer = nullptr;
    if (!p.sites.empty() && !routed && !d_has_client)
      d_e.steps.push_back("the query has no client address (explain --client or --subnet "
                          "gives it one): the default list of map '" +
                          (p.map ? p.map->name : std::string()) + "' answers");
    d_e.mode = poolModeName(f.mode);
    d_e.fail_open = f.mode == PoolMode::FailOpen;
    d_e.ttl = f.ttl;
    d_e.ttl_rule = f.mode == PoolMode::Healthy
                       ? "ttl " + std::to_string(p.ttl) + ": every member is up"
                       : "degraded-ttl " + std::to_string(p.degraded_ttl) + ": " +
                             std::to_string(f.up) + " of " + std::to_string(f.active) +
                             " members up";
    if (routed && routed->spilled)
      d_e.ttl_rule = "degraded-ttl " + std::to_string(p.degraded_ttl) +
                     ": the client's first site cannot answer";
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
    else if (f.policy == zone::PoolPolicy::Random)
      d_e.steps.push_back("random: the first address is drawn in proportion to the weights; "
                          "shown here in configured order");
  }

  void route(const zone::Pool& p, const topology::ClientAddress& client, bool from_subnet,
             uint8_t source_prefix, const topology::PrefixMap::Match& match,
             const SiteAnswer& answer, uint8_t scope) override {
    Route r;
    r.pool = p.name;
    r.client_from = from_subnet ? "ecs" : "source";
    r.client = clientText(client, from_subnet, source_prefix);
    r.map = p.map ? p.map->name : "";
    if (match.matched) {
      r.network = topology::formatNetwork(match.network);
      if (p.map)
        if (auto it = p.map->origins.find(r.network); it != p.map->origins.end())
          r.origin = it->second;
    }
    if (match.label < p.site_lists.size())
      for (uint16_t site : p.site_lists[match.label])
        if (site < p.sites.size()) r.list.push_back(p.sites[site].name);
    for (uint16_t site : answer.sites)
      if (site < p.sites.size()) r.chosen.push_back(p.sites[site].name);
    r.spilled = answer.spilled;
    r.scope = scope;
    r.scope_network = networkAround(client, scope);

    const std::string who =
        from_subnet ? "the client subnet " + r.client + " (ECS)" : "the client " + r.client;
    d_e.steps.push_back(
        who + (r.network.empty()
                   ? " matches no network of map '" + r.map + "': the default list [" +
                         joined(r.list) + "]"
                   : " matches " + r.network + " in map '" + r.map + "'" +
                         (r.origin.empty() ? "" : " (" + r.origin + ")") + ": sites [" +
                         joined(r.list) + "]"));
    d_pending = std::move(r);
    d_route = &*d_pending;
    d_answer = &answer;
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
  // A member as the operator sees it: up (checks, or a mark), its weight (configured or the
  // operator's, 0 when drained) and why, in `c`; whether it reports load weight 0 in `load_zero`.
  bool memberState(const zone::Pool& p, size_t i, Candidate& c,
                   bool* load_zero = nullptr) const {
    const zone::PoolMember& m = p.members[i];
    const MemberOverride* o = d_overrides && d_overrides->size() == d_catalog.zones->members().size()
                                  ? &(*d_overrides)[p.member_base + i]
                                  : nullptr;
    c.weight = o && o->drained ? 0 : (o && o->weight ? *o->weight : m.weight);
    bool up = m.check.startsUp();
    if (d_health && d_health->targets.size() == d_catalog.zones->targets().size()) {
      const health::TargetHealth& t = d_health->targets[m.target];
      up = t.up;
      if (load_zero) *load_zero = t.load_weight == 0;
      if (t.up && t.load_weight < 100)
        c.note = "reports X-Rrdns-Weight " + std::to_string(t.load_weight);
    }
    if (o && o->up) {
      up = *o->up;
      c.note = std::string("marked ") + (up ? "up" : "down") + " by an operator";
    }
    if (o && o->drained) c.note = "drained by an operator";
    return up;
  }

  // The client's sites in list order, as far as the choice looked: the first, then for a spill
  // every site up to the last one that took the client (all of them when none could).
  void routeSites(const zone::Pool& p, uint16_t rtype) {
    Route& r = *d_route;
    d_route = nullptr;  // a second pool in the answer (a CNAME chain) is told in steps only
    std::vector<MemberStatus> members(p.members.size());
    for (size_t i = 0; i < p.members.size(); ++i) {
      Candidate c;
      members[i].up = memberState(p, i, c, &members[i].load_zero);
      members[i].weight = c.weight;
    }
    const std::vector<SiteHealth> health = siteHealth(p, rtype, members);
    uint64_t capacity = 0;
    for (uint16_t site : d_answer->sites) capacity += p.sites[site].capacity;
    size_t left = d_answer->sites.size();
    for (size_t k = 0; k < r.list.size(); ++k) {
      uint16_t index = 0;
      while (index < p.sites.size() && p.sites[index].name != r.list[k]) ++index;
      if (index == p.sites.size()) continue;
      const zone::Site& site = p.sites[index];
      const SiteHealth& h = health[index];
      SiteStep step;
      step.site = site.name;
      step.usable = h.usable;
      step.state = h.usable ? "usable" : h.why;
      step.up = h.up;
      step.active = h.active;
      step.min_healthy = site.min_healthy;
      step.capacity = site.capacity;
      step.role = "passed over";
      bool chosen = false;
      for (uint16_t s : d_answer->sites) chosen = chosen || s == index;
      if (chosen) {
        step.share = capacity ? double(site.capacity) / double(capacity) : 0;
        step.role = d_answer->spilled ? "takes " + percent(step.share) + " of first addresses"
                                      : "answers";
        --left;
      }
      r.sites.push_back(std::move(step));
      if (!d_answer->sites.empty() && left == 0) break;
    }
    const std::string first = r.list.empty() ? "" : r.list.front();
    const std::string first_why = r.sites.empty() ? "" : r.sites.front().state;
    if (r.list.empty()) {
      r.why = "the site list is empty: the pool answers as a whole";
    } else if (!d_answer->spilled) {
      r.why = first + ", the first site of the list, can answer: it answers alone";
    } else if (d_answer->sites.empty()) {
      r.why = "no site of the list can answer: the pool answers as a whole (all-down rule)";
    } else {
      std::string shares;
      for (const SiteStep& step : r.sites)
        if (step.share > 0)
          shares += (shares.empty() ? "" : ", ") + step.site + " (capacity " +
                    std::to_string(step.capacity) + ", " + percent(step.share) + ")";
      r.why = first + " cannot answer (" + first_why + "): its clients spill to the next " +
              std::to_string(p.spill) + (p.spill == 1 ? " usable site" : " usable sites") +
              " (spill = " + std::to_string(p.spill) + "), shared by capacity: " + shares;
    }
    d_e.steps.push_back(r.why);
    d_e.steps.push_back(
        "ECS scope /" + std::to_string(r.scope) +
        (r.scope == 0 ? ": every client gets this answer now"
                      : ": every client in " + r.scope_network + " gets this answer now") +
        (r.client_from == "ecs" ? "" : " (the scope is sent only in answers to queries with ECS)"));
    if (!d_e.route) d_e.route = std::move(r);
  }

  void candidate(const zone::Pool& p, size_t i, uint16_t qtype, const FamilyState& f) {
    const zone::PoolMember& m = p.members[i];
    if (m.rtype != qtype) return;
    Candidate c;
    c.address = m.text;
    if (m.site < p.sites.size()) c.site = p.sites[m.site].name;
    const bool up = memberState(p, i, c);
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
  const bool d_has_client;  // the query has a source address or ECS
  Explanation& d_e;
  std::optional<Route> d_pending;     // told by route(), finished by the pool() that follows
  Route* d_route = nullptr;           // into d_pending until pool() has it
  const SiteAnswer* d_answer = nullptr;
  const zone::Zone* d_zone = nullptr;
  std::string_view d_name;  // the name looked up last
  bool d_wildcard = false;  // ... and it was synthesised from a wildcard
};

// Appends an OPT record with an EDNS Client Subnet option for `subnet` (RFC 7871 6: ADDRESS
// cut to SOURCE PREFIX-LENGTH bytes, SCOPE 0), as dig +subnet sends it.
void addClientSubnet(std::vector<uint8_t>& query, const topology::Network& subnet) {
  const size_t address_bytes = (subnet.prefix + 7) / 8;
  const size_t option = 4 + address_bytes;
  const uint8_t opt[] = {0, 0, wire::type::OPT, 0x04, 0xd0,  // root, OPT, payload 1232
                         0, 0, 0, 0,                          // extended RCODE, version, flags
                         0, static_cast<uint8_t>(4 + option),  // RDLENGTH
                         0, 8, 0, static_cast<uint8_t>(option),  // OPTION-CODE 8 (ECS), length
                         0, static_cast<uint8_t>(subnet.family == topology::Family::V4 ? 1 : 2),
                         subnet.prefix, 0};
  query.insert(query.end(), std::begin(opt), std::end(opt));
  query.insert(query.end(), subnet.address, subnet.address + address_bytes);
  query[wire::header::kArCount + 1] = 1;
}

}  // namespace

Explanation explain(const Catalog& catalog, const PoolStates* pools,
                    const health::HealthSnapshot* health,
                    const std::vector<MemberOverride>* overrides, std::string_view name,
                    uint16_t qtype, const ExplainClient& client) {
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
  if (client.subnet) {
    addClientSubnet(query, *client.subnet);
    if (!client.client_subnet)
      e.steps.push_back("edns-client-subnet is off: the server ignores the query's ECS option");
  }
  std::vector<uint8_t> response(wire::kMaxMessageSize);
  Explainer explainer(catalog, health, overrides,
                      client.source.has_value() || (client.subnet && client.client_subnet), e);
  Request request{query, Transport::Tcp};
  if (client.source) request.client = reinterpret_cast<const sockaddr*>(&*client.source);
  Options options;
  options.client_subnet = client.client_subnet;
  const Outcome outcome = traceGeneral(catalog, pools, request, response, options, explainer);
  e.rcode = wire::rcodeName(outcome.rcode);
  if (e.outcome.empty()) e.outcome = "records";  // ANY at a name whose RRsets are all shown
  return e;
}

}  // namespace rrdns::answer
