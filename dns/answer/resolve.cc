// resolve.cc -- the general path: header, question, the three sections, OPT, truncation; and the
// slip answer to a rate-limited client.
#include "dns/answer/resolve.hh"

#include <algorithm>
#include <cstring>

#include "dns/answer/denial.hh"
#include "dns/answer/lookup.hh"
#include "dns/answer/select.hh"
#include "dns/answer/transfer.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/header.hh"
#include "dns/wire/response.hh"
#include "dns/wire/rrtype.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;
namespace rcode = wire::rcode;
using wire::flag::AA;
using wire::flag::TC;

constexpr uint16_t kNotAuth = 9;  // RFC 2136 NOTAUTH: not authoritative for the zone asked

// Whether a query of class `qclass` is answered from the zones, which are all class IN. QCLASS
// ANY (RFC 1035 3.2.5) is, from the IN data, as Knot DNS and NSD do; CH answers what the server
// says about itself (Response::chaos()); every other class (HS, NONE, unassigned) is REFUSED, as
// Knot does. The one place that decides: queries and transfers ask it, and the fast path leaves
// every class but IN to the general path.
bool answeredFromZones(uint16_t qclass) {
  return qclass == wire::klass::IN || qclass == wire::klass::ANY;
}

}  // namespace

bool Response::put(Section s, std::string_view owner, const zone::RRset& rrset, bool required) {
  if (d_flags & TC) return false;
  const auto mark = d_w.mark();
  const size_t n = rrset.rdata.size();
  // Only answer-section address RRsets rotate; referrals, glue and transfers keep zone order.
  const bool rotates = s == kAnswer && rrset.rotation_slot != zone::kNoRotation;
  const size_t start = rotates && !d_recording ? cursor(rrset.rotation_slot) % n : 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t k = start + i < n ? start + i : start + i - n;
    d_w.record(owner, rrset.type, wire::klass::IN, rrset.ttl, rrset.rdata[k]);
  }
  if (rotates && d_recording && d_w.ok()) noteRotation(mark.size, rrset);
  if (!d_w.ok()) {
    d_w.rollback(mark);
    if (required) d_flags |= TC;
    return false;
  }
  d_counts[s] += static_cast<uint16_t>(n);
  if (d_trace) {
    if (rotates) d_trace->rotation(n, start);
    for (size_t i = 0; i < n; ++i)
      d_trace->record(s, owner, rrset.type, rrset.ttl, rrset.rdata[(start + i) % n]);
  }
  return true;
}

uint32_t Response::cursor(uint32_t slot) const {
  return d_trace ? d_catalog.rotation->peek(slot) : d_catalog.rotation->next(slot);
}

Lookup Response::lookUp(const zone::Zone& zone, std::string_view name) {
  const Lookup found = lookup(zone, name, d_q.qtype);
  if (d_trace) d_trace->lookedUp(name, found);
  return found;
}

// The records just written from `at` can be replayed rotated only if they are equal-sized and
// differ in RDATA alone (owners are then compression pointers, so nothing points into them).
void Response::noteRotation(size_t at, const zone::RRset& rrset) {
  Recording& r = *d_recording;
  ++r.rotating;
  const size_t n = rrset.rdata.size();
  const size_t total = d_w.size() - at;
  const size_t size = total / n;
  const size_t rdlength = rrset.rdata.front().size();
  bool uniform = total == size * n && size > rdlength;
  for (size_t i = 1; uniform && i < n; ++i)
    uniform = rrset.rdata[i].size() == rdlength &&
              std::memcmp(d_w.data() + at, d_w.data() + at + i * size, size - rdlength) == 0;
  if (!uniform || size > UINT16_MAX || at > UINT16_MAX || n > UINT16_MAX) r.dynamic = true;
  r.rotate_slot = rrset.rotation_slot;
  r.rotate_at = at;
  r.rotate_size = size;
  r.rotate_count = n;
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
  if (d_trace) d_trace->record(s, owner, rtype, ttl, rdata);
  return true;
}

