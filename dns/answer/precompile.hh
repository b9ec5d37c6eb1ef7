// precompile.hh -- what the fast path replays, made at load time by the general path.
#pragma once

#include <atomic>
#include <memory>

#include "dns/answer/catalog.hh"

namespace rrdns::answer {

// Runs the general path once for every (name, type) with data (and A/AAAA where a CNAME or a
// pool answers them) and keeps the replayable responses, and each zone's negative answer. Load
// time, never on the query path. `stop`: give up (returning null) as soon as it is set.
std::shared_ptr<const PrecompiledAnswers> precompile(const Catalog& catalog,
                                                     const std::atomic<bool>* stop = nullptr);

}  // namespace rrdns::answer
