// transfer_test.cc -- AXFR: who gets one (answer()), and the message stream Transfer produces.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "dns/answer/answer.hh"
#include "dns/answer/transfer.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/query.hh"
#include "tests/unit/answer/catalog_util.hh"
#include "tests/unit/message_util.hh"

using namespace rrdns;
using testutil::Message;
using testutil::QuerySpec;
namespace type = wire::type;
namespace rcode = wire::rcode;
using testutil::a;
using testutil::aaaa;

namespace {




zone::PoolMember member(const char* address) {
  zone::PoolMember m;
  m.text = address;
  m.address = std::strchr(address, ':') ? aaaa(address) : a(address);
  m.rtype = m.address.size() == 4 ? type::A : type::AAAA;
  m.check.address = address;
  m.check.port = 8080;
  return m;
}

// (owner text, type, ttl, uncompressed RDATA): one record, comparable across encodings.
using Rec = std::tuple<std::string, uint16_t, uint32_t, std::string>;

// xfr.test: static records of several types, a delegation with glue, a dual-stack pool, and
// `extra` more A records to make the zone span several messages.
struct Fixture {
  std::shared_ptr<const answer::Catalog> catalog;
  std::multiset<Rec> expected;  // every record but the SOA
  Rec soa;

  explicit Fixture(size_t extra = 0) {
    zone::ZoneBuilder b(testutil::name("xfr.test."), "test");
    auto add = [&](const std::string& owner, uint16_t t, uint32_t ttl, std::string rdata) {
      const std::string err = zonetest::messageOf(b.add(testutil::name(owner), t, ttl, rdata));
      REQUIRE_MESSAGE(err.empty(), err);
      if (t != type::SOA) expected.emplace(owner, t, ttl, rdata);
    };
    add("xfr.test.", type::SOA, 300, testutil::soaRdata("xfr.test.", 2024010101, 120));
    soa = {"xfr.test.", type::SOA, 300, testutil::soaRdata("xfr.test.", 2024010101, 120)};
    add("xfr.test.", type::NS, 300, testutil::name("ns1.xfr.test."));
    add("xfr.test.", type::MX, 300, std::string("\0\x0a", 2) + testutil::name("mail.xfr.test."));
    add("xfr.test.", type::TXT, 300, "\x0bv=spf1 -all");
    add("ns1.xfr.test.", type::A, 300, a("192.0.2.53"));
    add("mail.xfr.test.", type::A, 60, a("192.0.2.25"));
    add("mail.xfr.test.", type::AAAA, 60, aaaa("2001:db8::25"));
    for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"})
      add("multi.xfr.test.", type::A, 30, a(ip));
    add("alias.xfr.test.", type::CNAME, 300, testutil::name("www.xfr.test."));
    add("sub.xfr.test.", type::NS, 300, testutil::name("ns.sub.xfr.test."));
    add("ns.sub.xfr.test.", type::A, 300, a("192.0.2.99"));
    for (size_t i = 0; i < extra; ++i) {
      const uint8_t ip[4] = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                             static_cast<uint8_t>(i)};
      add("h" + std::to_string(i) + ".xfr.test.", type::A, 300,
          std::string(reinterpret_cast<const char*>(ip), 4));
    }

    zone::Pool p;
    p.name = "www";
    p.owners = {testutil::name("www.xfr.test."), testutil::name("www2.xfr.test.")};
    p.members = {member("192.0.2.10"), member("2001:db8::10"), member("192.0.2.11")};
    p.ttl = 20;
    p.degraded_ttl = 5;
    for (const char* owner : {"www.xfr.test.", "www2.xfr.test."})
      for (const auto& m : p.members) expected.emplace(owner, m.rtype, 20u, m.address);
    REQUIRE(b.addPool(std::move(p)).ok());

    catalog = testutil::catalogOf(b);
  }

  answer::Outcome ask(const QuerySpec& spec, answer::Transport transport, bool allowed,
                      Message* reply = nullptr) {
    const auto q = testutil::query(spec);
    std::vector<uint8_t> out(65535);
    const auto o = answer::answer(*catalog, nullptr, {q, transport, nullptr, allowed}, out);
    if (reply && o.size > 0) *reply = testutil::decode(out.data(), o.size);
    return o;
  }

