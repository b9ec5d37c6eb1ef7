// exporter.hh -- a Prometheus /metrics endpoint (prometheus-cpp's pull Exposer) that reports
// whatever a caller-supplied function returns at scrape time.
//
// Metrics (all built from one MetricsSnapshot per scrape):
//   rrdns_queries_total{protocol="udp|tcp"}                         counter
//   rrdns_responses_total{rcode="NOERROR|FORMERR|...|BADVERS|other"} counter
//   rrdns_queries_by_type_total{qtype="A|AAAA|...|IXFR|other"}       counter
//   rrdns_truncated_total                                            counter
//   rrdns_dropped_total                                              counter
//   rrdns_udp_queued_total, rrdns_udp_send_dropped_total             counter
//   rrdns_tcp_connections_total{result="accepted|rejected"}          counter
//   rrdns_tcp_evicted_total                                          counter
//   rrdns_errors_total                                               counter
//   rrdns_reloads_total{result="ok|failed"}                          counter
//   rrdns_notify_total{outcome="sent|answered|failed"}               counter
//   rrdns_pool_fail_open_events_total                                counter
//   rrdns_pool_fail_open{zone,pool,family}                           gauge 0/1
//   rrdns_pool_mode{zone,pool,family,mode}                           gauge, 1 for the current mode
//   rrdns_member_up{zone,pool,address}                               gauge 0/1
//   rrdns_member_weight{zone,pool,address,kind="configured|effective"} gauge
//   rrdns_member_answers_total{zone,pool,address}                    counter
//   rrdns_site_usable{zone,pool,site,family}                         gauge 0/1
//   rrdns_site_answers_total{zone,pool,site}                         counter
//   rrdns_site_spilled_answers_total{zone,pool,site}                 counter
//   rrdns_health_target_up{target}                                   gauge 0/1
//   rrdns_health_check_duration_seconds{target}                      histogram
//   rrdns_dnssec_signed{zone}                                        gauge 0/1
//   rrdns_dnssec_keys{zone,role,state}                               gauge: keys in that state
//   rrdns_dnssec_next_event_timestamp_seconds{zone}                  gauge: unix time
//   rrdns_dnssec_signatures_total{zone}                              counter
//   rrdns_dnssec_signature_cache_entries{zone}                       gauge
//   rrdns_dnssec_query_path_signatures_total                         counter: must stay 0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dns/metrics/snapshot.hh"

namespace rrdns::metrics {

class MetricsExporter {
 public:
  using Collect = std::function<MetricsSnapshot()>;

  // Listens on `address` ("127.0.0.1:9153", "[::1]:9153"; port 0 picks a free one, see port())
  // and serves GET /metrics from its own threads. Each scrape calls `collect` on one of those
  // threads -- never the caller's, and never two calls at once -- so `collect` must be safe to
  // run concurrently with the rest of the program (e.g. hand the work to the main loop and wait,
  // or read only data that is itself thread-safe). An exception from it fails that scrape only.
  // Returns null and sets `error` when the address is malformed or cannot be bound.
  static std::unique_ptr<MetricsExporter> create(const std::string& address, Collect collect,
                                                 std::string& error);
  // Stops listening and joins the threads; when it returns, `collect` is no longer running.
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  uint16_t port() const;  // the port actually bound
  const std::string& address() const;

 private:
  struct Impl;
  explicit MetricsExporter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> d_impl;
};

// The text exposition format of `snapshot`, exactly as /metrics serves it (for a control
// command, or tests).
std::string exposition(const MetricsSnapshot& snapshot);

// Parses "host:port" with a numeric IPv4 host or "[v6]:port". Returns "" or what is wrong.
std::string checkListenAddress(const std::string& address);

}  // namespace rrdns::metrics
