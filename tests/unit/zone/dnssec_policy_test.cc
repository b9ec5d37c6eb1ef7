// A zone's signing policy as the TOML zone reader takes it (toml_support's readDnssecPolicy,
// shared with the server config's zones entries: tests/unit/app/config_test.cc): every key, its
// default, the duration forms, and the errors with their line.
#include <doctest/doctest.h>

#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
using namespace zonetest;

namespace {

// The header zone with a [dnssec] table of `body` after it (its first key on line
// kHeaderLines + 2).
std::string withDnssec(std::string_view body) {
  return withHeader("[dnssec]\n" + std::string(body));
}

}  // namespace

TEST_CASE("dnssec: absent, false, true and an empty table") {
  CHECK_FALSE(loaded(TextZone(withHeader("")).load()).settings().dnssec);
  CHECK_FALSE(loaded(TextZone("dnssec = false\n" + withHeader("")).load()).settings().dnssec);

  const TextZone on("dnssec = true\n" + withHeader(""));
  const auto& policy = loaded(on.load()).settings().dnssec;
  REQUIRE(policy);
  // Knot DNS's defaults.
  CHECK(policy->algorithm == DnssecAlgorithm::EcdsaP256Sha256);
  CHECK_FALSE(policy->single_type_signing);
  CHECK_FALSE(policy->nsec3);
  CHECK(policy->nsec3_iterations == 0);
  CHECK(policy->nsec3_salt_length == 0);
  CHECK(policy->dnskey_ttl == 0);
  CHECK(policy->zsk_lifetime == 30 * 86400);
  CHECK(policy->propagation_delay == 3600);
  CHECK(policy->rrsig_lifetime == 14 * 86400);
  CHECK(policy->rrsig_refresh == 7 * 86400);
  CHECK(policy->source == on.path() + ":1");
  // A signed zone's serial follows its signatures.
  CHECK(loaded(on.load()).settings().serialPolicy() == SerialPolicy::Auto);

  const TextZone table(withDnssec(""));
  REQUIRE(loaded(table.load()).settings().dnssec);
  CHECK(loaded(table.load()).settings().dnssec->source ==
        table.path() + ":" + std::to_string(kHeaderLines + 1));
}

