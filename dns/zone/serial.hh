// serial.hh -- SOA serial numbers: RFC 1982 serial arithmetic, and the serial a zone is served
// with (its policy: the file's serial as written, or kept moving by rrdnsd). Pure.
#pragma once

#include <cstdint>

namespace rrdns::zone {

enum class SerialOrder : uint8_t { Lower, Equal, Greater, Incomparable };

// RFC 1982 3.2: how `s1` compares with `s2`. Serials exactly 2^31 apart are incomparable.
constexpr SerialOrder compareSerial(uint32_t s1, uint32_t s2) {
  if (s1 == s2) return SerialOrder::Equal;
  const uint32_t distance = s1 - s2;  // modulo 2^32
  if (distance == 0x80000000u) return SerialOrder::Incomparable;
  return distance < 0x80000000u ? SerialOrder::Greater : SerialOrder::Lower;
}

constexpr bool serialGreater(uint32_t s1, uint32_t s2) {
  return compareSerial(s1, s2) == SerialOrder::Greater;
}

// RFC 1995 2: a client that asks for IXFR from `theirs` has what we serve at `ours` when ours is
// not newer; it gets the single SOA. Otherwise (ours newer, or the two incomparable) it needs a
// transfer. As Knot DNS (ixfr.c: serial_compare() & SERIAL_MASK_LEQ).
constexpr bool ixfrUpToDate(uint32_t ours, uint32_t theirs) {
  const SerialOrder order = compareSerial(ours, theirs);
  return order == SerialOrder::Lower || order == SerialOrder::Equal;
}

// How a zone's served serial follows its data (per zone: `serial` in a TOML zone file or in the
// server config's zones entry; docs/transfers.md).
enum class SerialPolicy : uint8_t {
  Keep,  // the file's serial, as written; a change of data without a higher serial is warned of
  Auto,  // rrdnsd raises it when the data changes (reload or discovery), so secondaries follow
};

// What a zone was last served with: its serial and the digest of its records (Zone::digest()).
struct ServedSerial {
  uint32_t serial = 0;
  uint64_t digest = 0;
};

struct SerialDecision {
  uint32_t serial = 0;
  // The records changed but the serial is not higher than the one last served: a secondary
  // that has the old records keeps them (policy Keep only; Auto never leaves it so).
  bool stale = false;
};

// The serial to serve a zone with, given its file's serial, its digest and what was served last
// (null: nothing yet, the zone is new or rrdnsd just started). Auto: the file's serial when it is
// higher than the last one (the operator raised it), else the last one plus 1 when the records
// changed, else the last one: max(file serial, last served + 1) on a change, as Knot's
// serial-policy "increment".
constexpr SerialDecision decideSerial(SerialPolicy policy, uint32_t file_serial, uint64_t digest,
                                      const ServedSerial* last) {
  if (!last) return {file_serial, false};
  const bool changed = digest != last->digest;
  if (policy == SerialPolicy::Keep)
    return {file_serial, changed && !serialGreater(file_serial, last->serial)};
  if (serialGreater(file_serial, last->serial)) return {file_serial, false};
  return {changed ? last->serial + 1 : last->serial, false};
}

}  // namespace rrdns::zone
