// served_zones.cc -- discovery results folded into the zone set the workers answer from.
#include "dns/app/served_zones.hh"

#include <spdlog/spdlog.h>

#include "dns/answer/answer.hh"
#include "dns/app/report.hh"
#include "dns/wire/name.hh"

namespace rrdns::app {

// Until this line the catalog's answers came from the general path: same bytes, more work.
// The zone count tells an operator whether NXDOMAIN is cheap for a zone (README: "What runs").
void logTableReady(const answer::PrecompiledAnswers& table, double seconds) {
  spdlog::info(
      "answer table ready: {} answers, {} MiB, built in {:.2f} s; ready-made NXDOMAIN and NODATA "
      "for {}",
      table.size(), (table.bytes() + (1 << 19)) >> 20, seconds,
      quantity(table.replayedNegativeZones(), "zone"));
}

ServedZones::ServedZones(uv_loop_t* loop, CatalogPublisher& publisher, std::string resolver_servers,
                         Notifier& notifier, std::vector<zone::NotifyTarget> notify)
    : d_loop(loop),
      d_publisher(publisher),
      d_resolver_servers(std::move(resolver_servers)),
      d_notifier(notifier),
      d_notify(std::move(notify)) {}

// The handles are closed by closeAllHandles() before the loop ends; what is left to free here
// owns no handle.
ServedZones::~ServedZones() = default;

Result<void> ServedZones::publish(std::shared_ptr<const zone::ZoneSet> loaded, Errors* warnings) {
  return publish(loaded, nullptr, warnings);
}

Result<void> ServedZones::publish(std::shared_ptr<const answer::Catalog> catalog) {
  auto zones = catalog->zones;
  return publish(std::move(zones), std::move(catalog), nullptr);
}

Result<void> ServedZones::publish(std::shared_ptr<const zone::ZoneSet> loaded,
                                  std::shared_ptr<const answer::Catalog> made, Errors* warnings) {
  d_loaded = std::move(loaded);
  d_warned_stale.clear();
  const auto sources = d_loaded->discoverySources();
  Result<void> published;
  if ((!sources.empty() || !d_resolver_servers.empty()) && !d_resolver && !d_resolver_failed) {
    auto created = discovery::Resolver::create(d_loop, d_resolver_servers);
    if (created) {
      d_resolver = std::move(*created);
      d_discovery = std::make_unique<discovery::Discovery>(d_loop, *d_resolver,
                                                           [this] { rebuild(); });
    } else {
      d_resolver_failed = true;
      spdlog::error("member discovery is off: {}", created.error().text());
      published = created.errors();
    }
  }
  if (d_discovery) d_discovery->setSources(sources);
  rebuild(std::move(made), warnings);
  return published;
}

std::shared_ptr<const zone::ZoneSet> ServedZones::withMembers(
    const std::shared_ptr<const zone::ZoneSet>& loaded) const {
  if (!d_discovery || loaded->discoverySources().empty()) return loaded;
  Errors warnings;
  auto served = loaded->withDiscovered(
      [this](const zone::DiscoverySource& source) { return d_discovery->addresses(source); },
      warnings);
  for (const auto& warning : warnings) spdlog::warn("{}", warning.text());
  return served;
}

std::shared_ptr<const zone::ZoneSet> ServedZones::withPolicySerials(
    const std::shared_ptr<const zone::ZoneSet>& served, Errors& stale) const {
  std::unordered_map<const zone::Zone*, uint32_t> serials;
  bool moved = false;
  for (const auto& zone : served->zones()) {
    auto last = d_served.find(zone->apex());
    const zone::SerialDecision decision =
        zone::decideSerial(zone->settings().serialPolicy(), zone->fileSerial(), zone->digest(),
                           last == d_served.end() ? nullptr : &last->second);
    serials[zone.get()] = decision.serial;
    moved |= decision.serial != zone->serial();
    if (decision.stale)
      stale.push_back(errorAt(zone->source(), 0, "",
                              "zone " + wire::nameToText(zone->apex()) +
                                  ": the records changed but the serial " +
                                  std::to_string(decision.serial) +
                                  " is not above the one served before (" +
                                  std::to_string(last->second.serial) +
                                  "), so secondaries will not fetch them; raise the serial, or "
                                  "set serial = \"auto\""));
  }
  if (!moved) return served;
  return served->withSerials([&serials](const zone::Zone& zone) { return serials.at(&zone); });
}

Errors ServedZones::serialWarnings(const zone::ZoneSet& loaded) const {
  Errors stale;
  // A set of its own (not shared): withMembers() wants to own a pointer.
  auto set = std::shared_ptr<const zone::ZoneSet>(&loaded, [](const zone::ZoneSet*) {});
  (void)withPolicySerials(withMembers(set), stale);
  return stale;
}

// The fast path is built in the background (answer::Precompile): a big zone is served from the
// general path while its table is built, rather than seconds later.
void ServedZones::rebuild(std::shared_ptr<const answer::Catalog> made, Errors* warnings) {
  if (!d_loaded) return;
  Errors stale;
  const auto unsigned_served = withPolicySerials(withMembers(d_loaded), stale);
  auto served = d_dnssec.sign(unsigned_served);
  for (auto& warning : stale) {
    // Said once per load: discovery may change the records again and again.
    const bool first = d_warned_stale.insert(warning.message).second;
    if (first) spdlog::warn("{}", warning.text());
    if (warnings) warnings->push_back(std::move(warning));
  }
  if (!made || served != made->zones)
    made = answer::Catalog::make(served, answer::Precompile::Background, logTableReady);
  d_publisher.publish(std::move(made));

  // RFC 1996: every zone now served at another serial than before is announced.
  std::unordered_map<std::string, zone::ServedSerial> now;
  // The serial policy follows the records as loaded (and discovered): the digest kept is the
  // unsigned zone's, while the serial is the one served (signing may have raised it).
  std::unordered_map<std::string, uint64_t> unsigned_digests;
  for (const auto& zone : unsigned_served->zones()) unsigned_digests[zone->apex()] = zone->digest();
  for (const auto& zone : served->zones()) {
    auto last = d_served.find(zone->apex());
    if (last == d_served.end() || last->second.serial != zone->serial()) {
      if (zone->serial() != zone->fileSerial())
        spdlog::info("zone {}: serving serial {} (serial = \"auto\": the records {}changed; the "
                     "file has {})",
                     wire::nameToText(zone->apex()), zone->serial(),
                     zone->signedZone() ? "or their signatures " : "", zone->fileSerial());
      d_notifier.notify(*zone, notifyTargets(*zone));
    }
    now[zone->apex()] = {zone->serial(), unsigned_digests.at(zone->apex())};
  }
  d_served = std::move(now);
}

}  // namespace rrdns::app
