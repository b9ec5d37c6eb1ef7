// snapshot.hh -- everything one Prometheus scrape reports, as plain data.
//
// Filled by the daemon (which knows the catalog, the pool states and the checker) and turned into
// metric families by the exporter; no Prometheus types here, so the daemon side does not need the
// client library's headers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dns/server/stats.hh"

namespace rrdns::metrics {

// A histogram as Prometheus wants it: cumulative counts per upper bound.
struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // seconds, ascending, without the final +Inf
  // cumulative[i]: observations <= upper_bounds[i]; one more entry at the end for +Inf (which
  // should equal count). A shorter vector is padded with count.
  std::vector<uint64_t> cumulative;
  double sum = 0.0;  // seconds
  uint64_t count = 0;
};

// From microsecond bounds and cumulative counts, as health::LatencyHistogram keeps them
// (bounds_us without +Inf, cumulative with it).
HistogramSnapshot histogramFromMicroseconds(std::span<const uint32_t> bounds_us,
                                            std::span<const uint64_t> cumulative, uint64_t sum_us,
                                            uint64_t count);

// One pool, one address family.
struct PoolFamilySnapshot {
  std::string zone;    // apex in presentation form ("example.com.")
  std::string pool;    // the pool's name in its zone file ("www")
  std::string family;  // "A" or "AAAA"
  std::string mode;    // answer::poolModeName(): "healthy", "degraded", "fail-open", ...
  bool fail_open = false;
};

struct MemberSnapshot {
  std::string zone;
  std::string pool;
  std::string address;  // presentation form ("127.0.0.11", "2001:db8::1")
  bool up = true;
  uint32_t configured_weight = 0;  // as the operator has it (zone file, or an override)
  uint32_t effective_weight = 0;   // as answers use it now; 0 when not eligible
  uint64_t answers = 0;            // times it came first in an answer (Stats::member_first)
  // Pools with sites: the site it belongs to ("" otherwise), and of its answers those to clients
  // spilled from their first site (Stats::member_spilled).
  std::string site;
  uint64_t spilled = 0;
};

// One site of a pool with sites, one address family.
struct SiteSnapshot {
  std::string zone;
  std::string pool;
  std::string site;
  std::string family;  // "A" or "AAAA"
  bool usable = false;  // it can take clients now (answer::siteHealth)
};

struct TargetSnapshot {
  std::string target;  // CheckSpec::description(): "http://127.0.0.11:8080/healthz"
  bool up = true;
  HistogramSnapshot latency;  // probe durations
};

// One zone's DNSSEC: whether it is signed and, if it is, its keys and signatures.
struct DnssecZoneSnapshot {
  std::string zone;
  bool is_signed = false;
  struct KeyCount {
    std::string role;   // "ksk", "zsk", "csk"
    std::string state;  // "published", "active", ... (dnssec::keyStateName)
    uint64_t count = 0;
  };
  std::vector<KeyCount> keys;
  uint64_t next_event = 0;  // unix seconds of the next key event or re-signing; 0: none
  uint64_t signatures = 0;  // signatures computed since start (not from the cache)
  uint64_t cache_entries = 0;
};

struct MetricsSnapshot {
  std::string version;   // RRDNS_VERSION
  std::string identity;  // the server's identity (CH TXT id.server), "" when not configured
  std::string nsid;      // the NSID sent, "" when off
  // Query counts; member_first is not read (MemberSnapshot::answers carries it, with labels).
  server::Stats queries;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  // NOTIFY messages to secondaries (RFC 1996): sent (retries included), answered, given up.
  uint64_t notifies_sent = 0, notifies_answered = 0, notifies_failed = 0;
  uint64_t fail_open_events = 0;  // pools (per family) that entered fail-open, since start
  std::vector<PoolFamilySnapshot> pools;
  std::vector<MemberSnapshot> members;
  // Sites of pools with sites. Answers per site are the sums over MemberSnapshot::site.
  std::vector<SiteSnapshot> sites;
  std::vector<TargetSnapshot> targets;
  std::vector<DnssecZoneSnapshot> dnssec;  // every zone served
  uint64_t dnssec_query_path_signatures = 0;  // must stay 0 (dnssec::queryPathSignatures)
};

}  // namespace rrdns::metrics
