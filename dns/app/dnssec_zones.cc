// dnssec_zones.cc -- keys per signed zone, the signing step, and the key/refresh timer.
#include "dns/app/dnssec_zones.hh"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "dns/dnssec/zone_signer.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/serial.hh"

namespace rrdns::app {
namespace {

uint64_t nowSeconds() { return static_cast<uint64_t>(std::time(nullptr)); }

// The longest the timer sleeps: a clock that jumps is noticed within this.
constexpr uint64_t kMaxSleepSeconds = 3600;

// "example.com." or "example.com" to the apex (wire, lower case); "" if it is no name.
std::string apexOf(std::string_view text) {
  std::string wire, error;
  const std::string root(1, '\0');
  if (!wire::nameFromText(text, root, wire, error)) return "";
  std::transform(wire.begin(), wire.end(), wire.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return wire;
}

}  // namespace

dnssec::ZoneTimes zoneTimes(const zone::Zone& zone, const zone::DnssecPolicy& policy) {
  dnssec::ZoneTimes times;
  times.dnskey_ttl = policy.dnskey_ttl != 0 ? policy.dnskey_ttl : zone.soa().ttl;
  uint32_t max_ttl = times.dnskey_ttl;
  for (const auto& [owner, node] : zone.nodes())
    for (const auto& rrset : node.rrsets) max_ttl = std::max(max_ttl, rrset.ttl);
  for (const auto& pool : zone.pools())
    max_ttl = std::max({max_ttl, pool->ttl, pool->degraded_ttl});
  times.max_ttl = max_ttl;
  return times;
}

DnssecZones::DnssecZones(uv_loop_t* loop, std::function<void()> resign)
    : d_loop(loop), d_resign(std::move(resign)) {
  uv_timer_init(loop, &d_timer);
  d_timer.data = this;
}

DnssecZones::~DnssecZones() = default;

void DnssecZones::close() {
  if (d_closed) return;
  d_closed = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&d_timer), nullptr);
}

Result<void> DnssecZones::checkKeyDirectory(const zone::ZoneSet& loaded,
                                            const std::string& key_directory) {
  if (!key_directory.empty()) return {};
  for (const auto& zone : loaded.zones())
    if (zone->settings().dnssec)
      return error(zone->settings().dnssec->source + ": zone " + wire::nameToText(zone->apex()) +
                   " is signed (dnssec), but no key directory is set: set key-directory in the "
                   "server config, or give --key-directory DIR");
  return {};
}

