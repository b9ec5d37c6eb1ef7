// precompiled.hh -- answers prepared per (name, type) when a catalog is built, for the fast path.
//
// An entry holds what follows the question in the response to "name type IN" (the answer,
// authority and additional sections, already compressed against a question at offset 12), so a
// query that hits it costs a hash probe and a copy. The general path (resolve.cc) produced every
// image, so both paths give the same bytes; what an image cannot hold stays dynamic:
//   - rotation: the answer's address RRset is a run of equal-sized records that the fast path
//     copies starting at the RRset's cursor, which is the reordering the general path does;
//   - pools: an entry only names the pool; the records come from the published PoolStates, which
//     encode them once per health change (FamilyState::records).
// Negative answers (NXDOMAIN, and NODATA for a type a name lacks) come from one image per zone,
// NegativeAnswer below, and the table tells which names exist: every name of a zone has an entry,
// one of qtype 0 (which no query reaches here) if it has no other.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dns/wire/question.hh"
#include "dns/zone/zone.hh"

namespace rrdns::answer {

// PrecompiledAnswer::signed_next: how a query with the DO bit is answered.
inline constexpr uint8_t kSignedNext = 1;     // from the entry right after this one
inline constexpr uint8_t kSignedGeneral = 2;  // by the general path (its answer cannot be replayed)

// Kept small (56 bytes): a zone of a million names has a million or more of these.
struct PrecompiledAnswer {
  uint64_t hash = 0;  // wire::hashName(name)
  const char* name = nullptr;  // lower-cased wire, name_size bytes; points into the catalog's zones
  uint8_t name_size = 0;
  uint8_t pool_family = 0;  // see `pool`
  uint16_t qtype = 0;
  uint16_t flags = 0;  // AA or 0
  uint16_t rcode = 0;
  uint16_t counts[3] = {0, 0, 0};  // answer, authority, additional (no OPT)
  uint16_t image_size = 0;
  uint32_t image = 0;  // offset of the image in the table's image bytes
  // Rotation: `rotate_count` records of `rotate_size` bytes at `rotate_at` in the image follow
  // the cursor `rotate_slot` (zone::kNoRotation: nothing rotates).
  uint32_t rotate_slot = zone::kNoRotation;
  uint16_t rotate_at = 0;
  uint16_t rotate_size = 0;
  uint16_t rotate_count = 0;
  // Set when a type this name lacks gets the zone's NODATA answer: no CNAME, no zone cut, and
  // every type it has data for is in the table.
  uint8_t nodata = 0;
  // Signed zones (DNSSEC): set on the entry find() returns when the answer to a query with the
  // DO bit differs (RRSIGs); that answer is the entry right after this one in the table's
  // entries, which find() never returns itself. The DO entry of a pool has `pool` set and its
  // owner's index in Pool::owners in `rotate_slot` (FamilyState::signatures). kSignedNext, or
  // kSignedGeneral when that answer cannot be replayed (there is then no entry after this one).
  uint8_t signed_next = 0;
  // Set for a pool answered at the question name: the answer is FamilyState::records of
  // `pool_family` (0 A, 1 AAAA) and the image is empty.
  const zone::Pool* pool = nullptr;
};
static_assert(sizeof(PrecompiledAnswer) <= 56);

// A zone's negative answer: its SOA in the authority section. In a zone without wildcards or zone
// cuts it is the same for every name the zone lacks (NXDOMAIN) and every type a name lacks
// (NODATA), except for its compression pointers into the question's apex part and into itself,
// which move with the length of the labels above the apex. precompile() has the general path
// answer two probe names of different lengths, and keeps the image only if moving the pointers
// turns the one into the other.
struct NegativeAnswer {
  std::string apex;     // lower-cased wire
  uint64_t apex_hash = 0;  // wire::hashName(apex)
  bool usable = false;  // false: the zone's negative answers take the general path
  // The zone is signed: negative answers to queries with the DO bit carry NSEC/NSEC3 proofs that
  // depend on the name, so they take the general path.
  bool signed_zone = false;
  std::string image;    // what follows the question, for a question `prefix` bytes above the apex
  uint16_t prefix = 0;
  uint16_t flags = 0;  // AA
  uint16_t counts[3] = {0, 0, 0};
  std::vector<uint16_t> pointers;  // offsets in `image` of the compression pointers that move
  // Labels above the apex beyond which the general path's compression table would be full.
  size_t max_labels = 0;
  // The first label above the apex (lower-cased, with its length octet) of each in-zone name in
  // the SOA: the general path compresses that name against a question at or below it.
  std::string avoid[2];
};

// An open-addressing table of entries, immutable once built.
class PrecompiledAnswers {
 public:
  void reserve(size_t entries, size_t image_bytes) {
    d_entries.reserve(entries);
    d_images.reserve(image_bytes);
  }
  // Appends an entry whose image is `image`; finish() must follow the last add(). The entry
  // after one with signed_next == kSignedNext is its DO answer, which find() never returns.
  void add(PrecompiledAnswer entry, std::string_view image) {
    entry.image = static_cast<uint32_t>(d_images.size());
    entry.image_size = static_cast<uint16_t>(image.size());
    d_images.append(image);
    d_entries.push_back(entry);
  }
  void finish();

