// precompile.cc -- the fast path's table: the general path's responses, recorded at load time.
#include "dns/answer/precompile.hh"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dns/answer/resolve.hh"
#include "dns/wire/header.hh"
#include "dns/wire/query.hh"
#include "dns/wire/writer.hh"

namespace rrdns::answer {
namespace {

// The general path's bookkeeping limits; a catalog beyond them answers the rest the general way.
constexpr size_t kMaxPrecompiledEntries = size_t{1} << 20;
constexpr size_t kMaxPrecompiledBytes = size_t{64} << 20;

// Load time: parses the query "`name` `qtype` IN" (with `dnssec_ok`, an OPT record with the DO
// bit) into `q` and writes its header (blank) and question into `w`, as answer() does before the
// general path. False if it does not parse.
bool startLoadTimeQuery(std::string_view name, uint16_t qtype, wire::Query& q, wire::Writer& w,
                        bool dnssec_ok = false) {
  uint8_t query[wire::kHeaderSize + wire::kMaxNameLength + 4 + wire::kOptRecordSize] = {};
  store16(query + wire::header::kQdCount, 1);
  std::memcpy(query + wire::kHeaderSize, name.data(), name.size());
  size_t qend = wire::kHeaderSize + name.size() + 4;
  store16(query + qend - 4, qtype);
  store16(query + qend - 2, wire::klass::IN);
  if (dnssec_ok) {
    // Root owner, OPT, payload, extended RCODE 0, version 0, DO, no options (RFC 6891 6.1.2).
    store16(query + wire::header::kArCount, 1);
    uint8_t* opt = query + qend;
    store16(opt + 1, wire::type::OPT);
    store16(opt + 3, static_cast<uint16_t>(wire::kMaxMessageSize));
    store16(opt + 7, 0x8000);
    qend += wire::kOptRecordSize;
  }
  if (wire::parseQuery({query, qend}, q) != wire::ParseStatus::Ok) return false;
  const uint8_t blank_header[wire::kHeaderSize] = {};
  w.bytes(blank_header, wire::kHeaderSize);
  w.name(q.qname.view());
  w.u16(q.qtype);
  w.u16(q.qclass);
  return true;
}

// What the general path answers "`prefix`<apex> A", seen as a NegativeAnswer for `prefix`.
// Leaves `t.usable` false if that is not a replayable NXDOMAIN.
NegativeAnswer probeNegative(const Catalog& catalog, const zone::Zone& zone,
                             std::string_view prefix, size_t& entries) {
  NegativeAnswer t;
  t.apex = zone.apex();
  t.prefix = static_cast<uint16_t>(prefix.size());
  const std::string name = std::string(prefix) + zone.apex();
  if (name.size() > wire::kMaxNameLength || zone.find(name) ||
      catalog.zones->findZone(name) != &zone)
    return t;
  std::vector<uint8_t> out(wire::kMaxMessageSize);
  wire::Writer w(out.data(), out.size());
  wire::Query q;
  if (!startLoadTimeQuery(name, wire::type::A, q, w)) return t;
  const size_t qend = w.size();
  std::vector<uint16_t> pointers;
  w.logPointers(&pointers);
  Recording rec;
  Response response(w, catalog, *catalog.initial_pools, q, Transport::Udp, false);
  response.record(&rec);
  response.resolve();
  w.logPointers(nullptr);
  if (!w.ok() || rec.dynamic || rec.rotating || rec.pool ||
      response.rcode() != wire::rcode::NXDOMAIN || response.flags() != wire::flag::AA ||
      response.count(kAnswer) != 0 || response.count(kAdditional) != 0)
    return t;
  for (const uint16_t at : pointers) {
    // Only pointers into the apex part of the question, or past it, move alike.
    if (at < qend || (load16(out.data() + at) & 0x3FFF) < wire::kHeaderSize + prefix.size())
      return t;
    t.pointers.push_back(static_cast<uint16_t>(at - qend));
  }
  t.image.assign(reinterpret_cast<const char*>(out.data()) + qend, w.size() - qend);
  t.flags = response.flags();
  for (int s = 0; s < 3; ++s) t.counts[s] = response.count(static_cast<Section>(s));
  entries = w.mark().compression_entries;
  t.usable = true;
  return t;
}

// The NegativeAnswer of `zone`, from two probes of different lengths that must agree.
NegativeAnswer negativeAnswer(const Catalog& catalog, const zone::Zone& zone, bool wildcard) {
  NegativeAnswer none;
  none.apex = zone.apex();
  if (wildcard || zone.hasDelegations()) return none;
  std::string avoid[2];
  const std::string_view soa = zone.soa().rdata.front();
  size_t at = 0;
  for (std::string& label : avoid) {  // MNAME, RNAME
    const size_t start = at;
    while (at < soa.size() && soa[at] != 0) at += 1 + static_cast<uint8_t>(soa[at]);
    if (++at > soa.size()) return none;
    std::string lower(soa.substr(start, at - start));
    wire::lowerName(reinterpret_cast<uint8_t*>(lower.data()), lower.size());
    if (lower.size() <= zone.apex().size() || !wire::isSubdomainOf(lower, zone.apex())) continue;
    size_t l = 0;
    while (lower.size() - (l + 1 + static_cast<uint8_t>(lower[l])) > zone.apex().size())
      l += 1 + static_cast<uint8_t>(lower[l]);
    label = lower.substr(l, 1 + static_cast<uint8_t>(lower[l]));
  }
  const std::string probe = std::string(1, '\x0b') + "rrdns-probe";  // one label
  if (probe == avoid[0] || probe == avoid[1]) return none;
  size_t entries = 0, longer_entries = 0;
  NegativeAnswer t = probeNegative(catalog, zone, probe, entries);
  const NegativeAnswer longer =
      probeNegative(catalog, zone, std::string("\x01x") + probe, longer_entries);
  if (!t.usable || !longer.usable || t.pointers != longer.pointers ||
      t.image.size() != longer.image.size() || longer_entries != entries + 1 ||
      longer_entries >= 64)
    return none;
  std::string moved = t.image;
  const int shift = longer.prefix - t.prefix;
  for (const uint16_t p : t.pointers) {
    auto* b = reinterpret_cast<uint8_t*>(moved.data()) + p;
    store16(b, static_cast<uint16_t>(0xC000 | ((load16(b) & 0x3FFF) + shift)));
  }
  if (moved != longer.image) return none;
  t.max_labels = 65 - entries;
  t.avoid[0] = avoid[0];
  t.avoid[1] = avoid[1];
  return t;
}

// Records the general path's answer to "`name` `qtype` IN" (with the DO bit if `dnssec_ok`) into
// `out`: the entry in `e` and its image in `image` (a view of `out`). False if it cannot be
// replayed.
bool recordAnswer(const Catalog& catalog, std::string_view name, uint16_t qtype, bool dnssec_ok,
                  std::vector<uint8_t>& out, PrecompiledAnswer& e, std::string_view& image) {
  wire::Writer w(out.data(), out.size());
  wire::Query q;
  if (!startLoadTimeQuery(name, qtype, q, w, dnssec_ok)) return false;
  const size_t qend = w.size();
  Recording rec;
  Response response(w, catalog, *catalog.initial_pools, q, Transport::Udp, false);
  response.record(&rec);
  response.resolve();
  if (rec.dynamic || rec.rotating > 1 || (rec.pool && rec.rotating) ||
      (response.flags() & wire::flag::TC) || response.transferZone() || !w.ok() ||
      w.size() - qend > UINT16_MAX)
    return false;
  e.hash = wire::hashName(name);
  e.name = name.data();
  e.name_size = static_cast<uint8_t>(name.size());
  e.qtype = qtype;
  e.flags = response.flags();
  e.rcode = response.rcode();
  for (int s = 0; s < 3; ++s) e.counts[s] = response.count(static_cast<Section>(s));
  if (rec.rotating == 1) {
    e.rotate_slot = rec.rotate_slot;
    e.rotate_at = static_cast<uint16_t>(rec.rotate_at - qend);
    e.rotate_size = static_cast<uint16_t>(rec.rotate_size);
    e.rotate_count = static_cast<uint16_t>(rec.rotate_count);
  }
  e.pool = rec.pool;
  e.pool_family = rec.pool_family;
  image = {reinterpret_cast<const char*>(out.data()) + qend, w.size() - qend};
  return true;
}

// Whether two recorded answers replay alike (then a DO answer needs no entry of its own).
bool sameAnswer(const PrecompiledAnswer& a, std::string_view a_image, const PrecompiledAnswer& b,
                std::string_view b_image) {
  return a.flags == b.flags && a.rcode == b.rcode &&
         std::equal(a.counts, a.counts + 3, b.counts) && a.rotate_slot == b.rotate_slot &&
         a.rotate_at == b.rotate_at && a.rotate_size == b.rotate_size &&
         a.rotate_count == b.rotate_count && a_image == b_image;
}

// The index of `owner` in pool.owners, into `index`; false if it is not one (or too many).
bool ownerIndex(const zone::Pool& pool, std::string_view owner, uint32_t& index) {
  for (size_t k = 0; k < pool.owners.size() && k < zone::kNoRotation; ++k)
    if (wire::namesEqualIgnoreCase(pool.owners[k], owner)) {
      index = static_cast<uint32_t>(k);
      return true;
    }
  return false;
}

}  // namespace

std::shared_ptr<const PrecompiledAnswers> precompile(const Catalog& catalog,
                                                     const std::atomic<bool>* stop) {
  auto table = std::make_shared<PrecompiledAnswers>();
  // Sized up front: growing by doubling would leave a big zone's heap with twice the memory.
  size_t expected = 0;
  for (const auto& zone : catalog.zones->zones())
    expected += zone->rrsetCount() + 2 * zone->aliasCount();
  expected = std::min(expected, kMaxPrecompiledEntries);
  table->reserve(expected, std::min(expected * 24, kMaxPrecompiledBytes));
  std::vector<uint8_t> out(wire::kMaxMessageSize), out_signed;
  size_t bytes = 0;
  bool complete = true;  // every name of every zone has an entry
  const auto& zones = catalog.zones->zones();
  std::vector<bool> wildcards(zones.size());
  for (size_t z = 0; z < zones.size(); ++z) {
    const auto& zone = zones[z];
    const bool signed_zone = zone->signedZone() != nullptr;
    if (signed_zone) out_signed.resize(wire::kMaxMessageSize);
    for (const auto& [name, node] : zone->nodes()) {
      if (stop && stop->load(std::memory_order_relaxed)) return nullptr;
      if (name.size() > 2 && name[0] == 1 && name[1] == '*') wildcards[z] = true;
      uint16_t qtypes[16];
      size_t count = 0;
      bool all_types = true;  // false: more types than qtypes holds, and the rest go general
      auto want = [&](uint16_t t) {
        if (std::find(qtypes, qtypes + count, t) != qtypes + count) return;
        if (count < std::size(qtypes))
          qtypes[count++] = t;
        else
          all_types = false;
      };
      // Entries of one name share a probe sequence, in this order: a signed zone's RRSIG and
      // NSEC, which few ask for, go last so that they do not lengthen the probes for the rest.
      const auto dnssec_meta = [](uint16_t t) {
        return t == wire::type::RRSIG || t == wire::type::NSEC;
      };
      for (const auto& rrset : node.rrsets)
        if (!dnssec_meta(rrset.type)) want(rrset.type);
      if (node.pool || node.find(wire::type::CNAME)) {
        want(wire::type::A);
        want(wire::type::AAAA);
      }
      for (const auto& rrset : node.rrsets)
        if (dnssec_meta(rrset.type)) want(rrset.type);
      size_t made = 0;   // qtypes with an entry
      size_t added = 0;  // entries, DO answers included
      for (size_t t = 0; t < count; ++t) {
        if (table->size() + (signed_zone ? 2 : 1) > kMaxPrecompiledEntries ||
            bytes >= kMaxPrecompiledBytes) {
          complete = false;
          break;
        }
        PrecompiledAnswer e;
        std::string_view image;
        if (!recordAnswer(catalog, name, qtypes[t], false, out, e, image)) continue;
        // A signed zone's DO answer follows (RRSIGs): the entry right after, or the general
        // path where it cannot be replayed. A pool's always follows: its RRSIG records come from
        // the pool states (FamilyState::signatures), for its owner `rotate_slot`.
        PrecompiledAnswer d;
        std::string_view signed_image;
        if (signed_zone) {
          if (!recordAnswer(catalog, name, qtypes[t], true, out_signed, d, signed_image) ||
              d.pool != e.pool || d.pool_family != e.pool_family)
            e.signed_next = kSignedGeneral;
          else if (d.pool)
            e.signed_next = ownerIndex(*d.pool, name, d.rotate_slot) ? kSignedNext : kSignedGeneral;
          else if (!sameAnswer(e, image, d, signed_image))
            e.signed_next = kSignedNext;
        }
        bytes += image.size();
        table->add(e, image);
        ++added;
        if (e.signed_next == kSignedNext) {
          bytes += signed_image.size();
          table->add(d, signed_image);
          ++added;
        }
        ++made;
      }
      // NODATA for the types the name lacks is the zone's negative answer only where the zone
      // answers for the name (not data under a child zone's apex) and nothing redirects it.
      const bool nodata = made == count && all_types && !node.delegation &&
                          !node.find(wire::type::CNAME) &&
                          (zones.size() == 1 || catalog.zones->findZone(name) == zone.get());
      if (made > 0) {
        table->markNodata(added, nodata);
      } else if (table->size() < kMaxPrecompiledEntries) {
        PrecompiledAnswer e;  // an empty non-terminal, or nothing replayable: the name exists
        e.hash = wire::hashName(name);
        e.name = name.data();
        e.name_size = static_cast<uint8_t>(name.size());
        e.nodata = nodata;
        table->add(e, {});
      } else {
        complete = false;
      }
    }
  }
  if (complete) {
    std::vector<NegativeAnswer> negatives;
    for (size_t z = 0; z < zones.size(); ++z) {
      negatives.push_back(negativeAnswer(catalog, *zones[z], wildcards[z]));
      negatives.back().signed_zone = zones[z]->signedZone() != nullptr;
    }
    table->setNegatives(std::move(negatives));
  }
  table->finish();
  return table;
}


}  // namespace rrdns::answer
