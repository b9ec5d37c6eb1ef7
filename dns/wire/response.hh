// response.hh -- the end of every response: its header, its OPT record, and the UDP size rule.
//
// One place for what the fast path, the general path, slips and transfers all write, so that they
// cannot drift apart. Inline and raw (no Writer): the fast path writes these per query.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/header.hh"
#include "dns/wire/question.hh"

namespace rrdns::wire {

// The query's header bits a response echoes: opcode and RD (RFC 1035 4.1.1). Not CD: RFC 4035
// 3.2.2 has a security-aware server copy it, and rrdnsd serves no DNSSEC; Knot DNS and NSD clear
// it for unsigned zones too. AA, AD, Z and the rest of a query's bits are ignored.
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

// The largest UDP response we may send: 512 without EDNS, else the smaller of the requester's
// size (never below 512, RFC 6891 6.2.5) and ours.
[[gnu::always_inline]] inline size_t udpLimit(bool edns, uint16_t their_payload,
                                              uint16_t our_payload) {
  if (!edns) return kMaxUdpPlainPayload;
  return std::min<size_t>(std::max<size_t>(their_payload, kMaxUdpPlainPayload), our_payload);
}

}  // namespace rrdns::wire
