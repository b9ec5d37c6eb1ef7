// catalog.cc -- making a catalog, and the thread that builds its fast path.
#include "dns/answer/catalog.hh"

#include <pthread.h>

#include <chrono>

#include "dns/answer/precompile.hh"
#include "dns/answer/reclaimer.hh"
#include "dns/base/background.hh"
#include "dns/base/clock.hh"

namespace rrdns::answer {

std::shared_ptr<const Catalog> Catalog::make(std::shared_ptr<const zone::ZoneSet> zones,
                                             Precompile when, ReadyHook ready) {
  // Freed on the reclaimer thread, wherever its last reference is dropped (reclaimer.hh).
  auto c = Reclaimer::own(new Catalog());
  c->rotation = std::make_shared<RotationState>(zones->rotationSlots());
  auto initial = computePoolStates(*zones, nullptr, monotonicMs());
  initial->catalog = c.get();
  c->initial_pools = std::move(initial);
  c->zones = std::move(zones);
  if (when == Precompile::Now) {
    c->precompiled.set(precompile(*c));
  } else {
    Catalog* catalog = c.get();  // outlives the thread: ~FastPathBuild joins it first
    c->precompiling.start([catalog, ready = std::move(ready)](const std::atomic<bool>* stop) {
      pthread_setname_np(pthread_self(), "rrdns-precomp");
      runBelowQueryThreads();
      try {
        const auto start = std::chrono::steady_clock::now();
        auto table = precompile(*catalog, stop);
        if (!table) return;
        catalog->precompiled.set(std::move(table));
        if (ready)
          ready(*catalog->precompiled.get(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      } catch (...) {
        // Out of memory, say: the general path answers everything, as it always can.
      }
    });
  }
  return c;
}

}  // namespace rrdns::answer
