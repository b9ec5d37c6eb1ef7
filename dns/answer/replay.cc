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
  // Set by readSubnetOptions() only: the query's ECS option, which the response sends back (its
  // data at message offset `subnet`, `subnet_size` bytes).
  uint16_t subnet;
  uint16_t subnet_size;
  std::string_view name() const { return question.name(); }
};

// What readFastQuery() found.
enum class FastRead : uint8_t {
  Replayable,
  General,  // only the general path may answer
  Subnet,   // perhaps an ECS option to send back: readSubnetOptions() reads the options
};

// The OPT record (at `pos`, ending the message at `end`) of a query readFastQuery() said Subnet
// of: notes its ECS option in `q` and reads the rest of the record, or says General if only the
// general path may answer (an NSID to send, an ECS option that is malformed or has more address
// bytes than its prefix needs, none at all). Apart from readFastQuery(), so that a query without
// options pays nothing for ECS.
FastRead readSubnetOptions(const uint8_t* m, size_t pos, size_t end, Transport transport,
                           const Options& options, FastQuery& q) {
  q.subnet = 0;
  const bool replayable =
      wire::walkOptions(m, pos + wire::kOptRecordSize, end, [&](uint16_t code, size_t data,
                                                                size_t len) {
        if (code == wire::edns_option::ECS) {
          if (!wire::subnetWellFormed(m + data, len) ||
              len != 4 + wire::subnetAddressBytes(m[data + 2]))
            return false;
          q.subnet = static_cast<uint16_t>(data);  // the last one counts
          q.subnet_size = static_cast<uint16_t>(len);
          return true;
        }
        return code != wire::edns_option::NSID || options.self.nsid.empty();
      });
  if (!replayable || q.subnet == 0) return FastRead::General;
  q.dnssec_ok = wire::optDnssecOk(m, pos);
  q.limit = wire::udpLimit(true, wire::optPayload(m, pos), options.udp_max_payload);
  if (transport == Transport::Tcp) q.limit = wire::kMaxMessageSize;
  return FastRead::Subnet;
}

// Reads `query` into `q`, or says General when only the general path may answer it: any opcode
// but QUERY, another class, records other than one OPT, EDNS above version 0, an NSID option to
// answer, or trailing bytes; Subnet for an ECS option to send back (when client_subnet is on).
[[gnu::always_inline]] inline FastRead readFastQuery(std::span<const uint8_t> query,
                                                     Transport transport,
                                                     const Options& options, FastQuery& q) {
  namespace header = wire::header;
  const uint8_t* m = query.data();
  const size_t size = query.size();
  if (size < wire::kHeaderSize + 5) return FastRead::General;
  q.qflags = header::flags(m);
  if ((q.qflags & (wire::flag::QR | 0x7800 /* opcode */)) != 0) return FastRead::General;
  if (header::qdcount(m) != 1 || header::ancount(m) != 0 || header::nscount(m) != 0)
    return FastRead::General;
  q.arcount = header::arcount(m);
  if (q.arcount > 1) return FastRead::General;
  if (!wire::readQuestion(query, q.question)) return FastRead::General;
  // Type 0 would meet the entries that only say a name exists.
  if (q.question.qtype == 0 || q.question.qclass != wire::klass::IN) return FastRead::General;
  const size_t pos = q.question.end;
  if (q.arcount == 1) {
    // One OPT (RFC 6891 6.1.2): root owner, version 0, and nothing after it.
    if (pos + wire::kOptRecordSize > size || m[pos] != 0 || load16(m + pos + 1) != type::OPT ||
        wire::optVersion(m, pos) != 0)
      return FastRead::General;
    const size_t end = wire::optEnd(m, pos);
    // An NSID to send is the general path's to write, an ECS option readSubnetOptions()'s to
    // read. Tested per option, inside the walk, so that a query without options pays nothing.
    const auto replayable = [&options](uint16_t code, size_t, size_t) {
      return (code != wire::edns_option::NSID || options.self.nsid.empty()) &&
             (code != wire::edns_option::ECS || !options.client_subnet);
    };
    if (end != size) return FastRead::General;
    if (!wire::walkOptions(m, pos + wire::kOptRecordSize, end, replayable))
      return options.client_subnet ? FastRead::Subnet : FastRead::General;
    q.dnssec_ok = wire::optDnssecOk(m, pos);
    q.limit = wire::udpLimit(true, wire::optPayload(m, pos), options.udp_max_payload);
  } else {
    if (pos != size) return FastRead::General;
    q.dnssec_ok = false;
    q.limit = wire::kMaxUdpPlainPayload;
  }
  if (transport == Transport::Tcp) q.limit = wire::kMaxMessageSize;
  return FastRead::Replayable;
}

