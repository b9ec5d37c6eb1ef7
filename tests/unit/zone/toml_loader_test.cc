// The TOML zone format (dns/zone/toml_loader.cc): the shipped zones, every value form, and the
// error report for broken files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/zone/loader.hh"
#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using namespace rrdns::zone;
namespace type = rrdns::wire::type;
using namespace zonetest;

namespace {


// The RRset of `rtype` at `name`, failing the test when there is none.
const RRset& rrset(const Zone& zone, std::string_view name, uint16_t rtype) {
  const Node* node = zone.find(wireName(name));
  REQUIRE_MESSAGE(node, name);
  const RRset* found = node->find(rtype);
  REQUIRE_MESSAGE(found, name, " ", wire::typeName(rtype));
  return *found;
}


}  // namespace

// --- the shipped zones ---

TEST_CASE("zones/rr.test.toml holds the records of the benchmark zone rr.test.zone") {
  const auto load = loadTomlZone(sourcePath("zones/rr.test.toml"));
  const Zone& zone = loaded(load);
  CHECK(zone.apex() == wireName("rr.test."));
  CHECK(zone.source() == sourcePath("zones/rr.test.toml"));
  CHECK(zone.serial() == 2024010101);
  CHECK(zone.negativeTtl() == 300);
  CHECK(zone.recordCount() == 62);  // the RR lines of rr.test.zone

  const std::string soa = zone.soa().rdata.at(0);
  CHECK(soa == wireName("ns1.rr.test.") + wireName("hostmaster.rr.test.") +
                   bytes({0x78, 0xa3, 0xf1, 0x75, 0,    0,    0x0e, 0x10, 0,    0,
                          0x03, 0x84, 0,    0x09, 0x3a, 0x80, 0,    0,    0x01, 0x2c}));
  CHECK(zone.soa().ttl == 300);

  const RRset& www = rrset(zone, "www.rr.test.", type::A);
  CHECK(www.ttl == 300);
  REQUIRE(www.rdata.size() == 8);
  for (uint8_t i = 0; i < 8; ++i) CHECK(www.rdata[i] == bytes({10, 0, 0, uint8_t(i + 1)}));

  CHECK(rrset(zone, "alias.rr.test.", type::CNAME).rdata ==
        std::vector<std::string>{wireName("www.rr.test.")});
  CHECK(rrset(zone, "rr.test.", type::MX).rdata ==
        std::vector<std::string>{bytes({0x00, 0x0a}) + wireName("mail.rr.test.")});
  CHECK(rrset(zone, "rr.test.", type::TXT).rdata == std::vector<std::string>{"\x0bv=spf1 -all"});
  CHECK(rrset(zone, "rr.test.", type::NS).rdata ==
        std::vector<std::string>{wireName("ns1.rr.test."), wireName("ns2.rr.test.")});
  CHECK(rrset(zone, "ns1.rr.test.", type::A).rdata ==
        std::vector<std::string>{bytes({192, 0, 2, 53})});
  CHECK(rrset(zone, "api.rr.test.", type::A).rdata.size() == 3);
  CHECK(rrset(zone, "api.rr.test.", type::AAAA).rdata.at(1) ==
        bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));
  const RRset& big = rrset(zone, "big.rr.test.", type::A);
  REQUIRE(big.rdata.size() == 40);
  CHECK(big.rdata.front() == bytes({10, 0, 2, 1}));
  CHECK(big.rdata.back() == bytes({10, 0, 2, 40}));
}

