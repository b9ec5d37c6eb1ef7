// RFC 1035 master files (dns/zone/masterfile_loader.cc) and the zone checks every format gets
// (dns/zone/check.cc): the shipped zones, the origin rules, errors with their lines, warnings.
#include <doctest/doctest.h>

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

const RRset& rrset(const Zone& zone, std::string_view name, uint16_t rtype) {
  const Node* node = zone.find(wireName(name));
  REQUIRE_MESSAGE(node, name);
  const RRset* found = node->find(rtype);
  REQUIRE_MESSAGE(found, name, " ", wire::typeName(rtype));
  return *found;
}

// A directory of its own, so tests can choose the file names (the origin comes from them).
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    d_path = (std::filesystem::temp_directory_path() /
              ("rrdns-mf-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter)))
                 .string();
    std::filesystem::create_directories(d_path);
  }
  ~TempDir() { std::filesystem::remove_all(d_path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(std::string_view name, std::string_view text) const {
    const std::string path = d_path + "/" + std::string(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

 private:
  std::string d_path;
};

// A master file under a chosen name, loaded.
struct MasterZone {
  explicit MasterZone(std::string_view text, std::string_view name = "t.test.zone")
      : path(dir.write(name, text)), load(loadMasterFile(path)) {}

  bool has(const std::vector<std::string>& lines, std::string_view prefix,
           std::string_view message) const {
    for (const auto& line : lines)
      if (line.starts_with(prefix) && line.find(message, prefix.size()) != std::string::npos)
        return true;
    return false;
  }
  bool error(int line, std::string_view message) const {
    return has(errorLines(load), at(line), message);
  }
  bool warning(int line, std::string_view message) const {
    return has(texts(load.warnings), at(line), message);
  }
  std::string at(int line) const { return path + (line ? ":" + std::to_string(line) : "") + ": "; }
  std::string dump() const {
    return "errors:\n" + joined(errorLines(load)) + "warnings:\n" + joined(load.warnings);
  }

  TempDir dir;
  std::string path;
  ZoneLoad load;
};

#define CHECK_MF_ERROR(zone, line, message) \
  CHECK_MESSAGE((zone).error(line, message), (zone).dump())
#define CHECK_MF_WARNING(zone, line, message) \
  CHECK_MESSAGE((zone).warning(line, message), (zone).dump())

// The apex of every test zone below; the records under test start on line kHeadLines + 1.
constexpr std::string_view kHeadText = R"($ORIGIN t.test.
$TTL 300
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
ns1 A 192.0.2.1
)";
constexpr int kHeadLines = 5;

std::string head(std::string_view body) { return std::string(kHeadText) + std::string(body); }

}  // namespace

// --- the shipped zones ---

TEST_CASE("rr.test.zone loads into exactly the zone of zones/rr.test.toml") {
  const auto master_load = loadMasterFile(sourcePath("tests/fixtures/zones/rr.test.zone"));
  const auto toml_load = loadTomlZone(sourcePath("zones/rr.test.toml"));
  const Zone& master = loaded(master_load);
  const Zone& toml = loaded(toml_load);
  CHECK(master_load.warnings.empty());
  CHECK(master.apex() == toml.apex());
  CHECK(master.serial() == toml.serial());
  CHECK(master.negativeTtl() == toml.negativeTtl());
  CHECK(master.recordCount() == toml.recordCount());
  CHECK(master.nodeCount() == toml.nodeCount());
  for (const auto& [owner, node] : toml.nodes()) {
    const Node* other = master.find(owner);
    REQUIRE_MESSAGE(other, wire::nameToText(owner));
    REQUIRE(other->rrsets.size() == node.rrsets.size());
    for (const auto& expected : node.rrsets) {
      const RRset* got = other->find(expected.type);
      REQUIRE_MESSAGE(got, wire::nameToText(owner), " ", wire::typeName(expected.type));
      CHECK(got->ttl == expected.ttl);
      CHECK(got->rdata == expected.rdata);  // same records in the same order
    }
  }
}

TEST_CASE("zones/example.zone loads every common type, its $INCLUDE and an unknown type") {
  const auto load = loadZoneFile(sourcePath("zones/example.zone"));
  const Zone& zone = loaded(load);
  CHECK(load.warnings.empty());
  CHECK(zone.apex() == wireName("example.test."));
  CHECK(zone.serial() == 2024060101);
  CHECK(zone.negativeTtl() == 300);
  CHECK(rrset(zone, "example.test.", type::NS).rdata ==
        std::vector<std::string>{wireName("ns1.example.test."), wireName("ns2.example.test.")});
  // Names inside RDATA are stored lower-cased, as the answer code compares them byte for byte.
  CHECK(rrset(zone, "example.test.", type::MX).rdata ==
        std::vector<std::string>{bytes({0, 10}) + wireName("mail.example.test."),
                                 bytes({0, 20}) + wireName("mail2.example.test.")});
  CHECK(rrset(zone, "example.test.", type::TXT).rdata ==
        std::vector<std::string>{"\x0ev=spf1 mx -all",
                                 "\x0c"
                                 "first string\x0dsecond string"});
  CHECK(rrset(zone, "example.test.", type::CAA).rdata ==
        std::vector<std::string>{bytes({0, 5}) + "issueletsencrypt.org"});
  CHECK(rrset(zone, "example.test.", 65).rdata.size() == 1);  // HTTPS
  CHECK(rrset(zone, "www.example.test.", type::A).ttl == 300);
  CHECK(rrset(zone, "www.example.test.", type::A).rdata.size() == 2);
  CHECK(rrset(zone, "www.example.test.", type::AAAA).ttl == 300);
  CHECK(rrset(zone, "ns2.example.test.", type::AAAA).ttl == 3600);
  CHECK(rrset(zone, "ftp.example.test.", type::CNAME).rdata ==
        std::vector<std::string>{wireName("www.example.test.")});
  CHECK(rrset(zone, "legacy.example.test.", 39).rdata ==
        std::vector<std::string>{wireName("example.net.")});  // DNAME
  CHECK(rrset(zone, "_sip._udp.example.test.", type::SRV).rdata ==
        std::vector<std::string>{bytes({0, 0, 0, 5, 0x13, 0xc4}) + wireName("sip.example.test.")});
  CHECK(rrset(zone, "_svc.example.test.", 64).rdata.size() == 1);                  // SVCB
  CHECK(rrset(zone, "_443._tcp.www.example.test.", 52).rdata.at(0).size() == 35);  // TLSA
  CHECK(rrset(zone, "www.example.test.", 44).rdata.at(0).size() == 22);            // SSHFP
  CHECK(rrset(zone, "sip.example.test.", 35).rdata ==                              // NAPTR
        std::vector<std::string>{bytes({0, 100, 0, 10}) + "\x01S\x07SIP+D2U" + bytes({0}) +
                                 wireName("_sip._udp.example.test.")});
  CHECK(rrset(zone, "opaque.example.test.", 65000).rdata ==
        std::vector<std::string>{bytes({0xab, 0xcd})});
  // From zones/example-include.zone:
  CHECK(rrset(zone, "host1.example.test.", type::A).rdata ==
        std::vector<std::string>{bytes({192, 0, 2, 101})});
  CHECK(rrset(zone, "1.2.0.192.in-addr.example.test.", type::PTR).rdata ==
        std::vector<std::string>{wireName("host1.example.test.")});
}

TEST_CASE("the example.com zone of NSD's documentation loads unchanged") {
  const auto load = loadZoneFile(sourcePath("tests/fixtures/zones/example.com.zone"));
  const Zone& zone = loaded(load);
  CHECK(zone.apex() == wireName("example.com."));
  CHECK(zone.serial() == 2020080302);
  CHECK(zone.soa().ttl == 86400);
  CHECK(zone.negativeTtl() == 3600);
  CHECK(rrset(zone, "example.com.", type::AAAA).rdata.size() == 1);
  CHECK(rrset(zone, "mail.example.com.", type::MX).rdata ==
        std::vector<std::string>{bytes({0, 10}) + wireName("example.com.")});
  CHECK(zone.recordCount() == 6);
}

// --- origin ---

TEST_CASE("the origin comes from $ORIGIN, else the hint, else the file name") {
  const std::string body = "@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n";
  TempDir dir;
  SUBCASE("NAME.zone") {
    const auto load = loadMasterFile(dir.write("rr.test.zone", body));
    CHECK(loaded(load).apex() == wireName("rr.test."));
  }
  SUBCASE("db.NAME") {
    const auto load = loadMasterFile(dir.write("db.example.com", body));
    CHECK(loaded(load).apex() == wireName("example.com."));
  }
  SUBCASE("the hint beats the file name") {
    const auto load = loadMasterFile(dir.write("db.example.com", body), "hint.test");
    CHECK(loaded(load).apex() == wireName("hint.test."));
  }
  SUBCASE("$ORIGIN beats both, after comments and $TTL") {
    const auto load = loadMasterFile(
        dir.write("db.example.com", "; a zone\n\n$TTL 60\n$ORIGIN Other.Test.\n" + body),
        "hint.test");
    CHECK(loaded(load).apex() == wireName("other.test."));
  }
  SUBCASE("a file-name origin that does not fit says how to name the zone") {
    const std::string path = dir.write("zonefile", "example.com. SOA ns1 h 1 2 3 4 5\n");
    const auto load = loadMasterFile(path);
    REQUIRE(!errorLines(load).empty());
    CHECK(errorLines(load)[0].starts_with(path + ":1: "));
    CHECK(errorLines(load)[0].find("start the file with $ORIGIN") != std::string::npos);
  }
}

// --- errors ---

TEST_CASE("scanner errors name the file and line; all of them are reported") {
  const MasterZone zone(head("a A 10.0.0.300\nb IN FOO 1\nc 300 FOO 1\nd A 10.0.0.1\n"));
  CHECK(!zone.load.zone);
  CHECK_MF_ERROR(zone, kHeadLines + 1, "invalid IPv4 address");
  CHECK_MF_ERROR(zone, kHeadLines + 2, "RFC 3597");
  CHECK_MF_ERROR(zone, kHeadLines + 3, "unsupported record type");
  CHECK(errorLines(zone.load).size() == 3);
}

TEST_CASE("an unreadable file is one error") {
  const auto load = loadMasterFile("/nonexistent/t.test.zone");
  CHECK(!load.zone);
  CHECK(
      errorLines(load) ==
      std::vector<std::string>{"/nonexistent/t.test.zone: cannot read: No such file or directory"});
}

TEST_CASE("errors in an $INCLUDE'd file name that file and its line") {
  TempDir dir;
  const std::string inc = dir.write("inc.zone", "x A 1.2.3.4\ny A 1.2.3\n");
  const std::string path = dir.write("t.test.zone", head("$INCLUDE inc.zone\n"));
  const auto load = loadMasterFile(path);
  CHECK(!load.zone);
  REQUIRE(errorLines(load).size() == 2);
  CHECK(errorLines(load)[0] == inc + ":2: invalid IPv4 address");
  CHECK(errorLines(load)[1].starts_with(path + ":" + std::to_string(kHeadLines + 1) + ": "));
  CHECK(errorLines(load)[1].find(inc) != std::string::npos);
}

TEST_CASE("$INCLUDE with its own origin") {
  TempDir dir;
  dir.write("sub.zone", "www A 192.0.2.80\n");
  const auto load =
      loadMasterFile(dir.write("t.test.zone", head("$INCLUDE sub.zone lab.t.test.\n")));
  CHECK(rrset(loaded(load), "www.lab.t.test.", type::A).rdata.size() == 1);
}

TEST_CASE("a zone without SOA, and one without NS") {
  const MasterZone no_soa("$ORIGIN t.test.\n@ NS ns1\nns1 A 192.0.2.1\n");
  CHECK(errorLines(no_soa.load) ==
        std::vector<std::string>{no_soa.path + ": zone t.test. has no SOA record at its apex"});
  const MasterZone no_ns("$ORIGIN t.test.\n@ SOA ns1 h 1 2 3 4 5\n");
  CHECK_MF_ERROR(no_ns, 0, "has no NS records at its apex");
}

TEST_CASE("a CNAME beside other data is an error at the later record's line") {
  const MasterZone a_then_cname(head("www A 192.0.2.2\nwww CNAME ns1\n"));
  CHECK_MF_ERROR(a_then_cname, kHeadLines + 2, "'www.t.test.' has a CNAME and other data");
  const MasterZone cname_then_a(head("www CNAME ns1\nwww A 192.0.2.2\n"));
  CHECK_MF_ERROR(cname_then_a, kHeadLines + 2, "'www.t.test.' has a CNAME and other data");
  CHECK(!cname_then_a.load.zone);
}

TEST_CASE("records outside the zone and SOA below the apex") {
  const MasterZone zone(head("www.example. A 192.0.2.2\nsub SOA a b 1 2 3 4 5\n"));
  CHECK_MF_ERROR(zone, kHeadLines + 1, "'www.example.' is outside the zone t.test.");
  CHECK_MF_ERROR(zone, kHeadLines + 2, "SOA must be at the zone apex");
}

TEST_CASE("a name server below a delegation needs glue") {
  const MasterZone zone(
      head("sub NS ns1.sub\nsub NS ns2.sub\nns2.sub A 192.0.2.3\n"
           "other NS ns.elsewhere.example.\n"));
  CHECK(!zone.load.zone);
  REQUIRE(errorLines(zone.load).size() == 1);
  CHECK(errorLines(zone.load)[0] ==
        zone.at(kHeadLines + 1) +
            "'ns1.sub.t.test.' is the name server of the delegation sub.t.test. and needs glue "
            "(an A or AAAA record)");
}

TEST_CASE("more than 50 missing glue records stop the report") {
  std::string body;
  for (int i = 0; i < 60; ++i)
    body += "d" + std::to_string(i) + " NS ns.d" + std::to_string(i) + "\n";
  const MasterZone zone(head(body));
  CHECK(!zone.load.zone);
  const std::vector<std::string> errors = errorLines(zone.load);
  REQUIRE(errors.size() == 51);
  CHECK(errors.back() == zone.path + ": more than 50 errors; stopping here");
  for (size_t i = 0; i < 50; ++i) CHECK(errors[i].find("needs glue") != std::string::npos);
}

TEST_CASE("a file a TOML zone includes must not name another zone") {
  const TempFile records("$ORIGIN other.test.\nwww A 192.0.2.1\n", ".zone");
  const TextZone zone("origin = \"t.test.\"\nfile = \"" +
                      std::filesystem::path(records.path()).filename().string() + "\"\n" +
                      std::string(kHeader.substr(kHeader.find('\n') + 1)));
  CHECK_FALSE(zone.load().zone);
  CHECK(zone.errors() ==
        std::vector<std::string>{records.path() + ": $ORIGIN other.test. is not the zone t.test. "
                                                  "that includes this file"});
}

TEST_CASE("the glue check applies to TOML zones too") {
  TempFile file(withHeader("[names.sub]\nNS = \"ns1.sub\"\n"));
  const auto load = loadZoneFile(file.path());
  CHECK(!load.zone);
  CHECK(errorLines(load) ==
        std::vector<std::string>{
            file.path() + ": 'ns1.sub.t.test.' is the name server of the delegation sub.t.test. "
                          "and needs glue (an A or AAAA record)"});
}

TEST_CASE("more than 50 errors stop the scan") {
  std::string body;
  for (int i = 0; i < 80; ++i) body += "h" + std::to_string(i) + " A 10.0.0.999\n";
  const MasterZone zone(head(body));
  REQUIRE(errorLines(zone.load).size() == 51);
  CHECK(errorLines(zone.load).back() == zone.path + ": more than 50 errors; stopping here");
  CHECK(errorLines(zone.load)[49].starts_with(zone.at(kHeadLines + 50)));
}

// --- warnings ---

TEST_CASE("a TTL mismatch inside an RRset is a warning; the first TTL wins") {
  const MasterZone zone(head("www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\n"));
  const Zone& z = loaded(zone.load);
  CHECK(rrset(z, "www.t.test.", type::A).ttl == 300);
  CHECK(rrset(z, "www.t.test.", type::A).rdata.size() == 2);
  REQUIRE(zone.load.warnings.size() == 1);
  CHECK_MF_WARNING(zone, kHeadLines + 2, "TTL 600 differs from 300");
  CHECK_MF_WARNING(zone, kHeadLines + 2, "give its records one TTL");
}

TEST_CASE("a duplicate record is a warning and is served once") {
  const MasterZone zone(head("www A 192.0.2.1\nWWW A 192.0.2.1\n"));
  const Zone& z = loaded(zone.load);
  CHECK(rrset(z, "www.t.test.", type::A).rdata.size() == 1);
  CHECK(z.recordCount() == 4);
  CHECK_MF_WARNING(zone, kHeadLines + 2, "duplicate A record at 'www.t.test.'");
}

TEST_CASE("data below a zone cut other than glue is a warning (occluded)") {
  const MasterZone zone(
      head("sub NS ns1.sub\nns1.sub A 192.0.2.3\nwww.sub A 192.0.2.4\n"
           "sub TXT \"hidden\"\n"));
  const Zone& z = loaded(zone.load);
  CHECK(z.find(wireName("sub.t.test."))->delegation);
  REQUIRE(zone.load.warnings.size() == 2);
  CHECK_MF_WARNING(zone, 0, "'www.sub.t.test.' is at or below the zone cut sub.t.test. and its A");
  CHECK_MF_WARNING(zone, kHeadLines + 1,
                   "'sub.t.test.' is at or below the zone cut sub.t.test. and its TXT");
}

TEST_CASE("loadZoneSet collects the warnings of every file and still loads") {
  TempDir dir;
  const std::string a = dir.write("a.test.zone", std::string("$ORIGIN a.test.\n") +
                                                     std::string(kHeadText.substr(16)) +
                                                     "x A 192.0.2.9\nx A 192.0.2.9\n");
  const auto set = loadZoneSet({a, sourcePath("zones/rr.test.toml")});
  REQUIRE_MESSAGE(errorLines(set).empty(), joined(errorLines(set)));
  REQUIRE(set.zones);
  CHECK((*set.zones)->zones().size() == 2);
  REQUIRE(set.warnings.size() == 1);
  CHECK(set.warnings[0].text().starts_with(a + ":7: duplicate A record"));
}

TEST_CASE("a TOML zone takes its static records from an RFC 1035 file and adds pools on top") {
  const zonetest::TempFile records(
      "$TTL 300\n"
      "@    IN SOA ns1 hostmaster 7 3600 900 604800 60\n"
      "@    IN NS  ns1\n"
      "ns1  IN A   192.0.2.53\n"
      "www  IN A   192.0.2.80\n",
      ".zone");
  const std::string name = std::filesystem::path(records.path()).filename().string();
  const zonetest::TextZone zone(
      "origin = \"ft.test.\"\n"
      "file = \"" + name + "\"\n"
      "[names.extra]\n"
      "TXT = \"added by TOML\"\n"
      "[pools.api]\n"
      "names = [\"api\"]\n"
      "members = [\"192.0.2.10\", \"192.0.2.11\"]\n"
      "check = { type = \"none\" }\n");
  const Zone& z = zonetest::loaded(zone.load());
  CHECK(z.serial() == 7);
  CHECK(z.find(zonetest::wireName("www.ft.test."))->find(type::A) != nullptr);
  CHECK(z.find(zonetest::wireName("extra.ft.test."))->find(type::TXT) != nullptr);
  CHECK(z.find(zonetest::wireName("api.ft.test."))->pool != nullptr);

  SUBCASE("conflicts between the file and the TOML are errors") {
    const zonetest::TextZone clash(
        "origin = \"ft.test.\"\n"
        "file = \"" + name + "\"\n"
        "[names.www]\n"
        "CNAME = \"extra\"\n");
    CHECK_ERROR(clash, clash.path() + ": ", "has a CNAME and other data");
    const zonetest::TextZone pool_clash(
        "origin = \"ft.test.\"\n"
        "file = \"" + name + "\"\n"
        "[pools.www]\n"
        "names = [\"www\"]\n"
        "members = [\"192.0.2.1\"]\n");
    CHECK_ERROR(pool_clash, pool_clash.path() + ": ", "answered by pool 'www'");
  }
  SUBCASE("errors in the file name the file and its line") {
    const zonetest::TempFile broken("$TTL 300\n@ IN SOA ns1 h 1 1 1 1 1\n@ IN NS ns1\nns1 IN A 192.0.2.300\n",
                                    ".zone");
    const zonetest::TextZone including(
        "origin = \"ft.test.\"\n"
        "file = \"" + std::filesystem::path(broken.path()).filename().string() + "\"\n");
    CHECK_ERROR(including, broken.path() + ":4: ", "");
    CHECK_FALSE(including.load().zone);
  }
}