// The size of the OPT record a replayed response ends in: none without EDNS; with kSubnet, the
// query's ECS option goes back in it.
template <bool kSubnet>
[[gnu::always_inline]] inline size_t replayOptSize(const FastQuery& q) {
  if (kSubnet) return wire::kOptRecordSize + wire::kOptionHeaderSize + q.subnet_size;
  return q.arcount == 1 ? wire::kOptRecordSize : 0;
}

// The end of a replayed response: its OPT record at `p` if the query had one (with kSubnet, with
// the query's ECS option and this scope), and the header.
template <bool kSubnet = false>
[[gnu::always_inline]] inline void finishReplay(uint8_t* o, uint8_t* p, const uint8_t* query,
                                                const FastQuery& q, uint16_t flags, uint16_t code,
                                                uint16_t ancount, uint16_t nscount,
                                                uint16_t additional, const Options& options,
                                                uint8_t scope = 0) {
  if (q.arcount == 1)
    wire::putOpt(p, options.udp_max_payload, wire::extendedRcode(code), q.dnssec_ok);
  if (kSubnet) {
    const wire::SubnetEcho echo{query + q.subnet, q.subnet_size, scope};
    store16(p + wire::kOptRecordSize - 2, static_cast<uint16_t>(echo.wireSize()));
    wire::putClientSubnet(p + wire::kOptRecordSize, echo);
  }
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
// it, NXDOMAIN if it has none, from its zone's NegativeAnswer, for the query read into `q`.
// Returns an outcome of size 0, having written nothing, when the general path must answer. The
// table is complete (setNegatives()), so a name without an entry does not exist.
template <bool kSubnet>
[[gnu::always_inline]] inline Outcome replayNegative(const PrecompiledAnswers& table,
                                                     const FastQuery& q,
                                                     std::span<const uint8_t> query,
                                                     std::span<uint8_t> out,
                                                     const Options& options) {
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

  // A signed zone proves a denial to DO queries with NSEC/NSEC3 records that depend on the name.
  if (q.dnssec_ok && zone->signed_zone) [[unlikely]] return {};
  const size_t question = name.size() + 4;
  const size_t body = zone->image.size();
  const size_t total = wire::kHeaderSize + question + body + replayOptSize<kSubnet>(q);
  if (total > std::min(q.limit, out.size())) return {};
  uint8_t* o = out.data();
  std::memcpy(o + wire::kHeaderSize, m + wire::kHeaderSize, question);  // as sent (0x20)
  uint8_t* p = o + wire::kHeaderSize + question;
  std::memcpy(p, zone->image.data(), body);
  const int shift = static_cast<int>(name.size() - zone->apex.size()) - zone->prefix;
  for (const uint16_t at : zone->pointers)
    store16(p + at, static_cast<uint16_t>(0xC000 | ((load16(p + at) & 0x3FFF) + shift)));
  finishReplay<kSubnet>(o, p + body, m, q, zone->flags, code, zone->counts[kAnswer],
                        zone->counts[kAuthority], zone->counts[kAdditional], options);
  return {total, code, false, qtype, Outcome::kNoMember};
}

// replayNegative() for the query answerPrecompiled() read into `q` and found no entry for.
[[gnu::noinline]] Outcome answerNegative(const PrecompiledAnswers& table, const FastQuery& q,
                                         std::span<const uint8_t> query, std::span<uint8_t> out,
                                         const Options& options) {
  return replayNegative<false>(table, q, query, out, options);
}

// What answerPrecompiled() did.
enum class Replay : uint8_t {
  Answered,
  Missing,  // the table has no entry for the name and type: perhaps a negative answer
  General,  // the general path must answer
  Subnet,   // a query with an ECS option to send back: answerSubnet()'s
  Routed,   // a pool with sites (answerSubnet() routes it), or a pool's DO answer
};

// Writes the response to the query `q` read from `query` for the table entry `e`, a pool's entry
// answered from `f` (null for any other entry); with kSubnet, with the query's ECS option and
// this scope; with kSigned (a pool's DO answer, whose owner is e->rotate_slot), with the RRSIG
// records of the window answered. Anything but Answered leaves everything as it was, no cursor
// included.
template <bool kSubnet, bool kSigned = false>
[[gnu::always_inline]] inline Replay replayEntry(const Catalog& catalog,
                                                 const PrecompiledAnswers& table,
                                                 const PrecompiledAnswer* e, const FamilyState* f,
                                                 const FastQuery& q,
                                                 std::span<const uint8_t> query,
                                                 std::span<uint8_t> out, const Options& options,
                                                 uint8_t scope, Outcome& outcome) {
  const uint8_t* m = query.data();
  const size_t n = q.question.size;
  const uint16_t qtype = q.question.qtype;
  const size_t limit = q.limit;
  size_t body = e->image_size;
  uint16_t ancount = e->counts[kAnswer];
  if (f) {
    if (f->eligible.empty()) return Replay::General;  // NODATA or SERVFAIL
    const size_t eligible = f->eligible.size();
    const size_t max = e->pool->max_addresses;
    ancount = static_cast<uint16_t>(max ? std::min<size_t>(max, eligible) : eligible);
    body = ancount * size_t{f->record_size};
    if (kSigned) {
      if (f->signature_size == 0) return Replay::General;  // not signed (yet): no unsigned answer
      body += f->signature_size;
    }
  }
  size_t question = n + 4;
  // Hides the question's bound (255 + 4) from GCC, which would otherwise copy it with an inline
  // rep movsq, slower for these few bytes than libc's memcpy.
  asm("" : "+r"(question));
  const size_t total = wire::kHeaderSize + question + body + replayOptSize<kSubnet>(q);
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
    if (kSigned) {
      // The window that starts at `first` (the only one when every member is answered).
      const size_t window = f->windows == 1 ? 0 : first;
      std::memcpy(p + ancount * size_t{f->record_size},
                  f->signatures.data() +
                      (size_t{e->rotate_slot} * f->windows + window) * f->signature_size,
                  f->signature_size);
      ancount = static_cast<uint16_t>(ancount + f->signature_count);
    }
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
  finishReplay<kSubnet>(o, p + body, m, q, e->flags, e->rcode, ancount, e->counts[kAuthority],
                        e->counts[kAdditional], options, scope);
  outcome = {total, e->rcode, false, qtype, first_member};
  return Replay::Answered;
}

// Reads `query` into `q` and writes the response from the catalog's precompiled answers, unless
// it has an ECS option to send back or asks a pool with sites (answerSubnet() then goes on from
// `q`, and for Routed from the entry `routed`).
Replay answerPrecompiled(const Catalog& catalog, const PrecompiledAnswers& table,
                         const PoolStates* pools, std::span<const uint8_t> query,
                         Transport transport, std::span<uint8_t> out, const Options& options,
                         FastQuery& q, const PrecompiledAnswer*& routed, Outcome& outcome) {
  const FastRead read = readFastQuery(query, transport, options, q);
  if (read != FastRead::Replayable)
    return read == FastRead::Subnet ? Replay::Subnet : Replay::General;
  const PrecompiledAnswer* e = table.find(q.name(), q.question.hash, q.question.qtype);
  if (!e) return Replay::Missing;
  if (q.dnssec_ok && e->signed_next) [[unlikely]] {
    if (e->signed_next != kSignedNext) return Replay::General;
    ++e;  // the DO answer
    if (e->pool) {
      routed = e;  // its RRSIG records: answerSubnet()'s
      return Replay::Routed;
    }
  }
  const FamilyState* f = nullptr;
  if (e->pool) {
    const PoolState& state = statesFor(catalog, pools).pools[e->pool->id];
    if (state.topology) [[unlikely]] {
      routed = e;
      return Replay::Routed;
    }
    f = &state.family[e->pool_family];
  }
  return replayEntry<false>(catalog, table, e, f, q, query, out, options, 0, outcome);
}

// The fast path's rarer half, from the query answerPrecompiled() read into `q`: queries with an
// ECS option to send back (`with_subnet`), pools with sites, which route the client (select.hh)
// by the ECS address or else the query's source, and pools' DO answers (RRSIG records from the
// pool state). Apart, so that the other answers carry none of it.
[[gnu::noinline]] Outcome answerSubnet(const Catalog& catalog, const PrecompiledAnswers& table,
                                       const PoolStates* pools, std::span<const uint8_t> query,
                                       std::span<uint8_t> out, const Options& options,
                                       Transport transport, const Request& request,
                                       FastQuery& q, bool with_subnet,
                                       const PrecompiledAnswer* e) {
  if (with_subnet) {
    if (readSubnetOptions(query.data(), q.question.end, query.size(), transport, options, q) !=
        FastRead::Subnet)
      return {};
    e = table.find(q.name(), q.question.hash, q.question.qtype);
    if (e && e->signed_next && q.dnssec_ok) {
      if (e->signed_next != kSignedNext) return {};
      ++e;  // the DO answer
    }
  }
  if (!e) return with_subnet ? replayNegative<true>(table, q, query, out, options) : Outcome{};
  const FamilyState* f = nullptr;
  Routed routed{nullptr, 0};
  if (e->pool) {
    const PoolState& state = statesFor(catalog, pools).pools[e->pool->id];
    f = &state.family[e->pool_family];
    if (state.topology) {
      topology::ClientAddress client;
      bool known = true;
      if (with_subnet)
        clientFromSubnet(query.data() + q.subnet, client);
      else
        known = clientFromSource(request.client, client);
      routed = routeClient(*state.topology, e->pool_family, known ? &client : nullptr);
      if (routed.answer) f = &routed.answer->state;
    }
  }
  // A pool's DO answer (PrecompiledAnswer::signed_next) names its owner: no other pool entry does.
  const bool signed_pool = e->pool && e->rotate_slot != zone::kNoRotation;
  Outcome outcome;
  Replay replay;
  if (signed_pool)
    replay = with_subnet ? replayEntry<true, true>(catalog, table, e, f, q, query, out, options,
                                                   routed.scope, outcome)
                         : replayEntry<false, true>(catalog, table, e, f, q, query, out, options,
                                                    0, outcome);
  else
    replay = with_subnet ? replayEntry<true>(catalog, table, e, f, q, query, out, options,
                                             routed.scope, outcome)
                         : replayEntry<false>(catalog, table, e, f, q, query, out, options, 0,
                                              outcome);
  if (replay != Replay::Answered) return {};
  if (routed.answer) {
    outcome.spilled = routed.answer->spilled;
    outcome.scope = with_subnet ? routed.scope : 0;
  }
  return outcome;
}

}  // namespace

Outcome answerMessage(const Catalog& catalog, const PoolStates* pools,
                      std::span<const uint8_t> query, Transport transport, std::span<uint8_t> out,
                      const Options& options, const Request& request) {
  if (const PrecompiledAnswers* table = catalog.precompiled.get()) {
    Outcome fast;
    FastQuery q;
    const PrecompiledAnswer* routed = nullptr;
    const Replay replay =
        answerPrecompiled(catalog, *table, pools, query, transport, out, options, q, routed, fast);
    if (replay == Replay::Answered) return fast;
    if (replay == Replay::Missing) {
      if (const Outcome negative = answerNegative(*table, q, query, out, options);
          negative.size != 0)
        return negative;
    } else if (replay == Replay::Subnet || replay == Replay::Routed) {
      if (const Outcome subnet = answerSubnet(catalog, *table, pools, query, out, options,
                                              transport, request, q, replay == Replay::Subnet,
                                              routed);
          subnet.size != 0)
        return subnet;
    }
  }
  return answerGeneral(catalog, pools, request, out, options);
}

}  // namespace rrdns::answer
