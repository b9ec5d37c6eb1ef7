// checker_test.cc -- the checker against real loopback servers: verdicts, reasons, weights,
// target replacement, overrides and what gets published.
#include "dns/health/checker.hh"

#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <vector>

#include "tests/unit/health/test_server.hh"

using namespace rrdns::health;
using testutil::HttpServer;
using testutil::waitFor;

namespace {

CheckSpec httpSpec(uint16_t port) {
  CheckSpec s;
  s.kind = CheckKind::Http;
  s.address = "127.0.0.1";
  s.port = port;
  s.interval_ms = 50;
  s.timeout_ms = 1000;
  s.rise = 2;
  s.fall = 2;
  return s;
}

CheckSpec tcpSpec(uint16_t port) {
  CheckSpec s = httpSpec(port);
  s.kind = CheckKind::Tcp;
  return s;
}

// Collects every published snapshot; checks each against the target count in force.
struct Recorder {
  std::mutex mutex;
  std::vector<std::shared_ptr<const HealthSnapshot>> snapshots;

  Checker::Publish callback() {
    return [this](std::shared_ptr<const HealthSnapshot> s) {
      std::lock_guard lock(mutex);
      snapshots.push_back(std::move(s));
    };
  }
  std::shared_ptr<const HealthSnapshot> last() {
    std::lock_guard lock(mutex);
    return snapshots.empty() ? nullptr : snapshots.back();
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return snapshots.size();
  }
  bool allOfSize(size_t n) {
    std::lock_guard lock(mutex);
    for (const auto& s : snapshots) {
      if (s->targets.size() != n) return false;
    }
    return !snapshots.empty();
  }
};

// setTargets is applied on the checker thread: wait until status() reflects it.
void startWith(Checker& c, std::vector<CheckSpec> specs) {
  const size_t n = specs.size();
  c.setTargets(std::move(specs));
  c.start();
  REQUIRE(waitFor([&] { return c.status().size() == n; }));
}

TargetStatus statusOf(const Checker& c, size_t i = 0) {
  auto all = c.status();
  REQUIRE(all.size() > i);
  return all[i];
}

}  // namespace

TEST_CASE("checker: HTTP up at the first 200, down after fall 503s, up again after rise 200s") {
  HttpServer server;
  Recorder rec;
  Checker checker(rec.callback());
  CheckSpec spec = httpSpec(server.port());
  spec.initial_up = false;
  startWith(checker, {spec});

  REQUIRE(waitFor([&] { return statusOf(checker).up; }));
  auto s = statusOf(checker);
  CHECK(s.checks >= 1);  // never seen: its first result decides, whatever rise says
  CHECK(s.last_reason == "ok");
  CHECK(s.last_latency_us > 0);
  CHECK(s.changed_ms > 0);
  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return l && l->targets[0].up;
  }));
  CHECK(rec.last()->targets[0].load_weight == 100);
  CHECK(rec.last()->taken_ms >= rec.last()->targets[0].changed_ms);
  const size_t published = rec.count();

  // A few more 200s change nothing for answers: nothing is published.
  const uint64_t checks = statusOf(checker).checks;
  REQUIRE(waitFor([&] { return statusOf(checker).checks >= checks + 3; }));
  CHECK(rec.count() == published);

  server.respond({503, "busy", {}, false});
  REQUIRE(waitFor([&] { return !statusOf(checker).up; }));
  s = statusOf(checker);
  CHECK(s.last_reason == "status 503");
  CHECK(s.failures >= 2);
  CHECK_FALSE(s.checks_up);
  REQUIRE(waitFor([&] { return !rec.last()->targets[0].up; }));

  server.respond({});
  REQUIRE(waitFor([&] { return statusOf(checker).up; }));
  CHECK(rec.allOfSize(1));
}

TEST_CASE("checker: fall 503s take an up target down after exactly `fall` failures") {
  HttpServer server;
  Checker checker(nullptr);
  CheckSpec spec = httpSpec(server.port());
  spec.fall = 3;
  spec.interval_ms = 100;
  startWith(checker, {spec});
  REQUIRE(waitFor([&] { return statusOf(checker).checks >= 1; }));  // seen: hysteresis applies
  server.respond({503, "", {}, false});
  bool early = false;  // down before the third failure
  REQUIRE(waitFor([&] {
    const TargetStatus st = statusOf(checker);
    if (!st.up && st.failures < 3) early = true;
    return !st.up;
  }));
  CHECK_FALSE(early);
  CHECK(statusOf(checker).failures >= 3);
}

