// exporter.cc -- the snapshot-to-metric-families conversion and the Exposer around it.
#include "dns/metrics/exporter.hh"

#include <CivetServer.h>
#include <arpa/inet.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace rrdns::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using Labels = std::initializer_list<std::pair<const char*, std::string_view>>;

class Family {
 public:
  Family(const char* name, const char* help, MetricType type) {
    d_family.name = name;
    d_family.help = help;
    d_family.type = type;
  }

  Family& add(double value, Labels labels = {}) {
    ClientMetric& m = d_family.metric.emplace_back();
    for (const auto& [name, text] : labels) m.label.push_back({name, std::string(text)});
    if (d_family.type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    return *this;
  }

  Family& addHistogram(const HistogramSnapshot& h, Labels labels) {
    ClientMetric& m = d_family.metric.emplace_back();
    for (const auto& [name, text] : labels) m.label.push_back({name, std::string(text)});
    m.histogram.sample_count = h.count;
    m.histogram.sample_sum = h.sum;
    for (size_t i = 0; i < h.upper_bounds.size(); ++i)
      m.histogram.bucket.push_back(
          {i < h.cumulative.size() ? h.cumulative[i] : h.count, h.upper_bounds[i]});
    // +Inf is every observation by definition, whatever the snapshot's last entry says.
    m.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
    return *this;
  }

  MetricFamily take() { return std::move(d_family); }

 private:
  MetricFamily d_family;
};

double asDouble(uint64_t n) { return static_cast<double>(n); }

std::vector<MetricFamily> toFamilies(const MetricsSnapshot& s) {
  const server::Stats& q = s.queries;
  std::vector<MetricFamily> out;
  constexpr auto kCounter = MetricType::Counter;
  constexpr auto kGauge = MetricType::Gauge;

  // Info metrics (value 1, the facts in labels): which instance and build a scrape came from.
  out.push_back(Family("rrdns_build_info", "The rrdnsd version, as a label.", kGauge)
                    .add(1, {{"version", s.version}})
                    .take());
  out.push_back(Family("rrdns_identity_info",
                       "The server's identity (CH TXT id.server) and NSID, as labels; \"\" "
                       "when not sent.",
                       kGauge)
                    .add(1, {{"identity", s.identity}, {"nsid", s.nsid}})
                    .take());
  out.push_back(Family("rrdns_queries_total", "DNS queries received, by transport.", kCounter)
                    .add(asDouble(q.udp_queries), {{"protocol", "udp"}})
                    .add(asDouble(q.tcp_queries), {{"protocol", "tcp"}})
                    .take());
  {
    // Every bucket, zeros included: a series that appears only on its first event makes
    // rate() and alerts on it miss that event.
    Family f("rrdns_responses_total", "DNS responses produced, by RCODE.", kCounter);
    for (size_t i = 0; i < server::kRcodeBuckets; ++i)
      f.add(asDouble(q.responses[i]), {{"rcode", server::rcodeBucketName(i)}});
    out.push_back(f.take());
  }
  {
    Family f("rrdns_queries_by_type_total",
             "DNS queries answered or dropped, by QTYPE (other: any other type, or no question).",
             kCounter);
    for (size_t i = 0; i < server::kQtypeBuckets; ++i)
      f.add(asDouble(q.qtypes[i]), {{"qtype", server::qtypeBucketName(i)}});
    out.push_back(f.take());
  }
  out.push_back(Family("rrdns_truncated_total", "Responses sent with the TC bit set.", kCounter)
                    .add(asDouble(q.truncated))
                    .take());
  out.push_back(
      Family("rrdns_dropped_total", "Queries not answered at all (not a DNS query).", kCounter)
          .add(asDouble(q.dropped))
          .take());
  out.push_back(Family("rrdns_udp_queued_total",
                       "UDP responses sent through the send queue (socket buffer was full).",
                       kCounter)
                    .add(asDouble(q.udp_deferred))
                    .take());
  out.push_back(Family("rrdns_udp_send_dropped_total",
                       "UDP responses not sent: send error, or send queue full.", kCounter)
                    .add(asDouble(q.udp_dropped))
                    .take());
  out.push_back(Family("rrdns_tcp_connections_total",
                       "TCP connections, accepted or rejected over tcp-max-connections.", kCounter)
                    .add(asDouble(q.tcp_accepted), {{"result", "accepted"}})
                    .add(asDouble(q.tcp_rejected), {{"result", "rejected"}})
                    .take());
  out.push_back(Family("rrdns_tcp_evicted_total",
                       "Idle TCP connections closed to make room for a new one "
                       "(tcp-max-connections reached).",
                       kCounter)
                    .add(asDouble(q.tcp_evicted))
                    .take());
  out.push_back(Family("rrdns_errors_total", "Queries lost to an internal error.", kCounter)
                    .add(asDouble(q.errors))
                    .take());
  out.push_back(
      Family("rrdns_reloads_total", "Zone and configuration reloads, by result.", kCounter)
          .add(asDouble(s.reloads_ok), {{"result", "ok"}})
          .add(asDouble(s.reloads_failed), {{"result", "failed"}})
          .take());
  out.push_back(
      Family("rrdns_notify_total", "NOTIFY messages to secondaries, by outcome.", kCounter)
          .add(asDouble(s.notifies_sent), {{"outcome", "sent"}})
          .add(asDouble(s.notifies_answered), {{"outcome", "answered"}})
          .add(asDouble(s.notifies_failed), {{"outcome", "failed"}})
          .take());
  out.push_back(Family("rrdns_pool_fail_open_events_total",
                       "Times a pool (per address family) entered fail-open.", kCounter)
                    .add(asDouble(s.fail_open_events))
                    .take());
  {
    Family open("rrdns_pool_fail_open",
                "1 while the pool answers every member because too few are up.", kGauge);
    Family mode("rrdns_pool_mode", "The pool's current mode (1 for that mode).", kGauge);
    for (const PoolFamilySnapshot& p : s.pools) {
      open.add(p.fail_open ? 1 : 0, {{"zone", p.zone}, {"pool", p.pool}, {"family", p.family}});
      mode.add(1, {{"zone", p.zone}, {"pool", p.pool}, {"family", p.family}, {"mode", p.mode}});
    }
    out.push_back(open.take());
    out.push_back(mode.take());
  }
  {
    Family up("rrdns_member_up", "1 if the pool member is up (checks or override).", kGauge);
    Family weight("rrdns_member_weight",
                  "Pool member weight: configured (zone file or override) or effective (as "
                  "answers use it now; 0 when not eligible).",
                  kGauge);
    Family answers("rrdns_member_answers_total",
                   "Answers that gave this pool member as the first address.", kCounter);
    for (const MemberSnapshot& m : s.members) {
      up.add(m.up ? 1 : 0, {{"zone", m.zone}, {"pool", m.pool}, {"address", m.address}});
      weight.add(
          m.configured_weight,
          {{"zone", m.zone}, {"pool", m.pool}, {"address", m.address}, {"kind", "configured"}});
      weight.add(
          m.effective_weight,
          {{"zone", m.zone}, {"pool", m.pool}, {"address", m.address}, {"kind", "effective"}});
      answers.add(asDouble(m.answers),
                  {{"zone", m.zone}, {"pool", m.pool}, {"address", m.address}});
    }
    out.push_back(up.take());
    out.push_back(weight.take());
    out.push_back(answers.take());
  }
  {
    // Per site: its members' counts summed, every site of the snapshot listed even before its
    // first answer (or with no member yet, as a discovered site can be).
    struct SiteCounts {
      std::string zone, pool, site;
      uint64_t answers = 0, spilled = 0;
    };
    std::vector<SiteCounts> sites;
    auto counts = [&sites](const std::string& zone, const std::string& pool,
                           const std::string& site) -> SiteCounts& {
      for (SiteCounts& c : sites)
        if (c.site == site && c.pool == pool && c.zone == zone) return c;
      return sites.emplace_back(SiteCounts{zone, pool, site});
    };
    Family usable("rrdns_site_usable",
                  "1 if the site can take clients: enough of its members are up (min-healthy).",
                  kGauge);
    for (const SiteSnapshot& site : s.sites) {
      counts(site.zone, site.pool, site.site);
      usable.add(site.usable ? 1 : 0, {{"zone", site.zone},
                                       {"pool", site.pool},
                                       {"site", site.site},
                                       {"family", site.family}});
    }
    for (const MemberSnapshot& m : s.members) {
      if (m.site.empty()) continue;
      SiteCounts& c = counts(m.zone, m.pool, m.site);
      c.answers += m.answers;
      c.spilled += m.spilled;
    }
    Family answers("rrdns_site_answers_total",
                   "Answers whose first address is a member of this site.", kCounter);
    Family spilled("rrdns_site_spilled_answers_total",
                   "Of those, answers to clients spilled over from their first site.", kCounter);
    for (const SiteCounts& c : sites) {
      answers.add(asDouble(c.answers), {{"zone", c.zone}, {"pool", c.pool}, {"site", c.site}});
      spilled.add(asDouble(c.spilled), {{"zone", c.zone}, {"pool", c.pool}, {"site", c.site}});
    }
    out.push_back(usable.take());
    out.push_back(answers.take());
    out.push_back(spilled.take());
  }
  {
    Family up("rrdns_health_target_up", "1 if the health-check target is up.", kGauge);
    Family duration("rrdns_health_check_duration_seconds",
                    "Health probe durations, failed probes included.", MetricType::Histogram);
    for (const TargetSnapshot& t : s.targets) {
      up.add(t.up ? 1 : 0, {{"target", t.target}});
      duration.addHistogram(t.latency, {{"target", t.target}});
    }
    out.push_back(up.take());
    out.push_back(duration.take());
  }
  {
    Family is_signed("rrdns_dnssec_signed", "1 if the zone is served signed (DNSSEC).", kGauge);
    Family keys("rrdns_dnssec_keys", "The zone's DNSSEC keys by role and state.", kGauge);
    Family next("rrdns_dnssec_next_event_timestamp_seconds",
                "When the zone's keys move on or it is signed anew next (unix time).", kGauge);
    Family signatures("rrdns_dnssec_signatures_total",
                      "Signatures computed for the zone (cached ones not counted).", kCounter);
    Family cache("rrdns_dnssec_signature_cache_entries",
                 "Signatures the zone keeps in its cache.", kGauge);
    for (const DnssecZoneSnapshot& z : s.dnssec) {
      is_signed.add(z.is_signed ? 1 : 0, {{"zone", z.zone}});
      if (!z.is_signed) continue;
      for (const auto& k : z.keys)
        keys.add(asDouble(k.count), {{"zone", z.zone}, {"role", k.role}, {"state", k.state}});
      if (z.next_event != 0) next.add(asDouble(z.next_event), {{"zone", z.zone}});
      signatures.add(asDouble(z.signatures), {{"zone", z.zone}});
      cache.add(asDouble(z.cache_entries), {{"zone", z.zone}});
    }
    out.push_back(is_signed.take());
    out.push_back(keys.take());
    out.push_back(next.take());
    out.push_back(signatures.take());
    out.push_back(cache.take());
    out.push_back(Family("rrdns_dnssec_query_path_signatures_total",
                         "Signatures computed on a query thread; must stay 0 (answers are signed "
                         "before they are served).",
                         kCounter)
                      .add(asDouble(s.dnssec_query_path_signatures))
                      .take());
  }
  return out;
}

class SnapshotCollectable final : public prometheus::Collectable {
 public:
  explicit SnapshotCollectable(MetricsExporter::Collect collect) : d_collect(std::move(collect)) {}

