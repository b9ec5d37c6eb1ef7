// replay.cc -- the fast path, and answerMessage(), which tries it before the general path.
#include "dns/answer/answer.hh"

#include <algorithm>
#include <cstring>

#include "dns/answer/resolve.hh"
#include "dns/answer/select.hh"
#include "dns/wire/header.hh"
#include "dns/wire/question.hh"
#include "dns/wire/response.hh"

namespace rrdns::answer {
namespace {

namespace type = wire::type;
namespace rcode = wire::rcode;

// Why it is shaped so: most queries ask for a name and type the zones hold, and the response is
// then the same bytes every time except for the header, the question as sent (its letter case),
// an OPT record, and the order of one address RRset or a pool's members. So Catalog::make() runs
// the general path once per (name, type) with data, and keeps what follows the question
// (precompiled.hh). A query that hits costs a walk over its question's length octets,
// lower-casing and hashing its name a word at a time, one hash probe and a few copies, instead
// of a parse, a zone search, a lookup label by label and name compression. Everything the replay
// cannot reproduce byte for byte goes to the general path, which stays the reference: another
// opcode or class, records other than one OPT, EDNS version above 0, an NSID option when NSID is
// on, a response that would not fit the UDP limit (truncation is the general path's business), a
// pool with nobody to answer.
// A name or type not in the table gets its zone's negative answer (NegativeAnswer) where the
// zone has one: then NXDOMAIN for a random name costs a third of what the general path's search
// and name compression do (a flood of random names is the usual attack on an authoritative
// server).

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
// but QUERY, another class, records other than one OPT, EDNS above version 0, an NSID option to
// answer, or trailing bytes.
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
    // An NSID to send is the general path's to write. Tested per option, inside the walk, so
    // that a query without options pays nothing for it.
    const auto replayable = [&options](uint16_t code, size_t, size_t) {
      return code != wire::edns_option::NSID || options.self.nsid.empty();
    };
    if (end != size || !wire::walkOptions(m, pos + wire::kOptRecordSize, end, replayable))
      return false;
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
    f = &statesFor(catalog, pools).pools[e->pool->id].family[e->pool_family];
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

}  // namespace rrdns::answer
