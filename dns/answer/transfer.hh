// transfer.hh -- zone transfer out (AXFR, RFC 5936; IXFR, RFC 1995): a zone as a stream of DNS
// messages, and what an IXFR query asks for.
//
// Pure and resumable: the TCP layer asks for one message at a time as its output drains, so a
// large zone never sits in memory as wire data. Allocates (transfers are rare and not on the
// query path); holds the catalog so a reload during the transfer cannot free the zone under it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "dns/answer/answer.hh"
#include "dns/wire/query.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

// The serial an IXFR query says the client has: the SOA that must open its authority section,
// owned by the zone asked for (RFC 1995 3). `qname` is the question's name, lower-cased. Returns
// nullopt when there is no such SOA (the query is malformed: FORMERR, as Knot DNS answers).
// Pure; reads only `message`.
std::optional<uint32_t> ixfrClientSerial(std::span<const uint8_t> message, std::string_view qname);

// How an allowed IXFR for a zone served at serial `ours` is answered (RFC 1995 2 and 4): we keep
// no history to send differences from, so a client that is behind gets the whole zone (the AXFR
// form inside IXFR, RFC 1995 4) and one that is current gets the single SOA. Over UDP every
// client gets the single SOA, as from Knot DNS: a current client is done, one behind retries
// over TCP (RFC 1995 2: "the entire response does not fit").
enum class IxfrAnswer : uint8_t { SingleSoa, FullTransfer };
IxfrAnswer ixfrAnswer(uint32_t ours, uint32_t theirs, bool tcp);

class Transfer {
 public:
  // `zone` must belong to `catalog`. `query` is the AXFR (or IXFR) query as parsed: its id and
  // question are echoed.
  Transfer(std::shared_ptr<const Catalog> catalog, const zone::Zone& zone,
           const wire::Query& query);

  // Writes the next message into `out` (at most 65535 bytes are used) and sets `size`; returns
  // false, writing nothing, when the transfer is complete. Each message holds as many whole
  // records as fit: the apex SOA first, every record of the zone (pool names as the A/AAAA
  // records of their members; a signed zone's NSEC3 records after the nodes), the SOA again last.
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
  // After the nodes, a signed zone's NSEC3 records (each followed by its RRSIGs; d_record 0 is
  // the NSEC3 itself).
  size_t d_nsec3 = 0;
  uint64_t d_records_sent = 0;
  uint32_t d_messages_sent = 0;
};

}  // namespace rrdns::answer
