// discovery.cc -- the schedule of lookups, and what a lookup's outcome does to the member set.
#include "dns/discovery/discovery.hh"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dns/base/clock.hh"

namespace rrdns::discovery {
namespace {

// How often due lookups are looked for; a source's interval is at least 1 s.
constexpr uint64_t kTickMs = 250;
// A TTL shorter than this would have a name looked up on every tick.
constexpr uint64_t kMinTtlMs = 1000;
// After a failure, ask again sooner than the interval, but not in a tight loop.
constexpr uint64_t kRetryMs = 2000;

std::string addressList(const std::vector<zone::DiscoveredAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : " ") + a.text;
  return out.empty() ? "none" : out;
}

}  // namespace

Discovery::Discovery(uv_loop_t* loop, Resolver& resolver, std::function<void()> changed)
    : d_resolver(resolver), d_changed(std::move(changed)) {
  uv_timer_init(loop, &d_tick);
  d_tick.data = this;
}

void Discovery::close() {
  if (d_closed) return;
  d_closed = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_tick), nullptr);
}

void Discovery::setSources(const std::vector<zone::DiscoverySource>& sources) {
  std::map<std::string, SourceState> next;
  for (const auto& source : sources) {
    auto it = d_sources.find(source.key());
    SourceState state = it != d_sources.end() ? std::move(it->second) : SourceState{};
    const bool fresh = it == d_sources.end();
    state.source = source;
    if (fresh) spdlog::info("discovery: members of {} from {}", source.source, source.hostname);
    next.emplace(source.key(), std::move(state));
  }
  d_sources = std::move(next);
  if (d_closed) return;
  if (d_sources.empty()) {
    uv_timer_stop(&d_tick);
    return;
  }
  lookUpDue();
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&d_tick)))
    uv_timer_start(&d_tick, &Discovery::onTick, kTickMs, kTickMs);
}

const std::vector<zone::DiscoveredAddress>* Discovery::addresses(
    const zone::DiscoverySource& source) const {
  auto it = d_sources.find(source.key());
  return it != d_sources.end() && it->second.resolved ? &it->second.addresses : nullptr;
}

bool Discovery::settled() const {
  return std::all_of(d_sources.begin(), d_sources.end(),
                     [](const auto& entry) { return entry.second.answered; });
}

void Discovery::onTick(uv_timer_t* timer) { static_cast<Discovery*>(timer->data)->lookUpDue(); }

void Discovery::lookUpDue() {
  const uint64_t now = monotonicMs();
  for (auto& [key, state] : d_sources) {
    if (state.in_flight || state.due_ms > now) continue;
    state.in_flight = true;
    d_resolver.resolve(state.source.hostname, state.source.want_a, state.source.want_aaaa,
                       [this, key = key](Lookup lookup) { onLookup(key, std::move(lookup)); });
  }
}

void Discovery::onLookup(const std::string& key, Lookup lookup) {
  auto it = d_sources.find(key);
  if (it == d_sources.end()) return;  // no longer wanted
  SourceState& state = it->second;
  state.in_flight = false;
  state.answered = true;
  const uint64_t now = monotonicMs();
  const zone::DiscoverySource& source = state.source;
  if (!lookup.ok) {
    // A failed lookup says nothing about the replicas: the last set stands.
    if (state.last_error != lookup.error)
      spdlog::warn("discovery: {} ({}): lookup failed: {}; keeping {}", source.hostname,
                   source.source, lookup.error,
                   state.resolved ? "its last addresses: " + addressList(state.addresses)
                                  : "no members from it until one succeeds");
    state.last_error = lookup.error;
    state.due_ms = now + std::min<uint64_t>(kRetryMs, source.interval_ms);
    return;
  }
  if (!state.last_error.empty())
    spdlog::info("discovery: {}: lookups succeed again", source.hostname);
  state.last_error.clear();
  uint64_t wait = source.interval_ms;
  if (lookup.ttl > 0) wait = std::clamp<uint64_t>(uint64_t{lookup.ttl} * 1000, kMinTtlMs, wait);
  state.due_ms = now + wait;
  const bool changed = !state.resolved || lookup.addresses.size() != state.addresses.size() ||
                       !std::equal(lookup.addresses.begin(), lookup.addresses.end(),
                                   state.addresses.begin(), [](const auto& x, const auto& y) {
                                     return x.address == y.address;
                                   });
  if (!changed) return;
  // Members that appear are checked before they are answered; ones that vanish leave now.
  spdlog::info("discovery: {} now has {} address{}: {} (was {})", source.hostname,
               lookup.addresses.size(), lookup.addresses.size() == 1 ? "" : "es",
               addressList(lookup.addresses),
               state.resolved ? addressList(state.addresses) : "not yet resolved");
  state.addresses = std::move(lookup.addresses);
  state.resolved = true;
  d_changed();
}

}  // namespace rrdns::discovery
