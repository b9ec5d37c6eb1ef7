// reclaimer_test.cc -- what Reclaimer::own() made is destroyed on the reclaimer thread, never by
// the thread that drops the last reference.
#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "dns/answer/answer.hh"
#include "dns/answer/reclaimer.hh"
#include "dns/zone/loader.hh"

using namespace rrdns;

namespace {

// Records the name of the thread its destructor runs on.
struct Witness {
  std::string* destroyed_on;
  explicit Witness(std::string* where) : destroyed_on(where) {}
  ~Witness() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    *destroyed_on = name;
  }
};

}  // namespace

TEST_CASE("reclaimer: the last drop hands the object to the reclaimer thread") {
  std::string where;
  auto owner = answer::Reclaimer::own(new Witness(&where));
  std::shared_ptr<Witness> copy = owner;
  owner.reset();
  CHECK(where.empty());  // still referenced
  std::thread dropper([&copy] {
    pthread_setname_np(pthread_self(), "query-thread");
    copy.reset();
  });
  dropper.join();
  answer::Reclaimer::drain();
  CHECK(where == "rrdns-reclaim");
}

TEST_CASE("reclaimer: a catalog and its initial pool states are freed off the dropping thread") {
  const uint64_t before = answer::Reclaimer::destroyed();
  {
    zone::ZoneLoad load = zone::loadTomlZone(std::string(RRDNS_SOURCE_DIR) + "/zones/rr.test.toml");
    REQUIRE(load.zone.ok());
    auto zones = std::make_shared<zone::ZoneSet>();
    REQUIRE(zones->add(*load.zone).ok());
    zones->assignRotationSlots();
    auto catalog = answer::Catalog::make(zones, answer::Precompile::Background);
    CHECK(catalog->initial_pools);
  }  // dropped here, while its table may still be building: this thread does not join it
  answer::Reclaimer::drain();
  CHECK(answer::Reclaimer::destroyed() >= before + 2);  // the catalog, then its pool states
}