  std::vector<MetricFamily> Collect() const override {
    // Serialised here so `collect` never runs twice at once, whatever the library does.
    std::lock_guard lock(d_mutex);
    try {
      return toFamilies(d_collect());
    } catch (const std::exception& e) {
      spdlog::warn("metrics: collecting failed: {}", e.what());
    } catch (...) {
      spdlog::warn("metrics: collecting failed");
    }
    return {};
  }

 private:
  MetricsExporter::Collect d_collect;
  mutable std::mutex d_mutex;
};

// civetweb reports why it could not start (bind errors) only through its log callback, on the
// thread that starts it; the exception it throws says just "possible problem binding to port".
thread_local std::string* t_start_error = nullptr;

constexpr unsigned kCivetIpv6 = 8;  // mg_check_feature() bit for IPv6 support

int onCivetLog(const mg_connection*, const char* message) {
  if (t_start_error != nullptr) {
    // The first message is the cause ("cannot bind to ...: 98 (Address already in use)"); the
    // rest only say that starting failed.
    if (t_start_error->empty()) *t_start_error = message;
  } else {
    spdlog::debug("metrics http: {}", message);
  }
  return 1;  // handled: keep it off stderr
}

}  // namespace

std::string checkListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return "'" + address + "' is not address:port";
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return "bad port in '" + address + "'";
  unsigned char buf[16];
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return "bad IPv6 address in '" + address + "'";
    host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET6, host.c_str(), buf) != 1) return "bad IPv6 address in '" + address + "'";
  } else if (inet_pton(AF_INET, host.c_str(), buf) != 1) {
    return "'" + host + "' is not an IPv4 address (IPv6 goes in brackets: [::1]:9153)";
  }
  return {};
}