void Response::resolve() {
  if (d_q.qtype == type::AXFR || d_q.qtype == type::IXFR) return transfer();
  if (d_q.qclass == wire::klass::CH) return chaos();
  if (!answeredFromZones(d_q.qclass)) {
    d_flags = 0;
    d_rcode = rcode::REFUSED;
    return;
  }
  const std::string_view name = d_q.lower.view();
  const zone::Zone* zone = d_catalog.zones->findZone(name);
  if (d_trace) d_trace->zone(zone);
  if (!zone) {
    d_flags = 0;
    d_rcode = rcode::REFUSED;
    return;
  }
  answerFrom(*zone, name);
}

// The names RFC 4892 and BIND give the server's identity and version under, in class CH.
std::string_view Response::chaosText() const {
  if (!d_self || d_q.qtype != type::TXT) return {};
  const std::string_view name = d_q.lower.view();
  if (name == std::string_view("\2id\6server", 11) ||
      name == std::string_view("\10hostname\4bind", 15))
    return d_self->identity;
  if (name == std::string_view("\7version\6server", 16) ||
      name == std::string_view("\7version\4bind", 14))
    return d_self->version;
  return {};
}

// As Knot DNS answers them: one TXT string, class CH, TTL 0, no AA (no zone holds them); every
// other CH query, and a name whose text is configured empty, is REFUSED.
void Response::chaos() {
  d_flags = 0;
  const std::string_view text = chaosText();
  if (text.empty() || text.size() > kMaxIdentityText) {
    d_rcode = rcode::REFUSED;
    return;
  }
  char buf[1 + kMaxIdentityText];
  buf[0] = static_cast<char>(text.size());
  std::memcpy(buf + 1, text.data(), text.size());
  const std::string_view rdata(buf, 1 + text.size());
  const auto mark = d_w.mark();
  d_w.record(d_q.lower.view(), type::TXT, wire::klass::CH, 0, rdata);
  if (!d_w.ok()) {
    d_w.rollback(mark);
    d_flags |= TC;
    return;
  }
  ++d_counts[kAnswer];
  if (d_trace) d_trace->record(kAnswer, d_q.lower.view(), type::TXT, 0, rdata);
}

void Response::transfer() {
  d_flags = 0;
  const bool ixfr = d_q.qtype == type::IXFR;
  // AXFR only makes sense over TCP (NOTIMP over UDP, as Knot DNS); IXFR over UDP gets the SOA
  // (below). The ACL comes before the zone lookup so that a refused client learns nothing
  // about which zones exist.
  if (!d_tcp && !ixfr) {
    d_rcode = rcode::NOTIMP;
    return;
  }
  if (!d_transfer_allowed) {
    d_rcode = rcode::REFUSED;
    return;
  }
  if (!answeredFromZones(d_q.qclass)) {
    // As Knot DNS 3.2 answers a transfer it allows in another class.
    d_rcode = d_q.qclass == wire::klass::CH ? rcode::NOTIMP : rcode::REFUSED;
    return;
  }
  const std::string_view name = d_q.lower.view();
  const zone::Zone* zone = d_catalog.zones->findZone(name);
  if (!zone || zone->apex() != name) {
    d_rcode = kNotAuth;  // as Knot DNS: no zone has its apex at this name
    return;
  }
  if (ixfr) {
    const std::optional<uint32_t> theirs = ixfrClientSerial(d_message, name);
    if (!theirs) {
      d_rcode = rcode::FORMERR;  // no SOA at the zone's name in the authority section
      return;
    }
    if (ixfrAnswer(zone->serial(), *theirs, d_tcp) == IxfrAnswer::SingleSoa) {
      d_flags = AA;
      put(kAnswer, zone->apex(), zone->soa());
      return;
    }
  }
  d_flags = AA;
  d_transfer_zone = zone;  // AXFR, or IXFR answered in full (RFC 1995 4)
}

void Response::answerFrom(const zone::Zone& zone, std::string_view name) {
  if (d_q.edns.dnssec_ok && zone.signedZone()) [[unlikely]] {
    // The proof's records live on this frame, so that DO=0 answers never make room for them.
    Proof proof;
    proof.count = 0;
    d_proof = &proof;
    d_signed = zone.signedZone();
    answerName(zone, name);
    d_signed = nullptr;
    return;
  }
  answerName(zone, name);
}

