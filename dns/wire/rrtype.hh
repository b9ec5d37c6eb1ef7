// rrtype.hh -- RR type descriptors: per type, its mnemonic, number and RDATA layout.
//
// One table (rrtype.cc) says what every type rrdns knows looks like on the wire, as a list of
// fields (in the manner of Knot's knot_rdata_descriptor_t). The rest derives from it: name
// compression inside RDATA (Writer::record), the additional-section targets (NS, MX, SRV), the
// RDATA text conversion and name lower-casing of the zone loaders, the TOML format's types.
// Adding a type is one row here, plus text conversion in dns/zone/rdata.cc if it brings a new
// field kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace rrdns::wire {

enum class FieldKind : uint8_t {
  kU8,  // integers in network order; decimal in text
  kU16,
  kU32,
  kIPv4,     // 4 bytes; dotted quad in text
  kIPv6,     // 16 bytes
  kName,     // an uncompressed domain name, stored in lower case (RFC 4034 6.2)
  kString,   // one <character-string>: a length byte and that many bytes; quoted in text
  kTag,      // a <character-string> of letters and digits (CAA, RFC 8659), bare in text
  kStrings,  // <character-string>s to the end of the RDATA (TXT)
  kRest,     // the remaining bytes, without a length (CAA value); quoted in text
};

namespace field {
// A name that may be compressed in responses: only in the types RFC 1035 defined and rrdns
// compresses (RFC 3597 4): NS, CNAME, SOA, PTR, MX.
inline constexpr uint8_t kCompress = 1 << 0;
// A name whose address records (A, AAAA) go to the additional section (RFC 1035 3.3.9, 3.3.11;
// RFC 2782).
inline constexpr uint8_t kAdditional = 1 << 1;
}  // namespace field

struct RdataField {
  FieldKind kind;
  std::string_view label;  // "preference": in error messages and as a TOML table key
  uint8_t flags = 0;       // field::
};

namespace rrtype {
// rrdns reads and writes this layout as presentation text (the zone loaders, rdataToText) and the
// answer code relies on it. Without it, the layout only locates names (a master file's names are
// lower-cased) and the RDATA is shown in RFC 3597 form.
inline constexpr uint8_t kText = 1 << 0;
// A zone file may give a record of this type as one line of text ("10 mail"); SOA has a table.
inline constexpr uint8_t kOneLine = 1 << 1;
// Summaries of the fields, for the writer and the answer code to test without a walk.
inline constexpr uint8_t kCompresses = 1 << 6;
inline constexpr uint8_t kHasAdditional = 1 << 7;
}  // namespace rrtype

struct RRType {
  uint16_t number;
  std::string_view mnemonic;           // empty: shown as TYPE<n> (RFC 3597)
  std::span<const RdataField> fields;  // empty: opaque RDATA
  uint8_t flags;                       // rrtype::
  std::string_view example;            // a one-line text form, for hints and tests ("10 mail")
};

// Every descriptor, in the order the TOML format lists its types.
std::span<const RRType> rrtypes();

// The descriptor of `number`, or null for a type rrdns knows nothing about.
const RRType* findRRType(uint16_t number);

// The end of the field of `kind` that starts at rdata[pos] (names uncompressed), or npos when
// it does not fit in `rdata`.
size_t fieldEnd(FieldKind kind, std::string_view rdata, size_t pos);

// The name in the field with field::kAdditional, or "" when there is none or the RDATA is short.
std::string_view additionalTarget(const RRType& type, std::string_view rdata);

}  // namespace rrdns::wire