struct MetricsExporter::Impl {
  std::string address;
  uint16_t port = 0;
  // Declared before the exposer, so the exposer (and the threads that call Collect) goes first.
  std::shared_ptr<SnapshotCollectable> collectable;
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsExporter::MetricsExporter(std::unique_ptr<Impl> impl) : d_impl(std::move(impl)) {}
MetricsExporter::~MetricsExporter() = default;

std::unique_ptr<MetricsExporter> MetricsExporter::create(const std::string& address,
                                                         Collect collect, std::string& error) {
  error = checkListenAddress(address);
  if (!error.empty()) return nullptr;
  // Debian's civetweb is built without IPv6; its own complaint ("invalid port spec") would send
  // the operator looking for a typo.
  if (address.front() == '[' && mg_check_feature(kCivetIpv6) == 0) {
    error = "cannot serve metrics on " + address +
            ": the installed civetweb was built without IPv6 support; use an IPv4 address";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->address = address;
  impl->collectable = std::make_shared<SnapshotCollectable>(std::move(collect));

  CivetCallbacks callbacks{};
  callbacks.log_message = onCivetLog;
  std::string start_error;
  t_start_error = &start_error;
  try {
    // Two threads: a scrape at a time is the normal load, and one slow client cannot block it.
    impl->exposer = std::make_unique<prometheus::Exposer>(
        std::vector<std::string>{"listening_ports", address, "num_threads", "2",
                                 "request_timeout_ms", "10000"},
        &callbacks);
  } catch (const std::exception& e) {
    t_start_error = nullptr;
    error = "cannot serve metrics on " + address + ": " +
            (start_error.empty() ? std::string(e.what()) : start_error);
    return nullptr;
  }
  t_start_error = nullptr;
  impl->exposer->RegisterCollectable(impl->collectable);
  const std::vector<int> ports = impl->exposer->GetListeningPorts();
  impl->port = ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
  return std::unique_ptr<MetricsExporter>(new MetricsExporter(std::move(impl)));
}

uint16_t MetricsExporter::port() const { return d_impl->port; }
const std::string& MetricsExporter::address() const { return d_impl->address; }

std::string exposition(const MetricsSnapshot& snapshot) {
  return prometheus::TextSerializer().Serialize(toFamilies(snapshot));
}

}  // namespace rrdns::metrics
