#include "dns/zone/zone.hh"

#include <algorithm>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/name.hh"

namespace rrdns::zone {

namespace type = wire::type;

namespace {

// The position just after the uncompressed wire name at rdata[from], or npos when there is no
// well-formed one (labels of at most 63 bytes, at most 255 bytes in all, ending in the root).
size_t nameEnd(std::string_view rdata, size_t from) {
  for (size_t pos = from; pos < rdata.size() && pos - from < wire::kMaxNameLength;) {
    const auto length = static_cast<uint8_t>(rdata[pos]);
    if (length == 0) return pos + 1;
    if (length > wire::kMaxLabelLength) break;
    pos += 1 + length;
  }
  return std::string_view::npos;
}

// Whether RDATA the answer code interprets (names it compresses, follows or adds glue for, the
// SOA fields it reads) has the layout of its type. The TOML loader only produces such RDATA, but
// an RFC 1035 file may give any type in RFC 3597 form ("MX \# 1 00"), which libzscanner passes
// through unchecked.
bool rdataWellFormed(uint16_t rtype, std::string_view rdata) {
  auto nameFills = [&](size_t from) {
    return from <= rdata.size() && nameEnd(rdata, from) == rdata.size();
  };
  switch (rtype) {
    case type::A:
      return rdata.size() == 4;
    case type::AAAA:
      return rdata.size() == 16;
    case type::NS:
    case type::CNAME:
    case type::PTR:
      return nameFills(0);
    case type::MX:
      return nameFills(2);
    case type::SRV:
      return nameFills(6);
    case type::SOA: {
      const size_t mname = nameEnd(rdata, 0);
      const size_t rname = mname == std::string_view::npos ? mname : nameEnd(rdata, mname);
      return rname != std::string_view::npos && rdata.size() - rname == 20;
    }
    default:
      return true;
  }
}

// FNV-1a over the record's fields, then a SplitMix64 finish so that sums of hashes of similar
// records do not cancel out.
uint64_t recordHash(std::string_view owner, uint16_t rtype, uint32_t ttl, std::string_view rdata) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
    h = (h ^ bytes.size()) * 0x100000001b3ull;  // so that field boundaries count
  };
  mix(owner);
  mix(rdata);
  h ^= (uint64_t{rtype} << 32) | ttl;
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

ZoneBuilder::ZoneBuilder(std::string apex, std::string source) : d_zone(std::make_unique<Zone>()) {
  d_zone->d_apex = std::move(apex);
  d_zone->d_source = std::move(source);
}

Result<void> ZoneBuilder::add(std::string_view owner, uint16_t rtype, uint32_t ttl,
                              std::string rdata, std::optional<Error>* warning) {
  const std::string& apex = d_zone->d_apex;
  if (!wire::isSubdomainOf(owner, apex))
    return error("'" + wire::nameToText(owner) + "' is outside the zone " + wire::nameToText(apex));
  if (rtype == type::SOA && owner != apex)
    return error("SOA must be at the zone apex " + wire::nameToText(apex));
  if (rtype == type::OPT || rtype == type::ANY || rtype == type::AXFR || rtype == type::IXFR)
    return error("type " + wire::typeName(rtype) + " cannot be stored in a zone");
  if (ttl > 0x7FFFFFFF)
    return error("TTL " + std::to_string(ttl) + " is above 2^31-1 (RFC 2181 8)");
  if (!rdataWellFormed(rtype, rdata))
    return error("the RDATA of this " + wire::typeName(rtype) + " record does not have the form " +
                 wire::typeName(rtype) + " requires (RFC 1035 3.3; check a \\# RFC 3597 form)");

  auto [it, inserted] = d_zone->d_nodes.try_emplace(std::string(owner));
  Node& node = it->second;
  if (inserted) node.owner = it->first;
  if (d_refuse_cname_conflicts && !inserted) {
    const bool has_cname = node.find(type::CNAME) != nullptr;
    const bool is_cname = rtype == type::CNAME;
    if ((is_cname && !node.rrsets.empty() && !has_cname) || (!is_cname && has_cname))
      return error("'" + wire::nameToText(owner) +
                   "' has a CNAME and other data; a CNAME must be alone (RFC 1034 3.6.2): keep "
                   "either the CNAME or the other records");
  }
  auto rrset = std::find_if(node.rrsets.begin(), node.rrsets.end(),
                            [&](const RRset& r) { return r.type == rtype; });
  if (rrset == node.rrsets.end()) {
    node.rrsets.push_back(RRset{rtype, ttl, {}, kNoRotation});
    rrset = node.rrsets.end() - 1;
  } else {
    if (rtype == type::SOA) return error("a zone has exactly one SOA record");
    if (rtype == type::CNAME)
      return error("'" + wire::nameToText(owner) + "' has more than one CNAME (RFC 2181 10.1)");
    if (rrset->ttl != ttl && !warning)
      return error("TTL " + std::to_string(ttl) + " differs from " + std::to_string(rrset->ttl) +
                   " of the other " + wire::typeName(rtype) + " records at '" +
                   wire::nameToText(owner) + "' (RFC 2181 5.2)");
    // Duplicate records collapse into one, as in an RRset they are a set (RFC 2181 5).
    if (std::find(rrset->rdata.begin(), rrset->rdata.end(), rdata) != rrset->rdata.end()) {
      if (warning)
        *warning = error("duplicate " + wire::typeName(rtype) + " record at '" +
                         wire::nameToText(owner) + "' is served once; delete the repeated line");
      return success();
    }
    if (rrset->ttl != ttl)
      *warning = error("TTL " + std::to_string(ttl) + " differs from " +
                       std::to_string(rrset->ttl) + " of the other " + wire::typeName(rtype) +
                       " records at '" + wire::nameToText(owner) + "'; the RRset is served with " +
                       std::to_string(rrset->ttl) + " (RFC 2181 5.2); give its records one TTL");
  }
  rrset->rdata.push_back(std::move(rdata));
  ++d_zone->d_records;
  return success();
}

namespace {

// What the answer path relies on in a pool with sites (the TOML loader never builds anything
// else): a map, a site list per map list, and site indexes that exist.
Result<void> checkSites(const Pool& pool) {
  const std::string name = "pool '" + pool.name + "'";
  if (pool.sites.empty()) {
    if (pool.map) return error(name + " has a map but no sites");
    return success();
  }
  if (!pool.map) return error(name + " has sites but no map");
  if (pool.sites.size() > UINT16_MAX) return error(name + " has too many sites");
  if (pool.site_lists.size() != pool.map->lists.size())
    return error(name + ": its site lists do not match map '" + pool.map->name + "'");
  for (const auto& list : pool.site_lists)
    for (uint16_t site : list)
      if (site >= pool.sites.size()) return error(name + ": a site list names no site of it");
  for (const auto& member : pool.members)
    if (member.site >= pool.sites.size())
      return error(name + ": member " + member.text + " is in no site of it");
  for (const auto& source : pool.discover)
    if (source.site >= pool.sites.size())
      return error(name + ": discover " + source.hostname + " is in no site of it");
  return success();
}

}  // namespace

Result<void> ZoneBuilder::addPool(Pool pool) {
  Zone& z = *d_zone;
  if (pool.members.empty() && pool.discover.empty())
    return error("pool '" + pool.name + "' has no members");
  if (pool.members.size() > kMaxPoolMembers)
    return error("pool '" + pool.name + "' has " + std::to_string(pool.members.size()) +
                 " members; at most " + std::to_string(kMaxPoolMembers) + " are allowed");
  if (pool.owners.empty()) return error("pool '" + pool.name + "' answers no names");
  if (Result<void> sites = checkSites(pool); !sites) return sites;
  for (const auto& other : z.d_pools)
    if (other->name == pool.name) return error("pool '" + pool.name + "' is defined twice");
  for (const auto& owner : pool.owners) {
    if (!wire::isSubdomainOf(owner, z.d_apex))
      return error("'" + wire::nameToText(owner) + "' is outside the zone " +
                   wire::nameToText(z.d_apex));
    auto it = z.d_nodes.find(owner);
    if (it != z.d_nodes.end() && it->second.pool)
      return error("'" + wire::nameToText(owner) + "' is already answered by pool '" +
                   it->second.pool->name + "'");
  }
  pool.zone = z.d_apex;
  auto stored = std::make_unique<Pool>(std::move(pool));
  for (const auto& owner : stored->owners) {
    auto [it, inserted] = z.d_nodes.try_emplace(owner);
    if (inserted) it->second.owner = it->first;
    it->second.pool = stored.get();
  }
  z.d_pools.push_back(std::move(stored));
  return success();
}

Result<std::shared_ptr<Zone>> ZoneBuilder::finish() {
  Zone& z = *d_zone;
  Errors errors;
  const std::string apex_text = wire::nameToText(z.d_apex);

  auto apex = z.d_nodes.find(z.d_apex);
  if (apex == z.d_nodes.end() || !apex->second.find(type::SOA)) {
    errors.push_back(error("zone " + apex_text + " has no SOA record at its apex"));
  } else if (!apex->second.find(type::NS)) {
    errors.push_back(error("zone " + apex_text + " has no NS records at its apex"));
  }

  // Owners whose parent is below the apex: their ancestors may be missing. A view of a key
  // stays valid while the map grows (its nodes never move).
  // One pass over the nodes does the checks and the index (a million nodes take a while to
  // walk); the empty non-terminals added after it have nothing to index.
  std::vector<std::string_view> deep;
  for (auto& [owner, node] : z.d_nodes) {
    z.indexNode(owner, node);
    if (wire::parentOf(owner).size() > z.d_apex.size()) deep.push_back(owner);
    // RRSIG and NSEC records may sit beside a CNAME (RFC 4035 2.5).
    if (node.find(type::CNAME) &&
        node.rrsets.size() > 1 + (node.find(type::RRSIG) != nullptr) +
                                 (node.find(type::NSEC) != nullptr))
      errors.push_back(error("'" + wire::nameToText(owner) +
                             "' has a CNAME and other data; a CNAME must be alone (RFC 1034 "
                             "3.6.2)"));
    if (owner == z.d_apex && node.find(type::CNAME))
      errors.push_back(error("the zone apex " + apex_text + " cannot be a CNAME"));
    if (node.pool && (node.find(type::A) || node.find(type::AAAA) || node.find(type::CNAME)))
      errors.push_back(error("'" + wire::nameToText(owner) + "' is answered by pool '" +
                             node.pool->name +
                             "' and also has A, AAAA or CNAME records; keep one"));
    if (node.pool && owner != z.d_apex && node.find(type::NS))
      errors.push_back(error("'" + wire::nameToText(owner) + "' is answered by pool '" +
                             node.pool->name + "' but is also a delegation (NS)"));
  }
  if (!errors.empty()) return errors;

  // Empty non-terminals: every ancestor up to the apex exists (RFC 4592 2.2.2).
  for (std::string_view name : deep) {
    for (name = wire::parentOf(name); name.size() > z.d_apex.size(); name = wire::parentOf(name)) {
      auto [it, inserted] = z.d_nodes.try_emplace(std::string(name));
      if (!inserted) break;
      it->second.owner = it->first;
    }
  }

  z.d_apex_node = &z.d_nodes.at(z.d_apex);
  z.d_soa = z.d_apex_node->find(type::SOA);
  const std::string& soa = z.d_soa->rdata.front();
  z.d_serial = load32(reinterpret_cast<const uint8_t*>(soa.data()) + soa.size() - 20);
  z.d_file_serial = z.d_serial;
  z.d_negative_ttl =
      std::min(z.d_soa->ttl, load32(reinterpret_cast<const uint8_t*>(soa.data()) + soa.size() - 4));
  return std::shared_ptr<Zone>(std::move(d_zone));
}

void Zone::index() {
  d_digest = 0;
  d_rrsets = 0;
  d_aliases = 0;
  d_has_delegations = false;
  d_rotatable.clear();
  for (auto& [owner, node] : d_nodes) indexNode(owner, node);
}

void Zone::indexNode(std::string_view owner, Node& node) {
  node.owner = owner;
  node.delegation = owner != d_apex && node.find(type::NS);
  d_has_delegations |= node.delegation;
  d_rrsets += node.rrsets.size();
  if (node.pool || node.find(type::CNAME)) ++d_aliases;
  for (auto& rrset : node.rrsets)
    if ((rrset.type == type::A || rrset.type == type::AAAA) && rrset.rdata.size() > 1)
      d_rotatable.push_back(&rrset);
  // The digest is a sum of one hash per record, so the map's order does not matter.
  for (const auto& rrset : node.rrsets) {
    for (const auto& rdata : rrset.rdata) {
      if (rrset.type == type::SOA && rdata.size() >= 20) {
        // Everything but the serial (the 20 bytes of numbers start with it).
        std::string masked = rdata;
        std::fill_n(masked.end() - 20, 4, '\0');
        d_digest += recordHash(owner, rrset.type, rrset.ttl, masked);
      } else {
        d_digest += recordHash(owner, rrset.type, rrset.ttl, rdata);
      }
    }
  }
  // A pool is transferred as its members' addresses (answer/transfer.hh): so it is digested.
  if (node.pool)
    for (const auto& member : node.pool->members)
      d_digest += recordHash(owner, member.rtype, node.pool->ttl, member.address);
}

std::shared_ptr<Zone> Zone::copyWithMembers(
    const std::function<std::vector<PoolMember>(const Pool&)>& members) const {
  auto copy = std::make_shared<Zone>();
  copy->d_apex = d_apex;
  copy->d_source = d_source;
  copy->d_nodes = d_nodes;
  copy->d_serial = d_serial;
  copy->d_file_serial = d_file_serial;
  copy->d_settings = d_settings;
  copy->d_negative_ttl = d_negative_ttl;
  copy->d_records = d_records;
  for (const auto& pool : d_pools) {
    auto stored = std::make_unique<Pool>(*pool);
    stored->members = members(*pool);
    for (const auto& owner : stored->owners) copy->d_nodes.at(owner).pool = stored.get();
    copy->d_pools.push_back(std::move(stored));
  }
  copy->index();
  copy->d_apex_node = &copy->d_nodes.at(d_apex);
  copy->d_soa = copy->d_apex_node->find(type::SOA);
  return copy;
}

std::shared_ptr<Zone> Zone::copySigned(std::vector<std::pair<std::string, RRset>> added,
                                       uint32_t serial,
                                       std::shared_ptr<const SignedZone> signed_zone) const {
  auto copy = copyWithMembers([](const Pool& pool) { return pool.members; });
  for (auto& [owner, rrset] : added) {
    auto [it, inserted] = copy->d_nodes.try_emplace(owner);
    if (inserted) {
      // A new leaf: its ancestors up to the apex exist, as in any zone (RFC 4592 2.2.2).
      for (std::string_view name = wire::parentOf(it->first); name.size() > d_apex.size();
           name = wire::parentOf(name))
        if (!copy->d_nodes.try_emplace(std::string(name)).second) break;
    }
    auto& rrsets = it->second.rrsets;
    const uint16_t type = rrset.type;  // clang 14 cannot capture a structured binding
    auto same = std::find_if(rrsets.begin(), rrsets.end(),
                             [type](const RRset& r) { return r.type == type; });
    copy->d_records += rrset.rdata.size();
    if (same == rrsets.end()) {
      rrsets.push_back(std::move(rrset));
    } else {
      copy->d_records -= same->rdata.size();
      *same = std::move(rrset);
    }
  }
  copy->index();
  copy->d_apex_node = &copy->d_nodes.at(d_apex);
  copy->d_soa = copy->d_apex_node->find(type::SOA);
  copy->d_serial = serial;
  // NSEC3 records are transferred (answer/transfer.cc) but are no node's: digested here.
  for (const auto& record : signed_zone->nsec3_chain) {
    copy->d_digest += recordHash(record.owner, type::NSEC3, signed_zone->nsec_ttl, record.rdata);
    for (const auto& rrsig : record.rrsig)
      copy->d_digest += recordHash(record.owner, type::RRSIG, signed_zone->nsec_ttl, rrsig);
  }
  copy->d_signed = std::move(signed_zone);
  return copy;
}

std::shared_ptr<Zone> Zone::copyWithSerial(uint32_t serial) const {
  auto copy = copyWithMembers([](const Pool& pool) { return pool.members; });
  // The copy's SOA is its own: its apex node was copied with the map.
  auto* soa = const_cast<RRset*>(copy->d_soa);
  std::string& rdata = soa->rdata.front();
  store32(reinterpret_cast<uint8_t*>(rdata.data()) + rdata.size() - 20, serial);
  copy->d_serial = serial;
  return copy;
}

Result<void> ZoneSet::add(std::shared_ptr<Zone> zone) {
  if (Result<void> added = addShared(zone); !added.ok()) return added;
  d_mutable.back() = std::move(zone);
  return success();
}

Result<void> ZoneSet::addShared(std::shared_ptr<const Zone> zone) {
  if (d_by_apex.count(zone->apex()))
    return error("zone " + wire::nameToText(zone->apex()) + " is loaded twice");
  d_by_apex.emplace(zone->apex(), zone.get());
  d_longest_apex = std::max(d_longest_apex, zone->apex().size());
  d_mutable.push_back(nullptr);
  d_list.push_back(std::move(zone));
  return success();
}

std::vector<DiscoverySource> ZoneSet::discoverySources() const {
  std::vector<DiscoverySource> out;
  for (const Pool* pool : d_pools)
    for (const auto& source : pool->discover)
      if (std::none_of(out.begin(), out.end(),
                       [&](const DiscoverySource& s) { return s.key() == source.key(); }))
        out.push_back(source);
  return out;
}

std::shared_ptr<const ZoneSet> ZoneSet::withDiscovered(const ResolvedLookup& resolved,
                                                       Errors& warnings) const {
  auto members = [&](const Pool& pool) {
    std::vector<PoolMember> out;
    for (const auto& m : pool.members)
      if (m.discovered_from.empty()) out.push_back(m);
    for (const auto& source : pool.discover) {
      const std::vector<DiscoveredAddress>* addresses = resolved(source);
      if (!addresses) continue;
      for (const auto& a : *addresses) {
        if ((a.rtype == type::A && !source.want_a) || (a.rtype == type::AAAA && !source.want_aaaa))
          continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const PoolMember& m) { return m.address == a.address; }))
          continue;  // configured, or found by an earlier source: the first one wins
        if (out.size() == kMaxPoolMembers) {
          // source.source is already "file:line".
          warnings.push_back(errorAt(source.source, 0, "pool '" + pool.name + "'",
                                     source.hostname + " has more addresses than fit (" +
                                         std::to_string(kMaxPoolMembers) + " members at most); " +
                                         a.text + " and later ones are left out"));
          break;
        }
        PoolMember m;
        m.address = a.address;
        m.text = a.text;
        m.rtype = a.rtype;
        m.weight = source.weight;
        m.check = source.check;
        m.check.address = a.text;
        // A member that appears is checked before it is answered (unless nothing checks it).
        m.check.initial_up = false;
        m.discovered_from = source.hostname;
        m.site = source.site;  // a site's discovery finds that site's members
        out.push_back(std::move(m));
      }
    }
    return out;
  };
  auto set = std::make_shared<ZoneSet>();
  for (const auto& zone : d_list) {
    // Cannot fail: the zones come from a set, where each apex is there once.
    if (zone->pools().empty())
      (void)set->addShared(zone);
    else
      (void)set->add(zone->copyWithMembers(members));
  }
  set->assignRotationSlots();
  return set;
}

