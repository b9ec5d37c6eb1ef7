// checker.hh -- the health-check runtime: a thread with its own libuv loop that probes targets
// and publishes a HealthSnapshot whenever what answers should contain changes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/health/state.hh"

namespace rrdns::health {

// How long a target's probes took: fixed buckets, so histograms of different targets (and of
// one target across restarts) aggregate. Every finished probe counts, failed ones too: a
// timeout lands near its timeout, which is what an operator looking at slowness wants to see.
struct LatencyHistogram {
  // Upper bounds in microseconds (inclusive, as Prometheus "le"); a last, implicit +Inf bucket.
  static constexpr std::array<uint32_t, 11> kBoundsUs = {
      1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000};
  // cumulative[i]: probes that took at most kBoundsUs[i]; the last entry (+Inf) equals count.
  std::array<uint64_t, kBoundsUs.size() + 1> cumulative{};
  uint64_t sum_us = 0;
  uint64_t count = 0;

  void record(uint32_t latency_us) {
    for (size_t i = 0; i < cumulative.size(); ++i)
      if (i == kBoundsUs.size() || latency_us <= kBoundsUs[i]) ++cumulative[i];
    sum_us += latency_us;
    ++count;
  }
};

// One target as the checker sees it (for `status` output; not for the answer path).
struct TargetStatus {
  CheckSpec spec;
  bool up = true;           // what answers use: the override if set, else checks_up
  std::string last_reason;  // last probe's reason; empty before the first probe
  uint32_t last_latency_us = 0;
  uint64_t changed_ms = 0;     // monotonicMs() of the last change of `up` (or of creation)
  uint64_t last_check_ms = 0;  // monotonicMs() of the last probe result; 0: none yet
  // Wall clock (unix ms) of the last probe result, or of the saved health the target started
  // from; 0: nothing observed yet. What the state file keeps with the verdict.
  int64_t observed_unix_ms = 0;
  bool from_saved = false;  // started from saved health rather than `initial`
  bool seen = false;        // has a result or saved health: `up` is no longer `initial`'s guess
  std::optional<uint8_t> reported_weight;  // last X-Rrdns-Weight from a successful probe
  uint64_t checks = 0, failures = 0;       // probes finished / of which failed, since creation
  bool checks_up = true;                   // the rise/fall verdict alone
  std::optional<bool> override_up;         // set by setOverride
  LatencyHistogram latency;                // every probe since creation
};

class Checker {
 public:
  using Publish = std::function<void(std::shared_ptr<const HealthSnapshot>)>;

  // publish is called on the checker's thread; it must not block for long nor call stop().
  explicit Checker(Publish publish);
  ~Checker();  // stop()
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Starts the checker's thread and loop. Requests made before start() are applied then.
  // Once only; a no-op after stop().
  void start();

  // Any thread: replaces the target list. Targets whose key() matches one already checked keep
  // their state (hysteresis counters, up/down, weight, override) and adopt the new interval,
  // jitter, rise and fall; new ones start at spec.initial_up and are probed at once; vanished
  // ones stop (a probe in flight is let finish and ignored). Index i of the next snapshot is
  // targets[i]; entries with equal keys share one target (the first entry's spec wins).
  // A snapshot for the new list is published right away, on the checker thread.
  void setTargets(std::vector<CheckSpec> targets);

  // Any thread: health saved by a previous rrdnsd (the state file), by CheckSpec::key(). A target
  // created later (by the next setTargets: post this first) whose entry is usable
  // (savedHealthUsable) starts from it instead of `initial`, with hysteresis applying from the
  // start; any other starts never seen, and its first result decides. An entry serves once.
  void setSavedHealth(std::map<std::string, SavedHealth> saved);

  // Any thread: force the target with this key() up or down, or (nullopt) go back to the checks'
  // verdict. Publishes when the override changes. Unknown keys are logged and ignored.
  void setOverride(const std::string& key, std::optional<bool> up);

  // Any thread: a copy, index i describing targets[i] of the last applied setTargets.
  std::vector<TargetStatus> status() const;

  // Cancels the probes in flight, closes every handle, joins the thread. Idempotent; later
  // requests are ignored.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> d_impl;
};

}  // namespace rrdns::health
