// histogram_test.cc -- the checker's probe-latency buckets, and their way into the exposition.
#include <doctest/doctest.h>

#include "dns/health/checker.hh"
#include "dns/metrics/exporter.hh"

using namespace rrdns;

TEST_CASE("LatencyHistogram counts cumulatively, bounds inclusive") {
  health::LatencyHistogram h;
  h.record(0);
  h.record(1000);       // exactly 1 ms: in the 0.001 bucket (le)
  h.record(1001);       // just over
  h.record(300'000);    // 0.3 s
  h.record(9'000'000);  // beyond the last bound: +Inf only
  CHECK(h.count == 5);
  CHECK(h.sum_us == 0 + 1000 + 1001 + 300'000 + 9'000'000);
  CHECK(h.cumulative[0] == 2);   // <= 1 ms
  CHECK(h.cumulative[1] == 3);   // <= 2.5 ms
  CHECK(h.cumulative[7] == 3);   // <= 250 ms
  CHECK(h.cumulative[8] == 4);   // <= 500 ms
  CHECK(h.cumulative[10] == 4);  // <= 2.5 s
  CHECK(h.cumulative[11] == 5);  // +Inf
  for (size_t i = 1; i < h.cumulative.size(); ++i) CHECK(h.cumulative[i] >= h.cumulative[i - 1]);
}

TEST_CASE("a checker histogram in the exposition") {
  health::LatencyHistogram h;
  h.record(2000);
  h.record(40'000);
  metrics::MetricsSnapshot s;
  s.targets.push_back({"tcp 192.0.2.1:443", true,
                       metrics::histogramFromMicroseconds(health::LatencyHistogram::kBoundsUs,
                                                          h.cumulative, h.sum_us, h.count)});
  const std::string text = metrics::exposition(s);
  CAPTURE(text);
  const std::string b = "rrdns_health_check_duration_seconds_bucket{target=\"tcp 192.0.2.1:443\",";
  CHECK(text.find(b + "le=\"0.001\"} 0\n") != std::string::npos);
  CHECK(text.find(b + "le=\"0.0025\"} 1\n") != std::string::npos);
  CHECK(text.find(b + "le=\"0.025\"} 1\n") != std::string::npos);
  CHECK(text.find(b + "le=\"0.05\"} 2\n") != std::string::npos);
  CHECK(text.find(b + "le=\"2.5\"} 2\n") != std::string::npos);
  CHECK(text.find(b + "le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(
      text.find("rrdns_health_check_duration_seconds_sum{target=\"tcp 192.0.2.1:443\"} 0.042\n") !=
      std::string::npos);
}