std::shared_ptr<const ZoneSet> ZoneSet::withSerials(
    const std::function<uint32_t(const Zone&)>& serial_for) const {
  auto set = std::make_shared<ZoneSet>();
  for (const auto& zone : d_list) {
    const uint32_t serial = serial_for(*zone);
    // Cannot fail: the zones come from a set, where each apex is there once.
    if (serial != zone->serial())
      (void)set->add(zone->copyWithSerial(serial));
    else if (!zone->pools().empty())
      (void)set->add(zone->copyWithMembers([](const Pool& pool) { return pool.members; }));
    else
      (void)set->addShared(zone);
  }
  set->assignRotationSlots();
  return set;
}

std::shared_ptr<const ZoneSet> ZoneSet::withSigned(
    const std::function<std::shared_ptr<Zone>(const Zone&)>& sign) const {
  auto set = std::make_shared<ZoneSet>();
  for (const auto& zone : d_list) {
    // Cannot fail: the zones come from a set, where each apex is there once.
    if (std::shared_ptr<Zone> signed_copy = sign(*zone))
      (void)set->add(std::move(signed_copy));
    else if (!zone->pools().empty())  // a new set numbers its pools anew
      (void)set->add(zone->copyWithMembers([](const Pool& pool) { return pool.members; }));
    else
      (void)set->addShared(zone);
  }
  set->assignRotationSlots();
  return set;
}

