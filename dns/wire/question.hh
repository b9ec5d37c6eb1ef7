// question.hh -- the one reader of a query's question and EDNS record (RFC 1035 4.1.2, RFC 6891
// 6.1.2), shared by the fast path (which reads nothing else) and parseQuery() (which also walks
// the other records).
//
// Inline and allocation-free: it runs on every query. The question's name is lower-cased and hashed
// in the same pass, a word at a time, because every lookup needs both.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "dns/base/bytes.hh"
#include "dns/wire/constants.hh"

namespace rrdns::wire {

// Names are lower-cased and hashed 8 bytes at a time, over a zero-padded buffer of whole words.

// A-Z to a-z in each of 8 bytes (bytes from 0x80 up are left alone). Length octets are at most 63,
// below 'A', so a whole wire name can go through this.
inline uint64_t lowerWord(uint64_t x) {
  const uint64_t low7 = x & 0x7f7f7f7f7f7f7f7full;
  const uint64_t above_z = low7 + 0x2525252525252525ull;  // top bit set where > 'Z'
  const uint64_t from_a = low7 + 0x3f3f3f3f3f3f3f3full;   // top bit set where >= 'A'
  const uint64_t upper = (from_a ^ above_z) & ~x & 0x8080808080808080ull;
  return x | upper >> 2;  // 0x80 >> 2 == 'a' - 'A'
}

inline uint64_t hashStep(uint64_t h, uint64_t word) {
  return ((h << 5 | h >> 59) ^ word) * 0x9e3779b97f4a7c15ull;
}
inline uint64_t hashFinish(uint64_t h) { return h ^ h >> 29; }
inline constexpr uint64_t kHashSeed = 0x243f6a8885a308d3ull;

// The hash of `size` bytes of lower-cased wire name at `p`, which must be followed by at least 8
// readable bytes that are zero past the name (the last word's padding).
inline uint64_t hashPadded(const uint8_t* p, size_t size) {
  uint64_t h = kHashSeed;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = hashStep(h, word);
  }
  return hashFinish(h);
}

// The hash of a lower-cased wire name, as readQuestion() computes it.
inline uint64_t hashName(std::string_view lower) {
  uint8_t buf[kMaxNameLength + 1 + 8];
  std::memcpy(buf, lower.data(), lower.size());
  std::memset(buf + lower.size(), 0, 8);
  return hashPadded(buf, lower.size());
}

// A query's question, read in place. No initialisers: readQuestion() sets every field, and the
// fast path would pay for stores it does not need.
struct Question {
  alignas(8) uint8_t lower[kMaxNameLength + 8];  // the name lower-cased, zero-padded to a word
  size_t size;                                   // of the name, root label included
  uint64_t hash;                                 // hashPadded() of `lower`
  uint16_t qtype;
  uint16_t qclass;
  size_t end;  // message offset just past QCLASS

  std::string_view name() const { return {reinterpret_cast<const char*>(lower), size}; }
};

// Reads the question that starts right after the header. Its name must be plain labels: a
// compression pointer there could only point into the header, so it is refused (as Knot DNS
// refuses it). False when the question is malformed or cut short.
[[gnu::always_inline]] inline bool readQuestion(std::span<const uint8_t> msg, Question& q) {
  const uint8_t* m = msg.data();
  const size_t size = msg.size();
  // The length octets first, which leave room for the root label, QTYPE and QCLASS after each
  // label...
  size_t pos = kHeaderSize;
  if (pos + 5 > size) return false;
  for (uint8_t len; (len = m[pos]) != 0; pos += 1 + len)
    if (len > 63 || pos + 1 + len + 5 > size || pos + 1 + len - kHeaderSize >= kMaxNameLength)
      return false;
  ++pos;
  const size_t n = pos - kHeaderSize;
  q.size = n;
  // ...then lower-case and hash it a word at a time.
  std::memcpy(q.lower, m + kHeaderSize, n);
  std::memset(q.lower + n, 0, 8);
  uint64_t hash = kHashSeed;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t word;
    std::memcpy(&word, q.lower + i, 8);
    word = lowerWord(word);
    std::memcpy(q.lower + i, &word, 8);
    hash = hashStep(hash, word);
  }
  q.hash = hashFinish(hash);
  q.qtype = load16(m + pos);
  q.qclass = load16(m + pos + 2);
  q.end = pos + 4;
  return true;
}

namespace edns_option {
inline constexpr uint16_t NSID = 3;  // RFC 5001
inline constexpr uint16_t ECS = 8;   // RFC 7871
}  // namespace edns_option

// The EDNS options rrdns understands, noted where they are rather than copied: most queries carry
// none, and those that do are read again only by what needs them.
struct EdnsOptions {
  bool nsid = false;         // NSID asked for (RFC 5001 2.1)
  uint16_t subnet = 0;       // message offset of the EDNS Client Subnet option's data; 0: none
  uint16_t subnet_size = 0;  // its length
};

