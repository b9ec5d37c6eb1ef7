// metrics_feed.cc -- the daemon's side of a scrape.
#include "dns/app/metrics_feed.hh"

#include <algorithm>
#include <map>

#include "dns/answer/site_health.hh"
#include "dns/dnssec/signer.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::app {

void MetricsFeed::update() {
  const auto& catalog = d_publisher.catalog();
  const auto& states = *d_publisher.pools();
  const auto health = d_publisher.health();
  const auto overrides = d_publisher.overrides();
  std::vector<metrics::PoolFamilySnapshot> pools;
  std::vector<metrics::MemberSnapshot> members(catalog->zones->members().size());
  std::vector<metrics::SiteSnapshot> sites;
  for (const zone::Pool* p : catalog->zones->pools()) {
    const std::string zone = wire::nameToText(p->zone);
    for (int family = 0; family < 2; ++family) {
      const answer::FamilyState& f = states.pools[p->id].family[family];
      if (f.active == 0 && f.eligible.empty()) continue;
      pools.push_back({zone, p->name, family == 0 ? "A" : "AAAA", answer::poolModeName(f.mode),
                       f.mode == answer::PoolMode::FailOpen});
      for (size_t k = 0; k < f.eligible.size(); ++k)
        members[p->member_base + f.eligible[k]].effective_weight = f.weights[k];
    }
    for (size_t i = 0; i < p->members.size(); ++i) {
      const zone::PoolMember& m = p->members[i];
      const answer::MemberOverride& o = overrides[p->member_base + i];
      metrics::MemberSnapshot& s = members[p->member_base + i];
      s.zone = zone;
      s.pool = p->name;
      s.address = m.text;
      s.configured_weight = o.drained ? 0 : o.weight.value_or(m.weight);
      const bool checked_up = health && m.target < health->targets.size()
                                  ? health->targets[m.target].up
                                  : m.check.startsUp();
      s.up = o.up.value_or(checked_up);
      if (m.site < p->sites.size()) s.site = p->sites[m.site].name;
    }
    if (p->sites.empty()) continue;
    std::vector<answer::MemberStatus> status(p->members.size());
    for (size_t i = 0; i < p->members.size(); ++i) {
      const zone::PoolMember& m = p->members[i];
      status[i].up = members[p->member_base + i].up;
      status[i].weight = members[p->member_base + i].configured_weight;
      status[i].load_zero = health && m.target < health->targets.size() &&
                            health->targets[m.target].load_weight == 0;
    }
    for (int family = 0; family < 2; ++family) {
      const uint16_t rtype = family == 0 ? wire::type::A : wire::type::AAAA;
      bool has_family = false;
      for (const zone::PoolMember& m : p->members) has_family = has_family || m.rtype == rtype;
      if (!has_family) continue;
      const auto sites_now = answer::siteHealth(*p, rtype, status);
      for (size_t k = 0; k < p->sites.size(); ++k)
        sites.push_back({zone, p->name, p->sites[k].name, family == 0 ? "A" : "AAAA",
                         sites_now[k].usable});
    }
  }
  // DNSSEC: every zone served, signed or not; the keys counted by role and state.
  std::vector<metrics::DnssecZoneSnapshot> dnssec_zones;
  std::map<std::string, DnssecZoneStatus> signed_status;
  if (auto status = d_dnssec.status(); status.ok())
    for (auto& s : *status) signed_status[s.zone] = std::move(s);
  for (const auto& zone : catalog->zones->zones()) {
    metrics::DnssecZoneSnapshot& z = dnssec_zones.emplace_back();
    z.zone = wire::nameToText(zone->apex());
    auto found = signed_status.find(z.zone);
    z.is_signed = zone->signedZone() != nullptr && found != signed_status.end();
    if (!z.is_signed) continue;
    const DnssecZoneStatus& s = found->second;
    std::map<std::pair<std::string, std::string>, uint64_t> counts;
    for (const auto& key : s.keys)
      ++counts[{std::string(dnssec::roleName(key.record.role)),
                std::string(dnssec::keyStateName(key.state))}];
    for (const auto& [role_state, count] : counts)
      z.keys.push_back({role_state.first, role_state.second, count});
    z.next_event = s.next_event != 0 ? std::min(s.next_event, s.next_refresh) : s.next_refresh;
    z.signatures = s.signatures;
    z.cache_entries = s.cache_entries;
  }

  std::lock_guard lock(d_mutex);
  d_dnssec_zones = std::move(dnssec_zones);
  d_catalog = catalog;
  d_pools = std::move(pools);
  d_members = std::move(members);
  d_sites = std::move(sites);
  d_reloads_ok = d_reloader.succeeded();
  d_reloads_failed = d_reloader.failed();
  d_fail_open_events = d_publisher.failOpenEvents();
  d_notifies = d_notifier.counts();
}

metrics::MetricsSnapshot MetricsFeed::collect() const {
  metrics::MetricsSnapshot snapshot;
  const server::ServerSettings& settings = d_server.settings();
  snapshot.version = RRDNS_VERSION;
  snapshot.identity = settings.identity;
  snapshot.nsid = settings.nsid;
  {
    std::lock_guard lock(d_mutex);
    snapshot.queries = d_server.stats(d_catalog.get());
    snapshot.pools = d_pools;
    snapshot.members = d_members;
    snapshot.sites = d_sites;
    snapshot.reloads_ok = d_reloads_ok;
    snapshot.reloads_failed = d_reloads_failed;
    snapshot.fail_open_events = d_fail_open_events;
    snapshot.notifies_sent = d_notifies.sent;
    snapshot.notifies_answered = d_notifies.answered;
    snapshot.notifies_failed = d_notifies.failed;
    snapshot.dnssec = d_dnssec_zones;
  }
  snapshot.dnssec_query_path_signatures = dnssec::queryPathSignatures();
  for (size_t i = 0; i < snapshot.members.size() && i < snapshot.queries.member_first.size(); ++i)
    snapshot.members[i].answers = snapshot.queries.member_first[i];
  for (size_t i = 0; i < snapshot.members.size() && i < snapshot.queries.member_spilled.size();
       ++i)
    snapshot.members[i].spilled = snapshot.queries.member_spilled[i];
  for (const health::TargetStatus& t : d_publisher.targetStatus()) {
    const auto& h = t.latency;
    snapshot.targets.push_back(
        {t.spec.description(), t.up,
         metrics::histogramFromMicroseconds(health::LatencyHistogram::kBoundsUs, h.cumulative,
                                            h.sum_us, h.count)});
  }
  return snapshot;
}

}  // namespace rrdns::app
