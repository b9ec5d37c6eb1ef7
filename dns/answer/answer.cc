// answer.cc -- assembling the response: header, question, the three sections, OPT, truncation.
#include "dns/answer/answer.hh"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "dns/answer/lookup.hh"
#include "dns/answer/reclaimer.hh"
#include "dns/base/background.hh"
#include "dns/health/clock.hh"
#include "dns/wire/header.hh"
#include "dns/wire/query.hh"
#include "dns/wire/response.hh"
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

// What precompile() learns from a response built at load time: whether its bytes can be replayed,
// and which parts must change per answer.
struct Recording {
  bool dynamic = false;  // depends on more than one rotating RRset (a pool reached by CNAME...)
  int rotating = 0;      // answer-section RRsets with a rotation cursor
  uint32_t rotate_slot = zone::kNoRotation;
  size_t rotate_at = 0, rotate_size = 0, rotate_count = 0;  // message offset, bytes per record
  const zone::Pool* pool = nullptr;  // a pool answered at the question name, nothing else
  uint8_t pool_family = 0;
};

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
  // Load time only: write every RRset in zone order without touching a cursor, and note in
  // `recording` what a replay of this response must redo.
  void record(Recording* recording) { d_recording = recording; }
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
  void noteRotation(size_t at, const zone::RRset& rrset);

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
  Recording* d_recording = nullptr;
};

