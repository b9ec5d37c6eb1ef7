// rrsig.hh -- RRSIG records (RFC 4034 3): the data a signature covers, and the RDATA.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/dnssec/key.hh"

namespace rrdns::dnssec {

struct Validity {
  uint32_t inception = 0;   // unix seconds (RFC 4034 3.1.5: serial arithmetic on the wire)
  uint32_t expiration = 0;
};

// The RRSIG RDATA by `key` (of the zone `apex`, the signer's name) over the RRset of `rtype` at
// `owner` with original TTL `ttl` and these RDATA, which it puts in canonical form (RFC 4034
// 3.1.8.1, 6.2, 6.3: sorted, deduplicated; RDATA names are already lower case). A wildcard owner
// ("\1*" first) gets a labels count without the asterisk.
std::string makeRrsig(const Key& key, std::string_view apex, std::string_view owner,
                      uint16_t rtype, uint32_t ttl, std::vector<std::string_view> rdata,
                      Validity validity);

// Whether `rrsig` (RDATA) is a valid signature by `key` over that RRset (tests, and a check of
// what the cache hands out).
bool verifyRrsig(const Key& key, std::string_view rrsig, std::string_view owner, uint16_t rtype,
                 std::vector<std::string_view> rdata);

}  // namespace rrdns::dnssec
