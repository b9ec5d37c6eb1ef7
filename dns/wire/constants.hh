// constants.hh -- numbers of the DNS protocol: RR types, classes, opcodes, RCODEs, header flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rrdns::wire {

namespace type {
inline constexpr uint16_t A = 1;
inline constexpr uint16_t NS = 2;
inline constexpr uint16_t CNAME = 5;
inline constexpr uint16_t SOA = 6;
inline constexpr uint16_t PTR = 12;
inline constexpr uint16_t HINFO = 13;
inline constexpr uint16_t MX = 15;
inline constexpr uint16_t TXT = 16;
inline constexpr uint16_t AAAA = 28;
inline constexpr uint16_t SRV = 33;
inline constexpr uint16_t OPT = 41;
inline constexpr uint16_t DS = 43;
inline constexpr uint16_t RRSIG = 46;
inline constexpr uint16_t NSEC = 47;
inline constexpr uint16_t DNSKEY = 48;
inline constexpr uint16_t NSEC3 = 50;
inline constexpr uint16_t NSEC3PARAM = 51;
inline constexpr uint16_t IXFR = 251;
inline constexpr uint16_t AXFR = 252;
inline constexpr uint16_t ANY = 255;
inline constexpr uint16_t CAA = 257;
}  // namespace type

namespace klass {
inline constexpr uint16_t IN = 1;
inline constexpr uint16_t CH = 3;
inline constexpr uint16_t ANY = 255;
}  // namespace klass

namespace opcode {
inline constexpr uint8_t QUERY = 0;
}

namespace rcode {
inline constexpr uint16_t NOERROR = 0;
inline constexpr uint16_t FORMERR = 1;
inline constexpr uint16_t SERVFAIL = 2;
inline constexpr uint16_t NXDOMAIN = 3;
inline constexpr uint16_t NOTIMP = 4;
inline constexpr uint16_t REFUSED = 5;
inline constexpr uint16_t BADVERS = 16;  // extended RCODE: upper 8 bits travel in the OPT TTL
}  // namespace rcode

// Header flag bits of the 16-bit flags word (RFC 1035 4.1.1).
namespace flag {
inline constexpr uint16_t QR = 0x8000;
inline constexpr uint16_t AA = 0x0400;
inline constexpr uint16_t TC = 0x0200;
inline constexpr uint16_t RD = 0x0100;
inline constexpr uint16_t RA = 0x0080;
inline constexpr uint16_t AD = 0x0020;
inline constexpr uint16_t CD = 0x0010;
}  // namespace flag

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kMaxUdpPlainPayload = 512;   // RFC 1035 4.2.1, without EDNS
inline constexpr uint16_t kDefaultEdnsPayload = 1232;  // DNS Flag Day 2020
inline constexpr size_t kOptRecordSize = 11;          // root owner + type, class, ttl, rdlength
inline constexpr size_t kOptionHeaderSize = 4;        // an EDNS option's code and length
inline constexpr size_t kMaxMessageSize = 65535;

// Mnemonic of a type ("AAAA"), or "TYPE<n>" (RFC 3597) for unknown ones.
std::string typeName(uint16_t t);
// Inverse of typeName, case-insensitive; accepts "TYPE<n>".
std::optional<uint16_t> typeFromName(std::string_view name);
// Mnemonic of an RCODE ("NXDOMAIN", RFC 6895 2.3), or "RCODE<n>" for others.
std::string rcodeName(uint16_t rcode);

}  // namespace rrdns::wire