  // Runs a whole transfer for `spec` and returns its messages.
  std::vector<Message> transfer(const QuerySpec& spec, size_t buffer = 65535) {
    const auto o = ask(spec, answer::Transport::Tcp, true);
    REQUIRE(o.transfer_zone != nullptr);
    CHECK(o.size == 0);
    const auto q = testutil::query(spec);
    wire::Query parsed;
    REQUIRE(wire::parseQuery(q, parsed) == wire::ParseStatus::Ok);
    answer::Transfer t(catalog, *o.transfer_zone, parsed);
    std::vector<Message> messages;
    std::vector<uint8_t> out(buffer);
    size_t size = 0;
    while (t.next(out, size)) {
      REQUIRE(size > 0);
      REQUIRE(size <= 65535);
      messages.push_back(testutil::decode(out.data(), size));
      REQUIRE(messages.size() < 10000);
    }
    CHECK(size == 0);
    CHECK_FALSE(t.next(out, size));  // stays done
    return messages;
  }
};

// Names compress against the question and so take its letter case (as answers do): compare
// them lower-cased. Label length bytes are below 'A'.
std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The RDATA of `r` with any compressed names inside expanded again (and lower-cased).
std::string expand(const Message& m, const testutil::Record& r) {
  auto nameAt = [&](size_t at, size_t& end) {
    wire::NameBuf buf;
    size_t pos = r.rdata_offset + at;
    REQUIRE(wire::readName(std::span<const uint8_t>(m.wire.data(), m.wire.size()), pos, buf) ==
            wire::NameStatus::Ok);
    end = pos - r.rdata_offset;
    return lower(std::string(buf.view()));
  };
  const std::string raw(r.rdata.begin(), r.rdata.end());
  size_t end = 0;
  switch (r.type) {
    case type::NS:
    case type::CNAME:
      return nameAt(0, end);
    case type::MX:
      return raw.substr(0, 2) + nameAt(2, end);
    case type::SOA: {
      std::string out = nameAt(0, end);
      out += nameAt(end, end);
      return out + raw.substr(end);
    }
    default:
      return raw;
  }
}

Rec rec(const Message& m, const testutil::Record& r) {
  CHECK(r.klass == wire::klass::IN);
  return {lower(r.owner), r.type, r.ttl, expand(m, r)};
}

QuerySpec axfr(const char* qname = "xfr.test.", uint16_t qtype = type::AXFR) {
  QuerySpec spec;
  spec.qname = qname;
  spec.qtype = qtype;
  spec.id = 0xBEEF;
  spec.flags = 0;
  return spec;
}

}  // namespace

TEST_CASE("transfer requests: NOTIMP over UDP, REFUSED unless allowed, NOTAUTH off an apex") {
  Fixture f;
  Message m;
  for (uint16_t qtype : {type::AXFR, type::IXFR}) {
    CAPTURE(qtype);
    auto o = f.ask(axfr("xfr.test.", qtype), answer::Transport::Udp, true, &m);
    CHECK(o.transfer_zone == nullptr);
    // AXFR is for TCP only; an IXFR over UDP is answered (below), here FORMERR: it has no SOA.
    CHECK(o.rcode == (qtype == type::AXFR ? rcode::NOTIMP : rcode::FORMERR));
    CHECK(m.rcode() == o.rcode);

    o = f.ask(axfr("xfr.test.", qtype), answer::Transport::Tcp, false, &m);
    CHECK(o.rcode == rcode::REFUSED);
    CHECK(o.transfer_zone == nullptr);
    CHECK(m.rcode() == rcode::REFUSED);
    CHECK(m.answer.empty());
    // Refused before the zone lookup: an unknown name gets the same answer.
    o = f.ask(axfr("nowhere.test.", qtype), answer::Transport::Tcp, false, &m);
    CHECK(o.rcode == rcode::REFUSED);

    for (const char* name : {"www.xfr.test.", "sub.xfr.test.", "nowhere.test.", "test."}) {
      CAPTURE(name);
      o = f.ask(axfr(name, qtype), answer::Transport::Tcp, true, &m);
      CHECK(o.rcode == 9);  // NOTAUTH
      CHECK(o.transfer_zone == nullptr);
      REQUIRE(o.size > 0);
      CHECK(m.rcode() == 9);
      CHECK(m.answer.empty());
    }

    QuerySpec upper = axfr("XFR.test.", qtype);
    if (qtype == type::IXFR) {  // from an older serial: the whole zone
      upper.authority = testutil::soaRecord("xfr.test.", 1);
      upper.authority_count = 1;
    }
    o = f.ask(upper, answer::Transport::Tcp, true, &m);
    CHECK(o.rcode == rcode::NOERROR);
    CHECK(o.size == 0);
    REQUIRE(o.transfer_zone != nullptr);
    CHECK(o.transfer_zone->apex() == testutil::name("xfr.test."));
    CHECK(o.qtype == qtype);
  }
  // Ordinary queries are unaffected by the permission.
  QuerySpec spec;
  spec.qname = "mail.xfr.test.";
  auto o = f.ask(spec, answer::Transport::Tcp, true, &m);
  CHECK(o.transfer_zone == nullptr);
  CHECK(m.answer.size() == 1);
}

