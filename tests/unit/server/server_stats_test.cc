// server_stats_test.cc -- live query statistics from running workers: per-transport, RCODE and
// QTYPE counts, and per-member answer share that follows the catalog being served.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <thread>

#include "dns/answer/answer.hh"
#include "dns/server/server.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;

namespace {

const char* kZone = R"(origin = "st.test."
ttl = 300

[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
minimum = 60

[names."@"]
NS = "ns1"

[names.ns1]
A = "127.0.0.1"

[pools.www]
names = ["www"]
max-addresses = 1
members = ["192.0.2.1", "192.0.2.2"]

[pools.www.check]
type = "none"
)";

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) { REQUIRE(fd >= 0); }
  ~Fd() { ::close(fd); }
};

// A port free on 127.0.0.1 for both UDP and TCP right now (the server binds it soon after).
uint16_t freePort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    Fd udp(::socket(AF_INET, SOCK_DGRAM, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    REQUIRE(::bind(udp.fd, reinterpret_cast<sockaddr*>(&sa), len) == 0);
    REQUIRE(::getsockname(udp.fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    Fd tcp(::socket(AF_INET, SOCK_STREAM, 0));
    if (::bind(tcp.fd, reinterpret_cast<sockaddr*>(&sa), len) == 0) return ntohs(sa.sin_port);
  }
  FAIL("no free port");
  return 0;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

testutil::Message udpQuery(uint16_t port, const testutil::QuerySpec& spec) {
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  const sockaddr_in to = loopback(port);
  const std::vector<uint8_t> q = testutil::query(spec);
  REQUIRE(::sendto(s.fd, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                   sizeof to) == static_cast<ssize_t>(q.size()));
  pollfd p{s.fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  uint8_t buf[4096];
  const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
  REQUIRE(n > 0);
  return testutil::decode(buf, static_cast<size_t>(n));
}

void udpSend(uint16_t port, const std::vector<uint8_t>& bytes) {
  Fd s(::socket(AF_INET, SOCK_DGRAM, 0));
  const sockaddr_in to = loopback(port);
  REQUIRE(::sendto(s.fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                   sizeof to) == static_cast<ssize_t>(bytes.size()));
}

testutil::Message tcpQuery(uint16_t port, const testutil::QuerySpec& spec) {
  Fd s(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in to = loopback(port);
  REQUIRE(::connect(s.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  const std::vector<uint8_t> q = testutil::query(spec);
  std::vector<uint8_t> frame{static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  frame.insert(frame.end(), q.begin(), q.end());
  REQUIRE(::send(s.fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
  std::vector<uint8_t> in;
  uint8_t buf[4096];
  while (in.size() < 2 || in.size() < 2u + ((in[0] << 8) | in[1])) {
    pollfd p{s.fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    in.insert(in.end(), buf, buf + n);
  }
  return testutil::decode(in.data() + 2, in.size() - 2);
}

// Polls until `done` holds (the workers count after they answer, and swap catalogs on their own
// loop turn), for at most two seconds.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 200; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

uint64_t sum(const std::vector<uint64_t>& v) {
  return std::accumulate(v.begin(), v.end(), uint64_t{0});
}

std::shared_ptr<const answer::Catalog> loadCatalog(const std::string& path) {
  zone::ZoneSetLoad load = zone::loadZoneSet({path});
  REQUIRE_MESSAGE(load.zones.ok(), (load.zones.ok() ? "" : load.zones.error().text()));
  return answer::Catalog::make(*load.zones);
}

}  // namespace

TEST_CASE("Server::stats counts what the workers answer, live") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("rrdns-stats-test-" + std::to_string(::getpid()) + ".toml");
  { std::ofstream(path) << kZone; }
  auto catalog = loadCatalog(path);
  REQUIRE(catalog->zones->members().size() == 2);

  const uint16_t port = freePort();
  server::ServerSettings settings;
  std::string error;
  auto address = server::parseListenAddress("127.0.0.1:" + std::to_string(port), error);
  REQUIRE_MESSAGE(address, error);
  settings.listen.push_back(*address);
  settings.threads = 2;
  auto server = server::Server::create(settings, catalog, error);
  REQUIRE_MESSAGE(server, error);
  server->start();

  constexpr int kPoolQueries = 10;
  for (int i = 0; i < kPoolQueries; ++i) {
    testutil::QuerySpec spec;
    spec.qname = "www.st.test.";
    spec.id = static_cast<uint16_t>(i);
    CHECK(udpQuery(port, spec).rcode() == wire::rcode::NOERROR);
  }
  testutil::QuerySpec nx;
  nx.qname = "nope.st.test.";
  CHECK(udpQuery(port, nx).rcode() == wire::rcode::NXDOMAIN);
  testutil::QuerySpec soa;
  soa.qname = "st.test.";
  soa.qtype = wire::type::SOA;
  CHECK(tcpQuery(port, soa).rcode() == wire::rcode::NOERROR);
  udpSend(port, {0x12, 0x34, 0x00});  // shorter than a header: not answered

  server::Stats s;
  REQUIRE(eventually([&] {
    s = server->stats(catalog.get());
    return s.dropped == 1 && s.tcp_queries == 1;
  }));
  CHECK(s.udp_queries == kPoolQueries + 2);
  CHECK(s.tcp_queries == 1);
  CHECK(s.tcp_accepted == 1);
  CHECK(s.responses[server::rcodeBucket(wire::rcode::NOERROR)] == kPoolQueries + 1);
  CHECK(s.responses[server::rcodeBucket(wire::rcode::NXDOMAIN)] == 1);
  CHECK(sum({s.responses.begin(), s.responses.end()}) == kPoolQueries + 2);
  CHECK(s.qtypes[server::qtypeBucket(wire::type::A)] == kPoolQueries + 1);
  CHECK(s.qtypes[server::qtypeBucket(wire::type::SOA)] == 1);
  CHECK(s.qtypes[server::kQtypeBuckets - 1] == 1);  // the runt: no question
  CHECK(s.truncated == 0);
  CHECK(s.errors == 0);
  REQUIRE(s.member_first.size() == 2);
  CHECK(sum(s.member_first) == kPoolQueries);
  // max-addresses 1 and rotation: each member comes first in turn.
  CHECK(s.member_first[0] == kPoolQueries / 2);
  CHECK(s.member_first[1] == kPoolQueries / 2);

  // Without a catalog, or with one the workers do not serve: no answer share.
  CHECK(server->stats().member_first.empty());
  auto reloaded = loadCatalog(path);
  server::Stats other = server->stats(reloaded.get());
  CHECK(other.member_first == std::vector<uint64_t>{0, 0});
  CHECK(other.udp_queries == kPoolQueries + 2);

  // A reload keeps the counts of the members it still has.
  server->publish(reloaded, nullptr);
  CHECK(
      eventually([&] { return sum(server->stats(reloaded.get()).member_first) == kPoolQueries; }));
  CHECK(sum(server->stats(catalog.get()).member_first) == 0);
  testutil::QuerySpec again;
  again.qname = "www.st.test.";
  udpQuery(port, again);
  CHECK(eventually(
      [&] { return sum(server->stats(reloaded.get()).member_first) == kPoolQueries + 1; }));

  server->stop();
  // Still readable after the workers are gone (the shutdown log line).
  CHECK(server->stats().udp_queries >= kPoolQueries + 2);
  std::filesystem::remove(path);
}
