// state.cc -- rise/fall hysteresis and the identity/description of check targets.
#include "dns/health/state.hh"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace rrdns::health {

namespace {

// Saturating, so a target that stays up for years never wraps back to a small count.
void bump(uint32_t& counter) {
  if (counter < std::numeric_limits<uint32_t>::max()) ++counter;
}

// Length-prefixed so that no choice of path/host/body text can make two specs collide.
void appendField(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '|';
}

const char* kindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::Http:
      return "http";
    case CheckKind::Https:
      return "https";
    case CheckKind::Tcp:
      return "tcp";
    case CheckKind::None:
      return "none";
  }
  return "?";
}

std::string hostPort(const std::string& address, uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

}  // namespace

bool Hysteresis::record(bool success) {
  if (!d_seen) {
    // The first verdict is the result itself; the runs start counting from it.
    d_seen = true;
    d_successes = success ? 1 : 0;
    d_failures = success ? 0 : 1;
    const bool changed = d_up != success;
    d_up = success;
    return changed;
  }
  // The opposite result resets the run, so alternating results never reach either threshold.
  if (success) {
    d_failures = 0;
    bump(d_successes);
    if (!d_up && d_successes >= d_rise) {
      d_up = true;
      return true;
    }
  } else {
    d_successes = 0;
    bump(d_failures);
    if (d_up && d_failures >= d_fall) {
      d_up = false;
      return true;
    }
  }
  return false;
}

void Hysteresis::setThresholds(uint32_t rise, uint32_t fall) {
  d_rise = rise ? rise : 1;
  d_fall = fall ? fall : 1;
}

uint64_t savedHealthMaxAgeMs(const CheckSpec& spec, bool saved_up) {
  const uint64_t period = uint64_t{spec.interval_ms ? spec.interval_ms : 1} + spec.jitter_ms;
  const uint32_t probes = saved_up ? spec.fall : spec.rise;
  return period * (probes ? probes : 1);
}

bool savedHealthUsable(const CheckSpec& spec, const SavedHealth& saved, int64_t now_unix_ms) {
  constexpr int64_t kClockSlackMs = 1000;
  if (spec.kind == CheckKind::None || saved.observed_unix_ms <= 0) return false;
  const int64_t age = now_unix_ms - saved.observed_unix_ms;
  if (age < -kClockSlackMs) return false;
  return age < static_cast<int64_t>(savedHealthMaxAgeMs(spec, saved.up));
}

std::string CheckSpec::key() const {
  // Only what changes the probe or how its answer is judged: interval, jitter, rise, fall and
  // initial_up are left out, so retuning them on reload keeps the target's state.
  std::string out = kindName(kind);
  out += '|';
  if (kind == CheckKind::None) return out + address;
  appendField(out, address);
  out += std::to_string(port);
  out += '|';
  out += std::to_string(timeout_ms);
  out += '|';
  if (kind == CheckKind::Http || kind == CheckKind::Https) {
    appendField(out, path);
    appendField(out, host);
    std::vector<uint16_t> codes = expect;  // {200,204} and {204,200} judge alike
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    for (uint16_t code : codes) {
      out += std::to_string(code);
      out += ',';
    }
    out += '|';
    appendField(out, body_match);
  }
  return out;
}

std::string CheckSpec::description() const {
  switch (kind) {
    case CheckKind::Http:
    case CheckKind::Https: {
      const bool slash = !path.empty() && path.front() == '/';
      return std::string(kindName(kind)) + "://" + hostPort(address, port) + (slash ? "" : "/") +
             path;
    }
    case CheckKind::Tcp:
      return "tcp " + hostPort(address, port);
    case CheckKind::None:
      return "none " + address;
  }
  return "?";
}

std::shared_ptr<const HealthSnapshot> carryOver(const std::vector<CheckSpec>& targets,
                                                const std::vector<CheckSpec>* previous_targets,
                                                const HealthSnapshot* previous, uint64_t now_ms) {
  auto snapshot = std::make_shared<HealthSnapshot>();
  snapshot->taken_ms = now_ms;
  std::unordered_map<std::string, size_t> index;
  if (previous && previous_targets && previous->targets.size() == previous_targets->size())
    for (size_t i = 0; i < previous_targets->size(); ++i)
      index.emplace((*previous_targets)[i].key(), i);
  for (const auto& spec : targets) {
    auto it = index.find(spec.key());
    snapshot->targets.push_back(it != index.end() ? previous->targets[it->second]
                                                  : TargetHealth{spec.startsUp(), 100, 0});
  }
  return snapshot;
}

}  // namespace rrdns::health
