// metrics_feed.hh -- what a Prometheus scrape reports, assembled for the exporter's threads from
// what the main loop last published.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "dns/app/catalog_publisher.hh"
#include "dns/app/dnssec_zones.hh"
#include "dns/app/notifier.hh"
#include "dns/app/reloader.hh"
#include "dns/metrics/snapshot.hh"
#include "dns/server/server.hh"

namespace rrdns::app {

class MetricsFeed {
 public:
  MetricsFeed(server::Server& server, const CatalogPublisher& publisher, const Reloader& reloader,
              const Notifier& notifier, const DnssecZones& dnssec)
      : d_server(server),
        d_publisher(publisher),
        d_reloader(reloader),
        d_notifier(notifier),
        d_dnssec(dnssec) {}

  // Main loop: takes the pools, members and counts as they are now (after every publication).
  void update();

  // Any thread (the exporter's): a full snapshot. Query counts and check latencies are read
  // live; pools and members are as of the last update().
  metrics::MetricsSnapshot collect() const;

 private:
  server::Server& d_server;
  const CatalogPublisher& d_publisher;
  const Reloader& d_reloader;
  const Notifier& d_notifier;
  const DnssecZones& d_dnssec;

  mutable std::mutex d_mutex;  // guards everything below; held briefly, never on the query path
  std::shared_ptr<const answer::Catalog> d_catalog;
  std::vector<metrics::PoolFamilySnapshot> d_pools;
  std::vector<metrics::MemberSnapshot> d_members;  // indexed like d_catalog's members()
  std::vector<metrics::SiteSnapshot> d_sites;
  std::vector<metrics::DnssecZoneSnapshot> d_dnssec_zones;
  uint64_t d_reloads_ok = 0, d_reloads_failed = 0, d_fail_open_events = 0;
  Notifier::Counts d_notifies;
};

}  // namespace rrdns::app
