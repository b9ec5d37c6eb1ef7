// answer.cc -- assembling the response: header, question, the three sections, OPT, truncation.
#include "dns/answer/answer.hh"

#include <algorithm>

#include "dns/answer/lookup.hh"
#include "dns/health/clock.hh"
#include "dns/wire/header.hh"
#include "dns/wire/query.hh"
#include "dns/wire/writer.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;
namespace rcode = wire::rcode;
using wire::flag::AA;
using wire::flag::TC;

constexpr uint16_t kNotAuth = 9;  // RFC 2136 NOTAUTH: not authoritative for the zone asked
constexpr int kMaxCnameChain = 8;  // as Knot DNS: follow at most this many in-zone CNAMEs
constexpr size_t kMaxAdditionalNames = 16;

enum Section : uint8_t { kAnswer, kAuthority, kAdditional };

// One response under construction. Sections are written strictly in order.
class Response {
 public:
  Response(wire::Writer& w, const Catalog& catalog, const PoolStates& pools, const wire::Query& q,
           Transport transport, bool transfer_allowed)
      : d_w(w),
        d_catalog(catalog),
        d_pools(pools),
        d_q(q),
        d_tcp(transport == Transport::Tcp),
        d_transfer_allowed(transfer_allowed) {}

  void resolve();
  uint16_t rcode() const { return d_rcode; }
  uint16_t flags() const { return d_flags; }
  uint16_t count(Section s) const { return d_counts[s]; }
  uint32_t firstMember() const { return d_first_member; }
  const zone::Zone* transferZone() const { return d_transfer_zone; }

 private:
  void transfer();
  void answerFrom(const zone::Zone& zone, std::string_view name);
  void answerNode(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                  int chain);
  void answerPool(const zone::Zone& zone, const zone::Pool& pool, std::string_view owner,
                  uint16_t rtype);
  void referral(const zone::Zone& zone, const zone::Node& cut);
  void negative(const zone::Zone& zone, uint16_t code);
  void additionalFor(const zone::Zone& zone, const zone::RRset& rrset);
  void addAddresses(const zone::Zone& zone, std::string_view target, bool required);
  // Appends a whole RRset or nothing. On overflow in the answer and authority sections (and for
  // required glue) sets TC, after which nothing more is added.
  bool put(Section s, std::string_view owner, const zone::RRset& rrset, bool required = true);
  bool put(Section s, std::string_view owner, uint16_t rtype, uint32_t ttl,
           std::string_view rdata);

  wire::Writer& d_w;
  const Catalog& d_catalog;
  const PoolStates& d_pools;
  const wire::Query& d_q;
  bool d_tcp;
  bool d_transfer_allowed;
  const zone::Zone* d_transfer_zone = nullptr;
  uint16_t d_rcode = rcode::NOERROR;
  uint16_t d_flags = AA;
  uint16_t d_counts[3] = {0, 0, 0};
  const zone::Node* d_additional[kMaxAdditionalNames];
  size_t d_additional_count = 0;
  uint32_t d_first_member = Outcome::kNoMember;
};

bool Response::put(Section s, std::string_view owner, const zone::RRset& rrset, bool required) {
  if (d_flags & TC) return false;
  const auto mark = d_w.mark();
  const size_t n = rrset.rdata.size();
  // Only answer-section address RRsets rotate; referrals, glue and transfers keep zone order.
  const size_t start = (s == kAnswer && rrset.rotation_slot != zone::kNoRotation)
                           ? d_catalog.rotation->next(rrset.rotation_slot) % n
                           : 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = start + i < n ? start + i : start + i - n;
    d_w.record(owner, rrset.type, wire::klass::IN, rrset.ttl, rrset.rdata[k]);
  }
  if (!d_w.ok()) {
    d_w.rollback(mark);
    if (required) d_flags |= TC;
    return false;
  }
  d_counts[s] += static_cast<uint16_t>(n);
  return true;
}