TEST_CASE("zones/example.toml loads with its delegation, wildcard and empty non-terminals") {
  const auto load = loadTomlZone(sourcePath("zones/example.toml"));
  const Zone& zone = loaded(load);
  CHECK(zone.apex() == wireName("example.test."));

  for (const char* empty : {"b.c.example.test.", "c.example.test.", "wild.example.test."}) {
    const Node* node = zone.find(wireName(empty));
    REQUIRE_MESSAGE(node, empty);
    CHECK_MESSAGE(node->rrsets.empty(), empty);
  }
  CHECK(rrset(zone, "a.b.c.example.test.", type::A).rdata.size() == 1);
  CHECK(rrset(zone, "*.wild.example.test.", type::A).rdata.size() == 1);

  CHECK(zone.find(wireName("sub.example.test."))->delegation);
  CHECK_FALSE(zone.apexNode().delegation);
  CHECK(rrset(zone, "ns1.sub.example.test.", type::A).rdata.size() == 1);  // glue

  CHECK(rrset(zone, "www.example.test.", type::A).ttl == 60);
  CHECK(rrset(zone, "www.example.test.", type::AAAA).ttl == 60);
  CHECK(rrset(zone, "api.example.test.", type::A).ttl == 30);
  CHECK(rrset(zone, "api.example.test.", type::TXT).ttl == 3600);
  CHECK(rrset(zone, "www2.example.test.", type::CNAME).ttl == 300);
  CHECK(rrset(zone, "_sip._udp.example.test.", type::SRV).rdata.size() == 2);
  CHECK(rrset(zone, "example.test.", type::CAA).rdata.size() == 2);
  CHECK(rrset(zone, "ptr.example.test.", type::PTR).rdata.size() == 1);
  CHECK(rrset(zone, "long.example.test.", type::TXT).rdata.at(0).size() > 256);
}

// --- value forms ---

TEST_CASE("every value form produces its wire RDATA") {
  const auto load = loadTomlZone(sourcePath("tests/fixtures/zones/forms.toml"));
  const Zone& zone = loaded(load);
  using Rdata = std::vector<std::string>;

  CHECK(rrset(zone, "forms.test.", type::NS).rdata == Rdata{wireName("ns1.forms.test.")});
  CHECK(rrset(zone, "ns1.forms.test.", type::A).rdata == Rdata{bytes({192, 0, 2, 1})});
  CHECK(rrset(zone, "v6.forms.test.", type::AAAA).rdata ==
        Rdata{bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
              bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1})});
  CHECK(rrset(zone, "ptr.forms.test.", type::PTR).rdata == Rdata{wireName("host.example.com.")});
  CHECK(rrset(zone, "alias.forms.test.", type::CNAME).rdata == Rdata{wireName("ns1.forms.test.")});
  CHECK(rrset(zone, "mx.forms.test.", type::MX).rdata ==
        Rdata{bytes({0, 10}) + wireName("mail.forms.test."),
              bytes({0, 20}) + wireName("mail.other.test.")});
  CHECK(rrset(zone, "srv.forms.test.", type::SRV).rdata ==
        Rdata{bytes({0, 0, 0, 5, 0x13, 0xc4}) + wireName("sip.forms.test."),
              bytes({0, 1, 0, 2, 0x01, 0xbb, 0})});
  CHECK(rrset(zone, "caa.forms.test.", type::CAA).rdata ==
        Rdata{bytes({0, 5}) + "issue" + "letsencrypt.org", bytes({0, 9}) + "issuewild" + ";",
              bytes({128, 5}) + "iodef" + "mailto:a@b.test"});
  CHECK(rrset(zone, "txt.forms.test.", type::TXT).rdata == Rdata{"\x0bhello world", bytes({0})});
}

TEST_CASE("TTLs: {ttl, data} beats the name ttl, which beats the zone ttl") {
  const auto load = loadTomlZone(sourcePath("tests/fixtures/zones/forms.toml"));
  const Zone& zone = loaded(load);
  CHECK(rrset(zone, "ns1.forms.test.", type::A).ttl == 120);
  CHECK(rrset(zone, "ttls.forms.test.", type::A).ttl == 60);
  CHECK(rrset(zone, "ttls.forms.test.", type::AAAA).ttl == 30);
  const RRset& mx = rrset(zone, "ttls.forms.test.", type::MX);  // key "mx": types ignore case
  CHECK(mx.ttl == 45);
  CHECK(mx.rdata == std::vector<std::string>{bytes({0, 5}) + wireName("forms.test.")});  // "@"
}

