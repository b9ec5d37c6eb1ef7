// message_util.hh -- test-side DNS message building and decoding, independent of the code under
// test (it shares only readName/nameFromText, which have their own tests).
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/base/bytes.hh"
#include "dns/wire/name.hh"

namespace testutil {

inline std::string name(const std::string& text) {
  std::string out, error;
  REQUIRE_MESSAGE(rrdns::wire::nameFromText(text, "", out, error), error);
  return out;
}

// Wire RDATA of an A / AAAA record.
inline std::string a(const char* text) {
  uint8_t b[4];
  REQUIRE(inet_pton(AF_INET, text, b) == 1);
  return std::string(reinterpret_cast<char*>(b), 4);
}

inline std::string aaaa(const char* text) {
  uint8_t b[16];
  REQUIRE(inet_pton(AF_INET6, text, b) == 1);
  return std::string(reinterpret_cast<char*>(b), 16);
}

// SOA RDATA "ns1.ZONE hostmaster.ZONE serial 3600 900 604800 minimum".
inline std::string soaRdata(const std::string& zone, uint32_t serial, uint32_t minimum) {
  std::string r = name("ns1." + zone) + name("hostmaster." + zone);
  for (uint32_t v : {serial, 3600u, 900u, 604800u, minimum}) {
    uint8_t b[4];
    rrdns::store32(b, v);
    r.append(reinterpret_cast<char*>(b), 4);
  }
  return r;
}

struct QuerySpec {
  std::string qname = "www.example.test.";
  uint16_t qtype = 1;
  uint16_t qclass = 1;
  uint16_t id = 0x1234;
  uint16_t flags = 0x0100;  // RD
  bool edns = false;
  uint16_t payload = 1232;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  bool keep_case = false;  // write qname as given, without lower-casing
  std::string edns_options;  // the OPT record's RDATA: options as (code, length, data), raw
  std::string authority;     // raw records for the authority section (an IXFR's SOA)...
  uint16_t authority_count = 0;  // ...and how many they are
};

// One EDNS option as it sits in an OPT record's RDATA (code, length, data), e.g. for
// QuerySpec::edns_options.
inline std::string ednsOption(uint16_t code, const std::string& data) {
  std::string o;
  o += static_cast<char>(code >> 8);
  o += static_cast<char>(code & 0xFF);
  o += static_cast<char>(data.size() >> 8);
  o += static_cast<char>(data.size() & 0xFF);
  return o + data;
}

// An SOA record in wire form (uncompressed), e.g. for QuerySpec::authority.
inline std::string soaRecord(const std::string& zone, uint32_t serial) {
  const std::string rdata = soaRdata(zone, serial, 300);
  std::string r = name(zone);
  for (uint16_t v : {uint16_t{6}, uint16_t{1}}) {
    r += static_cast<char>(v >> 8);
    r += static_cast<char>(v & 0xFF);
  }
  r.append({'\0', '\0', '\x01', '\x2c'});  // TTL 300
  r += static_cast<char>(rdata.size() >> 8);
  r += static_cast<char>(rdata.size() & 0xFF);
  return r + rdata;
}

inline void put16(std::vector<uint8_t>& m, uint16_t v) {
  m.push_back(static_cast<uint8_t>(v >> 8));
  m.push_back(static_cast<uint8_t>(v));
}

// Wire form of a presentation name keeping letter case (nameFromText lower-cases).
inline std::string nameKeepCase(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string::npos) dot = text.size();
    out += static_cast<char>(dot - start);
    out += text.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

inline std::vector<uint8_t> query(const QuerySpec& s) {
  std::vector<uint8_t> m;
  put16(m, s.id);
  put16(m, s.flags);
  put16(m, 1);
  put16(m, 0);
  put16(m, s.authority_count);
  put16(m, s.edns ? 1 : 0);
  const std::string qn = s.keep_case ? nameKeepCase(s.qname) : name(s.qname);
  m.insert(m.end(), qn.begin(), qn.end());
  put16(m, s.qtype);
  put16(m, s.qclass);
  m.insert(m.end(), s.authority.begin(), s.authority.end());
  if (s.edns) {
    m.push_back(0);
    put16(m, 41);
    put16(m, s.payload);
    m.push_back(0);
    m.push_back(s.edns_version);
    put16(m, s.dnssec_ok ? 0x8000 : 0);
    put16(m, static_cast<uint16_t>(s.edns_options.size()));
    m.insert(m.end(), s.edns_options.begin(), s.edns_options.end());
  }
  return m;
}

struct Record {
  std::string owner;  // presentation text, case as on the wire
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;  // raw, names inside may be compressed
  size_t rdata_offset = 0;     // where rdata starts in the message
};

struct Message {
  std::vector<uint8_t> wire;
  uint16_t id = 0, flags = 0;
  bool has_question = false;
  std::string qname;
  uint16_t qtype = 0, qclass = 0;
  std::vector<Record> answer, authority, additional;

