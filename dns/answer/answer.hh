// answer.hh -- the DNS logic: one query message in, one response message out.
//
// Shared by UDP and TCP; knows nothing of sockets. Pure apart from advancing rotation cursors:
// no heap, no locks, no exceptions, no logging.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "dns/answer/pool_state.hh"
#include "dns/answer/precompiled.hh"
#include "dns/answer/rotation.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

// What the workers serve: zones and their rotation cursors, published together on (re)load.
struct Catalog {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<RotationState> rotation;  // rotation->slots() == zones->rotationSlots()
  // Pool states before any health check has reported (every target at its initial state);
  // used until states computed for this catalog arrive.
  std::shared_ptr<const PoolStates> initial_pools;
  // Answers ready per (name, type) for the fast path; null (as in a Catalog built by hand) means
  // every query takes the general path.
  std::shared_ptr<const PrecompiledAnswers> precompiled;

  static std::shared_ptr<const Catalog> make(std::shared_ptr<const zone::ZoneSet> zones);
};

enum class Transport : uint8_t { Udp, Tcp };

struct Options {
  uint16_t udp_max_payload = 1232;  // our EDNS payload: the largest UDP answer we send
  // The requester may transfer zones (AXFR/IXFR over TCP). Decided by the caller from the peer
  // address, so that this module never sees sockets.
  bool transfer_allowed = false;
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
  // Set (with size 0) when the query is an allowed zone transfer over TCP: the caller streams
  // the zone with answer::Transfer (transfer.hh) instead of sending one response.
  const zone::Zone* transfer_zone = nullptr;
};

// Answers `query` into `out`, which must hold at least 65535 bytes for TCP, and for UDP at least
// options.udp_max_payload (no UDP response is larger). Pools answer from `pools`
// when it was computed for `catalog`, otherwise from catalog.initial_pools.
Outcome answer(const Catalog& catalog, const PoolStates* pools, std::span<const uint8_t> query,
               Transport transport, std::span<uint8_t> out, const Options& options = {});

inline Outcome answer(const Catalog& catalog, std::span<const uint8_t> query, Transport transport,
                      std::span<uint8_t> out, const Options& options = {}) {
  return answer(catalog, nullptr, query, transport, out, options);
}

}  // namespace rrdns::answer
