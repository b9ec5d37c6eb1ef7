// network.hh -- client networks and addresses as topology maps see them (IPv4 and IPv6 apart).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dns/base/result.hh"

namespace rrdns::topology {

enum class Family : uint8_t { V4 = 0, V6 = 1 };
// Address bits per family.
constexpr uint8_t bits(Family family) { return family == Family::V4 ? 32 : 128; }

// A network: `prefix` leading bits of `address` (network byte order; IPv4 uses the first 4
// bytes), every bit past the prefix zero.
struct Network {
  Family family = Family::V4;
  uint8_t prefix = 0;
  uint8_t address[16] = {};
  bool operator==(const Network&) const = default;
};

// "10.1.0.0/16", "2001:db8::/32"; a bare address is a host network (/32, /128). An error names
// what is wrong: not an address, a prefix beyond the family's bits, or bits set past the prefix
// (written 10.1.2.0/16 where 10.1.0.0/16 was meant: refused, as gdnsd and Knot refuse it).
Result<Network> parseNetwork(std::string_view text);
std::string formatNetwork(const Network& network);

// The address a client is routed by: the EDNS Client Subnet address (bits past its source
// prefix zero) or the query's source address. IPv4-mapped IPv6 sources count as IPv4.
struct ClientAddress {
  Family family = Family::V4;
  uint8_t address[16] = {};
};

}  // namespace rrdns::topology