const Zone* ZoneSet::findZone(std::string_view name) const {
  // Skip suffixes longer than any apex, then test each suffix from the longest.
  while (name.size() > d_longest_apex) name = wire::parentOf(name);
  for (;;) {
    auto it = d_by_apex.find(name);
    if (it != d_by_apex.end()) return it->second;
    if (name.size() <= 1) return nullptr;
    name = wire::parentOf(name);
  }
}

uint32_t ZoneSet::assignRotationSlots() {
  std::unordered_map<std::string, uint32_t> target_index;
  for (size_t z = 0; z < d_list.size(); ++z) {
    Zone* zone = d_mutable[z].get();
    if (!zone) {  // shared: numbered alike by the set it came from (addShared), and pool-free
      d_rotation_slots += d_list[z]->d_rotating;
      continue;
    }
    zone->d_rotating = 0;
    for (RRset* rrset : zone->d_rotatable) {
      rrset->rotation_slot = d_rotation_slots++;
      ++zone->d_rotating;
    }
    for (auto& pool : zone->d_pools) {
      pool->id = static_cast<uint32_t>(d_pools.size());
      pool->rotation_slot = d_rotation_slots;
      d_rotation_slots += 2;  // one cursor per address family
      d_pools.push_back(pool.get());
      pool->member_base = static_cast<uint32_t>(d_members.size());
      for (auto& member : pool->members) {
        d_members.push_back(&member);
        // The same target named by several pools or zones is checked once.
        auto [it, inserted] = target_index.try_emplace(member.check.key(),
                                                       static_cast<uint32_t>(d_targets.size()));
        if (inserted) d_targets.push_back(member.check);
        member.target = it->second;
      }
    }
  }
  d_mutable.clear();
  return d_rotation_slots;
}

}  // namespace rrdns::zone
