// Pools in the TOML zone format (dns/zone/toml_pools.cc): the demo zone, every value form and
// default, and the errors of broken pools.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
using health::CheckKind;
using health::CheckSpec;
namespace type = rrdns::wire::type;
using namespace zonetest;

namespace {


const Pool& pool(const Zone& zone, std::string_view name) {
  for (const auto& p : zone.pools())
    if (p->name == name) return *p;
  FAIL("no pool ", name);
  throw std::logic_error("unreachable");
}

// The node at `name` must be answered by the pool called `pool_name`.
void checkAnsweredBy(const Zone& zone, std::string_view name, std::string_view pool_name) {
  const Node* node = zone.find(wireName(name));
  REQUIRE_MESSAGE(node, name);
  REQUIRE_MESSAGE(node->pool, name);
  CHECK(node->pool->name == pool_name);
}


}  // namespace

// --- the demo zone ---

TEST_CASE("zones/demo.toml: pools www and weighted over three replicas") {
  const std::string path = sourcePath("zones/demo.toml");
  const auto set_load = loadZoneSet({path});
  REQUIRE_MESSAGE(errorLines(set_load).empty(), joined(errorLines(set_load)));
  const ZoneSet& set = **set_load.zones;
  const Zone* zone = set.findZone(wireName("www.demo.test."));
  REQUIRE(zone);
  CHECK(zone->apex() == wireName("demo.test."));
  CHECK(zone->serial() == 1);
  REQUIRE(zone->pools().size() == 2);

  const Pool& www = pool(*zone, "www");
  CHECK(www.zone == wireName("demo.test."));
  CHECK(www.source.starts_with(path + ":"));
  CHECK(www.owners == std::vector<std::string>{wireName("www.demo.test.")});
  CHECK(www.policy == PoolPolicy::Rotate);
  CHECK(www.ttl == 5);
  CHECK(www.degraded_ttl == 2);
  CHECK(www.max_addresses == 0);
  CHECK(www.min_healthy == 0.0);
  CHECK(www.all_down == AllDown::All);
  CHECK(www.slow_start_ms == 0);
  REQUIRE(www.members.size() == 3);
  for (uint8_t i = 0; i < 3; ++i) {
    const PoolMember& member = www.members[i];
    const std::string text = "127.0.0." + std::to_string(11 + i);
    CHECK(member.text == text);
    CHECK(member.address == bytes({127, 0, 0, uint8_t(11 + i)}));
    CHECK(member.rtype == type::A);
    CHECK(member.weight == 100);
    const CheckSpec& check = member.check;
    CHECK(check.kind == CheckKind::Http);
    CHECK(check.address == text);
    CHECK(check.port == 8080);
    CHECK(check.path == "/healthz");
    CHECK(check.host.empty());
    CHECK(check.expect == std::vector<uint16_t>{200});
    CHECK(check.body_match.empty());
    CHECK(check.interval_ms == 1000);
    CHECK(check.timeout_ms == 500);
    CHECK(check.jitter_ms == 0);
    CHECK(check.rise == 2);
    CHECK(check.fall == 2);
    CHECK(check.initial_up);
  }

  const Pool& weighted = pool(*zone, "weighted");
  CHECK(weighted.policy == PoolPolicy::Weighted);
  CHECK(weighted.owners == std::vector<std::string>{wireName("weighted.demo.test.")});
  REQUIRE(weighted.members.size() == 3);
  CHECK(weighted.members[0].weight == 60);
  CHECK(weighted.members[1].weight == 30);
  CHECK(weighted.members[2].weight == 10);
  for (size_t i = 0; i < 3; ++i)
    CHECK(weighted.members[i].check.key() == www.members[i].check.key());

  checkAnsweredBy(*zone, "www.demo.test.", "www");
  checkAnsweredBy(*zone, "weighted.demo.test.", "weighted");
  CHECK_FALSE(zone->apexNode().pool);
  const Node* alias = zone->find(wireName("alias.demo.test."));
  REQUIRE(alias);
  CHECK(alias->find(type::CNAME));
  CHECK(zone->apexNode().find(type::TXT));

  // Two pools of three members name only three distinct check targets.
  CHECK(set.pools().size() == 2);
  REQUIRE(set.targets().size() == 3);
  std::set<uint32_t> targets;
  for (const Pool* p : set.pools())
    for (const auto& member : p->members) {
      REQUIRE(member.target < set.targets().size());
      CHECK(set.targets()[member.target].address == member.text);
      targets.insert(member.target);
    }
  CHECK(targets.size() == 3);
  CHECK(set.targets()[www.members[0].target].description() == "http://127.0.0.11:8080/healthz");
}