void Response::answerName(const zone::Zone& zone, std::string_view name) {
  const Lookup found = lookUp(zone, name);
  switch (found.kind) {
    case Lookup::Exact:
      answerNode(zone, *found.node, found.node->owner, 0);
      break;
    case Lookup::Wildcard:
      // RFC 4035 3.1.3.3: an answer synthesised from a wildcard proves the name itself absent
      // (a NODATA proof repeats this record: it is written once).
      if (d_signed) proveWildcardAnswer(zone, name, *d_proof);
      answerNode(zone, *found.node, name, 0);  // synthesised: owner is the query name
      break;
    case Lookup::Delegation:
      d_flags &= ~AA;
      referral(zone, *found.node);
      break;
    case Lookup::NxDomain:
      nxDomain(zone, name);
      break;
  }
}

void Response::answerNode(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                          int chain) {
  const uint16_t qtype = d_q.qtype;
  if (node.pool && (qtype == type::A || qtype == type::AAAA))
    return answerPool(zone, node, owner, qtype);
  if (qtype == type::ANY) {
    if (node.pool) return answerPool(zone, node, owner, type::A);
    if (node.rrsets.empty()) return noData(zone, owner, node);
    // RFC 8482: over UDP one RRset is enough and denies amplification; TCP gets everything.
    for (const auto& rrset : node.rrsets) {
      if (d_signed && rrset.type == type::RRSIG) continue;  // written beside what they cover
      if (!put(kAnswer, owner, rrset)) return;
      if (d_signed && !putSignatures(kAnswer, node, owner, rrset.type, rrset.ttl)) return;
      if (!d_tcp) break;
    }
    if (d_signed) putProof();
    return;
  }
  if (const zone::RRset* rrset = node.find(qtype)) {
    if (!put(kAnswer, owner, *rrset)) return;
    if (d_signed) {
      if (!putSignatures(kAnswer, node, owner, rrset->type, rrset->ttl)) return;
      putProof();
    }
    additionalFor(zone, *rrset);
    return;
  }
  const zone::RRset* cname = node.find(type::CNAME);
  if (!cname) return noData(zone, owner, node);
  answerCname(zone, node, *cname, owner, chain);
}

// RFC 1034 4.3.2 step 3a: write the CNAME and restart at its target while it stays inside this
// zone. `chain` CNAMEs are in the answer already. Where the chain ends early (too long, or a
// loop) the answer is NOERROR with what was written, no SOA: as Knot DNS.
void Response::answerCname(const zone::Zone& zone, const zone::Node& node,
                           const zone::RRset& cname, std::string_view owner, int chain) {
  const std::string_view target = cname.rdata.front();
  if (chain == kMaxCnameChain) {
    if (d_trace) d_trace->cname(owner, target, CnameStep::TooLong);
    if (d_signed) putProof();
    return;
  }
  // A loop (RFC 1034 3.6.2) ends where a node comes round again. Its CNAME is written once
  // more only if that is a new RR (RFC 2181 5: no duplicates), which happens with a wildcard:
  // its CNAME takes the owner of each name that reaches it (Knot writes it, then stops too).
  bool loop = false, repeat = false;
  for (int i = 0; i < chain; ++i) {
    if (d_cnames[i].node != &node) continue;
    loop = true;
    repeat = repeat || wire::namesEqualIgnoreCase(
                           owner, std::string_view(d_cnames[i].owner, d_cnames[i].owner_size));
  }
  if (loop) {
    if (!repeat && put(kAnswer, owner, cname) && d_signed)
      putSignatures(kAnswer, node, owner, type::CNAME, cname.ttl);
    if (d_signed) putProof();
    if (d_trace) d_trace->cname(owner, target, CnameStep::Loop);
    return;
  }
  if (!put(kAnswer, owner, cname)) return;
  if (d_signed && !putSignatures(kAnswer, node, owner, type::CNAME, cname.ttl)) return;
  d_cnames[chain] = {&node, owner.data(), owner.size()};

  const bool in_zone = wire::isSubdomainOf(target, zone.apex());
  if (d_trace) d_trace->cname(owner, target, in_zone ? CnameStep::Followed : CnameStep::LeftZone);
  if (!in_zone) {
    if (d_signed) putProof();
    return;
  }
  const Lookup next = lookUp(zone, target);
  switch (next.kind) {
    case Lookup::Exact:
      return answerNode(zone, *next.node, next.node->owner, chain + 1);
    case Lookup::Wildcard:
      if (d_signed) proveWildcardAnswer(zone, target, *d_proof);
      return answerNode(zone, *next.node, target, chain + 1);
    case Lookup::Delegation:
      return referral(zone, *next.node);
    case Lookup::NxDomain:
      return nxDomain(zone, target);  // RFC 6604: RCODE is that of the last name
  }
}

