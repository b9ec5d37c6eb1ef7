// Walks every RR type descriptor (dns/wire/rrtype.hh): text -> wire -> text for a sample of each
// type, name compression only where RFC 3597 4 allows it, additional-section targets, mnemonics.
// A type added to the table without a sample here fails the walk.
#include "dns/wire/rrtype.hh"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"
#include "dns/wire/writer.hh"
#include "dns/zone/rdata.hh"

using namespace rrdns;

namespace {

std::string wireName(std::string_view text) {
  std::string out, error;
  REQUIRE_MESSAGE(wire::nameFromText(text, "", out, error), error);
  return out;
}

struct Sample {
  std::string_view text;          // one-line form (SOA: its fields, blank-separated)
  std::string_view presentation;  // what rdataToText writes for it
};

// Relative names complete with example.test., so that a record owned by it can compress them.
const std::map<uint16_t, Sample> kSamples = {
    {wire::type::A, {"192.0.2.1", "192.0.2.1"}},
    {wire::type::AAAA, {"2001:db8::1", "2001:db8::1"}},
    {wire::type::CNAME, {"WWW", "www.example.test."}},
    {wire::type::MX, {"10 Mail", "10 mail.example.test."}},
    {wire::type::NS, {"ns1", "ns1.example.test."}},
    {wire::type::PTR, {"host", "host.example.test."}},
    {wire::type::SRV, {"0 5 5060 sip", "0 5 5060 sip.example.test."}},
    {wire::type::TXT, {"v=spf1 \"x\"", "\"v=spf1 \\\"x\\\"\""}},
    {wire::type::CAA, {"0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""}},
    {wire::type::SOA,
     {"ns1 hostmaster 2024010101 3600 900 604800 300",
      "ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 300"}},
};

const std::set<uint16_t> kCompressed = {wire::type::NS, wire::type::CNAME, wire::type::SOA,
                                        wire::type::MX, wire::type::PTR};
const std::map<uint16_t, std::string_view> kAdditional = {{wire::type::NS, "ns1.example.test."},
                                                          {wire::type::MX, "mail.example.test."},
                                                          {wire::type::SRV, "sip.example.test."}};

std::string encodeSample(const wire::RRType& t, std::string_view text) {
  const std::string origin = wireName("example.test.");
  std::string rdata, error;
  if (t.flags & wire::rrtype::kOneLine) {
    REQUIRE_MESSAGE(zone::encodeText(t.number, text, origin, rdata, error), error);
  } else {
    std::vector<std::string_view> values;
    for (size_t start = 0; start < text.size();) {
      const size_t end = std::min(text.find(' ', start), text.size());
      values.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    REQUIRE(values.size() == t.fields.size());
    REQUIRE_MESSAGE(zone::encodeFields(t, values, origin, rdata, error), error);
  }
  return rdata;
}

}  // namespace

TEST_CASE("every descriptor with a text form round-trips text -> wire -> text") {
  for (const wire::RRType& t : wire::rrtypes()) {
    CAPTURE(t.number);
    CHECK(wire::findRRType(t.number) == &t);
    if (!t.mnemonic.empty()) {
      CHECK(wire::typeName(t.number) == t.mnemonic);
      CHECK(wire::typeFromName(t.mnemonic) == t.number);
    } else {
      CHECK(wire::typeName(t.number) == "TYPE" + std::to_string(t.number));
    }
    if (!(t.flags & wire::rrtype::kText)) {
      // Opaque to rrdns: shown in RFC 3597 form, however its fields look.
      CHECK(zone::rdataToText(t.number, std::string("\x01x\x00", 3)) == "\\# 3 017800");
      continue;
    }
    REQUIRE_MESSAGE(kSamples.contains(t.number), "no sample for " << t.mnemonic);
    const Sample& sample = kSamples.at(t.number);
    const std::string rdata = encodeSample(t, sample.text);
    CHECK(zone::rdataToText(t.number, rdata) == sample.presentation);
    // The presentation form reads back into the same RDATA (TXT's one-line form is unquoted).
    if (t.number != wire::type::TXT) CHECK(encodeSample(t, sample.presentation) == rdata);
    if (t.flags & wire::rrtype::kOneLine) {
      std::string out, error;
      CHECK_MESSAGE(zone::encodeText(t.number, t.example, wireName("example.test."), out, error),
                    error);
    }
    // Cut short, the RDATA no longer has the type's layout and is shown in RFC 3597 form (a
    // value that runs to the end, as CAA's, has no length to contradict).
    if (t.fields.back().kind != wire::FieldKind::kRest)
      CHECK(zone::rdataToText(t.number, rdata.substr(0, rdata.size() - 1)).starts_with("\\# "));
  }
}

TEST_CASE("names in RDATA are compressed for the RFC 3597 4 types only") {
  for (const wire::RRType& t : wire::rrtypes()) {
    if (!(t.flags & wire::rrtype::kText)) continue;
    CAPTURE(t.number);
    const std::string rdata = encodeSample(t, kSamples.at(t.number).text);
    uint8_t buf[512];
    wire::Writer w(buf, sizeof buf);
    const std::string owner = wireName("example.test.");
    w.record(owner, t.number, wire::klass::IN, 300, rdata);
    REQUIRE(w.ok());
    const size_t rdata_at = owner.size() + 10;
    const std::string_view written(reinterpret_cast<const char*>(buf) + rdata_at,
                                   w.size() - rdata_at);
    CHECK((load16(buf + rdata_at - 2)) == written.size());
    if (kCompressed.contains(t.number)) {
      CHECK(written.size() < rdata.size());
    } else {
      CHECK(written == rdata);
    }
    CHECK(static_cast<bool>(t.flags & wire::rrtype::kCompresses) == kCompressed.contains(t.number));
  }
}

TEST_CASE("additional-section targets are the NS, MX and SRV names") {
  for (const wire::RRType& t : wire::rrtypes()) {
    CAPTURE(t.number);
    const bool has = t.flags & wire::rrtype::kHasAdditional;
    CHECK(has == kAdditional.contains(t.number));
    if (!has) continue;
    const std::string rdata = encodeSample(t, kSamples.at(t.number).text);
    CHECK(wire::additionalTarget(t, rdata) == wireName(kAdditional.at(t.number)));
    CHECK(wire::additionalTarget(t, rdata.substr(0, 1)).empty());
  }
}

TEST_CASE("RCODE mnemonics as RFC 6895 lists them, RCODE<n> for the rest") {
  CHECK(wire::rcodeName(wire::rcode::NOERROR) == "NOERROR");
  CHECK(wire::rcodeName(wire::rcode::NXDOMAIN) == "NXDOMAIN");
  CHECK(wire::rcodeName(wire::rcode::REFUSED) == "REFUSED");
  CHECK(wire::rcodeName(wire::rcode::BADVERS) == "BADVERS");
  CHECK(wire::rcodeName(9) == "RCODE9");
}
