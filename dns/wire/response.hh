// response.hh -- the end of every response: its header, its OPT record, and the UDP size rule.
//
// One place for what the fast path, the general path, slips and transfers all write, so that they
// cannot drift apart. Inline and raw (no Writer): the fast path writes these per query.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"
#include "dns/wire/question.hh"

namespace rrdns::wire {

// The query's header bits a response echoes: opcode and RD (RFC 1035 4.1.1). Not CD, though RFC
// 4035 3.2.2 has a security-aware server copy it: Knot DNS 3.2.6 clears it for signed zones (with
// DO set or not) and unsigned ones alike (checked against knotd with automatic signing), and so
// does rrdnsd, on both paths. AA, AD, Z and the rest of a query's bits are ignored.
inline constexpr uint16_t kEchoedFlags = 0x7800 /* opcode */ | flag::RD;

// The response header at `m`: the query's ID, QR, the echoed bits of `query_flags`, `flags` (AA,
// TC) and the low 4 bits of `rcode`.
[[gnu::always_inline]] inline void setResponseHeader(uint8_t* m, uint16_t id, uint16_t query_flags,
                                                     uint16_t flags, uint16_t rcode, uint16_t qd,
                                                     uint16_t an, uint16_t ns, uint16_t ar) {
  header::setId(m, id);
  header::setFlags(m, flag::QR | (query_flags & kEchoedFlags) | flags | (rcode & 0x0F));
  header::setCounts(m, qd, an, ns, ar);
}

inline uint8_t extendedRcode(uint16_t rcode) { return static_cast<uint8_t>(rcode >> 4); }

// Our OPT record (RFC 6891 6.1.2), no options, at `p`: kOptRecordSize bytes. `extended_rcode` is
// the upper 8 bits of the RCODE (extendedRcode()).
[[gnu::always_inline]] inline void putOpt(uint8_t* p, uint16_t payload, uint8_t extended_rcode,
                                          bool dnssec_ok) {
  p[0] = 0;  // root owner
  store16(p + 1, type::OPT);
  store16(p + 3, payload);
  p[5] = extended_rcode;
  p[6] = 0;  // version
  store16(p + 7, dnssec_ok ? 0x8000 : 0);
  store16(p + 9, 0);  // RDLENGTH
}

// The ECS option (RFC 7871 7.2.1) a response to a query with a well-formed one carries: where the
// query's option data is (`option`, `size` bytes) and the SCOPE PREFIX-LENGTH to send. Empty
// (null `option`) when the response carries none.
struct SubnetEcho {
  const uint8_t* option = nullptr;
  uint16_t size = 0;
  uint8_t scope = 0;
  // Bytes the option takes in the OPT record's RDATA.
  size_t wireSize() const { return option ? kOptionHeaderSize + size : 0; }
};

// Writes `echo` at `p` (echo.wireSize() bytes): FAMILY, SOURCE PREFIX-LENGTH and ADDRESS as the
// query sent them, SCOPE PREFIX-LENGTH echo.scope. As Knot DNS 3.2: address bits past SOURCE are
// cleared and address bytes beyond those SOURCE needs go back as zeros (subnetWellFormed()).
[[gnu::always_inline]] inline void putClientSubnet(uint8_t* p, const SubnetEcho& echo) {
  const uint8_t* q = echo.option;
  const uint8_t source = q[2];
  const size_t bytes = subnetAddressBytes(source);
  store16(p, edns_option::ECS);
  store16(p + 2, echo.size);
  std::memcpy(p + 4, q, 4 + bytes);
  p[7] = echo.scope;
  if (source % 8 != 0) p[8 + bytes - 1] &= static_cast<uint8_t>(0xFF00 >> (source % 8));
  if (echo.size > 4 + bytes) std::memset(p + 8 + bytes, 0, echo.size - 4 - bytes);
}

// The largest UDP response we may send: 512 without EDNS, else the smaller of the requester's
// size (never below 512, RFC 6891 6.2.5) and ours.
[[gnu::always_inline]] inline size_t udpLimit(bool edns, uint16_t their_payload,
                                              uint16_t our_payload) {
  if (!edns) return kMaxUdpPlainPayload;
  return std::min<size_t>(std::max<size_t>(their_payload, kMaxUdpPlainPayload), our_payload);
}

}  // namespace rrdns::wire
