// zone_signer.cc -- a zone's signed copy: DNSKEY (and NSEC3PARAM) at the apex, the denial chain,
// and an RRSIG RRset at every authoritative name, all through the zone's RRsetSigner (whose cache
// makes signing the same zone again cheap).
#include "dns/dnssec/zone_signer.hh"

#include <algorithm>
#include <utility>

#include "dns/base/bytes.hh"
#include "dns/dnssec/nsec.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::dnssec {

namespace type = wire::type;

namespace {

// A hash of one signature, summed into the digest (order-independent): FNV-1a, then a
// SplitMix64 finish so that sums of similar inputs do not cancel out.
uint64_t signatureHash(std::string_view owner, std::string_view rrsig) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
    h = (h ^ bytes.size()) * 0x100000001b3ull;
  };
  mix(owner);
  mix(rrsig);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// Types the signer makes itself: what a zone file gives of them is not served in a signed zone.
bool madeBySigner(uint16_t rtype) {
  return rtype == type::RRSIG || rtype == type::NSEC || rtype == type::NSEC3 ||
         rtype == type::DNSKEY || rtype == type::NSEC3PARAM;
}

// Below a zone cut: glue or occluded data, which the zone is not authoritative for.
bool belowCut(const zone::Zone& zone, std::string_view owner) {
  for (std::string_view name = wire::parentOf(owner); name.size() > zone.apex().size();
       name = wire::parentOf(name)) {
    const zone::Node* node = zone.find(name);
    if (node && node->delegation) return true;
  }
  return false;
}

// One RRset as signed and served: a view of the zone's, or of one the signer adds.
struct Served {
  uint16_t type;
  uint32_t ttl;         // original TTL (RRSIG field)
  uint32_t served_ttl;  // TTL on the wire (pools: their TTL, below the original one)
  std::vector<std::string_view> rdata;
};

// An authoritative name of the zone and the RRsets it serves.
struct Name {
  std::string_view owner;
  const zone::Node* node;
  std::vector<Served> rrsets;    // every type the name has (without RRSIG and NSEC)
  bool signs_something = false;  // has an RRset it signs (an RRSIG RRset will be there)
};

std::vector<std::string_view> views(const std::vector<std::string>& rdata) {
  return {rdata.begin(), rdata.end()};
}

}  // namespace

