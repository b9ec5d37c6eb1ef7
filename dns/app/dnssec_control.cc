// dnssec_control.cc -- the dnssec control command.
#include "dns/app/dnssec_control.hh"

#include <stdexcept>
#include <string>

#include "dns/app/control_handler.hh"
#include "dns/dnssec/signer.hh"

namespace rrdns::app {
namespace {

using control::Json;

std::string stringField(const Json& request, const char* key) {
  if (!request.contains(key) || !request[key].is_string() || request[key].get<std::string>().empty())
    throw std::invalid_argument(std::string("missing \"") + key + "\"");
  return request[key].get<std::string>();
}

Json refused(const Errors& errors) {
  return {{"ok", false}, {"error", errors.empty() ? std::string("failed") : errors.front().text()}};
}

std::string_view algorithmName(zone::DnssecAlgorithm algorithm) {
  return algorithm == zone::DnssecAlgorithm::Ed25519 ? "ed25519" : "ecdsap256sha256";
}

// Zones one table, keys another (one row per key, with its zone): both render as text tables.
Json status(const DnssecZones& zones, const std::string& zone) {
  auto found = zones.status(zone);
  if (!found.ok()) return refused(found.errors());
  Json rows = Json::array(), keys = Json::array();
  for (const DnssecZoneStatus& s : *found) {
    rows.push_back({{"zone", s.zone},
                    {"signed", true},
                    {"algorithm", algorithmName(s.algorithm)},
                    {"denial", s.nsec3 ? "nsec3" : "nsec"},
                    {"serial", s.serial},
                    {"keys", s.keys.size()},
                    {"signed_at", s.last_signed},
                    {"next_event_at", s.next_event},
                    {"next_refresh_at", s.next_refresh},
                    {"signatures", s.signatures},
                    {"cache_entries", s.cache_entries}});
    for (const dnssec::KeyStatus& k : s.keys)
      keys.push_back({{"zone", s.zone},
                      {"role", dnssec::roleName(k.record.role)},
                      {"tag", k.record.tag},
                      {"state", dnssec::keyStateName(k.state)},
                      {"id", k.record.id},
                      {"created_at", k.record.created},
                      {"publish_at", k.record.publish},
                      {"ready_at", k.record.ready},
                      {"active_at", k.record.active},
                      {"retire_at", k.record.retire},
                      {"remove_at", k.record.remove},
                      {"submitted_at", k.record.submitted}});
  }
  return {{"ok", true},
          {"zones", std::move(rows)},
          {"keys", std::move(keys)},
          {"query_path_signatures", dnssec::queryPathSignatures()}};
}

}  // namespace

Json dnssecCommand(DnssecZones& zones, const Json& request, const control::Peer& peer) {
  const std::string action = stringField(request, "action");
  if (action == "status") {
    std::string zone;
    if (request.contains("zone") && request["zone"].is_string()) zone = request["zone"];
    return status(zones, zone);
  }
  const std::string zone = stringField(request, "zone");
  if (action == "ds") {
    auto lines = zones.ds(zone);
    if (!lines.ok()) return refused(lines.errors());
    return {{"ok", true}, {"zone", zone}, {"ds", *lines}};
  }
  if (action == "rollover") {
    const std::string role = stringField(request, "role");
    dnssec::KeyRole key_role;
    if (role == "ksk")
      key_role = dnssec::KeyRole::Ksk;
    else if (role == "zsk")
      key_role = dnssec::KeyRole::Zsk;
    else if (role == "csk")
      key_role = dnssec::KeyRole::Csk;
    else
      throw std::invalid_argument("role must be ksk, zsk or csk, not '" + role + "'");
    if (Result<void> started = zones.rollover(zone, key_role); !started.ok())
      return refused(started.errors());
    logControlChange(peer, "dnssec rollover", zone + " " + role + ": successor published");
    return status(zones, zone);
  }
  if (action == "submitted") {
    if (Result<void> done = zones.submitted(zone); !done.ok()) return refused(done.errors());
    logControlChange(peer, "dnssec submitted", zone + ": the new DS is at the parent");
    return status(zones, zone);
  }
  throw std::invalid_argument("action must be status, ds, rollover or submitted, not '" + action +
                              "'");
}

}  // namespace rrdns::app
