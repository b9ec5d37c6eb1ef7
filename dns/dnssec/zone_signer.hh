// zone_signer.hh -- a zone served signed: its DNSKEY RRset, the NSEC or NSEC3 chain, and an RRSIG
// over every RRset it is authoritative for, made through the zone's Signer (which caches them by
// content, so signing a zone again costs only the RRsets that changed or are due for refresh).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/zone/zone.hh"

namespace rrdns::dnssec {

struct ZoneSigning {
  std::shared_ptr<const zone::RRsetSigner> signer;
  std::vector<std::string> dnskeys;  // DNSKEY RDATA to publish (ZoneKeys::dnskeys)
  uint32_t dnskey_ttl = 0;
  std::string nsec3_salt;  // raw (policy nsec3 only)
};

// What signing a zone gives.
struct SignedResult {
  std::shared_ptr<zone::Zone> zone;  // Zone::copySigned of the input
  // A digest of every signature but the SOA's: equal digests mean a secondary has the same
  // signatures, so the serial need not rise (the app keeps the last one per zone).
  uint64_t signatures_digest = 0;
};

// Signs `zone` (unsigned, served at `serial`) by its settings().dnssec policy:
//  - DNSKEY (and NSEC3PARAM) at the apex; NSEC at every name of the chain (SignedZone::canonical)
//    with the types it has (pool names: A/AAAA for the families their members have) plus RRSIG
//    and NSEC, or the NSEC3 chain (empty non-terminals included, no opt-out);
//  - RRSIG over every authoritative RRset: not NS at a delegation nor glue below it, DS at a
//    delegation yes; a pool's A and AAAA over all its members (what a transfer sends);
//  - the SOA with `serial`.
// SignedZone::signer is `signing.signer`, which signs pool answers as health changes them.
SignedResult signZone(const zone::Zone& zone, const ZoneSigning& signing, uint32_t serial);

}  // namespace rrdns::dnssec