bool Response::put(Section s, std::string_view owner, const zone::RRset& rrset, bool required) {
  if (d_flags & TC) return false;
  const auto mark = d_w.mark();
  const size_t n = rrset.rdata.size();
  // Only answer-section address RRsets rotate; referrals, glue and transfers keep zone order.
  const bool rotates = s == kAnswer && rrset.rotation_slot != zone::kNoRotation;
  const size_t start =
      rotates && !d_recording ? d_catalog.rotation->next(rrset.rotation_slot) % n : 0;
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
  return true;
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

// The position in f.eligible of the first address of this answer (f.eligible is not empty).
size_t firstPoolMember(const Catalog& catalog, const zone::Pool& pool, int family,
                       const FamilyState& f) {
  const uint32_t slot = pool.rotation_slot + family;
  switch (pool.policy) {
    case zone::PoolPolicy::Rotate:
      return catalog.rotation->next(slot) % f.eligible.size();
    case zone::PoolPolicy::Weighted:
      return f.schedule[catalog.rotation->next(slot) % f.schedule.size()];
    case zone::PoolPolicy::Random: {
      const uint32_t r = static_cast<uint32_t>(nextRandom() % f.cumulative.back());
      return std::upper_bound(f.cumulative.begin(), f.cumulative.end(), r) - f.cumulative.begin();
    }
  }
  return 0;
}

void Response::answerPool(const zone::Zone& zone, const zone::Pool& pool, std::string_view owner,
                          uint16_t rtype) {
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
  const FamilyState& f = d_pools.pools[pool.id].family[family];
  if (f.mode == PoolMode::AllDownServfail) {
    d_flags &= ~AA;
    d_rcode = rcode::SERVFAIL;
    return;
  }
  const size_t n = f.eligible.size();
  if (n == 0) return negative(zone, rcode::NOERROR);

  // The first address comes from the policy; the rest follow in configured order after it.
  const size_t first = firstPoolMember(d_catalog, pool, family, f);
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
  for (uint16_t rtype : {type::A, type::AAAA})
    if (const zone::RRset* addresses = node->find(rtype))
      put(kAdditional, node->owner, *addresses, required);
}

// ---------------------------------------------------------------------------------------------
// The precompiled fast path.
//
// Why it is shaped so: most queries ask for a name and type the zones hold, and the response is
// then the same bytes every time except for the header, the question as sent (its letter case),
// an OPT record, and the order of one address RRset or a pool's members. So Catalog::make() runs
// the general path once per (name, type) with data, and keeps what follows the question
// (precompiled.hh). A query that hits costs a walk over its question's length octets,
// lower-casing and hashing its name a word at a time, one hash probe and a few copies, instead
// of a parse, a zone search, a lookup label by label and name compression. Everything the replay
// cannot reproduce byte for byte goes to the general path, which stays the reference: another
// opcode or class, records other than one OPT, EDNS version above 0, a response that would not
// fit the UDP limit (truncation is the general path's business), a pool with nobody to answer.
// A name or type not in the table gets its zone's negative answer (NegativeAnswer) where the
// zone has one: then NXDOMAIN for a random name costs a third of what the general path's search
// and name compression do (a flood of random names is the usual attack on an authoritative
// server).

// The general path's bookkeeping limits; a catalog beyond them answers the rest the general way.
constexpr size_t kMaxPrecompiledEntries = size_t{1} << 20;
constexpr size_t kMaxPrecompiledBytes = size_t{64} << 20;

// Copies `count` of the `n` records of `size` bytes at `src`, starting with record `first` and
// wrapping around: the general path's rotation, done on finished records.
void copyRotated(uint8_t* dst, const uint8_t* src, size_t size, size_t n, size_t first,
                 size_t count) {
  const size_t head = std::min(count, n - first);
  std::memcpy(dst, src + first * size, head * size);
  std::memcpy(dst + head * size, src, (count - head) * size);
}

// What the fast path needs of a query, read once: a question it may answer from the table.
// Filled by readFastQuery() (no initialisers: they would cost every query their stores).
struct FastQuery {
  wire::Question question;
  uint16_t qflags;
  uint16_t arcount;  // 0, or 1 for an OPT
  bool dnssec_ok;
  size_t limit;      // the largest response the transport and the requester allow
  std::string_view name() const { return question.name(); }
};

// Reads `query` into `q`, or returns false when only the general path may answer it: any opcode
// but QUERY, another class, records other than one OPT, EDNS above version 0, or trailing bytes.
[[gnu::always_inline]] inline bool readFastQuery(std::span<const uint8_t> query,
                                                 Transport transport, const Options& options,
                                                 FastQuery& q) {
  namespace header = wire::header;
  const uint8_t* m = query.data();
  const size_t size = query.size();
  if (size < wire::kHeaderSize + 5) return false;
  q.qflags = header::flags(m);
  if ((q.qflags & (wire::flag::QR | 0x7800 /* opcode */)) != 0) return false;
  if (header::qdcount(m) != 1 || header::ancount(m) != 0 || header::nscount(m) != 0) return false;
  q.arcount = header::arcount(m);
  if (q.arcount > 1) return false;
  if (!wire::readQuestion(query, q.question)) return false;
  // Type 0 would meet the entries that only say a name exists.
  if (q.question.qtype == 0 || q.question.qclass != wire::klass::IN) return false;
  const size_t pos = q.question.end;
  if (q.arcount == 1) {
    // One OPT (RFC 6891 6.1.2): root owner, version 0, and nothing after it.
    if (pos + wire::kOptRecordSize > size || m[pos] != 0 || load16(m + pos + 1) != type::OPT ||
        wire::optVersion(m, pos) != 0)
      return false;
    const size_t end = wire::optEnd(m, pos);
    wire::EdnsOptions found;  // none changes the answer yet
    if (end != size || !wire::scanOptions(m, pos + wire::kOptRecordSize, end, found)) return false;
    q.dnssec_ok = wire::optDnssecOk(m, pos);
    q.limit = wire::udpLimit(true, wire::optPayload(m, pos), options.udp_max_payload);
  } else {
    if (pos != size) return false;
    q.dnssec_ok = false;
    q.limit = wire::kMaxUdpPlainPayload;
  }
  if (transport == Transport::Tcp) q.limit = wire::kMaxMessageSize;
  return true;
}

// The end of a replayed response: its OPT record at `p` if the query had one, and the header.
[[gnu::always_inline]] inline void finishReplay(uint8_t* o, uint8_t* p, const uint8_t* query,
                                                const FastQuery& q, uint16_t flags, uint16_t code,
                                                uint16_t ancount, uint16_t nscount,
                                                uint16_t additional, const Options& options) {
  if (q.arcount == 1)
    wire::putOpt(p, options.udp_max_payload, wire::extendedRcode(code), q.dnssec_ok);
  wire::setResponseHeader(o, wire::header::id(query), q.qflags, flags, code, 1, ancount, nscount,
                          static_cast<uint16_t>(additional + q.arcount));
}

// Types the general path treats apart (zone transfers, ANY, OPT), and 0: never answered from a
// negative image.
bool negativeReplayable(uint16_t qtype) {
  return qtype != 0 && qtype != type::OPT && qtype != type::ANY && qtype != type::AXFR &&
         qtype != type::IXFR;
}

// The fast path for a (name, type) the table lacks: NODATA if the name has an entry that allows
// it, NXDOMAIN if it has none, from its zone's NegativeAnswer. Returns an outcome of size 0,
// having written nothing, when the general path must answer. It reads the question again rather
// than be handed it: handing it over cost every hit in answerPrecompiled() 10 to 20 instructions.
// The table is complete (setNegatives()), so a name without an entry does not exist.
[[gnu::noinline]] Outcome answerNegative(const PrecompiledAnswers& table,
                                         std::span<const uint8_t> query, Transport transport,
                                         std::span<uint8_t> out, const Options& options) {
  FastQuery q;
  if (!readFastQuery(query, transport, options, q)) return {};
  const uint8_t* m = query.data();
  const std::string_view name = q.name();
  const uint16_t qtype = q.question.qtype;
  const std::vector<NegativeAnswer>& negatives = table.negatives();
  if (negatives.empty() || !negativeReplayable(qtype)) return {};
  uint16_t code = rcode::NXDOMAIN;
  if (const PrecompiledAnswer* known = table.findName(name, q.question.hash)) {
    if (!known->nodata) return {};
    code = rcode::NOERROR;
  }
  // Its zone, as ZoneSet::findZone finds it: the longest apex the name ends in, label-aligned.
  const NegativeAnswer* zone = nullptr;
  size_t labels = 0;  // above the apex
  size_t last = 0;    // where the last of them starts
  for (size_t at = 0;; at += 1 + static_cast<uint8_t>(name[at]), ++labels) {
    zone = table.negativeZone(q.question.lower + at, name.size() - at);
    if (zone || name[at] == 0) break;
    last = at;
  }
  if (!zone || !zone->usable || labels > zone->max_labels) return {};
  if (labels > 0) {
    const std::string_view below_apex = name.substr(last, 1 + static_cast<uint8_t>(name[last]));
    if (below_apex == zone->avoid[0] || below_apex == zone->avoid[1]) return {};
  }

  const size_t question = name.size() + 4;
  const size_t body = zone->image.size();
  const size_t total =
      wire::kHeaderSize + question + body + (q.arcount == 1 ? wire::kOptRecordSize : 0);
  if (total > std::min(q.limit, out.size())) return {};
  uint8_t* o = out.data();
  std::memcpy(o + wire::kHeaderSize, m + wire::kHeaderSize, question);  // as sent (0x20)
  uint8_t* p = o + wire::kHeaderSize + question;
  std::memcpy(p, zone->image.data(), body);
  const int shift = static_cast<int>(name.size() - zone->apex.size()) - zone->prefix;
  for (const uint16_t at : zone->pointers)
    store16(p + at, static_cast<uint16_t>(0xC000 | ((load16(p + at) & 0x3FFF) + shift)));
  finishReplay(o, p + body, m, q, zone->flags, code, zone->counts[kAnswer],
               zone->counts[kAuthority], zone->counts[kAdditional], options);
  return {total, code, false, qtype, Outcome::kNoMember};
}

// What answerPrecompiled() did.
enum class Replay : uint8_t {
  Answered,
  Missing,  // the table has no entry for the name and type: perhaps a negative answer
  General,  // the general path must answer
};

// Writes the response to `query` from the catalog's precompiled answers; anything but Answered
// leaves everything as it was, no cursor included.
Replay answerPrecompiled(const Catalog& catalog, const PrecompiledAnswers& table,
                         const PoolStates* pools, std::span<const uint8_t> query,
                         Transport transport, std::span<uint8_t> out, const Options& options,
                         Outcome& outcome) {
  FastQuery q;
  if (!readFastQuery(query, transport, options, q)) return Replay::General;
  const PrecompiledAnswer* e = table.find(q.name(), q.question.hash, q.question.qtype);
  if (!e) return Replay::Missing;
  const uint8_t* m = query.data();
  const size_t n = q.question.size;
  const uint16_t arcount = q.arcount;
  const uint16_t qtype = q.question.qtype;
  const size_t limit = q.limit;
  size_t body = e->image_size;
  uint16_t ancount = e->counts[kAnswer];
  const FamilyState* f = nullptr;
  if (e->pool) {
    const PoolStates& current =
        pools && pools->catalog == &catalog ? *pools : *catalog.initial_pools;
    f = &current.pools[e->pool->id].family[e->pool_family];
    if (f->eligible.empty()) return Replay::General;  // NODATA or SERVFAIL
    const size_t eligible = f->eligible.size();
    const size_t max = e->pool->max_addresses;
    ancount = static_cast<uint16_t>(max ? std::min<size_t>(max, eligible) : eligible);
    body = ancount * size_t{f->record_size};
  }
  size_t question = n + 4;
  // Hides the question's bound (255 + 4) from GCC, which would otherwise copy it with an inline
  // rep movsq, slower for these few bytes than libc's memcpy.
  asm("" : "+r"(question));
  const size_t total =
      wire::kHeaderSize + question + body + (arcount == 1 ? wire::kOptRecordSize : 0);
  if (total > std::min(limit, out.size())) return Replay::General;

  // Committed: from here on the cursors move.
  uint8_t* o = out.data();
  std::memcpy(o + wire::kHeaderSize, m + wire::kHeaderSize, question);  // as sent (0x20)
  uint8_t* p = o + wire::kHeaderSize + question;
  uint32_t first_member = Outcome::kNoMember;
  const uint8_t* image = table.image(*e);
  if (f) {
    const size_t first = firstPoolMember(catalog, *e->pool, e->pool_family, *f);
    copyRotated(p, reinterpret_cast<const uint8_t*>(f->records.data()), f->record_size,
                f->eligible.size(), first, ancount);
    first_member = e->pool->member_base + f->eligible[first];
  } else if (e->rotate_slot != zone::kNoRotation) {
    const size_t start = catalog.rotation->next(e->rotate_slot) % e->rotate_count;
    const size_t after = e->rotate_at + size_t{e->rotate_size} * e->rotate_count;
    std::memcpy(p, image, e->rotate_at);
    copyRotated(p + e->rotate_at, image + e->rotate_at, e->rotate_size, e->rotate_count, start,
                e->rotate_count);
    std::memcpy(p + after, image + after, body - after);
  } else {
    std::memcpy(p, image, body);
  }
  finishReplay(o, p + body, m, q, e->flags, e->rcode, ancount, e->counts[kAuthority],
               e->counts[kAdditional], options);
  outcome = {total, e->rcode, false, qtype, first_member};
  return Replay::Answered;
}

// Load time: parses the query "`name` `qtype` IN" into `q` and writes its header (blank) and
// question into `w`, as answer() does before the general path. False if it does not parse.
bool startLoadTimeQuery(std::string_view name, uint16_t qtype, wire::Query& q, wire::Writer& w) {
  uint8_t query[wire::kHeaderSize + wire::kMaxNameLength + 4] = {};
  store16(query + wire::header::kQdCount, 1);
  std::memcpy(query + wire::kHeaderSize, name.data(), name.size());
  const size_t qend = wire::kHeaderSize + name.size() + 4;
  store16(query + qend - 4, qtype);
  store16(query + qend - 2, wire::klass::IN);
  if (wire::parseQuery({query, qend}, q) != wire::ParseStatus::Ok) return false;
  w.bytes(query, wire::kHeaderSize);
  w.name(q.qname.view());
  w.u16(q.qtype);
  w.u16(q.qclass);
  return true;
}

// What the general path answers "`prefix`<apex> A", seen as a NegativeAnswer for `prefix`.
// Leaves `t.usable` false if that is not a replayable NXDOMAIN.
NegativeAnswer probeNegative(const Catalog& catalog, const zone::Zone& zone,
                             std::string_view prefix, size_t& entries) {
  NegativeAnswer t;
  t.apex = zone.apex();
  t.prefix = static_cast<uint16_t>(prefix.size());
  const std::string name = std::string(prefix) + zone.apex();
  if (name.size() > wire::kMaxNameLength || zone.find(name) ||
      catalog.zones->findZone(name) != &zone)
    return t;
  std::vector<uint8_t> out(wire::kMaxMessageSize);
  wire::Writer w(out.data(), out.size());
  wire::Query q;
  if (!startLoadTimeQuery(name, type::A, q, w)) return t;
  const size_t qend = w.size();
  std::vector<uint16_t> pointers;
  w.logPointers(&pointers);
  Recording rec;
  Response response(w, catalog, *catalog.initial_pools, q, Transport::Udp, false);
  response.record(&rec);
  response.resolve();
  w.logPointers(nullptr);
  if (!w.ok() || rec.dynamic || rec.rotating || rec.pool || response.rcode() != rcode::NXDOMAIN ||
      response.flags() != AA || response.count(kAnswer) != 0 || response.count(kAdditional) != 0)
    return t;
  for (const uint16_t at : pointers) {
    // Only pointers into the apex part of the question, or past it, move alike.
    if (at < qend || (load16(out.data() + at) & 0x3FFF) < wire::kHeaderSize + prefix.size())
      return t;
    t.pointers.push_back(static_cast<uint16_t>(at - qend));
  }
  t.image.assign(reinterpret_cast<const char*>(out.data()) + qend, w.size() - qend);
  t.flags = response.flags();
  for (int s = 0; s < 3; ++s) t.counts[s] = response.count(static_cast<Section>(s));
  entries = w.mark().compression_entries;
  t.usable = true;
  return t;
}

// The NegativeAnswer of `zone`, from two probes of different lengths that must agree.
NegativeAnswer negativeAnswer(const Catalog& catalog, const zone::Zone& zone, bool wildcard) {
  NegativeAnswer none;
  none.apex = zone.apex();
  if (wildcard || zone.hasDelegations()) return none;
  std::string avoid[2];
  const std::string_view soa = zone.soa().rdata.front();
  size_t at = 0;
  for (std::string& label : avoid) {  // MNAME, RNAME
    const size_t start = at;
    while (at < soa.size() && soa[at] != 0) at += 1 + static_cast<uint8_t>(soa[at]);
    if (++at > soa.size()) return none;
    std::string lower(soa.substr(start, at - start));
    wire::lowerName(reinterpret_cast<uint8_t*>(lower.data()), lower.size());
    if (lower.size() <= zone.apex().size() || !wire::isSubdomainOf(lower, zone.apex())) continue;
    size_t l = 0;
    while (lower.size() - (l + 1 + static_cast<uint8_t>(lower[l])) > zone.apex().size())
      l += 1 + static_cast<uint8_t>(lower[l]);
    label = lower.substr(l, 1 + static_cast<uint8_t>(lower[l]));
  }
  const std::string probe = std::string(1, '\x0b') + "rrdns-probe";  // one label
  if (probe == avoid[0] || probe == avoid[1]) return none;
  size_t entries = 0, longer_entries = 0;
  NegativeAnswer t = probeNegative(catalog, zone, probe, entries);
  const NegativeAnswer longer =
      probeNegative(catalog, zone, std::string("\x01x") + probe, longer_entries);
  if (!t.usable || !longer.usable || t.pointers != longer.pointers ||
      t.image.size() != longer.image.size() || longer_entries != entries + 1 ||
      longer_entries >= 64)
    return none;
  std::string moved = t.image;
  const int shift = longer.prefix - t.prefix;
  for (const uint16_t p : t.pointers) {
    auto* b = reinterpret_cast<uint8_t*>(moved.data()) + p;
    store16(b, static_cast<uint16_t>(0xC000 | ((load16(b) & 0x3FFF) + shift)));
  }
  if (moved != longer.image) return none;
  t.max_labels = 65 - entries;
  t.avoid[0] = avoid[0];
  t.avoid[1] = avoid[1];
  return t;
}

// Runs the general path once for every (name, type) with data (and A/AAAA where a CNAME or a
// pool answers them) and keeps the replayable responses. Load time, never on the query path.
// `stop`: give up (returning null) as soon as it is set.
std::shared_ptr<const PrecompiledAnswers> precompile(const Catalog& catalog,
                                                     const std::atomic<bool>* stop = nullptr) {
  auto table = std::make_shared<PrecompiledAnswers>();
  // Sized up front: growing by doubling would leave a big zone's heap with twice the memory.
  size_t expected = 0;
  for (const auto& zone : catalog.zones->zones())
    expected += zone->rrsetCount() + 2 * zone->aliasCount();
  expected = std::min(expected, kMaxPrecompiledEntries);
  table->reserve(expected, std::min(expected * 24, kMaxPrecompiledBytes));
  std::vector<uint8_t> out(wire::kMaxMessageSize);
  size_t bytes = 0;
  bool complete = true;  // every name of every zone has an entry
  const auto& zones = catalog.zones->zones();
  std::vector<bool> wildcards(zones.size());
  for (size_t z = 0; z < zones.size(); ++z) {
    const auto& zone = zones[z];
    for (const auto& [name, node] : zone->nodes()) {
      if (stop && stop->load(std::memory_order_relaxed)) return nullptr;
      if (name.size() > 2 && name[0] == 1 && name[1] == '*') wildcards[z] = true;
      uint16_t qtypes[16];
      size_t count = 0;
      bool all_types = true;  // false: more types than qtypes holds, and the rest go general
      auto want = [&](uint16_t t) {
        if (std::find(qtypes, qtypes + count, t) != qtypes + count) return;
        if (count < std::size(qtypes))
          qtypes[count++] = t;
        else
          all_types = false;
      };
      for (const auto& rrset : node.rrsets) want(rrset.type);
      if (node.pool || node.find(type::CNAME)) {
        want(type::A);
        want(type::AAAA);
      }
      size_t made = 0;
      for (size_t t = 0; t < count; ++t) {
        if (table->size() >= kMaxPrecompiledEntries || bytes >= kMaxPrecompiledBytes) {
          complete = false;
          break;
        }
        wire::Writer w(out.data(), out.size());
        wire::Query q;
        if (!startLoadTimeQuery(name, qtypes[t], q, w)) continue;
        const size_t qend = w.size();
        Recording rec;
        Response response(w, catalog, *catalog.initial_pools, q, Transport::Udp, false);
        response.record(&rec);
        response.resolve();
        if (rec.dynamic || rec.rotating > 1 || (rec.pool && rec.rotating) ||
            (response.flags() & TC) || response.transferZone() || !w.ok() ||
            w.size() - qend > UINT16_MAX)
          continue;
        PrecompiledAnswer e;
        e.hash = wire::hashName(name);
        e.name = name.data();
        e.name_size = static_cast<uint8_t>(name.size());
        e.qtype = qtypes[t];
        e.flags = response.flags();
        e.rcode = response.rcode();
        for (int s = 0; s < 3; ++s) e.counts[s] = response.count(static_cast<Section>(s));
        if (rec.rotating == 1) {
          e.rotate_slot = rec.rotate_slot;
          e.rotate_at = static_cast<uint16_t>(rec.rotate_at - qend);
          e.rotate_size = static_cast<uint16_t>(rec.rotate_size);
          e.rotate_count = static_cast<uint16_t>(rec.rotate_count);
        }
        e.pool = rec.pool;
        e.pool_family = rec.pool_family;
        const std::string_view image(reinterpret_cast<const char*>(out.data()) + qend,
                                     w.size() - qend);
        bytes += image.size();
        table->add(e, image);
        ++made;
      }
      // NODATA for the types the name lacks is the zone's negative answer only where the zone
      // answers for the name (not data under a child zone's apex) and nothing redirects it.
      const bool nodata = made == count && all_types && !node.delegation &&
                          !node.find(type::CNAME) &&
                          (zones.size() == 1 || catalog.zones->findZone(name) == zone.get());
      if (made > 0) {
        table->markNodata(made, nodata);
      } else if (table->size() < kMaxPrecompiledEntries) {
        PrecompiledAnswer e;  // an empty non-terminal, or nothing replayable: the name exists
        e.hash = wire::hashName(name);
        e.name = name.data();
        e.name_size = static_cast<uint8_t>(name.size());
        e.nodata = nodata;
        table->add(e, {});
      } else {
        complete = false;
      }
    }
  }
  if (complete) {
    std::vector<NegativeAnswer> negatives;
    for (size_t z = 0; z < zones.size(); ++z)
      negatives.push_back(negativeAnswer(catalog, *zones[z], wildcards[z]));
    table->setNegatives(std::move(negatives));
  }
  table->finish();
  return table;
}

}  // namespace