bool Response::put(Section s, std::string_view owner, uint16_t rtype, uint32_t ttl,
                   std::string_view rdata) {
  if (d_flags & TC) return false;
  const auto mark = d_w.mark();
  d_w.record(owner, rtype, wire::klass::IN, ttl, rdata);
  if (!d_w.ok()) {
    d_w.rollback(mark);
    d_flags |= TC;
    return false;
  }
  ++d_counts[s];
  return true;
}

void Response::resolve() {
  if (d_q.qtype == type::AXFR || d_q.qtype == type::IXFR) return transfer();
  if (d_q.qclass != wire::klass::IN) {
    d_flags = 0;
    d_rcode = rcode::REFUSED;
    return;
  }
  const std::string_view name = d_q.lower.view();
  const zone::Zone* zone = d_catalog.zones->findZone(name);
  if (!zone) {
    d_flags = 0;
    d_rcode = rcode::REFUSED;
    return;
  }
  answerFrom(*zone, name);
}

void Response::transfer() {
  d_flags = 0;
  // Transfers only make sense over TCP (NOTIMP over UDP, as Knot DNS). The ACL comes before
  // the zone lookup so that a refused client learns nothing about which zones exist.
  if (!d_tcp) {
    d_rcode = rcode::NOTIMP;
    return;
  }
  if (!d_transfer_allowed) {
    d_rcode = rcode::REFUSED;
    return;
  }
  const std::string_view name = d_q.lower.view();
  const zone::Zone* zone =
      d_q.qclass == wire::klass::IN ? d_catalog.zones->findZone(name) : nullptr;
  if (!zone || zone->apex() != name) {
    d_rcode = kNotAuth;  // as Knot DNS: no zone has its apex at this name
    return;
  }
  // IXFR (RFC 1995 4) falls back to a full transfer: we keep no history to send deltas from.
  d_flags = AA;
  d_transfer_zone = zone;
}

void Response::answerFrom(const zone::Zone& zone, std::string_view name) {
  const Lookup found = lookup(zone, name, d_q.qtype);
  switch (found.kind) {
    case Lookup::Exact:
      answerNode(zone, *found.node, found.node->owner, 0);
      break;
    case Lookup::Wildcard:
      answerNode(zone, *found.node, name, 0);  // synthesised: owner is the query name
      break;
    case Lookup::Delegation:
      d_flags &= ~AA;
      referral(zone, *found.node);
      break;
    case Lookup::NxDomain:
      negative(zone, rcode::NXDOMAIN);
      break;
  }
}

void Response::answerNode(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                          int chain) {
  const uint16_t qtype = d_q.qtype;
  if (node.pool && (qtype == type::A || qtype == type::AAAA))
    return answerPool(zone, *node.pool, owner, qtype);
  if (qtype == type::ANY) {
    if (node.pool) return answerPool(zone, *node.pool, owner, type::A);
    if (node.rrsets.empty()) return negative(zone, rcode::NOERROR);
    // RFC 8482: over UDP one RRset is enough and denies amplification; TCP gets everything.
    for (const auto& rrset : node.rrsets) {
      if (!put(kAnswer, owner, rrset)) return;
      if (!d_tcp) break;
    }
    return;
  }
  if (const zone::RRset* rrset = node.find(qtype)) {
    if (put(kAnswer, owner, *rrset)) additionalFor(zone, *rrset);
    return;
  }
  const zone::RRset* cname = node.find(type::CNAME);
  if (!cname) return negative(zone, rcode::NOERROR);
  if (!put(kAnswer, owner, *cname)) return;

  // RFC 1034 4.3.2 step 3a: restart at the target while it stays inside this zone.
  const std::string_view target = cname->rdata.front();
  if (chain + 1 >= kMaxCnameChain || !wire::isSubdomainOf(target, zone.apex())) return;
  const Lookup next = lookup(zone, target, qtype);
  switch (next.kind) {
    case Lookup::Exact:
      return answerNode(zone, *next.node, next.node->owner, chain + 1);
    case Lookup::Wildcard:
      return answerNode(zone, *next.node, target, chain + 1);
    case Lookup::Delegation:
      return referral(zone, *next.node);
    case Lookup::NxDomain:
      return negative(zone, rcode::NXDOMAIN);  // RFC 6604: RCODE is that of the last name
  }
}

