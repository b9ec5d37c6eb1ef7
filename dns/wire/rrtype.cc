#include "dns/wire/rrtype.hh"

#include <array>

#include "dns/wire/constants.hh"

namespace rrdns::wire {
namespace {

using K = FieldKind;
using field::kAdditional;
using field::kCompress;

constexpr RdataField kA[] = {{K::kIPv4, "address"}};
constexpr RdataField kAAAA[] = {{K::kIPv6, "address"}};
constexpr RdataField kNS[] = {{K::kName, "nsdname", kCompress | kAdditional}};
constexpr RdataField kAlias[] = {{K::kName, "name", kCompress}};  // CNAME, PTR
constexpr RdataField kMX[] = {{K::kU16, "preference"},
                              {K::kName, "exchange", kCompress | kAdditional}};
constexpr RdataField kSRV[] = {{K::kU16, "priority"},
                               {K::kU16, "weight"},
                               {K::kU16, "port"},
                               {K::kName, "target", kAdditional}};
constexpr RdataField kTXT[] = {{K::kStrings, "text"}};
constexpr RdataField kCAA[] = {{K::kU8, "flags"}, {K::kTag, "tag"}, {K::kRest, "value"}};
constexpr RdataField kSOA[] = {{K::kName, "primary", kCompress},
                               {K::kName, "contact", kCompress},
                               {K::kU32, "serial"},
                               {K::kU32, "refresh"},
                               {K::kU32, "retry"},
                               {K::kU32, "expire"},
                               {K::kU32, "minimum"}};
// Types rrdns serves only as opaque RDATA, whose names a master file's records still lower-case
// (RFC 4034 6.2 without the DNSSEC types, whose names are already lower case).
constexpr RdataField kOneName[] = {{K::kName, "name"}};  // MD MF MB MG MR DNAME
constexpr RdataField kTwoNames[] = {{K::kName, "name"}, {K::kName, "name"}};      // MINFO RP
constexpr RdataField kU16Name[] = {{K::kU16, "preference"}, {K::kName, "name"}};  // AFSDB RT KX
constexpr RdataField kPX[] = {{K::kU16, "preference"}, {K::kName, "map822"}, {K::kName, "mapx400"}};
constexpr RdataField kNAPTR[] = {{K::kU16, "order"},     {K::kU16, "preference"},
                                 {K::kString, "flags"},  {K::kString, "services"},
                                 {K::kString, "regexp"}, {K::kName, "replacement"}};

constexpr uint8_t kServed = rrtype::kText | rrtype::kOneLine;

constexpr RRType row(uint16_t number, std::string_view mnemonic, std::span<const RdataField> fields,
                     uint8_t flags, std::string_view example = {}) {
  for (const auto& f : fields) {
    if (f.flags & kCompress) flags |= rrtype::kCompresses;
    if (f.flags & kAdditional) flags |= rrtype::kHasAdditional;
  }
  return {number, mnemonic, fields, flags, example};
}

// The one table. The TOML format's types come first, in the order its messages list them.
constexpr RRType kTypes[] = {
    row(type::A, "A", kA, kServed, "192.0.2.1"),
    row(type::AAAA, "AAAA", kAAAA, kServed, "2001:db8::1"),
    row(type::CNAME, "CNAME", kAlias, kServed, "www"), row(type::MX, "MX", kMX, kServed, "10 mail"),
    row(type::NS, "NS", kNS, kServed, "ns1"),
    row(type::PTR, "PTR", kAlias, kServed, "host.example.com."),
    row(type::SRV, "SRV", kSRV, kServed, "0 5 5060 sip"),
    row(type::TXT, "TXT", kTXT, kServed, "v=spf1 -all"),
    row(type::CAA, "CAA", kCAA, kServed, "0 issue \"letsencrypt.org\""),
    row(type::SOA, "SOA", kSOA, rrtype::kText, "ns1 hostmaster 2024010101 3600 900 604800 300"),
    // Opaque RDATA with a mnemonic.
    row(type::HINFO, "HINFO", {}, 0), row(type::OPT, "OPT", {}, 0), row(type::DS, "DS", {}, 0),
    row(type::RRSIG, "RRSIG", {}, 0), row(type::NSEC, "NSEC", {}, 0),
    row(type::DNSKEY, "DNSKEY", {}, 0), row(type::NSEC3, "NSEC3", {}, 0),
    row(type::NSEC3PARAM, "NSEC3PARAM", {}, 0), row(type::IXFR, "IXFR", {}, 0),
    row(type::AXFR, "AXFR", {}, 0), row(type::ANY, "ANY", {}, 0),
    // Opaque RDATA whose names are lower-cased; shown as TYPE<n>.
    row(3, "", kOneName, 0),    // MD
    row(4, "", kOneName, 0),    // MF
    row(7, "", kOneName, 0),    // MB
    row(8, "", kOneName, 0),    // MG
    row(9, "", kOneName, 0),    // MR
    row(14, "", kTwoNames, 0),  // MINFO
    row(17, "", kTwoNames, 0),  // RP
    row(18, "", kU16Name, 0),   // AFSDB
    row(21, "", kU16Name, 0),   // RT
    row(26, "", kPX, 0),        // PX
    row(35, "", kNAPTR, 0),     // NAPTR
    row(36, "", kU16Name, 0),   // KX
    row(39, "", kOneName, 0),   // DNAME
};

// Types below 64 by number, for the writer's per-record look-up: index + 1 into kTypes, 0 none.
constexpr size_t kDirect = 64;
constexpr auto kIndex = [] {
  std::array<uint8_t, kDirect> index{};
  for (size_t i = 0; i < std::size(kTypes); ++i)
    if (kTypes[i].number < kDirect) index[kTypes[i].number] = static_cast<uint8_t>(i + 1);
  return index;
}();

}  // namespace

std::span<const RRType> rrtypes() { return kTypes; }

const RRType* findRRType(uint16_t number) {
  if (number < kDirect) return kIndex[number] ? &kTypes[kIndex[number] - 1] : nullptr;
  for (const auto& t : kTypes)
    if (t.number == number) return &t;
  return nullptr;
}

size_t fieldEnd(FieldKind kind, std::string_view rdata, size_t pos) {
  constexpr size_t npos = std::string_view::npos;
  if (pos > rdata.size()) return npos;
  size_t end = pos;
  switch (kind) {
    case K::kU8:
      end = pos + 1;
      break;
    case K::kU16:
      end = pos + 2;
      break;
    case K::kU32:
    case K::kIPv4:
      end = pos + 4;
      break;
    case K::kIPv6:
      end = pos + 16;
      break;
    case K::kName:
      while (end < rdata.size() && rdata[end] != 0) end += 1 + static_cast<uint8_t>(rdata[end]);
      if (end >= rdata.size()) return npos;
      return end + 1;
    case K::kString:
    case K::kTag:
      if (pos == rdata.size()) return npos;
      end = pos + 1 + static_cast<uint8_t>(rdata[pos]);
      break;
    case K::kStrings:
      while (end < rdata.size()) end += 1 + static_cast<uint8_t>(rdata[end]);
      break;
    case K::kRest:
      return rdata.size();
  }
  return end <= rdata.size() ? end : npos;
}

std::string_view additionalTarget(const RRType& type, std::string_view rdata) {
  size_t pos = 0;
  for (const auto& f : type.fields) {
    const size_t end = fieldEnd(f.kind, rdata, pos);
    if (end == std::string_view::npos) return {};
    if (f.flags & field::kAdditional) return rdata.substr(pos, end - pos);
    pos = end;
  }
  return {};
}

}  // namespace rrdns::wire
