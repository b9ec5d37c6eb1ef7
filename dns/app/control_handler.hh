// control_handler.hh -- what each rrdnsctl command does in the daemon (the protocol and the
// socket are dns/control's business).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dns/app/catalog_publisher.hh"
#include "dns/app/config.hh"
#include "dns/app/dnssec_zones.hh"
#include "dns/app/reloader.hh"
#include "dns/control/server.hh"
#include "dns/server/server.hh"

namespace rrdns::app {

// The audit trail: logs, at info, one change an operator made through the control socket, with
// who made it (the peer's uid and pid, from SO_PEERCRED) and what changed, old -> new:
//   control: uid 0 pid 4242: drain member 127.0.0.12 pool www: drain off -> on
// `command` is the rrdnsctl command; `change` names what it changed (member and pool, zones)
// and the values before and after. Every command that changes what rrdnsd serves calls it.
void logControlChange(const control::Peer& peer, std::string_view command,
                      std::string_view change);

// Main loop only. Replies are JSON objects; every field is documented in README.md ("rrdnsctl").
class ControlHandler {
 public:
  ControlHandler(CatalogPublisher& publisher, Reloader& reloader, server::Server& server,
                 const server::ServerSettings& settings, DnssecZones& dnssec);

  // `peer` is who sent it: every change it makes is logged with it (logControlChange).
  void handle(const control::Json& request, const control::Peer& peer, control::Reply reply);

  // The same numbers `stats` shows, for the metrics exporter's snapshot.
  control::Json stats() const;

 private:
  control::Json status() const;
  control::Json pool(const control::Json& request) const;
  control::Json admin(const std::string& cmd, const control::Json& request,
                      const control::Peer& peer);
  control::Json explain(const control::Json& request) const;
  void validateReloadZone(const control::Json& request) const;
  void reload(const control::Json& request, const control::Peer& peer, control::Reply reply);
  void check(control::Reply reply);

  CatalogPublisher& d_publisher;
  Reloader& d_reloader;
  server::Server& d_server;
  const server::ServerSettings& d_settings;
  DnssecZones& d_dnssec;
  uint64_t d_started_ms;
};

}  // namespace rrdns::app