// --- value forms and defaults ---

TEST_CASE("a pool with only names and members gets every default") {
  const std::string path = sourcePath("tests/fixtures/zones/pool-forms.toml");
  const auto load = loadTomlZone(path);
  const Pool& plain = pool(loaded(load), "plain");
  CHECK(plain.source == path + ":17");
  CHECK(plain.policy == PoolPolicy::Rotate);
  CHECK(plain.max_addresses == 0);
  CHECK(plain.ttl == 120);  // the zone ttl
  CHECK(plain.degraded_ttl == 120);
  CHECK(plain.min_healthy == 0.0);
  CHECK(plain.all_down == AllDown::All);
  CHECK(plain.slow_start_ms == 0);
  REQUIRE(plain.members.size() == 1);
  const PoolMember& member = plain.members[0];
  CHECK(member.weight == 100);
  CHECK(member.rtype == type::A);
  const CheckSpec& check = member.check;
  CHECK(check.kind == CheckKind::Http);
  CHECK(check.address == "192.0.2.10");
  CHECK(check.port == 80);
  CHECK(check.path == "/healthz");
  CHECK(check.host.empty());
  CHECK(check.expect == std::vector<uint16_t>{200});
  CHECK(check.body_match.empty());
  CHECK(check.interval_ms == 2000);
  CHECK(check.timeout_ms == 1000);
  CHECK(check.jitter_ms == 0);
  CHECK(check.rise == 2);
  CHECK(check.fall == 2);
  CHECK(check.initial_up);
}

