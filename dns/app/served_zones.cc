// served_zones.cc -- discovery results folded into the zone set the workers answer from.
#include "dns/app/served_zones.hh"

#include <spdlog/spdlog.h>

#include "dns/answer/answer.hh"
#include "dns/app/report.hh"

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

ServedZones::ServedZones(uv_loop_t* loop, CatalogPublisher& publisher, std::string resolver_servers)
    : d_loop(loop), d_publisher(publisher), d_resolver_servers(std::move(resolver_servers)) {}

// The handles are closed by closeAllHandles() before the loop ends; what is left to free here
// owns no handle.
ServedZones::~ServedZones() = default;

Result<void> ServedZones::publish(std::shared_ptr<const zone::ZoneSet> loaded) {
  return publish(loaded, nullptr);
}

Result<void> ServedZones::publish(std::shared_ptr<const answer::Catalog> catalog) {
  auto zones = catalog->zones;
  return publish(std::move(zones), std::move(catalog));
}

Result<void> ServedZones::publish(std::shared_ptr<const zone::ZoneSet> loaded,
                                  std::shared_ptr<const answer::Catalog> made) {
  d_loaded = std::move(loaded);
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
  rebuild(std::move(made));
  return published;
}

// The fast path is built in the background (answer::Precompile): a big zone is served from the
// general path while its table is built, rather than seconds later.
void ServedZones::rebuild(std::shared_ptr<const answer::Catalog> made) {
  if (!d_loaded) return;
  if (!d_discovery || d_loaded->discoverySources().empty()) {
    d_publisher.publish(
        made ? std::move(made)
             : answer::Catalog::make(d_loaded, answer::Precompile::Background, logTableReady));
    return;
  }
  Errors warnings;
  auto served = d_loaded->withDiscovered(
      [this](const zone::DiscoverySource& source) { return d_discovery->addresses(source); },
      warnings);
  for (const auto& warning : warnings) spdlog::warn("{}", warning.text());
  d_publisher.publish(
      answer::Catalog::make(std::move(served), answer::Precompile::Background, logTableReady));
}

}  // namespace rrdns::app
