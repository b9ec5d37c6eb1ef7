// fuzz_support.hh -- what the DNS fuzz targets share: the input as a file for the loaders, and
// answering queries against a zone with every response checked for well-formedness.
//
// A broken invariant calls abort() with a message, so libFuzzer (and the corpus replay under
// ctest) reports it like a crash: a response a resolver could not parse is a bug even when
// nothing overflowed.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/answer/answer.hh"
#include "dns/answer/pool_state.hh"
#include "dns/answer/transfer.hh"
#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"
#include "dns/wire/name.hh"
#include "dns/wire/query.hh"
#include "dns/zone/zone.hh"

namespace fuzz {

using namespace rrdns;

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// A private directory for this process, so parallel fuzzers never share files. Removed at a
// normal exit; libFuzzer ends a timed run with _Exit, hence smoke.sh points TMPDIR at its own
// work directory, which it deletes.
inline const std::filesystem::path& scratchDir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "rrdns-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail("mkdtemp");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratchDir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// Writes the input to `name` in the scratch directory (the loaders only read files) and
// returns its path. The name matters: the RFC 1035 loader takes a default origin from it.
inline std::string inputFile(const uint8_t* data, size_t size, const char* name) {
  const std::string path = (scratchDir() / name).string();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("cannot write the input file");
  if (size && std::fwrite(data, 1, size, f) != size) fail("short write of the input file");
  std::fclose(f);
  return path;
}

// Walks a response as a resolver would: the question and every record of the counted sections
// must parse (names and compression pointers included) and end exactly at the message's end.
inline void checkMessage(std::span<const uint8_t> msg, uint16_t query_id) {
  if (msg.size() < wire::kHeaderSize) fail("response shorter than a header");
  if (msg.size() > wire::kMaxMessageSize) fail("response over 65535 bytes");
  const uint8_t* m = msg.data();
  if (wire::header::id(m) != query_id) fail("response id differs from the query's");
  if (!(wire::header::flags(m) & wire::flag::QR)) fail("response without QR");
  size_t pos = wire::kHeaderSize;
  wire::NameBuf name;
  for (uint16_t i = 0; i < wire::header::qdcount(m); ++i) {
    if (wire::readName(msg, pos, name) != wire::NameStatus::Ok) fail("bad question name");
    if (pos + 4 > msg.size()) fail("question runs past the end");
    pos += 4;
  }
  const size_t records = size_t{wire::header::ancount(m)} + wire::header::nscount(m) +
                         wire::header::arcount(m);
  for (size_t i = 0; i < records; ++i) {
    if (wire::readName(msg, pos, name) != wire::NameStatus::Ok) fail("bad owner name");
    if (pos + 10 > msg.size()) fail("record header runs past the end");
    const size_t rdlength = load16(m + pos + 8);
    pos += 10;
    if (pos + rdlength > msg.size()) fail("RDATA runs past the end");
    const uint16_t rtype = load16(m + pos - 10);
    if (rtype == wire::type::CNAME || rtype == wire::type::NS || rtype == wire::type::PTR) {
      size_t at = pos;  // a compressed name in RDATA must fill it exactly
      if (wire::readName(msg.first(pos + rdlength), at, name) != wire::NameStatus::Ok ||
          at != pos + rdlength)
        fail("bad name in RDATA");
    }
    pos += rdlength;
  }
  if (pos != msg.size()) fail("bytes after the last counted record");
}

// Answers `request` the way a worker would and checks the response, and over UDP its slip too;
// streams an allowed transfer to the end (bounded), checking each message.
inline void answerAndCheck(const std::shared_ptr<const answer::Catalog>& catalog,
                           const answer::PoolStates* pools, const answer::Request& request,
                           const answer::Options& options) {
  static std::vector<uint8_t> out(65535);
  const std::span<const uint8_t> query = request.message;
  const answer::Transport transport = request.transport;
  const answer::Outcome outcome = answer::answer(*catalog, pools, request, out, options);
  wire::Query q;
  const wire::ParseStatus status = wire::parseQuery(query, q);
  if (outcome.transfer_zone) {
    if (transport != answer::Transport::Tcp || !request.transfer_allowed)
      fail("transfer granted over UDP or to a client not allowed");
    answer::Transfer transfer(catalog, *outcome.transfer_zone, q);
    size_t size = 0;
    for (int i = 0; i < 100000 && transfer.next(out, size); ++i)
      checkMessage(std::span<const uint8_t>(out.data(), size), q.id);
    return;
  }
  if (outcome.size == 0) {
    if (status != wire::ParseStatus::Drop) fail("no response to a query that deserves one");
    return;
  }
  if (status == wire::ParseStatus::Drop) fail("response to a message that should be dropped");
  if (transport == answer::Transport::Udp) {
    size_t limit = wire::kMaxUdpPlainPayload;
    if (q.edns.present && status != wire::ParseStatus::FormErr)
      limit = std::max<size_t>(limit, std::min<size_t>(q.edns.payload, options.udp_max_payload));
    if (outcome.size > limit) fail("UDP response larger than the requester can take");
  }
  checkMessage(std::span<const uint8_t>(out.data(), outcome.size), q.id);
  if (transport == answer::Transport::Udp) {
    const size_t slipped = answer::slip(request, outcome, out, options);
    if (slipped == 0 || slipped > outcome.size) fail("no slip, or one larger than the answer");
    if (!(wire::header::flags(out.data()) & wire::flag::TC)) fail("a slip without TC");
    checkMessage(std::span<const uint8_t>(out.data(), slipped), q.id);
  }
}

// Differential checks: the fast path and the general path must give the same bytes.

// A copy of `fast` without its precompiled table, so that every query takes the general path
// there, with cursors and initial pool states of its own (as tests/unit/answer/
// precompiled_test.cc makes it; pool states name the catalog they belong to).
inline std::shared_ptr<answer::Catalog> withoutFastPath(
    const std::shared_ptr<const answer::Catalog>& fast) {
  if (!fast->precompiled) fail("the catalog has no fast path to compare with");
  auto general = std::make_shared<answer::Catalog>(*fast);
  general->precompiled = answer::FastPath{};
  general->rotation = std::make_shared<answer::RotationState>(fast->zones->rotationSlots());
  auto initial = std::make_shared<answer::PoolStates>(*fast->initial_pools);
  initial->catalog = general.get();
  general->initial_pools = initial;
  return general;
}

inline std::string hex(std::span<const uint8_t> bytes) {
  std::string s;
  char b[4];
  for (uint8_t c : bytes) std::snprintf(b, sizeof b, "%02x", c), s += b;
  return s;
}

// Every cursor of both catalogs at the same value: all from one seed, some near the 32-bit wrap.
inline void pinCursors(const answer::Catalog& fast, const answer::Catalog& general, uint32_t seed) {
  const uint32_t slots = fast.rotation->slots();
  if (general.rotation->slots() != slots) fail("the two catalogs have different cursors");
  for (uint32_t s = 0; s < slots; ++s) {
    const uint32_t v =
        seed & 0x80000000u ? UINT32_MAX - (seed & 7) - s : seed * 2654435761u + s * 7;
    fast.rotation->set(s, v);
    general.rotation->set(s, v);
  }
}

// Whether `member` (an Outcome::first_member) belongs to a pool whose policy is random.
inline bool drawnAtRandom(const answer::Catalog& catalog, uint32_t member) {
  if (member == answer::Outcome::kNoMember) return false;
  for (const zone::Pool* pool : catalog.zones->pools())
    if (member >= pool->member_base && member - pool->member_base < pool->members.size())
      return pool->policy == zone::PoolPolicy::Random;
  fail("first_member names no pool member");
}

// Answers `request` from both catalogs, cursors pinned to `seed` first, and aborts with both
// responses in hex (and `setup`, what was asked how) on any difference: bytes, any field of the
// Outcome, or how the cursors moved. `*_pools` must each be computed for their catalog (or
// null: the catalog's initial states). The fast path's response is then checked as a
// resolver would read it.
inline void compareFastAndGeneral(const answer::Catalog& fast, const answer::PoolStates* fast_pools,
                                  const answer::Catalog& general,
                                  const answer::PoolStates* general_pools,
                                  const answer::Request& request,
                                  const answer::Options& options, uint32_t seed,
                                  const char* setup) {
  static std::vector<uint8_t> fast_out(65535), general_out(65535);
  const std::span<const uint8_t> query = request.message;
  pinCursors(fast, general, seed);
  const answer::Outcome a = answer::answer(fast, fast_pools, request, fast_out, options);
  const answer::Outcome b = answer::answer(general, general_pools, request, general_out, options);
  const std::span<const uint8_t> fa(fast_out.data(), a.size), ga(general_out.data(), b.size);
  // A random-policy pool draws its first member from a per-thread generator, by design: the
  // two answers may then list the same records in another order. The rest must still agree.
  const bool random = drawnAtRandom(fast, a.first_member) || drawnAtRandom(fast, b.first_member);
  const size_t compared = random ? std::min<size_t>(a.size, wire::kHeaderSize) : a.size;
  const char* what = nullptr;
  if (a.size != b.size || std::memcmp(fast_out.data(), general_out.data(), compared) != 0)
    what = "response bytes";
  else if (a.rcode != b.rcode)
    what = "rcode";
  else if (a.truncated != b.truncated)
    what = "truncated";
  else if (a.qtype != b.qtype)
    what = "qtype";
  else if (a.first_member != b.first_member && !random)
    what = "first_member";
  else if (a.transfer_zone != b.transfer_zone)
    what = "transfer_zone";
  for (uint32_t s = 0; !what && s < fast.rotation->slots(); ++s)
    if (fast.rotation->peek(s) != general.rotation->peek(s))
      what = "rotation cursors moved differently";
  if (what) {
    std::fprintf(stderr,
                 "fast and general paths differ (%s) with %s\n  query   %s\n  fast    %s\n"
                 "  general %s\n",
                 what, setup, hex(query).c_str(), hex(fa).c_str(), hex(ga).c_str());
    fail("the fast path and the general path disagree");
  }
  if (a.size) checkMessage(fa, query.size() >= 2 ? wire::header::id(query.data()) : 0);
}

// A query for `name` (lower-cased wire) of `qtype`, with or without an OPT record.
inline std::vector<uint8_t> makeQuery(std::string_view name, uint16_t qtype, bool edns,
                                      uint16_t payload = 1232) {
  std::vector<uint8_t> q(wire::kHeaderSize, 0);
  q[0] = 0x12, q[1] = 0x34, q[2] = 0x01;  // id 0x1234, RD
  q[5] = 1;
  q.insert(q.end(), name.begin(), name.end());
  q.push_back(qtype >> 8), q.push_back(qtype & 0xFF), q.push_back(0), q.push_back(1);
  if (edns) {
    q[11] = 1;
    const uint8_t opt[] = {0, 0, 41, uint8_t(payload >> 8), uint8_t(payload & 0xFF), 0, 0, 0x80, 0, 0, 0};
    q.insert(q.end(), opt, opt + sizeof opt);
  }
  return q;
}

// Serves a freshly loaded zone and asks about every name in it (up to a bound), over UDP with
// and without EDNS and over TCP, including a full transfer: whatever a loader accepts must be
// answerable, and the fast path must answer it as the general path does (each query is also
// asked of a copy of the catalog without its table, cursors pinned alike).
inline void serveZone(std::shared_ptr<zone::Zone> zone) {
  auto set = std::make_shared<zone::ZoneSet>();
  if (!set->add(std::move(zone)).ok()) fail("a single zone did not fit in an empty set");
  set->assignRotationSlots();
  std::shared_ptr<const answer::Catalog> catalog = answer::Catalog::make(set);
  const auto general = withoutFastPath(catalog);
  const zone::Zone& z = *set->zones().front();
  static const uint16_t kTypes[] = {wire::type::A,   wire::type::AAAA, wire::type::ANY,
                                    wire::type::MX,  wire::type::NS,   wire::type::SRV,
                                    wire::type::SOA, wire::type::CNAME, wire::type::TXT};
  size_t asked = 0;
  for (const auto& [owner, node] : z.nodes()) {
    if (++asked > 64) break;
    // A name below this one too, to reach wildcards and delegations.
    const std::string below = std::string("\x03zzz", 4) + owner;
    for (uint16_t t : kTypes) {
      for (const std::string* n : {&owner, &below}) {
        if (n->size() > wire::kMaxNameLength) continue;
        const auto plain = makeQuery(*n, t, false), edns = makeQuery(*n, t, true, 4096),
                   tcp = makeQuery(*n, t, true);
        answerAndCheck(catalog, nullptr, {plain, answer::Transport::Udp}, {});
        answerAndCheck(catalog, nullptr, {edns, answer::Transport::Udp}, {});
        answerAndCheck(catalog, nullptr, {tcp, answer::Transport::Tcp}, {});
        const uint32_t seed = static_cast<uint32_t>(asked * 131 + t) * 2246822519u;
        compareFastAndGeneral(*catalog, nullptr, *general, nullptr,
                              {plain, answer::Transport::Udp}, {}, seed,
                              "the input's zone, UDP without EDNS");
        compareFastAndGeneral(*catalog, nullptr, *general, nullptr,
                              {edns, answer::Transport::Udp}, {}, seed,
                              "the input's zone, UDP with EDNS 4096");
        compareFastAndGeneral(*catalog, nullptr, *general, nullptr,
                              {tcp, answer::Transport::Tcp}, {}, seed, "the input's zone, TCP");
      }
    }
  }
  const auto axfr = makeQuery(z.apex(), wire::type::AXFR, false);
  answerAndCheck(catalog, nullptr, {axfr, answer::Transport::Tcp, nullptr, true}, {});
}

}  // namespace fuzz
