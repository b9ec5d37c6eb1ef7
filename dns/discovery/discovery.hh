// discovery.hh -- keeps the addresses of every discovery source fresh: each name is looked up
// again after its interval (or sooner, when its TTL runs out), and a change is announced.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dns/discovery/resolver.hh"
#include "dns/uv/handle.hh"
#include "dns/zone/zone.hh"

namespace rrdns::discovery {

// What is known of one source.
struct SourceState {
  zone::DiscoverySource source;
  bool resolved = false;  // some lookup has succeeded: `addresses` is an answer, not a guess
  std::vector<zone::DiscoveredAddress> addresses;  // the last successful answer
  std::string last_error;       // of the latest lookup, "" if it succeeded (logged on change)
  uint64_t due_ms = 0;          // next lookup
  bool in_flight = false;
  bool answered = false;  // some lookup has come back, an answer or a failure
};

class Discovery final : public uv::HandleOwner {
 public:
  // `changed` runs on the loop after a lookup changed some source's addresses.
  Discovery(uv_loop_t* loop, Resolver& resolver, std::function<void()> changed);
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // The sources to keep resolving, by DiscoverySource::key(). New ones are looked up at once;
  // ones still wanted keep their addresses; the rest are forgotten.
  void setSources(const std::vector<zone::DiscoverySource>& sources);

  // The last successful answer for `source`, or null before the first one.
  const std::vector<zone::DiscoveredAddress>* addresses(const zone::DiscoverySource& source) const;

  // Whether every source has had a lookup come back: what discovery gives at start is known
  // (rrdnsd's start waits for it, with the members' first health results).
  bool settled() const;

  void close() override;

 private:
  static void onTick(uv_timer_t* timer);
  void lookUpDue();
  void onLookup(const std::string& key, Lookup lookup);

  Resolver& d_resolver;
  std::function<void()> d_changed;
  uv_timer_t d_tick;
  std::map<std::string, SourceState> d_sources;
  bool d_closed = false;
};

}  // namespace rrdns::discovery