// Per-thread generator for the random policy: no lock, no shared state.
uint64_t nextRandom() {
  thread_local uint64_t state = 0x9E3779B97F4A7C15ull ^ health::monotonicMs() ^
                                reinterpret_cast<uintptr_t>(&state);
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

void Response::answerPool(const zone::Zone& zone, const zone::Pool& pool, std::string_view owner,
                          uint16_t rtype) {
  const int family = rtype == type::A ? 0 : 1;
  const FamilyState& f = d_pools.pools[pool.id].family[family];
  if (f.mode == PoolMode::AllDownServfail) {
    d_flags &= ~AA;
    d_rcode = rcode::SERVFAIL;
    return;
  }
  const size_t n = f.eligible.size();
  if (n == 0) return negative(zone, rcode::NOERROR);

  // The first address comes from the policy; the rest follow in configured order after it.
  const uint32_t slot = pool.rotation_slot + family;
  size_t first = 0;
  switch (pool.policy) {
    case zone::PoolPolicy::Rotate:
      first = d_catalog.rotation->next(slot) % n;
      break;
    case zone::PoolPolicy::Weighted:
      first = f.schedule[d_catalog.rotation->next(slot) % f.schedule.size()];
      break;
    case zone::PoolPolicy::Random: {
      const uint32_t r = static_cast<uint32_t>(nextRandom() % f.cumulative.back());
      first = std::upper_bound(f.cumulative.begin(), f.cumulative.end(), r) - f.cumulative.begin();
      break;
    }
  }
  const size_t count = pool.max_addresses ? std::min<size_t>(pool.max_addresses, n) : n;
  if (d_flags & TC) return;
  const auto mark = d_w.mark();
  for (size_t i = 0; i < count; ++i) {
    const size_t k = first + i < n ? first + i : first + i - n;
    d_w.record(owner, rtype, wire::klass::IN, f.ttl, pool.members[f.eligible[k]].address);
  }
  if (!d_w.ok()) {
    d_w.rollback(mark);
    d_flags |= TC;
    return;
  }
  d_counts[kAnswer] += static_cast<uint16_t>(count);
  if (d_first_member == Outcome::kNoMember) d_first_member = pool.member_base + f.eligible[first];
}

void Response::referral(const zone::Zone& zone, const zone::Node& cut) {
  const zone::RRset& ns = *cut.find(type::NS);
  if (!put(kAuthority, cut.owner, ns)) return;
  for (const auto& target : ns.rdata) {
    // Glue below the cut is required for the referral to work; other addresses are a courtesy.
    addAddresses(zone, target, wire::isSubdomainOf(target, cut.owner));
  }
}

void Response::negative(const zone::Zone& zone, uint16_t code) {
  d_rcode = code;
  // RFC 2308 3: the SOA's TTL in a negative answer is min(SOA TTL, SOA MINIMUM).
  put(kAuthority, zone.apex(), type::SOA, zone.negativeTtl(), zone.soa().rdata.front());
}

void Response::additionalFor(const zone::Zone& zone, const zone::RRset& rrset) {
  for (const auto& rdata : rrset.rdata) {
    std::string_view target;
    switch (rrset.type) {
      case type::NS:
        target = rdata;
        break;
      case type::MX:
        target = std::string_view(rdata).substr(2);
        break;
      case type::SRV:
        target = std::string_view(rdata).substr(6);
        break;
      default:
        return;
    }
    addAddresses(zone, target, false);
  }
}

void Response::addAddresses(const zone::Zone& zone, std::string_view target, bool required) {
  if (!wire::isSubdomainOf(target, zone.apex())) return;
  const zone::Node* node = zone.find(target);
  if (!node || d_additional_count == kMaxAdditionalNames) return;
  if (std::find(d_additional, d_additional + d_additional_count, node) !=
      d_additional + d_additional_count)
    return;
  d_additional[d_additional_count++] = node;
  for (uint16_t rtype : {type::A, type::AAAA})
    if (const zone::RRset* addresses = node->find(rtype))
      put(kAdditional, node->owner, *addresses, required);
}

// The UDP payload we may fill: 512 without EDNS, else the smaller of the requester's size
// (never below 512, RFC 6891 6.2.5) and ours.
size_t udpLimit(const wire::Query& q, const Options& options) {
  if (!q.edns.present) return wire::kMaxUdpPlainPayload;
  const size_t theirs = std::max<size_t>(q.edns.payload, wire::kMaxUdpPlainPayload);
  return std::min<size_t>(theirs, options.udp_max_payload);
}

}  // namespace