TEST_CASE("AXFR: SOA first and last, every record once between, pools as their members") {
  Fixture f;
  QuerySpec spec = axfr();
  spec.qname = "Xfr.Test.";
  spec.keep_case = true;
  spec.flags = 0x0100;  // RD: copied back, as for any query
  const auto messages = f.transfer(spec);
  REQUIRE(messages.size() == 1);
  const Message& m = messages.front();
  CHECK(m.id == 0xBEEF);
  CHECK(m.qr());
  CHECK(m.aa());
  CHECK(m.rd());
  CHECK_FALSE(m.tc());
  CHECK(((m.flags >> 11) & 0x0F) == 0);  // opcode QUERY
  CHECK(m.rcode() == rcode::NOERROR);
  REQUIRE(m.has_question);
  CHECK(m.qname == "Xfr.Test.");  // as asked: 0x20 survives
  CHECK(m.qtype == type::AXFR);
  CHECK(m.authority.empty());
  CHECK(m.additional.empty());

  REQUIRE(m.answer.size() == f.expected.size() + 2);
  CHECK(rec(m, m.answer.front()) == Rec{"xfr.test.", type::SOA, 300, testutil::soaRdata("xfr.test.", 2024010101, 120)});
  CHECK(rec(m, m.answer.back()) == Rec{"xfr.test.", type::SOA, 300, testutil::soaRdata("xfr.test.", 2024010101, 120)});
  std::multiset<Rec> got;
  for (size_t i = 1; i + 1 < m.answer.size(); ++i) got.insert(rec(m, m.answer[i]));
  CHECK(got == f.expected);
  CHECK(got.count({"www2.xfr.test.", type::AAAA, 20, aaaa("2001:db8::10")}) == 1);
  CHECK(got.count({"www.xfr.test.", type::A, 20, a("192.0.2.11")}) == 1);
  CHECK(got.count({"ns.sub.xfr.test.", type::A, 300, a("192.0.2.99")}) == 1);  // glue too

  // Names are compressed within the message.
  size_t raw = 0;
  for (const auto& [owner, t, ttl, rdata] : got) raw += testutil::name(owner).size() + 10 + rdata.size();
  CHECK(m.wire.size() < raw);
}

QuerySpec ixfr(uint32_t serial, const char* qname = "xfr.test.", const char* soa_owner = nullptr) {
  QuerySpec spec = axfr(qname, type::IXFR);
  spec.authority = testutil::soaRecord(soa_owner ? soa_owner : qname, serial);
  spec.authority_count = 1;
  return spec;
}

TEST_CASE("IXFR from an older serial is answered with a full, AXFR-style transfer (RFC 1995 4)") {
  Fixture f;
  const auto messages = f.transfer(ixfr(2024010100));
  REQUIRE(messages.size() == 1);
  const Message& m = messages.front();
  CHECK(m.qtype == type::IXFR);
  REQUIRE(m.answer.size() == f.expected.size() + 2);
  CHECK(m.answer.front().type == type::SOA);
  CHECK(m.answer.back().type == type::SOA);
}

TEST_CASE("IXFR at the current or a newer serial gets the single SOA, over TCP and UDP") {
  Fixture f;
  for (auto transport : {answer::Transport::Tcp, answer::Transport::Udp}) {
    for (uint32_t serial : {2024010101u, 2024010102u, 2024010101u + 0x7FFFFFFFu}) {
      CAPTURE(serial);
      Message m;
      const auto o = f.ask(ixfr(serial), transport, true, &m);
      CHECK(o.transfer_zone == nullptr);
      REQUIRE(o.size > 0);
      CHECK(m.rcode() == rcode::NOERROR);
      CHECK(m.aa());
      CHECK(m.qtype == type::IXFR);
      REQUIRE(m.answer.size() == 1);
      CHECK(rec(m, m.answer.front()) == f.soa);
      CHECK(m.authority.empty());
    }
  }
}

TEST_CASE("IXFR behind or incomparable: a transfer over TCP, the SOA over UDP (retry on TCP)") {
  Fixture f;
  for (uint32_t serial : {2024010100u, 1u, 2024010101u + 0x80000000u}) {
    CAPTURE(serial);
    Message m;
    auto o = f.ask(ixfr(serial), answer::Transport::Tcp, true, &m);
    CHECK(o.transfer_zone != nullptr);
    o = f.ask(ixfr(serial), answer::Transport::Udp, true, &m);
    CHECK(o.transfer_zone == nullptr);
    REQUIRE(m.answer.size() == 1);
    CHECK(rec(m, m.answer.front()) == f.soa);
  }
}

