// secondaries.cc -- parsing NOTIFY targets and serial policies.
#include "dns/zone/secondaries.hh"

namespace rrdns::zone {

std::optional<NotifyTarget> parseNotifyTarget(std::string_view text, std::string& error) {
  return server::parseAddressWithDefaultPort(text, kDefaultNotifyPort, error);
}

std::optional<SerialPolicy> parseSerialPolicy(std::string_view text) {
  if (text == "keep") return SerialPolicy::Keep;
  if (text == "auto") return SerialPolicy::Auto;
  return std::nullopt;
}

}  // namespace rrdns::zone