void Response::answerPool(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                          uint16_t rtype) {
  const zone::Pool& pool = *node.pool;
  const int family = rtype == type::A ? 0 : 1;
  if (d_recording) {
    // Replayable only as the whole answer at the question name (the records are encoded with
    // their owner pointing at the question); the members are chosen per answer.
    if (owner == d_q.lower.view() && d_counts[kAnswer] + d_counts[kAuthority] == 0) {
      d_recording->pool = &pool;
      d_recording->pool_family = static_cast<uint8_t>(family);
    } else {
      d_recording->dynamic = true;
    }
    return;
  }
  const PoolState& state = d_pools.pools[pool.id];
  const FamilyState* chosen = &state.family[family];
  bool spilled = false;
  if (state.topology) {
    topology::ClientAddress client;
    const bool known = d_subnet ? (clientFromSubnet(d_subnet, client), true)
                                : clientFromSource(d_source, client);
    const Routed routed = routeClient(*state.topology, family, known ? &client : nullptr);
    if (routed.answer) {
      // Without a client (a query a tool made up) there is no route to tell.
      if (d_trace && known)
        d_trace->route(pool, client, d_subnet != nullptr, d_subnet ? d_subnet[2] : 0,
                       pool.map->networks[static_cast<int>(client.family)].match(client.address),
                       *routed.answer, routed.scope);
      chosen = &routed.answer->state;
      spilled = routed.answer->spilled;
      d_scope = std::max(d_scope, routed.scope);
    }
  }
  const FamilyState& f = *chosen;
  if (d_trace) d_trace->pool(pool, owner, rtype, f);
  if (f.mode == PoolMode::AllDownServfail) {
    d_flags &= ~AA;
    d_rcode = rcode::SERVFAIL;
    return;
  }
  const size_t n = f.eligible.size();
  if (n == 0) return noData(zone, owner, node);

  // The first address comes from the policy; the rest follow in configured order after it.
  const size_t first = d_trace ? firstPoolMember<true>(d_catalog, pool, family, f)
                               : firstPoolMember(d_catalog, pool, family, f);
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
  if (d_trace)
    for (size_t i = 0; i < count; ++i)
      d_trace->record(kAnswer, owner, rtype, f.ttl,
                      pool.members[f.eligible[(first + i) % n]].address);
  if (d_first_member == Outcome::kNoMember) {
    d_first_member = pool.member_base + f.eligible[first];
    d_spilled = spilled;
  }
  if (d_signed) {
    putPoolSignatures(pool, f, node.owner, owner, first, count);
    putProof();
  }
}

void Response::putPoolSignatures(const zone::Pool& pool, const FamilyState& f,
                                 std::string_view node_owner, std::string_view owner, size_t first,
                                 size_t count) {
  if (f.signature_size == 0 || f.windows == 0) return;  // not signed (yet): nothing to add
  size_t k = 0;
  while (k < pool.owners.size() && pool.owners[k] != node_owner) ++k;
  if (k == pool.owners.size()) return;
  // One window per start position when max-addresses cuts the set, else the whole set's.
  const size_t window = count < f.eligible.size() && f.windows > 1 ? first : 0;
  const size_t at = (k * f.windows + window) * f.signature_size;
  if (window >= f.windows || at + f.signature_size > f.signatures.size()) return;
  // Records encoded for the fast path: a 2-byte pointer to the question name, type, class,
  // TTL, RDLENGTH, RDATA. Written here with the owner answered (a CNAME's target, maybe).
  const uint8_t* p = reinterpret_cast<const uint8_t*>(f.signatures.data()) + at;
  const uint8_t* end = p + f.signature_size;
  for (uint16_t i = 0; i < f.signature_count && p + 12 <= end; ++i) {
    const size_t rdlength = load16(p + 10);
    if (p + 12 + rdlength > end) return;
    const std::string_view rdata(reinterpret_cast<const char*>(p + 12), rdlength);
    if (!put(kAnswer, owner, type::RRSIG, f.ttl, rdata)) return;
    p += 12 + rdlength;
  }
}

