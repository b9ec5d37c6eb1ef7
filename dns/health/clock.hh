// clock.hh -- health::monotonicMs is dns/base/clock.hh's clock (include that one in new code).
#pragma once

#include "dns/base/clock.hh"

namespace rrdns::health {

using rrdns::monotonicMs;

}  // namespace rrdns::health
