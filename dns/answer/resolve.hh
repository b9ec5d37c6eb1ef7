// resolve.hh -- the general path: a response built by walking the zones (RFC 1034 4.3.2), for
// every query the fast path does not answer, and at load time for what the fast path replays.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dns/answer/answer.hh"
#include "dns/answer/denial.hh"
#include "dns/answer/trace.hh"
#include "dns/wire/query.hh"
#include "dns/wire/writer.hh"

namespace rrdns::answer {

// Names whose addresses one response adds to its additional section, at most.
constexpr size_t kMaxAdditionalNames = 16;
// CNAME records one answer holds, at most (Knot DNS's CNAME_CHAIN_MAX): the last one's target
// is still answered if it holds data, but a further CNAME ends the chain, NOERROR, unwritten.
constexpr int kMaxCnameChain = 5;

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
  // The query as received: an IXFR's SOA is read from it.
  void message(std::span<const uint8_t> message) { d_message = message; }
  // Tell `trace` every step, as a dry run (trace.hh).
  void trace(Trace* trace) { d_trace = trace; }
  // What class CH queries are answered with; without it they are REFUSED. `self` must outlive
  // resolve().
  void identity(const ServerIdentity& self) { d_self = &self; }
  // Who the client is, for pools with sites (select.hh): the well-formed ECS option data
  // `subnet` of the query if it counts, else the query's `source` address; both null: nobody
  // (the map's default list). Both must outlive resolve().
  void client(const uint8_t* subnet, const sockaddr* source) {
    d_subnet = subnet;
    d_source = source;
  }
  uint16_t rcode() const { return d_rcode; }
  uint16_t flags() const { return d_flags; }
  uint16_t count(Section s) const { return d_counts[s]; }
  uint32_t firstMember() const { return d_first_member; }
  // The ECS scope of this response (RFC 7871 7.2.1): the widest of the pools with sites it used,
  // 0 when none was.
  uint8_t scope() const { return d_scope; }
  // The pool that answered firstMember() spilled the client over other sites than its first.
  bool spilled() const { return d_spilled; }
  const zone::Zone* transferZone() const { return d_transfer_zone; }

 private:
  void transfer();
  void chaos();
  std::string_view chaosText() const;
  void answerFrom(const zone::Zone& zone, std::string_view name);
  void answerName(const zone::Zone& zone, std::string_view name);
  void answerNode(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                  int chain);
  void answerCname(const zone::Zone& zone, const zone::Node& node, const zone::RRset& cname,
                   std::string_view owner, int chain);
  void answerPool(const zone::Zone& zone, const zone::Node& node, std::string_view owner,
                  uint16_t rtype);
  void referral(const zone::Zone& zone, const zone::Node& cut);
  // NXDOMAIN for `name`; NODATA at `name`, which is `node` or is synthesised from the wildcard
  // `node`. Both: the SOA, then the proof if signed.
  void nxDomain(const zone::Zone& zone, std::string_view name);
  void noData(const zone::Zone& zone, std::string_view name, const zone::Node& node);
  void negative(const zone::Zone& zone, uint16_t code);
  // DNSSEC (signed zone, DO=1: d_signed set), RFC 4035 3.1. The RRSIGs at `node` that cover
  // `covered`, written at `owner` with the TTL of the RRset they cover. False on overflow (TC set).
  bool putSignatures(Section s, const zone::Node& node, std::string_view owner, uint16_t covered,
                     uint32_t ttl);
  // The pool's RRSIGs over the `count` addresses from eligible position `first` (FamilyState).
  void putPoolSignatures(const zone::Pool& pool, const FamilyState& f, std::string_view node_owner,
                         std::string_view owner, size_t first, size_t count);
  // Writes the denial records gathered in d_proof (with their RRSIGs) to the authority section:
  // where the answer section ends, before anything goes to the additional one.
  void putProof();
  // The RRSIGs at `node` over its `covered` addresses, in the additional section: all, or false
  // with the section as it was before the first (they are optional there: no TC).
  bool putAdditionalSignatures(const zone::Node& node, uint16_t covered, uint32_t ttl);
  void additionalFor(const zone::Zone& zone, const zone::RRset& rrset);
  void addAddresses(const zone::Zone& zone, std::string_view target, bool required);
  // Appends a whole RRset or nothing. On overflow in the answer and authority sections (and for
  // required glue) sets TC, after which nothing more is added.
  bool put(Section s, std::string_view owner, const zone::RRset& rrset, bool required = true);
  bool put(Section s, std::string_view owner, uint16_t rtype, uint32_t ttl,
           std::string_view rdata);
  void noteRotation(size_t at, const zone::RRset& rrset);
  Lookup lookUp(const zone::Zone& zone, std::string_view name);
  uint32_t cursor(uint32_t slot) const;

  wire::Writer& d_w;
  const Catalog& d_catalog;
  const PoolStates& d_pools;
  const wire::Query& d_q;
  std::span<const uint8_t> d_message;
  bool d_tcp;
  bool d_transfer_allowed;
  const zone::Zone* d_transfer_zone = nullptr;
  uint16_t d_rcode = wire::rcode::NOERROR;
  uint16_t d_flags = wire::flag::AA;
  uint16_t d_counts[3] = {0, 0, 0};
  const zone::Node* d_additional[kMaxAdditionalNames];
  size_t d_additional_count = 0;
  // The CNAMEs followed so far, the first `chain` entries: a loop is a node met again.
  // Trivial on purpose (no std::string_view, no initialisers): every general-path answer
  // constructs a Response, and only a CNAME chase touches these.
  struct CnameWritten {
    const zone::Node* node;
    const char* owner;  // the node's own name, or the name a wildcard synthesised
    size_t owner_size;
  };
  CnameWritten d_cnames[kMaxCnameChain];
  // The signed zone answered from when the query has DO=1, else null: everything DNSSEC adds
  // hangs on this one test, so that DO=0 answers stay as they were.
  const zone::SignedZone* d_signed = nullptr;
  Proof* d_proof;  // signed answers only: on answerFrom()'s frame (see putProof)
  uint32_t d_first_member = Outcome::kNoMember;
  const uint8_t* d_subnet = nullptr;
  const sockaddr* d_source = nullptr;
  uint8_t d_scope = 0;
  bool d_spilled = false;
  Recording* d_recording = nullptr;
  Trace* d_trace = nullptr;
  const ServerIdentity* d_self = nullptr;
};

// Answers `request` the general way: parse, zone search, lookup, name compression.
Outcome answerGeneral(const Catalog& catalog, const PoolStates* pools, const Request& request,
                      std::span<uint8_t> out, const Options& options);
// The same as a dry run that tells `trace` every step (explain). A separate entry point, so
// that the fast path's call into the general path stays as it was (one argument fewer to set up).
Outcome traceGeneral(const Catalog& catalog, const PoolStates* pools, const Request& request,
                     std::span<uint8_t> out, const Options& options, Trace& trace);

}  // namespace rrdns::answer