TEST_CASE("SOA defaults and the e-mail form of the contact") {
  const auto load = loadTomlZone(sourcePath("tests/fixtures/zones/forms.toml"));
  const Zone& zone = loaded(load);
  CHECK(zone.serial() == 4294967295u);
  CHECK(zone.soa().ttl == 120);      // the zone ttl
  CHECK(zone.negativeTtl() == 120);  // min(SOA ttl, minimum 300)
  CHECK(zone.soa().rdata.at(0) ==
        wireName("ns1.forms.test.") + wireName("john\\.doe.example.com.") +
            bytes({0xff, 0xff, 0xff, 0xff, 0,    0,    0x0e, 0x10, 0,    0,
                   0x03, 0x84, 0,    0x09, 0x3a, 0x80, 0,    0,    0x01, 0x2c}));
}

TEST_CASE("without ttl keys every record gets 3600") {
  const TextZone text(withHeader("[names.www]\nA = \"192.0.2.1\"\n"));
  const Zone& zone = loaded(text.load());
  CHECK(zone.soa().ttl == 3600);
  CHECK(zone.negativeTtl() == 300);
  CHECK(rrset(zone, "www.t.test.", type::A).ttl == 3600);
  CHECK(rrset(zone, "t.test.", type::NS).ttl == 3600);
}

TEST_CASE("explicit SOA timers and ttl are used") {
  const TextZone text(R"(origin = "t.test"
ttl = 100
[soa]
primary = "ns.other.test."
contact = "hostmaster.other.test."
serial = 5
refresh = 1
retry = 2
expire = 3
minimum = 600
ttl = 200
[names."@"]
NS = "ns.other.test."
)");
  const Zone& zone = loaded(text.load());
  CHECK(zone.soa().ttl == 200);
  CHECK(zone.negativeTtl() == 200);
  CHECK(zone.soa().rdata.at(0) ==
        wireName("ns.other.test.") + wireName("hostmaster.other.test.") +
            bytes({0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0x02, 0x58}));
  CHECK(rrset(zone, "t.test.", type::NS).ttl == 100);
}

TEST_CASE("a TXT value longer than 255 bytes is split inside one record") {
  const std::string text(600, 'x');
  const TextZone file(withHeader("[names.long]\nTXT = \"" + text + "\"\n"));
  const RRset& txt = rrset(loaded(file.load()), "long.t.test.", type::TXT);
  REQUIRE(txt.rdata.size() == 1);
  CHECK(txt.rdata[0] == "\xff" + std::string(255, 'x') + "\xff" + std::string(255, 'x') + "\x5a" +
                            std::string(90, 'x'));
}