TEST_CASE("checker: X-Rrdns-Weight is read and published as load_weight") {
  HttpServer server;
  server.respond({200, "ok", {"X-Rrdns-Weight: 40"}, false});
  Recorder rec;
  Checker checker(rec.callback());
  startWith(checker, {httpSpec(server.port())});
  REQUIRE(waitFor([&] { return statusOf(checker).reported_weight == std::optional<uint8_t>(40); }));
  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return l && l->targets[0].load_weight == 40;
  }));

  server.respond({200, "ok", {"x-rrdns-weight:   0 "}, false});
  REQUIRE(waitFor([&] { return statusOf(checker).reported_weight == std::optional<uint8_t>(0); }));
  REQUIRE(waitFor([&] { return rec.last()->targets[0].load_weight == 0; }));

  server.respond({200, "ok", {"X-Rrdns-Weight: lots"}, false});  // invalid: as if absent
  REQUIRE(waitFor([&] { return !statusOf(checker).reported_weight; }));
  REQUIRE(waitFor([&] { return rec.last()->targets[0].load_weight == 100; }));
  CHECK(rec.allOfSize(1));
}

TEST_CASE("checker: body_match and the Host header") {
  HttpServer server;
  server.respond({200, "status: green\n", {}, false});
  Checker checker(nullptr);
  CheckSpec green = httpSpec(server.port());
  green.body_match = "green";
  green.host = "www.example.test";
  green.path = "/status?full=1";
  green.initial_up = false;
  green.rise = 1;
  CheckSpec red = httpSpec(server.port());
  red.body_match = "red";
  red.fall = 1;
  startWith(checker, {green, red});
  REQUIRE(waitFor([&] {
    auto s = checker.status();
    return s[0].up && !s[1].up;
  }));
  CHECK(statusOf(checker, 1).last_reason == "body does not contain 'red'");
  CHECK(statusOf(checker, 0).last_reason == "ok");
  REQUIRE(waitFor([&] {
    auto s = checker.status();
    return s[0].checks >= 4 && s[1].checks >= 4;
  }));
  std::string request;
  for (const std::string& r : server.requestLog()) {
    if (r.find("/status") != std::string::npos) request = r;
  }
  INFO(request);
  CHECK(request.find("GET /status?full=1 HTTP/1.1\r\n") == 0);
  CHECK(request.find("Host: www.example.test\r\n") != std::string::npos);
}

TEST_CASE("checker: a body over 64 KiB is judged on its first 64 KiB") {
  HttpServer server;
  server.respond({200, std::string(100 * 1024, 'a') + "needle", {}, false});
  Checker checker(nullptr);
  CheckSpec big = httpSpec(server.port());
  big.fall = 1;
  big.body_match = "aaaa";
  CheckSpec tail = big;
  tail.body_match = "needle";
  startWith(checker, {big, tail});
  REQUIRE(waitFor([&] {
    auto s = checker.status();
    return s[0].checks > 0 && s[1].checks > 0;
  }));
  auto s = checker.status();
  CHECK(s[0].up);
  CHECK(s[0].last_reason == "ok");
  CHECK_FALSE(s[1].up);
}

TEST_CASE("checker: a replica that never answers times out - probes never overlap") {
  HttpServer server;
  server.respond({200, "", {}, true});
  Checker checker(nullptr);
  CheckSpec spec = httpSpec(server.port());
  spec.timeout_ms = 400;
  spec.fall = 1;
  startWith(checker, {spec});
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  CHECK(server.requests() <= 1);  // interval 50 ms, but the first probe is still waiting
  CHECK(statusOf(checker).checks == 0);
  REQUIRE(waitFor([&] { return !statusOf(checker).up; }));
  CHECK(statusOf(checker).last_reason == "timeout");
  CHECK(statusOf(checker).last_latency_us >= 300'000);
}

TEST_CASE("checker: connection refused, HTTP and TCP") {
  const uint16_t closed = testutil::closedPort();
  Recorder rec;
  Checker checker(rec.callback());
  CheckSpec http = httpSpec(closed);
  http.fall = 1;
  CheckSpec tcp = tcpSpec(closed);
  tcp.fall = 1;
  startWith(checker, {http, tcp});
  REQUIRE(waitFor([&] {
    auto s = checker.status();
    return !s[0].up && !s[1].up;
  }));
  CHECK(statusOf(checker, 0).last_reason == "connection refused");
  CHECK(statusOf(checker, 1).last_reason == "connection refused");
  CHECK(rec.allOfSize(2));
  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return !l->targets[0].up && !l->targets[1].up;
  }));
}

