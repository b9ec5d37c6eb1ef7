// control_handler.hh -- what each rrdnsctl command does in the daemon (the protocol and the
// socket are dns/control's business).
#pragma once

#include <cstdint>
#include <string>

#include "dns/app/catalog_publisher.hh"
#include "dns/app/config.hh"
#include "dns/app/reloader.hh"
#include "dns/control/server.hh"
#include "dns/server/server.hh"

namespace rrdns::app {

// Main loop only. Replies are JSON objects; every field is documented in README.md ("rrdnsctl").
class ControlHandler {
 public:
  ControlHandler(CatalogPublisher& publisher, Reloader& reloader, server::Server& server,
                 const server::ServerSettings& settings);

  void handle(const control::Json& request, control::Reply reply);

  // The same numbers `stats` shows, for the metrics exporter's snapshot.
  control::Json stats() const;

 private:
  control::Json status() const;
  control::Json pool(const control::Json& request) const;
  control::Json admin(const std::string& cmd, const control::Json& request);
  control::Json explain(const control::Json& request) const;
  void validateReloadZone(const control::Json& request) const;
  void reload(const control::Json& request, control::Reply reply);
  void check(control::Reply reply);

  CatalogPublisher& d_publisher;
  Reloader& d_reloader;
  server::Server& d_server;
  const server::ServerSettings& d_settings;
  uint64_t d_started_ms;
};

}  // namespace rrdns::app