SignedResult signZone(const zone::Zone& zone, const ZoneSigning& signing, uint32_t serial) {
  const zone::DnssecPolicy policy = zone.settings().dnssec.value_or(zone::DnssecPolicy{});
  const std::string& apex = zone.apex();
  const zone::RRsetSigner& signer = *signing.signer;

  auto signed_zone = std::make_shared<zone::SignedZone>();
  signed_zone->signer = signing.signer;
  const zone::RRset& soa = zone.soa();
  const std::string& soa_rdata = soa.rdata.front();
  const uint32_t minimum =
      load32(reinterpret_cast<const uint8_t*>(soa_rdata.data()) + soa_rdata.size() - 4);
  signed_zone->nsec_ttl = std::min(soa.ttl, minimum);  // RFC 9077
  signed_zone->nsec3 = policy.nsec3;
  signed_zone->nsec3_iterations = policy.nsec3 ? policy.nsec3_iterations : 0;
  signed_zone->nsec3_salt = policy.nsec3 ? signing.nsec3_salt : std::string();
  signed_zone->nsec3param_ttl = signed_zone->nsec_ttl;
  const uint32_t nsec_ttl = signed_zone->nsec_ttl;

  // The apex RRsets the signer makes or changes: they go into the copy as they are here.
  std::vector<std::pair<std::string, zone::RRset>> added;
  zone::RRset new_soa = soa;
  store32(reinterpret_cast<uint8_t*>(new_soa.rdata.front().data()) + soa_rdata.size() - 20, serial);
  zone::RRset dnskey{type::DNSKEY, signing.dnskey_ttl ? signing.dnskey_ttl : soa.ttl,
                     signing.dnskeys, zone::kNoRotation};
  zone::RRset nsec3param{type::NSEC3PARAM, signed_zone->nsec3param_ttl, {}, zone::kNoRotation};
  if (policy.nsec3) {
    std::string rdata{char(1), char(0), char(signed_zone->nsec3_iterations >> 8),
                      char(signed_zone->nsec3_iterations & 0xff),
                      char(signed_zone->nsec3_salt.size())};
    rdata += signed_zone->nsec3_salt;
    nsec3param.rdata.push_back(std::move(rdata));
  }

  // Every authoritative name: not below a cut (a delegation's own name is in, with NS and DS).
  std::vector<Name> names;
  names.reserve(zone.nodeCount());
  for (const auto& [owner, node] : zone.nodes()) {
    if (owner != apex && belowCut(zone, owner)) continue;
    Name name{owner, &node, {}, false};
    for (const auto& rrset : node.rrsets) {
      if (madeBySigner(rrset.type)) continue;
      const zone::RRset& served = rrset.type == type::SOA && owner == apex ? new_soa : rrset;
      name.rrsets.push_back({served.type, served.ttl, served.ttl, views(served.rdata)});
    }
    if (owner == apex) {
      name.rrsets.push_back({dnskey.type, dnskey.ttl, dnskey.ttl, views(dnskey.rdata)});
      if (policy.nsec3)
        name.rrsets.push_back(
            {nsec3param.type, nsec3param.ttl, nsec3param.ttl, views(nsec3param.rdata)});
    }
    if (node.pool) {
      // Signed over every member, what a transfer sends; the original TTL is the longest the
      // pool ever answers with, so that a validator accepts its answers at any TTL.
      const zone::Pool& pool = *node.pool;
      const uint32_t original = std::max(pool.ttl, pool.degraded_ttl);
      for (uint16_t rtype : {type::A, type::AAAA}) {
        Served family{rtype, original, pool.ttl, {}};
        for (const auto& member : pool.members)
          if (member.rtype == rtype) family.rdata.push_back(member.address);
        if (!family.rdata.empty()) name.rrsets.push_back(std::move(family));
      }
    }
    for (const auto& served : name.rrsets)
      if (!node.delegation || served.type == type::DS) name.signs_something = true;
    names.push_back(std::move(name));
  }

  // The denial chain.
  std::vector<std::string> nsec_rdata(names.size());  // NSEC: by index into names
  if (!policy.nsec3) {
    std::vector<size_t> chain;
    for (size_t i = 0; i < names.size(); ++i)
      if (!names[i].rrsets.empty()) chain.push_back(i);
    std::sort(chain.begin(), chain.end(), [&](size_t a, size_t b) {
      return wire::compareCanonical(names[a].owner, names[b].owner) < 0;
    });
    signed_zone->canonical.reserve(chain.size());
    for (size_t k = 0; k < chain.size(); ++k) {
      const Name& name = names[chain[k]];
      std::vector<uint16_t> types{type::RRSIG, type::NSEC};
      for (const auto& served : name.rrsets) types.push_back(served.type);
      std::string rdata(names[chain[(k + 1) % chain.size()]].owner);
      rdata += typeBitmap(std::move(types));
      nsec_rdata[chain[k]] = std::move(rdata);
      signed_zone->canonical.emplace_back(name.owner);
    }
  } else {
    auto& chain = signed_zone->nsec3_chain;
    chain.reserve(names.size());
    for (const Name& name : names) {
      zone::Nsec3Record record;
      uint8_t hash[kNsec3HashSize];
      nsec3Hash(name.owner, signed_zone->nsec3_salt, signed_zone->nsec3_iterations, hash);
      record.hash.assign(reinterpret_cast<const char*>(hash), kNsec3HashSize);
      const std::string label = base32hex(record.hash);
      record.owner.push_back(static_cast<char>(label.size()));
      record.owner += label;
      record.owner += apex;
      // The types at the name itself; RRSIG when something there is signed (not at an empty
      // non-terminal, nor at a delegation without DS).
      std::vector<uint16_t> types;
      for (const auto& served : name.rrsets) types.push_back(served.type);
      if (name.signs_something) types.push_back(type::RRSIG);
      record.rdata = typeBitmap(std::move(types));  // the fields before it come below
      chain.push_back(std::move(record));
    }
    std::sort(
        chain.begin(), chain.end(),
        [](const zone::Nsec3Record& a, const zone::Nsec3Record& b) { return a.hash < b.hash; });
    for (size_t k = 0; k < chain.size(); ++k) {
      std::string rdata{char(1), char(0),  // SHA-1, no opt-out
                        char(signed_zone->nsec3_iterations >> 8),
                        char(signed_zone->nsec3_iterations & 0xff),
                        char(signed_zone->nsec3_salt.size())};
      rdata += signed_zone->nsec3_salt;
      rdata.push_back(static_cast<char>(kNsec3HashSize));
      rdata += chain[(k + 1) % chain.size()].hash;
      rdata += chain[k].rdata;
      chain[k].rdata = std::move(rdata);
    }
  }

  // The signatures: an RRSIG RRset at every name that signs something.
  uint64_t digest = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    Name& name = names[i];
    if (!nsec_rdata[i].empty()) {
      name.rrsets.push_back({type::NSEC, nsec_ttl, nsec_ttl, {nsec_rdata[i]}});
      name.signs_something = true;
    }
    if (!name.signs_something) continue;
    zone::RRset rrsig{type::RRSIG, UINT32_MAX, {}, zone::kNoRotation};
    for (const auto& served : name.rrsets) {
      // A delegation's NS and the glue are the child's data (RFC 4035 2.2).
      if (name.node->delegation && served.type != type::DS && served.type != type::NSEC) continue;
      std::vector<std::string> made =
          signer.sign(name.owner, served.type, served.ttl, served.rdata);
      for (auto& signature : made) {
        if (served.type != type::SOA) digest += signatureHash(name.owner, signature);
        rrsig.rdata.push_back(std::move(signature));
      }
      // Each RRSIG record is transferred with its covered RRset's TTL (answer/transfer.cc);
      // the RRset's own TTL is the lowest of them.
      rrsig.ttl = std::min(rrsig.ttl, served.served_ttl);
    }
    if (!nsec_rdata[i].empty())
      added.emplace_back(
          std::string(name.owner),
          zone::RRset{type::NSEC, nsec_ttl, {std::move(nsec_rdata[i])}, zone::kNoRotation});
    added.emplace_back(std::string(name.owner), std::move(rrsig));
  }
  for (auto& record : signed_zone->nsec3_chain) {
    record.rrsig = signer.sign(record.owner, type::NSEC3, nsec_ttl, {record.rdata});
    for (const auto& signature : record.rrsig) digest += signatureHash(record.owner, signature);
  }

  added.emplace_back(apex, std::move(new_soa));
  added.emplace_back(apex, std::move(dnskey));
  if (policy.nsec3) added.emplace_back(apex, std::move(nsec3param));

  SignedResult result;
  result.zone = zone.copySigned(std::move(added), serial, std::move(signed_zone));
  result.signatures_digest = digest;
  return result;
}

}  // namespace rrdns::dnssec
