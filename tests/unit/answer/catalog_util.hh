// catalog_util.hh -- a catalog serving one zone built in a test with zone::ZoneBuilder.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "dns/answer/catalog.hh"
#include "dns/zone/zone.hh"
#include "tests/unit/zone/zone_test_util.hh"

namespace testutil {

// The zone `b` describes, alone in a zone set with its rotation slots assigned.
inline std::shared_ptr<const rrdns::zone::ZoneSet> zoneSetOf(rrdns::zone::ZoneBuilder& b) {
  auto zone = b.finish();
  REQUIRE_MESSAGE(zone.ok(), zonetest::joined(zone.errors()));
  auto set = std::make_shared<rrdns::zone::ZoneSet>();
  REQUIRE(set->add(*zone).ok());
  set->assignRotationSlots();
  return set;
}

// The catalog that serves it, fast path ready.
inline std::shared_ptr<const rrdns::answer::Catalog> catalogOf(rrdns::zone::ZoneBuilder& b) {
  return rrdns::answer::Catalog::make(zoneSetOf(b));
}

}  // namespace testutil