TEST_CASE("owner names: absolute, wildcard and upper case, and one owner may be spelled twice") {
  const TextZone names(withHeader(R"([names."WWW.T.TEST."]
A = "192.0.2.1"
[names."*.Any"]
A = "192.0.2.2"
[names.www]
A = "192.0.2.3"
)"));
  const Zone& zone = loaded(names.load());
  CHECK(rrset(zone, "www.t.test.", type::A).rdata ==
        std::vector<std::string>{bytes({192, 0, 2, 1}), bytes({192, 0, 2, 3})});
  CHECK(zone.find(wireName("*.any.t.test.")));
}

// --- errors ---

TEST_CASE("a missing file is reported with the system's reason") {
  const std::string path = "/nonexistent/rrdns/zone.toml";
  const auto load = loadTomlZone(path);
  CHECK_FALSE(load.zone);
  CHECK(errorLines(load) ==
        std::vector<std::string>{path + ": cannot read: No such file or directory"});
}

TEST_CASE("a TOML syntax error is reported with its line") {
  const TextZone text(withHeader("[names.www]\nA = [\"192.0.2.1\",\n  oops\n]\n"));
  CHECK_FALSE(text.load().zone);
  REQUIRE(text.errors().size() == 1);
  CHECK(text.errors()[0].starts_with(text.path() + ":" + std::to_string(kHeaderLines + 3) +
                                     ": TOML syntax error: "));
}

TEST_CASE("a bad address names file, line and key") {
  const TextZone text(withHeader("[names.www]\nA = [\"10.0.0.1\", \"10.0.0.300\"]\n"));
  CHECK_FALSE(text.load().zone);
  CHECK(text.errors() == std::vector<std::string>{text.at(kHeaderLines + 2, "names.www.A[1]") +
                                                  "'10.0.0.300' is not an IPv4 address"});
}

TEST_CASE("unknown and misplaced record types") {
  const TextZone text(withHeader(R"([names.www]
AXFR = "x"
HINFO = "x"
SOA = "x"
TYPE1 = "192.0.2.1"
)"));
  const auto line = [](int n) { return kHeaderLines + n; };
  CHECK_ERROR(text, text.at(line(2), "names.www.AXFR"),
              "unknown record type 'AXFR' (supported: A, AAAA, CNAME, MX, NS, PTR, SRV, TXT, CAA)");
  CHECK_ERROR(text, text.at(line(3), "names.www.HINFO"), "unknown record type 'HINFO'");
  CHECK_ERROR(text, text.at(line(4), "names.www.SOA"), "use the [soa] table");
  CHECK_ERROR(text, text.at(line(5), "names.www.TYPE1"), "unknown record type 'TYPE1'");
  CHECK(text.errors().size() == 4);
}

TEST_CASE("an unquoted name with dots gets a hint to quote it") {
  const TextZone text(withHeader("[names._sip._tcp]\nSRV = \"0 5 5060 sip\"\n"));
  CHECK(text.errors() ==
        std::vector<std::string>{text.at(kHeaderLines + 1, "names._sip._tcp") +
                                 "unknown record type '_tcp'; a name with dots must be quoted: "
                                 "[names.\"_sip._tcp\"]"});
}

TEST_CASE("unknown keys are errors everywhere") {
  const TextZone text(R"(origin = "t.test."
tll = 60
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
refesh = 60
[names."@"]
NS = { ttl = 60, data = "ns1", comment = "x" }
MX = { preference = 10, exchange = "mail", weight = 1 }
)");
  CHECK_FALSE(text.load().zone);
  CHECK_ERROR(text, text.at(2, "tll"),
              "unknown key (expected origin, ttl, file, soa, names, pools, maps, notify, serial or dnssec)");
  CHECK_ERROR(text, text.at(7, "soa.refesh"), "unknown key");
  CHECK_ERROR(text, text.at(9, "names.\"@\".NS.comment"), "unknown key (expected ttl or data)");
  CHECK_ERROR(text, text.at(10, "names.\"@\".MX.weight"),
              "unknown key (expected preference or exchange)");
  CHECK(text.errors().size() == 4);
}

TEST_CASE("missing origin, soa and serial") {
  const TextZone no_origin("[soa]\nprimary = \"ns1\"\ncontact = \"h\"\nserial = 1\n");
  CHECK(no_origin.errors().size() == 1);
  CHECK_ERROR(no_origin, no_origin.path() + ": origin: ", "missing");

  const TextZone no_soa("origin = \"t.test.\"\n[names.\"@\"]\nNS = \"ns1\"\n");
  CHECK(no_soa.errors() ==
        std::vector<std::string>{
            no_soa.path() + ": soa: missing; add a [soa] table with primary, contact and serial"});

  const TextZone no_serial(R"(origin = "t.test."
[soa]
primary = "ns1"
contact = "hostmaster"
[names."@"]
NS = "ns1"
)");
  CHECK(no_serial.errors().size() == 1);
  CHECK_ERROR(no_serial, no_serial.at(2, "soa.serial"), "missing (e.g. serial = 2024010101)");
}

TEST_CASE("CNAME conflicts") {
  const TextZone beside(withHeader("[names.alias]\nCNAME = \"www\"\nA = \"192.0.2.1\"\n"));
  CHECK_FALSE(beside.load().zone);
  CHECK(beside.errors() ==
        std::vector<std::string>{beside.path() +
                                 ": 'alias.t.test.' has a CNAME and other data; a CNAME must be "
                                 "alone (RFC 1034 3.6.2)"});

  const TextZone array(withHeader("[names.alias]\nCNAME = [\"www\", \"mail\"]\n"));
  CHECK_ERROR(array, array.at(kHeaderLines + 2, "names.alias.CNAME"),
              "CNAME takes a single name as a string, got an array");

  // The same owner spelled two ways.
  const TextZone twice(withHeader(R"([names.alias]
CNAME = "www"
[names."alias.t.test."]
CNAME = "mail"
)"));
  CHECK_ERROR(twice, twice.at(kHeaderLines + 4, "names.\"alias.t.test.\".CNAME"),
              "has more than one CNAME");
}

TEST_CASE("names outside the zone and overlong labels") {
  const std::string label64(64, 'a');
  const TextZone text(withHeader("[names.\"www.other.test.\"]\nA = \"192.0.2.1\"\n[names." +
                                 label64 + "]\nA = \"192.0.2.2\"\n[names.mx]\nMX = \"10 " +
                                 label64 + "\"\n"));
  CHECK_ERROR(text, text.at(kHeaderLines + 1, "names.\"www.other.test.\""),
              "'www.other.test.' is outside the zone t.test.");
  CHECK_ERROR(text, text.at(kHeaderLines + 3, "names." + label64), "label longer than 63 bytes");
  CHECK_ERROR(text, text.at(kHeaderLines + 6, "names.mx.MX"), "exchange: label longer than 63");
  CHECK(text.errors().size() == 3);
}

TEST_CASE("integers out of range") {
  const TextZone text(R"(origin = "t.test."
ttl = -1
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 4294967296
[names."@"]
NS = "ns1"
MX = { preference = 65536, exchange = "mail" }
[names.www]
ttl = 2147483648
A = { ttl = "60", data = "192.0.2.1" }
)");
  CHECK_ERROR(text, text.at(2, "ttl"), "TTL -1 is out of range (0 to 2147483647)");
  CHECK_ERROR(text, text.at(6, "soa.serial"), "4294967296 is out of range (0 to 4294967295)");
  CHECK_ERROR(text, text.at(9, "names.\"@\".MX.preference"), "65536 is out of range (0 to 65535)");
  CHECK_ERROR(text, text.at(11, "names.www.ttl"), "TTL 2147483648 is out of range");
  CHECK_ERROR(text, text.at(12, "names.www.A.ttl"), "expected an integer, got a string");
  CHECK(text.errors().size() == 5);
}

TEST_CASE("wrong shapes of values") {
  const TextZone text(withHeader(R"([names.www]
A = 17
AAAA = []
TXT = { ttl = 5, data = { text = "x" } }
NS = { preference = 1 }
[names.mail]
MX = [{ preference = 10 }]
[names.top]
CAA = { flags = 0, tag = "is sue", value = "x" }
SRV = { ttl = 60 }
[names.empty]
ttl = 60
)"));
  const auto at = [&](int n, std::string_view key) { return text.at(kHeaderLines + n, key); };
  CHECK_ERROR(text, at(2, "names.www.A"), "expected a record as a string (e.g. \"192.0.2.1\")");
  CHECK_ERROR(text, at(3, "names.www.AAAA"), "empty array");
  CHECK_ERROR(text, at(4, "names.www.TXT.data"), "expected a string or an array");
  CHECK_ERROR(text, at(5, "names.www.NS"), "NS records have no table form");
  CHECK_ERROR(text, at(7, "names.mail.MX[0].exchange"),
              "missing; an MX table has preference and exchange");
  CHECK_ERROR(text, at(9, "names.top.CAA"), "tag 'is sue' must be");
  CHECK_ERROR(text, at(10, "names.top.SRV.data"), "missing; the records go in data = [...]");
  CHECK_ERROR(text, at(11, "names.empty"), "no records");
  CHECK(text.errors().size() == 8);
}

TEST_CASE("a zone needs NS records at its apex") {
  const TextZone text(R"(origin = "t.test."
[soa]
primary = "ns1"
contact = "hostmaster"
serial = 1
[names.www]
A = "192.0.2.1"
)");
  CHECK(text.errors() ==
        std::vector<std::string>{text.path() + ": zone t.test. has no NS records at its apex"});
}

TEST_CASE("every error in a file is reported, in file order") {
  const std::string path = sourcePath("tests/fixtures/zones/bad-many.toml");
  const auto load = loadTomlZone(path);
  CHECK_FALSE(load.zone);
  CHECK(errorLines(load) ==
        std::vector<std::string>{
            path + ":3: tll: unknown key (expected origin, ttl, file, soa, names, pools, maps, notify, "
                   "serial or dnssec)",
            path + ":8: soa.serial: -1 is out of range (0 to 4294967295)",
            path + ":14: names.www.A[1]: '10.0.0.300' is not an IPv4 address",
            path + ":15: names.www.AAAA: '10.0.0.4' is not an IPv6 address",
            path + ":18: names.mail.MX.preference: 70000 is out of range (0 to 65535)",
            path + ": 'alias.bad.test.' has a CNAME and other data; a CNAME must "
                   "be alone (RFC 1034 3.6.2)",
        });
}

TEST_CASE("reporting stops after 50 errors") {
  std::string body = "[names.www]\nA = [\n";
  for (int i = 0; i < 80; ++i) body += "  \"bad\",\n";
  const TextZone text(withHeader(body + "]\n"));
  REQUIRE(text.errors().size() == 51);
  CHECK(text.errors()[49].starts_with(text.at(kHeaderLines + 52, "names.www.A[49]")));
  CHECK(text.errors()[50] == text.path() + ": more than 50 errors; stopping here");

  std::string fifty = "[names.www]\nA = [\n";
  for (int i = 0; i < 50; ++i) fifty += "  \"bad\",\n";
  const TextZone exactly(withHeader(fifty + "]\n"));
  CHECK(exactly.errors().size() == 50);
}

TEST_CASE("loadZoneFile picks the loader by file name") {
  const TextZone toml(withHeader(""));
  CHECK(loadZoneFile(toml.path()).zone);

  const TempFile master("$ORIGIN t.test.\n", ".zone");
  const auto load = loadZoneFile(master.path());
  CHECK_FALSE(load.zone);
  // Anything else goes to the RFC 1035 loader (masterfile_test.cc).
  CHECK(errorLines(load) ==
        std::vector<std::string>{master.path() + ": zone t.test. has no SOA record at its apex"});
}

TEST_CASE("notify and serial: a TOML zone's secondaries") {
  TextZone good("notify = [\"192.0.2.2\", \"[::1]:5300\"]\nserial = \"auto\"\n" +
                withHeader(""));
  const Zone& zone = loaded(good.load());
  REQUIRE(zone.settings().notify);
  REQUIRE(zone.settings().notify->size() == 2);
  CHECK(zone.settings().notify->at(0).text == "192.0.2.2:53");
  CHECK(zone.settings().notify->at(1).text == "[::1]:5300");
  CHECK(zone.settings().serialPolicy() == SerialPolicy::Auto);

  TextZone none(withHeader(""));
  CHECK_FALSE(loaded(none.load()).settings().notify);  // the server-wide list applies
  CHECK(loaded(none.load()).settings().serialPolicy() == SerialPolicy::Keep);

  TextZone bad("notify = [\"192.0.2.2:0\", \"192.0.2.2:0\"]\nserial = 5\n" + withHeader(""));
  CHECK_ERROR(bad, bad.at(1, "notify[0]"), "port must be a number from 1 to 65535");
  CHECK_ERROR(bad, bad.at(2, "serial"), "");
}

TEST_CASE("a zones entry's notify or serial for a TOML zone that has its own is an error") {
  TempFile file("serial = \"keep\"\n" + withHeader(""));
  ZoneFileSettingsMap settings;
  settings[file.path()].settings.serial = SerialPolicy::Auto;
  settings[file.path()].file = "/etc/rrdns/rrdnsd.toml";
  settings[file.path()].line = 3;
  const ZoneSetLoad load = loadZoneSet({file.path()}, settings);
  REQUIRE_FALSE(load.zones.ok());
  CHECK(texts(load.zones.errors()).front() ==
        "/etc/rrdns/rrdnsd.toml:3: zones: " + file.path() +
            " sets notify, serial or dnssec itself; set them in one place");
  // Without its own keys the zone takes the entry's.
  TempFile plain(withHeader(""));
  settings[plain.path()] = settings[file.path()];
  const ZoneSetLoad ok = loadZoneSet({plain.path()}, settings);
  REQUIRE(ok.zones.ok());
  CHECK((*ok.zones)->zones().front()->settings().serialPolicy() == SerialPolicy::Auto);
}
