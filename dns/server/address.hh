// address.hh -- listen addresses: "127.0.0.1:5353" and "[::1]:5353" to sockaddr and back.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rrdns::server {

// A numeric socket address: where we listen, or a peer we send to (a NOTIFY's secondary).
struct ListenAddress {
  sockaddr_storage storage{};
  std::string text;  // canonical form, for logs: "127.0.0.1:5353", "[::1]:5353"

  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  socklen_t length() const {
    return storage.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  int family() const { return storage.ss_family; }
  bool operator==(const ListenAddress& other) const { return text == other.text; }
};

// Parses ADDR:PORT where ADDR is a numeric IPv4 address or a bracketed IPv6 address and PORT is
// 1..65535 (port 0 would give every worker a different ephemeral port). Host names are refused:
// a DNS server must not depend on DNS to start. On failure returns nullopt and sets `error`.
std::optional<ListenAddress> parseListenAddress(std::string_view text, std::string& error);

// Parses ADDR or ADDR:PORT as parseListenAddress does, except that the port may be left out
// (it is then `default_port`), so a bare IPv6 address needs no brackets ("2001:db8::1").
std::optional<ListenAddress> parseAddressWithDefaultPort(std::string_view text,
                                                         uint16_t default_port,
                                                         std::string& error);

// "192.0.2.1:53" / "[2001:db8::1]:53" for a peer address (trace logs only: allocates).
std::string formatAddress(const sockaddr* address);

}  // namespace rrdns::server
