// state.hh -- health of check targets: what to probe, the rise/fall state machine, and the
// immutable snapshot the health thread publishes. Pure: no I/O, no clock of its own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rrdns::health {

enum class CheckKind : uint8_t { Http, Https, Tcp, None };

// How one target is probed. Targets with equal specs are probed once, however many pools or
// members name them (key() is the identity).
struct CheckSpec {
  CheckKind kind = CheckKind::Http;
  std::string address;  // numeric IPv4 or IPv6, no brackets
  uint16_t port = 80;
  std::string path = "/healthz";           // HTTP(S)
  std::string host;                        // Host header; empty: the address
  std::vector<uint16_t> expect = {200};    // HTTP(S) status codes that count as up
  std::string body_match;                  // HTTP(S): substring the body must hold; empty: any
  uint32_t interval_ms = 1000;
  uint32_t timeout_ms = 1000;
  uint32_t jitter_ms = 0;  // each interval is lengthened by a random 0..jitter_ms
  uint32_t rise = 2;       // consecutive successes that mark a down target up
  uint32_t fall = 2;       // consecutive failures that mark an up target down
  bool initial_up = true;  // state before the first result decides it

  // Up or down before the first result: a target nothing checks (kind none) is always up. The
  // one place for this rule: the checker, the first snapshot, pool states, explain, the
  // metrics and rrdnsctl all ask here.
  bool startsUp() const { return initial_up || kind == CheckKind::None; }

  std::string key() const;          // identity for de-duplication
  std::string description() const;  // "http://127.0.0.11:8080/healthz", "tcp 127.0.0.11:443"
};

// One probe's outcome, as the checker reports it.
struct ProbeResult {
  bool ok = false;
  std::string reason;                      // "status 503", "timeout", "connection refused", "ok"
  uint32_t latency_us = 0;
  std::optional<uint8_t> reported_weight;  // X-Rrdns-Weight: 0..100 (load feedback)
};

// Rise/fall hysteresis (as dnsdist's updateHealthCheckResult): `fall` consecutive failures take
// an up target down, `rise` consecutive successes bring a down target up; anything else keeps
// the state. A target never seen before (`seen` false: no result yet and no saved health) takes
// its FIRST result as its state at once, as gdnsd's initial monitoring round does: `initial` is
// only a guess, and waiting `rise` or `fall` probes to correct it would hand out a dead replica
// (or withhold a live one) for that long. From then on hysteresis applies. A target seeded from
// a known state (saved health over a restart) is `seen`: hysteresis applies from the start.
class Hysteresis {
 public:
  Hysteresis(bool initial_up, uint32_t rise, uint32_t fall, bool seen = false)
      : d_up(initial_up), d_rise(rise ? rise : 1), d_fall(fall ? fall : 1), d_seen(seen) {}

  // Feeds one result; returns true when the up/down state changed.
  bool record(bool success);
  bool up() const { return d_up; }
  // False until the first result (or a known starting state): the state is still `initial`'s guess.
  bool seen() const { return d_seen; }
  // Current run of consecutive successes / failures (the opposite result resets each to 0).
  uint32_t successes() const { return d_successes; }
  uint32_t failures() const { return d_failures; }
  // New thresholds for a target kept across a reload; the current state and runs are kept.
  void setThresholds(uint32_t rise, uint32_t fall);

 private:
  bool d_up;
  uint32_t d_rise, d_fall;
  bool d_seen;
  uint32_t d_successes = 0, d_failures = 0;
};

// A target's health as the state file keeps it over a restart: the checks' verdict (operator
// overrides are kept apart), the weight it last reported, and when that was last observed.
struct SavedHealth {
  bool up = true;
  std::optional<uint8_t> reported_weight;  // X-Rrdns-Weight, if the target reported one
  int64_t observed_unix_ms = 0;            // wall clock of the probe result it comes from

  bool operator==(const SavedHealth&) const = default;
};

// How old saved health may be and still seed a target at start: the time a running rrdnsd would
// have taken to notice a change from that state, (interval + jitter) x fall for a target saved
// up, x rise for one saved down. Younger than that, starting from it answers exactly as an
// rrdnsd that had never stopped would; older, the checks could have known better by now, so the
// target starts as never seen (its first result decides). No key to tune: it follows the check.
uint64_t savedHealthMaxAgeMs(const CheckSpec& spec, bool saved_up);

// Whether `saved` may seed `spec`'s target at `now_unix_ms`: recent enough as above, and not from
// the future (beyond a second of clock slack: a clock stepped back must not make it immortal).
bool savedHealthUsable(const CheckSpec& spec, const SavedHealth& saved, int64_t now_unix_ms);

struct TargetHealth {
  bool up = true;
  uint8_t load_weight = 100;  // last X-Rrdns-Weight (0..100); 100 when none was reported
  uint64_t changed_ms = 0;    // monotonic time of the last up/down change (for slow start)
};

// What the health thread publishes: one entry per target, indexed like the target list given to
// the checker. Never changed after publication.
struct HealthSnapshot {
  std::vector<TargetHealth> targets;
  uint64_t taken_ms = 0;  // monotonic time it describes
  // Which target list it describes: the number of Checker::setTargets calls applied before it
  // (0 before the first), so a reader can drop a snapshot of a list it has replaced.
  uint64_t generation = 0;
  // Targets of that list with no result yet and no saved health to start from: their state is
  // still `initial`'s guess. The start waits for this to reach 0 before answering.
  size_t awaiting_first = 0;
};

// The health of `targets` after a reload, taken by key from `previous` (indexed like
// `previous_targets`), so that a reload changes no member's state; a target that is new starts at
// its initial state. `previous` of another length than `previous_targets` is ignored.
std::shared_ptr<const HealthSnapshot> carryOver(const std::vector<CheckSpec>& targets,
                                                const std::vector<CheckSpec>* previous_targets,
                                                const HealthSnapshot* previous, uint64_t now_ms);

}  // namespace rrdns::health
