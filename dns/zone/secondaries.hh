// secondaries.hh -- what a zone's secondaries need from it: where its NOTIFYs go (RFC 1996) and
// how its serial is kept (serial.hh). Set per zone (TOML zone keys `notify` and `serial`, or the
// server config's zones entry) or server-wide (the server config's `notify`, --notify).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/server/address.hh"
#include "dns/zone/dnssec.hh"
#include "dns/zone/serial.hh"

namespace rrdns::zone {

inline constexpr uint16_t kDefaultNotifyPort = 53;

// A secondary to send NOTIFY to.
using NotifyTarget = server::ListenAddress;

// ADDR or ADDR:PORT, where ADDR is a numeric IPv4 address or an IPv6 address (in brackets when a
// port follows: "[2001:db8::1]:5300"); the port defaults to 53. Host names are refused, as for
// listen addresses. On failure returns nullopt and sets `error`.
std::optional<NotifyTarget> parseNotifyTarget(std::string_view text, std::string& error);

struct ZoneSettings {
  // Given for this zone (possibly empty: no NOTIFY at all); otherwise the server-wide list.
  std::optional<std::vector<NotifyTarget>> notify;
  std::optional<SerialPolicy> serial;  // unset: Keep (Auto for a signed zone)
  // Set: the zone is served signed (DNSSEC), with this policy (dnssec.hh).
  std::optional<DnssecPolicy> dnssec;

  // A signed zone's serial must rise as its signatures are refreshed, so that secondaries fetch
  // them: its policy is Auto (the loaders refuse serial = "keep" beside dnssec).
  SerialPolicy serialPolicy() const {
    return serial.value_or(dnssec ? SerialPolicy::Auto : SerialPolicy::Keep);
  }
  bool empty() const { return !notify && !serial && !dnssec; }
};

// "keep" / "auto", as the `serial` key spells it.
std::optional<SerialPolicy> parseSerialPolicy(std::string_view text);
constexpr std::string_view serialPolicyName(SerialPolicy policy) {
  return policy == SerialPolicy::Auto ? "auto" : "keep";
}

}  // namespace rrdns::zone
