// dnssec.hh -- what a signed zone holds beside its records, and how it is to be signed: the
// signing policy read from the zone's config, the chains that deny names and types (NSEC, NSEC3),
// and the signer pools' answers are signed through. Pure data and one interface: the keys and the
// cryptography live in dns/dnssec, which implements RRsetSigner and builds SignedZone.
//
// The records a signed zone adds (DNSKEY and NSEC3PARAM at the apex, an NSEC at each name of the
// chain, RRSIG RRsets holding the signatures of every RRset at a name) are ordinary RRsets of its
// nodes, so answers, transfers and digests see them like any other. What is not a node's lives
// here: NSEC3 records (their owners are hashes, which no query may find as names: RFC 5155 7.2.8)
// and the canonical order of the names, which NSEC denials search.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rrdns::zone {

// DNSSEC algorithm numbers (RFC 8624) rrdns signs with.
enum class DnssecAlgorithm : uint8_t {
  EcdsaP256Sha256 = 13,  // the default, as Knot DNS's
  Ed25519 = 15,
};

// How a zone is signed: the `[dnssec]` table of a TOML zone, or the `dnssec` key of a zones entry
// in the server config (docs/dnssec.md). Key names and defaults are Knot DNS's policy's.
// Durations are seconds.
struct DnssecPolicy {
  DnssecAlgorithm algorithm = DnssecAlgorithm::EcdsaP256Sha256;  // algorithm
  bool single_type_signing = false;  // single-type-signing: one CSK instead of KSK + ZSK
  bool nsec3 = false;                // nsec3: NSEC3 (RFC 5155) instead of NSEC
  uint16_t nsec3_iterations = 0;     // nsec3-iterations (RFC 9276: 0)
  uint8_t nsec3_salt_length = 0;     // nsec3-salt-length (RFC 9276: no salt)
  uint32_t dnskey_ttl = 0;           // dnskey-ttl; 0: the SOA's TTL
  uint32_t zsk_lifetime = 30 * 86400;     // zsk-lifetime: a ZSK is rolled over after this (0: never)
  uint32_t propagation_delay = 3600;      // propagation-delay: for a change to reach every secondary
  uint32_t rrsig_lifetime = 14 * 86400;   // rrsig-lifetime: a signature's validity
  uint32_t rrsig_refresh = 7 * 86400;     // rrsig-refresh: re-signed this long before it expires
  std::string source;                     // file:line of the table, for messages
};

// Signs RRsets with a zone's current keys (dns/dnssec::Signer). Thread-safe; never called on a
// query thread (dns/base/thread_role.hh counts it if it is).
class RRsetSigner {
 public:
  virtual ~RRsetSigner() = default;
  // The RRSIG RDATA (RFC 4034 3.1) over the RRset of `rtype` at `owner` (lower-cased wire) with
  // these RDATA (any order, duplicates allowed: the canonical RRset is sorted and deduplicated)
  // and original TTL `ttl`: one per key that signs this type now (DNSKEY: the KSKs or the CSK;
  // every other type: the active ZSK or CSK). From the cache when an equal RRset was signed with
  // the same key and its signature is not yet due for refresh, else made now.
  virtual std::vector<std::string> sign(std::string_view owner, uint16_t rtype, uint32_t ttl,
                                        const std::vector<std::string_view>& rdata) const = 0;
};

// One NSEC3 record of a zone (RFC 5155), with its signatures.
struct Nsec3Record {
  std::string hash;   // the raw hash of the name it stands for (20 bytes: SHA-1)
  std::string owner;  // lower-cased wire: base32hex(hash) then the apex
  std::string rdata;  // the NSEC3 RDATA
  std::vector<std::string> rrsig;  // RRSIG RDATA over it
};

// What a signed zone holds beside its nodes' RRsets. Shared by copies of the zone.
struct SignedZone {
  // Signs pool answers (a set of members first seen, RRSIGs due for refresh): see FamilyState
  // (dns/answer/pool_state.hh).
  std::shared_ptr<const RRsetSigner> signer;
  uint32_t nsec_ttl = 0;  // TTL of NSEC/NSEC3 records: min(SOA TTL, SOA MINIMUM) (RFC 9077)
  // NSEC: the owner names of the chain (lower-cased wire) in canonical order (RFC 4034 6.1):
  // every name with authoritative data or a delegation, not empty non-terminals, not glue. The
  // NSEC covering a missing name is that of the last name before it (wrapping to the last).
  std::vector<std::string> canonical;
  // NSEC3 (nsec3 true): the records by hash, ascending; `canonical` is then empty.
  bool nsec3 = false;
  uint16_t nsec3_iterations = 0;
  std::string nsec3_salt;
  std::vector<Nsec3Record> nsec3_chain;
  uint32_t nsec3param_ttl = 0;
};

}  // namespace rrdns::zone
