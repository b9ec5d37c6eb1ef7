// writer.hh -- building a DNS message into caller memory, with name compression and
// mark/rollback so that truncation drops whole RRsets (as NSD's packet_encode_rrset does).
//
// Errors are sticky: once a write does not fit under the limit, every later write is a no-op
// and ok() is false until rollback() to a mark taken before the failure.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"
#include "dns/wire/response.hh"  // SubnetEcho
#include "dns/wire/rrtype.hh"  // record() compresses as the type's descriptor says

namespace rrdns::wire {

class Writer {
 public:
  // `buf` must stay valid while the writer is used; nothing is written beyond `limit`.
  Writer(uint8_t* buf, size_t limit) : d_buf(buf), d_limit(limit) {}

  size_t size() const { return d_size; }
  size_t limit() const { return d_limit; }
  bool ok() const { return d_ok; }
  uint8_t* data() { return d_buf; }
  // Moves the limit (e.g. to keep room for an OPT record). Never below what is written.
  void setLimit(size_t limit) { d_limit = limit < d_size ? d_size : limit; }

  struct Mark {
    size_t size;
    uint8_t compression_entries;
  };
  Mark mark() const { return {d_size, d_entries}; }
  // Forgets everything written after `m`, including compression targets, and clears the error.
  void rollback(Mark m) {
    d_size = m.size;
    d_entries = m.compression_entries;
    d_ok = true;
  }

  void u8(uint8_t v) {
    if (reserve(1)) d_buf[d_size++] = v;
  }
  void u16(uint16_t v) {
    if (reserve(2)) store16(d_buf + (d_size += 2) - 2, v);
  }
  void u32(uint32_t v) {
    if (reserve(4)) store32(d_buf + (d_size += 4) - 4, v);
  }
  void bytes(const void* p, size_t n) {
    if (reserve(n)) {
      std::memcpy(d_buf + d_size, p, n);
      d_size += n;
    }
  }
  void bytes(std::string_view s) { bytes(s.data(), s.size()); }

  // Writes an uncompressed wire name, compressing against names already written (matching
  // case-insensitively, so a pointer to the question keeps the requester's letter case).
  void name(std::string_view wire);

  // One resource record. RDATA is uncompressed wire form; names inside it are compressed where
  // the type's descriptor marks them (field::kCompress: NS, CNAME, SOA, MX, PTR, RFC 3597 4).
  void record(std::string_view owner, uint16_t rtype, uint16_t rclass, uint32_t ttl,
              std::string_view rdata);

  // Our OPT pseudo-record (wire::putOpt); `extended_rcode` is the upper 8 bits of the RCODE.
  // A non-empty `nsid` goes in as an option (RFC 5001 2.3), then `subnet`, if any (RFC 7871
  // 7.2.1, wire::putClientSubnet; in this order, as Knot DNS): optSize(nsid, subnet) bytes in all.
  void opt(uint16_t payload, uint8_t extended_rcode, bool dnssec_ok, std::string_view nsid = {},
           const SubnetEcho& subnet = {});
  static size_t optSize(std::string_view nsid, const SubnetEcho& subnet = {}) {
    return kOptRecordSize + (nsid.empty() ? 0 : kOptionHeaderSize + nsid.size()) +
           subnet.wireSize();
  }

  // Load time: from now on, appends to `log` the message offset of every compression pointer
  // name() writes, so that a caller can move them in a copy (null: stop).
  void logPointers(std::vector<uint16_t>* log) { d_pointer_log = log; }

 private:
  bool reserve(size_t n) {
    if (d_ok && d_size + n <= d_limit) return true;
    d_ok = false;
    return false;
  }
  // Does the name stored at `offset` in the message equal `suffix` (case-insensitively)?
  bool matchesAt(size_t offset, std::string_view suffix) const;
  void remember(size_t offset) {
    if (offset < 0x3FFF && d_entries < kMaxEntries)
      d_targets[d_entries++] = static_cast<uint16_t>(offset);
  }

  static constexpr size_t kMaxEntries = 64;
  uint8_t* d_buf;
  size_t d_limit;
  size_t d_size = 0;
  bool d_ok = true;
  uint8_t d_entries = 0;
  uint16_t d_targets[kMaxEntries];  // offsets of labels written so far, for compression
  std::vector<uint16_t>* d_pointer_log = nullptr;
};

}  // namespace rrdns::wire
