// header.hh -- the 12-byte DNS message header, read and written by byte offset (RFC 1035 4.1.1).
#pragma once

#include <cstdint>

#include "dns/base/bytes.hh"

namespace rrdns::wire::header {

inline constexpr size_t kId = 0, kFlags = 2, kQdCount = 4, kAnCount = 6, kNsCount = 8,
                        kArCount = 10;

inline uint16_t id(const uint8_t* m) { return load16(m + kId); }
inline uint16_t flags(const uint8_t* m) { return load16(m + kFlags); }
inline uint8_t opcode(uint16_t flags) { return (flags >> 11) & 0x0F; }
inline uint16_t qdcount(const uint8_t* m) { return load16(m + kQdCount); }
inline uint16_t ancount(const uint8_t* m) { return load16(m + kAnCount); }
inline uint16_t nscount(const uint8_t* m) { return load16(m + kNsCount); }
inline uint16_t arcount(const uint8_t* m) { return load16(m + kArCount); }

inline void setId(uint8_t* m, uint16_t v) { store16(m + kId, v); }
inline void setFlags(uint8_t* m, uint16_t v) { store16(m + kFlags, v); }
inline void setCounts(uint8_t* m, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  store16(m + kQdCount, qd);
  store16(m + kAnCount, an);
  store16(m + kNsCount, ns);
  store16(m + kArCount, ar);
}

}  // namespace rrdns::wire::header
