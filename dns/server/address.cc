// address.cc -- parsing and printing of ADDR:PORT.
#include "dns/server/address.hh"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rrdns::server {

std::optional<ListenAddress> parseListenAddress(std::string_view text, std::string& error) {
  std::string host;
  std::string_view port;
  bool v6 = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "'" + std::string(text) + "' is not [IPV6]:PORT";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    v6 = true;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "'" + std::string(text) + "' has no port (write ADDR:PORT, e.g. 127.0.0.1:5353)";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      error = "'" + std::string(text) + "': put IPv6 addresses in brackets, e.g. [::1]:5353";
      return std::nullopt;
    }
  }

  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    error = "'" + std::string(text) + "': port must be a number from 1 to 65535";
    return std::nullopt;
  }

  ListenAddress out;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<uint16_t>(value));
    if (inet_pton(AF_INET6, host.c_str(), &sa->sin6_addr) != 1) {
      error = "'" + std::string(text) + "': '" + host + "' is not an IPv6 address";
      return std::nullopt;
    }
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(static_cast<uint16_t>(value));
    if (inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1) {
      error = "'" + std::string(text) + "': '" + host + "' is not an IPv4 address";
      return std::nullopt;
    }
  }
  out.text = formatAddress(out.sockAddr());
  return out;
}

std::string formatAddress(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &sa->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(sa->sin6_port));
  }
  if (address->sa_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &sa->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(sa->sin_port));
  }
  return "?";
}

}  // namespace rrdns::server