std::shared_ptr<const Catalog> Catalog::make(std::shared_ptr<const zone::ZoneSet> zones) {
  auto c = std::make_shared<Catalog>();
  c->rotation = std::make_shared<RotationState>(zones->rotationSlots());
  auto initial = computePoolStates(*zones, nullptr, health::monotonicMs());
  initial->catalog = c.get();
  c->initial_pools = std::move(initial);
  c->zones = std::move(zones);
  return c;
}

Outcome answer(const Catalog& catalog, const PoolStates* pools, std::span<const uint8_t> query,
               Transport transport, std::span<uint8_t> out, const Options& options) {
  wire::Query q;
  const wire::ParseStatus status = wire::parseQuery(query, q);
  if (status == wire::ParseStatus::Drop) return {};

  const size_t limit = transport == Transport::Tcp ? wire::kMaxMessageSize : udpLimit(q, options);
  wire::Writer w(out.data(), std::min(limit, out.size()));
  uint8_t blank_header[wire::kHeaderSize] = {};
  w.bytes(blank_header, sizeof blank_header);
  if (q.has_question) {
    // As sent, so the requester's letter case comes back (0x20); later owner names compress
    // against it case-insensitively and so keep that case too.
    w.name(q.qname.view());
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  if (!w.ok()) return {};  // cannot happen within 512 bytes; be safe anyway
  const bool with_opt = q.edns.present && status != wire::ParseStatus::FormErr;
  if (with_opt) w.setLimit(w.limit() - wire::kOptRecordSize);

  uint16_t flags = 0;
  uint16_t code = rcode::NOERROR;
  uint32_t first_member = Outcome::kNoMember;
  uint16_t counts[3] = {0, 0, 0};
  if (status == wire::ParseStatus::FormErr) {
    code = rcode::FORMERR;
  } else if (status == wire::ParseStatus::NotImp) {
    code = rcode::NOTIMP;
  } else if (q.edns.present && q.edns.version != 0) {
    code = rcode::BADVERS;  // RFC 6891 6.1.3
  } else {
    const PoolStates& current =
        pools && pools->catalog == &catalog ? *pools : *catalog.initial_pools;
    Response response(w, catalog, current, q, transport, options.transfer_allowed);
    response.resolve();
    code = response.rcode();
    flags = response.flags();
    for (int s = 0; s < 3; ++s) counts[s] = response.count(static_cast<Section>(s));
    first_member = response.firstMember();
    if (const zone::Zone* zone = response.transferZone()) {
      Outcome outcome;
      outcome.rcode = code;
      outcome.qtype = q.qtype;
      outcome.transfer_zone = zone;
      return outcome;
    }
  }

  if (with_opt) {
    w.setLimit(w.limit() + wire::kOptRecordSize);
    w.opt(options.udp_max_payload, static_cast<uint8_t>(code >> 4), q.edns.dnssec_ok);
    ++counts[kAdditional];
  }
  uint8_t* m = w.data();
  const uint16_t copied = q.flags & (0x7800 /* opcode */ | wire::flag::RD | wire::flag::CD);
  wire::header::setId(m, q.id);
  wire::header::setFlags(m, wire::flag::QR | copied | flags | (code & 0x0F));
  wire::header::setCounts(m, q.has_question ? 1 : 0, counts[kAnswer], counts[kAuthority],
                          counts[kAdditional]);
  return {w.size(), code, (flags & TC) != 0, q.has_question ? q.qtype : uint16_t{0}, first_member};
}

}  // namespace rrdns::answer
