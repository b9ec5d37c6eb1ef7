// nsec.hh -- the pieces of authenticated denial (RFC 4034 4, RFC 5155): type bitmaps, NSEC3
// hashes and their base32hex owner labels. Allocation-free where the general path uses them at
// query time (nsec3Hash, for NSEC3 proofs of names the zone lacks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rrdns::dnssec {

inline constexpr size_t kNsec3HashSize = 20;  // SHA-1, the only NSEC3 hash algorithm (1)

// The NSEC3 hash of `name` (uncompressed wire; lower-cased first, RFC 5155 5) with `salt` and
// `iterations` additional iterations, into `out`. No allocation.
void nsec3Hash(std::string_view name, std::string_view salt, uint16_t iterations,
               uint8_t out[kNsec3HashSize]);

// base32hex without padding in lower case (RFC 4648 7, RFC 5155 3.3): an NSEC3 owner's label.
std::string base32hex(std::string_view bytes);

// The Type Bit Maps field (RFC 4034 4.1.2) for `types` (any order, duplicates allowed).
std::string typeBitmap(std::vector<uint16_t> types);

}  // namespace rrdns::dnssec
