// settings.hh -- what the server needs to know to run: addresses, threads and limits.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/server/address.hh"
#include "dns/server/rate_limiter.hh"

namespace rrdns::server {

// An address or CIDR prefix ("192.0.2.0/24", "::1") in an access list.
struct AddressPrefix {
  int family = AF_INET;
  uint8_t bytes[16] = {};  // network order; bits past `length` are zero
  unsigned length = 32;
  std::string text;  // canonical: "192.0.2.0/24", "::1/128"

  bool operator==(const AddressPrefix& other) const { return text == other.text; }

  // Does `address` (a peer's sockaddr) fall inside? An IPv4-mapped IPv6 peer (a dual-stack
  // socket) counts as its IPv4 address.
  bool contains(const sockaddr* address) const {
    const uint8_t* peer = nullptr;
    int peer_family = address->sa_family;
    if (peer_family == AF_INET) {
      peer = reinterpret_cast<const uint8_t*>(
          &reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    } else if (peer_family == AF_INET6) {
      peer = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr;
      static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::memcmp(peer, kMapped, 12) == 0) {
        peer += 12;
        peer_family = AF_INET;
      }
    } else {
      return false;
    }
    if (peer_family != family) return false;
    const unsigned whole = length / 8, rest = length % 8;
    if (std::memcmp(peer, bytes, whole) != 0) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xFF00 >> rest);
    return (peer[whole] & mask) == bytes[whole];
  }
};

// Parses ADDR or ADDR/LEN (numeric addresses only). Host bits beyond LEN are an error, as a
// likely typo. On failure returns nullopt and sets `error`.
inline std::optional<AddressPrefix> parseAddressPrefix(std::string_view text, std::string& error) {
  AddressPrefix prefix;
  std::string_view address = text;
  std::optional<unsigned> length;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
      error = "'" + std::string(text) + "': prefix length must be a number";
      return std::nullopt;
    }
    length = n;
  }
  const std::string address_text(address);
  if (inet_pton(AF_INET, address_text.c_str(), prefix.bytes) == 1) {
    prefix.family = AF_INET;
    prefix.length = 32;
  } else if (inet_pton(AF_INET6, address_text.c_str(), prefix.bytes) == 1) {
    prefix.family = AF_INET6;
    prefix.length = 128;
  } else {
    error = "'" + std::string(text) + "' is not an IPv4 or IPv6 address or prefix";
    return std::nullopt;
  }
  if (length) {
    if (*length > prefix.length) {
      error = "'" + std::string(text) + "': prefix length must be at most " +
              std::to_string(prefix.length);
      return std::nullopt;
    }
    prefix.length = *length;
  }
  const size_t total = prefix.family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < total; ++i) {
    const unsigned from = static_cast<unsigned>(i) * 8;
    const uint8_t keep = from >= prefix.length       ? 0
                         : prefix.length >= from + 8 ? 0xFF
                                                     : static_cast<uint8_t>(0xFF << (from + 8 - prefix.length));
    if (prefix.bytes[i] & ~keep) {
      error = "'" + std::string(text) + "' has bits set beyond the prefix length";
      return std::nullopt;
    }
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(prefix.family, prefix.bytes, buf, sizeof buf);
  prefix.text = std::string(buf) + "/" + std::to_string(prefix.length);
  return prefix;
}

struct ServerSettings {
  std::vector<ListenAddress> listen;
  unsigned threads = 1;
  uint16_t udp_max_payload = 1232;  // EDNS payload we advertise and the largest UDP answer
  unsigned tcp_idle_timeout_ms = 10000;
  unsigned tcp_max_connections = 1024;  // across all workers
  unsigned tcp_max_connections_per_client = 10;  // per client address, all workers; 0: no limit
  RateLimit rate_limit;                           // UDP responses per client prefix; rate 0: off
  std::vector<AddressPrefix> allow_transfer;  // who may AXFR/IXFR; empty: nobody
  // What the server says about itself (answer::ServerIdentity); empty: not said.
  std::string identity;  // CH TXT id.server. and hostname.bind.
  std::string version;   // CH TXT version.server. and version.bind.
  std::string nsid;      // the NSID (RFC 5001); empty: NSID off
  bool edns_client_subnet = true;  // answer::Options::client_subnet
};

}  // namespace rrdns::server
