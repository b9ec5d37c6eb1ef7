// catalog.hh -- what the workers answer from: zones, rotation cursors, initial pool states and the
// fast path's table, published together on (re)load.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
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

}  // namespace rrdns::answer
