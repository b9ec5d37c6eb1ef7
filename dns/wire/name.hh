// name.hh -- domain names in uncompressed wire form: reading (with decompression), comparing,
// walking labels, and converting to and from presentation text.
//
// Throughout rrdns a name is its uncompressed wire encoding (length-prefixed labels ending with
// the zero-length root label) held in a std::string / std::string_view. Names stored in zones are
// lower-cased at load time so lookups are plain byte comparisons.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "dns/wire/constants.hh"

namespace rrdns::wire {

// A name held inline, for the query path (no heap). `size` counts every byte including the root.
struct NameBuf {
  uint8_t data[kMaxNameLength];
  uint8_t size = 0;

  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
};

enum class NameStatus : uint8_t {
  Ok,
  Truncated,     // ran off the end of the message
  BadLabelType,  // 0x40 / 0x80 label types (RFC 6891 deprecates extended labels)
  TooLong,       // more than 255 bytes uncompressed
  BadPointer,    // compression pointer that does not point strictly backwards
};

// Reads the (possibly compressed) name at msg[pos] into `out`. On success `pos` moves past the
// name as it sits in the message (a compression pointer counts as its 2 bytes).
// Loop protection: every pointer must jump before the start of the run of labels that contains
// it, so offsets strictly decrease and decoding always ends.
NameStatus readName(std::span<const uint8_t> msg, size_t& pos, NameBuf& out);

// Lower-cases A-Z in the labels of `name` (in place; length octets are left alone).
void lowerName(uint8_t* name, size_t size);

// Number of labels, not counting the root. The root name has 0.
size_t labelCount(std::string_view name);

// `name` minus its leftmost label. Precondition: name is not the root.
inline std::string_view parentOf(std::string_view name) {
  return name.substr(1 + static_cast<uint8_t>(name[0]));
}

// True when `name` equals `ancestor` or lies below it. Both must be lower-cased (or compared
// with matching case): this is a byte comparison aligned on label boundaries.
bool isSubdomainOf(std::string_view name, std::string_view ancestor);

// DNSSEC's canonical order of names (RFC 4034 6.1): by labels from the root down, each compared
// as lower-cased bytes, a label that is a prefix of another first; a name before its
// descendants. Both uncompressed wire names; <0, 0 or >0 as `a` sorts before, with or after `b`.
int compareCanonical(std::string_view a, std::string_view b);

// Case-insensitive equality of two uncompressed names.
bool namesEqualIgnoreCase(std::string_view a, std::string_view b);

// Presentation form: "www.example.com." (the root is "."); unusual bytes are \DDD escaped.
std::string nameToText(std::string_view wire);

// Parses presentation text into lower-cased wire form. "@" is the origin; a name without a
// trailing dot is relative to `origin` (wire form; pass "" to require absolute names).
// Handles \. and \DDD escapes. On failure returns false and says why in `error`.
bool nameFromText(std::string_view text, std::string_view origin, std::string& out,
                  std::string& error);

}  // namespace rrdns::wire
