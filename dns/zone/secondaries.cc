// secondaries.cc -- parsing NOTIFY targets and serial policies.
#include "dns/zone/secondaries.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace rrdns::zone {

std::optional<NotifyTarget> parseNotifyTarget(std::string_view text, std::string& error) {
  std::string host;
  std::string_view port;
  bool v6 = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos ||
        (close + 1 < text.size() && (text[close + 1] != ':' || close + 2 == text.size()))) {
      error = "'" + std::string(text) + "' is not [IPV6] or [IPV6]:PORT";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) port = text.substr(close + 2);
    v6 = true;
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    host = text;  // a bare IPv6 address: no port can follow without brackets
    v6 = true;
  } else {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }

  unsigned value = kDefaultNotifyPort;
  if (!port.empty() || (!v6 && text.find(':') != std::string_view::npos)) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      error = "'" + std::string(text) + "': port must be a number from 1 to 65535";
      return std::nullopt;
    }
  }

  NotifyTarget out;
  char printable[INET6_ADDRSTRLEN] = "";
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<uint16_t>(value));
    if (inet_pton(AF_INET6, host.c_str(), &sa->sin6_addr) != 1) {
      error = "'" + std::string(text) + "': '" + host + "' is not an IPv6 address";
      return std::nullopt;
    }
    inet_ntop(AF_INET6, &sa->sin6_addr, printable, sizeof printable);
    out.text = "[" + std::string(printable) + "]:" + std::to_string(value);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(static_cast<uint16_t>(value));
    if (inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1) {
      error = "'" + std::string(text) + "': '" + host +
              "' is not an IPv4 address (host names are not looked up)";
      return std::nullopt;
    }
    inet_ntop(AF_INET, &sa->sin_addr, printable, sizeof printable);
    out.text = std::string(printable) + ":" + std::to_string(value);
  }
  return out;
}

std::optional<SerialPolicy> parseSerialPolicy(std::string_view text) {
  if (text == "keep") return SerialPolicy::Keep;
  if (text == "auto") return SerialPolicy::Auto;
  return std::nullopt;
}

}  // namespace rrdns::zone
