// render_test.cc -- the generic text rendering of responses (dns/control/render).
#include "dns/control/render.hh"

#include <doctest/doctest.h>

using namespace rrdns::control;

TEST_CASE("render: scalars as aligned key: value lines, v and ok left out") {
  Json response = Json::parse(R"({"v":1,"ok":true,"version":"0.1.0","uptime_s":12,
                                  "serving":true,"load":0.5,"zone":null})");
  CHECK(renderText(response) ==
        "version:  0.1.0\n"
        "uptime_s: 12\n"
        "serving:  true\n"
        "load:     0.5\n"
        "zone:     -\n");
  CHECK(renderText(makeOk()) == "");
}

TEST_CASE("render: nested objects flatten with dots, arrays of scalars join") {
  Json response = Json::parse(R"({"v":1,"ok":true,
      "reloads":{"ok":3,"failed":1,"last":{"at":"12:00","serials":[1,2]}},
      "zones":["rr.test.","demo.test."],"empty":[],"nothing":{}})");
  CHECK(renderText(response) ==
        "reloads.ok:           3\n"
        "reloads.failed:       1\n"
        "reloads.last.at:      12:00\n"
        "reloads.last.serials: 1, 2\n"
        "zones:                rr.test., demo.test.\n"
        "empty:                (none)\n"
        "nothing:              (none)\n");
}

TEST_CASE("render: an array of objects is a table over the union of the rows' keys") {
  Json response = Json::parse(R"({"v":1,"ok":true,"pool":"www","members":[
      {"name":"web1","address":"10.0.0.1","weight":100,"health":{"state":"up","rtt_ms":1.23456}},
      {"name":"web22","address":"10.0.0.2","weight":5,"drained":true,
       "health":{"state":"down","rtt_ms":null}},
      {"name":"web3","weight":null,"tags":["a","b"]}],"total":3})");
  CHECK(renderText(response) ==
        "pool:  www\n"
        "\n"
        "members:\n"
        "  name   address   weight  health.state  health.rtt_ms  drained  tags\n"
        "  web1   10.0.0.1     100  up                    1.235  -        -\n"
        "  web22  10.0.0.2       5  down                      -  true     -\n"
        "  web3   -              -  -                         -  -        a, b\n"
        "\n"
        "total: 3\n");
}

TEST_CASE("render: a table nested in an object, and arrays that are not all objects") {
  Json response = Json::parse(R"({"v":1,"ok":true,
      "pools":{"www":{"members":[{"name":"a"},{"name":"b","up":false}]}},
      "mixed":[1,{"x":2},"s"]})");
  CHECK(renderText(response) ==
        "pools.www.members:\n"
        "  name  up\n"
        "  a     -\n"
        "  b     false\n"
        "\n"
        "mixed: 1, {\"x\":2}, s\n");
}

TEST_CASE("render: numbers") {
  CHECK(formatNumber(2.0) == "2");
  CHECK(formatNumber(0.5) == "0.5");
  CHECK(formatNumber(1.23456) == "1.235");
  CHECK(formatNumber(-0.0001) == "0");
  CHECK(formatNumber(100.10) == "100.1");
  CHECK(formatNumber(12345.6789) == "12345.679");
  CHECK(formatNumber(1e20) == "1e+20");
  CHECK(formatValue(Json(-7)) == "-7");
  CHECK(formatValue(Json(18446744073709551615ULL)) == "18446744073709551615");
  CHECK(formatValue(Json(nullptr)) == "-");
  CHECK(formatValue(Json("text")) == "text");
  CHECK(formatValue(Json::array({1.5, 2, "x"})) == "1.5, 2, x");
}

TEST_CASE("render: a whole number under a key ending in _until is a unix time") {
  CHECK(formatUntil(1796294700, 1796294400) == "2026-12-03T10:45:00Z (300 s left)");
  CHECK(formatUntil(1796294700, 1796294701) == "2026-12-03T10:45:00Z (0 s left)");
  // Time 0 has passed, so the text does not depend on the clock.
  Json response = Json::parse(R"({"v":1,"ok":true,"member":"10.0.0.1","drain_until":0,
      "members":[{"name":"a","drain_until":0},{"name":"b","drain_until":null}],
      "not_until":1.5})");
  CHECK(renderText(response) ==
        "member:      10.0.0.1\n"
        "drain_until: 1970-01-01T00:00:00Z (0 s left)\n"
        "\n"
        "members:\n"
        "  name  drain_until\n"
        "  a     1970-01-01T00:00:00Z (0 s left)\n"
        "  b     -\n"
        "\n"
        "not_until:   1.5\n");
}

TEST_CASE("render: a whole number under a key ending in _at is a point in time, 0 unset") {
  CHECK(formatAt(1796294700) == "2026-12-03T10:45:00Z");
  CHECK(formatAt(0) == "-");
  Json response = Json::parse(R"({"v":1,"ok":true,"next_event_at":1796294700,
      "keys":[{"tag":1,"active_at":1796294700,"retire_at":0}],"format":"x"})");
  CHECK(renderText(response) ==
        "next_event_at: 2026-12-03T10:45:00Z\n"
        "\n"
        "keys:\n"
        "  tag  active_at             retire_at\n"
        "    1  2026-12-03T10:45:00Z  -\n"
        "\n"
        "format:        x\n");
}