Result<void> DnssecZones::prepare(const zone::ZoneSet& loaded, const std::string& key_directory) {
  if (Result<void> checked = checkKeyDirectory(loaded, key_directory); !checked.ok())
    return checked;
  const uint64_t now = nowSeconds();
  Errors errors;
  // Opened, and updates to apply, only once every zone's keys are known to be good.
  std::map<std::string, std::unique_ptr<dnssec::ZoneKeys>> opened;
  std::vector<std::pair<dnssec::ZoneKeys*, std::pair<zone::DnssecPolicy, dnssec::ZoneTimes>>>
      updates;
  bool made_directory = false;
  for (const auto& zone : loaded.zones()) {
    const auto& policy = zone->settings().dnssec;
    if (!policy) continue;
    const std::string name = wire::nameToText(zone->apex());
    const dnssec::ZoneTimes times = zoneTimes(*zone, *policy);
    if (auto known = d_zones.find(zone->apex()); known != d_zones.end()) {
      if (known->second.keys->policy().algorithm != policy->algorithm) {
        errors.push_back(error(policy->source + ": zone " + name +
                               ": the algorithm changed; rrdns does no algorithm rollover (keep "
                               "the algorithm, or remove the zone's keys and publish a new DS)"));
        continue;
      }
      updates.push_back({known->second.keys.get(), {*policy, times}});
      continue;
    }
    if (!made_directory) {
      // Its zones' directories are made by ZoneKeys, 0700 each; this one too, if missing.
      if (::mkdir(key_directory.c_str(), 0700) != 0 && errno != EEXIST) {
        errors.push_back(error("key directory " + key_directory + ": cannot create: " +
                               std::strerror(errno)));
        break;
      }
      made_directory = true;
    }
    auto keys = dnssec::ZoneKeys::open(key_directory, zone->apex(), *policy, times, now);
    if (!keys.ok()) {
      for (const Error& why : keys.errors())
        errors.push_back(error(policy->source + ": zone " + name + ": DNSSEC keys in " +
                               key_directory + ": " + why.text()));
      continue;
    }
    opened[zone->apex()] = std::move(keys).value();
  }
  if (!errors.empty()) return errors;

  for (auto& [keys, given] : updates)
    if (Result<void> updated = keys->update(given.first, given.second); !updated.ok())
      spdlog::error("DNSSEC: {}", updated.error().text());
  std::map<std::string, SignedState> kept;
  for (const auto& zone : loaded.zones()) {
    if (!zone->settings().dnssec) continue;
    if (auto known = d_zones.find(zone->apex()); known != d_zones.end()) {
      kept[zone->apex()] = std::move(known->second);
    } else {
      SignedState state;
      state.keys = std::move(opened.at(zone->apex()));
      spdlog::info("zone {}: DNSSEC keys ready in {}", wire::nameToText(zone->apex()),
                   key_directory);
      kept[zone->apex()] = std::move(state);
    }
  }
  d_zones = std::move(kept);
  return {};
}

std::shared_ptr<const zone::ZoneSet> DnssecZones::sign(
    const std::shared_ptr<const zone::ZoneSet>& served) {
  if (d_zones.empty()) return served;
  const uint64_t now = nowSeconds();
  auto result = served->withSigned([&](const zone::Zone& zone) -> std::shared_ptr<zone::Zone> {
    if (!zone.settings().dnssec) return nullptr;
    auto found = d_zones.find(zone.apex());
    if (found == d_zones.end()) {
      // prepare() runs before every set is served; a zone without keys here is a bug.
      spdlog::error("zone {}: signed, but its keys are not open; served unsigned",
                    wire::nameToText(zone.apex()));
      return nullptr;
    }
    SignedState& state = found->second;
    dnssec::ZoneKeys& keys = *state.keys;
    dnssec::ZoneSigning signing;
    signing.signer = keys.signer(now);
    signing.dnskeys = keys.dnskeys(now);
    signing.dnskey_ttl = keys.times().dnskey_ttl;
    signing.nsec3_salt = keys.nsec3Salt();
    dnssec::SignedResult signed_zone = dnssec::signZone(zone, signing, zone.serial());
    // The serial rule: new signatures need a higher serial, or secondaries keep the old ones.
    if (state.served && signed_zone.signatures_digest != state.last_digest &&
        !zone::serialGreater(zone.serial(), state.last_serial)) {
      // Everything but the SOA's signature comes from the cache.
      signed_zone = dnssec::signZone(zone, signing, state.last_serial + 1);
    }
    state.served = true;
    state.last_serial = signed_zone.zone->serial();
    state.last_digest = signed_zone.signatures_digest;
    state.last_signed = now;
    return signed_zone.zone;
  });
  schedule();
  return result;
}

void DnssecZones::schedule() {
  if (d_closed) return;
  const uint64_t now = nowSeconds();
  uint64_t next = 0;
  for (const auto& [apex, state] : d_zones) {
    uint64_t due = state.last_signed + state.keys->policy().rrsig_refresh / 2;
    if (uint64_t event = state.keys->nextEvent(); event != 0) due = std::min(due, event);
    next = next == 0 ? due : std::min(next, due);
  }
  uv_timer_stop(&d_timer);
  if (next == 0) return;
  // At least a second: key times are whole seconds, and an event the planner leaves in the past
  // must not spin the loop.
  const uint64_t wait = std::clamp<uint64_t>(next > now ? next - now : 0, 1, kMaxSleepSeconds);
  uv_timer_start(&d_timer, onTimer, wait * 1000, 0);
}