  bool aa() const { return flags & 0x0400; }
  bool tc() const { return flags & 0x0200; }
  bool rd() const { return flags & 0x0100; }
  bool ra() const { return flags & 0x0080; }
  bool qr() const { return flags & 0x8000; }
  uint16_t rcode() const { return flags & 0x0F; }
  const Record* opt() const {
    for (const auto& r : additional)
      if (r.type == 41) return &r;
    return nullptr;
  }
  // The name inside a record's RDATA at `at` bytes in, decompressed, as text.
  std::string rdataName(const Record& r, size_t at = 0) const {
    rrdns::wire::NameBuf buf;
    size_t pos = r.rdata_offset + at;
    REQUIRE(rrdns::wire::readName(std::span<const uint8_t>(wire.data(), wire.size()), pos, buf) ==
            rrdns::wire::NameStatus::Ok);
    return rrdns::wire::nameToText(buf.view());
  }
  std::string address(const Record& r) const {
    REQUIRE(r.rdata.size() == 4);
    return std::to_string(r.rdata[0]) + "." + std::to_string(r.rdata[1]) + "." +
           std::to_string(r.rdata[2]) + "." + std::to_string(r.rdata[3]);
  }
  std::vector<std::string> addresses(const std::vector<Record>& section) const {
    std::vector<std::string> out;
    for (const auto& r : section)
      if (r.type == 1) out.push_back(address(r));
    return out;
  }
};

inline Message decode(const uint8_t* data, size_t size) {
  using rrdns::load16;
  using rrdns::load32;
  Message msg;
  msg.wire.assign(data, data + size);
  REQUIRE(size >= 12);
  msg.id = load16(data);
  msg.flags = load16(data + 2);
  const std::span<const uint8_t> span(data, size);
  size_t pos = 12;
  rrdns::wire::NameBuf buf;
  const uint16_t qd = load16(data + 4);
  REQUIRE(qd <= 1);
  if (qd == 1) {
    REQUIRE(rrdns::wire::readName(span, pos, buf) == rrdns::wire::NameStatus::Ok);
    msg.has_question = true;
    msg.qname = rrdns::wire::nameToText(buf.view());
    msg.qtype = load16(data + pos);
    msg.qclass = load16(data + pos + 2);
    pos += 4;
  }
  std::vector<Record>* sections[3] = {&msg.answer, &msg.authority, &msg.additional};
  for (int s = 0; s < 3; ++s) {
    const uint16_t count = load16(data + 6 + 2 * s);
    for (uint16_t i = 0; i < count; ++i) {
      Record r;
      REQUIRE(rrdns::wire::readName(span, pos, buf) == rrdns::wire::NameStatus::Ok);
      r.owner = rrdns::wire::nameToText(buf.view());
      REQUIRE(pos + 10 <= size);
      r.type = load16(data + pos);
      r.klass = load16(data + pos + 2);
      r.ttl = load32(data + pos + 4);
      const uint16_t rdlength = load16(data + pos + 8);
      pos += 10;
      REQUIRE(pos + rdlength <= size);
      r.rdata_offset = pos;
      r.rdata.assign(data + pos, data + pos + rdlength);
      pos += rdlength;
      sections[s]->push_back(std::move(r));
    }
  }
  CHECK(pos == size);
  return msg;
}

}  // namespace testutil
