#include "dns/wire/constants.hh"

#include <array>
#include <charconv>
#include <utility>

namespace rrdns::wire {
namespace {

constexpr std::array<std::pair<uint16_t, std::string_view>, 15> kTypeNames{{
    {type::A, "A"},
    {type::NS, "NS"},
    {type::CNAME, "CNAME"},
    {type::SOA, "SOA"},
    {type::PTR, "PTR"},
    {type::HINFO, "HINFO"},
    {type::MX, "MX"},
    {type::TXT, "TXT"},
    {type::AAAA, "AAAA"},
    {type::SRV, "SRV"},
    {type::OPT, "OPT"},
    {type::DS, "DS"},
    {type::IXFR, "IXFR"},
    {type::AXFR, "AXFR"},
    {type::ANY, "ANY"},
}};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string typeName(uint16_t t) {
  if (t == type::CAA) return "CAA";
  for (const auto& [value, name] : kTypeNames)
    if (value == t) return std::string(name);
  return "TYPE" + std::to_string(t);
}

std::optional<uint16_t> typeFromName(std::string_view name) {
  if (equalsIgnoreCase(name, "CAA")) return type::CAA;
  for (const auto& [value, mnemonic] : kTypeNames)
    if (equalsIgnoreCase(name, mnemonic)) return value;
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
