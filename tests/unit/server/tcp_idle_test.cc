// tcp_idle_test.cc -- the idle list's order (longest idle first) and the shrinking idle timeout.
#include "dns/server/tcp_idle.hh"

#include <doctest/doctest.h>

#include <vector>

using namespace rrdns::server;

namespace {

std::vector<const TcpIdleLink*> order(const TcpIdleList& list) {
  std::vector<const TcpIdleLink*> out;
  for (const TcpIdleLink* l = list.front(); l != nullptr && out.size() < 100; l = l->idle_next)
    out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("tcp idle list: longest idle first, and one back from work goes to the back") {
  TcpIdleList list;
  TcpIdleLink a, b, c;
  CHECK(list.empty());
  list.pushBack(a, 10);
  list.pushBack(b, 20);
  list.pushBack(c, 30);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&a, &b, &c});
  CHECK(list.size() == 3);

  // a answers a query: out while it owes the answer, then back in, now the newest.
  list.remove(a);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&b, &c});
  list.pushBack(a, 40);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&b, &c, &a});
  CHECK(a.idle_since_ms == 40);

  // Already in: stays where it is, keeps its time (a partial read is not work).
  list.pushBack(b, 50);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&b, &c, &a});
  CHECK(b.idle_since_ms == 20);

  // Removing from the middle and the ends, and twice.
  list.remove(c);
  list.remove(c);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&b, &a});
  list.remove(a);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&b});
  list.remove(b);
  CHECK(list.empty());
  CHECK(list.size() == 0);
  CHECK(list.front() == nullptr);
  list.pushBack(c, 60);
  CHECK(order(list) == std::vector<const TcpIdleLink*>{&c});
}

TEST_CASE("tcp idle timeout: whole up to half full, then linearly down to the floor at full") {
  constexpr uint64_t t = 10000;
  CHECK(tcpIdleTimeoutMs(t, 0, 1000) == t);
  CHECK(tcpIdleTimeoutMs(t, 500, 1000) == t);
  CHECK(tcpIdleTimeoutMs(t, 750, 1000) == (t + kTcpIdleFloorMs) / 2);
  CHECK(tcpIdleTimeoutMs(t, 1000, 1000) == kTcpIdleFloorMs);
  CHECK(tcpIdleTimeoutMs(t, 1003, 1000) == kTcpIdleFloorMs);  // evictions still closing
  // Never rising as the table fills.
  uint64_t previous = t;
  for (uint64_t open = 0; open <= 1100; ++open) {
    const uint64_t now = tcpIdleTimeoutMs(t, open, 1000);
    CHECK(now <= previous);
    CHECK(now >= kTcpIdleFloorMs);
    previous = now;
  }
  // A timeout already at or below the floor is left alone; tiny tables work.
  CHECK(tcpIdleTimeoutMs(500, 1000, 1000) == 500);
  CHECK(tcpIdleTimeoutMs(kTcpIdleFloorMs, 1000, 1000) == kTcpIdleFloorMs);
  CHECK(tcpIdleTimeoutMs(t, 1, 1) == kTcpIdleFloorMs);
  CHECK(tcpIdleTimeoutMs(t, 0, 1) == t);
  CHECK(tcpIdleTimeoutMs(t, 1, 2) == t);
  CHECK(tcpIdleTimeoutMs(t, 2, 2) == kTcpIdleFloorMs);
}