std::shared_ptr<const Catalog> Catalog::make(std::shared_ptr<const zone::ZoneSet> zones,
                                             Precompile when, ReadyHook ready) {
  // Freed on the reclaimer thread, wherever its last reference is dropped (reclaimer.hh).
  auto c = Reclaimer::own(new Catalog());
  c->rotation = std::make_shared<RotationState>(zones->rotationSlots());
  auto initial = computePoolStates(*zones, nullptr, health::monotonicMs());
  initial->catalog = c.get();
  c->initial_pools = std::move(initial);
  c->zones = std::move(zones);
  if (when == Precompile::Now) {
    c->precompiled.set(precompile(*c));
  } else {
    Catalog* catalog = c.get();  // outlives the thread: ~FastPathBuild joins it first
    c->precompiling.start([catalog, ready = std::move(ready)](const std::atomic<bool>* stop) {
      pthread_setname_np(pthread_self(), "rrdns-precomp");
      runBelowQueryThreads();
      try {
        const auto start = std::chrono::steady_clock::now();
        auto table = precompile(*catalog, stop);
        if (!table) return;
        catalog->precompiled.set(std::move(table));
        if (ready)
          ready(*catalog->precompiled.get(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      } catch (...) {
        // Out of memory, say: the general path answers everything, as it always can.
      }
    });
  }
  return c;
}

namespace {

// The general path: every query the precompiled answers do not cover.
Outcome answerGeneral(const Catalog& catalog, const PoolStates* pools, const Request& request,
                      std::span<uint8_t> out, const Options& options) {
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
    Response response(w, catalog, current, q, request.transport, request.transfer_allowed);
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
    w.opt(options.udp_max_payload, wire::extendedRcode(code), q.edns.dnssec_ok);
    ++counts[kAdditional];
  }
  wire::setResponseHeader(w.data(), q.id, q.flags, flags, code, q.has_question ? 1 : 0,
                          counts[kAnswer], counts[kAuthority], counts[kAdditional]);
  return {w.size(), code, (flags & TC) != 0, q.has_question ? q.qtype : uint16_t{0}, first_member};
}

}  // namespace

Outcome answerMessage(const Catalog& catalog, const PoolStates* pools,
                      std::span<const uint8_t> query, Transport transport, std::span<uint8_t> out,
                      const Options& options, const Request& request) {
  if (const PrecompiledAnswers* table = catalog.precompiled.get()) {
    Outcome fast;
    const Replay replay =
        answerPrecompiled(catalog, *table, pools, query, transport, out, options, fast);
    if (replay == Replay::Answered) return fast;
    if (replay == Replay::Missing) {
      if (const Outcome negative = answerNegative(*table, query, transport, out, options);
          negative.size != 0)
        return negative;
    }
  }
  return answerGeneral(catalog, pools, request, out, options);
}

size_t slip(const Request& request, const Outcome& answered, std::span<uint8_t> response,
            const Options& options) {
  wire::Query q;
  if (answered.size < wire::kHeaderSize || answered.size > response.size() ||
      wire::parseQuery(request.message, q) == wire::ParseStatus::Drop)
    return 0;
  // Every path writes the question as sent right after the header, and an OPT record when the
  // query had a readable one, unless the answer is FORMERR.
  const size_t question = q.has_question ? q.qname.size + 4 : 0;
  const bool with_opt = q.edns.present && answered.rcode != rcode::FORMERR;
  const size_t size = wire::kHeaderSize + question + (with_opt ? wire::kOptRecordSize : 0);
  if (size > answered.size) return 0;
  uint8_t* m = response.data();
  if (with_opt)
    wire::putOpt(m + wire::kHeaderSize + question, options.udp_max_payload,
                 wire::extendedRcode(answered.rcode), q.edns.dnssec_ok);
  wire::header::setFlags(m, wire::header::flags(m) | TC);
  wire::header::setCounts(m, q.has_question ? 1 : 0, 0, 0, with_opt ? 1 : 0);
  return size;
}

}  // namespace rrdns::answer