void DnssecZones::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<DnssecZones*>(timer->data);
  const uint64_t now = nowSeconds();
  bool due = false;
  for (auto& [apex, state] : self->d_zones) {
    Result<bool> stepped = state.keys->step(now);
    if (!stepped.ok())
      spdlog::error("zone {}: DNSSEC keys: {}", wire::nameToText(apex), stepped.error().text());
    else if (*stepped)
      spdlog::info("zone {}: DNSSEC keys moved on", wire::nameToText(apex));
    due = due || (stepped.ok() && *stepped) ||
          now >= state.last_signed + state.keys->policy().rrsig_refresh / 2;
  }
  if (due)
    self->resign();  // which schedules again
  else
    self->schedule();
}

void DnssecZones::resign() {
  d_resign();
  schedule();
}

const DnssecZones::SignedState* DnssecZones::find(std::string_view zone, std::string& why) const {
  const std::string apex = apexOf(zone);
  auto found = apex.empty() ? d_zones.end() : d_zones.find(apex);
  if (found != d_zones.end()) return &found->second;
  why = apex.empty() ? "'" + std::string(zone) + "' is not a zone name"
                     : "zone " + wire::nameToText(apex) + " is not served signed";
  return nullptr;
}

Result<void> DnssecZones::rollover(std::string_view zone, dnssec::KeyRole role) {
  std::string why;
  SignedState* state = find(zone, why);
  if (!state) return error(why);
  const bool csk = state->keys->policy().single_type_signing;
  if (csk != (role == dnssec::KeyRole::Csk))
    return error(std::string("zone ") + std::string(zone) + " signs with " +
                 (csk ? "one CSK (single-type-signing): roll the csk"
                      : "a KSK and a ZSK: roll the ksk or the zsk"));
  if (Result<void> started = state->keys->startRollover(role, nowSeconds()); !started.ok())
    return started;
  resign();
  return {};
}

Result<void> DnssecZones::submitted(std::string_view zone) {
  std::string why;
  SignedState* state = find(zone, why);
  if (!state) return error(why);
  if (Result<void> done = state->keys->dsSubmitted(nowSeconds()); !done.ok()) return done;
  resign();
  return {};
}

Result<std::vector<std::string>> DnssecZones::ds(std::string_view zone) const {
  std::string why;
  const SignedState* state = find(zone, why);
  if (!state) return error(why);
  return state->keys->dsRecords(nowSeconds());
}

Result<std::vector<DnssecZoneStatus>> DnssecZones::status(std::string_view zone) const {
  std::vector<DnssecZoneStatus> out;
  const uint64_t now = nowSeconds();
  auto describe = [&](const std::string& apex, const SignedState& state) {
    DnssecZoneStatus s;
    s.zone = wire::nameToText(apex);
    s.algorithm = state.keys->policy().algorithm;
    s.nsec3 = state.keys->policy().nsec3;
    s.keys = state.keys->status(now);
    s.next_event = state.keys->nextEvent();
    s.last_signed = state.last_signed;
    s.next_refresh = state.last_signed + state.keys->policy().rrsig_refresh / 2;
    s.serial = state.last_serial;
    s.signatures = state.keys->stats() ? state.keys->stats()->signatures.load() : 0;
    s.cache_entries = state.keys->cacheSize();
    out.push_back(std::move(s));
  };
  if (!zone.empty()) {
    std::string why;
    const SignedState* state = find(zone, why);
    if (!state) return error(why);
    describe(apexOf(zone), *state);
    return out;
  }
  for (const auto& [apex, state] : d_zones) describe(apex, state);
  std::sort(out.begin(), out.end(),
            [](const DnssecZoneStatus& a, const DnssecZoneStatus& b) { return a.zone < b.zone; });
  return out;
}

}  // namespace rrdns::app