TEST_CASE("checker: TCP up on a listening port") {
  uint16_t port;
  const int fd = testutil::listenLoopback(port);  // the kernel completes handshakes unaccepted
  Checker checker(nullptr);
  CheckSpec spec = tcpSpec(port);
  spec.initial_up = false;
  spec.rise = 2;
  startWith(checker, {spec});
  CHECK(waitFor([&] { return statusOf(checker).up; }));
  CHECK(statusOf(checker).last_reason == "ok");
  checker.stop();
  ::close(fd);
}

TEST_CASE("checker: setTargets keeps the state of unchanged keys and starts new ones") {
  HttpServer server;
  Recorder rec;
  Checker checker(rec.callback());
  CheckSpec a = httpSpec(server.port());
  a.initial_up = false;
  startWith(checker, {a});
  REQUIRE(waitFor([&] { return statusOf(checker).up; }));
  const TargetStatus before = statusOf(checker);

  CheckSpec b = tcpSpec(testutil::closedPort());
  b.initial_up = false;
  CheckSpec a_retuned = a;
  a_retuned.interval_ms = 60;  // not part of the key
  CheckSpec none;
  none.kind = CheckKind::None;
  none.address = "127.0.0.9";
  none.initial_up = false;  // ignored: None is always up
  checker.setTargets({b, a_retuned, none, a});
  REQUIRE(waitFor([&] { return checker.status().size() == 4; }));
  auto s = checker.status();
  CHECK(s[1].up);  // kept: no rise needed again
  CHECK(s[1].changed_ms == before.changed_ms);
  CHECK(s[1].checks >= before.checks);
  CHECK(s[1].spec.interval_ms == 60);
  CHECK_FALSE(s[0].up);  // new, initial_up=false
  CHECK(s[2].up);
  CHECK(s[3].up);  // same key as index 1: the same target
  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return l && l->targets.size() == 4;
  }));
  auto snap = rec.last();
  CHECK_FALSE(snap->targets[0].up);
  CHECK(snap->targets[1].up);
  CHECK(snap->targets[2].up);
  CHECK(snap->targets[3].up);

  // The new target is probed at once, not after one interval.
  REQUIRE(waitFor([&] { return statusOf(checker, 0).checks > 0; }, 1000));
  CHECK(statusOf(checker, 0).last_reason == "connection refused");
  CHECK(statusOf(checker, 2).checks == 0);  // None: never probed

  // Dropping a target and adding it back starts it fresh.
  checker.setTargets({b});
  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return l->targets.size() == 1;
  }));
  checker.setTargets({b, a});
  REQUIRE(waitFor([&] { return checker.status().size() == 2; }));
  CHECK(statusOf(checker, 1).checks < 2);
  CHECK(statusOf(checker, 1).changed_ms > before.changed_ms);  // a new target, not the old one
}

TEST_CASE("checker: setOverride forces a state - clearing it restores the checks' verdict") {
  HttpServer server;
  Recorder rec;
  Checker checker(rec.callback());
  const CheckSpec spec = httpSpec(server.port());
  startWith(checker, {spec});
  REQUIRE(waitFor([&] { return statusOf(checker).checks >= 1; }));

  checker.setOverride(spec.key(), false);
  REQUIRE(waitFor([&] { return !statusOf(checker).up; }));
  auto s = statusOf(checker);
  CHECK(s.checks_up);
  CHECK(s.override_up == std::optional<bool>(false));
  REQUIRE(waitFor([&] { return !rec.last()->targets[0].up; }));

  // Still forced down while the checks keep passing.
  const uint64_t checks = s.checks;
  REQUIRE(waitFor([&] { return statusOf(checker).checks >= checks + 2; }));
  CHECK_FALSE(statusOf(checker).up);

  checker.setOverride("no such key", true);  // logged and ignored
  checker.setOverride(spec.key(), std::nullopt);
  REQUIRE(waitFor([&] { return statusOf(checker).up; }));
  CHECK_FALSE(statusOf(checker).override_up);
  REQUIRE(waitFor([&] { return rec.last()->targets[0].up; }));

  // An override up wins over a failing replica.
  checker.setOverride(spec.key(), true);
  server.respond({500, "", {}, false});
  REQUIRE(waitFor([&] { return !statusOf(checker).checks_up; }));
  CHECK(statusOf(checker).up);
  CHECK(rec.allOfSize(1));
}

TEST_CASE("checker: every snapshot has one entry per target, setTargets publishes at once") {
  Recorder rec;
  Checker checker(rec.callback());
  checker.start();
  CheckSpec none;
  none.kind = CheckKind::None;
  none.address = "127.0.0.1";
  CheckSpec other = none;
  other.address = "127.0.0.2";
  checker.setTargets({none, other, none});
  REQUIRE(waitFor([&] { return rec.count() == 1; }));
  CHECK(rec.allOfSize(3));
  checker.setTargets({});
  REQUIRE(waitFor([&] { return rec.count() == 2; }));
  CHECK(rec.last()->targets.empty());
  CHECK(checker.status().empty());
}

