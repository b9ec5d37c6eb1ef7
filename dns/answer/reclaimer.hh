// reclaimer.hh -- where retired catalogs and pool states are freed: one thread, off the query path.
//
// The rule: what the workers answer from (a Catalog, PoolStates) is never destroyed by the thread
// that drops the last reference to it. Freeing a catalog of a million records takes hundreds of
// milliseconds, and its destructor joins the thread still building its answer table; a worker
// that swapped in a newer catalog (or ended a zone transfer) would stop answering meanwhile.
// Objects made by Reclaimer::own() carry a deleter that instead pushes them, with a node
// allocated up front, onto a lock-free list: the drop neither allocates nor locks. The reclaimer
// thread (rrdns-reclaim) destroys them, as Knot frees a zone after an RCU grace period. The
// reference count is the grace period: a worker lets go of a catalog only at its mailbox swap,
// when it can no longer be using it.
#pragma once

#include <cstdint>
#include <memory>

namespace rrdns::answer {

class Reclaimer {
 public:
  // Takes `object` (from new) and returns the owner whose last drop, on any thread, hands it to
  // the reclaimer thread. Allocates (the node) here, on the making thread.
  template <typename T>
  static std::shared_ptr<T> own(T* object) {
    std::unique_ptr<T> guard(object);  // until the node exists
    start();
    Retired* node = new Retired{object, [](const void* p) { delete static_cast<const T*>(p); }};
    guard.release();
    // On failure shared_ptr calls the deleter: `object` is retired like any other.
    return std::shared_ptr<T>(object, Deleter{node});
  }

  // Starts the thread if it is not running yet (own() does). The thread is a static started on
  // first use, so it is destroyed (at exit, destroying what is left) after anything it owns.
  static void start();

  // Blocks until everything retired before the call is destroyed, and what that retired in
  // turn (tests).
  static void drain();

  // How many objects the reclaimer thread has destroyed (tests).
  static uint64_t destroyed();

 private:
  friend class ReclaimerThread;
  struct Retired {
    const void* object;
    void (*destroy)(const void*);
    Retired* next = nullptr;
  };
  struct Deleter {
    Retired* node;
    void operator()(const void*) const { retire(node); }
  };
  // Any thread: lock-free push, a futex wake when the thread sleeps; no allocation.
  static void retire(Retired* node);
};

}  // namespace rrdns::answer
