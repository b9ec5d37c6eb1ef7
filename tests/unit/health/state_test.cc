// state_test.cc -- rise/fall hysteresis, CheckSpec identity/description, weight header parsing.
#include "dns/health/state.hh"

#include <doctest/doctest.h>

#include <functional>
#include <vector>

#include "dns/health/http_probe.hh"

using namespace rrdns::health;

namespace {

// Feeds results in order; returns the up/down state after each one.
std::vector<bool> feed(Hysteresis& h, const std::vector<bool>& results) {
  std::vector<bool> states;
  for (bool r : results) {
    h.record(r);
    states.push_back(h.up());
  }
  return states;
}

}  // namespace

TEST_CASE("Hysteresis: fall failures take an up target down, rise successes bring it back") {
  Hysteresis h(true, 2, 3, /*seen=*/true);
  CHECK(h.up());
  CHECK_FALSE(h.record(false));
  CHECK_FALSE(h.record(false));
  CHECK(h.up());
  CHECK(h.record(false));  // third failure: the transition is reported once
  CHECK_FALSE(h.up());
  CHECK(h.failures() == 3);
  CHECK_FALSE(h.record(false));  // staying down is no change
  CHECK_FALSE(h.record(true));
  CHECK_FALSE(h.up());
  CHECK(h.record(true));
  CHECK(h.up());
  CHECK(h.successes() == 2);
}

TEST_CASE("Hysteresis: a known starting state (saved health) needs rise or fall results") {
  Hysteresis down(false, 3, 2, true);
  CHECK(feed(down, {true, true, true, true}) == std::vector<bool>{false, false, true, true});
  Hysteresis up(true, 3, 2, true);
  CHECK(feed(up, {false, false, false}) == std::vector<bool>{true, false, false});
  Hysteresis up_ok(true, 3, 2, true);
  CHECK(feed(up_ok, {true, true}) == std::vector<bool>{true, true});
}

TEST_CASE("Hysteresis: a never-seen target's first result decides - hysteresis from then on") {
  SUBCASE("initial up, first result a failure: down at once") {
    Hysteresis h(true, 3, 2);
    CHECK_FALSE(h.seen());
    CHECK(h.record(false));  // the change is reported
    CHECK(h.seen());
    CHECK_FALSE(h.up());
    CHECK(h.failures() == 1);
    // From here on rise applies: two successes are not enough with rise 3.
    CHECK(feed(h, {true, true, true}) == std::vector<bool>{false, false, true});
  }
  SUBCASE("initial down, first result a success: up at once") {
    Hysteresis h(false, 3, 2);
    CHECK(h.record(true));
    CHECK(h.up());
    CHECK(h.successes() == 1);
    CHECK(feed(h, {false, false}) == std::vector<bool>{true, false});
  }
  SUBCASE("a first result that confirms the initial state is no change, but it is seen") {
    Hysteresis h(true, 2, 2);
    CHECK_FALSE(h.record(true));
    CHECK(h.seen());
    CHECK(feed(h, {false, true, false}) == std::vector<bool>{true, true, true});
  }
}

TEST_CASE("savedHealthUsable: younger than interval x fall (saved up) or x rise (saved down)") {
  CheckSpec spec;
  spec.interval_ms = 1000;
  spec.jitter_ms = 500;
  spec.rise = 4;
  spec.fall = 2;
  CHECK(savedHealthMaxAgeMs(spec, true) == 3000);
  CHECK(savedHealthMaxAgeMs(spec, false) == 6000);
  const int64_t now = 1'764'770'000'000;
  SavedHealth up{true, std::nullopt, now - 2999};
  CHECK(savedHealthUsable(spec, up, now));
  up.observed_unix_ms = now - 3000;
  CHECK_FALSE(savedHealthUsable(spec, up, now));
  SavedHealth down{false, std::nullopt, now - 5999};
  CHECK(savedHealthUsable(spec, down, now));
  down.observed_unix_ms = now - 6000;
  CHECK_FALSE(savedHealthUsable(spec, down, now));
  // From the future: a second of slack, no more.
  down.observed_unix_ms = now + 900;
  CHECK(savedHealthUsable(spec, down, now));
  down.observed_unix_ms = now + 1100;
  CHECK_FALSE(savedHealthUsable(spec, down, now));
  // Never observed, or nothing checks the target: nothing to start from.
  CHECK_FALSE(savedHealthUsable(spec, SavedHealth{true, std::nullopt, 0}, now));
  spec.kind = CheckKind::None;
  CHECK_FALSE(savedHealthUsable(spec, SavedHealth{true, std::nullopt, now}, now));
}

TEST_CASE("Hysteresis: rise=1/fall=1 follows every result - 0 counts as 1") {
  for (uint32_t n : {0u, 1u}) {
    Hysteresis h(true, n, n, true);
    CHECK(feed(h, {false, true, false, false, true}) ==
          std::vector<bool>{false, true, false, false, true});
  }
}

TEST_CASE("Hysteresis: alternating results never flip with rise=fall=2") {
  for (bool initial : {true, false}) {
    Hysteresis h(initial, 2, 2, true);
    for (int i = 0; i < 20; ++i) {
      CHECK_FALSE(h.record(i % 2 == 0));
      CHECK(h.up() == initial);
    }
  }
}

TEST_CASE("Hysteresis: the opposite result resets the run") {
  Hysteresis h(true, 2, 3, /*seen=*/true);
  h.record(false);
  h.record(false);
  CHECK(h.failures() == 2);
  h.record(true);
  CHECK(h.failures() == 0);
  CHECK(h.successes() == 1);
  h.record(false);
  h.record(false);
  CHECK(h.up());  // only two in a row since the success
  CHECK(h.successes() == 0);
  CHECK(h.record(false));
}