  // The entry for (lower, qtype) with hashName(lower) == hash, or nullptr.
  const PrecompiledAnswer* find(std::string_view lower, uint64_t hash, uint16_t qtype) const {
    if (d_slots.empty()) return nullptr;
    for (size_t i = hash & d_mask;; i = (i + 1) & d_mask) {
      const uint32_t slot = d_slots[i];
      if (slot == 0) return nullptr;
      const PrecompiledAnswer& e = d_entries[slot - 1];
      if (e.hash == hash && e.qtype == qtype && e.name_size == lower.size() &&
          std::memcmp(e.name, lower.data(), lower.size()) == 0)
        return &e;
    }
  }
  // Some entry for `lower` (whose hash is `hash`), whatever its type, or nullptr: entries of one
  // name share a probe sequence.
  const PrecompiledAnswer* findName(std::string_view lower, uint64_t hash) const {
    if (d_slots.empty()) return nullptr;
    for (size_t i = hash & d_mask;; i = (i + 1) & d_mask) {
      const uint32_t slot = d_slots[i];
      if (slot == 0) return nullptr;
      const PrecompiledAnswer& e = d_entries[slot - 1];
      if (e.hash == hash && e.name_size == lower.size() &&
          std::memcmp(e.name, lower.data(), lower.size()) == 0)
        return &e;
    }
  }
  // Sets `nodata` on the last `count` entries added (DO answers included).
  void markNodata(size_t count, bool nodata) {
    for (size_t i = d_entries.size() - count; i < d_entries.size(); ++i) d_entries[i].nodata = nodata;
  }
  // One per zone of the catalog, or none (then no negative answer is replayed). Only with every
  // name of every zone in the table: a name missing from it is then known not to exist.
  void setNegatives(std::vector<NegativeAnswer> negatives);
  const std::vector<NegativeAnswer>& negatives() const { return d_negatives; }
  // The zone whose apex is the `size` bytes of lower-cased wire name at `suffix` (followed by a
  // zero-padded word, as in wire::Question::lower), or nullptr. A hash probe, whatever the number
  // of zones; a size no apex has costs a bit test.
  const NegativeAnswer* negativeZone(const uint8_t* suffix, size_t size) const {
    if (!(d_apex_sizes[size / 64] >> (size % 64) & 1)) return nullptr;
    const uint64_t hash = wire::hashPadded(suffix, size);
    for (size_t i = hash & d_apex_mask;; i = (i + 1) & d_apex_mask) {
      const uint32_t slot = d_apex_slots[i];
      if (slot == 0) return nullptr;
      const NegativeAnswer& z = d_negatives[slot - 1];
      if (z.apex_hash == hash && z.apex.size() == size &&
          std::memcmp(z.apex.data(), suffix, size) == 0)
        return &z;
    }
  }
  size_t replayedNegativeZones() const {
    size_t n = 0;
    for (const NegativeAnswer& z : d_negatives) n += z.usable;
    return n;
  }

  const uint8_t* image(const PrecompiledAnswer& e) const {
    return reinterpret_cast<const uint8_t*>(d_images.data()) + e.image;
  }
  size_t size() const { return d_entries.size(); }
  size_t bytes() const {
    return d_images.capacity() + d_entries.capacity() * sizeof(PrecompiledAnswer) +
           d_slots.capacity() * sizeof(uint32_t);
  }

 private:
  std::vector<PrecompiledAnswer> d_entries;
  std::string d_images;
  std::vector<uint32_t> d_slots;  // entry index + 1; 0 is empty. At most half full.
  size_t d_mask = 0;
  std::vector<NegativeAnswer> d_negatives;
  // d_negatives by apex: indexes + 1 (0 is empty), at most half full; and which apex sizes occur.
  std::vector<uint32_t> d_apex_slots;
  size_t d_apex_mask = 0;
  uint64_t d_apex_sizes[4] = {0, 0, 0, 0};
};

inline void PrecompiledAnswers::setNegatives(std::vector<NegativeAnswer> negatives) {
  d_negatives = std::move(negatives);
  size_t n = 4;
  while (n < 2 * d_negatives.size()) n *= 2;
  d_apex_slots.assign(n, 0);
  d_apex_mask = n - 1;
  for (uint32_t k = 0; k < d_negatives.size(); ++k) {
    NegativeAnswer& z = d_negatives[k];
    z.apex_hash = wire::hashName(z.apex);
    d_apex_sizes[z.apex.size() / 64] |= uint64_t{1} << (z.apex.size() % 64);
    size_t i = z.apex_hash & d_apex_mask;
    while (d_apex_slots[i] != 0) i = (i + 1) & d_apex_mask;
    d_apex_slots[i] = k + 1;
  }
}

inline void PrecompiledAnswers::finish() {
  size_t n = 16;
  while (n < 2 * d_entries.size()) n *= 2;
  d_slots.assign(n, 0);
  d_mask = n - 1;
  for (uint32_t k = 0; k < d_entries.size(); ++k) {
    if (k > 0 && d_entries[k - 1].signed_next == kSignedNext) continue;  // a DO answer: hidden
    size_t i = d_entries[k].hash & d_mask;
    while (d_slots[i] != 0) i = (i + 1) & d_mask;
    d_slots[i] = k + 1;
  }
  d_entries.shrink_to_fit();
  d_images.shrink_to_fit();
}

}  // namespace rrdns::answer
