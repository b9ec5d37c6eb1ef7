// transfer.hh -- zone transfer out (AXFR, RFC 5936): a zone as a stream of DNS messages.
//
// Pure and resumable: the TCP layer asks for one message at a time as its output drains, so a
// large zone never sits in memory as wire data. Allocates (transfers are rare and not on the
// query path); holds the catalog so a reload during the transfer cannot free the zone under it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dns/answer/answer.hh"
#include "dns/wire/query.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

class Transfer {
 public:
  // `zone` must belong to `catalog`. `query` is the AXFR (or IXFR) query as parsed: its id and
  // question are echoed.
  Transfer(std::shared_ptr<const Catalog> catalog, const zone::Zone& zone,
           const wire::Query& query);

  // Writes the next message into `out` (at most 65535 bytes are used) and sets `size`; returns
  // false, writing nothing, when the transfer is complete. Each message holds as many whole
  // records as fit: the apex SOA first, every record of the zone (pool names as the A/AAAA
  // records of their members), the SOA again last.
  bool next(std::span<uint8_t> out, size_t& size);

  const zone::Zone& zone() const { return d_zone; }
  uint64_t recordsSent() const { return d_records_sent; }
  uint32_t messagesSent() const { return d_messages_sent; }

 private:
  struct Item {
    std::string_view owner;
    uint16_t type;
    uint32_t ttl;
    std::string_view rdata;
  };
  // The record at the cursor, after skipping to one that exists; false at the end of the body.
  bool current(Item& item);
  void advance() { ++d_record; }

  enum class Phase : uint8_t { FirstSoa, Body, LastSoa, Done };

  std::shared_ptr<const Catalog> d_catalog;
  const zone::Zone& d_zone;
  uint16_t d_id;
  uint16_t d_flags;  // RD and CD as the query had them
  std::string d_qname;  // as sent, letter case kept
  uint16_t d_qtype;
  uint16_t d_qclass;

  Phase d_phase = Phase::FirstSoa;
  // Body cursor: node, then slot (its RRsets, then the pool's A members, then its AAAA
  // members), then record within the slot.
  zone::NameMap::const_iterator d_node;
  size_t d_slot = 0;
  size_t d_record = 0;
  uint64_t d_records_sent = 0;
  uint32_t d_messages_sent = 0;
};

}  // namespace rrdns::answer