void Response::referral(const zone::Zone& zone, const zone::Node& cut) {
  const zone::RRset& ns = *cut.find(type::NS);
  if (!put(kAuthority, cut.owner, ns)) return;
  if (d_signed) {
    // RFC 4035 3.1.4: the DS RRset and its RRSIGs at a secure delegation, else the NSEC that
    // shows there is none. The NS RRset is the child's: unsigned.
    if (const zone::RRset* ds = cut.find(type::DS)) {
      if (!put(kAuthority, cut.owner, *ds)) return;
      if (!putSignatures(kAuthority, cut, cut.owner, type::DS, ds->ttl)) return;
    } else {
      proveNoDs(zone, cut, *d_proof);
    }
    putProof();
  }
  for (const auto& target : ns.rdata) {
    // Glue below the cut is required for the referral to work; other addresses are a courtesy.
    addAddresses(zone, target, wire::isSubdomainOf(target, cut.owner));
  }
}

void Response::nxDomain(const zone::Zone& zone, std::string_view name) {
  negative(zone, rcode::NXDOMAIN);
  if (!d_signed) return;
  proveNxDomain(zone, name, *d_proof);
  putProof();
}

void Response::noData(const zone::Zone& zone, std::string_view name, const zone::Node& node) {
  negative(zone, rcode::NOERROR);
  if (!d_signed) return;
  proveNoData(zone, name, node, *d_proof);
  putProof();
}

void Response::negative(const zone::Zone& zone, uint16_t code) {
  d_rcode = code;
  if (d_trace) d_trace->negative(code, zone.negativeTtl());
  // RFC 2308 3: the SOA's TTL in a negative answer is min(SOA TTL, SOA MINIMUM).
  if (!put(kAuthority, zone.apex(), type::SOA, zone.negativeTtl(), zone.soa().rdata.front()))
    return;
  if (d_signed)
    putSignatures(kAuthority, zone.apexNode(), zone.apex(), type::SOA, zone.negativeTtl());
}

bool Response::putSignatures(Section s, const zone::Node& node, std::string_view owner,
                             uint16_t covered, uint32_t ttl) {
  const zone::RRset* rrsig = node.find(type::RRSIG);
  if (!rrsig) return true;
  for (const auto& rdata : rrsig->rdata) {
    // RFC 4034 3.1: the RDATA starts with the type covered.
    if (rdata.size() < 2 || load16(reinterpret_cast<const uint8_t*>(rdata.data())) != covered)
      continue;
    if (!put(s, owner, type::RRSIG, ttl, rdata)) return false;
  }
  return true;
}

void Response::putProof() {
  for (size_t i = 0; i < d_proof->count; ++i) {
    const DenialRecord& r = d_proof->records[i];
    if (!put(kAuthority, r.owner, r.type, r.ttl, r.rdata)) return;
    if (!r.signatures) continue;
    for (const auto& rdata : *r.signatures)
      if (rdata.size() >= 2 && load16(reinterpret_cast<const uint8_t*>(rdata.data())) == r.type &&
          !put(kAuthority, r.owner, type::RRSIG, r.ttl, rdata))
        return;
  }
  d_proof->count = 0;
}

