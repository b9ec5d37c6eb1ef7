// Presentation text -> wire RDATA (dns/zone/rdata.hh), independent of any file format.
#include "dns/zone/rdata.hh"

#include <doctest/doctest.h>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

using namespace rrdns;
using namespace rrdns::zone;

namespace {

std::string wireName(std::string_view text) {
  std::string out, error;
  REQUIRE_MESSAGE(wire::nameFromText(text, "", out, error), error);
  return out;
}

std::string origin() { return wireName("example.test."); }

// Encodes `text` as `rtype`, requiring success.
std::string encoded(uint16_t rtype, std::string_view text) {
  std::string out, error;
  REQUIRE_MESSAGE(encodeText(rtype, text, origin(), out, error), error);
  return out;
}

// The error for `text` as `rtype`, requiring failure.
std::string failure(uint16_t rtype, std::string_view text) {
  std::string out, error;
  REQUIRE_FALSE(encodeText(rtype, text, origin(), out, error));
  return error;
}

std::string bytes(std::initializer_list<uint8_t> values) {
  return std::string(values.begin(), values.end());
}

}  // namespace

TEST_CASE("A and AAAA are the address bytes") {
  CHECK(encoded(wire::type::A, "192.0.2.1") == bytes({192, 0, 2, 1}));
  CHECK(encoded(wire::type::AAAA, "2001:db8::1") ==
        bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
  CHECK(failure(wire::type::A, "10.0.0.300") == "'10.0.0.300' is not an IPv4 address");
  CHECK(failure(wire::type::A, "2001:db8::1") == "'2001:db8::1' is not an IPv4 address");
  CHECK(failure(wire::type::AAAA, "192.0.2.1") == "'192.0.2.1' is not an IPv6 address");
  CHECK(failure(wire::type::A, "192.0.2.1 ") == "'192.0.2.1 ' is not an IPv4 address");
}

TEST_CASE("NS, CNAME and PTR are a lower-cased uncompressed name") {
  for (uint16_t rtype : {wire::type::NS, wire::type::CNAME, wire::type::PTR}) {
    CHECK(encoded(rtype, "WWW") == wireName("www.example.test."));
    CHECK(encoded(rtype, "Host.Other.") == wireName("host.other."));
    CHECK(encoded(rtype, "@") == origin());
  }
  CHECK(failure(wire::type::NS, "a..b").find("empty label") != std::string::npos);
}

TEST_CASE("MX is preference then exchange") {
  CHECK(encoded(wire::type::MX, "10 mail") == bytes({0, 10}) + wireName("mail.example.test."));
  CHECK(encoded(wire::type::MX, "  65535\tMX.Other. ") ==
        bytes({0xff, 0xff}) + wireName("mx.other."));
  std::string out, error;
  REQUIRE(encodeMX(300, "mail", origin(), out, error));
  CHECK(out == bytes({1, 44}) + wireName("mail.example.test."));

  CHECK(failure(wire::type::MX, "mail").find("is not 'PREFERENCE EXCHANGE'") != std::string::npos);
  CHECK(failure(wire::type::MX, "10 mail extra").find("PREFERENCE EXCHANGE") != std::string::npos);
  CHECK(failure(wire::type::MX, "65536 mail") ==
        "preference '65536' is not an integer from 0 to 65535");
  CHECK(failure(wire::type::MX, "-1 mail") == "preference '-1' is not an integer from 0 to 65535");
  CHECK(failure(wire::type::MX, "10 a..b").starts_with("exchange: empty label"));
}

TEST_CASE("SRV is priority, weight, port, target") {
  CHECK(encoded(wire::type::SRV, "0 5 5060 sip") ==
        bytes({0, 0, 0, 5, 0x13, 0xc4}) + wireName("sip.example.test."));
  CHECK(encoded(wire::type::SRV, "1 2 443 .") == bytes({0, 1, 0, 2, 1, 0xbb, 0}));
  CHECK(failure(wire::type::SRV, "0 5 sip").find("PRIORITY WEIGHT PORT TARGET") !=
        std::string::npos);
  CHECK(failure(wire::type::SRV, "0 5 99999 sip") ==
        "port '99999' is not an integer from 0 to 65535");
}

TEST_CASE("TXT is the text in character-strings of at most 255 bytes") {
  CHECK(encoded(wire::type::TXT, "v=spf1 -all") == "\x0bv=spf1 -all");
  CHECK(encoded(wire::type::TXT, "") == bytes({0}));
  CHECK(encoded(wire::type::TXT, "  \"quoted\"  ") == "\x0c  \"quoted\"  ");

  const std::string exact(255, 'a');
  CHECK(encoded(wire::type::TXT, exact) == "\xff" + exact);

  const std::string text = std::string(255, 'a') + std::string(255, 'b') + "cc";
  CHECK(encoded(wire::type::TXT, text) ==
        "\xff" + std::string(255, 'a') + "\xff" + std::string(255, 'b') + "\x02" + "cc");

  std::string out, error;
  CHECK_FALSE(encodeTXT(std::string(70000, 'x'), out, error));
  CHECK(error.find("at most 65535") != std::string::npos);
}

TEST_CASE("CAA is flags, tag length, tag, value") {
  const std::string issue = bytes({0, 5}) + "issue" + "letsencrypt.org";
  CHECK(encoded(wire::type::CAA, "0 issue \"letsencrypt.org\"") == issue);
  CHECK(encoded(wire::type::CAA, "0 issue letsencrypt.org") == issue);
  CHECK(encoded(wire::type::CAA, "128 iodef \"mailto:a b\\\"c\"") ==
        bytes({128, 5}) + "iodef" + "mailto:a b\"c");
  CHECK(encoded(wire::type::CAA, "0 issue \"\"") == bytes({0, 5}) + "issue");

  CHECK(failure(wire::type::CAA, "0 issue").find("FLAGS TAG VALUE") != std::string::npos);
  CHECK(failure(wire::type::CAA, "256 issue x") == "flags '256' is not an integer from 0 to 255");
  CHECK(failure(wire::type::CAA, "0 is-sue x").starts_with("tag 'is-sue' must be"));
  CHECK(failure(wire::type::CAA, "0 issue \"open").find("no closing quote") != std::string::npos);
}

TEST_CASE("SOA takes the contact as a name or as an e-mail address") {
  SoaFields soa{"ns1", "hostmaster", 2024010101};
  std::string out, error;
  REQUIRE(encodeSOA(soa, origin(), out, error));
  const std::string numbers = bytes({0x78, 0xa3, 0xf1, 0x75, 0,    0,    0x0e, 0x10, 0,    0,
                                     0x03, 0x84, 0,    0x09, 0x3a, 0x80, 0,    0,    0x01, 0x2c});
  CHECK(out == wireName("ns1.example.test.") + wireName("hostmaster.example.test.") + numbers);

  soa.contact = "Dns.Admin@Example.Test";
  out.clear();
  REQUIRE(encodeSOA(soa, origin(), out, error));
  CHECK(out == wireName("ns1.example.test.") + wireName("dns\\.admin.example.test.") + numbers);

  soa.contact = "@example.test";
  CHECK_FALSE(encodeSOA(soa, origin(), out, error));
  CHECK(error.find("before '@'") != std::string::npos);
}

TEST_CASE("types without a text form are refused") {
  CHECK(failure(wire::type::SOA, "x") == "type SOA has no text form here");
  CHECK(failure(wire::type::HINFO, "x") == "type HINFO has no text form here");
}

TEST_CASE("rdataToText writes what the encoders read") {
  const std::string origin = [] {
    std::string out, error;
    REQUIRE(rrdns::wire::nameFromText("example.test.", "", out, error));
    return out;
  }();
  auto roundTrip = [&](uint16_t rtype, const char* text) {
    std::string rdata, error;
    REQUIRE_MESSAGE(rrdns::zone::encodeText(rtype, text, origin, rdata, error), error);
    return rrdns::zone::rdataToText(rtype, rdata);
  };
  CHECK(roundTrip(rrdns::wire::type::A, "192.0.2.1") == "192.0.2.1");
  CHECK(roundTrip(rrdns::wire::type::AAAA, "2001:db8::1") == "2001:db8::1");
  CHECK(roundTrip(rrdns::wire::type::CNAME, "www") == "www.example.test.");
  CHECK(roundTrip(rrdns::wire::type::MX, "10 mail") == "10 mail.example.test.");
  CHECK(roundTrip(rrdns::wire::type::SRV, "0 5 5060 sip") == "0 5 5060 sip.example.test.");
  CHECK(roundTrip(rrdns::wire::type::TXT, "v=spf1 \"x\"") == "\"v=spf1 \\\"x\\\"\"");
  CHECK(roundTrip(rrdns::wire::type::CAA, "0 issue \"letsencrypt.org\"") ==
        "0 issue \"letsencrypt.org\"");
  CHECK(rrdns::zone::rdataToText(65000, std::string("\xab\xcd", 2)) == "\\# 2 abcd");
  CHECK(rrdns::zone::rdataToText(rrdns::wire::type::A, "abc") == "\\# 3 616263");
}
