#include "dns/wire/constants.hh"

#include <charconv>
#include <iterator>

#include "dns/wire/rrtype.hh"

namespace rrdns::wire {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string rcodeName(uint16_t code) {
  static constexpr const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL",
                                           "NXDOMAIN", "NOTIMP", "REFUSED"};
  if (code < std::size(kNames)) return kNames[code];
  if (code == rcode::BADVERS) return "BADVERS";
  return "RCODE" + std::to_string(code);
}

std::string typeName(uint16_t t) {
  if (const RRType* known = findRRType(t); known && !known->mnemonic.empty())
    return std::string(known->mnemonic);
  return "TYPE" + std::to_string(t);
}

std::optional<uint16_t> typeFromName(std::string_view name) {
  for (const RRType& known : rrtypes())
    if (!known.mnemonic.empty() && equalsIgnoreCase(name, known.mnemonic)) return known.number;
  if (name.size() > 4 && equalsIgnoreCase(name.substr(0, 4), "TYPE")) {
    unsigned v = 0;
    auto digits = name.substr(4);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc() && end == digits.data() + digits.size() && v <= 0xFFFF)
      return static_cast<uint16_t>(v);
  }
  return std::nullopt;
}

}  // namespace rrdns::wire