TEST_CASE("checker: stop with probes in flight, and stop without start") {
  HttpServer server;
  server.respond({200, "", {}, true});
  {
    Checker checker(nullptr);
    CheckSpec hang = httpSpec(server.port());
    hang.timeout_ms = 5000;
    CheckSpec tcp = tcpSpec(server.port());
    tcp.timeout_ms = 5000;
    checker.setTargets({hang, tcp});
    checker.start();
    REQUIRE(waitFor([&] { return server.requests() >= 1; }));
    const auto t0 = std::chrono::steady_clock::now();
    checker.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    checker.stop();              // idempotent
    checker.setTargets({hang});  // ignored
    CHECK(checker.status().empty());
  }
  {
    Checker idle(nullptr);
    idle.setTargets({httpSpec(server.port())});
  }  // destroyed without start
}

TEST_CASE("checker: a never-seen target's first result decides - saved health seeds hysteresis") {
  HttpServer server;  // answers 200: every target here is really up
  HttpServer silent;  // never answers: the saved entry is all there is while the test runs
  silent.respond({200, "", {}, true});
  Recorder rec;
  Checker checker(rec.callback());
  CheckSpec fresh = httpSpec(server.port());
  fresh.rise = fresh.fall = 3;
  fresh.initial_up = false;
  CheckSpec saved_down = fresh;
  saved_down.path = "/saved";  // another key, the same server
  saved_down.interval_ms = 60'000;  // no second probe while the test runs
  // Probed at once too: read before its own result can replace what was saved.
  CheckSpec saved_silent = httpSpec(silent.port());
  saved_silent.timeout_ms = saved_silent.interval_ms = 60'000;
  CheckSpec stale = fresh;
  stale.path = "/stale";
  CheckSpec dead = tcpSpec(testutil::closedPort());
  dead.rise = dead.fall = 3;  // initial up: one refused connection takes it down at once

  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  checker.setSavedHealth({{saved_down.key(), SavedHealth{false, std::nullopt, now - 1000}},
                          {saved_silent.key(), SavedHealth{false, 30, now - 1000}},
                          {stale.key(), SavedHealth{false, std::nullopt, now - 3'600'000}}});
  startWith(checker, {fresh, saved_down, stale, dead, saved_silent});
  auto s = checker.status();
  CHECK(s[1].from_saved);
  CHECK(s[1].seen);
  CHECK_FALSE(s[1].up);
  CHECK(s[4].from_saved);
  CHECK(s[4].seen);
  CHECK_FALSE(s[4].up);
  CHECK(s[4].reported_weight == 30);
  CHECK(s[4].observed_unix_ms == now - 1000);
  CHECK_FALSE(s[2].from_saved);  // an hour old: ignored

  REQUIRE(waitFor([&] {
    auto l = rec.last();
    return l && l->targets.size() == 5 && l->awaiting_first == 0;
  }));
  s = checker.status();
  CHECK(s[0].up);  // one success with rise 3: the first result decides
  CHECK(s[0].checks == 1);
  CHECK(s[0].seen);
  CHECK(s[0].observed_unix_ms >= now);
  CHECK_FALSE(s[1].up);  // saved down: one success is not rise 3
  CHECK(s[1].checks >= 1);
  CHECK(s[2].up);  // the stale entry did not hold it down
  CHECK_FALSE(s[3].up);  // one failure with fall 3
  CHECK(s[4].checks == 0);
  CHECK_FALSE(s[4].up);  // still as saved
  auto l = rec.last();
  CHECK(l->targets[0].up);
  CHECK_FALSE(l->targets[1].up);
  CHECK_FALSE(l->targets[3].up);
}

TEST_CASE("checker: awaiting_first counts targets with no result yet") {
  HttpServer server;
  server.respond({200, "", {}, true});  // never answers: the probe times out
  Recorder rec;
  Checker checker(rec.callback());
  CheckSpec silent = httpSpec(server.port());
  silent.timeout_ms = 300;
  CheckSpec none;
  none.kind = CheckKind::None;
  none.address = "127.0.0.9";
  startWith(checker, {silent, none});
  REQUIRE(waitFor([&] { return rec.last() != nullptr; }));
  CHECK(rec.last()->awaiting_first == 1);  // `none` is never probed, so never waited for
  REQUIRE(waitFor([&] { return rec.last()->awaiting_first == 0; }, 2000));
  CHECK_FALSE(statusOf(checker).up);  // the timeout was its first result
}
