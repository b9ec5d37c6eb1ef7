// answer.hh -- the DNS logic: one query message in, one response message out.
//
// Shared by UDP and TCP; knows nothing of sockets. Pure apart from advancing rotation cursors:
// no heap, no locks, no exceptions, no logging.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>

#include "dns/answer/pool_state.hh"
#include "dns/answer/precompiled.hh"
#include "dns/answer/rotation.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

// The fast path's table for one catalog, set at most once, from any thread, while queries read
// it: until then (or for good, as in a Catalog built by hand) every query takes the general path.
class FastPath {
 public:
  FastPath() = default;
  // Copies hold the same table (tests compare a catalog with a copy that has none).
  FastPath(const FastPath& other) : d_owner(other.d_owner), d_table(other.get()) {}
  FastPath& operator=(const FastPath& other) {
    d_owner = other.d_owner;
    d_table.store(other.get(), std::memory_order_release);
    return *this;
  }

  const PrecompiledAnswers* get() const { return d_table.load(std::memory_order_acquire); }
  explicit operator bool() const { return get() != nullptr; }
  const PrecompiledAnswers* operator->() const { return get(); }
  // Once, before anyone else can see the catalog or from its builder thread.
  void set(std::shared_ptr<const PrecompiledAnswers> table) {
    d_owner = std::move(table);
    d_table.store(d_owner.get(), std::memory_order_release);
  }

 private:
  std::shared_ptr<const PrecompiledAnswers> d_owner;
  std::atomic<const PrecompiledAnswers*> d_table{nullptr};
};

// A thread building a catalog's fast path; destroying it stops the build and joins the thread.
class FastPathBuild {
 public:
  FastPathBuild() = default;
  FastPathBuild(const FastPathBuild&) {}  // a copied catalog builds nothing
  FastPathBuild& operator=(const FastPathBuild&) { return *this; }
  ~FastPathBuild() {
    d_stop.store(true, std::memory_order_relaxed);
    if (d_thread.joinable()) d_thread.join();
  }
  template <typename F>
  void start(F&& build) {
    d_thread = std::thread(std::forward<F>(build), &d_stop);
  }

 private:
  std::atomic<bool> d_stop{false};
  std::thread d_thread;
};

enum class Precompile : uint8_t {
  Now,         // make() returns with the fast path ready (tests, tools)
  Background,  // make() returns at once; a thread builds the fast path (the daemon: a big zone
               // is served from the general path seconds sooner, and a reload publishes sooner)
};

// What the workers serve: zones and their rotation cursors, published together on (re)load.
struct Catalog {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<RotationState> rotation;  // rotation->slots() == zones->rotationSlots()
  // Pool states before any health check has reported (every target at its initial state);
  // used until states computed for this catalog arrive.
  std::shared_ptr<const PoolStates> initial_pools;
  // Answers ready per (name, type) for the fast path.
  FastPath precompiled;
  // Last, so that it is destroyed first: the build reads the members above.
  FastPathBuild precompiling;

  // With Precompile::Background, `ready` (if set) is called on the build thread once the table
  // is in use (it lives as long as the catalog), with how long it took to build.
  using ReadyHook = std::function<void(const PrecompiledAnswers& table, double seconds)>;
  static std::shared_ptr<const Catalog> make(std::shared_ptr<const zone::ZoneSet> zones,
                                             Precompile when = Precompile::Now,
                                             ReadyHook ready = {});
};

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

// The server's side of every answer.
struct Options {
  uint16_t udp_max_payload = 1232;  // our EDNS payload: the largest UDP answer we send
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
