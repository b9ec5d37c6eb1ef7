// address.cc -- parsing and printing of ADDR:PORT.
#include "dns/server/address.hh"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rrdns::server {

namespace {

// Where the address and the port are in the text: brackets, a bare IPv6 address (only when the
// port may be left out), or IPV4[:PORT].
struct Split {
  std::string host;
  std::string_view port;  // empty: none given
  bool colon = false;     // a port was meant ("ADDR:" too): it must be there and valid
  bool v6 = false;
};

std::optional<Split> split(std::string_view text, bool port_optional, std::string& error) {
  Split out;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    const bool port_follows = close != std::string_view::npos && close + 1 < text.size();
    if (close == std::string_view::npos || (!port_follows && !port_optional) ||
        (port_follows && (text[close + 1] != ':' || close + 2 == text.size()))) {
      error = "'" + std::string(text) +
              (port_optional ? "' is not [IPV6] or [IPV6]:PORT" : "' is not [IPV6]:PORT");
      return std::nullopt;
    }
    out.host = text.substr(1, close - 1);
    if (port_follows) out.port = text.substr(close + 2);
    out.colon = port_follows;
    out.v6 = true;
    return out;
  }
  const size_t colon = text.rfind(':');
  if (port_optional && colon != std::string_view::npos && text.find(':') != colon) {
    out.host = text;  // a bare IPv6 address: no port can follow without brackets
    out.v6 = true;
    return out;
  }
  if (colon == std::string_view::npos) {
    if (port_optional) {
      out.host = text;
      return out;
    }
    error = "'" + std::string(text) + "' has no port (write ADDR:PORT, e.g. 127.0.0.1:5353)";
    return std::nullopt;
  }
  out.host = text.substr(0, colon);
  out.port = text.substr(colon + 1);
  out.colon = true;
  if (out.host.find(':') != std::string::npos) {
    error = "'" + std::string(text) + "': put IPv6 addresses in brackets, e.g. [::1]:5353";
    return std::nullopt;
  }
  return out;  // "ADDR:" meant a port: parse() says it is missing
}

std::optional<ListenAddress> parse(std::string_view text, std::optional<uint16_t> default_port,
                                   std::string& error) {
  std::optional<Split> parts = split(text, default_port.has_value(), error);
  if (!parts) return std::nullopt;

  unsigned value = default_port.value_or(0);
  if (parts->colon || !default_port) {
    const std::string_view port = parts->port;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      error = "'" + std::string(text) + "': port must be a number from 1 to 65535";
      return std::nullopt;
    }
  }

  ListenAddress out;
  const std::string& host = parts->host;
  if (parts->v6) {
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
      error = "'" + std::string(text) + "': '" + host +
              "' is not an IPv4 address (host names are not looked up)";
      return std::nullopt;
    }
  }
  out.text = formatAddress(out.sockAddr());
  return out;
}

}  // namespace

std::optional<ListenAddress> parseListenAddress(std::string_view text, std::string& error) {
  return parse(text, std::nullopt, error);
}

std::optional<ListenAddress> parseAddressWithDefaultPort(std::string_view text,
                                                         uint16_t default_port,
                                                         std::string& error) {
  return parse(text, default_port, error);
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