TEST_CASE("every pool key and member form") {
  const auto load = loadTomlZone(sourcePath("tests/fixtures/zones/pool-forms.toml"));
  const Zone& zone = loaded(load);
  REQUIRE(zone.pools().size() == 5);
  const Pool& full = pool(zone, "full");
  CHECK(full.owners == std::vector<std::string>{wireName("pools.test."),
                                                wireName("www.pools.test."),
                                                wireName("*.any.pools.test.")});
  checkAnsweredBy(zone, "pools.test.", "full");
  checkAnsweredBy(zone, "www.pools.test.", "full");
  checkAnsweredBy(zone, "*.any.pools.test.", "full");
  CHECK(full.policy == PoolPolicy::Weighted);  // keywords ignore case
  CHECK(full.max_addresses == 2);
  CHECK(full.ttl == 30);
  CHECK(full.degraded_ttl == 5);
  CHECK(full.min_healthy == 0.5);
  CHECK(full.all_down == AllDown::Servfail);
  CHECK(full.slow_start_ms == 60'000);

  REQUIRE(full.members.size() == 4);
  const PoolMember& text_form = full.members[0];
  CHECK(text_form.text == "192.0.2.11");
  CHECK(text_form.weight == 100);
  const CheckSpec& check = text_form.check;
  CHECK(check.kind == CheckKind::Http);
  CHECK(check.address == "192.0.2.11");
  CHECK(check.port == 8080);
  CHECK(check.path == "/status?full=1");
  CHECK(check.host == "www.pools.test");
  CHECK(check.expect == std::vector<uint16_t>{204});  // an integer for a one-code list
  CHECK(check.body_match == "ok");
  CHECK(check.interval_ms == 500);  // "500ms"
  CHECK(check.timeout_ms == 500);   // 0.5
  CHECK(check.jitter_ms == 250);
  CHECK(check.rise == 3);
  CHECK(check.fall == 1);
  CHECK_FALSE(check.initial_up);

  // Per-member overrides change only the port and Host header of that member's check.
  const PoolMember& table_form = full.members[1];
  CHECK(table_form.weight == 50);
  CHECK(table_form.check.address == "192.0.2.12");
  CHECK(table_form.check.port == 8081);
  CHECK(table_form.check.host == "web12.pools.test");
  CHECK(table_form.check.path == "/status?full=1");
  CHECK(table_form.check.interval_ms == 500);

  const PoolMember& v6 = full.members[2];
  CHECK(v6.rtype == type::AAAA);
  CHECK(v6.text == "2001:db8::1");  // canonical, so equal targets compare equal
  CHECK(v6.check.address == "2001:db8::1");
  CHECK(v6.address == bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(v6.weight == 0);
  CHECK(v6.check.port == 8080);
  CHECK(v6.check.host == "www.pools.test");

  // An IPv4-mapped IPv6 address is an AAAA member, not a duplicate of 192.0.2.11.
  CHECK(full.members[3].rtype == type::AAAA);
  CHECK(full.members[3].address.size() == 16);

  const Pool& secure = pool(zone, "secure");
  CHECK(secure.min_healthy == 1.0);  // the integer 1
  CHECK(secure.all_down == AllDown::None);
  REQUIRE(secure.members.size() == 2);
  CHECK(secure.members[0].check.kind == CheckKind::Https);
  CHECK(secure.members[0].check.port == 9443);
  CHECK(secure.members[1].check.port == 443);  // the https default
  CHECK(secure.members[1].check.expect == std::vector<uint16_t>{200, 301});
  CHECK(secure.members[1].check.interval_ms == 1500);
  CHECK(secure.members[1].check.timeout_ms == 1500);

  const Pool& tcp = pool(zone, "tcp");
  CHECK(tcp.policy == PoolPolicy::Random);
  CHECK(tcp.members[0].check.kind == CheckKind::Tcp);
  CHECK(tcp.members[0].check.port == 25);
  CHECK(tcp.members[0].check.interval_ms == 200);
  CHECK(tcp.members[0].check.timeout_ms == 200);

  const Pool& unchecked = pool(zone, "unchecked");
  REQUIRE(unchecked.members.size() == 2);
  CHECK(unchecked.members[1].check.kind == CheckKind::None);
  CHECK(unchecked.members[1].check.address == "192.0.2.41");
}

TEST_CASE("durations: seconds as numbers, or strings with ms, s or m") {
  const auto slowStart = [](std::string_view value) {
    const TextZone text(
        withHeader("[pools.p]\nnames = [\"p\"]\nmembers = [\"192.0.2.1\"]\n"
                   "slow-start = " +
                   std::string(value) + "\n"));
    const Zone& zone = loaded(text.load());
    return pool(zone, "p").slow_start_ms;
  };
  CHECK(slowStart("0") == 0);
  CHECK(slowStart("30") == 30'000);
  CHECK(slowStart("0.5") == 500);
  CHECK(slowStart("\"500ms\"") == 500);
  CHECK(slowStart("\"2s\"") == 2000);
  CHECK(slowStart("\"1.5s\"") == 1500);
  CHECK(slowStart("\"1m\"") == 60'000);
  CHECK(slowStart("\"0.0004s\"") == 0);  // below a millisecond rounds
}

// --- errors ---

TEST_CASE("bad member addresses and duplicates") {
  const TextZone text(withHeader(R"([pools.www]
names = ["www"]
members = [
  "127.0.0.11",
  { address = "127.0.0.300" },
  "www.t.test",
  { address = "127.0.0.11", weight = 5 },
  "::1",
  "0:0::1",
]
)"));
  CHECK_FALSE(text.load().zone);
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() ==
        std::vector<std::string>{
            at(5, "pools.www.members[1].address") + "'127.0.0.300' is not an IP address",
            at(6, "pools.www.members[2]") + "'www.t.test' is not an IP address",
            at(7, "pools.www.members[3].address") +
                "'127.0.0.11' is already a member of this pool (members[0])",
            at(9, "pools.www.members[5]") + "'::1' is already a member of this pool (members[4])",
        });
}

TEST_CASE("the errors of a pool come out in file order") {
  // The check is read before the members that copy it, yet its error is reported after theirs.
  const TextZone text(withHeader(R"([pools.www]
names = ["www"]
members = ["192.0.2.300"]
[pools.www.check]
type = "icmp"
rise = 0
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() == std::vector<std::string>{
                             at(3, "pools.www.members[0]") + "'192.0.2.300' is not an IP address",
                             at(5, "pools.www.check.type") +
                                 "unknown check type 'icmp' (expected http, https, tcp or none)",
                             at(6, "pools.www.check.rise") + "0 is out of range (1 to 100)",
                         });
}

TEST_CASE("unknown keywords: policy, all-down, check type, initial") {
  const TextZone text(withHeader(R"([pools.www]
names = ["www"]
members = ["192.0.2.1"]
policy = "fastest"
all-down = "some"
[pools.www.check]
type = "icmp"
initial = "maybe"
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(4, "pools.www.policy"),
              "unknown policy 'fastest' (expected rotate, weighted or random)");
  CHECK_ERROR(text, at(5, "pools.www.all-down"),
              "unknown all-down 'some' (expected all, none or servfail)");
  CHECK_ERROR(text, at(7, "pools.www.check.type"),
              "unknown check type 'icmp' (expected http, https, tcp or none)");
  CHECK_ERROR(text, at(8, "pools.www.check.initial"),
              "unknown initial state 'maybe' (expected up or down)");
  CHECK(text.errors().size() == 4);
}

TEST_CASE("timers, fractions and numbers out of range") {
  const TextZone text(withHeader(R"([pools.www]
names = ["www"]
members = [{ address = "192.0.2.1", weight = 1001, port = 0 }]
min-healthy = 1.5
slow-start = -1
max-addresses = 257
degraded-ttl = -5
[pools.www.check]
interval = "2s"
timeout = "3s"
jitter = "-1s"
rise = 0
fall = 101
expect = [200, 99]
[pools.tcp]
names = ["tcp"]
members = ["192.0.2.2"]
check = { type = "tcp", interval = 0, timeout = "fast" }
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(3, "pools.www.members[0].weight"),
              "weight 1001 is out of range (0 to 1000)");
  CHECK_ERROR(text, at(3, "pools.www.members[0].port"), "port 0 is out of range (1 to 65535)");
  CHECK_ERROR(text, at(4, "pools.www.min-healthy"), "1.5 is out of range (0.0 to 1.0)");
  CHECK_ERROR(text, at(5, "pools.www.slow-start"), "duration -1 is negative");
  CHECK_ERROR(text, at(6, "pools.www.max-addresses"), "257 is out of range (0 to 256)");
  CHECK_ERROR(text, at(7, "pools.www.degraded-ttl"), "TTL -5 is out of range");
  CHECK_ERROR(text, at(10, "pools.www.check.timeout"),
              "timeout 3000 ms is longer than the interval 2000 ms");
  CHECK_ERROR(text, at(11, "pools.www.check.jitter"), "duration '-1s' is negative");
  CHECK_ERROR(text, at(12, "pools.www.check.rise"), "0 is out of range (1 to 100)");
  CHECK_ERROR(text, at(13, "pools.www.check.fall"), "101 is out of range (1 to 100)");
  CHECK_ERROR(text, at(14, "pools.www.check.expect[1]"), "status 99 is out of range (100 to 599)");
  CHECK_ERROR(text, at(18, "pools.tcp.check.port"), "missing; a tcp check needs a port");
  CHECK_ERROR(text, at(18, "pools.tcp.check.interval"), "must be above 0");
  CHECK_ERROR(text, at(18, "pools.tcp.check.timeout"), "'fast' is not a duration");
  CHECK(text.errors().size() == 14);
}

TEST_CASE("wrong shapes of pool values") {
  const TextZone text(withHeader(R"([pools.a]
names = "a"
members = "192.0.2.1"
[pools.b]
names = ["b", 7]
members = [true]
check = "http"
[pools.c]
names = ["c.other.test."]
members = ["192.0.2.3"]
slow-start = "10"
min-healthy = "half"
[pools.c.check]
path = "healthz"
host = "a b"
expect = "200"
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(2, "pools.a.names"), "expected an array of names");
  CHECK_ERROR(text, at(3, "pools.a.members"), "expected an array of members, got a string");
  CHECK_ERROR(text, at(5, "pools.b.names[1]"), "expected a string, got an integer");
  CHECK_ERROR(text, at(6, "pools.b.members[0]"),
              "expected an address (e.g. \"192.0.2.1\") or a table");
  CHECK_ERROR(text, at(7, "pools.b.check"), "expected a table");
  CHECK_ERROR(text, at(9, "pools.c.names[0]"), "'c.other.test.' is outside the zone t.test.");
  CHECK_ERROR(text, at(11, "pools.c.slow-start"), "'10' is not a duration");
  CHECK_ERROR(text, at(12, "pools.c.min-healthy"), "expected a fraction from 0.0 to 1.0");
  CHECK_ERROR(text, at(14, "pools.c.check.path"), "'healthz' is not a request path");
  CHECK_ERROR(text, at(15, "pools.c.check.host"), "'a b' is not a Host header value");
  CHECK_ERROR(text, at(16, "pools.c.check.expect"), "expected a status code or an array");
  CHECK(text.errors().size() == 11);
}

TEST_CASE("unknown keys in a pool, its check and its members") {
  const TextZone text(withHeader(R"([pools.www]
names = ["www"]
members = [{ address = "192.0.2.1", wieght = 5 }]
polcy = "rotate"
[pools.www.check]
intervall = 2
[pools."bad name"]
names = ["x"]
members = ["192.0.2.9"]
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(3, "pools.www.members[0].wieght"),
              "unknown key (expected address, weight, port or host)");
  CHECK_ERROR(text, at(4, "pools.www.polcy"), "unknown key (expected names, policy,");
  CHECK_ERROR(text, at(6, "pools.www.check.intervall"), "unknown key (expected type, port,");
  CHECK_ERROR(text, at(7, "pools.\"bad name\""), "a pool name is 1 to 64 letters");
  CHECK(text.errors().size() == 4);
}

TEST_CASE("a pool needs names and members") {
  const TextZone text(withHeader(R"([pools.nomembers]
names = ["a"]
[pools.nonames]
members = ["192.0.2.1"]
[pools.empty]
names = []
members = []
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK(text.errors() ==
        std::vector<std::string>{
            at(1, "pools.nomembers.members") +
                "missing; the pool's addresses, e.g. members = [\"192.0.2.1\", \"192.0.2.2\"], "
                "or discover = \"web\" to take them from a DNS name",
            at(3, "pools.nonames.names") +
                "missing; the names this pool answers, e.g. names = [\"www\"]",
            at(6, "pools.empty.names") + "empty array; a pool answers at least one name",
            at(7, "pools.empty.members") + "empty array; a pool needs at least one member",
        });
}

TEST_CASE("a pool's name may not also have address records or belong to another pool") {
  const TextZone text(withHeader(R"([names.www]
A = "192.0.2.1"
[pools.www]
names = ["www", "api"]
members = ["192.0.2.2"]
[pools.api]
names = ["api"]
members = ["192.0.2.3"]
)"));
  CHECK_FALSE(text.load().zone);
  CHECK(text.errors() ==
        std::vector<std::string>{
            text.at(kHeaderLines + 6, "pools.api") +
                "'api.t.test.' is already answered by pool 'www'",
            text.path() + ": 'www.t.test.' is answered by pool 'www' and also has A, AAAA or CNAME "
                          "records; keep one",
        });
}

TEST_CASE("pools is a top-level key and must be a table") {
  const TextZone text(withHeader("")), wrong("pools = 1\n" + withHeader(""));
  CHECK(text.load().zone);
  CHECK((*text.load().zone)->pools().empty());
  CHECK_ERROR(wrong, wrong.at(1, "pools"), "expected a table of pools");
}
