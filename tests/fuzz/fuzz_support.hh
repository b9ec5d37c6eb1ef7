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
// answerable.
inline void serveZone(std::shared_ptr<zone::Zone> zone) {
  auto set = std::make_shared<zone::ZoneSet>();
  if (!set->add(std::move(zone)).empty()) fail("a single zone did not fit in an empty set");
  set->assignRotationSlots();
  auto catalog = answer::Catalog::make(set);
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
        const auto plain = makeQuery(*n, t, false), big = makeQuery(*n, t, true, 4096),
                   edns = makeQuery(*n, t, true);
        answerAndCheck(catalog, nullptr, {plain, answer::Transport::Udp}, {});
        answerAndCheck(catalog, nullptr, {big, answer::Transport::Udp}, {});
        answerAndCheck(catalog, nullptr, {edns, answer::Transport::Tcp}, {});
      }
    }
  }
  const auto axfr = makeQuery(z.apex(), wire::type::AXFR, false);
  answerAndCheck(catalog, nullptr, {axfr, answer::Transport::Tcp, nullptr, true}, {});
}

}  // namespace fuzz
