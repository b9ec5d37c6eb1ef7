// exporter_test.cc -- /metrics over real HTTP: the exposition text a fixed snapshot turns into,
// address checks, and bind failures.
#include "dns/metrics/exporter.hh"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "dns/wire/constants.hh"

using namespace rrdns;
using metrics::MetricsExporter;
using metrics::MetricsSnapshot;

namespace {

MetricsSnapshot fixedSnapshot() {
  MetricsSnapshot s;
  server::Stats& q = s.queries;
  q.udp_queries = 1200;
  q.tcp_queries = 34;
  q.responses[server::rcodeBucket(wire::rcode::NOERROR)] = 1100;
  q.responses[server::rcodeBucket(wire::rcode::NXDOMAIN)] = 120;
  q.responses[server::rcodeBucket(wire::rcode::BADVERS)] = 2;
  q.qtypes[server::qtypeBucket(wire::type::A)] = 1000;
  q.qtypes[server::qtypeBucket(wire::type::AAAA)] = 200;
  q.qtypes[server::qtypeBucket(99)] = 5;
  q.truncated = 7;
  q.dropped = 3;
  q.tcp_accepted = 30;
  q.tcp_rejected = 1;
  q.tcp_evicted = 6;
  s.version = "1.2.3";
  s.identity = "ns1.example";
  s.nsid = "fra-1";
  s.reloads_ok = 4;
  s.reloads_failed = 1;
  s.fail_open_events = 2;
  s.pools.push_back({"example.com.", "www", "A", "fail-open", true});
  s.pools.push_back({"example.com.", "www", "AAAA", "healthy", false});
  s.members.push_back({"example.com.", "www", "192.0.2.1", true, 100, 50, 640});
  s.members.push_back({"example.com.", "www", "192.0.2.2", false, 100, 0, 12});
  metrics::TargetSnapshot t;
  t.target = "http://192.0.2.1:8080/healthz";
  t.up = true;
  const uint32_t bounds[] = {1000, 10000, 100000};
  const uint64_t cumulative[] = {2, 5, 6, 7};
  t.latency = metrics::histogramFromMicroseconds(bounds, cumulative, 250000, 7);
  s.targets.push_back(t);
  metrics::DnssecZoneSnapshot signed_zone;
  signed_zone.zone = "example.com.";
  signed_zone.is_signed = true;
  signed_zone.keys = {{"ksk", "active", 1}, {"zsk", "active", 1}, {"zsk", "published", 1}};
  signed_zone.next_event = 1796294700;
  signed_zone.signatures = 42;
  signed_zone.cache_entries = 17;
  s.dnssec.push_back(signed_zone);
  s.dnssec.push_back({"plain.test.", false, {}, 0, 0, 0});
  return s;
}

// GET `path` from 127.0.0.1:port over HTTP/1.0 (the server closes when done): the whole reply.
std::string httpGet(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string reply;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n >= 0);
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("exposition of a snapshot") {
  const std::string text = "\n" + metrics::exposition(fixedSnapshot());
  CAPTURE(text);
  CHECK(has(text, "# TYPE rrdns_build_info gauge"));
  CHECK(has(text, "rrdns_build_info{version=\"1.2.3\"} 1"));
  CHECK(has(text, "# TYPE rrdns_identity_info gauge"));
  CHECK(has(text, "rrdns_identity_info{identity=\"ns1.example\",nsid=\"fra-1\"} 1"));
  CHECK(has(text, "# TYPE rrdns_queries_total counter"));
  CHECK(has(text, "rrdns_queries_total{protocol=\"udp\"} 1200"));
  CHECK(has(text, "rrdns_queries_total{protocol=\"tcp\"} 34"));
  CHECK(has(text, "rrdns_responses_total{rcode=\"NOERROR\"} 1100"));
  CHECK(has(text, "rrdns_responses_total{rcode=\"NXDOMAIN\"} 120"));
  CHECK(has(text, "rrdns_responses_total{rcode=\"BADVERS\"} 2"));
  CHECK(has(text, "rrdns_responses_total{rcode=\"SERVFAIL\"} 0"));  // zeros are there too
  CHECK(has(text, "rrdns_queries_by_type_total{qtype=\"A\"} 1000"));
  CHECK(has(text, "rrdns_queries_by_type_total{qtype=\"AAAA\"} 200"));
  CHECK(has(text, "rrdns_queries_by_type_total{qtype=\"other\"} 5"));
  CHECK(has(text, "rrdns_truncated_total 7"));
  CHECK(has(text, "rrdns_dropped_total 3"));
  CHECK(has(text, "rrdns_tcp_connections_total{result=\"rejected\"} 1"));
  CHECK(has(text, "rrdns_tcp_evicted_total 6"));
  CHECK(has(text, "rrdns_reloads_total{result=\"ok\"} 4"));
  CHECK(has(text, "rrdns_reloads_total{result=\"failed\"} 1"));
  CHECK(has(text, "rrdns_pool_fail_open_events_total 2"));
  CHECK(has(text, "# TYPE rrdns_dnssec_signed gauge"));
  CHECK(has(text, "rrdns_dnssec_signed{zone=\"example.com.\"} 1"));
  CHECK(has(text, "rrdns_dnssec_signed{zone=\"plain.test.\"} 0"));
  CHECK(has(text, "rrdns_dnssec_keys{zone=\"example.com.\",role=\"zsk\",state=\"published\"} 1"));
  CHECK(has(text, "rrdns_dnssec_keys{zone=\"example.com.\",role=\"ksk\",state=\"active\"} 1"));
  CHECK(has(text, "rrdns_dnssec_next_event_timestamp_seconds{zone=\"example.com.\"} 1796294700"));
  CHECK(has(text, "# TYPE rrdns_dnssec_signatures_total counter"));
  CHECK(has(text, "rrdns_dnssec_signatures_total{zone=\"example.com.\"} 42"));
  CHECK(has(text, "rrdns_dnssec_signature_cache_entries{zone=\"example.com.\"} 17"));
  CHECK(has(text, "rrdns_dnssec_query_path_signatures_total 0"));
  CHECK(text.find("rrdns_dnssec_signatures_total{zone=\"plain.test.\"}") == std::string::npos);
  CHECK(has(text, "# TYPE rrdns_pool_fail_open gauge"));
  CHECK(has(text, "rrdns_pool_fail_open{zone=\"example.com.\",pool=\"www\",family=\"A\"} 1"));
  CHECK(has(text, "rrdns_pool_fail_open{zone=\"example.com.\",pool=\"www\",family=\"AAAA\"} 0"));
  CHECK(
      has(text,
          "rrdns_pool_mode{zone=\"example.com.\",pool=\"www\",family=\"A\",mode=\"fail-open\"} 1"));
  CHECK(has(text, "rrdns_member_up{zone=\"example.com.\",pool=\"www\",address=\"192.0.2.1\"} 1"));
  CHECK(has(text, "rrdns_member_up{zone=\"example.com.\",pool=\"www\",address=\"192.0.2.2\"} 0"));
  CHECK(has(text,
            "rrdns_member_weight{zone=\"example.com.\",pool=\"www\",address=\"192.0.2.1\","
            "kind=\"configured\"} 100"));
  CHECK(has(text,
            "rrdns_member_weight{zone=\"example.com.\",pool=\"www\",address=\"192.0.2.1\","
            "kind=\"effective\"} 50"));
  CHECK(has(text, "# TYPE rrdns_member_answers_total counter"));
  CHECK(has(text,
            "rrdns_member_answers_total{zone=\"example.com.\",pool=\"www\",address=\"192.0.2.1\"} "
            "640"));
  CHECK(has(text, "rrdns_health_target_up{target=\"http://192.0.2.1:8080/healthz\"} 1"));
  CHECK(has(text, "# TYPE rrdns_health_check_duration_seconds histogram"));
  const std::string h = "rrdns_health_check_duration_seconds";
  const std::string target = "target=\"http://192.0.2.1:8080/healthz\"";
  CHECK(has(text, h + "_count{" + target + "} 7"));
  CHECK(has(text, h + "_sum{" + target + "} 0.25"));
  CHECK(has(text, h + "_bucket{" + target + ",le=\"0.001\"} 2"));
  CHECK(has(text, h + "_bucket{" + target + ",le=\"0.01\"} 5"));
  CHECK(has(text, h + "_bucket{" + target + ",le=\"0.1\"} 6"));
  CHECK(has(text, h + "_bucket{" + target + ",le=\"+Inf\"} 7"));
}

TEST_CASE("sites: answers and spills summed over each site's members, usable per family") {
  MetricsSnapshot s;
  const char* zone = "geo.test.";
  auto member = [&](const char* address, const char* site, uint64_t answers, uint64_t spilled) {
    metrics::MemberSnapshot m{zone, "www", address, true, 100, 100, answers};
    m.site = site;
    m.spilled = spilled;
    s.members.push_back(m);
  };
  member("127.0.1.1", "east", 10, 0);
  member("127.0.1.2", "east", 5, 0);
  member("127.0.2.1", "west", 30, 20);
  member("127.0.2.2", "west", 7, 4);
  member("192.0.2.1", "", 99, 0);  // a pool without sites: no site series
  s.sites.push_back({zone, "www", "east", "A", false});
  s.sites.push_back({zone, "www", "west", "A", true});
  s.sites.push_back({zone, "www", "south", "A", true});  // no member yet: still listed, at 0
  const std::string text = "\n" + metrics::exposition(s);
  CAPTURE(text);
  CHECK(has(text, "# TYPE rrdns_site_answers_total counter"));
  CHECK(has(text, "rrdns_site_answers_total{zone=\"geo.test.\",pool=\"www\",site=\"east\"} 15"));
  CHECK(has(text, "rrdns_site_answers_total{zone=\"geo.test.\",pool=\"www\",site=\"west\"} 37"));
  CHECK(has(text, "rrdns_site_answers_total{zone=\"geo.test.\",pool=\"www\",site=\"south\"} 0"));
  CHECK(has(text, "# TYPE rrdns_site_spilled_answers_total counter"));
  CHECK(has(text,
            "rrdns_site_spilled_answers_total{zone=\"geo.test.\",pool=\"www\",site=\"east\"} 0"));
  CHECK(has(text,
            "rrdns_site_spilled_answers_total{zone=\"geo.test.\",pool=\"www\",site=\"west\"} 24"));
  CHECK(has(text, "# TYPE rrdns_site_usable gauge"));
  CHECK(has(text,
            "rrdns_site_usable{zone=\"geo.test.\",pool=\"www\",site=\"east\",family=\"A\"} 0"));
  CHECK(has(text,
            "rrdns_site_usable{zone=\"geo.test.\",pool=\"www\",site=\"west\",family=\"A\"} 1"));
  CHECK(text.find("site=\"\"") == std::string::npos);
}

TEST_CASE("label values are escaped") {
  MetricsSnapshot s;
  s.targets.push_back({"tcp \"odd\\name\"", false, {}});
  s.identity = "ns \"1\"";
  const std::string text = "\n" + metrics::exposition(s);
  CAPTURE(text);
  CHECK(has(text, "rrdns_identity_info{identity=\"ns \\\"1\\\"\",nsid=\"\"} 1"));
  CHECK(has(text, "rrdns_health_target_up{target=\"tcp \\\"odd\\\\name\\\"\"} 0"));
}

TEST_CASE("the exporter serves /metrics and calls collect per scrape") {
  std::atomic<int> calls{0};
  std::string error;
  auto exporter = MetricsExporter::create(
      "127.0.0.1:0",
      [&] {
        ++calls;
        return fixedSnapshot();
      },
      error);
  REQUIRE_MESSAGE(exporter, error);
  REQUIRE(exporter->port() != 0);
  CHECK(calls == 0);  // nothing is collected until someone scrapes

  const std::string reply = httpGet(exporter->port(), "/metrics");
  CAPTURE(reply);
  CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(reply.find("text/plain") != std::string::npos);
  CHECK(has(reply, "rrdns_queries_total{protocol=\"udp\"} 1200"));
  CHECK(has(reply,
            "rrdns_member_answers_total{zone=\"example.com.\",pool=\"www\","
            "address=\"192.0.2.2\"} 12"));
  CHECK(has(reply,
            "rrdns_health_check_duration_seconds_bucket{target=\"http://192.0.2.1:8080/"
            "healthz\",le=\"+Inf\"} 7"));
  CHECK(calls == 1);

  httpGet(exporter->port(), "/metrics");
  CHECK(calls == 2);  // built at scrape time, not cached
  CHECK(httpGet(exporter->port(), "/other").find(" 404 ") != std::string::npos);
}

TEST_CASE("a collect that throws fails the scrape, not the exporter") {
  bool fail = true;
  std::string error;
  auto exporter = MetricsExporter::create(
      "127.0.0.1:0",
      [&] {
        if (fail) throw std::runtime_error("catalog gone");
        return fixedSnapshot();
      },
      error);
  REQUIRE_MESSAGE(exporter, error);
  CHECK(httpGet(exporter->port(), "/metrics").find("rrdns_queries_total") == std::string::npos);
  fail = false;
  CHECK(httpGet(exporter->port(), "/metrics").find("rrdns_queries_total") != std::string::npos);
}

TEST_CASE("a port in use is reported, not thrown") {
  std::string error;
  auto first = MetricsExporter::create("127.0.0.1:0", fixedSnapshot, error);
  REQUIRE_MESSAGE(first, error);
  const std::string taken = "127.0.0.1:" + std::to_string(first->port());
  auto second = MetricsExporter::create(taken, fixedSnapshot, error);
  CHECK(second == nullptr);
  CAPTURE(error);
  CHECK(error.find("cannot serve metrics on " + taken) == 0);
}

TEST_CASE("IPv6 loopback") {
  std::string error;
  auto exporter = MetricsExporter::create("[::1]:0", fixedSnapshot, error);
  if (!exporter) {
    // Debian's civetweb has no IPv6: that must be said plainly. (A host without an IPv6
    // loopback would fail to bind instead.)
    MESSAGE(error);
    CHECK(error.find("cannot serve metrics on [::1]:0: ") == 0);
    return;
  }
  CHECK(exporter->port() != 0);
}

TEST_CASE("listen address syntax") {
  CHECK(metrics::checkListenAddress("127.0.0.1:9153") == "");
  CHECK(metrics::checkListenAddress("0.0.0.0:9153") == "");
  CHECK(metrics::checkListenAddress("[::1]:9153") == "");
  CHECK(metrics::checkListenAddress("[::]:0") == "");
  CHECK(metrics::checkListenAddress("9153") != "");
  CHECK(metrics::checkListenAddress("localhost:9153") != "");
  CHECK(metrics::checkListenAddress("::1:9153") != "");
  CHECK(metrics::checkListenAddress("127.0.0.1:") != "");
  CHECK(metrics::checkListenAddress("127.0.0.1:65536") != "");
  CHECK(metrics::checkListenAddress("127.0.0.1:80s") != "");  // civetweb's TLS suffix
  CHECK(metrics::checkListenAddress("127.0.0.1:80,127.0.0.2:80") != "");
  std::string error;
  CHECK(MetricsExporter::create("nonsense", fixedSnapshot, error) == nullptr);
  CHECK(error.find("nonsense") != std::string::npos);
}
