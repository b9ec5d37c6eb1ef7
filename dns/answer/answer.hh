// answer.hh -- the DNS logic: one query message in, one response message out.
//
// Shared by UDP and TCP; knows nothing of sockets. Pure apart from advancing rotation cursors:
// no heap, no locks, no exceptions, no logging. Where each part lives:
//   replay.cc     answerMessage(): the fast path (answers prepared per name and type, ready-made
//                 negative answers), then the general path for the rest
//   resolve.cc    the general path (Response: RFC 1034 lookup, CNAMEs, pools, referrals,
//                 negative answers, additional records) and slip()
//   precompile.cc what the fast path replays, made by running the general path at load time
//   catalog.cc    Catalog::make() and the thread that builds a catalog's table
//   select.hh     the pure choices both paths share: which pool states apply, the first member
//   trace.hh      the general path's steps told to a listener, as a dry run: explain.cc
//                 narrates them (rrdnsctl explain), so explain and answer cannot disagree
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "dns/answer/catalog.hh"

namespace rrdns::answer {

enum class Transport : uint8_t { Udp, Tcp };

// One query as a transport received it. What answer() needs of its contents (question, EDNS and
// its options) it reads from `message` itself, once (wire/question.hh).
struct Request {
  std::span<const uint8_t> message;
  Transport transport = Transport::Udp;
  // The source address of the query (sockaddr_in or sockaddr_in6); null for queries made up by
  // tools and tests.
  const sockaddr* client = nullptr;
  // The client may transfer zones (AXFR/IXFR over TCP): decided by the caller from its address,
  // so that this module never sees the ACL.
  bool transfer_allowed = false;
};

// What the server says about itself: views of strings the caller keeps alive as long as the
// Options that hold them. Empty: not said (NSID left out, CH TXT REFUSED), as in Knot DNS. Each
// at most kMaxIdentityText bytes (one TXT string; longer CH texts are REFUSED).
inline constexpr size_t kMaxIdentityText = 255;
struct ServerIdentity {
  std::string_view nsid;      // the NSID (RFC 5001) sent to queries that carry the option
  std::string_view identity;  // CH TXT id.server. and hostname.bind. (RFC 4892)
  std::string_view version;   // CH TXT version.server. and version.bind.
};

// The server's side of every answer.
struct Options {
  uint16_t udp_max_payload = 1232;  // our EDNS payload: the largest UDP answer we send
  // Whether `client` may ask for IXFR over UDP (answered with the SOA): the transfer ACL, asked
  // only for such queries so that it stays off the query path. Empty: nobody may.
  std::function<bool(const sockaddr* client)> udp_transfer_allowed;
  ServerIdentity self;
  // EDNS Client Subnet (RFC 7871, `edns-client-subnet`): on, a query's ECS option routes pools
  // with sites and every response to it carries ECS with its scope; off, the option is ignored
  // and never sent.
  bool client_subnet = true;
};

struct Outcome {
  size_t size = 0;  // bytes of response written to `out`; 0 means send nothing
  uint16_t rcode = 0;
  bool truncated = false;
  uint16_t qtype = 0;  // of the question, 0 when there was none
  // The pool member answered first, as an index into ZoneSet::members() (for answer-share
  // counters), or kNoMember when no pool answered.
  uint32_t first_member = kNoMember;
  static constexpr uint32_t kNoMember = UINT32_MAX;
  // A pool with sites answered from sites other than the client's first (SiteAnswer::spilled).
  bool spilled = false;
  // The SCOPE PREFIX-LENGTH of the response's ECS option (RFC 7871 7.2.1), if it has one: the
  // widest of the pools with sites it used, 0 when it used none.
  uint8_t scope = 0;
  // Set (with size 0) when the query is an allowed zone transfer over TCP: the caller streams
  // the zone with answer::Transfer (transfer.hh) instead of sending one response.
  const zone::Zone* transfer_zone = nullptr;
};

// Answers `request` into `out`, which must hold at least 65535 bytes for TCP, and for UDP at least
// options.udp_max_payload (no UDP response is larger). Pools answer from `pools` when it was
// computed for `catalog`, otherwise from catalog.initial_pools.
Outcome answerMessage(const Catalog& catalog, const PoolStates* pools,
                      std::span<const uint8_t> query, Transport transport,
                      std::span<uint8_t> out, const Options& options, const Request& request);
inline Outcome answer(const Catalog& catalog, const PoolStates* pools, const Request& request,
                      std::span<uint8_t> out, const Options& options = {}) {
  // The message and transport go in registers: answerMessage() reading them through `request`
  // cost the fast path 25 instructions per query in register pressure and reloads (callgrind).
  return answerMessage(catalog, pools, request.message, request.transport, out, options, request);
}

// Cuts `response`, which holds what answer() wrote for `request` (as `answered` says), down to its
// header, question and OPT record, with TC set: the "slip" answer to a rate-limited client, small
// (no amplification) and telling a real one to retry over TCP. Returns its size (0: send nothing).
size_t slip(const Request& request, const Outcome& answered, std::span<uint8_t> response,
            const Options& options = {});

}  // namespace rrdns::answer