TEST_CASE("Hysteresis: setThresholds keeps state and runs") {
  Hysteresis h(true, 2, 5, true);
  h.record(false);
  h.record(false);
  h.setThresholds(2, 3);
  CHECK(h.up());
  CHECK(h.record(false));
  CHECK_FALSE(h.up());
}

TEST_CASE("CheckSpec::key: equal for equal specs, different for any probe-relevant field") {
  CheckSpec base;
  base.address = "127.0.0.11";
  base.port = 8080;
  CHECK(base.key() == CheckSpec(base).key());

  const std::vector<std::function<void(CheckSpec&)>> changes = {
      [](CheckSpec& s) { s.kind = CheckKind::Https; },
      [](CheckSpec& s) { s.kind = CheckKind::Tcp; },
      [](CheckSpec& s) { s.kind = CheckKind::None; },
      [](CheckSpec& s) { s.address = "127.0.0.12"; },
      [](CheckSpec& s) { s.address = "::1"; },
      [](CheckSpec& s) { s.port = 8081; },
      [](CheckSpec& s) { s.path = "/health"; },
      [](CheckSpec& s) { s.host = "www.example"; },
      [](CheckSpec& s) { s.expect = {200, 204}; },
      [](CheckSpec& s) { s.expect = {204}; },
      [](CheckSpec& s) { s.body_match = "ok"; },
      [](CheckSpec& s) { s.timeout_ms = 500; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    CheckSpec other = base;
    changes[i](other);
    CHECK_MESSAGE(other.key() != base.key(), "change #", i);
  }

  // Fields cannot bleed into each other.
  CheckSpec a = base, b = base;
  a.path = "/x|";
  a.host = "";
  b.path = "/x";
  b.host = "|";
  CHECK(a.key() != b.key());

  // Timing and thresholds are not identity: retuning them keeps the target's state.
  CheckSpec tuned = base;
  tuned.interval_ms = 5000;
  tuned.jitter_ms = 100;
  tuned.rise = 5;
  tuned.fall = 1;
  tuned.initial_up = false;
  CHECK(tuned.key() == base.key());

  // Expect is a set.
  a = base;
  b = base;
  a.expect = {200, 204};
  b.expect = {204, 200, 200};
  CHECK(a.key() == b.key());

  // A TCP probe ignores the HTTP fields.
  CheckSpec t1 = base, t2 = base;
  t1.kind = t2.kind = CheckKind::Tcp;
  t2.path = "/other";
  t2.body_match = "x";
  CHECK(t1.key() == t2.key());
  t2.port = 1;
  CHECK(t1.key() != t2.key());
}

TEST_CASE("CheckSpec::description") {
  CheckSpec s;
  s.address = "127.0.0.11";
  s.port = 8080;
  CHECK(s.description() == "http://127.0.0.11:8080/healthz");
  s.kind = CheckKind::Https;
  s.address = "2001:db8::1";
  s.port = 443;
  s.path = "status";
  CHECK(s.description() == "https://[2001:db8::1]:443/status");
  s.kind = CheckKind::Tcp;
  CHECK(s.description() == "tcp [2001:db8::1]:443");
  s.address = "127.0.0.11";
  CHECK(s.description() == "tcp 127.0.0.11:443");
}

TEST_CASE("parseWeight: 0..100 with blanks, anything else is none") {
  CHECK(parseWeight("0") == std::optional<uint8_t>(0));
  CHECK(parseWeight(" 40\r\n") == std::optional<uint8_t>(40));
  CHECK(parseWeight("100") == std::optional<uint8_t>(100));
  CHECK(parseWeight("007") == std::optional<uint8_t>(7));
  for (const char* bad : {"", " ", "101", "-1", "4 0", "40%", "abc", "1000", "0x10", "+5"}) {
    CHECK_MESSAGE(!parseWeight(bad), bad);
  }
}

// Written out in six places before (checker, first snapshot, pool states, explain, metrics,
// rrdnsctl), two of which forgot that an unchecked target is up: a discovered member with
// `check = { type = "none" }` (initial_up false) showed as down until the first snapshot.
TEST_CASE("CheckSpec::startsUp: initial state, and an unchecked target is always up") {
  CheckSpec spec;
  spec.kind = CheckKind::Http;
  spec.initial_up = true;
  CHECK(spec.startsUp());
  spec.initial_up = false;
  CHECK_FALSE(spec.startsUp());
  spec.kind = CheckKind::None;
  CHECK(spec.startsUp());
}

TEST_CASE("carryOver: a reload keeps each target's health by key; new targets start initial") {
  CheckSpec a, b, c;
  a.address = "192.0.2.1";
  b.address = "192.0.2.2";
  c.address = "192.0.2.3";
  c.initial_up = false;
  const std::vector<CheckSpec> before = {a, b};
  HealthSnapshot previous;
  previous.targets = {{false, 100, 7}, {true, 40, 9}};
  // b moved to the front, a is gone, c is new.
  const auto after = carryOver({b, c}, &before, &previous, 1234);
  REQUIRE(after->targets.size() == 2);
  CHECK(after->taken_ms == 1234);
  CHECK(after->targets[0].up);
  CHECK(after->targets[0].load_weight == 40);
  CHECK(after->targets[0].changed_ms == 9);
  CHECK_FALSE(after->targets[1].up);  // c: initial = down
  CHECK(after->targets[1].load_weight == 100);

  // A snapshot of another target list (a reload raced a check round) carries nothing.
  previous.targets.pop_back();
  const auto fresh = carryOver({a}, &before, &previous, 0);
  CHECK(fresh->targets[0].up);  // a's initial state, not the stale "down"
  // No previous catalog: every target at its initial state.
  CHECK(carryOver({c}, nullptr, nullptr, 0)->targets[0].up == false);
}