// Walks the options from `opt` to `end` in the message at `m` (an OPT record's RDATA), calling
// `visit(code, data offset, length)` for each; a false from it stops the walk. False when the
// options do not frame to exactly that length, or `visit` stopped it. Nothing is visited, and
// nothing tested per option, when there are none (most queries).
template <typename Visit>
[[gnu::always_inline]] inline bool walkOptions(const uint8_t* m, size_t opt, size_t end,
                                               Visit&& visit) {
  while (opt != end) {
    if (opt + 4 > end) return false;
    const uint16_t code = load16(m + opt);
    const size_t len = load16(m + opt + 2);
    if (opt + 4 + len > end) return false;
    if (!visit(code, opt + 4, len)) return false;
    opt += 4 + len;
  }
  return true;
}

// Walks the options as walkOptions() does, noting those rrdns understands in `found`.
[[gnu::always_inline]] inline bool scanOptions(const uint8_t* m, size_t opt, size_t end,
                                               EdnsOptions& found) {
  return walkOptions(m, opt, end, [&found](uint16_t code, size_t data, size_t len) {
    if (code == edns_option::NSID) {
      found.nsid = true;
    } else if (code == edns_option::ECS) {
      found.subnet = static_cast<uint16_t>(data);
      found.subnet_size = static_cast<uint16_t>(len);
    }
    return true;
  });
}

// A query's EDNS record (RFC 6891 6.1.2).
struct Edns {
  bool present = false;
  uint8_t version = 0;
  uint16_t payload = 0;  // the requester's UDP payload size, as sent
  bool dnssec_ok = false;
  EdnsOptions options;
};

// The fixed part of the OPT record at `pos`: where its options end (RDLENGTH), the payload size,
// the version and the DO bit (RFC 6891 6.1.2-6.1.3). The caller has checked that these 11 bytes
// are in the message.
inline size_t optEnd(const uint8_t* m, size_t pos) { return pos + kOptRecordSize + load16(m + pos + 9); }
inline uint16_t optPayload(const uint8_t* m, size_t pos) { return load16(m + pos + 3); }
inline uint8_t optVersion(const uint8_t* m, size_t pos) { return m[pos + 6]; }
inline bool optDnssecOk(const uint8_t* m, size_t pos) { return (m[pos + 7] & 0x80) != 0; }

// Reads the OPT record at `pos` into `edns` and moves `pos` past it. The caller has checked its
// owner (the root), its TYPE, and that its fixed part is in the message. False when its options
// run past the message or do not frame to its RDLENGTH.
inline bool readOpt(std::span<const uint8_t> msg, size_t& pos, Edns& edns) {
  const uint8_t* m = msg.data();
  const size_t end = optEnd(m, pos);
  if (end > msg.size() || !scanOptions(m, pos + kOptRecordSize, end, edns.options)) return false;
  edns.present = true;
  edns.payload = optPayload(m, pos);
  edns.version = optVersion(m, pos);
  edns.dnssec_ok = optDnssecOk(m, pos);
  pos = end;
  return true;
}

// EDNS Client Subnet (RFC 7871 6), as the query sent it.
struct ClientSubnet {
  uint16_t family = 0;  // 1: IPv4, 2: IPv6 (the option's ADDRESS FAMILY)
  uint8_t source_prefix = 0;
  uint8_t scope_prefix = 0;
  uint8_t address[16] = {};  // the address sent, every bit past source_prefix zero
};

enum class SubnetStatus : uint8_t { None, Valid, Malformed };

// The address bytes SOURCE PREFIX-LENGTH `prefix` needs (RFC 7871 6).
inline size_t subnetAddressBytes(uint8_t prefix) { return (size_t{prefix} + 7) / 8; }

// Whether the ECS option data at `p` (`len` bytes) is well-formed, as Knot DNS 3.2 with
// edns-client-subnet on decides (it answers FORMERR otherwise): at least FAMILY, SOURCE and SCOPE,
// FAMILY 1 or 2, neither prefix longer than the family's address, and at least the address bytes
// SOURCE needs. Knot accepts, and so does rrdns, what RFC 7871 6 says a server SHOULD refuse: more
// address bytes than SOURCE needs, bits set past SOURCE (both are ignored: the address is read
// masked), and a SCOPE other than 0 in a query (replaced by the answer's).
inline bool subnetWellFormed(const uint8_t* p, size_t len) {
  if (len < 4) return false;
  const uint16_t family = load16(p);
  const size_t max_prefix = family == 1 ? 32 : family == 2 ? 128 : 0;
  return max_prefix != 0 && p[2] <= max_prefix && p[3] <= max_prefix &&
         len - 4 >= subnetAddressBytes(p[2]);
}

// Decodes the ECS option readOpt() found in `msg` (subnetWellFormed() says what is malformed).
inline SubnetStatus readClientSubnet(std::span<const uint8_t> msg, const EdnsOptions& options,
                                     ClientSubnet& out) {
  if (options.subnet == 0) return SubnetStatus::None;
  const uint8_t* p = msg.data() + options.subnet;
  if (!subnetWellFormed(p, options.subnet_size)) return SubnetStatus::Malformed;
  out.family = load16(p);
  out.source_prefix = p[2];
  out.scope_prefix = p[3];
  const size_t bytes = subnetAddressBytes(out.source_prefix);
  std::memset(out.address, 0, sizeof out.address);
  std::memcpy(out.address, p + 4, bytes);
  if (out.source_prefix % 8 != 0)
    out.address[bytes - 1] &= static_cast<uint8_t>(0xFF00 >> (out.source_prefix % 8));
  return SubnetStatus::Valid;
}

}  // namespace rrdns::wire