TEST_CASE("dnssec: every key read") {
  const TextZone zone(withDnssec(R"(algorithm = "ed25519"
single-type-signing = true
nsec3 = true
nsec3-iterations = 5
nsec3-salt-length = 8
dnskey-ttl = 600
zsk-lifetime = "90d"
propagation-delay = "30m"
rrsig-lifetime = 7200
rrsig-refresh = "1h"
)"));
  const auto& policy = loaded(zone.load()).settings().dnssec;
  REQUIRE(policy);
  CHECK(policy->algorithm == DnssecAlgorithm::Ed25519);
  CHECK(policy->single_type_signing);
  CHECK(policy->nsec3);
  CHECK(policy->nsec3_iterations == 5);
  CHECK(policy->nsec3_salt_length == 8);
  CHECK(policy->dnskey_ttl == 600);
  CHECK(policy->zsk_lifetime == 90 * 86400);
  CHECK(policy->propagation_delay == 1800);
  CHECK(policy->rrsig_lifetime == 7200);
  CHECK(policy->rrsig_refresh == 3600);

  const TextZone explicit_default(withDnssec("algorithm = \"ecdsap256sha256\"\nzsk-lifetime = 0\n"
                                             "propagation-delay = \"90s\"\n"));
  const auto& p2 = loaded(explicit_default.load()).settings().dnssec;
  REQUIRE(p2);
  CHECK(p2->algorithm == DnssecAlgorithm::EcdsaP256Sha256);
  CHECK(p2->zsk_lifetime == 0);  // never rolled
  CHECK(p2->propagation_delay == 90);
}

TEST_CASE("dnssec: bad values name their line and key") {
  const int l = kHeaderLines + 2;
  const TextZone bad(withDnssec(R"(algorithm = "rsasha256"
single-type-signing = "yes"
nsec3 = true
nsec3-iterations = 101
nsec3-salt-length = 65
dnskey-ttl = -1
zsk-lifetime = "30x"
propagation-delay = 1.5
rrsig-lifetime = "99999999d"
rrsig-refresh = 0
colour = "blue"
)"));
  CHECK_FALSE(bad.load().zone);
  CHECK_ERROR(bad, bad.at(l, "dnssec.algorithm"),
              "must be \"ecdsap256sha256\" (13, the default) or \"ed25519\" (15), not \"rsasha256\"");
  CHECK_ERROR(bad, bad.at(l + 1, "dnssec.single-type-signing"), "must be true or false");
  CHECK_ERROR(bad, bad.at(l + 3, "dnssec.nsec3-iterations"), "101 is out of range (0 to 100)");
  CHECK_ERROR(bad, bad.at(l + 4, "dnssec.nsec3-salt-length"), "65 is out of range (0 to 64)");
  CHECK_ERROR(bad, bad.at(l + 5, "dnssec.dnskey-ttl"), "TTL -1 is out of range");
  CHECK_ERROR(bad, bad.at(l + 6, "dnssec.zsk-lifetime"),
              "must be seconds or a duration such as \"90s\", \"30m\", \"2h\", \"14d\", not \"30x\"");
  CHECK_ERROR(bad, bad.at(l + 7, "dnssec.propagation-delay"), ", not a float");
  CHECK_ERROR(bad, bad.at(l + 8, "dnssec.rrsig-lifetime"), "is too long");
  CHECK_ERROR(bad, bad.at(l + 9, "dnssec.rrsig-refresh"), "must be above 0");
  CHECK_ERROR(bad, bad.at(l + 10, "dnssec.colour"), "unknown key (expected algorithm, ");

  const TextZone not_table("dnssec = \"yes\"\n" + withHeader(""));
  CHECK_ERROR(not_table, not_table.at(1, "dnssec"),
              "must be true, false or a table of DNSSEC settings, not a string");

  const TextZone nsec_only(withDnssec("nsec3-iterations = 1\n"));
  CHECK_ERROR(nsec_only, nsec_only.at(l, "dnssec.nsec3-iterations"),
              "applies to NSEC3 only: set nsec3 = true as well");
}

TEST_CASE("dnssec: rrsig-refresh must be below rrsig-lifetime") {
  const int l = kHeaderLines + 2;
  const TextZone equal(withDnssec("rrsig-lifetime = \"2h\"\nrrsig-refresh = 7200\n"));
  CHECK(equal.errors().size() == 1);
  CHECK_ERROR(equal, equal.at(l + 1, "dnssec.rrsig-refresh"),
              "rrsig-refresh (7200 s) must be below rrsig-lifetime (7200 s)");
  // Against the default refresh (7 days) too.
  const TextZone short_lifetime(withDnssec("rrsig-lifetime = \"1d\"\n"));
  CHECK_ERROR(short_lifetime, short_lifetime.at(l, "dnssec.rrsig-refresh"),
              "rrsig-refresh (604800 s) must be below rrsig-lifetime (86400 s)");
  const TextZone fine(withDnssec("rrsig-lifetime = \"1d\"\nrrsig-refresh = \"12h\"\n"));
  CHECK(fine.errors().empty());
}

TEST_CASE("dnssec: serial = \"keep\" beside it is an error, \"auto\" is fine") {
  const TextZone keep("serial = \"keep\"\ndnssec = true\n" + withHeader(""));
  CHECK_FALSE(keep.load().zone);
  CHECK_ERROR(keep, keep.at(1, "serial"), "\"keep\" cannot be used with dnssec");
  const TextZone automatic("serial = \"auto\"\ndnssec = true\n" + withHeader(""));
  CHECK(loaded(automatic.load()).settings().serialPolicy() == SerialPolicy::Auto);
}

TEST_CASE("dnssec: a pool with all-down = \"none\" cannot be signed") {
  const std::string pool = R"([pools.www]
names = ["www"]
all-down = "none"
members = ["192.0.2.1"]
)";
  TempFile signed_zone("dnssec = true\n" + withHeader(pool));
  const ZoneSetLoad load = loadZoneSet({signed_zone.path()});
  REQUIRE_FALSE(load.zones.ok());
  CHECK(texts(load.zones.errors()).front() ==
        signed_zone.path() + ":" + std::to_string(kHeaderLines + 2) +
            ": pools.www.all-down: \"none\" cannot be used in a signed zone (its NODATA cannot be "
            "proven: the NSEC lists A/AAAA at the name); use \"all\" or \"servfail\"");
  // Unsigned, or signed through a zones entry of the server config: the same rule.
  TempFile plain(withHeader(pool));
  CHECK(loadZoneSet({plain.path()}).zones.ok());
  ZoneFileSettingsMap settings;
  settings[plain.path()].settings.dnssec = DnssecPolicy{};
  CHECK_FALSE(loadZoneSet({plain.path()}, settings).zones.ok());
}
