// transfer.cc -- walking a zone into AXFR messages, record by record, resumable between messages;
// the IXFR decision.
#include "dns/answer/transfer.hh"

#include <algorithm>

#include "dns/base/bytes.hh"
#include "dns/wire/header.hh"
#include "dns/wire/name.hh"
#include "dns/wire/writer.hh"
#include "dns/zone/serial.hh"

namespace rrdns::answer {

namespace type = wire::type;

std::optional<uint32_t> ixfrClientSerial(std::span<const uint8_t> message, std::string_view qname) {
  if (message.size() < wire::kHeaderSize) return std::nullopt;
  const uint8_t* m = message.data();
  if (wire::header::qdcount(m) != 1 || wire::header::nscount(m) == 0) return std::nullopt;
  size_t pos = wire::kHeaderSize;
  wire::NameBuf name;
  if (wire::readName(message, pos, name) != wire::NameStatus::Ok) return std::nullopt;
  pos += 4;  // QTYPE, QCLASS
  // Records before it (an answer section a client should not send) are skipped.
  for (size_t i = 0; i <= wire::header::ancount(m); ++i) {
    if (wire::readName(message, pos, name) != wire::NameStatus::Ok) return std::nullopt;
    if (pos + 10 > message.size()) return std::nullopt;
    const uint16_t rtype = load16(m + pos);
    const uint16_t rdlength = load16(m + pos + 8);
    const size_t rdata = pos + 10;
    if (rdata + rdlength > message.size()) return std::nullopt;
    pos = rdata + rdlength;
    if (i < wire::header::ancount(m)) continue;
    // The authority section's first record: the client's SOA, at the zone's name.
    wire::lowerName(name.data, name.size);
    if (rtype != type::SOA || name.view() != qname) return std::nullopt;
    size_t at = rdata;
    wire::NameBuf mname, rname;  // possibly compressed: read them to find the numbers
    if (wire::readName(message, at, mname) != wire::NameStatus::Ok ||
        wire::readName(message, at, rname) != wire::NameStatus::Ok || at + 20 != pos)
      return std::nullopt;
    return load32(m + at);
  }
  return std::nullopt;
}

IxfrAnswer ixfrAnswer(uint32_t ours, uint32_t theirs, bool tcp) {
  if (!tcp || zone::ixfrUpToDate(ours, theirs)) return IxfrAnswer::SingleSoa;
  return IxfrAnswer::FullTransfer;
}

namespace {

// An RRSIG record goes out with the TTL of the RRset it covers (RFC 4034 3), which the node's
// RRSIG RRset, holding the signatures of all its types, cannot carry alone: pools' A and AAAA
// at the pool's TTL, others at their RRset's.
uint32_t signatureTtl(const zone::Node& node, const zone::RRset& rrsigs, std::string_view rrsig) {
  if (rrsig.size() < 2) return rrsigs.ttl;
  const uint16_t covered = load16(reinterpret_cast<const uint8_t*>(rrsig.data()));
  if (const zone::RRset* rrset = node.find(covered)) return rrset->ttl;
  if (node.pool && (covered == type::A || covered == type::AAAA)) return node.pool->ttl;
  return rrsigs.ttl;
}

}  // namespace

Transfer::Transfer(std::shared_ptr<const Catalog> catalog, const zone::Zone& zone,
                   const wire::Query& query)
    : d_catalog(std::move(catalog)),
      d_zone(zone),
      d_id(query.id),
      d_flags(query.flags & wire::flag::RD),  // not CD: as wire::kEchoedFlags
      d_qname(query.qname.view()),
      d_qtype(query.qtype),
      d_qclass(query.qclass),
      d_node(zone.nodes().begin()) {}

bool Transfer::current(Item& item) {
  const auto end = d_zone.nodes().end();
  for (; d_node != end; ++d_node, d_slot = 0, d_record = 0) {
    const zone::Node& node = d_node->second;
    const size_t rrsets = node.rrsets.size();
    for (; d_slot < rrsets; ++d_slot, d_record = 0) {
      const zone::RRset& rrset = node.rrsets[d_slot];
      // The SOA opens and closes the stream (RFC 5936 2.2) and must not appear in between.
      if (rrset.type == type::SOA && &rrset == &d_zone.soa()) continue;
      if (d_record < rrset.rdata.size()) {
        const std::string& rdata = rrset.rdata[d_record];
        const uint32_t ttl =
            rrset.type == type::RRSIG ? signatureTtl(node, rrset, rdata) : rrset.ttl;
        item = {node.owner, rrset.type, ttl, rdata};
        return true;
      }
    }
    if (!node.pool) continue;
    // A pool is served as its members' addresses: A records first, then AAAA, each RRset
    // whole, at the pool's TTL whatever the members' health (a secondary cannot health-check).
    const zone::Pool& pool = *node.pool;
    for (; d_slot < rrsets + 2; ++d_slot, d_record = 0) {
      const uint16_t rtype = d_slot == rrsets ? type::A : type::AAAA;
      for (; d_record < pool.members.size(); ++d_record) {
        const zone::PoolMember& member = pool.members[d_record];
        if (member.rtype != rtype) continue;
        item = {node.owner, rtype, pool.ttl, member.address};
        return true;
      }
    }
  }
  // A signed zone's NSEC3 records are no node's (their owners are hashes): each follows, with
  // its signatures, at the NSEC3 TTL.
  const zone::SignedZone* signed_zone = d_zone.signedZone();
  if (!signed_zone) return false;
  const auto& chain = signed_zone->nsec3_chain;
  for (; d_nsec3 < chain.size(); ++d_nsec3, d_record = 0) {
    const zone::Nsec3Record& record = chain[d_nsec3];
    if (d_record == 0) {
      item = {record.owner, type::NSEC3, signed_zone->nsec_ttl, record.rdata};
      return true;
    }
    if (d_record <= record.rrsig.size()) {
      item = {record.owner, type::RRSIG, signed_zone->nsec_ttl, record.rrsig[d_record - 1]};
      return true;
    }
  }
  return false;
}

bool Transfer::next(std::span<uint8_t> out, size_t& size) {
  size = 0;
  if (d_phase == Phase::Done) return false;
  wire::Writer w(out.data(), std::min(out.size(), wire::kMaxMessageSize));
  uint8_t blank_header[wire::kHeaderSize] = {};
  w.bytes(blank_header, sizeof blank_header);
  const bool first = d_messages_sent == 0;
  if (first) {
    // RFC 5936 2.2.1: the question may be echoed in the first message only.
    w.name(d_qname);
    w.u16(d_qtype);
    w.u16(d_qclass);
  }
  if (!w.ok()) return false;  // `out` smaller than a header and question: nothing to do

  uint16_t count = 0;
  auto put = [&](const Item& item) {
    const auto mark = w.mark();
    w.record(item.owner, item.type, wire::klass::IN, item.ttl, item.rdata);
    if (w.ok()) {
      ++count;
      return true;
    }
    w.rollback(mark);
    return false;
  };
  const zone::RRset& soa = d_zone.soa();
  const Item soa_item{d_zone.apex(), type::SOA, soa.ttl, soa.rdata.front()};
  while (count < UINT16_MAX && d_phase != Phase::Done) {
    if (d_phase == Phase::FirstSoa) {
      if (!put(soa_item)) break;
      d_phase = Phase::Body;
    } else if (d_phase == Phase::Body) {
      Item item;
      if (!current(item)) {
        d_phase = Phase::LastSoa;
        continue;
      }
      const bool sent = put(item);
      // A record too large for even an otherwise empty message cannot be sent at all: it is
      // skipped rather than stall the transfer.
      if (!sent && count > 0) break;
      advance();
      d_records_sent += sent;
    } else {
      if (!put(soa_item)) break;
      d_phase = Phase::Done;
    }
  }
  if (count == 0) {
    d_phase = Phase::Done;  // not even the SOA fits in `out`: give up rather than loop
    return false;
  }

  uint8_t* m = w.data();
  wire::header::setId(m, d_id);
  wire::header::setFlags(m, wire::flag::QR | wire::flag::AA | d_flags);
  wire::header::setCounts(m, first ? 1 : 0, count, 0, 0);
  size = w.size();
  ++d_messages_sent;
  return true;
}

}  // namespace rrdns::answer