TEST_CASE("IXFR: REFUSED unless allowed (UDP too); FORMERR without an SOA at the zone's name") {
  Fixture f;
  Message m;
  for (auto transport : {answer::Transport::Tcp, answer::Transport::Udp}) {
    auto o = f.ask(ixfr(2024010101), transport, false, &m);
    CHECK(o.rcode == rcode::REFUSED);
    CHECK(m.answer.empty());
  }
  QuerySpec bare = axfr("xfr.test.", type::IXFR);
  CHECK(f.ask(bare, answer::Transport::Tcp, true, &m).rcode == rcode::FORMERR);
  CHECK(f.ask(ixfr(2024010101, "xfr.test.", "other.test."), answer::Transport::Tcp, true, &m)
            .rcode == rcode::FORMERR);
  // The SOA's owner is matched without regard to letter case.
  CHECK(f.ask(ixfr(2024010101, "xfr.test.", "XFR.Test."), answer::Transport::Tcp, true, &m)
            .rcode == rcode::NOERROR);
}

TEST_CASE("ixfrClientSerial reads an SOA whose names are compressed") {
  // Question xfr.test. IXFR; authority: SOA owner -> pointer to the question name, MNAME and
  // RNAME compressed against it.
  std::vector<uint8_t> m = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  const std::string qname = testutil::name("xfr.test.");
  m.insert(m.end(), qname.begin(), qname.end());
  m.insert(m.end(), {0, 251, 0, 1});
  m.insert(m.end(), {0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 28});
  m.insert(m.end(), {3, 'n', 's', '1', 0xC0, 12, 0xC0, 12});
  m.insert(m.end(), {0x78, 0xA4, 0x8B, 0x25});  // 2024049445
  for (int i = 0; i < 16; ++i) m.push_back(0);
  auto serial = answer::ixfrClientSerial(m, qname);
  REQUIRE(serial);
  CHECK(*serial == 0x78A48B25u);
  m.resize(m.size() - 1);  // RDLENGTH now runs past the end
  CHECK_FALSE(answer::ixfrClientSerial(m, qname));
}

TEST_CASE("a large zone spans several messages, each whole and parseable") {
  Fixture f(5000);
  const auto messages = f.transfer(axfr());
  REQUIRE(messages.size() >= 2);
  std::multiset<Rec> got;
  size_t soas = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    CAPTURE(i);
    CHECK(m.id == 0xBEEF);
    CHECK(m.qr());
    CHECK(m.aa());
    CHECK(m.rcode() == rcode::NOERROR);
    CHECK(m.has_question == (i == 0));  // RFC 5936 2.2.1: the first message only
    CHECK_FALSE(m.answer.empty());
    CHECK(m.wire.size() <= 65535);
    for (const auto& r : m.answer) {
      if (r.type == type::SOA) {
        ++soas;
        continue;
      }
      got.insert(rec(m, r));
    }
  }
  CHECK(soas == 2);
  CHECK(messages.front().answer.front().type == type::SOA);
  CHECK(messages.back().answer.back().type == type::SOA);
  CHECK(got == f.expected);
  CHECK(got.size() == 5000 + 18);
}

TEST_CASE("a small output buffer gives more, smaller messages with the same records") {
  Fixture f(300);
  const auto messages = f.transfer(axfr(), 512);
  CHECK(messages.size() > 10);
  std::multiset<Rec> got;
  for (const auto& m : messages) {
    CHECK(m.wire.size() <= 512);
    for (const auto& r : m.answer)
      if (r.type != type::SOA) got.insert(rec(m, r));
  }
  CHECK(got == f.expected);
}

TEST_CASE("a transfer keeps its catalog alive across a reload") {
  auto f = std::make_unique<Fixture>(100);
  const auto o = f->ask(axfr(), answer::Transport::Tcp, true);
  REQUIRE(o.transfer_zone);
  const auto q = testutil::query(axfr());
  wire::Query parsed;
  REQUIRE(wire::parseQuery(q, parsed) == wire::ParseStatus::Ok);
  answer::Transfer t(f->catalog, *o.transfer_zone, parsed);
  const size_t expected = f->expected.size();
  f.reset();  // the server published a new catalog: this one now lives only in `t`
  std::vector<uint8_t> out(600);
  size_t size = 0, records = 0;
  while (t.next(out, size)) records += testutil::decode(out.data(), size).answer.size();
  CHECK(records == expected + 2);
}
