#include "dns/topology/network.hh"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rrdns::topology {

Result<Network> parseNetwork(std::string_view text) {
  Network n;
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  if (inet_pton(AF_INET, address.c_str(), n.address) == 1) {
    n.family = Family::V4;
  } else if (inet_pton(AF_INET6, address.c_str(), n.address) == 1) {
    n.family = Family::V6;
  } else {
    return error("\"" + std::string(text) + "\" is not an IPv4 or IPv6 network (ADDRESS/PREFIX)");
  }
  n.prefix = bits(n.family);
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (length.empty() || ec != std::errc() || end != length.data() + length.size() ||
        value > bits(n.family))
      return error("\"" + std::string(text) + "\": prefix length must be 0 to " +
                   std::to_string(bits(n.family)));
    n.prefix = static_cast<uint8_t>(value);
  }
  for (unsigned bit = n.prefix; bit < bits(n.family); ++bit)
    if (n.address[bit / 8] >> (7 - bit % 8) & 1)
      return error("\"" + std::string(text) + "\" has bits set past its prefix length (" +
                   formatNetwork([&] {
                     Network masked = n;
                     for (unsigned b = n.prefix; b < bits(n.family); ++b)
                       masked.address[b / 8] &= static_cast<uint8_t>(~(0x80u >> (b % 8)));
                     return masked;
                   }()) +
                   "?)");
  return n;
}

std::string formatNetwork(const Network& network) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(network.family == Family::V4 ? AF_INET : AF_INET6, network.address, text, sizeof text);
  return std::string(text) + "/" + std::to_string(network.prefix);
}

}  // namespace rrdns::topology