void Response::additionalFor(const zone::Zone& zone, const zone::RRset& rrset) {
  const wire::RRType* layout = wire::findRRType(rrset.type);
  if (!layout || !(layout->flags & wire::rrtype::kHasAdditional)) return;
  for (const auto& rdata : rrset.rdata) {
    const std::string_view target = wire::additionalTarget(*layout, rdata);
    if (!target.empty()) addAddresses(zone, target, false);
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
  for (uint16_t rtype : {type::A, type::AAAA}) {
    const zone::RRset* addresses = node->find(rtype);
    if (!addresses) continue;
    if (!d_signed) {
      put(kAdditional, node->owner, *addresses, required);
      continue;
    }
    // Signed: the addresses with their RRSIGs (none for glue: the child's data), or neither.
    const auto mark = d_w.mark();
    const uint16_t before = d_counts[kAdditional];
    if (put(kAdditional, node->owner, *addresses, required) &&
        !putAdditionalSignatures(*node, rtype, addresses->ttl)) {
      d_w.rollback(mark);
      d_counts[kAdditional] = before;
    }
  }
}

bool Response::putAdditionalSignatures(const zone::Node& node, uint16_t covered, uint32_t ttl) {
  const zone::RRset* rrsig = node.find(type::RRSIG);
  if (!rrsig) return true;
  for (const auto& rdata : rrsig->rdata) {
    if (rdata.size() < 2 || load16(reinterpret_cast<const uint8_t*>(rdata.data())) != covered)
      continue;
    const auto mark = d_w.mark();
    d_w.record(node.owner, type::RRSIG, wire::klass::IN, ttl, rdata);
    if (!d_w.ok()) {
      d_w.rollback(mark);
      return false;  // optional data: left out whole, no TC (RFC 4035 3.1.1)
    }
    ++d_counts[kAdditional];
    if (d_trace) d_trace->record(kAdditional, node.owner, type::RRSIG, ttl, rdata);
  }
  return true;
}

namespace {

// The general path: every query the precompiled answers do not cover.
Outcome general(const Catalog& catalog, const PoolStates* pools, const Request& request,
                std::span<uint8_t> out, const Options& options, Trace* trace) {
  wire::Query q;
  const wire::ParseStatus status = wire::parseQuery(request.message, q);
  if (status == wire::ParseStatus::Drop) return {};

  const size_t limit =
      request.transport == Transport::Tcp
          ? wire::kMaxMessageSize
          : wire::udpLimit(q.edns.present, q.edns.payload, options.udp_max_payload);
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
  // EDNS Client Subnet (RFC 7871), when on: a well-formed option is the client pools with sites
  // route, and goes back with the response's scope; a malformed one is FORMERR (below).
  const uint8_t* ecs = with_opt && options.client_subnet && q.edns.options.subnet != 0
                           ? request.message.data() + q.edns.options.subnet
                           : nullptr;
  const bool ecs_malformed = ecs && !wire::subnetWellFormed(ecs, q.edns.options.subnet_size);
  if (ecs_malformed) ecs = nullptr;
  wire::SubnetEcho echo;
  if (ecs) echo = {ecs, q.edns.options.subnet_size, 0};
  // NSID (RFC 5001 2.3) only to a query that asks. The room of both options is kept like the OPT
  // record's, so records that would crowd them out truncate (as Knot DNS); an option that cannot
  // fit even beside the bare question is left out, NSID first.
  std::string_view nsid =
      with_opt && q.edns.options.nsid ? options.self.nsid : std::string_view{};
  if (w.size() + wire::Writer::optSize(nsid, echo) > w.limit()) nsid = {};
  if (w.size() + wire::Writer::optSize(nsid, echo) > w.limit()) echo = {};
  const size_t opt_size = wire::Writer::optSize(nsid, echo);
  if (with_opt) w.setLimit(w.limit() - opt_size);

  uint16_t flags = 0;
  uint16_t code = rcode::NOERROR;
  uint32_t first_member = Outcome::kNoMember;
  bool spilled = false;
  uint16_t counts[3] = {0, 0, 0};
  if (status == wire::ParseStatus::FormErr) {
    code = rcode::FORMERR;
  } else if (status == wire::ParseStatus::NotImp) {
    code = rcode::NOTIMP;
  } else if (ecs_malformed) {
    code = rcode::FORMERR;  // with the OPT record, without ECS, whatever the version: as Knot DNS
  } else if (q.edns.present && q.edns.version != 0) {
    code = rcode::BADVERS;  // RFC 6891 6.1.3
  } else {
    bool transfer_allowed = request.transfer_allowed;
    // Over UDP the ACL is asked only now, for the rare IXFR: never for an ordinary query.
    if (request.transport == Transport::Udp && q.qtype == type::IXFR &&
        options.udp_transfer_allowed && request.client)
      transfer_allowed = options.udp_transfer_allowed(request.client);
    Response response(w, catalog, statesFor(catalog, pools), q, request.transport,
                      transfer_allowed);
    response.message(request.message);
    response.trace(trace);
    response.identity(options.self);
    response.client(ecs, request.client);
    response.resolve();
    code = response.rcode();
    flags = response.flags();
    for (int s = 0; s < 3; ++s) counts[s] = response.count(static_cast<Section>(s));
    first_member = response.firstMember();
    spilled = response.spilled();
    echo.scope = response.scope();
    if (const zone::Zone* zone = response.transferZone()) {
      Outcome outcome;
      outcome.rcode = code;
      outcome.qtype = q.qtype;
      outcome.transfer_zone = zone;
      return outcome;
    }
  }

  if (with_opt) {
    w.setLimit(w.limit() + opt_size);
    w.opt(options.udp_max_payload, wire::extendedRcode(code), q.edns.dnssec_ok, nsid, echo);
    ++counts[kAdditional];
  }
  wire::setResponseHeader(w.data(), q.id, q.flags, flags, code, q.has_question ? 1 : 0,
                          counts[kAnswer], counts[kAuthority], counts[kAdditional]);
  const uint16_t qtype = q.has_question ? q.qtype : uint16_t{0};
  return {w.size(), code, (flags & TC) != 0, qtype, first_member, spilled,
          echo.option ? echo.scope : uint8_t{0}};
}

}  // namespace

Outcome answerGeneral(const Catalog& catalog, const PoolStates* pools, const Request& request,
                      std::span<uint8_t> out, const Options& options) {
  return general(catalog, pools, request, out, options, nullptr);
}

Outcome traceGeneral(const Catalog& catalog, const PoolStates* pools, const Request& request,
                     std::span<uint8_t> out, const Options& options, Trace& trace) {
  return general(catalog, pools, request, out, options, &trace);
}

size_t slip(const Request& request, const Outcome& answered, std::span<uint8_t> response,
            const Options& options) {
  wire::Query q;
  if (answered.size < wire::kHeaderSize || answered.size > response.size()) return 0;
  const wire::ParseStatus status = wire::parseQuery(request.message, q);
  if (status == wire::ParseStatus::Drop) return 0;
  // Every path writes the question as sent right after the header, and an OPT record when the
  // query had a readable one, with the ECS option when the query had a well-formed one that
  // counts (and it fit: then the slip fits in the answer's size too).
  const size_t question = q.has_question ? q.qname.size + 4 : 0;
  const bool with_opt = q.edns.present && status != wire::ParseStatus::FormErr;
  wire::SubnetEcho echo;
  if (with_opt && options.client_subnet && q.edns.options.subnet != 0 &&
      wire::subnetWellFormed(request.message.data() + q.edns.options.subnet,
                             q.edns.options.subnet_size))
    echo = {request.message.data() + q.edns.options.subnet, q.edns.options.subnet_size,
            answered.scope};
  if (wire::kHeaderSize + question + wire::Writer::optSize({}, echo) > answered.size) echo = {};
  const size_t size =
      wire::kHeaderSize + question + (with_opt ? wire::Writer::optSize({}, echo) : 0);
  if (size > answered.size) return 0;
  uint8_t* m = response.data();
  if (with_opt) {
    uint8_t* opt = m + wire::kHeaderSize + question;
    wire::putOpt(opt, options.udp_max_payload, wire::extendedRcode(answered.rcode),
                 q.edns.dnssec_ok);
    if (echo.option) {
      store16(opt + wire::kOptRecordSize - 2, static_cast<uint16_t>(echo.wireSize()));
      wire::putClientSubnet(opt + wire::kOptRecordSize, echo);
    }
  }
  wire::header::setFlags(m, wire::header::flags(m) | TC);
  wire::header::setCounts(m, q.has_question ? 1 : 0, 0, 0, with_opt ? 1 : 0);
  return size;
}

}  // namespace rrdns::answer
